// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Idempotency keys: a call repeating the key of a committed call gets the
// original result and runs nothing; the key is stored in the transaction of
// the call's events, so it survives restarts and kill -9; calls with one key
// run one at a time; failed calls store nothing; keys expire.

#include "write/idempotency.hpp"

#include <atomic>
#include <csignal>
#include <memory>
#include <thread>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/settings.hpp>

#include <catch2/catch.hpp>

#include "eventactors/action_actor.hpp"
#include "eventactors/all.hpp"
#include "model/model.hpp"
#include "storage/storage.hpp"
#include "support/query.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;
using Catch::Matchers::Contains;

namespace {

/// While set, `Counter.create_flaky` fails after its write (nothing is
/// committed).
std::atomic<bool> flaky_fails{false};

/// How often `Counter.create_counted` ran (committed or not).
std::atomic<int> counted_runs{0};

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
  r.create("create").accept({"label", "value"});
  r.update("increment").change(changes::increment("value"));
  r.create("create_counted")
    .accept({"label"})
    .before_action("count", [](hook_context&, changeset&) {
      ++counted_runs;
      return caf::error{};
    });
  r.create("create_flaky")
    .accept({"label"})
    .after_action("flaky", [](hook_context&, const changeset&, record&) {
      if (flaky_fails)
        return make_error(errc::invalid_input, "flaky: failing on purpose");
      return caf::error{};
    });
  return a;
}

std::unique_ptr<runtime> start(const std::string& path,
                               runtime_options opts = {}) {
  opts.path = path;
  if (opts.synchronous == sync_mode::full)
    opts.synchronous = sync_mode::normal;
  auto rt = runtime::start(counter_app(), std::move(opts));
  REQUIRE(rt);
  return std::move(*rt);
}

call keyed(std::string action, json::object input, std::string key,
           json::value record_id = nullptr) {
  call c{"Counter", std::move(action), std::move(input),
         std::move(record_id)};
  c.idempotency_key = std::move(key);
  return c;
}

int64_t events(const std::string& path) {
  return query_count(path, "SELECT count(*) FROM events");
}

int64_t keys(const std::string& path) {
  return count_rows(path, "eventactors_idempotency");
}

/// A clock the test sets, starting at 2026-01-01.
struct test_clock {
  std::shared_ptr<std::atomic<int64_t>> us
    = std::make_shared<std::atomic<int64_t>>(int64_t{1'767'225'600}
                                             * 1'000'000);

  environment env() const {
    auto result = environment::system();
    auto now = us;
    result.clock = [now] {
      return timestamp{std::chrono::microseconds{now->load()}};
    };
    return result;
  }

  void advance(std::chrono::seconds s) const {
    *us += s.count() * 1'000'000;
  }
};

} // namespace

TEST_CASE("idempotency: a repeated key returns the original result and "
          "writes no event",
          "[idempotency]") {
  temp_dir dir;
  for (auto mode : {sync_mode::normal, sync_mode::full}) {
    auto path = dir.file(mode == sync_mode::full ? "full.db" : "normal.db");
    runtime_options opts;
    opts.path = path;
    opts.synchronous = mode;
    auto started = runtime::start(counter_app(), opts);
    REQUIRE(started);
    auto& rt = **started;
    auto first = rt.run(keyed("create", {{"label", "a"}}, "create-1"));
    REQUIRE(first);
    CHECK(events(path) == 1);
    auto again = rt.run(keyed("create", {{"label", "a"}}, "create-1"));
    REQUIRE(again);
    CHECK(*again == *first);
    CHECK(events(path) == 1);
    CHECK(rt.list("Counter")->size() == 1);
    // An update: the repeat answers with the record as it was returned,
    // not as it is now.
    auto inc = rt.run(keyed("increment", {}, "inc-1", first->id));
    REQUIRE(inc);
    CHECK(inc->get("value") == 1);
    auto plain = rt.run(call{"Counter", "increment", {}, first->id});
    REQUIRE(plain);
    CHECK(plain->get("value") == 2);
    auto inc_again = rt.run(keyed("increment", {}, "inc-1", first->id));
    REQUIRE(inc_again);
    CHECK(*inc_again == *inc);
    CHECK(inc_again->get("value") == 1);
    CHECK(!inc_again->event_id.is_null());
    CHECK(rt.get("Counter", first->id)->get("value") == 2);
    CHECK(events(path) == 3);
    CHECK(keys(path) == 2);
    // The same request with its input's keys in another order is the same
    // request.
    auto two = rt.run(keyed("create", {{"label", "b"}, {"value", 5}}, "k2"));
    REQUIRE(two);
    auto swapped
      = rt.run(keyed("create", {{"value", 5}, {"label", "b"}}, "k2"));
    REQUIRE(swapped);
    CHECK(*swapped == *two);
    CHECK(events(path) == 4);
    // Calls without a key store none.
    REQUIRE(rt.run(call{"Counter", "create", {{"label", "plain"}}}));
    CHECK(keys(path) == 3);
  }
}

