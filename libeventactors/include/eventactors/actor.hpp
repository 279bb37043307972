// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <string>

#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include "eventactors/detail/inspect.hpp"
#include "eventactors/json.hpp"

namespace eventactors {

/// The principal performing an action (not a CAF actor): a type name and a
/// primary key value, e.g. a record of `Accounts.User`, or a system actor
/// such as `{"SystemActor", "nightly-sync"}`. The event log stores the key
/// in the column configured for the type (`persist_actor_primary_key`).
struct actor {
  /// The actor type: a resource name or an application-defined name.
  std::string type;
  /// The primary key: a UUID string, an integer or a string.
  json::value id;

  friend bool operator==(const actor&, const actor&) = default;
};

/// @relates actor
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor& x) {
  auto id = detail::json_text::of(x.id);
  auto load = caf::meta::load_callback([&] { return id.load(x.id); });
  return f(caf::meta::type_name("actor"), x.type, id.text, load);
}

} // namespace eventactors
