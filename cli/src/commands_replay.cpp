// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// replay (into the database or a fork) and verify: rebuilding the records
// from the event log.

#include "commands.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "eventactors/runtime.hpp"

#include "args.hpp"

namespace eventactors::cli {

namespace {

/// A progress bar on stderr when stderr is a terminal.
runtime::progress_fn progress_bar() {
  if (!::isatty(STDERR_FILENO))
    return {};
  return [](const replay_progress& p) {
    constexpr int width = 30;
    auto frac = p.total > 0 ? static_cast<double>(p.applied) / p.total : 1.0;
    auto filled = static_cast<int>(frac * width);
    std::fprintf(stderr, "\r[%s%s] %llu/%llu events, %.0f/s",
                 std::string(filled, '#').c_str(),
                 std::string(width - filled, ' ').c_str(),
                 static_cast<unsigned long long>(p.applied),
                 static_cast<unsigned long long>(p.total), p.rate);
    if (p.applied >= p.total)
      std::fprintf(stderr, "\n");
    std::fflush(stderr);
  };
}

json::object summary_json(const replay_summary& s, const std::string& what) {
  json::object o;
  o["replayed"] = what;
  o["events"] = s.events;
  o["applied"] = count_json(s.applied);
  o["overrides_used"] = count_json(s.overrides_used);
  json::array missing;
  for (auto& m : s.missing)
    missing.push_back(json::object{{"event_id", m.event_id},
                                   {"resource", m.resource},
                                   {"action", m.action},
                                   {"record_id", m.record_id}});
  o["missing"] = std::move(missing);
  o["duration_us"] = s.duration_us;
  return o;
}

void print_summary(const replay_summary& s, format fmt,
                   const std::string& what) {
  if (fmt == format::jsonl) {
    print_jsonl(summary_json(s, what));
    return;
  }
  std::printf("replayed %s: %llu events in %.3f s\n", what.c_str(),
              static_cast<unsigned long long>(s.events),
              s.duration_us / 1e6);
  if (auto rows = count_rows(s.applied); !rows.empty())
    print_table(std::cout, {"applied to", "events"}, rows);
  if (auto rows = count_rows(s.overrides_used); !rows.empty())
    print_table(std::cout, {"override", "events"}, rows);
  table_rows rows;
  for (auto& m : s.missing)
    rows.push_back({text(m.event_id), m.resource + "." + m.action,
                    text(m.record_id)});
  if (!rows.empty()) {
    std::printf("missing records (warnings):\n");
    print_table(std::cout, {"event", "target", "record_id"}, rows);
  }
}

} // namespace

std::optional<failure> cmd_replay(session& s, const common& c,
                                  const replay_args& a) {
  replay_request req;
  req.log = c.log;
  std::string what = "everything";
  if (!a.last_id.empty() && !a.point.empty())
    return usage("give --last-event-id or --point-in-time, not both");
  if (!a.last_id.empty())
    what = "up to event " + a.last_id;
  if (!a.point.empty()) {
    auto t = parse_time(a.point, "--point-in-time");
    if (!t)
      return failure{exit_usage, t.error()};
    req.point_in_time = *t;
    what = "up to " + format_timestamp(*t);
  }
  if (!a.into.empty() && std::filesystem::exists(a.into))
    return usage("--into: " + a.into
                 + " exists already; a fork is a new file");
  if (!a.last_id.empty() && !event_id_shaped(a.last_id))
    return usage("--last-event-id: expected an event id (a positive integer "
                 "or a UUID), got \"" + a.last_id + "\"");
  if (auto f = s.open(true, !a.into.empty()))
    return f;
  if (!a.last_id.empty()) {
    auto log = s.log();
    if (!log)
      return failure{exit_failed, log.error()};
    auto id = event_id_arg(**log, a.last_id, "--last-event-id");
    if (!id)
      return failure{exit_usage, id.error()};
    req.last_event_id = std::move(*id);
  }
  auto progress = progress_bar();
  auto result = a.into.empty() ? s.svc().replay(req, progress)
                               : s.svc().fork(req, a.into, progress);
  if (!result)
    return failure{exit_failed, result.error()};
  if (!a.into.empty())
    what += " into " + a.into;
  print_summary(*result, c.fmt, what);
  return std::nullopt;
}

std::optional<failure> cmd_verify(session& s, const common& c,
                                  uint32_t max_differences, bool& differs) {
  if (auto f = s.open(true, true))
    return f;
  auto report = s.svc().verify(c.log, max_differences, progress_bar());
  if (!report)
    return failure{exit_failed, report.error()};
  differs = !report->ok();
  if (c.fmt == format::jsonl) {
    json::array diffs;
    for (auto& d : report->differences)
      diffs.push_back(json::object{{"resource", d.resource},
                                   {"record_id", d.record_id},
                                   {"field", d.field},
                                   {"live", d.live},
                                   {"replayed", d.replayed}});
    print_jsonl(json::object{{"ok", report->ok()},
                             {"events", report->replay.events},
                             {"records", report->records},
                             {"total_differences", report->total_differences},
                             {"differences", std::move(diffs)}});
    return std::nullopt;
  }
  std::printf("verify: replayed %llu events, compared %llu records: ",
              static_cast<unsigned long long>(report->replay.events),
              static_cast<unsigned long long>(report->records));
  if (report->ok()) {
    std::printf("no differences\n");
    return std::nullopt;
  }
  std::printf("%llu difference(s)\n",
              static_cast<unsigned long long>(report->total_differences));
  table_rows rows;
  for (auto& d : report->differences)
    rows.push_back({d.resource, text(d.record_id),
                    d.field.empty() ? "(record)" : d.field, text(d.live),
                    text(d.replayed)});
  print_table(std::cout, {"resource", "record_id", "field", "live",
                          "replayed"},
                rows);
  return std::nullopt;
}

} // namespace eventactors::cli
