// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The write path: the write queue (group commit for every thread, a lone
// caller commits on its own thread), the background checkpointer, and
// synchronous calls that run on the calling thread.

#include "eventactors/all.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/settings.hpp>

#include <catch2/catch.hpp>

#include "model/model.hpp"
#include "storage/sqlite/checkpointer.hpp"
#include "storage/sqlite/writer.hpp"
#include "storage/storage.hpp"
#include "write/write_queue.hpp"

#include "support/query.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;
using namespace std::chrono_literals;

namespace {

app counter_app() {
  app a;
  a.add(event_log{"events"}).record_id_type(record_id_kind::string);
  auto& c = a.add(resource{"Counter"});
  c.primary_key("id", key_kind::string)
    .attribute("value", types::integer(),
               {.allow_nil = false, .default_value = 0});
  c.events("events");
  c.create("create").accept({"id"});
  c.update("increment").change(changes::increment("value"));
  return a;
}

/// An app whose `Counter.slow` increment blocks its first run in a hook
/// until `release`, after counting down `entered`.
struct slow_hook {
  std::latch entered{1};
  std::latch release{1};
  std::atomic<bool> hold{true};

  eventactors::app app() {
    auto a = counter_app();
    a.find_resource("Counter")
      ->update("slow")
      .change(changes::increment("value"))
      .before_action("wait", [this](hook_context&, changeset&) -> caf::error {
        if (hold.exchange(false)) {
          entered.count_down();
          release.wait();
        }
        return {};
      });
    return a;
  }
};

/// A write queue over a real database file, with a commit hook counting
/// commits and recording the threads they ran on.
struct queue_fixture {
  temp_dir dir;
  std::string path = dir.file("q.db");
  std::shared_ptr<const model> m;
  std::shared_ptr<replay_gate> gate = std::make_shared<replay_gate>();
  std::unique_ptr<write_queue> queue;
  std::mutex mtx;
  std::vector<std::thread::id> commit_threads;

  explicit queue_fixture(uint32_t max_batch = 256) {
    auto built = model::build(counter_app());
    REQUIRE(built);
    m = *built;
    auto w = storage::open_writer(m, path, {}, environment::system());
    REQUIRE(w);
    sqlite3_commit_hook(static_cast<sqlite::writer&>(**w).get(),
                        &queue_fixture::on_commit, this);
    queue = std::make_unique<write_queue>(std::move(*w), gate, max_batch);
  }

  static int on_commit(void* ptr) {
    auto self = static_cast<queue_fixture*>(ptr);
    std::lock_guard<std::mutex> guard{self->mtx};
    self->commit_threads.push_back(std::this_thread::get_id());
    return 0; // go on with the commit
  }

  size_t commits() {
    std::lock_guard<std::mutex> guard{mtx};
    return commit_threads.size();
  }

  /// A unit appending one event on its own (as runtime::append does).
  unit event_unit(const std::string& id) {
    write_op op;
    op.resource = "Counter";
    op.kind = write_kind::none;
    op.record_id = json::string{id};
    event_draft draft;
    draft.log = "events";
    draft.action = "create";
    draft.action_type = action_kind::create;
    draft.occurred_at = now_utc();
    op.event = std::move(draft);
    unit u;
    u.ops.push_back(std::move(op));
    u.epoch = gate->epoch();
    return u;
  }

  int64_t events() {
    return count_rows(path, "events");
  }

  /// Holds the writer from another thread until `release` is called; returns
  /// once it holds it.
  void hold() {
    holder = std::thread{[this] {
      queue->exclusive([this](writer&) {
        held.count_down();
        release_latch.wait();
      });
    }};
    held.wait();
  }

  void release() {
    release_latch.count_down();
    holder.join();
  }

  /// Waits (bounded) until `n` requests wait in the queue.
  bool wait_queued(size_t n) {
    auto until = std::chrono::steady_clock::now() + 10s;
    while (queue->waiting() < n) {
      if (std::chrono::steady_clock::now() > until)
        return false;
      std::this_thread::yield();
    }
    return true;
  }

