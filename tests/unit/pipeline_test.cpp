// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The write pipeline through its own interfaces: record turns, the replay
// gate, and the one entry that synchronous callers and resource actors
// share (turns, retry policy).

#include "eventactors/all.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>

#include <catch2/catch.hpp>

#include "write/record_turns.hpp"
#include "write/replay_gate.hpp"

#include "support/query.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;
using namespace std::chrono_literals;

namespace {

// -- record turns ---------------------------------------------------------------

TEST_CASE("record turns: waiting tickets get the turn in arrival order, "
          "whether they block or are told",
          "[pipeline][turns]") {
  record_turns turns;
  auto key = record_turns::key("Counter", "\"hot\"");
  auto first = turns.next_ticket();
  REQUIRE(turns.take(key, first, [] { FAIL("granted at once"); }));
  std::vector<int> order;
  std::mutex mtx;
  auto note = [&](int who) {
    std::lock_guard<std::mutex> guard{mtx};
    order.push_back(who);
  };
  auto second = turns.next_ticket();
  CHECK_FALSE(turns.take(key, second, [&] { note(2); }));
  // A blocking waiter queues behind the second ticket.
  std::promise<record_turns::ticket> blocked;
  auto waiter_ticket = blocked.get_future();
  std::thread waiter{[&] {
    auto t = turns.wait(key, record_turns::clock::now() + 60s);
    note(3);
    blocked.set_value(t.value_or(0));
  }};
  // Another key is independent.
  auto other = turns.next_ticket();
  CHECK(turns.take(record_turns::key("Counter", "\"cold\""), other, {}));
  turns.release(record_turns::key("Counter", "\"cold\""), other);
  // Wait (bounded) until the waiter queued behind the two tickets ahead;
  // it cannot have the turn before they give it up.
  auto until = std::chrono::steady_clock::now() + 60s;
  while (turns.tickets(key) < 3 && std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
  REQUIRE(turns.tickets(key) == 3);
  CHECK(waiter_ticket.wait_for(0s) == std::future_status::timeout);
  turns.release(key, first);  // grants the second ticket (callback)
  {
    std::lock_guard<std::mutex> guard{mtx};
    REQUIRE(order == std::vector<int>{2});
  }
  turns.release(key, second); // grants the blocked waiter
  REQUIRE(waiter_ticket.wait_for(60s) == std::future_status::ready);
  auto t = waiter_ticket.get();
  CHECK(t != 0);
  waiter.join();
  CHECK(order == std::vector<int>{2, 3});
  turns.release(key, t);
  CHECK(turns.size() == 0);
}

TEST_CASE("record turns: a waiter whose deadline passes leaves the queue, "
          "and a ticket that leaves is never granted",
          "[pipeline][turns]") {
  record_turns turns;
  auto key = record_turns::key("Counter", "\"hot\"");
  auto holder = turns.next_ticket();
  REQUIRE(turns.take(key, holder, {}));
  auto started = std::chrono::steady_clock::now();
  CHECK_FALSE(turns.wait(key, record_turns::clock::now() + 50ms));
  CHECK(std::chrono::steady_clock::now() - started >= 50ms);
  // A queued ticket that gives up its place is skipped.
  auto quitter = turns.next_ticket();
  bool quitter_granted = false;
  CHECK_FALSE(turns.take(key, quitter, [&] { quitter_granted = true; }));
  auto next = turns.next_ticket();
  bool next_granted = false;
  CHECK_FALSE(turns.take(key, next, [&] { next_granted = true; }));
  turns.release(key, quitter);
  turns.release(key, holder);
  CHECK_FALSE(quitter_granted);
  CHECK(next_granted);
  turns.release(key, next);
  CHECK(turns.size() == 0);
  // Free again: taken at once.
  CHECK(turns.wait(key, record_turns::clock::now() + 1s));
}

// -- the replay gate ------------------------------------------------------------

TEST_CASE("replay gate: one replay at a time; work is refused while it runs "
          "and units built before it are refused after",
          "[pipeline][gate]") {
  replay_gate gate;
  CHECK_FALSE(gate.admit("Item.create"));
  auto before = gate.epoch();
  CHECK_FALSE(gate.check(before));
  REQUIRE(gate.begin());
  CHECK_FALSE(gate.begin());
  auto refused = gate.admit("Item.create");
  REQUIRE(refused);
  CHECK(is(refused, errc::replay_in_progress));
  CHECK(message(refused)
        == "Item.create: a replay is in progress; retry when it is done");
  CHECK(message(gate.admit())
        == "a replay is in progress; retry when it is done");
  CHECK(message(gate.admit("Item", "create")) == message(refused));
  gate.end();
  CHECK_FALSE(gate.admit("Item.create"));
  CHECK_FALSE(gate.admit("Item", "create"));
  auto stale = gate.check(before);
  REQUIRE(stale);
  CHECK(is(stale, errc::replay_in_progress));
  CHECK_FALSE(gate.check(gate.epoch()));
}

// -- one entry for synchronous callers and resource actors ---------------------

/// A counter app whose `slow` update blocks in a hook until released, and
/// whose `increment` notes when its hook runs.
struct turn_app {
  std::latch entered{1};
  std::latch release{1};
  std::atomic<bool> hold{true};
  std::atomic<int> increments_started{0};
  /// Set: bumps the record's version behind the action's back (another
  /// writer), so that every commit finds the record changed.
  std::function<void()> interfere;
  std::atomic<int> attempts{0};
  /// `notify`'s after_transaction hook blocks its first run like `slow`.
  std::latch notified{1};
  std::latch go_on{1};
  std::atomic<bool> hold_notify{true};

  app make() {
    app a;
    a.add(event_log{"events"}).record_id_type(record_id_kind::string);
    auto& c = a.add(resource{"Counter"});
    c.primary_key("id", key_kind::string)
      .attribute("value", types::integer(),
                 {.allow_nil = false, .default_value = 0});
    c.events("events");
    c.create("create").accept({"id"});
    c.update("increment")
      .change(changes::increment("value"))
      .before_action("note", [this](hook_context&, changeset&) -> caf::error {
        ++increments_started;
        return {};
      });
    c.update("slow")
      .change(changes::increment("value"))
      .before_action("wait", [this](hook_context&, changeset&) -> caf::error {
        if (hold.exchange(false)) {
          entered.count_down();
          release.wait();
        }
        return {};
      });
    c.update("contested")
      .change(changes::increment("value"))
      .before_action("meddle",
                     [this](hook_context&, changeset&) -> caf::error {
                       ++attempts;
                       if (interfere)
                         interfere();
                       return {};
                     });
    c.update("notify")
      .change(changes::increment("value"))
      .after_transaction("mail",
                         [this](hook_context&, const changeset&,
                                const caf::expected<record>&) -> caf::error {
                           if (hold_notify.exchange(false)) {
                             notified.count_down();
                             go_on.wait();
                           }
                           return {};
                         });
    return a;
  }
};

call on(std::string action, std::string id) {
  return call{"Counter", std::move(action), {}, json::string{id}};
}

TEST_CASE("a resource actor's call waits for the turn a synchronous call "
          "holds on its record, and runs after it",
          "[pipeline][write_path]") {
  temp_dir dir;
  turn_app t;
  auto rt = runtime::start(t.make(), {.path = dir.file("t.db"),
                                      .synchronous = sync_mode::normal});
  REQUIRE(rt);
  auto& service = **rt;
  REQUIRE(service.run("Counter", "create", {{"id", "hot"}}));
  REQUIRE(service.run("Counter", "create", {{"id", "cold"}}));
  auto slow = std::async(std::launch::async,
                         [&] { return service.run(on("slow", "hot")); });
  t.entered.wait();
  // The synchronous call holds the turn of "hot" (blocked in its hook).
  caf::scoped_actor self{service.system()};
  auto target = actions(service);
  self->send(target, run_atom_v, on("increment", "hot"));
  // A call on another record of the same resource actor: once answered,
  // the actor has seen the call on "hot" too.
  std::optional<caf::expected<record>> cold;
  self->request(target, 60s, run_atom_v, on("increment", "cold"))
    .receive([&](record& r) { cold = std::move(r); },
             [&](caf::error& err) { cold = std::move(err); });
  REQUIRE(cold);
  REQUIRE(*cold);
  // "cold"'s hook ran; "hot"'s call waits for its turn.
  CHECK(t.increments_started == 1);
  t.release.count_down();
  REQUIRE(slow.wait_for(60s) == std::future_status::ready);
  REQUIRE(slow.get());
  std::optional<caf::expected<record>> hot;
  self->receive([&](record& r) { hot = std::move(r); },
                [&](caf::error& err) { hot = std::move(err); },
                caf::after(60s) >> [&] {});
  REQUIRE(hot);
  REQUIRE(*hot);
  CHECK((*hot)->get("value") == 2);
  // In the log: the synchronous call's event first.
  CHECK(query_count(dir.file("t.db"),
                    "SELECT count(*) FROM events WHERE record_id = 'hot'")
        == 3);
  CHECK(query_count(dir.file("t.db"),
                    "SELECT count(*) FROM events WHERE record_id = 'hot' AND "
                    "action = 'increment' AND id > (SELECT id FROM events "
                    "WHERE record_id = 'hot' AND action = 'slow')")
        == 1);
}

TEST_CASE("a synchronous call waits for the turn a resource actor's call "
          "holds on its record, until its call_timeout",
          "[pipeline][write_path]") {
  temp_dir dir;
  turn_app t;
  auto rt = runtime::start(t.make(), {.path = dir.file("t.db"),
                                      .synchronous = sync_mode::normal,
                                      .call_timeout = 300ms});
  REQUIRE(rt);
  auto& service = **rt;
  REQUIRE(service.run("Counter", "create", {{"id", "hot"}}));
  caf::scoped_actor self{service.system()};
  self->send(actions(service), run_atom_v, on("slow", "hot"));
  t.entered.wait();
  // The resource actor holds the turn of "hot" (blocked in its hook): the
  // synchronous call never starts, and gives up at its deadline.
  auto r = service.run(on("increment", "hot"));
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::timeout));
  CHECK(t.increments_started == 0);
  t.release.count_down();
  std::optional<caf::expected<record>> slow;
  self->receive([&](record& x) { slow = std::move(x); },
                [&](caf::error& err) { slow = std::move(err); },
                caf::after(60s) >> [&] {});
  REQUIRE(slow);
  REQUIRE(*slow);
  CHECK((*slow)->get("value") == 1);
  // Free again.
  auto again = service.run(on("increment", "hot"));
  REQUIRE(again);
  CHECK(again->get("value") == 2);
}

