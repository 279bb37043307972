// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include "eventactors/action_kind.hpp"
#include "eventactors/detail/inspect.hpp"
#include "eventactors/error.hpp"
#include "eventactors/json.hpp"
#include "eventactors/time.hpp"

namespace eventactors {

/// A stored event: one action on one record.
struct event {
  /// The event id: an integer, or UUID v7 text.
  json::value id;
  /// The event log (table) holding the event.
  std::string log;
  std::string resource;
  json::value record_id;
  std::string action;
  action_kind action_type = action_kind::create;
  /// Actor column name to key (null where the actor was of another type).
  json::object actors;
  /// The input the caller supplied, cast to storage form.
  json::object data;
  /// Every attribute the action set that was not in the input.
  json::object changed_attributes;
  /// The caller's metadata.
  json::object metadata;
  int32_t version = 1;
  timestamp occurred_at;

  friend bool operator==(const event&, const event&) = default;
};

/// @relates event
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event& x) {
  auto id = detail::json_text::of(x.id);
  auto record_id = detail::json_text::of(x.record_id);
  auto actors = detail::json_text::of(x.actors);
  auto data = detail::json_text::of(x.data);
  auto changed = detail::json_text::of(x.changed_attributes);
  auto metadata = detail::json_text::of(x.metadata);
  auto type = static_cast<uint8_t>(x.action_type);
  auto at = x.occurred_at.time_since_epoch().count();
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (type > 2)
      return make_error(errc::invalid_input, "malformed action_type");
    x.action_type = static_cast<action_kind>(type);
    x.occurred_at = timestamp{std::chrono::microseconds{at}};
    for (auto [txt, dst] : {std::pair{&actors, &x.actors},
                            std::pair{&data, &x.data},
                            std::pair{&changed, &x.changed_attributes},
                            std::pair{&metadata, &x.metadata}})
      if (auto err = txt->load(*dst))
        return err;
    if (auto err = id.load(x.id))
      return err;
    return record_id.load(x.record_id);
  });
  return f(caf::meta::type_name("event"), id.text, x.log, x.resource,
           record_id.text, x.action, type, actors.text, data.text,
           changed.text, metadata.text, x.version, at, load);
}

/// An event to append on its own, without a record change (AshEvents'
/// public append action): for importing history or writing events that
/// replay should apply. See `runtime::append`.
struct new_event {
  /// The event log; empty for the first one defined.
  std::string log;
  /// Required: the resource and action names (they need not exist in the
  /// definitions; replay overrides can route them).
  std::string resource;
  std::string action;
  action_kind action_type = action_kind::create;
  /// Required; cast to the log's record_id type.
  json::value record_id;
  /// Actor column to key.
  json::object actors;
  json::object data;
  json::object changed_attributes;
  json::object metadata;
  int32_t version = 1;
  /// Defaults to now.
  std::optional<timestamp> occurred_at;
};

/// Selects events. Unset fields do not filter. Results are ordered by id.
struct event_filter {
  /// The event log (table) to read; empty for the only or first log.
  std::string log;
  std::optional<std::string> resource;
  std::optional<json::value> record_id;
  std::optional<std::string> action;
  /// An actor column and the key it must hold.
  std::optional<std::pair<std::string, json::value>> actor;
  /// Only events with id > after_id (ascending) or id < after_id
  /// (descending): the cursor for paging.
  std::optional<json::value> after_id;
  /// Only events with id >= from_id / <= to_id.
  std::optional<json::value> from_id;
  std::optional<json::value> to_id;
  /// Only events with occurred_at >= from_time / <= to_time.
  std::optional<timestamp> from_time;
  std::optional<timestamp> to_time;
  /// Newest first when true.
  bool descending = false;
  /// At most this many events per page (at most 10000).
  uint32_t limit = 1000;
  /// With true, an event that cannot be read (an encrypted event whose key
  /// is missing or wrong, or whose stored bytes were changed) does not fail
  /// the page: it is listed in `event_page::unreadable`, and the page goes
  /// on with the next event. Replay never skips an event.
  bool skip_unreadable = false;
};

/// An event a page could not read (see `event_filter::skip_unreadable`).
struct unreadable_event {
  json::value id;
  /// Why: an `errc::decryption_failed` error naming the event.
  caf::error error;
};

/// One page of events and the cursor for the next one.
struct event_page {
  std::vector<event> events;
  /// With `event_filter::skip_unreadable`: the events of the page that
  /// could not be read, by id, in page order. They count against the limit.
  std::vector<unreadable_event> unreadable;
  /// Pass as `after_id` to read the next page; null when this was the last.
  json::value next_after_id;
};

} // namespace eventactors