  std::thread holder;
  std::latch held{1};
  std::latch release_latch{1};
};

} // namespace

TEST_CASE("write queue: a lone caller commits on its own thread",
          "[write_path]") {
  queue_fixture f;
  std::thread::id caller;
  caf::expected<unit_receipt> receipt{caf::error{}};
  std::thread t{[&] {
    caller = std::this_thread::get_id();
    auto u = f.event_unit("a");
    receipt = f.queue->submit(u);
  }};
  t.join();
  REQUIRE(receipt);
  REQUIRE(receipt->event_ids.size() == 1);
  CHECK(f.events() == 1);
  std::lock_guard<std::mutex> guard{f.mtx};
  REQUIRE(f.commit_threads.size() == 1);
  CHECK(f.commit_threads.front() == caller);
}

TEST_CASE("write queue: units waiting behind a write share one commit, at "
          "most max_batch per commit",
          "[write_path]") {
  auto max_batch = GENERATE(256u, 3u);
  queue_fixture f{max_batch};
  f.hold();
  constexpr size_t callers = 8;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (size_t i = 0; i < callers; ++i)
    threads.emplace_back([&, i] {
      auto u = f.event_unit("c" + std::to_string(i));
      if (f.queue->submit(u))
        ++ok;
    });
  REQUIRE(f.wait_queued(callers + 1)); // the holder's request and theirs
  f.release();
  for (auto& t : threads)
    t.join();
  CHECK(ok == static_cast<int>(callers));
  CHECK(f.events() == static_cast<int64_t>(callers));
  // 8 units: one commit, or ceil(8 / 3) = 3 with max_batch 3.
  CHECK(f.commits() == (max_batch == 3 ? 3u : 1u));
}

TEST_CASE("write queue: a unit still waiting at its deadline fails with "
          "timeout and writes nothing",
          "[write_path]") {
  queue_fixture f;
  f.hold();
  auto u = f.event_unit("late");
  auto receipt = f.queue->submit(u, std::chrono::steady_clock::now() + 50ms);
  f.release();
  REQUIRE(!receipt);
  CHECK(is(receipt.error(), errc::timeout));
  CHECK(message(receipt.error()).find("nothing was written")
        != std::string::npos);
  CHECK(f.events() == 0);
  // The queue still works.
  auto next = f.event_unit("next");
  CHECK(f.queue->submit(next));
  CHECK(f.events() == 1);
}

TEST_CASE("write queue: close fails waiting units with runtime_stopped and "
          "lets the write in progress finish",
          "[write_path]") {
  queue_fixture f;
  f.hold();
  caf::expected<unit_receipt> waiting{caf::error{}};
  std::thread waiter{[&] {
    auto u = f.event_unit("w");
    waiting = f.queue->submit(u);
  }};
  REQUIRE(f.wait_queued(2));
  std::thread closer{[&] { f.queue->close(); }};
  // close() waits for the write in progress (the holder's) before it
  // fails the rest: release the holder only once close() began.
  auto until = std::chrono::steady_clock::now() + 10s;
  while (!f.queue->closed() && std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
  REQUIRE(f.queue->closed());
  f.release();
  closer.join();
  waiter.join();
  REQUIRE(!waiting);
  CHECK(is(waiting.error(), errc::runtime_stopped));
  auto after = f.event_unit("after");
  auto r = f.queue->submit(after);
  REQUIRE(!r);
  CHECK(is(r.error(), errc::runtime_stopped));
  CHECK(!f.queue->exclusive([](writer&) {}));
  CHECK(f.events() == 0);
}

TEST_CASE("write queue: a unit prepared before a replay started is refused, "
          "the others of its commit are written",
          "[write_path]") {
  queue_fixture f;
  auto stale = f.event_unit("stale");
  // A replay started (and ended) after `stale` was prepared.
  REQUIRE(f.gate->begin());
  f.gate->end();
  auto fresh = f.event_unit("fresh");
  auto results = f.queue->submit({&stale, &fresh});
  REQUIRE(results.size() == 2);
  REQUIRE(!results[0]);
  CHECK(is(results[0].error(), errc::replay_in_progress));
  CHECK(results[1]);
  CHECK(f.events() == 1);
}

TEST_CASE("synchronous calls on one record from many threads all succeed, "
          "in turn, without lost updates",
          "[write_path][runtime]") {
  temp_dir dir;
  auto rt = runtime::start(counter_app(), {.path = dir.file("s.db"),
                                           .synchronous = sync_mode::normal});
  REQUIRE(rt);
  REQUIRE((*rt)->run("Counter", "create", {{"id", "hot"}}));
  constexpr int threads = 8;
  constexpr int per_thread = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        call c{"Counter", "increment", {}, json::string{"hot"}};
        if (!(*rt)->run(c))
          ++failures;
      }
    });
  for (auto& w : workers)
    w.join();
  CHECK(failures == 0);
  auto hot = (*rt)->get("Counter", "hot");
  REQUIRE(hot);
  CHECK(hot->get("value") == threads * per_thread);
  CHECK(count_rows(dir.file("s.db"), "events") == 1 + threads * per_thread);
}

