// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include "eventactors/detail/inspect.hpp"
#include "eventactors/json.hpp"
#include "eventactors/time.hpp"

namespace eventactors {

/// What to replay: every event of a log, or the events up to a cut.
///
/// Replay clears the records of the log's resources (its
/// clear-records-for-replay callback), then applies the selected events in
/// id order, all in one transaction: it commits completely or not at all.
struct replay_request {
  /// The event log; empty for the first one defined.
  std::string log;
  /// Up to and including this event id (integer or UUID v7 text).
  std::optional<json::value> last_event_id;
  /// Up to and including this time (events with `occurred_at <= T`, still
  /// applied in id order). Exclusive with `last_event_id`.
  std::optional<timestamp> point_in_time;
};

/// @relates replay_request
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replay_request& x) {
  auto last = detail::optional_field<json::value>::of(x.last_event_id);
  auto last_text = detail::json_text::of(last.value);
  bool has_time = x.point_in_time.has_value();
  int64_t time = has_time ? x.point_in_time->time_since_epoch().count() : 0;
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (auto err = last_text.load(last.value))
      return err;
    last.load(x.last_event_id);
    if (has_time)
      x.point_in_time = timestamp{std::chrono::microseconds{time}};
    else
      x.point_in_time.reset();
    return caf::none;
  });
  return f(caf::meta::type_name("replay_request"), x.log, last.engaged,
           last_text.text, has_time, time, load);
}

/// Progress of a running replay, sent to whoever asked about every chunk.
struct replay_progress {
  uint64_t applied = 0;
  uint64_t total = 0;
  /// Events per second so far.
  double rate = 0;
};

/// @relates replay_progress
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replay_progress& x) {
  return f(caf::meta::type_name("replay_progress"), x.applied, x.total,
           x.rate);
}

/// An update or destroy event whose record did not exist during replay:
/// replay warned about it and went on.
struct missing_record {
  json::value event_id;
  std::string resource;
  std::string action;
  json::value record_id;
};

/// @relates missing_record
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, missing_record& x) {
  auto event_id = detail::json_text::of(x.event_id);
  auto record_id = detail::json_text::of(x.record_id);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (auto err = event_id.load(x.event_id))
      return err;
    return record_id.load(x.record_id);
  });
  return f(caf::meta::type_name("missing_record"), event_id.text, x.resource,
           x.action, record_id.text, load);
}

/// What a replay did.
struct replay_summary {
  /// Events replayed.
  uint64_t events = 0;
  /// Per target, as "Resource.action": how many events it applied.
  std::map<std::string, uint64_t> applied;
  /// Per override, as "Resource.action v1,v2": how many events it routed.
  std::map<std::string, uint64_t> overrides_used;
  /// Update and destroy events whose record was missing.
  std::vector<missing_record> missing;
  /// Wall-clock time of the replay, in microseconds.
  int64_t duration_us = 0;
};

/// @relates replay_summary
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replay_summary& x) {
  return f(caf::meta::type_name("replay_summary"), x.events, x.applied,
           x.overrides_used, x.missing, x.duration_us);
}

/// One difference between the live records and the records a replay
/// rebuilds.
struct difference {
  std::string resource;
  json::value record_id;
  /// The attribute that differs; empty when the whole record is missing on
  /// one side.
  std::string field;
  /// The live value (null when the record exists only in the replay).
  json::value live;
  /// The replayed value (null when the record exists only live).
  json::value replayed;
};

/// @relates difference
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, difference& x) {
  auto record_id = detail::json_text::of(x.record_id);
  auto live = detail::json_text::of(x.live);
  auto replayed = detail::json_text::of(x.replayed);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (auto err = record_id.load(x.record_id))
      return err;
    if (auto err = live.load(x.live))
      return err;
    return replayed.load(x.replayed);
  });
  return f(caf::meta::type_name("difference"), x.resource, record_id.text,
           x.field, live.text, replayed.text, load);
}

/// The outcome of `verify`: does the log still rebuild the live records?
struct verify_report {
  /// The replay into the scratch copy.
  replay_summary replay;
  /// Records compared (live and replayed, all resources of the log).
  uint64_t records = 0;
  /// Every difference found, up to `max_differences`.
  std::vector<difference> differences;
  /// All differences found, also those beyond the list.
  uint64_t total_differences = 0;

  bool ok() const noexcept {
    return total_differences == 0;
  }
};

/// @relates verify_report
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, verify_report& x) {
  return f(caf::meta::type_name("verify_report"), x.replay, x.records,
           x.differences, x.total_differences);
}

} // namespace eventactors
