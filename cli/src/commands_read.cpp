// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// get, list, events, history and stats: reading records and the event log.
// All of them open the database read-only.

#include "commands.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <iostream>

#include "eventactors/runtime.hpp"

#include "args.hpp"

namespace eventactors::cli {

std::optional<failure> cmd_get(session& s, const common& c,
                               const record_args& a) {
  if (auto f = s.open(true, true))
    return f;
  auto rec = s.svc().get(a.resource, json::string{a.id});
  if (!rec)
    return failure{exit_failed, rec.error()};
  print_record(*rec, c.fmt);
  return std::nullopt;
}

std::optional<failure> cmd_list(session& s, const common& c,
                                const list_args& a) {
  if (auto f = s.open(true, true))
    return f;
  auto xs = s.svc().list(a.resource, {.limit = a.limit, .offset = a.offset});
  if (!xs)
    return failure{exit_failed, xs.error()};
  if (c.fmt == format::jsonl) {
    for (auto& r : *xs)
      print_jsonl(record_json(r));
    return std::nullopt;
  }
  std::vector<std::string> header;
  if (auto res = s.svc().definitions().find_resource(a.resource))
    for (auto& attr : res->attributes())
      header.push_back(attr.name);
  table_rows rows;
  for (auto& r : *xs) {
    std::vector<std::string> row;
    for (auto& h : header)
      row.push_back(text(r.get(h)));
    rows.push_back(std::move(row));
  }
  print_table(std::cout, header, rows, 36);
  std::cout << xs->size() << " record(s)\n";
  return std::nullopt;
}

// -- reading events page by page ----------------------------------------------

namespace {

/// Reads the events `f` selects page by page (`f.limit` at a time),
/// reporting each one that cannot be decrypted and counting it in
/// `unreadable`; `fn` gets the others in order and returns false to stop.
caf::error for_each_readable(session& s, const common& c, event_filter f,
                             uint64_t& unreadable,
                             const std::function<bool(const event&)>& fn) {
  f.skip_unreadable = true;
  for (;;) {
    auto page = s.svc().events(f);
    if (!page)
      return std::move(page.error());
    for (auto& x : page->unreadable) {
      ++unreadable;
      print_error(s.program(), c.fmt, x.error, {{"event_id", x.id}});
    }
    for (auto& ev : page->events)
      if (!fn(ev))
        return {};
    if (page->next_after_id.is_null())
      return {};
    f.after_id = page->next_after_id;
  }
}

/// The failure of a read that skipped `n` unreadable events.
failure unreadable_failure(uint64_t n) {
  return {exit_failed,
          make_error(errc::decryption_failed,
                     std::to_string(n) + " event(s) could not be read (each "
                     "is named above); the others were shown")};
}

// -- events -------------------------------------------------------------------

/// Sets `to` to the time `text` unless it is empty.
std::optional<failure> time_option(const std::string& text, const char* opt,
                                   std::optional<timestamp>& to) {
  if (text.empty())
    return std::nullopt;
  auto t = parse_time(text, opt);
  if (!t)
    return failure{exit_usage, t.error()};
  to = *t;
  return std::nullopt;
}

/// Sets `to` to the event id `text` of `log` unless it is empty.
std::optional<failure> id_option(const event_log& log, const std::string& text,
                                 const char* opt,
                                 std::optional<json::value>& to) {
  if (text.empty())
    return std::nullopt;
  auto v = event_id_arg(log, text, opt);
  if (!v)
    return failure{exit_usage, v.error()};
  to = std::move(*v);
  return std::nullopt;
}

/// Fills `f` with what can be checked before the database is opened. For
/// `--actor TYPE:ID`, `actor_type` gets the TYPE, whose column only the
/// event log knows.
std::optional<failure> events_filter(const common& c, const events_args& a,
                                     event_filter& f,
                                     std::string& actor_type) {
  f.log = c.log;
  if (!a.resource.empty())
    f.resource = a.resource;
  if (!a.record_id.empty())
    f.record_id = json::string{a.record_id};
  if (!a.action.empty())
    f.action = a.action;
  if (!a.actor.empty()) {
    // TYPE:ID, like `run --actor`, or COLUMN=KEY.
    auto eq = a.actor.find('=');
    auto colon = a.actor.find(':');
    if (eq != std::string::npos && eq > 0 && eq + 1 < a.actor.size()
        && (colon == std::string::npos || eq < colon)) {
      f.actor = std::pair{a.actor.substr(0, eq),
                          json::value(json::string{a.actor.substr(eq + 1)})};
    } else if (colon != std::string::npos && colon > 0
               && colon + 1 < a.actor.size()) {
      actor_type = a.actor.substr(0, colon);
      f.actor = std::pair{std::string{},
                          json::value(json::string{a.actor.substr(colon + 1)})};
    } else {
      return usage("--actor: expected TYPE:ID (e.g. SystemActor:nightly) or "
                   "COLUMN=KEY (e.g. system_actor=nightly), got \""
                   + a.actor + "\"");
    }
  }
  if (auto fail = time_option(a.since, "--since", f.from_time))
    return fail;
  if (auto fail = time_option(a.until, "--until", f.to_time))
    return fail;
  f.descending = a.newest_first;
  return std::nullopt;
}

/// Completes `f` with what needs the event log: the column of the actor
/// type and the event ids.
std::optional<failure> events_log_filter(session& s, const events_args& a,
                                         const std::string& actor_type,
                                         event_filter& f) {
  auto log = s.log();
  if (!log)
    return failure{exit_failed, log.error()};
  if (!actor_type.empty()) {
    auto col = (*log)->column_for(actor_type);
    if (!col)
      return failure{exit_failed,
                     make_error(errc::invalid_input,
                                "--actor: event log " + (*log)->name()
                                  + " has no column for actor type "
                                  + actor_type)};
    f.actor->first = col->name;
  }
  if (auto fail = id_option(**log, a.from_id, "--from-id", f.from_id))
    return fail;
  return id_option(**log, a.to_id, "--to-id", f.to_id);
}

} // namespace

std::optional<failure> cmd_events(session& s, const common& c,
                                  const events_args& a) {
  event_filter f;
  std::string actor_type;
  if (auto fail = events_filter(c, a, f, actor_type))
    return fail;
  if (auto fail = s.open(true, true))
    return fail;
  if (auto fail = events_log_filter(s, a, actor_type, f))
    return fail;
  // Stream page by page; `limit` 0 means all.
  table_rows rows;
  uint64_t shown = 0;
  f.limit = a.limit == 0 ? 1000 : std::min<uint32_t>(a.limit, 1000);
  // An event that cannot be decrypted is reported by id; the others show.
  uint64_t unreadable = 0;
  auto err = for_each_readable(s, c, f, unreadable, [&](const event& ev) {
    if (a.limit != 0 && shown >= a.limit)
      return false;
    ++shown;
    if (c.fmt == format::jsonl)
      print_jsonl(event_json(ev));
    else
      rows.push_back(event_row(ev));
    return true;
  });
  if (err)
    return failure{exit_failed, err};
  if (c.fmt == format::table) {
    print_table(std::cout, event_header(), rows);
    std::cout << shown << " event(s)\n";
  }
  if (unreadable > 0)
    return unreadable_failure(unreadable);
  return std::nullopt;
}

// -- history ------------------------------------------------------------------

namespace {

/// The state of one record after each of its events, folded from their
/// data and changed attributes (the attributes of the resource only).
class record_state {
public:
  explicit record_state(const resource& res) : res_(res) {
    // nop
  }