TEST_CASE("synchronous calls and caller actors on one record lose no update",
          "[write_path][runtime]") {
  temp_dir dir;
  auto rt = runtime::start(counter_app(), {.path = dir.file("m.db"),
                                           .synchronous = sync_mode::normal});
  REQUIRE(rt);
  auto& service = **rt;
  REQUIRE(service.run("Counter", "create", {{"id", "hot"}}));
  constexpr int actors = 8;
  constexpr int threads = 4;
  constexpr int per_caller = 25;
  std::mutex errors_mtx;
  std::vector<std::string> errors;
  auto failed = [&](const caf::error& err) {
    std::lock_guard<std::mutex> guard{errors_mtx};
    errors.push_back(render(err));
  };
  std::latch done{actors};
  for (int a = 0; a < actors; ++a)
    service.system().spawn([&](caf::event_based_actor* self) {
      auto left = std::make_shared<int>(per_caller);
      for (int i = 0; i < per_caller; ++i)
        self
          ->request(actions(service), 60s, run_atom_v,
                    call{"Counter", "increment", {}, json::string{"hot"}})
          .then(
            [&, self, left](const record&) {
              if (--*left == 0) {
                done.count_down();
                self->quit();
              }
            },
            [&, self, left](caf::error& err) {
              failed(err);
              if (--*left == 0) {
                done.count_down();
                self->quit();
              }
            });
    });
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      for (int i = 0; i < per_caller; ++i)
        if (auto r = service.run(
              call{"Counter", "increment", {}, json::string{"hot"}});
            !r)
          failed(r.error());
    });
  for (auto& w : workers)
    w.join();
  done.wait();
  for (auto& e : errors)
    UNSCOPED_INFO(e);
  CHECK(errors.empty());
  auto hot = service.get("Counter", "hot");
  REQUIRE(hot);
  CHECK(hot->get("value") == (actors + threads) * per_caller);
  // The log rebuilds the same record.
  auto report = service.verify();
  REQUIRE(report);
  CHECK(report->differences.empty());
}

