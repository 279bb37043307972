// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include "eventactors/detail/inspect.hpp"
#include "eventactors/json.hpp"

namespace eventactors {

/// A record of a resource: its attribute values in storage form (UUIDs as
/// lowercase text, date-times as ISO 8601 text with microseconds, nested
/// objects as JSON objects).
struct record {
  /// The resource name, e.g. `Accounts.User`.
  std::string resource;
  /// The primary key value.
  json::value id;
  /// Attribute name to value; every attribute of the resource is present.
  json::object values;
  /// The id of the event the action that returned this record logged; null
  /// for reads and untracked actions.
  json::value event_id;

  /// Returns the value of attribute `name`, or null when absent.
  const json::value& get(std::string_view name) const noexcept;

  /// Returns the string value of attribute `name`, or an empty view when it
  /// is not a string.
  std::string_view get_string(std::string_view name) const noexcept;

  /// Returns whether attribute `name` is null or absent.
  bool is_null(std::string_view name) const noexcept;

  friend bool operator==(const record&, const record&) = default;
};

/// @relates record
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record& x) {
  auto id = detail::json_text::of(x.id);
  auto values = detail::json_text::of(x.values);
  auto event_id = detail::json_text::of(x.event_id);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (auto err = id.load(x.id))
      return err;
    if (auto err = values.load(x.values))
      return err;
    return event_id.load(x.event_id);
  });
  return f(caf::meta::type_name("record"), x.resource, id.text, values.text,
           event_id.text, load);
}

} // namespace eventactors
