// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "engine/action_run.hpp"

#include <boost/json/serialize.hpp>

#include "detail/text.hpp"
#include "eventactors/error.hpp"
#include "eventactors/event_log.hpp"

namespace eventactors {

caf::error actor_columns(const resource_info& res, const actor& who,
                         json::object& cols) {
  auto& log = *res.log;
  if (who.type.empty())
    return make_error(errc::invalid_input, "actor: type must not be empty");
  if (who.id.is_null())
    return make_error(errc::invalid_input,
                      "actor " + who.type + ": id must not be null");
  auto col = log.column_for(who.type);
  if (!col) {
    if (log.strict_actors())
      return make_error(errc::unknown_actor_type,
                        "event log " + log.name()
                          + " has no column for actor type "
                          + detail::quoted(who.type));
    return {};
  }
  json::value key;
  std::optional<std::string> err;
  switch (col->type) {
    case actor_key_kind::uuid:
      err = types::uuid().cast(who.id, key);
      break;
    case actor_key_kind::integer:
      err = types::integer().cast(who.id, key);
      break;
    case actor_key_kind::string:
      if (who.id.is_string())
        err = types::string().cast(who.id, key);
      else if (who.id.is_int64() || who.id.is_uint64())
        key = json::string{json::serialize(who.id)};
      else
        err = "expected a string, got " + detail::show(who.id, 80);
      break;
  }
  if (err)
    return make_error(errc::invalid_input,
                      "actor " + who.type + ": id: " + *err);
  cols.emplace(col->name, std::move(key));
  return {};
}

event_draft action_run::capture_event(const changeset& cs,
                                      const staged_write& w) const {
  auto& ev_cfg = *res_->def->events();
  event_draft ev;
  ev.log = res_->log->name();
  ev.action = act_->name();
  ev.action_type = kind_;
  ev.actors = actor_cols_;
  ev.data = data_;
  ev.metadata = call_.metadata;
  ev.version = ev_cfg.version_of(act_->name());
  auto& input = cs.input();
  for (auto& kvp : w.written) {
    auto key = kvp.key();
    if (!input.contains(key) || res_->foreign_keys.count(key))
      ev.changed_attributes[key] = kvp.value();
  }
  ev.occurred_at = occurred_at(cs, w.values);
  return ev;
}

timestamp action_run::occurred_at(const changeset& cs,
                                  const json::object& values) const {
  auto& ev_cfg = *res_->def->events();
  auto read_ts = [&](const std::optional<std::string>& attr) {
    std::optional<timestamp> result;
    if (attr)
      if (auto ptr = values.if_contains(*attr); ptr && ptr->is_string())
        result = parse_timestamp(ptr->get_string());
    return result;
  };
  std::optional<timestamp> at;
  if (kind_ == action_kind::create && act_->upsert_identity()) {
    // An upsert reads the written row: its update timestamp when that is
    // strictly later than its create timestamp, else the create one.
    auto created = read_ts(ev_cfg.create_timestamp());
    auto updated = read_ts(ev_cfg.update_timestamp());
    at = updated && (!created || *updated > *created) ? updated : created;
  } else if (kind_ == action_kind::create) {
    at = read_ts(ev_cfg.create_timestamp());
  } else if (kind_ == action_kind::update) {
    // The timestamp this update set; a stale value it left alone does
    // not date the event.
    if (auto& attr = ev_cfg.update_timestamp())
      if (auto ptr = cs.changes().if_contains(*attr); ptr && ptr->is_string())
        at = parse_timestamp(ptr->get_string());
  }
  return at ? *at : env_.clock();
}

} // namespace eventactors