TEST_CASE("idempotency: the same key with another request is a conflict "
          "naming the key",
          "[idempotency]") {
  temp_dir dir;
  auto path = dir.file("c.db");
  auto rt = start(path);
  auto first = rt->run(keyed("create", {{"label", "a"}}, "order-17"));
  REQUIRE(first);
  auto other_id = rt->run(call{"Counter", "create", {{"label", "b"}}});
  REQUIRE(other_id);
  auto before = events(path);
  std::vector<std::pair<std::string, call>> variants{
    {"another input", keyed("create", {{"label", "z"}}, "order-17")},
    {"another action", keyed("create_flaky", {{"label", "a"}}, "order-17")},
    {"a record id", keyed("increment", {}, "order-17", first->id)},
  };
  auto actor_call = keyed("create", {{"label", "a"}}, "order-17");
  actor_call.actor = actor{"Caller", int64_t{3}};
  variants.emplace_back("another actor", actor_call);
  for (auto& [what, c] : variants) {
    INFO(what);
    auto r = rt->run(c);
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), errc::conflict));
    CHECK_THAT(message(r.error()), Contains("order-17"));
    CHECK_THAT(message(r.error()), Contains("Counter.create"));
  }
  // Another record id on the key of an update.
  REQUIRE(rt->run(keyed("increment", {}, "inc", first->id)));
  auto wrong = rt->run(keyed("increment", {}, "inc", other_id->id));
  REQUIRE_FALSE(wrong);
  CHECK(is(wrong.error(), errc::conflict));
  CHECK(events(path) == before + 1);
  CHECK(rt->get("Counter", other_id->id)->get("value") == 0);
  // Metadata is not part of the request: a retry may carry other metadata.
  auto meta = keyed("create", {{"label", "a"}}, "order-17");
  meta.metadata = {{"attempt", 2}};
  auto same = rt->run(meta);
  REQUIRE(same);
  CHECK(*same == *first);
}

TEST_CASE("idempotency: a failed call stores no key, so its retry runs",
          "[idempotency]") {
  temp_dir dir;
  auto path = dir.file("f.db");
  auto rt = start(path);
  auto c = keyed("create_flaky", {{"label", "x"}}, "flaky-1");
  flaky_fails = true;
  auto failed = rt->run(c);
  flaky_fails = false;
  REQUIRE_FALSE(failed);
  CHECK(events(path) == 0);
  CHECK(keys(path) == 0);
  auto ok = rt->run(c);
  REQUIRE(ok);
  CHECK(events(path) == 1);
  CHECK(keys(path) == 1);
  auto again = rt->run(c);
  REQUIRE(again);
  CHECK(*again == *ok);
  CHECK(events(path) == 1);
  // Invalid input fails before anything runs: no key either.
  auto bad = rt->run(keyed("create", {{"label", 5}}, "bad-input"));
  REQUIRE_FALSE(bad);
  CHECK(keys(path) == 1);
}

