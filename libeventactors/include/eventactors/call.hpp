// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include "eventactors/actor.hpp"
#include "eventactors/detail/inspect.hpp"
#include "eventactors/json.hpp"
#include "eventactors/record.hpp"

namespace eventactors {

/// One action call: what to run, on which record, by whom, with what input.
struct call {
  call() = default;

  /// A call of `action` on `resource` with `input` (and, for updates and
  /// destroys, the record's key).
  call(std::string resource, std::string action, json::object input = {},
       json::value record_id = nullptr)
    : resource(std::move(resource)), action(std::move(action)),
      input(std::move(input)), record_id(std::move(record_id)) {
    // nop
  }

  /// The resource name, e.g. `Accounts.User`.
  std::string resource;
  /// The action name, e.g. `create`.
  std::string action;
  /// The caller's input: accepted attributes and arguments by name.
  json::object input;
  /// The primary key of the record to update or destroy; null for creates.
  json::value record_id;
  /// Who performs the action; empty for none.
  std::optional<eventactors::actor> actor;
  /// Caller metadata stored with the event; `{}` by default.
  json::object metadata;
  /// Makes a retry safe: a call whose key was committed within
  /// `runtime_options::idempotency_retention` returns the original result
  /// without running again (see docs/reliability.md). 1 to 128 bytes of
  /// printable ASCII; ignored on calls that hooks make.
  std::optional<std::string> idempotency_key;

  friend bool operator==(const call&, const call&) = default;
};

/// @relates call
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call& x) {
  auto input = detail::json_text::of(x.input);
  auto record_id = detail::json_text::of(x.record_id);
  auto metadata = detail::json_text::of(x.metadata);
  auto who = detail::optional_field<eventactors::actor>::of(x.actor);
  auto key = detail::optional_field<std::string>::of(x.idempotency_key);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    who.load(x.actor);
    key.load(x.idempotency_key);
    if (auto err = input.load(x.input))
      return err;
    if (auto err = record_id.load(x.record_id))
      return err;
    return metadata.load(x.metadata);
  });
  return f(caf::meta::type_name("call"), x.resource, x.action, input.text,
           record_id.text, who.engaged, who.value, metadata.text, key.engaged,
           key.value, load);
}

/// One record of a batch call: its input, and the record id for updates
/// and destroys.
struct batch_item {
  json::object input;
  json::value record_id;

  friend bool operator==(const batch_item&, const batch_item&) = default;
};

/// @relates batch_item
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, batch_item& x) {
  auto input = detail::json_text::of(x.input);
  auto record_id = detail::json_text::of(x.record_id);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (auto err = input.load(x.input))
      return err;
    return record_id.load(x.record_id);
  });
  return f(caf::meta::type_name("batch_item"), input.text, record_id.text,
           load);
}

/// The batch form of an action: many records in one call, one event per
/// record. Every item shares the actor and the metadata.
struct batch_call {
  batch_call() = default;

  batch_call(std::string resource, std::string action,
             std::vector<batch_item> items = {})
    : resource(std::move(resource)), action(std::move(action)),
      items(std::move(items)) {
    // nop
  }

  std::string resource;
  std::string action;
  std::vector<batch_item> items;
  std::optional<eventactors::actor> actor;
  json::object metadata;
  /// When true, the whole batch commits or fails as one unit. When false
  /// (the default), each item succeeds or fails on its own.
  bool atomic = false;
  /// Makes a retry safe, as `call::idempotency_key`: a repeated key
  /// returns the original batch result. With a key, the items that succeed
  /// commit together in one transaction with the key.
  std::optional<std::string> idempotency_key;

  friend bool operator==(const batch_call&, const batch_call&) = default;
};

/// @relates batch_call
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, batch_call& x) {
  auto metadata = detail::json_text::of(x.metadata);
  auto who = detail::optional_field<eventactors::actor>::of(x.actor);
  auto key = detail::optional_field<std::string>::of(x.idempotency_key);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    who.load(x.actor);
    key.load(x.idempotency_key);
    return metadata.load(x.metadata);
  });
  return f(caf::meta::type_name("batch_call"), x.resource, x.action, x.items,
           who.engaged, who.value, metadata.text, x.atomic, key.engaged,
           key.value, load);
}

/// The outcome of a batch call: for item `i`, `records[i]` is its record
/// when `errors[i]` is empty. With `atomic` batches either every error is
/// empty or every item carries the error that failed the batch.
struct batch_result {
  std::vector<record> records;
  std::vector<caf::error> errors;

  friend bool operator==(const batch_result&, const batch_result&) = default;
};

/// @relates batch_result
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, batch_result& x) {
  return f(caf::meta::type_name("batch_result"), x.records, x.errors);
}

} // namespace eventactors
