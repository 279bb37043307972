// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Audit log only: the event log as a trail of who did what, when and why,
// not as the source of truth.
//
// The log has no clear-records callback (`no_clear_records_for_replay`), so
// replay refuses to run, and no action versions. Staff members and a system
// job act on documents and comments, each call with metadata. The log is
// then queried by resource, by record, by actor and by time range, and shown
// through `public_view`, which exposes only the fields the log declares
// public.
//
// Usage: eventactors_example_audit_log [DATABASE]

#include <atomic>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <boost/json/serialize.hpp>

#include "eventactors/all.hpp"

using namespace eventactors;

namespace {

int fail(const std::string& what) {
  std::cerr << "error: " << what << '\n';
  return 1;
}

std::string text(const json::value& x) {
  if (x.is_null())
    return "-";
  return x.is_string() ? std::string{x.get_string()} : json::serialize(x);
}

// --(rst-definitions-begin)--
app make_app() {
  app a;
  a.add(event_log{"audit_log"})
    .record_id_type(record_id_kind::integer)
    .persist_actor_primary_key("staff_id", "Staff",
                               {.type = actor_key_kind::string})
    .persist_actor_primary_key("system_actor", "SystemActor",
                               {.type = actor_key_kind::string})
    .public_fields({"id", "resource", "action", "occurred_at", "staff_id"})
    .no_clear_records_for_replay(); // an audit trail: never replayed
  auto& doc = a.add(resource{"Docs.Document"});
  doc.primary_key("id", key_kind::integer)
    .attribute("title", types::string(), {.allow_nil = false})
    .attribute("body", types::string())
    .attribute("status", types::string(), {.default_value = "draft"})
    .timestamps();
  doc.events("audit_log")
    .create_timestamp("created_at")
    .update_timestamp("updated_at");
  doc.create("create").accept({"title", "body"});
  doc.update("edit").accept({"title", "body"});
  doc.update("publish").change(changes::set_attribute("status", "published"));
  doc.destroy("destroy");
  auto& comment = a.add(resource{"Docs.Comment"});
  comment.primary_key("id", key_kind::integer)
    .attribute("text", types::string())
    .belongs_to("document", "Docs.Document");
  comment.events("audit_log");
  comment.create("create").accept({"text", "document_id"});
  return a;
}
// --(rst-definitions-end)--

// The office clock: each step below happens at a given time of day.
std::atomic<int64_t> clock_us{0};
void at(const char* hh_mm) {
  auto t = parse_timestamp(std::string{"2025-01-06T"} + hh_mm + ":00Z");
  clock_us = t->time_since_epoch().count();
}

std::string hh_mm(timestamp t) {
  return format_timestamp(t).substr(11, 5);
}

// Prints the events matching `f`; returns how many there were (-1 on error).
int query(runtime& rt, const char* what, event_filter f) {
  std::vector<std::string> ids;
  auto err = rt.for_each_event(f, [&](const event& ev) {
    ids.push_back(text(ev.id) + " " + ev.action + "@" + hh_mm(ev.occurred_at));
    return true;
  });
  if (err) {
    fail(std::string{"query "} + what + " " + render(err));
    return -1;
  }
  std::printf("  %-34s", what);
  for (auto& id : ids)
    std::printf(" [%s]", id.c_str());
  std::printf("\n");
  return static_cast<int>(ids.size());
}

} // namespace

