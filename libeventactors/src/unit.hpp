// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include "eventactors/changeset.hpp"
#include "eventactors/detail/inspect.hpp"
#include "eventactors/json.hpp"
#include "eventactors/time.hpp"

namespace eventactors {

/// The event part of a prepared write: everything but the id, which the
/// event log actor assigns at commit.
struct event_draft {
  /// The event log (table).
  std::string log;
  std::string action;
  action_kind action_type = action_kind::create;
  /// Actor column to key; only the attributed actor's column is present.
  json::object actors;
  json::object data;
  json::object changed_attributes;
  json::object metadata;
  int32_t version = 1;
  timestamp occurred_at;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_draft& x) {
  auto actors = detail::json_text::of(x.actors);
  auto data = detail::json_text::of(x.data);
  auto changed = detail::json_text::of(x.changed_attributes);
  auto metadata = detail::json_text::of(x.metadata);
  auto type = static_cast<uint8_t>(x.action_type);
  auto at = x.occurred_at.time_since_epoch().count();
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.action_type = static_cast<action_kind>(type);
    x.occurred_at = timestamp{std::chrono::microseconds{at}};
    for (auto [txt, dst] : {std::pair{&actors, &x.actors},
                            std::pair{&data, &x.data},
                            std::pair{&changed, &x.changed_attributes},
                            std::pair{&metadata, &x.metadata}})
      if (auto err = txt->load(*dst))
        return err;
    return caf::none;
  });
  return f(caf::meta::type_name("event_draft"), x.log, x.action, type,
           actors.text, data.text, changed.text, metadata.text, x.version, at,
           load);
}

/// What a write does to its record (`none`: an event appended on its own,
/// see `runtime::append`).
enum class write_kind : uint8_t { insert, update, remove, none };

/// One record change, with the event that logs it (none for untracked
/// actions and for replay).
struct write_op {
  std::string resource;
  write_kind kind = write_kind::insert;
  json::value record_id;
  /// insert: every attribute; update: the attributes that change.
  json::object values;
  /// update / remove: the record version the change was computed from
  /// (optimistic concurrency); 0 writes unconditionally.
  int64_t expected_version = 0;
  std::optional<event_draft> event;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, write_op& x) {
  auto record_id = detail::json_text::of(x.record_id);
  auto values = detail::json_text::of(x.values);
  auto kind = static_cast<uint8_t>(x.kind);
  auto ev = detail::optional_field<event_draft>::of(x.event);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.kind = static_cast<write_kind>(kind);
    ev.load(x.event);
    if (auto err = record_id.load(x.record_id))
      return err;
    return values.load(x.values);
  });
  return f(caf::meta::type_name("write_op"), x.resource, kind,
           record_id.text, values.text, x.expected_version, ev.engaged,
           ev.value, load);
}

/// The writes of one action and of the actions its hooks ran: they commit
/// together, in order, or not at all.
struct unit {
  std::vector<write_op> ops;
  /// The replay epoch the unit was built in: the event log actor refuses
  /// units built before the last replay started (their reads are stale).
  uint64_t epoch = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unit& x) {
  return f(caf::meta::type_name("unit"), x.ops, x.epoch);
}

/// What the event log actor reports for a committed unit: per op, the id
/// of its event (null where it wrote none).
struct unit_receipt {
  std::vector<json::value> event_ids;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unit_receipt& x) {
  std::vector<std::string> ids;
  if constexpr (Inspector::reads_state)
    for (auto& id : x.event_ids)
      ids.push_back(detail::json_text::of(id).text);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.event_ids.clear();
    for (auto& str : ids) {
      json::value v;
      if (auto err = detail::json_text{str}.load(v))
        return err;
      x.event_ids.push_back(std::move(v));
    }
    return caf::none;
  });
  return f(caf::meta::type_name("unit_receipt"), ids, load);
}

} // namespace eventactors
