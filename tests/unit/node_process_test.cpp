// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Nodes and their clients as separate processes on loopback (issue 13,
// section 4): a node is `eventactors serve`, its clients are
// `eventactors_remote_callers` processes, each running many caller actors
// (tests/tools/remote_callers.cpp). No lost updates across the network;
// kill -9 of a node under load; SIGTERM under load. Every wait is bounded.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "support/child.hpp"
#include "support/cli.hpp"
#include "support/query.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors::test;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

const std::string callers_path = EVENTACTORS_REMOTE_CALLERS;

/// One record type with an increment: every event carries the caller's tag
/// in its metadata.
constexpr const char* counter_app = R"({
  "event_logs": [{"name": "events", "record_id_type": "string"}],
  "resources": [{
    "name": "Counter",
    "primary_key": {"type": "string"},
    "attributes": [
      {"name": "value", "type": "integer", "allow_nil": false, "default": 0}
    ],
    "actions": [
      {"name": "create", "kind": "create", "accept": ["id"]},
      {"name": "increment", "kind": "update",
       "steps": [{"change": "increment", "attribute": "value"}]}
    ],
    "events": {"event_log": "events"}
  }]
})";

size_t env_size(const char* name, size_t fallback) {
  if (auto x = std::getenv(name); x && *x)
    return static_cast<size_t>(std::strtoull(x, nullptr, 10));
  return fallback;
}

/// Calls per caller actor. Fewer under sanitizers
/// (scripts/check-sanitizers.sh sets it); at least 4.
size_t calls_per_caller(size_t fallback) {
  return std::max<size_t>(
    4, std::min(fallback, env_size("EVENTACTORS_NODE_PROCESS_CALLS", fallback)));
}

/// A database of the counter app with the record "hot", and node processes
/// serving it.
struct counter_db {
  temp_dir dir;
  std::string app = dir.file("counter.json");
  std::string db = dir.file("counter.db");
  /// Commits that survive kill -9 of the process (not power loss), which is
  /// all these tests ask, without an fsync per commit.
  std::string config = dir.file("node.ini");

  counter_db() {
    {
      std::ofstream out{app};
      out << counter_app;
    }
    {
      std::ofstream out{config};
      out << "[eventactors]\nsynchronous = \"normal\"\n";
    }
    REQUIRE_EXIT(run_cli({"--app", app, "--db", db, "run", "Counter",
                          "create", R"({"id": "hot"})"}),
                 0);
  }

  /// Starts `eventactors serve` on `listen`; returns it once it listens,
  /// with its address in `address`.
  std::unique_ptr<child_process> serve(std::string& address,
                                       const std::string& listen
                                       = "127.0.0.1:0") {
    auto proc = std::make_unique<child_process>(std::vector<std::string>{
      cli_path, "--app", app, "--db", db, "--config", config, "serve",
      "--listen", listen, "--plaintext"});
    REQUIRE(proc->started());
    auto line = proc->read_line(60s);
    if (!line)
      proc->wait(1s);
    INFO("node stderr: " << proc->err());
    REQUIRE(line);
    REQUIRE(line->rfind("listening on ", 0) == 0);
    address = line->substr(std::string{"listening on "}.size());
    return proc;
  }

  int64_t value() {
    return query_count(db, "SELECT value FROM counter WHERE id = 'hot'");
  }

  int64_t increments() {
    return query_count(db, "SELECT count(*) FROM events WHERE action = "
                           "'increment'");
  }

  /// How many increment events carry each tag.
  std::map<std::string, int64_t> tags() {
    connection c{db};
    std::map<std::string, int64_t> result;
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(c.get(),
                               "SELECT json_extract(metadata, '$.tag'), "
                               "count(*) FROM events WHERE action = "
                               "'increment' GROUP BY 1",
                               -1, &stmt, nullptr)
            == SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      auto text = sqlite3_column_text(stmt, 0);
      std::string tag = text ? reinterpret_cast<const char*>(text) : "(none)";
      result[tag] = sqlite3_column_int64(stmt, 1);
    }
    sqlite3_finalize(stmt);
    return result;
  }
};

