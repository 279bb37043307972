// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Values generated while an action runs (defaults, update defaults, "now",
// new UUIDs, values computed by changes) are captured in the event, and
// replay uses the captured values: it never asks the clock or an id
// generator, and rebuilds exactly what the live action wrote.

#include "support/env_guard.hpp"
#include "support/query.hpp"
#include "support/temp_dir.hpp"

#include <chrono>
#include <string>

#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

#include "eventactors/all.hpp"

using namespace eventactors;
using namespace eventactors::test;

namespace {

timestamp t0() {
  return timestamp{std::chrono::seconds{1'750'000'000}};
}

/// Member: an upsert on email, a create-only default, update defaults (a
/// fixed value and "now"), timestamps.
app member_app() {
  app a;
  a.add(event_log{"events"});
  auto& m = a.add(resource{"Member"});
  m.primary_key("id", key_kind::uuid_v4, false)
    .timestamps()
    .attribute("email", types::ci_string(), {.allow_nil = false})
    .attribute("name", types::string())
    .attribute("plan", types::string(), {.default_value = "basic"})
    .attribute("tier", types::string(), {.update_default = "renewed"})
    .attribute("renewed_at", types::utc_datetime(),
               {.update_default = value_source::now()})
    .identity("unique_email", {"email"});
  m.events("events")
    .create_timestamp("created_at")
    .update_timestamp("updated_at");
  m.create("join").accept({"email", "name", "plan"}).upsert("unique_email");
  m.update("rename").accept({"name"});
  return a;
}

/// Every kind of action, each generating values: UUID v4 and v7 keys and
/// defaults, "now" defaults and update defaults, a fixed update default, a
/// change setting "now", an increment, an argument default copied by a
/// change, upserts, soft and hard destroys, an integer key.
app generating_app() {
  app a;
  // String record ids: the log holds UUID and integer keys alike.
  a.add(event_log{"events"}).record_id_type(record_id_kind::string);
  {
    auto& m = a.add(resource{"Member"});
    m.primary_key("id", key_kind::uuid_v4, false)
      .timestamps()
      .attribute("email", types::ci_string(), {.allow_nil = false})
      .attribute("name", types::string())
      .attribute("ref", types::uuid(),
                 {.default_value = value_source::uuid_v7()})
      .attribute("token", types::uuid(),
                 {.default_value = value_source::uuid_v4()})
      .attribute("stamp", types::string(), {.update_default = "stamped"})
      .attribute("seen_at", types::utc_datetime(),
                 {.update_default = value_source::now()})
      .attribute("checked_at", types::utc_datetime())
      .attribute("source", types::string())
      .attribute("visits", types::integer(), {.default_value = 0})
      .attribute("deleted_at", types::utc_datetime())
      .identity("unique_email", {"email"});
    m.events("events")
      .create_timestamp("created_at")
      .update_timestamp("updated_at");
    m.create("create")
      .accept({"email", "name"})
      .argument("source", types::string(), {.default_value = "signup"})
      .change(change{"source", [](changeset& cs) {
                       cs.set_attribute("source", cs.argument("source"));
                     }});
    m.create("join").accept({"email", "name"}).upsert("unique_email");
    m.update("rename").accept({"name"});
    m.update("check").change(
      changes::set_attribute("checked_at", value_source::now()));
    m.update("visit").change(changes::increment("visits"));
    m.destroy("retire").soft().change(
      changes::set_attribute("deleted_at", value_source::now()));
    m.destroy("destroy");
  }
  {
    auto& t = a.add(resource{"Ticket"});
    t.primary_key("id", key_kind::integer, false)
      .attribute("title", types::string(), {.allow_nil = false})
      .attribute("opened_at", types::utc_datetime(),
                 {.default_value = value_source::now()})
      .attribute("touched_at", types::utc_datetime(),
                 {.update_default = value_source::now()});
    t.events("events");
    t.create("open").accept({"title"});
    t.update("retitle").accept({"title"});
    t.destroy("close");
  }
  return a;
}

std::string dump_records(const std::string& path, const app& defs) {
  connection conn{path};
  std::string out;
  for (auto& res : defs.resources())
    out += dump_table(conn.get(), res.table(), res.primary_key(), true);
  return out;
}

runtime_options options_for(const std::string& path, const env_guard& guard) {
  runtime_options opts;
  opts.path = path;
  opts.synchronous = sync_mode::normal;
  opts.env = guard.wrap(environment::deterministic(7, t0()));
  return opts;
}

record must(runtime& rt, call c) {
  auto res = rt.run(c);
  INFO(c.resource << "." << c.action << ": "
                  << (res ? std::string{"ok"} : render(res.error())));
  REQUIRE(res);
  return *res;
}

} // namespace

TEST_CASE("B-UPS-01, B-CHG-12: an upsert that updates applies the update "
          "defaults as an update would, and replay sets the same values",
          "[replay][generated]") {
  temp_dir dir;
  env_guard guard;
  auto defs = member_app();
  auto path = dir.file("upsert.db");
  auto rt = runtime::start(defs, options_for(path, guard));
  REQUIRE(rt);
  auto first = must(**rt, call{"Member", "join",
                               {{"email", "ann@example.com"},
                                {"name", "Ann"},
                                {"plan", "gold"}}});
  // A create sets no update defaults.
  CHECK(first.get("tier").is_null());
  CHECK(first.get("renewed_at").is_null());
  auto second = must(**rt, call{"Member", "join",
                                {{"email", "ANN@example.com"},
                                 {"name", "Ann B."}}});
  CHECK(second.id == first.id);
  CHECK(second.get("name") == "Ann B.");
  // The update defaults, as an update would set them...
  CHECK(second.get("tier") == "renewed");
  REQUIRE(second.get("renewed_at").is_string());
  CHECK(second.get("renewed_at") == second.get("updated_at"));
  CHECK(second.get("renewed_at") != first.get("updated_at"));
  // ...while the create defaults are for new records only.
  CHECK(second.get("plan") == "gold");
  CHECK(second.get("created_at") == first.get("created_at"));
  auto stored = (*rt)->get("Member", first.id);
  REQUIRE(stored);
  CHECK(stored->values == second.values);
  // The event holds every value the upsert generated.
  auto page = (*rt)->events({.resource = "Member"});
  REQUIRE(page);
  REQUIRE(page->events.size() == 2);
  auto& changed = page->events[1].changed_attributes;
  CHECK(changed.if_contains("tier"));
  CHECK(changed.if_contains("renewed_at"));
  CHECK(changed.if_contains("updated_at"));
  CHECK_FALSE(changed.if_contains("plan"));
  CHECK_FALSE(changed.if_contains("created_at"));
  CHECK(format_timestamp(page->events[1].occurred_at)
        == second.get("updated_at").get_string());
  // Verify finds nothing; replay changes nothing and asks no generator.
  auto live = dump_records(path, defs);
  {
    auto armed = guard.arm();
    auto report = (*rt)->verify();
    REQUIRE(report);
    CHECK(report->ok());
    auto summary = (*rt)->replay();
    REQUIRE(summary);
  }
  CHECK(guard.calls() == 0);
  CHECK(dump_records(path, defs) == live);
  // An update on the replayed state goes on as before.
  auto third = must(**rt, call{"Member", "rename", {{"name", "Ann C."}},
                               first.id});
  CHECK(third.get("tier") == "renewed");
  CHECK(third.get("plan") == "gold");
}

TEST_CASE("replay never asks the clock or an id generator and rebuilds "
          "every generated value, over every kind of action",
          "[replay][generated]") {
  temp_dir dir;
  env_guard guard;
  auto defs = generating_app();
  auto path = dir.file("generated.db");
  auto rt = runtime::start(defs, options_for(path, guard));
  REQUIRE(rt);
  auto& r = **rt;
  auto a = must(r, call{"Member", "create", {{"email", "a@example.com"}}});
  auto b = must(r, call{"Member", "join", {{"email", "b@example.com"},
                                           {"name", "Bo"}}});
  must(r, call{"Member", "join", {{"email", "B@example.com"},
                                  {"name", "Bob"}}}); // the update path
  must(r, call{"Member", "rename", {{"name", "Al"}}, a.id});
  // The fixed update default is unchanged now: not in the event.
  must(r, call{"Member", "rename", {{"name", "Alf"}}, a.id});
  must(r, call{"Member", "check", {}, a.id});
  must(r, call{"Member", "visit", {}, a.id});
  must(r, call{"Member", "visit", {}, b.id});
  auto c = must(r, call{"Member", "create", {{"email", "c@example.com"}}});
  must(r, call{"Member", "retire", {}, b.id});
  must(r, call{"Member", "destroy", {}, c.id});
  auto t1 = must(r, call{"Ticket", "open", {{"title", "one"}}});
  auto t2 = must(r, call{"Ticket", "open", {{"title", "two"}}});
  must(r, call{"Ticket", "retitle", {{"title", "uno"}}, t1.id});
  must(r, call{"Ticket", "close", {}, t2.id});
  must(r, call{"Ticket", "open", {{"title", "three"}}});
  auto live = dump_records(path, defs);
  auto evs = r.events({});
  REQUIRE(evs);
  REQUIRE(evs->events.size() == 16);
  auto fork_path = dir.file("fork.db");
  {
    auto armed = guard.arm();
    auto summary = r.replay();
    REQUIRE(summary);
    CHECK(summary->events == 16);
    CHECK(dump_records(path, defs) == live);
    auto again = r.replay();
    REQUIRE(again);
    CHECK(dump_records(path, defs) == live);
    auto report = r.verify();
    REQUIRE(report);
    CHECK(report->ok());
    auto forked = r.fork({}, fork_path);
    REQUIRE(forked);
    // A replay to a cut ends at an earlier state; the full one restores.
    REQUIRE(r.replay({.last_event_id = evs->events[5].id}));
    REQUIRE(r.replay());
  }
  INFO("first call: " << guard.first());
  CHECK(guard.calls() == 0);
  CHECK(dump_records(path, defs) == live);
  CHECK(dump_records(fork_path, defs) == live);
}

TEST_CASE("replay derives the ids a step still asks for from the event: "
          "the same on every replay",
          "[replay][generated]") {
  temp_dir dir;
  env_guard guard;
  auto path = dir.file("evolved.db");
  auto v1 = app{};
  {
    v1.add(event_log{"events"}).record_id_type(record_id_kind::integer);
    auto& n = v1.add(resource{"Note"});
    n.primary_key("id", key_kind::integer, false)
      .attribute("body", types::string());
    n.events("events");
    n.create("create").accept({"body"});
  }
  {
    auto rt = runtime::start(v1, options_for(path, guard));
    REQUIRE(rt);
    must(**rt, call{"Note", "create", {{"body", "x"}}});
    must(**rt, call{"Note", "create", {{"body", "y"}}});
    (*rt)->stop();
  }
  // Version 2 adds attributes with generated defaults: the old events do not
  // hold their values, so replay generates them, from the events.
  auto v2 = app{};
  {
    v2.add(event_log{"events"}).record_id_type(record_id_kind::integer);
    auto& n = v2.add(resource{"Note"});
    n.primary_key("id", key_kind::integer, false)
      .attribute("body", types::string())
      .attribute("badge", types::uuid(),
                 {.default_value = value_source::uuid_v4()})
      .attribute("noted_at", types::utc_datetime(),
                 {.default_value = value_source::now()});
    n.events("events");
    n.create("create").accept({"body"});
  }
  auto rt = runtime::start(v2, options_for(path, guard));
  REQUIRE(rt);
  auto armed = guard.arm();
  REQUIRE((*rt)->replay());
  auto once = dump_records(path, v2);
  REQUIRE((*rt)->replay());
  CHECK(dump_records(path, v2) == once);
  CHECK(guard.calls() == 0);
  auto evs = (*rt)->events({});
  REQUIRE(evs);
  REQUIRE(evs->events.size() == 2);
  auto x = (*rt)->get("Note", evs->events[0].record_id);
  auto y = (*rt)->get("Note", evs->events[1].record_id);
  REQUIRE(x);
  REQUIRE(y);
  REQUIRE(x->get("badge").is_string());
  CHECK(x->get("badge") != y->get("badge"));
  // "now" reads the event's time.
  CHECK(x->get("noted_at").get_string()
        == format_timestamp(evs->events[0].occurred_at));
}

TEST_CASE("the actions an allowed hook runs during replay, and the hook "
          "itself, see the event's time and ids derived from the event",
          "[replay][generated]") {
  temp_dir dir;
  env_guard guard;
  auto path = dir.file("hooks.db");
  app a;
  a.add(event_log{"events"});
  // A stamp per order, written by the order's hook and never logged itself:
  // replay clears the stamps and the hook writes them again.
  auto& stamp = a.add(resource{"Stamp"});
  stamp.primary_key("id", key_kind::uuid_v4, false)
    .attribute("order_id", types::uuid())
    .attribute("stamped_at", types::utc_datetime(),
               {.default_value = value_source::now()})
    .attribute("seen_by_hook", types::utc_datetime());
  stamp.events("events").ignore_actions({"create"});
  stamp.create("create").accept({"order_id", "seen_by_hook"});
  auto& order = a.add(resource{"Order"});
  order.primary_key("id", key_kind::uuid_v4, false)
    .attribute("item", types::string());
  order.events("events").allowed_change_modules({{"place", {"stamp"}}});
  order.create("place")
    .accept({"item"})
    .after_action("stamp",
                  [](hook_context& ctx, const changeset&,
                     record& r) -> caf::error {
                    auto seen = format_timestamp(ctx.env().clock());
                    auto s = ctx.run({"Stamp", "create",
                                      {{"order_id", r.id},
                                       {"seen_by_hook", seen}}});
                    return s ? caf::error{} : s.error();
                  });
  auto rt = runtime::start(a, options_for(path, guard));
  REQUIRE(rt);
  auto& r = **rt;
  must(r, call{"Order", "place", {{"item", "tea"}}});
  must(r, call{"Order", "place", {{"item", "cake"}}});
  auto evs = r.events({});
  REQUIRE(evs);
  REQUIRE(evs->events.size() == 2);
  std::string first;
  {
    auto armed = guard.arm();
    REQUIRE(r.replay());
    first = dump_records(path, a);
    REQUIRE(r.replay());
  }
  INFO("first call: " << guard.first());
  CHECK(guard.calls() == 0);
  // Every replay writes the same stamps: ids derived from each event, and
  // "now" is the event's time for the action and the hook alike.
  CHECK(dump_records(path, a) == first);
  auto stamps = r.list("Stamp");
  REQUIRE(stamps);
  REQUIRE(stamps->size() == 2);
  for (auto& s : *stamps) {
    INFO(json::serialize(json::value(s.values)));
    CHECK(s.get("stamped_at") == s.get("seen_by_hook"));
    bool of_an_event = false;
    for (auto& ev : evs->events)
      of_an_event |= s.get("order_id") == ev.record_id
                     && s.get("stamped_at")
                          == json::value(format_timestamp(ev.occurred_at));
    CHECK(of_an_event);
  }
}