TEST_CASE("idempotency: keys expire after the retention and are removed "
          "lazily",
          "[idempotency]") {
  temp_dir dir;
  auto path = dir.file("e.db");
  test_clock clock;
  runtime_options opts;
  opts.env = clock.env();
  opts.idempotency_retention = std::chrono::seconds{60};
  auto rt = start(path, opts);
  auto first = rt->run(keyed("create", {{"label", "a"}}, "exp"));
  REQUIRE(first);
  REQUIRE(rt->run(keyed("create", {{"label", "b"}}, "old-1")));
  REQUIRE(rt->run(keyed("create", {{"label", "c"}}, "old-2")));
  CHECK(keys(path) == 3);
  clock.advance(std::chrono::seconds{59});
  auto within = rt->run(keyed("create", {{"label", "a"}}, "exp"));
  REQUIRE(within);
  CHECK(*within == *first);
  CHECK(events(path) == 3);
  // Past the retention the key is unknown: the call runs again, and its
  // new entry replaces the expired one.
  clock.advance(std::chrono::seconds{2});
  auto expired = rt->run(keyed("create", {{"label", "a"}}, "exp"));
  REQUIRE(expired);
  CHECK(expired->id != first->id);
  CHECK(events(path) == 4);
  // Writing it removed the other expired keys.
  CHECK(keys(path) == 1);
  // An expired key may be reused for another request.
  clock.advance(std::chrono::seconds{61});
  auto reused = rt->run(keyed("create", {{"label", "new"}}, "exp"));
  REQUIRE(reused);
  CHECK(reused->get_string("label") == "new");
  CHECK(keys(path) == 1);
}

TEST_CASE("idempotency: a key survives a restart of the runtime",
          "[idempotency]") {
  temp_dir dir;
  auto path = dir.file("r.db");
  auto c = keyed("create", {{"label", "a"}}, "restart");
  record first;
  {
    auto rt = start(path);
    auto r = rt->run(c);
    REQUIRE(r);
    first = *r;
  }
  auto rt = start(path);
  auto again = rt->run(c);
  REQUIRE(again);
  CHECK(*again == first);
  CHECK(events(path) == 1);
  // Replay and fork leave the keys alone; a fork starts without any.
  REQUIRE(rt->replay());
  auto after_replay = rt->run(c);
  REQUIRE(after_replay);
  CHECK(*after_replay == first);
  CHECK(events(path) == 1);
  auto fork_path = dir.file("fork.db");
  REQUIRE(rt->fork(replay_request{}, fork_path));
  CHECK(keys(path) == 1);
  CHECK(keys(fork_path) == 0);
}

TEST_CASE("idempotency: a key survives kill -9 of the process right after "
          "the call returned",
          "[idempotency][durability]") {
  temp_dir dir;
  for (auto mode : {sync_mode::normal, sync_mode::full}) {
    auto path = dir.file(mode == sync_mode::full ? "k-full.db"
                                                 : "k-normal.db");
    auto c = keyed("create", {{"label", "durable"}}, "kill-9");
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    auto pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // Child: reports the acknowledged event id, then waits to be killed.
      ::close(fds[0]);
      runtime_options opts;
      opts.path = path;
      opts.synchronous = mode;
      auto rt = runtime::start(counter_app(), opts);
      if (!rt)
        ::_exit(2);
      auto rec = (*rt)->run(c);
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
    CHECK(keys(path) == 1);
    runtime_options opts;
    opts.synchronous = mode;
    opts.path = path;
    auto rt = runtime::start(counter_app(), opts);
    REQUIRE(rt);
    auto again = (*rt)->run(c);
    REQUIRE(again);
    CHECK(again->event_id.as_int64() == acked);
    CHECK(again->get_string("label") == "durable");
    CHECK(events(path) == 1);
  }
}

