// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
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

namespace detail {

/// Carries an optional JSON value through CAF's inspectors. Not API.
struct optional_json {
  bool engaged = false;
  json_text value;
  static optional_json of(const std::optional<json::value>& x) {
    if (x)
      return {true, json_text::of(*x)};
    return {false, {}};
  }
  caf::error load(std::optional<json::value>& x) const {
    if (!engaged) {
      x.reset();
      return {};
    }
    json::value v;
    if (auto err = value.load(v))
      return err;
    x = std::move(v);
    return {};
  }
};

/// Carries an optional timestamp as a flag and microseconds. Not API.
struct optional_time {
  bool engaged = false;
  int64_t micros = 0;
  static optional_time of(const std::optional<timestamp>& x) {
    if (x)
      return {true, static_cast<int64_t>(x->time_since_epoch().count())};
    return {};
  }
  void load(std::optional<timestamp>& x) const {
    if (engaged)
      x = timestamp{std::chrono::microseconds{micros}};
    else
      x.reset();
  }
};

} // namespace detail

/// @relates new_event
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, new_event& x) {
  auto type = static_cast<uint8_t>(x.action_type);
  auto record_id = detail::json_text::of(x.record_id);
  auto actors = detail::json_text::of(x.actors);
  auto data = detail::json_text::of(x.data);
  auto changed = detail::json_text::of(x.changed_attributes);
  auto metadata = detail::json_text::of(x.metadata);
  auto at = detail::optional_time::of(x.occurred_at);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (type > 2)
      return make_error(errc::invalid_input, "malformed action_type");
    x.action_type = static_cast<action_kind>(type);
    at.load(x.occurred_at);
    for (auto [txt, dst] : {std::pair{&actors, &x.actors},
                            std::pair{&data, &x.data},
                            std::pair{&changed, &x.changed_attributes},
                            std::pair{&metadata, &x.metadata}})
      if (auto err = txt->load(*dst))
        return err;
    return record_id.load(x.record_id);
  });
  return f(caf::meta::type_name("new_event"), x.log, x.resource, x.action,
           type, record_id.text, actors.text, data.text, changed.text,
           metadata.text, x.version, at.engaged, at.micros, load);
}

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

/// @relates event_filter
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_filter& x) {
  auto resource = detail::optional_field<std::string>::of(x.resource);
  auto record_id = detail::optional_json::of(x.record_id);
  auto action = detail::optional_field<std::string>::of(x.action);
  bool has_actor = x.actor.has_value();
  std::string actor_column = has_actor ? x.actor->first : std::string{};
  auto actor_key = detail::json_text::of(has_actor ? x.actor->second
                                                   : json::value{});
  auto after = detail::optional_json::of(x.after_id);
  auto from = detail::optional_json::of(x.from_id);
  auto to = detail::optional_json::of(x.to_id);
  auto from_time = detail::optional_time::of(x.from_time);
  auto to_time = detail::optional_time::of(x.to_time);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    resource.load(x.resource);
    action.load(x.action);
    from_time.load(x.from_time);
    to_time.load(x.to_time);
    if (has_actor) {
      json::value key;
      if (auto err = actor_key.load(key))
        return err;
      x.actor = std::pair{actor_column, std::move(key)};
    } else {
      x.actor.reset();
    }
    for (auto [txt, dst] : {std::pair{&record_id, &x.record_id},
                            std::pair{&after, &x.after_id},
                            std::pair{&from, &x.from_id},
                            std::pair{&to, &x.to_id}})
      if (auto err = txt->load(*dst))
        return err;
    return caf::error{};
  });
  return f(caf::meta::type_name("event_filter"), x.log, resource.engaged,
           resource.value, record_id.engaged, record_id.value.text,
           action.engaged, action.value, has_actor, actor_column,
           actor_key.text, after.engaged, after.value.text, from.engaged,
           from.value.text, to.engaged, to.value.text, from_time.engaged,
           from_time.micros, to_time.engaged, to_time.micros, x.descending,
           x.limit, x.skip_unreadable, load);
}

/// An event a page could not read (see `event_filter::skip_unreadable`).
struct unreadable_event {
  json::value id;
  /// Why: an `errc::decryption_failed` error naming the event.
  caf::error error;
};

/// @relates unreadable_event
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unreadable_event& x) {
  auto id = detail::json_text::of(x.id);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    return id.load(x.id);
  });
  return f(caf::meta::type_name("unreadable_event"), id.text, x.error, load);
}

/// One page of events and the cursor for the next one.
struct event_page {
  std::vector<event> events;
  /// With `event_filter::skip_unreadable`: the events of the page that
  /// could not be read, by id, in page order. They count against the limit.
  std::vector<unreadable_event> unreadable;
  /// Pass as `after_id` to read the next page; null when this was the last.
  json::value next_after_id;
};

/// @relates event_page
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_page& x) {
  auto next = detail::json_text::of(x.next_after_id);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    return next.load(x.next_after_id);
  });
  return f(caf::meta::type_name("event_page"), x.events, x.unreadable,
           next.text, load);
}

} // namespace eventactors
