// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "engine/append.hpp"

#include <string>
#include <utility>

#include "storage/codec.hpp"
#include "eventactors/error.hpp"
#include "eventactors/types.hpp"
#include "engine/limits.hpp"

namespace eventactors {

caf::expected<unit> append_unit(const model& m, const runtime_options& opts,
                                new_event ev) {
  auto log = m.find_log(ev.log);
  if (!log)
    return make_error(errc::invalid_input,
                      "append: no event log \"" + ev.log + "\"");
  auto bad = [](const std::string& what) {
    return make_error(errc::invalid_input, "append: " + what);
  };
  if (ev.resource.empty())
    return bad("resource is required");
  if (ev.action.empty())
    return bad("action is required");
  if (ev.version < 1)
    return bad("version must be positive, got " + std::to_string(ev.version));
  if (ev.record_id.is_null())
    return bad("record_id is required");
  json::value record_id;
  auto key_type = log->record_id() == record_id_kind::uuid ? types::uuid()
                  : log->record_id() == record_id_kind::integer
                    ? types::integer()
                    : types::string();
  if (auto err = key_type.cast(ev.record_id, record_id))
    return bad("record_id: " + *err);
  json::object actors;
  for (auto& kvp : ev.actors) {
    auto col = log->column_named(kvp.key());
    if (!col)
      return bad("event log " + log->name() + " has no actor column "
                 + std::string{kvp.key()});
    auto type = col->type == actor_key_kind::uuid      ? types::uuid()
                : col->type == actor_key_kind::integer ? types::integer()
                                                       : types::string();
    json::value key;
    if (auto err = type.cast(kvp.value(), key))
      return bad(std::string{kvp.key()} + ": " + *err);
    actors[kvp.key()] = std::move(key);
  }
  std::size_t bytes = 0;
  for (auto* x : {&ev.data, &ev.changed_attributes, &ev.metadata})
    if (auto err = check_json(*x, opts.max_input_bytes, bytes))
      return make_error(errc::input_too_large, "append: " + *err);
  // What is stored must read back.
  for (auto [name, x] : {std::pair{"data", &ev.data},
                         std::pair{"changed_attributes",
                                   &ev.changed_attributes},
                         std::pair{"metadata", &ev.metadata}})
    if (auto err = codec::check_storable(*x))
      return bad(std::string{name} + ": " + *err);
  if (ev.occurred_at && !codec::storable(*ev.occurred_at))
    return bad("occurred_at must lie in the years 0000 to 9999");
  unit u;
  write_op op;
  op.resource = ev.resource;
  op.kind = write_kind::none;
  op.record_id = record_id;
  event_draft draft;
  draft.log = log->name();
  draft.action = ev.action;
  draft.action_type = ev.action_type;
  draft.actors = std::move(actors);
  draft.data = std::move(ev.data);
  draft.changed_attributes = std::move(ev.changed_attributes);
  draft.metadata = std::move(ev.metadata);
  draft.version = ev.version;
  draft.occurred_at = ev.occurred_at ? *ev.occurred_at : opts.env.clock();
  op.event = std::move(draft);
  u.ops.push_back(std::move(op));
  return u;
}

} // namespace eventactors