int main(int argc, char** argv) {
  std::string db = argc > 1 ? argv[1] : "audit_log.db";
  for (auto suffix : {"", "-wal", "-shm"})
    std::remove((db + suffix).c_str());
  auto env = environment::deterministic(7, timestamp{});
  env.clock = [] { return timestamp{std::chrono::microseconds{clock_us}}; };
  auto rt = runtime::start(make_app(), {.path = db, .env = env});
  if (!rt)
    return fail("cannot start: " + render(rt.error()));

  // --(rst-actions-begin)--
  auto act = [&](const char* time, call c, actor who,
                 json::object metadata) -> caf::expected<record> {
    at(time);
    c.actor = std::move(who);
    c.metadata = std::move(metadata);
    return (*rt)->run(std::move(c));
  };
  actor alice{"Staff", "alice"}, bob{"Staff", "bob"};
  actor retention{"SystemActor", "retention-job"};
  auto plan = act("09:15", {"Docs.Document", "create", {{"title", "Q1 plan"}}},
                  alice, {{"ip", "10.0.0.5"}});
  auto rota = act("09:40", {"Docs.Document", "create",
                            {{"title", "Holiday rota"}}},
                  alice, {{"ip", "10.0.0.5"}});
  // --(rst-actions-end)--
  if (!plan || !rota)
    return fail("create: " + render(!plan ? plan.error() : rota.error()));
  std::vector<caf::expected<record>> steps;
  steps.push_back(act("10:05", {"Docs.Document", "edit",
                                {{"body", "Ship v2."}}, plan->id},
                      bob, {{"ip", "10.0.0.9"}, {"reason", "add goals"}}));
  steps.push_back(act("10:30", {"Docs.Comment", "create",
                                {{"text", "Looks good"},
                                 {"document_id", plan->id}}},
                      bob, {{"ip", "10.0.0.9"}}));
  steps.push_back(act("11:30", {"Docs.Document", "publish", {}, plan->id},
                      alice, {{"ip", "10.0.0.5"}}));
  steps.push_back(act("13:00", {"Docs.Document", "destroy", {}, rota->id},
                      retention, {{"reason", "expired"}}));
  for (auto& s : steps)
    if (!s)
      return fail("action failed: " + render(s.error()));

  std::cout << "audit log:\n";
  std::printf("%-3s %-5s %-14s %-8s %-6s %-6s %-13s %s\n", "id", "time",
              "resource", "action", "record", "staff", "system", "metadata");
  auto err = (*rt)->for_each_event({}, [](const event& ev) {
    std::printf("%-3s %-5s %-14s %-8s %-6s %-6s %-13s %s\n",
                text(ev.id).c_str(), hh_mm(ev.occurred_at).c_str(),
                ev.resource.c_str(), ev.action.c_str(),
                text(ev.record_id).c_str(),
                text(ev.actors.at("staff_id")).c_str(),
                text(ev.actors.at("system_actor")).c_str(),
                json::serialize(ev.metadata).c_str());
    return true;
  });
  if (err)
    return fail("reading the log: " + render(err));

  // --(rst-queries-begin)--
  std::cout << "\nqueries:\n";
  auto by_resource = query(**rt, "resource Docs.Comment:",
                           {.resource = "Docs.Comment"});
  auto by_record = query(**rt, "record Docs.Document 1:",
                         {.resource = "Docs.Document",
                          .record_id = plan->id});
  auto by_actor = query(**rt, "actor staff_id=bob:",
                        {.actor = {{"staff_id", "bob"}}});
  auto by_system = query(**rt, "actor system_actor=retention-job:",
                         {.actor = {{"system_actor", "retention-job"}}});
  auto by_time = query(**rt, "time 10:00..12:00:",
                       {.from_time = parse_timestamp("2025-01-06T10:00:00Z"),
                        .to_time = parse_timestamp("2025-01-06T12:00:00Z")});
  // --(rst-queries-end)--
  if (by_resource != 1 || by_record != 3 || by_actor != 2 || by_system != 1
      || by_time != 3)
    return fail("unexpected query results");

  // What query interfaces may show: only the public fields.
  auto first = (*rt)->events({.limit = 1});
  if (!first || first->events.empty())
    return fail("no first event");
  auto view = (*rt)->public_view(first->events.front());
  std::cout << "\npublic view of event 1: " << json::serialize(view) << '\n';
  if (view.size() != 5 || view.contains("data") || view.contains("metadata"))
    return fail("the public view shows more than the public fields");

  // No clear callback: replay is refused, and nothing changes.
  auto replayed = (*rt)->replay();
  if (replayed)
    return fail("the replay of an audit log ran");
  std::cout << "\nreplay refused: " << message(replayed.error()) << '\n';
  auto docs = (*rt)->list("Docs.Document");
  auto all = (*rt)->events({});
  if (!docs || docs->size() != 1 || docs->front().get("status") != "published"
      || !all || all->events.size() != 6)
    return fail("the records or the log changed");
  std::cout << "ok: 6 events by 3 actors, records untouched\n";
  return 0;
}