TEST_CASE("one retry policy: synchronous and actor calls make max_retries + 1 "
          "attempts on a record that keeps changing, then give up alike",
          "[pipeline][write_path]") {
  temp_dir dir;
  auto path = dir.file("r.db");
  turn_app t;
  auto rt = runtime::start(t.make(), {.path = path,
                                      .synchronous = sync_mode::normal,
                                      .max_retries = 3});
  REQUIRE(rt);
  auto& service = **rt;
  REQUIRE(service.run("Counter", "create", {{"id", "hot"}}));
  // Another writer changes the record after every read.
  t.interfere = [&] {
    exec_sql(path, "UPDATE counter SET _version = _version + 1 WHERE id = "
                   "'hot'");
  };
  auto sync = service.run(on("contested", "hot"));
  REQUIRE_FALSE(sync);
  CHECK(is(sync.error(), errc::concurrent_modification));
  CHECK(message(sync.error())
        == "Counter.contested: gave up after 4 attempts; the record kept "
           "changing concurrently");
  CHECK(t.attempts == 4);
  t.attempts = 0;
  caf::scoped_actor self{service.system()};
  std::optional<caf::error> failed;
  self->request(actions(service), 60s, run_atom_v, on("contested", "hot"))
    .receive([&](record&) {}, [&](caf::error& err) { failed = err; });
  REQUIRE(failed);
  CHECK(is(*failed, errc::concurrent_modification));
  CHECK(message(*failed) == message(sync.error()));
  CHECK(t.attempts == 4);
  // Nothing of the failed attempts was written.
  t.interfere = nullptr;
  CHECK(query_count(path, "SELECT count(*) FROM events") == 1);
  auto rec = service.get("Counter", "hot");
  REQUIRE(rec);
  CHECK(rec->get("value") == 0);
}