  void apply(const event& ev) {
    if (ev.action_type == action_kind::destroy && ev.data.empty()
        && ev.changed_attributes.empty()) {
      exists_ = false;
      return;
    }
    if (ev.action_type == action_kind::create && !exists_)
      values_ = json::object{};
    for (auto* src : {&ev.data, &ev.changed_attributes})
      for (auto& kvp : *src)
        if (res_.find_attribute(kvp.key()))
          values_[kvp.key()] = kvp.value();
        else
          // Written before the attribute was renamed.
          for (auto& attr : res_.attributes())
            if (std::find(attr.options.renamed_from.begin(),
                          attr.options.renamed_from.end(), kvp.key())
                  != attr.options.renamed_from.end()
                && !src->contains(attr.name))
              values_[attr.name] = kvp.value();
    exists_ = true;
  }

  /// Whether the record exists after the events so far.
  bool exists() const {
    return exists_;
  }

  const json::object& values() const {
    return values_;
  }

private:
  const resource& res_;
  json::object values_;
  bool exists_ = false;
};

} // namespace

std::optional<failure> cmd_history(session& s, const common& c,
                                   const record_args& a) {
  if (auto f = s.open(true, true))
    return f;
  auto res = s.svc().definitions().find_resource(a.resource);
  if (!res)
    return failure{exit_failed,
                   make_error(errc::unknown_resource,
                              "no resource \"" + a.resource + "\"")};
  json::value key;
  if (auto err = res->find_attribute(res->primary_key())
                   ->type.cast(json::string{a.id}, key))
    return failure{exit_failed,
                   make_error(errc::invalid_input,
                              a.resource + ": id: " + *err)};
  event_filter f;
  f.log = c.log;
  if (auto ev = res->events())
    f.log = ev->event_log();
  f.resource = a.resource;
  f.record_id = key;
  record_state state{*res};
  table_rows rows;
  uint64_t count = 0;
  // An event that cannot be decrypted is reported by id; the others show
  // (the states after it lack what it changed).
  uint64_t unreadable = 0;
  auto fold = [&](const event& ev) {
    ++count;
    state.apply(ev);
    json::value after = state.exists() ? json::value(state.values())
                                       : json::value{};
    if (c.fmt == format::jsonl)
      print_jsonl(json::object{{"event", event_json(ev)}, {"state", after}});
    else
      rows.push_back({text(ev.id), format_timestamp(ev.occurred_at), ev.action,
                      actor_text(ev),
                      state.exists() ? to_json_text(state.values())
                                     : "(destroyed)"});
    return true;
  };
  f.limit = 1000;
  if (auto err = for_each_readable(s, c, f, unreadable, fold))
    return failure{exit_failed, err};
  if (count == 0 && unreadable > 0)
    return unreadable_failure(unreadable);
  if (count == 0)
    return failure{exit_failed,
                   make_error(errc::not_found, "no events of " + a.resource
                                                 + " " + a.id)};
  if (c.fmt == format::table)
    print_table(std::cout, {"event", "occurred_at", "action", "actor",
                            "state after"},
                rows, 90);
  if (unreadable > 0)
    return unreadable_failure(unreadable);
  return std::nullopt;
}

// -- stats --------------------------------------------------------------------

std::optional<failure> cmd_stats(session& s, const common& c) {
  if (auto f = s.open(true, true))
    return f;
  auto st = s.svc().stats(c.log);
  if (!st)
    return failure{exit_failed, st.error()};
  if (c.fmt == format::jsonl) {
    print_jsonl(json::object{{"events", st->events},
                             {"per_action", count_json(st->per_action)},
                             {"per_actor", count_json(st->per_actor)},
                             {"per_day", count_json(st->per_day)},
                             {"file_bytes", st->file_bytes}});
    return std::nullopt;
  }
  std::printf("%llu events, file size %llu bytes\n\n",
              static_cast<unsigned long long>(st->events),
              static_cast<unsigned long long>(st->file_bytes));
  for (auto& [what, xs] : {std::pair{"action", &st->per_action},
                           std::pair{"actor", &st->per_actor},
                           std::pair{"day", &st->per_day}}) {
    print_table(std::cout, {what, "events"}, count_rows(*xs));
    std::cout << '\n';
  }
  return std::nullopt;
}

} // namespace eventactors::cli