TEST_CASE("idempotency: concurrent calls with one key run the action once",
          "[idempotency][concurrency]") {
  temp_dir dir;
  auto path = dir.file("cc.db");
  auto rt = start(path);
  auto counter = rt->run(call{"Counter", "create", {{"label", "hot"}}});
  REQUIRE(counter);
  constexpr int threads = 8;
  counted_runs = 0;
  for (auto c : {keyed("create_counted", {{"label", "once"}}, "same-create"),
                 keyed("increment", {}, "same-inc", counter->id)}) {
    INFO(c.action);
    auto before = events(path);
    std::vector<caf::expected<record>> results(threads,
                                               caf::expected<record>{
                                                 caf::error{}});
    std::atomic<int> ready{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < threads; ++i)
      ts.emplace_back([&, i] {
        ++ready;
        while (ready.load() < threads)
          std::this_thread::yield();
        results[i] = rt->run(c);
      });
    for (auto& t : ts)
      t.join();
    for (auto& r : results) {
      REQUIRE(r);
      CHECK(*r == *results.front());
    }
    CHECK(events(path) == before + 1);
  }
  // Not only committed once: the action ran once (the others waited for
  // the key and found its result).
  CHECK(counted_runs == 1);
  CHECK(rt->get("Counter", counter->id)->get("value") == 1);
}

