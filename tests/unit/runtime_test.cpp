// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/runtime.hpp"

#include <csignal>
#include <thread>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/settings.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <catch2/catch.hpp>

#include "eventactors/action_actor.hpp"
#include "eventactors/all.hpp"
#include "support/query.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;

namespace {

/// A counter resource: `increment` reads the current value (a change) and
/// writes value + 1.
app counter_app() {
  app a;
  a.add(event_log{"events"})
    .record_id_type(record_id_kind::integer)
    .persist_actor_primary_key("caller", "Caller",
                               {.type = actor_key_kind::integer});
  auto& r = a.add(resource{"Counter"});
  r.primary_key("id", key_kind::integer)
    .attribute("value", types::integer(), {.default_value = 0})
    .attribute("label", types::string());
  r.events("events");
  r.create("create").accept({"label"});
  r.update("increment").change(changes::increment("value"));
  r.update("relabel").accept({"label"});
  r.update("fail_after_write")
    .accept({"label"})
    .after_action("boom", [](hook_context&, const changeset&, record&) {
      return make_error(errc::invalid_input, "boom");
    });
  return a;
}

} // namespace

TEST_CASE("no lost updates: 64 concurrent caller actors increment one "
          "record 200 times each",
          "[runtime][concurrency]") {
  temp_dir dir;
  auto rt = runtime::start(counter_app(), {.path = dir.file("c.db"),
                                           .synchronous = sync_mode::normal});
  REQUIRE(rt);
  auto created = (*rt)->run("Counter", "create", {{"label", "hot"}});
  REQUIRE(created);
  auto id = created->id;
  static constexpr int callers = 64;
  static constexpr int per_caller = 200;
  auto target = actions(**rt);
  auto& sys = (*rt)->system();
  caf::scoped_actor self{sys};
  for (int i = 0; i < callers; ++i) {
    // Each caller sends one increment at a time: the next one once the
    // previous reply arrived.
    sys.spawn([target, id, i, parent = caf::actor{self}](
                caf::event_based_actor* me) -> caf::behavior {
      auto remaining = std::make_shared<int>(per_caller);
      me->send(me, caf::tick_atom_v);
      return {
        [=](caf::tick_atom) {
          call c{"Counter", "increment"};
          c.record_id = id;
          c.actor = actor{"Caller", int64_t{i}};
          me->request(target, std::chrono::seconds{60}, run_atom_v, c)
            .then(
              [=](const record&) {
                if (--*remaining == 0) {
                  me->send(parent, caf::ok_atom_v, i);
                  me->quit();
                } else {
                  me->send(me, caf::tick_atom_v);
                }
              },
              [=](caf::error& err) {
                me->send(parent, caf::delete_atom_v, render(err));
                me->quit();
              });
        },
      };
    });
  }
  int done = 0;
  std::vector<std::string> errors;
  for (int i = 0; i < callers; ++i)
    self->receive([&](caf::ok_atom, int) { ++done; },
                  [&](caf::delete_atom, const std::string& what) {
                    errors.push_back(what);
                  },
                  caf::after(std::chrono::seconds{120}) >> [&] {
                    errors.push_back("timeout");
                  });
  CHECK(errors.empty());
  CHECK(done == callers);
  auto final_rec = (*rt)->get("Counter", id);
  REQUIRE(final_rec);
  CHECK(final_rec->get("value") == callers * per_caller);
  // Exactly one update event per increment, in an order consistent with the
  // values: the n-th increment event wrote n.
  int64_t expected = 0;
  int64_t updates = 0;
  event_filter f;
  f.action = "increment";
  auto err = (*rt)->for_each_event(f, [&](const event& ev) {
    ++updates;
    ++expected;
    CHECK(ev.changed_attributes.at("value") == expected);
    return true;
  });
  CHECK(!err);
  CHECK(updates == callers * per_caller);
}