TEST_CASE("a call gives up its record's turn at the commit: the next call "
          "on the record runs while its after_transaction hooks do",
          "[pipeline][write_path]") {
  temp_dir dir;
  turn_app t;
  // Bounded: a turn held through the hooks would time the second call out.
  auto rt = runtime::start(t.make(), {.path = dir.file("h.db"),
                                      .synchronous = sync_mode::normal,
                                      .call_timeout = 5s});
  REQUIRE(rt);
  auto& service = **rt;
  REQUIRE(service.run("Counter", "create", {{"id", "hot"}}));
  SECTION("a synchronous call") {
    auto first = std::async(std::launch::async,
                            [&] { return service.run(on("notify", "hot")); });
    t.notified.wait();
    auto second = service.run(on("increment", "hot"));
    t.go_on.count_down();
    REQUIRE(second);
    CHECK(second->get("value") == 2);
    REQUIRE(first.wait_for(60s) == std::future_status::ready);
    REQUIRE(first.get());
  }
  SECTION("a resource actor's call") {
    caf::scoped_actor self{service.system()};
    self->send(actions(service), run_atom_v, on("notify", "hot"));
    t.notified.wait();
    auto second = service.run(on("increment", "hot"));
    t.go_on.count_down();
    REQUIRE(second);
    CHECK(second->get("value") == 2);
    std::optional<caf::expected<record>> first;
    self->receive([&](record& x) { first = std::move(x); },
                  [&](caf::error& err) { first = std::move(err); },
                  caf::after(60s) >> [&] {});
    REQUIRE(first);
    REQUIRE(*first);
  }
}

} // namespace