/// Stops a node with SIGTERM; requires exit code 0.
void stop_node(child_process& node) {
  node.signal(SIGTERM);
  auto code = node.wait(60s);
  INFO("node stderr: " << node.err());
  REQUIRE(code);
  CHECK(*code == 0);
}

/// A failed attempt a client printed.
struct failed_attempt {
  std::string tag;
  std::string code;
  int64_t ms = 0;
};

/// Empty when each tag of `acked` is on exactly one event of `tags` (tag
/// -> events); else the first few that are not.
std::string not_once(const std::map<std::string, int64_t>& tags,
                     const std::map<std::string, int64_t>& acked) {
  std::string result;
  size_t n = 0;
  for (auto& [tag, value] : acked) {
    auto i = tags.find(tag);
    auto events = i == tags.end() ? 0 : i->second;
    if (events != 1 && ++n <= 5)
      result += tag + " on " + std::to_string(events) + " events; ";
  }
  if (n > 5)
    result += std::to_string(n) + " in all";
  return result;
}

/// Empty when every tag of `first` has the same value in `again`; else the
/// first few that do not.
std::string other_answers(const std::map<std::string, int64_t>& first,
                          const std::map<std::string, int64_t>& again) {
  std::string result;
  size_t n = 0;
  for (auto& [tag, value] : first) {
    auto i = again.find(tag);
    if ((i == again.end() || i->second != value) && ++n <= 5)
      result += tag + ": " + std::to_string(value) + ", then "
                + (i == again.end() ? "no answer" : std::to_string(i->second))
                + "; ";
  }
  if (n > 5)
    result += std::to_string(n) + " in all";
  return result;
}

/// Empty when every failed attempt has one of `codes` and took at most
/// `max_ms`; else the first few that do not.
std::string unexpected_failures(const std::vector<failed_attempt>& xs,
                                const std::set<std::string>& codes,
                                int64_t max_ms) {
  std::string result;
  size_t n = 0;
  for (auto& e : xs)
    if (codes.count(e.code) == 0 || e.ms > max_ms) {
      if (++n <= 5)
        result += e.tag + " " + e.code + " after " + std::to_string(e.ms)
                  + " ms; ";
    }
  if (n > 5)
    result += std::to_string(n) + " in all";
  return result;
}

/// A remote_callers process and what it printed, parsed. A thread reads
/// its output all the time, so that the client never waits on a full pipe
/// (its callers time their calls).
class caller_run {
public:
  /// Acknowledged calls: tag -> the value the call left.
  std::map<std::string, int64_t> ok;
  std::vector<failed_attempt> errors;
  std::optional<std::string> done;
  std::vector<std::string> strange;

  caller_run(const std::string& address, std::vector<std::string> args) {
    std::vector<std::string> argv{callers_path, "--connect", address,
                                  "--record", "hot"};
    argv.insert(argv.end(), args.begin(), args.end());
    proc_ = std::make_unique<child_process>(argv);
    REQUIRE(proc_->started());
    reader_ = std::thread{[this] { read_all(); }};
  }

  ~caller_run() {
    stop_reading();
  }

  /// Waits until `enough` holds (called with the lock held), the output
  /// ends or `limit` passes; returns whether `enough` held.
  template <class Predicate>
  bool wait_until(Predicate enough, std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, limit, [&] { return enough() || ended_; });
    return enough();
  }

  /// Waits for the summary line and the exit; the exit code.
  std::optional<int> finish(std::chrono::milliseconds limit) {
    wait_until([this] { return done.has_value(); }, limit);
    stop_reading();
    return proc_->wait(10s);
  }

  std::map<std::string, int64_t> acknowledged() {
    std::lock_guard<std::mutex> guard{mtx_};
    return ok;
  }

  std::string summary() {
    std::lock_guard<std::mutex> guard{mtx_};
    std::ostringstream s;
    s << (done ? *done : "no summary") << ", " << ok.size() << " ok, "
      << errors.size() << " failed attempts";
    for (auto& x : strange)
      s << "\nunexpected line: " << x;
    s << "\nstderr: " << proc_->err();
    return s.str();
  }

  const std::string& err() const {
    return proc_->err();
  }