TEST_CASE("durability: an acknowledged action survives kill -9 of the "
          "writer process",
          "[runtime][durability]") {
  temp_dir dir;
  auto path = dir.file("d.db");
  for (auto mode : {sync_mode::normal, sync_mode::full}) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    auto pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // Child: the writer. Reports the acknowledged event id, then waits to
      // be killed; it never shuts the runtime down cleanly.
      ::close(fds[0]);
      auto rt = runtime::start(counter_app(),
                               {.path = path, .synchronous = mode});
      if (!rt)
        ::_exit(2);
      auto rec = (*rt)->run("Counter", "create", {{"label", "durable"}});
      if (!rec)
        ::_exit(3);
      auto id = rec->event_id.as_int64();
      if (::write(fds[1], &id, sizeof(id)) != sizeof(id))
        ::_exit(4);
      for (;;)
        ::pause();
    }
    ::close(fds[1]);
    int64_t acked = 0;
    // Bounded: a child that hangs (or dies before writing) fails the test
    // instead of blocking the suite.
    ::pollfd ready{fds[0], POLLIN, 0};
    auto n = ::poll(&ready, 1, 120'000) == 1
               ? ::read(fds[0], &acked, sizeof(acked))
               : ssize_t{-1};
    ::close(fds[0]);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(n == sizeof(acked));
    CHECK(WIFSIGNALED(status));
    // A new process (this one, with a fresh connection) sees the event and
    // its record.
    CHECK(query_count(path, "SELECT count(*) FROM events WHERE id = "
                              + std::to_string(acked))
          == 1);
    CHECK(query_count(path,
                      "SELECT count(*) FROM counter WHERE label = 'durable'")
          >= 1);
  }
  // And a runtime restarted on the file keeps appending with larger ids.
  auto rt = runtime::start(counter_app(), {.path = path});
  REQUIRE(rt);
  auto rec = (*rt)->run("Counter", "create", {{"label", "after"}});
  REQUIRE(rec);
  CHECK(rec->event_id.as_int64() == 3);
  CHECK(rec->id.as_int64() == 3);
}

TEST_CASE("the asynchronous API answers requests from other actors",
          "[runtime][async]") {
  temp_dir dir;
  auto rt = runtime::start(counter_app(), {.path = dir.file("a.db")});
  REQUIRE(rt);
  caf::scoped_actor self{(*rt)->system()};
  auto target = actions(**rt);
  record created;
  self
    ->request(target, std::chrono::seconds{10}, run_atom_v,
              call{"Counter", "create", {{"label", "x"}}})
    .receive([&](record& r) { created = std::move(r); },
             [&](caf::error& err) { FAIL(render(err)); });
  CHECK(created.get("label") == "x");
  CHECK(created.event_id == 1);
  SECTION("errors arrive as caf::error of our category") {
    caf::error got;
    self
      ->request(target, std::chrono::seconds{10}, run_atom_v,
                call{"Nope", "create"})
      .receive([&](record&) { FAIL("expected an error"); },
               [&](caf::error& err) { got = std::move(err); });
    CHECK(is(got, errc::unknown_resource));
    CHECK(message(got).find("Nope") != std::string::npos);
  }
  SECTION("batches") {
    batch_call b{"Counter", "create"};
    b.items.push_back({{{"label", "a"}}, nullptr});
    b.items.push_back({{{"label", "b"}}, nullptr});
    batch_result got;
    self->request(target, std::chrono::seconds{10}, run_batch_atom_v, b)
      .receive([&](batch_result& r) { got = std::move(r); },
               [&](caf::error& err) { FAIL(render(err)); });
    REQUIRE(got.records.size() == 2);
    CHECK(!got.errors[0]);
    CHECK(!got.errors[1]);
    CHECK(got.records[0].get("label") == "a");
    CHECK(got.records[1].get("label") == "b");
  }
}

TEST_CASE("group commit: a failing unit does not take the units committed "
          "with it down",
          "[runtime][group_commit]") {
  temp_dir dir;
  auto rt = runtime::start(counter_app(), {.path = dir.file("g.db"),
                                           .synchronous = sync_mode::normal});
  REQUIRE(rt);
  auto first = (*rt)->run("Counter", "create", {{"label", "a"}});
  REQUIRE(first);
  // Many concurrent calls from plain threads: creates that succeed, and
  // updates that fail (in an after_action hook) or conflict, all landing in
  // the same transactions.
  constexpr int threads = 8;
  constexpr int per_thread = 50;
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        if (i % 2 == 0) {
          auto r = (*rt)->run("Counter", "create",
                              {{"label", "t" + std::to_string(t)}});
          (r ? ok : failed)++;
        } else {
          call c{"Counter", "fail_after_write", {{"label", "bad"}}};
          c.record_id = first->id;
          auto r = (*rt)->run(c);
          if (r || !is(r.error(), errc::invalid_input))
            failed += 1000; // must never succeed
        }
      }
    });
  for (auto& w : workers)
    w.join();
  CHECK(failed == 0);
  CHECK(ok == threads * per_thread / 2);
  auto path = dir.file("g.db");
  CHECK(query_count(path, "SELECT count(*) FROM counter") == 1 + ok);
  CHECK(query_count(path, "SELECT count(*) FROM events") == 1 + ok);
  CHECK(query_count(path, "SELECT count(*) FROM counter WHERE label = 'bad'")
        == 0);
}