TEST_CASE("synchronous calls racing a replay: every acknowledged increment "
          "is in the log and in the record",
          "[write_path][runtime]") {
  temp_dir dir;
  auto path = dir.file("r.db");
  auto rt = runtime::start(counter_app(), {.path = path,
                                           .synchronous = sync_mode::normal});
  REQUIRE(rt);
  auto& service = **rt;
  // Enough events for the replay to take a while.
  for (int i = 0; i < 20; ++i) {
    batch_call b{"Counter", "create"};
    b.atomic = true;
    for (int k = 0; k < 500; ++k)
      b.items.push_back(
        {{{"id", json::string{"c" + std::to_string(i * 500 + k)}}}, nullptr});
    for (auto& r : service.run_batch(b))
      REQUIRE(r);
  }
  std::atomic<bool> saw_refusal{false};
  std::atomic<bool> replay_done{false};
  std::thread caller{[&] {
    // Calls until one meets the replay (bounded by the replay's end).
    while (!replay_done && !saw_refusal) {
      auto r = service.run(call{"Counter", "increment", {}, json::string{"c0"}});
      if (!r && is(r.error(), errc::replay_in_progress))
        saw_refusal = true;
    }
  }};
  auto summary = service.replay();
  replay_done = true;
  caller.join();
  REQUIRE(summary);
  // The replay may have run before the caller's first call; what matters is
  // that every acknowledged increment is in the log and in the record.
  auto c0 = service.get("Counter", "c0");
  REQUIRE(c0);
  auto increments = query_int(path, "SELECT count(*) FROM events WHERE "
                                    "action = 'increment'");
  REQUIRE(increments);
  CHECK(c0->get("value") == *increments);
}

TEST_CASE("the write-ahead log stays bounded under continuous writes, "
          "checkpointed in the background",
          "[write_path][checkpoint]") {
  temp_dir dir;
  auto path = dir.file("wal.db");
  constexpr uint32_t pages = 64;
  // The checkpointer alone, on a connection written to directly.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  auto exec = [&](const char* sql) {
    REQUIRE(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
  };
  exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
       "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)");
  auto ckpt = checkpointer::start(path, {}, pages);
  REQUIRE(ckpt);
  (*ckpt)->attach(db);
  uint64_t max_wal = 0;
  for (int i = 0; i < 3000; ++i) {
    exec("INSERT INTO t (v) VALUES (hex(randomblob(600)))");
    std::error_code ec;
    auto size = std::filesystem::file_size(path + "-wal", ec);
    if (!ec)
      max_wal = std::max<uint64_t>(max_wal, size);
  }
  // 3000 commits of about 2 pages each: without checkpoints, or with a log
  // that never restarts, the WAL would hold some 6000 frames.
  auto frame = uint64_t{4096 + 24};
  CHECK(max_wal < 4 * pages * frame);
  CHECK((*ckpt)->runs() + (*ckpt)->inline_runs() > 0);
  (*ckpt)->detach(db);
  ckpt->reset();
  sqlite3_close(db);

  // Through a runtime with a small threshold.
  auto path2 = dir.file("wal2.db");
  auto rt = runtime::start(counter_app(),
                           {.path = path2, .synchronous = sync_mode::normal,
                            .checkpoint_pages = pages});
  REQUIRE(rt);
  uint64_t max_wal2 = 0;
  for (int i = 0; i < 1500; ++i) {
    REQUIRE((*rt)->run("Counter", "create",
                       {{"id", json::string{"k" + std::to_string(i)}}}));
    std::error_code ec;
    auto size = std::filesystem::file_size(path2 + "-wal", ec);
    if (!ec)
      max_wal2 = std::max<uint64_t>(max_wal2, size);
  }
  CHECK(max_wal2 < 4 * pages * frame);
}

TEST_CASE("checkpoint-pages is read from the configuration and checked",
          "[write_path][config]") {
  caf::settings ok;
  caf::put(ok, "eventactors.checkpoint-pages", 500);
  auto r = read_options(ok);
  REQUIRE(r);
  CHECK(r->checkpoint_pages == 500u);
  caf::settings bad;
  caf::put(bad, "eventactors.checkpoint-pages", -1);
  auto b = read_options(bad);
  REQUIRE(!b);
  CHECK(message(b.error()).find("eventactors.checkpoint-pages")
        != std::string::npos);
}