private:
  void read_all() {
    for (;;) {
      // Ends when the client closes its output (it exited or was killed).
      auto line = proc_->read_line(600s);
      std::lock_guard<std::mutex> guard{mtx_};
      if (!line) {
        ended_ = true;
        cv_.notify_all();
        return;
      }
      take(*line);
      cv_.notify_all();
    }
  }

  /// Ends the reader: a client still running is killed first.
  void stop_reading() {
    if (!reader_.joinable())
      return;
    bool running;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      running = !ended_ && !done;
    }
    if (running)
      proc_->signal(SIGKILL);
    reader_.join();
  }

  void take(const std::string& line) {
    std::istringstream in{line};
    std::string word;
    in >> word;
    if (word == "ok") {
      std::string tag;
      int64_t value = 0;
      in >> tag >> value;
      if (ok.count(tag) > 0)
        strange.push_back("acknowledged twice: " + line);
      ok[tag] = value;
    } else if (word == "error") {
      failed_attempt e;
      in >> e.tag >> e.code >> e.ms;
      errors.push_back(std::move(e));
    } else if (word == "done") {
      done = line;
    } else {
      strange.push_back(line);
    }
  }

  std::unique_ptr<child_process> proc_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool ended_ = false;
  std::thread reader_;
};

/// The values the acknowledged calls of `runs` left, sorted.
std::vector<int64_t> acked_values(const std::vector<caller_run*>& runs) {
  std::vector<int64_t> xs;
  for (auto* r : runs)
    for (auto& [tag, value] : r->ok)
      xs.push_back(value);
  std::sort(xs.begin(), xs.end());
  return xs;
}

/// Empty when `xs` is 1, 2, ..., n; else what differs.
std::string differs_from_one_to(const std::vector<int64_t>& xs, size_t n) {
  if (xs.size() != n)
    return std::to_string(xs.size()) + " values, not " + std::to_string(n);
  for (size_t i = 0; i < n; ++i)
    if (xs[i] != static_cast<int64_t>(i + 1))
      return "sorted value " + std::to_string(i + 1) + " is "
             + std::to_string(xs[i]);
  return {};
}

} // namespace

TEST_CASE("no lost updates across the network: 64 remote caller actors on "
          "two client processes, 200 increments each on one record",
          "[node][process]") {
  const size_t callers = 32;
  const size_t calls = calls_per_caller(200);
  const size_t total = 2 * callers * calls;
  counter_db fx;
  std::string address;
  auto node = fx.serve(address);
  std::vector<std::string> args{"--callers", std::to_string(callers),
                                "--calls", std::to_string(calls),
                                "--timeout", "60000", "--deadline", "280000"};
  auto with_name = [&](std::string name) {
    auto xs = args;
    xs.insert(xs.end(), {"--name", std::move(name)});
    return xs;
  };
  caller_run a{address, with_name("a")};
  caller_run b{address, with_name("b")};
  auto code_a = a.finish(300s);
  auto code_b = b.finish(300s);
  INFO("client a: " << a.summary());
  INFO("client b: " << b.summary());
  CHECK(code_a == 0);
  CHECK(code_b == 0);
  CHECK(a.errors.empty());
  CHECK(b.errors.empty());
  CHECK(a.strange.empty());
  CHECK(b.strange.empty());
  CHECK(a.ok.size() + b.ok.size() == total);
  // Each increment saw a value no other saw: the calls ran one after the
  // other on the record, none lost.
  CHECK(differs_from_one_to(acked_values({&a, &b}), total) == "");
  stop_node(*node);
  CHECK(fx.value() == static_cast<int64_t>(total));
  CHECK(fx.increments() == static_cast<int64_t>(total));
  auto tags = fx.tags();
  CHECK(tags.size() == total);
  CHECK(not_once(tags, a.ok) == "");
  CHECK(not_once(tags, b.ok) == "");
}