TEST_CASE("events can be filtered and paged", "[runtime][events]") {
  temp_dir dir;
  auto rt = runtime::start(counter_app(),
                           {.path = dir.file("e.db"),
                            .env = environment::deterministic(
                              7, timestamp{std::chrono::seconds{1000}},
                              std::chrono::seconds{1})});
  REQUIRE(rt);
  std::vector<json::value> ids;
  for (int i = 0; i < 5; ++i) {
    call c{"Counter", "create", {{"label", "n" + std::to_string(i)}}};
    c.actor = actor{"Caller", int64_t{i % 2}};
    auto r = (*rt)->run(c);
    REQUIRE(r);
    ids.push_back(r->id);
  }
  for (int i = 0; i < 3; ++i) {
    call c{"Counter", "increment"};
    c.record_id = ids[0];
    REQUIRE((*rt)->run(c));
  }
  auto page = [&](event_filter f) {
    auto p = (*rt)->events(f);
    REQUIRE(p);
    std::vector<int64_t> result;
    for (auto& ev : p->events)
      result.push_back(ev.id.as_int64());
    return result;
  };
  using ids_t = std::vector<int64_t>;
  CHECK(page({}) == ids_t{1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(page({.action = "increment"}) == ids_t{6, 7, 8});
  CHECK(page({.record_id = ids[0]}) == ids_t{1, 6, 7, 8});
  CHECK(page({.actor = std::pair{std::string{"caller"}, json::value(1)}})
        == ids_t{2, 4});
  CHECK(page({.from_id = 3, .to_id = 5}) == ids_t{3, 4, 5});
  CHECK(page({.descending = true, .limit = 3}) == ids_t{8, 7, 6});
  // The clock advances one second per action: events 2..4 happened at
  // 1001..1003 s.
  CHECK(page({.from_time = timestamp{std::chrono::seconds{1001}},
              .to_time = timestamp{std::chrono::seconds{1003}}})
        == ids_t{2, 3, 4});
  // Paging with a cursor visits everything once.
  event_filter f;
  f.limit = 3;
  ids_t all;
  for (;;) {
    auto p = (*rt)->events(f);
    REQUIRE(p);
    for (auto& ev : p->events)
      all.push_back(ev.id.as_int64());
    if (p->next_after_id.is_null())
      break;
    f.after_id = p->next_after_id;
  }
  CHECK(all == ids_t{1, 2, 3, 4, 5, 6, 7, 8});
  SECTION("an unknown actor column is an error naming it") {
    auto p = (*rt)->events(
      {.actor = std::pair{std::string{"nope"}, json::value(1)}});
    REQUIRE(!p);
    CHECK(is(p.error(), errc::invalid_input));
    CHECK(message(p.error()).find("nope") != std::string::npos);
  }
}

TEST_CASE("reads: get and list", "[runtime][reads]") {
  temp_dir dir;
  auto rt = runtime::start(counter_app(), {.path = dir.file("r.db")});
  REQUIRE(rt);
  for (int i = 0; i < 5; ++i)
    REQUIRE((*rt)->run("Counter", "create",
                       {{"label", "n" + std::to_string(i)}}));
  auto xs = (*rt)->list("Counter", {.limit = 2, .offset = 1});
  REQUIRE(xs);
  REQUIRE(xs->size() == 2);
  CHECK((*xs)[0].get("label") == "n1");
  CHECK((*xs)[1].get("label") == "n2");
  auto one = (*rt)->get("Counter", 3);
  REQUIRE(one);
  CHECK(one->get("label") == "n2");
  auto missing = (*rt)->get("Counter", 42);
  REQUIRE(!missing);
  CHECK(is(missing.error(), errc::not_found));
  auto bad = (*rt)->get("Counter", "abc");
  REQUIRE(!bad);
  CHECK(is(bad.error(), errc::invalid_input));
  auto unknown = (*rt)->list("Nope");
  REQUIRE(!unknown);
  CHECK(is(unknown.error(), errc::unknown_resource));
}

TEST_CASE("config/eventactors.ini documents exactly the defaults",
          "[runtime][config]") {
  caf::actor_system_config cfg;
  auto err = cfg.parse(caf::actor_system_config::string_list{},
                       EVENTACTORS_SOURCE_DIR "/config/eventactors.ini");
  REQUIRE(!err);
  auto opts = read_options(caf::content(cfg));
  REQUIRE(opts);
  runtime_options defaults;
  CHECK(opts->path == defaults.path);
  CHECK(opts->synchronous == defaults.synchronous);
  CHECK(opts->max_batch == defaults.max_batch);
  CHECK(opts->max_input_bytes == defaults.max_input_bytes);
  CHECK(opts->call_timeout == defaults.call_timeout);
  CHECK(opts->max_hook_depth == defaults.max_hook_depth);
  CHECK(opts->max_retries == defaults.max_retries);
  CHECK(opts->cache_kib == defaults.cache_kib);
  CHECK(opts->checkpoint_pages == defaults.checkpoint_pages);
  CHECK(opts->threads == defaults.threads);
  // Every key of the section is one read_options knows (it rejects others).
  SECTION("bad values are errors naming the key") {
    caf::settings bad;
    caf::put(bad, "eventactors.synchronous", "sometimes");
    auto r = read_options(bad);
    REQUIRE(!r);
    CHECK(message(r.error()).find("eventactors.synchronous")
          != std::string::npos);
    caf::settings unknown;
    caf::put(unknown, "eventactors.max-batchh", 3);
    auto u = read_options(unknown);
    REQUIRE(!u);
    CHECK(message(u.error()).find("max-batchh") != std::string::npos);
  }
}

TEST_CASE("4.16 field visibility: public_view exposes only the public event "
          "fields",
          "[runtime][visibility]") {
  temp_dir dir;
  app a;
  a.add(event_log{"hidden"}).record_id_type(record_id_kind::integer);
  a.add(event_log{"listed"})
    .record_id_type(record_id_kind::integer)
    .public_fields({"id", "version", "who"})
    .persist_actor_primary_key("who", "Caller",
                               {.type = actor_key_kind::integer});
  a.add(event_log{"open"})
    .record_id_type(record_id_kind::integer)
    .all_fields_public();
  for (auto log : {"hidden", "listed", "open"}) {
    auto& r = a.add(resource{std::string{"Thing_"} + log});
    r.primary_key("id", key_kind::integer).attribute("x", types::integer());
    r.events(log);
    r.create("create").accept({"x"});
  }
  auto rt = runtime::start(a, {.path = dir.file("v.db")});
  REQUIRE(rt);
  auto view = [&](const std::string& log) {
    call c{"Thing_" + log, "create", {{"x", 1}}};
    c.actor = actor{"Caller", 7};
    REQUIRE((*rt)->run(c));
    auto page = (*rt)->events({.log = log});
    REQUIRE(page);
    REQUIRE(page->events.size() == 1);
    return (*rt)->public_view(page->events[0]);
  };
  CHECK(view("hidden").empty());
  CHECK(view("listed") == json::object{{"id", 1}, {"version", 1}, {"who", 7}});
  auto all = view("open");
  for (auto field : {"id", "resource", "record_id", "action", "action_type",
                     "data", "changed_attributes", "metadata", "version",
                     "occurred_at"})
    CHECK(all.contains(field));
  CHECK(all.at("data") == json::object{{"x", 1}});
}

TEST_CASE("stop: calls in flight either commit or fail with runtime_stopped, "
          "none hangs and nothing acknowledged is lost",
          "[runtime][stop]") {
  temp_dir dir;
  auto path = dir.file("s.db");
  auto rt = runtime::start(counter_app(),
                           {.path = path,
                            .synchronous = sync_mode::normal,
                            .call_timeout = std::chrono::seconds{60}});
  REQUIRE(rt);
  std::atomic<int> ok{0};
  std::atomic<int> stopped{0};
  std::atomic<int> other{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t)
    workers.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) {
        auto r = (*rt)->run("Counter", "create", {{"label", "w"}});
        if (r) {
          ++ok;
        } else if (is(r.error(), errc::runtime_stopped)) {
          ++stopped;
          return;
        } else {
          ++other;
          return;
        }
      }
    });
  // Stop while the workers are busy (bounded wait for some progress).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
  while (ok < 200 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  (*rt)->stop();
  for (auto& w : workers)
    w.join();
  CHECK(other == 0);
  CHECK(stopped == 4);
  CHECK(ok >= 200);
  // Every acknowledged create is there, with its event.
  CHECK(query_count(path, "SELECT count(*) FROM counter") == ok);
  CHECK(query_count(path, "SELECT count(*) FROM events") == ok);
  // Reads still work; actions do not.
  CHECK((*rt)->list("Counter", {.limit = 100000})->size()
        == static_cast<size_t>(ok));
  auto after = (*rt)->run("Counter", "create", {{"label", "late"}});
  REQUIRE(!after);
  CHECK(is(after.error(), errc::runtime_stopped));
}