TEST_CASE("timestamps format with fixed width at the ends of the range",
          "[write_path][time]") {
  for (auto text : {"0000-01-01T00:00:00.000000Z",
                    "0001-02-03T04:05:06.000007Z",
                    "1970-01-01T00:00:00.000000Z",
                    "2026-11-27T09:11:03.123456Z",
                    "9999-12-31T23:59:59.999999Z"}) {
    auto t = parse_timestamp(text);
    REQUIRE(t);
    CHECK(format_timestamp(*t) == text);
  }
}

TEST_CASE("a synchronous call that waits longer than call_timeout for its "
          "record's turn fails with timeout and writes nothing",
          "[write_path][runtime]") {
  temp_dir dir;
  auto path = dir.file("t.db");
  slow_hook hook;
  auto a = hook.app();
  auto& entered = hook.entered;
  auto& release = hook.release;
  auto rt = runtime::start(a, {.path = path,
                               .synchronous = sync_mode::normal,
                               .call_timeout = 100ms});
  REQUIRE(rt);
  REQUIRE((*rt)->run("Counter", "create", {{"id", "hot"}}));
  caf::expected<record> first{caf::error{}};
  std::thread holder{[&] {
    first = (*rt)->run(call{"Counter", "slow", {}, json::string{"hot"}});
  }};
  entered.wait(); // the first call holds the record's turn
  auto second = (*rt)->run(call{"Counter", "slow", {}, json::string{"hot"}});
  release.count_down();
  holder.join();
  REQUIRE(!second);
  CHECK(is(second.error(), errc::timeout));
  CHECK(message(second.error()).find("nothing was written")
        != std::string::npos);
  REQUIRE(first);
  auto hot = (*rt)->get("Counter", "hot");
  REQUIRE(hot);
  CHECK(hot->get("value") == 1);
  CHECK(count_rows(path, "events") == 2);
}

TEST_CASE("stop waits for synchronous calls under way, which still commit",
          "[write_path][runtime]") {
  temp_dir dir;
  auto path = dir.file("stop.db");
  slow_hook hook;
  auto a = hook.app();
  auto& entered = hook.entered;
  auto& release = hook.release;
  auto rt = runtime::start(a, {.path = path,
                               .synchronous = sync_mode::normal});
  REQUIRE(rt);
  REQUIRE((*rt)->run("Counter", "create", {{"id", "hot"}}));
  caf::expected<record> slow{caf::error{}};
  std::thread caller{[&] {
    slow = (*rt)->run(call{"Counter", "slow", {}, json::string{"hot"}});
  }};
  entered.wait(); // the call runs its hook
  std::mutex stop_mtx;
  std::condition_variable stop_cv;
  bool stop_returned = false;
  std::thread stopper{[&] {
    (*rt)->stop();
    std::lock_guard<std::mutex> guard{stop_mtx};
    stop_returned = true;
    stop_cv.notify_all();
  }};
  // Once stop began, new calls are refused; only then let the hook go on.
  bool refused = false;
  auto until = std::chrono::steady_clock::now() + 10s;
  for (int i = 0; !refused && std::chrono::steady_clock::now() < until;
       ++i) {
    auto probe = (*rt)->run("Counter", "create",
                            {{"id", json::string{"p" + std::to_string(i)}}});
    refused = !probe && is(probe.error(), errc::runtime_stopped);
  }
  REQUIRE(refused);
  {
    // stop must not return while the call runs. Without the wait it
    // returns within milliseconds, having closed the writer under the call;
    // give it a second to show that (the test passes either way if a very
    // slow machine takes longer, it never fails wrongly).
    std::unique_lock<std::mutex> guard{stop_mtx};
    CHECK(!stop_cv.wait_for(guard, 1s, [&] { return stop_returned; }));
  }
  release.count_down();
  caller.join();
  stopper.join();
  REQUIRE(slow);
  CHECK(slow->get("value") == 1);
  CHECK(query_int(path, "SELECT value FROM counter WHERE id = 'hot'") == 1);
  CHECK(query_int(path, "SELECT count(*) FROM events WHERE action = 'slow'")
        == 1);
}