TEST_CASE("kill -9 of a node under load: acknowledged calls survive, "
          "callers get node_down in time, reconnect to the restarted node, "
          "and keyed retries apply once",
          "[node][process]") {
  const size_t callers = 16;
  const size_t calls = calls_per_caller(40);
  const size_t total = callers * calls;
  const int64_t call_timeout_ms = 5000;
  counter_db fx;
  std::string address;
  auto node = fx.serve(address);
  std::vector<std::string> args{
    "--callers", std::to_string(callers), "--calls", std::to_string(calls),
    "--name", "k", "--keys", "--retry-for", "120000", "--timeout",
    std::to_string(call_timeout_ms), "--deadline", "200000"};
  caller_run run{address, args};
  // Under load: some calls were acknowledged, more are under way.
  const size_t before_kill = std::min<size_t>(total / 4, 60);
  REQUIRE(run.wait_until([&] { return run.ok.size() >= before_kill; }, 120s));
  node->signal(SIGKILL);
  REQUIRE(node->wait(30s));
  CHECK(node->term_signal() == SIGKILL);
  auto acked_before_kill = run.acknowledged();
  // The callers learn of it: node_down (or a timeout) within the call
  // timeout, not a hang.
  INFO("client at the kill: " << run.summary());
  REQUIRE(run.wait_until([&] { return !run.errors.empty(); },
                         std::chrono::milliseconds{call_timeout_ms} + 30s));
  // The same file and port; the client process keeps running and
  // reconnects by itself.
  std::string again;
  node = fx.serve(again, address);
  CHECK(again == address);
  auto code = run.finish(180s);
  INFO("client: " << run.summary());
  CHECK(code == 0);
  CHECK(run.strange.empty());
  CHECK(run.ok.size() == total);
  CHECK(unexpected_failures(run.errors, {"node_down", "timeout"},
                            call_timeout_ms + 2000)
        == "");
  // Retried calls answered with their first result: every value once.
  CHECK(differs_from_one_to(acked_values({&run}), total) == "");
  // The same calls again with the same keys, from a new client: each gets
  // its original answer and nothing runs twice, also for keys committed
  // before the kill.
  caller_run repeat{address, args};
  auto repeat_code = repeat.finish(180s);
  INFO("repeat: " << repeat.summary());
  CHECK(repeat_code == 0);
  CHECK(repeat.ok.size() == run.ok.size());
  CHECK(other_answers(run.ok, repeat.ok) == "");
  stop_node(*node);
  // Every acknowledged call, before the kill too, is in the log once.
  auto tags = fx.tags();
  CHECK(tags.size() == total);
  CHECK(not_once(tags, acked_before_kill) == "");
  CHECK(not_once(tags, run.ok) == "");
  CHECK(fx.increments() == static_cast<int64_t>(total));
  CHECK(fx.value() == static_cast<int64_t>(total));
}

TEST_CASE("SIGTERM of a node under load answers every call it accepted and "
          "loses none",
          "[node][process]") {
  const size_t callers = 16;
  const size_t calls = calls_per_caller(40);
  const size_t total = callers * calls;
  counter_db fx;
  std::string address;
  auto node = fx.serve(address);
  caller_run run{address,
                 {"--callers", std::to_string(callers), "--calls",
                  std::to_string(calls), "--name", "t", "--timeout", "60000",
                  "--deadline", "200000"}};
  const size_t before_stop = std::min<size_t>(total / 4, 60);
  REQUIRE(run.wait_until([&] { return run.ok.size() >= before_stop; }, 120s));
  stop_node(*node);
  auto code = run.finish(180s);
  INFO("client: " << run.summary());
  REQUIRE(run.done);
  CHECK(run.strange.empty());
  // Every call got an answer: a success, node_stopping for calls refused
  // after the stop began, or node_down for calls sent once the node was
  // gone (which it never read). No timeouts.
  CHECK(run.ok.size() + run.errors.size() == total);
  CHECK(unexpected_failures(run.errors, {"node_stopping", "node_down"},
                            60000)
        == "");
  CHECK(code == (run.errors.empty() ? 0 : 1));
  // Exactly the successes are in the log: none lost, and no call committed
  // whose answer the caller did not get.
  auto tags = fx.tags();
  CHECK(tags.size() == run.ok.size());
  CHECK(not_once(tags, run.ok) == "");
  CHECK(fx.increments() == static_cast<int64_t>(run.ok.size()));
  CHECK(fx.value() == static_cast<int64_t>(run.ok.size()));
  CHECK(differs_from_one_to(acked_values({&run}), run.ok.size()) == "");
}
