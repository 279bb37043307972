// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "replay/cut.hpp"

#include <string>

#include "eventactors/error.hpp"
#include "eventactors/types.hpp"
#include "eventactors/json.hpp"
#include "storage/codec.hpp"

namespace eventactors {

namespace {

/// Casts a cut's event id to the type of the log's ids.
caf::error cast_event_id(std::string_view who, const event_log& log,
                         const json::value& id, json::value& key) {
  auto type = log.id_kind() == event_id_kind::integer ? types::integer()
                                                      : types::uuid();
  if (auto err = type.cast(id, key))
    return make_error(errc::invalid_input,
                      std::string{who} + ": last_event_id: " + *err);
  return {};
}

} // namespace

caf::error check_cut(std::string_view who, const event_log& log,
                     const replay_request& req, reader& rd,
                     bool require_clear) {
  auto prefix = std::string{who} + ": ";
  if (req.last_event_id && req.point_in_time)
    return make_error(errc::invalid_input,
                      prefix
                        + "last_event_id and point_in_time exclude each "
                          "other; give at most one");
  if (require_clear && !log.clear_callback())
    return make_error(errc::invalid_definition,
                      "clear_records_for_replay must be specified on "
                        + log.name() + " when doing a replay.");
  if (req.point_in_time && !codec::storable(*req.point_in_time))
    return make_error(errc::invalid_input,
                      prefix
                        + "point_in_time must lie in the years 0000 to "
                          "9999");
  if (!req.last_event_id)
    return {};
  auto& id = *req.last_event_id;
  if (id.is_null())
    return make_error(errc::invalid_input,
                      prefix + "last_event_id must not be null");
  json::value key;
  if (auto err = cast_event_id(who, log, id, key))
    return err;
  if (key.is_int64() && key.get_int64() < 1)
    return make_error(errc::invalid_input,
                      prefix + "last_event_id must be positive, got "
                        + to_json_text(id));
  event_filter f;
  f.from_id = key;
  f.to_id = key;
  auto n = rd.count_events(log, f);
  if (!n)
    return std::move(n.error());
  if (*n == 0)
    return make_error(errc::invalid_input,
                      prefix + "no event with id " + to_json_text(id)
                        + " in event log " + log.name());
  return {};
}

caf::expected<event_filter> cut_filter(const event_log& log,
                                       const replay_request& req,
                                       uint32_t limit) {
  event_filter f;
  f.log = log.name();
  f.limit = limit;
  if (req.last_event_id) {
    json::value key;
    if (auto err = cast_event_id("replay", log, *req.last_event_id, key))
      return err;
    f.to_id = std::move(key);
  }
  if (req.point_in_time)
    f.to_time = *req.point_in_time;
  return f;
}

} // namespace eventactors