TEST_CASE("idempotency: the asynchronous interface honours keys, also for "
          "concurrent callers",
          "[idempotency][async]") {
  temp_dir dir;
  auto path = dir.file("a.db");
  auto rt = start(path);
  auto& sys = rt->system();
  auto target = actions(*rt);
  caf::scoped_actor self{sys};
  auto ask = [&](const call& c) {
    caf::expected<record> result{caf::error{}};
    self->request(target, std::chrono::seconds{30}, run_atom_v, c)
      .receive([&](record& r) { result = std::move(r); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  };
  auto first = ask(keyed("create", {{"label", "async"}}, "async-1"));
  REQUIRE(first);
  auto again = ask(keyed("create", {{"label", "async"}}, "async-1"));
  REQUIRE(again);
  CHECK(*again == *first);
  CHECK(events(path) == 1);
  // The synchronous interface finds what the asynchronous one stored.
  auto sync = rt->run(keyed("create", {{"label", "async"}}, "async-1"));
  REQUIRE(sync);
  CHECK(*sync == *first);
  auto conflict = ask(keyed("create", {{"label", "other"}}, "async-1"));
  REQUIRE_FALSE(conflict);
  CHECK(is(conflict.error(), errc::conflict));
  // Eight caller actors send the same keyed increment at once.
  constexpr int callers = 8;
  auto c = keyed("increment", {}, "async-inc", first->id);
  for (int i = 0; i < callers; ++i)
    sys.spawn([target, c, parent = caf::actor{self}](
                caf::event_based_actor* me) -> caf::behavior {
      me->request(target, std::chrono::seconds{60}, run_atom_v, c)
        .then(
          [=](const record& r) {
            me->send(parent, caf::ok_atom_v, r.get("value").as_int64());
            me->quit();
          },
          [=](caf::error& err) {
            me->send(parent, caf::delete_atom_v, render(err));
            me->quit();
          });
      return {[](caf::tick_atom) {}};
    });
  std::vector<int64_t> values;
  std::vector<std::string> errors;
  for (int i = 0; i < callers; ++i)
    self->receive([&](caf::ok_atom, int64_t v) { values.push_back(v); },
                  [&](caf::delete_atom, const std::string& what) {
                    errors.push_back(what);
                  },
                  caf::after(std::chrono::seconds{60}) >> [&] {
                    errors.push_back("timeout");
                  });
  CHECK(errors.empty());
  CHECK(values == std::vector<int64_t>(callers, 1));
  CHECK(events(path) == 2);
  CHECK(rt->get("Counter", first->id)->get("value") == 1);
}

TEST_CASE("idempotency: batches store their result with the key",
          "[idempotency][batch]") {
  temp_dir dir;
  auto path = dir.file("b.db");
  auto rt = start(path);
  SECTION("a batch whose items succeed or fail on their own") {
    batch_call b{"Counter", "create",
                 {{{{"label", "one"}}, nullptr},
                  {{{"label", 7}}, nullptr},
                  {{{"label", "three"}}, nullptr}}};
    b.idempotency_key = "batch-1";
    auto first = rt->run_batch(b);
    REQUIRE(first.size() == 3);
    REQUIRE(first[0]);
    REQUIRE_FALSE(first[1]);
    REQUIRE(first[2]);
    CHECK(events(path) == 2);
    CHECK(first[0]->event_id != first[2]->event_id);
    auto again = rt->run_batch(b);
    REQUIRE(again.size() == 3);
    CHECK(*again[0] == *first[0]);
    REQUIRE_FALSE(again[1]);
    CHECK(is(again[1].error(), errc::invalid_input));
    CHECK(message(again[1].error()) == message(first[1].error()));
    CHECK(field_errors(again[1].error()) == field_errors(first[1].error()));
    CHECK(*again[2] == *first[2]);
    CHECK(events(path) == 2);
    // Through the asynchronous interface too.
    caf::scoped_actor self{rt->system()};
    batch_result async;
    self->request(actions(*rt), std::chrono::seconds{30}, run_batch_atom_v, b)
      .receive([&](batch_result& r) { async = std::move(r); },
               [&](caf::error& err) { FAIL(render(err)); });
    REQUIRE(async.records.size() == 3);
    CHECK(async.records[0] == *first[0]);
    CHECK(async.records[2] == *first[2]);
    CHECK(is(async.errors[1], errc::invalid_input));
    CHECK(events(path) == 2);
    // A single call may not reuse a batch's key.
    auto single = rt->run(keyed("create", {{"label", "one"}}, "batch-1"));
    REQUIRE_FALSE(single);
    CHECK(is(single.error(), errc::conflict));
  }
  SECTION("an atomic batch") {
    batch_call b{"Counter", "create",
                 {{{{"label", "one"}}, nullptr}, {{{"label", "two"}}, nullptr}}};
    b.atomic = true;
    b.idempotency_key = "atomic-1";
    auto first = rt->run_batch(b);
    REQUIRE(first.size() == 2);
    REQUIRE(first[0]);
    REQUIRE(first[1]);
    auto again = rt->run_batch(b);
    CHECK(*again[0] == *first[0]);
    CHECK(*again[1] == *first[1]);
    CHECK(events(path) == 2);
    // A failing atomic batch stores nothing.
    batch_call bad{"Counter", "create",
                   {{{{"label", "ok"}}, nullptr}, {{{"label", 1}}, nullptr}}};
    bad.atomic = true;
    bad.idempotency_key = "atomic-bad";
    auto failed = rt->run_batch(bad);
    REQUIRE_FALSE(failed[0]);
    CHECK(events(path) == 2);
    CHECK(keys(path) == 1);
  }
}

TEST_CASE("idempotency: invalid keys are refused, naming the field",
          "[idempotency]") {
  temp_dir dir;
  auto path = dir.file("i.db");
  auto rt = start(path);
  caf::scoped_actor self{rt->system()};
  auto check_refused = [&](const caf::error& err) {
    CHECK(is(err, errc::invalid_input));
    CHECK_THAT(message(err), Contains("idempotency_key"));
    auto fields = field_errors(err);
    REQUIRE(fields.size() == 1);
    CHECK(fields[0].field == "idempotency_key");
  };
  for (std::string key : {std::string{}, std::string(129, 'k'),
                          std::string{"tab\there"}, std::string{"new\nline"},
                          std::string{"caf\xc3\xa9"}, std::string{"del\x7f"},
                          std::string{"nul\0x", 5}}) {
    INFO("key of " << key.size() << " bytes");
    auto r = rt->run(keyed("create", {{"label", "a"}}, key));
    REQUIRE_FALSE(r);
    check_refused(r.error());
    batch_call b{"Counter", "create", {{{{"label", "a"}}, nullptr}}};
    b.idempotency_key = key;
    auto rb = rt->run_batch(b);
    REQUIRE(rb.size() == 1);
    REQUIRE_FALSE(rb[0]);
    check_refused(rb[0].error());
    self
      ->request(actions(*rt), std::chrono::seconds{30}, run_atom_v,
                keyed("create", {{"label", "a"}}, key))
      .receive([&](record&) { FAIL("accepted"); },
               [&](caf::error& err) { check_refused(err); });
  }
  CHECK(events(path) == 0);
  CHECK(keys(path) == 0);
  // The limits themselves are accepted.
  REQUIRE(rt->run(keyed("create", {{"label", "a"}}, std::string(128, '~'))));
  REQUIRE(rt->run(keyed("create", {{"label", "a"}}, " ")));
  CHECK(keys(path) == 2);
}

TEST_CASE("idempotency: a database of the previous storage format is "
          "migrated",
          "[idempotency][migration]") {
  temp_dir dir;
  auto path = dir.file("m.db");
  record old;
  {
    auto rt = start(path);
    auto r = rt->run(call{"Counter", "create", {{"label", "old"}}});
    REQUIRE(r);
    old = *r;
  }
  {
    // Format 1: the same file without the idempotency table.
    connection db{path, true};
    REQUIRE(sqlite3_exec(db.get(),
                         "DROP TABLE eventactors_idempotency; "
                         "PRAGMA user_version = 1",
                         nullptr, nullptr, nullptr)
            == SQLITE_OK);
  }
  REQUIRE(query_int(path, "PRAGMA user_version") == 1);
  REQUIRE(keys(path) == -1);
  {
    // A read-only start reads it as it is.
    runtime_options ro;
    ro.path = path;
    ro.read_only = true;
    auto rt = runtime::start(counter_app(), ro);
    REQUIRE(rt);
    CHECK((*rt)->get("Counter", old.id));
    CHECK(query_int(path, "PRAGMA user_version") == 1);
  }
  auto rt = start(path);
  CHECK(query_int(path, "PRAGMA user_version") == 2);
  CHECK(keys(path) == 0);
  auto kept = rt->get("Counter", old.id);
  REQUIRE(kept);
  CHECK(kept->get_string("label") == "old");
  auto c = keyed("create", {{"label", "new"}}, "after-migration");
  auto first = rt->run(c);
  REQUIRE(first);
  auto again = rt->run(c);
  REQUIRE(again);
  CHECK(*again == *first);
  CHECK(events(path) == 2);
}

TEST_CASE("idempotency: the key crosses serialization with the call",
          "[idempotency]") {
  caf::actor_system_config cfg;
  init(cfg);
  caf::actor_system sys{cfg};
  auto c = keyed("create", {{"label", "a"}}, "wire-key");
  c.actor = actor{"Caller", int64_t{4}};
  batch_call b{"Counter", "create", {{{{"label", "b"}}, nullptr}}};
  b.idempotency_key = "batch-key";
  for (auto key : {true, false}) {
    if (!key) {
      c.idempotency_key.reset();
      b.idempotency_key.reset();
    }
    caf::binary_serializer::container_type buf;
    caf::binary_serializer sink{sys, buf};
    REQUIRE(!sink(c, b));
    call c2;
    batch_call b2;
    caf::binary_deserializer source{sys, buf};
    REQUIRE(!source(c2, b2));
    CHECK(c2 == c);
    CHECK(b2 == b);
  }
}

TEST_CASE("idempotency: the retention is a setting with a documented default",
          "[idempotency][config]") {
  CHECK(runtime_options{}.idempotency_retention == std::chrono::hours{24});
  caf::actor_system_config cfg;
  auto err = cfg.parse(caf::actor_system_config::string_list{},
                       EVENTACTORS_SOURCE_DIR "/config/eventactors.ini");
  REQUIRE(!err);
  auto opts = read_options(caf::content(cfg));
  REQUIRE(opts);
  CHECK(opts->idempotency_retention
        == runtime_options{}.idempotency_retention);
  caf::settings s;
  caf::put(s, "eventactors.idempotency-retention", 0);
  auto bad = read_options(s);
  REQUIRE_FALSE(bad);
  CHECK_THAT(message(bad.error()), Contains("idempotency-retention"));
  caf::settings ok;
  caf::put(ok, "eventactors.idempotency-retention", 90);
  auto good = read_options(ok);
  REQUIRE(good);
  CHECK(good->idempotency_retention == std::chrono::seconds{90});
}

TEST_CASE("idempotency: keys are checked and hashed canonically",
          "[idempotency]") {
  CHECK(!idempotency::check_key("a", "X.y"));
  CHECK(!idempotency::check_key(std::string(128, 'a'), "X.y"));
  CHECK(idempotency::check_key(std::string(129, 'a'), "X.y"));
  CHECK(idempotency::check_key("", "X.y"));
  auto a = keyed("create", {{"x", 1}, {"y", {{"p", 1}, {"q", 2}}}}, "k");
  auto b = keyed("create", {{"y", {{"q", 2}, {"p", 1}}}, {"x", 1}}, "k");
  CHECK(idempotency::request_hash(a) == idempotency::request_hash(b));
  auto d = keyed("create", {{"x", 1.0}, {"y", {{"p", 1}, {"q", 2}}}}, "k");
  CHECK(idempotency::request_hash(a) != idempotency::request_hash(d));
  CHECK(idempotency::request_hash(a).size() == 64);
}

TEST_CASE("idempotency: the writer stores an entry with its unit or not at "
          "all",
          "[idempotency][storage_seam]") {
  temp_dir dir;
  auto path = dir.file("seam.db");
  auto built = model::build(counter_app());
  REQUIRE(built);
  std::shared_ptr<const model> m = *built;
  auto opened = storage::open_writer(m, path, {}, environment::system());
  REQUIRE(opened);
  auto& w = **opened;
  auto rd = storage::open_reader(m, path, {});
  REQUIRE(rd);
  auto t0 = timestamp{std::chrono::microseconds{int64_t{1'767'225'600}
                                                * 1'000'000}};
  auto insert = [](int64_t id) {
    write_op op;
    op.resource = "Counter";
    op.kind = write_kind::insert;
    op.record_id = id;
    op.values = {{"id", id}, {"value", 0}, {"label", "x"}};
    event_draft ev;
    ev.log = "events";
    ev.action = "create";
    ev.occurred_at = now_utc();
    op.event = std::move(ev);
    return op;
  };
  auto entry = [&](std::string key, timestamp at) {
    idempotency_entry e;
    e.key = std::move(key);
    e.resource = "Counter";
    e.action = "create";
    e.request_hash = "h";
    e.result = "{}";
    e.committed_at = at;
    e.expired_before = at - std::chrono::seconds{60};
    return e;
  };
  auto commit = [&](unit& u) -> caf::expected<unit_receipt> {
    REQUIRE(!w.begin());
    auto receipt = w.apply(u);
    if (!receipt) {
      w.rollback();
      return receipt;
    }
    REQUIRE(!w.commit());
    return receipt;
  };
  unit u1;
  u1.ops.push_back(insert(1));
  u1.idempotency = entry("k1", t0);
  auto r1 = commit(u1);
  REQUIRE(r1);
  auto found = (*rd)->find_idempotency("k1");
  REQUIRE(found);
  REQUIRE(*found);
  CHECK((*found)->event_ids == r1->event_ids);
  CHECK((*found)->committed_at == t0);
  CHECK((*found)->request_hash == "h");
  // A unit whose write fails leaves no entry.
  unit u2;
  u2.ops.push_back(insert(1));
  u2.idempotency = entry("k2", t0);
  REQUIRE_FALSE(commit(u2));
  auto none = (*rd)->find_idempotency("k2");
  REQUIRE(none);
  CHECK(!*none);
  // A live key stored meanwhile (another process) fails the unit, whose
  // writes go with it.
  unit u3;
  u3.ops.push_back(insert(3));
  u3.idempotency = entry("k1", t0 + std::chrono::seconds{10});
  auto r3 = commit(u3);
  REQUIRE_FALSE(r3);
  CHECK(is(r3.error(), errc::conflict));
  CHECK_THAT(message(r3.error()), Contains("k1"));
  auto three = (*rd)->get(*m->find("Counter"), int64_t{3});
  REQUIRE(three);
  CHECK(!*three);
  // An expired one is replaced.
  unit u4;
  u4.ops.push_back(insert(4));
  u4.idempotency = entry("k1", t0 + std::chrono::seconds{61});
  auto r4 = commit(u4);
  REQUIRE(r4);
  auto replaced = (*rd)->find_idempotency("k1");
  REQUIRE(replaced);
  REQUIRE(*replaced);
  CHECK((*replaced)->committed_at == t0 + std::chrono::seconds{61});
  CHECK((*replaced)->event_ids == r4->event_ids);
}
