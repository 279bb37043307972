// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The replayer through its own interface (replay/replayer.hpp) on a writer
// of the storage seam: no runtime, no actors, no write pipeline.

#include "replay/replayer.hpp"

#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "eventactors/all.hpp"
#include "model/model.hpp"
#include "storage/storage.hpp"

#include "support/query.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;

namespace {

app counter_app() {
  app a;
  a.add(event_log{"events"}).record_id_type(record_id_kind::integer);
  auto& c = a.add(resource{"Counter"});
  c.primary_key("id", key_kind::integer)
    .attribute("value", types::integer(),
               {.allow_nil = false, .default_value = 0});
  c.events("events");
  c.create("create").accept({"id", "value"});
  c.update("set").accept({"value"});
  return a;
}

/// A store with `n` counters created by events, each then set once, as the
/// live path writes them (record change and event in one unit).
struct replay_fixture {
  temp_dir dir;
  std::string path = dir.file("replay.db");
  std::shared_ptr<const model> m;
  std::unique_ptr<writer> w;
  runtime_options opts;

  explicit replay_fixture(int64_t n) {
    auto built = model::build(counter_app());
    REQUIRE(built);
    m = *built;
    opts.path = path;
    auto opened = storage::open_writer(m, path, {}, environment::system());
    REQUIRE(opened);
    w = std::move(*opened);
    REQUIRE(!w->begin());
    for (int64_t id = 1; id <= n; ++id) {
      REQUIRE(w->apply(unit_of(op(write_kind::insert, id, "create",
                                  {{"id", id}, {"value", id}}))));
      REQUIRE(w->apply(unit_of(op(write_kind::update, id, "set",
                                  {{"value", id * 10}}))));
    }
    REQUIRE(!w->commit());
  }

  static write_op op(write_kind kind, int64_t id, std::string action,
                     json::object data) {
    write_op x;
    x.resource = "Counter";
    x.kind = kind;
    x.record_id = id;
    x.values = data;
    if (kind == write_kind::insert)
      x.values["id"] = id;
    event_draft ev;
    ev.log = "events";
    ev.action = std::move(action);
    ev.action_type = kind == write_kind::insert ? action_kind::create
                                                : action_kind::update;
    ev.data = std::move(data);
    ev.occurred_at = now_utc();
    x.event = std::move(ev);
    return x;
  }

  static unit unit_of(write_op x) {
    unit u;
    u.ops.push_back(std::move(x));
    return u;
  }

  int64_t value_of(int64_t id) {
    return query_int(path, "SELECT value FROM counter WHERE id = "
                             + std::to_string(id))
      .value_or(-1);
  }

  void tamper(int64_t id, int64_t value) {
    exec_sql(path, "UPDATE counter SET value = " + std::to_string(value)
                     + " WHERE id = " + std::to_string(id));
  }
};

TEST_CASE("replayer: rebuilds every record from the events in one "
          "transaction, reporting progress per chunk",
          "[replayer][replay]") {
  replay_fixture f{1500};
  f.tamper(7, -1);
  exec_sql(f.path, "DELETE FROM counter WHERE id = 8");
  replayer rp{f.m, f.opts, *f.w};
  std::vector<replay_progress> seen;
  auto summary = rp.run({}, [&](const replay_progress& p) {
    seen.push_back(p);
  });
  REQUIRE(summary);
  CHECK(summary->events == 3000);
  CHECK(summary->applied["Counter.create"] == 1500);
  CHECK(summary->applied["Counter.set"] == 1500);
  // 3000 events in chunks of 1000.
  REQUIRE(seen.size() == 3);
  CHECK(seen.back().applied == 3000);
  CHECK(seen.back().total == 3000);
  CHECK(f.value_of(7) == 70);
  CHECK(f.value_of(8) == 80);
  CHECK(query_count(f.path, "SELECT count(*) FROM counter") == 1500);
  // Replay appends no events.
  CHECK(query_count(f.path, "SELECT count(*) FROM events") == 3000);
}

TEST_CASE("replayer: a cut applies the events up to it",
          "[replayer][replay]") {
  replay_fixture f{10};
  replayer rp{f.m, f.opts, *f.w};
  replay_request req;
  // Events 1..20 alternate create and set: up to 5 is three creates and
  // two sets.
  req.last_event_id = json::value(5);
  auto summary = rp.run(req);
  REQUIRE(summary);
  CHECK(summary->events == 5);
  CHECK(query_count(f.path, "SELECT count(*) FROM counter") == 3);
  CHECK(f.value_of(1) == 10);
  CHECK(f.value_of(2) == 20);
  CHECK(f.value_of(3) == 3);
  // A cut beyond the log is refused before anything is cleared.
  req.last_event_id = json::value(99);
  auto refused = rp.run(req);
  REQUIRE_FALSE(refused);
  CHECK(query_count(f.path, "SELECT count(*) FROM counter") == 3);
}

TEST_CASE("replayer: an event that fails rolls everything back and is named",
          "[replayer][replay]") {
  replay_fixture f{5};
  // An event whose input the action refuses, written behind the log's
  // back.
  exec_sql(f.path, "UPDATE events SET data = '{\"value\":\"many\"}' WHERE "
                   "id = 4");
  f.tamper(1, -1);
  replayer rp{f.m, f.opts, *f.w};
  auto summary = rp.run({});
  REQUIRE_FALSE(summary);
  CHECK(is(summary.error(), errc::replay_failed));
  auto text = message(summary.error());
  INFO(text);
  CHECK(text.find("event 4 (Counter.set v1, record 2)") != std::string::npos);
  CHECK(text.find("value") != std::string::npos);
  // The state is exactly what it was: the hand edit stays, nothing is
  // cleared.
  CHECK(f.value_of(1) == -1);
  CHECK(query_count(f.path, "SELECT count(*) FROM counter") == 5);
  CHECK_FALSE(f.w->in_transaction());
}

} // namespace
