// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The performance benchmark: the write path, the synchronous API and replay,
// each measured against a raw-SQLite baseline that writes the same rows in
// the same run. See docs/performance.md for what each figure means.
//
// Usage:
//   eventactors_bench [--quick] [--runs N] [--json FILE] [--dir DIR]
//                     [--only write,sync,replay,keys,remote]
//                     [--callers 1,8,64,256]
//                     [--modes normal,full] [--threads] [--checkpoint-pages N]
//
// Internal modes (the driver runs replays in child processes, so that each
// one's peak RSS is its own):
//   eventactors_bench generate DB N
//   eventactors_bench replay-ours DB
//   eventactors_bench replay-raw DB
//   eventactors_bench node DB MODE TRANSPORT CERTS   (the remote part's node)

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "eventactors/all.hpp"

#include "bench.hpp"

using namespace eventactors;
namespace bench {

// -- the workload -------------------------------------------------------------

/// The page cache both sides use, in KiB (the runtime's default).
const uint32_t cache_kib = runtime_options{}.cache_kib;

/// Orders: ~200 bytes of data per event, metadata and an actor.
app bench_app(key_kind keys) {
  app a;
  a.add(event_log{"events"})
    .persist_actor_primary_key("system_actor", "SystemActor",
                               {.type = actor_key_kind::string});
  auto& r = a.add(resource{"Shop.Order"});
  r.primary_key("id", keys)
    .attribute("customer", types::string(), {.allow_nil = false})
    .attribute("note", types::string())
    .attribute("items", types::integer(), {.default_value = 0})
    .attribute("status", types::string(), {.default_value = "open"})
    .timestamps();
  r.events("events")
    .create_timestamp("created_at")
    .update_timestamp("updated_at");
  r.create("create").accept({"customer", "note"});
  r.update("add_item").change(changes::increment("items"));
  r.update("annotate").accept({"note"});
  r.destroy("destroy");
  return a;
}

/// A note of ~150 bytes that differs from call to call.
std::string make_note(uint64_t n) {
  std::string s = "note " + std::to_string(n) + ": ";
  s.resize(150, 'x');
  return s;
}

op_kind pick(std::mt19937_64& rng) {
  switch (rng() % 8) {
    case 0:
    case 1:
      return op_kind::create;
    case 2:
    case 3:
    case 4:
      return op_kind::annotate;
    default:
      return op_kind::add_item;
  }
}

call make_call(op_kind k, std::mt19937_64& rng,
               const std::vector<json::value>& ids, int caller, uint64_t n) {
  call c;
  c.resource = "Shop.Order";
  c.actor = actor{"SystemActor",
                  json::string{"caller-" + std::to_string(caller)}};
  c.metadata = {{"source", "bench"},
                {"request_id", json::string{"req-" + std::to_string(n)}}};
  switch (k) {
    case op_kind::create:
      c.action = "create";
      c.input = {{"customer", json::string{"customer-" + std::to_string(n)}},
                 {"note", json::string{make_note(n)}}};
      break;
    case op_kind::annotate:
      c.action = "annotate";
      c.record_id = ids[rng() % ids.size()];
      c.input = {{"note", json::string{make_note(n)}}};
      break;
    case op_kind::add_item:
      c.action = "add_item";
      c.record_id = ids[rng() % ids.size()];
      break;
  }
  return c;
}

// -- measurements ---------------------------------------------------------------


double micros(clock_type::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

double seconds(clock_type::duration d) {
  return std::chrono::duration<double>(d).count();
}


/// CPU time (user and system, all threads) of this process so far.
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) {
    return static_cast<double>(t.tv_sec)
           + static_cast<double>(t.tv_usec) / 1e6;
  };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

/// CPU seconds per thread of this process, by thread id, with the
/// thread's name (from /proc/self/task).
std::map<int, std::pair<std::string, double>> thread_cpu() {
  std::map<int, std::pair<std::string, double>> out;
  auto tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in{entry.path() / "stat"};
    std::string text{std::istreambuf_iterator<char>{in}, {}};
    auto open = text.find('(');
    auto close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos)
      continue;
    auto name = text.substr(open + 1, close - open - 1);
    // Fields after the name: state is field 3; utime and stime are 14, 15.
    std::vector<std::string> fields;
    size_t pos = close + 2;
    while (pos < text.size()) {
      auto space = text.find(' ', pos);
      fields.push_back(text.substr(pos, space - pos));
      if (space == std::string::npos)
        break;
      pos = space + 1;
    }
    if (fields.size() < 13)
      continue;
    auto cpu = (std::stod(fields[11]) + std::stod(fields[12])) / tick;
    out[std::stoi(entry.path().filename().string())] = {name, cpu};
  }
  return out;
}

/// Set by --threads: print the CPU time of each thread per action.
bool show_threads = false;

void print_thread_cpu(const std::map<int, std::pair<std::string, double>>& before,
                      uint64_t ops) {
  if (!show_threads)
    return;
  for (auto& [tid, entry] : thread_cpu()) {
    auto i = before.find(tid);
    auto spent = entry.second - (i == before.end() ? 0 : i->second.second);
    if (spent > 0)
      std::printf("    thread %d %-16s %8.1f us per action\n", tid,
                  entry.first.c_str(), spent * 1e6 / static_cast<double>(ops));
  }
}

write_sample summarize(uint64_t ops, clock_type::duration elapsed,
                       double cpu, latencies& lat) {
  return {static_cast<double>(ops) / seconds(elapsed),
          cpu * 1e6 / static_cast<double>(ops), lat.at(0.5), lat.at(0.99),
          lat.at(1.0)};
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "eventactors_bench: %s\n", what.c_str());
  std::exit(1);
}

void remove_db(const std::string& path) {
  for (auto suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(path + suffix);
}

/// Set by --checkpoint-pages: the runtime's checkpoint_pages setting.
std::optional<uint32_t> checkpoint_pages;

runtime_options options_for(const std::string& path, sync_mode mode) {
  runtime_options opts;
  opts.path = path;
  opts.synchronous = mode;
  if (checkpoint_pages)
    opts.checkpoint_pages = *checkpoint_pages;
  return opts;
}

/// Creates the pool of records through `rt`, in batches (not timed).
std::vector<json::value> prefill(service& rt, size_t pool) {
  std::vector<json::value> ids;
  ids.reserve(pool);
  while (ids.size() < pool) {
    batch_call b{"Shop.Order", "create"};
    b.atomic = true;
    b.actor = actor{"SystemActor", "prefill"};
    b.metadata = {{"source", "bench"}};
    for (size_t i = 0; i < 1000 && ids.size() + i < pool; ++i)
      b.items.push_back({{{"customer", "customer-" + std::to_string(i)},
                          {"note", make_note(i)}},
                         nullptr});
    for (auto& r : rt.run_batch(b)) {
      if (!r)
        die("prefill: " + render(r.error()));
      ids.push_back(r->id);
    }
  }
  return ids;
}

// -- ours: caller actors --------------------------------------------------------

write_sample ours_callers(const std::string& dir, sync_mode mode, int callers,
                          uint64_t ops) {
  auto path = dir + "/bench-ours.db";
  remove_db(path);
  auto rt = runtime::start(bench_app(), options_for(path, mode));
  if (!rt)
    die("start: " + render(rt.error()));
  auto ids = prefill(**rt);
  caller_context<action_actor> ctx;
  ctx.service = actions(**rt);
  ctx.ids = &ids;
  std::latch done{callers};
  ctx.done = &done;
  std::vector<latencies> lat;
  auto states = make_callers(ctx, callers, ops, lat);
  auto threads0 = thread_cpu();
  auto cpu0 = cpu_seconds();
  auto t0 = clock_type::now();
  for (auto& st : states)
    (*rt)->system().spawn(caller<action_actor>, st);
  done.wait();
  auto elapsed = clock_type::now() - t0;
  auto cpu = cpu_seconds() - cpu0;
  if (ctx.failed)
    die("write run: " + ctx.first_error);
  print_thread_cpu(threads0, ops);
  (*rt)->stop();
  latencies all;
  for (auto& l : lat)
    all.xs.insert(all.xs.end(), l.xs.begin(), l.xs.end());
  return summarize(all.xs.size(), elapsed, cpu, all);
}

/// The synchronous API: `threads` plain threads calling `runtime::run`.
write_sample ours_sync(const std::string& dir, sync_mode mode, int threads,
                       uint64_t ops) {
  auto path = dir + "/bench-ours.db";
  remove_db(path);
  auto rt = runtime::start(bench_app(), options_for(path, mode));
  if (!rt)
    die("start: " + render(rt.error()));
  auto ids = prefill(**rt);
  std::vector<latencies> lat(static_cast<size_t>(threads));
  std::vector<std::thread> workers;
  std::atomic<bool> failed{false};
  auto per_thread = ops / static_cast<uint64_t>(threads);
  auto threads0 = thread_cpu();
  auto cpu0 = cpu_seconds();
  auto t0 = clock_type::now();
  for (int i = 0; i < threads; ++i)
    workers.emplace_back([&, i] {
      std::mt19937_64 rng(static_cast<uint64_t>(i) * 104729 + 3);
      auto& out = lat[static_cast<size_t>(i)];
      out.xs.reserve(per_thread);
      for (uint64_t k = 0; k < per_thread && !failed; ++k) {
        auto n = (static_cast<uint64_t>(i) << 32) | k;
        auto c = make_call(pick(rng), rng, ids, i, n);
        auto s = clock_type::now();
        auto r = (*rt)->run(std::move(c));
        if (!r) {
          std::fprintf(stderr, "sync call: %s\n", render(r.error()).c_str());
          failed = true;
          return;
        }
        out.xs.push_back(micros(clock_type::now() - s));
      }
    });
  for (auto& w : workers)
    w.join();
  auto elapsed = clock_type::now() - t0;
  auto cpu = cpu_seconds() - cpu0;
  if (failed)
    die("sync run failed");
  print_thread_cpu(threads0, ops);
  (*rt)->stop();
  latencies all;
  for (auto& l : lat)
    all.xs.insert(all.xs.end(), l.xs.begin(), l.xs.end());
  return summarize(all.xs.size(), elapsed, cpu, all);
}

// -- raw SQLite ------------------------------------------------------------------

/// A raw connection with the settings the runtime uses.
struct raw_db {
  sqlite3* db = nullptr;
  std::map<std::string, sqlite3_stmt*> stmts;

  raw_db(const std::string& path, sync_mode mode) {
    if (sqlite3_open_v2(path.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                          | SQLITE_OPEN_NOMUTEX,
                        nullptr)
        != SQLITE_OK)
      die("raw open " + path);
    exec(std::string{"PRAGMA journal_mode=WAL; PRAGMA synchronous="}
         + (mode == sync_mode::full ? "FULL" : "NORMAL")
         + "; PRAGMA cache_size=-" + std::to_string(cache_kib)
         + "; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;");
  }

  ~raw_db() {
    for (auto& [sql, st] : stmts)
      sqlite3_finalize(st);
    sqlite3_close_v2(db);
  }

  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;

  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      die("raw exec " + sql + ": " + msg);
    }
  }

  /// A cached prepared statement, reset and with its bindings cleared.
  sqlite3_stmt* prepare(const std::string& sql) {
    auto& st = stmts[sql];
    if (!st) {
      if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT,
                             &st, nullptr)
          != SQLITE_OK)
        die("raw prepare " + sql + ": " + sqlite3_errmsg(db));
    } else {
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
    }
    return st;
  }

  void done(sqlite3_stmt* st) {
    auto rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
      die(std::string{"raw step: "} + sqlite3_errmsg(db));
    sqlite3_reset(st);
  }
};

void bind_text(sqlite3_stmt* st, int i, const std::string& s) {
  sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()),
                    SQLITE_TRANSIENT);
}

/// "YYYY-MM-DDTHH:MM:SS.uuuuuuZ", the timestamp format of the log.
std::string timestamp_now() {
  auto now = std::chrono::system_clock::now();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
              now.time_since_epoch())
              .count();
  std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<long long>(us % 1'000'000));
  return buf;
}

/// A UUID v7 in text form: milliseconds, then random bits.
std::string uuid_v7_now(std::mt19937_64& rng) {
  auto ms = static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch())
      .count());
  uint64_t hi = (ms << 16) | 0x7000 | (rng() & 0x0fff);
  uint64_t lo = (rng() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff),
                static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

/// JSON string literal of `s` (the bench's strings need no escapes).
std::string jstr(const std::string& s) {
  return "\"" + s + "\"";
}

/// Writes what our runtime writes for one action, with prepared statements:
/// the record change (an update reads the record first, as an action
/// does, and checks its version) and the event row.
class raw_writer {
public:
  raw_writer(raw_db& db, uint64_t seed) : db_(db), rng_(seed) {
    // nop
  }

  std::string create(uint64_t n, const std::string& who,
                     const std::string& meta) {
    auto id = uuid_v7_now(rng_);
    auto now = timestamp_now();
    auto customer = "customer-" + std::to_string(n);
    auto note = make_note(n);
    auto st = db_.prepare("INSERT INTO \"shop_order\" (\"id\", \"customer\", "
                          "\"note\", \"items\", \"status\", \"created_at\", "
                          "\"updated_at\", _version) VALUES "
                          "(?, ?, ?, 0, 'open', ?, ?, 1)");
    bind_text(st, 1, id);
    bind_text(st, 2, customer);
    bind_text(st, 3, note);
    bind_text(st, 4, now);
    bind_text(st, 5, now);
    db_.done(st);
    auto data = "{\"customer\":" + jstr(customer)
                + ",\"note\":" + jstr(note) + "}";
    auto changed = "{\"id\":" + jstr(id)
                   + ",\"items\":0,\"status\":\"open\",\"created_at\":"
                   + jstr(now) + ",\"updated_at\":" + jstr(now) + "}";
    event(id, "create", "create", who, data, changed, meta, now);
    return id;
  }

  void update(const std::string& id, bool annotate, uint64_t n,
              const std::string& who, const std::string& meta) {
    // Read the record (an action reads what it changes).
    auto rd = db_.prepare("SELECT \"id\", \"customer\", \"note\", \"items\", "
                          "\"status\", \"created_at\", \"updated_at\", "
                          "_version FROM \"shop_order\" WHERE \"id\" = ?");
    bind_text(rd, 1, id);
    if (sqlite3_step(rd) != SQLITE_ROW)
      die("raw update: no record " + id);
    auto items = sqlite3_column_int64(rd, 3);
    auto version = sqlite3_column_int64(rd, 7);
    sqlite3_reset(rd);
    auto now = timestamp_now();
    std::string data;
    std::string changed;
    sqlite3_stmt* st;
    if (annotate) {
      auto note = make_note(n);
      st = db_.prepare("UPDATE \"shop_order\" SET \"note\" = ?, "
                       "\"updated_at\" = ?, _version = _version + 1 WHERE "
                       "\"id\" = ? AND _version = ?");
      bind_text(st, 1, note);
      bind_text(st, 2, now);
      bind_text(st, 3, id);
      sqlite3_bind_int64(st, 4, version);
      data = "{\"note\":" + jstr(note) + "}";
      changed = "{\"updated_at\":" + jstr(now) + "}";
    } else {
      st = db_.prepare("UPDATE \"shop_order\" SET \"items\" = ?, "
                       "\"updated_at\" = ?, _version = _version + 1 WHERE "
                       "\"id\" = ? AND _version = ?");
      sqlite3_bind_int64(st, 1, items + 1);
      bind_text(st, 2, now);
      bind_text(st, 3, id);
      sqlite3_bind_int64(st, 4, version);
      data = "{}";
      changed = "{\"items\":" + std::to_string(items + 1)
                + ",\"updated_at\":" + jstr(now) + "}";
    }
    db_.done(st);
    if (sqlite3_changes(db_.db) != 1)
      die("raw update: version check failed");
    event(id, annotate ? "annotate" : "add_item", "update", who, data,
          changed, meta, now);
  }

private:
  void event(const std::string& id, const char* action, const char* type,
             const std::string& who, const std::string& data,
             const std::string& changed, const std::string& meta,
             const std::string& at) {
    auto st = db_.prepare(
      "INSERT INTO \"events\" (resource, record_id, action, action_type, "
      "\"system_actor\", data, changed_attributes, metadata, version, "
      "occurred_at, key_id) VALUES ('Shop.Order', ?, ?, ?, ?, ?, ?, ?, 1, ?, "
      "NULL)");
    bind_text(st, 1, id);
    sqlite3_bind_text(st, 2, action, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
    bind_text(st, 4, who);
    bind_text(st, 5, data);
    bind_text(st, 6, changed);
    bind_text(st, 7, meta);
    bind_text(st, 8, at);
    db_.done(st);
  }

  raw_db& db_;
  std::mt19937_64 rng_;
};

/// Creates the schema the runtime creates (by starting one on the file).
void make_schema(const std::string& path, sync_mode mode) {
  remove_db(path);
  auto rt = runtime::start(bench_app(), options_for(path, mode));
  if (!rt)
    die("start: " + render(rt.error()));
}

/// The raw baseline of the write path: the same rows, `per_commit` actions
/// per transaction (what `per_commit` concurrent callers could share at
/// best). The latency of an action is the time of its transaction.
write_sample raw_writes(const std::string& dir, sync_mode mode,
                        int per_commit, uint64_t ops) {
  auto path = dir + "/bench-raw.db";
  make_schema(path, mode);
  raw_db db{path, mode};
  raw_writer w{db, 99};
  std::vector<std::string> ids;
  ids.reserve(record_pool);
  db.exec("BEGIN IMMEDIATE");
  for (size_t i = 0; i < record_pool; ++i)
    ids.push_back(w.create(i, "prefill", "{\"source\":\"bench\"}"));
  db.exec("COMMIT");
  std::mt19937_64 rng(12345);
  latencies lat;
  lat.xs.reserve(ops);
  auto cpu0 = cpu_seconds();
  auto t0 = clock_type::now();
  uint64_t n = 0;
  while (n < ops) {
    auto s = clock_type::now();
    db.exec("BEGIN IMMEDIATE");
    uint64_t k = 0;
    for (; k < static_cast<uint64_t>(per_commit) && n < ops; ++k, ++n) {
      auto caller = static_cast<int>(k);
      auto who = "caller-" + std::to_string(caller);
      auto meta = "{\"source\":\"bench\",\"request_id\":"
                  + jstr("req-" + std::to_string(n)) + "}";
      switch (pick(rng)) {
        case op_kind::create:
          w.create(n, who, meta);
          break;
        case op_kind::annotate:
          w.update(ids[rng() % ids.size()], true, n, who, meta);
          break;
        case op_kind::add_item:
          w.update(ids[rng() % ids.size()], false, n, who, meta);
          break;
      }
    }
    db.exec("COMMIT");
    auto took = micros(clock_type::now() - s);
    for (uint64_t i = 0; i < k; ++i)
      lat.xs.push_back(took);
  }
  auto elapsed = clock_type::now() - t0;
  return summarize(ops, elapsed, cpu_seconds() - cpu0, lat);
}

// -- replay ----------------------------------------------------------------------

long peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/// Writes `n` events through the runtime: creates of n/4 orders, then
/// updates of them.
int generate(const std::string& path, uint64_t n) {
  remove_db(path);
  auto rt = runtime::start(bench_app(), options_for(path, sync_mode::normal));
  if (!rt)
    die("start: " + render(rt.error()));
  uint64_t written = 0;
  std::vector<json::value> ids;
  while (written < n / 4 + 1 && written < n) {
    batch_call b{"Shop.Order", "create"};
    b.atomic = true;
    b.actor = actor{"SystemActor", "generator"};
    b.metadata = {{"source", "bench"}, {"request_id", "req-42"}};
    for (uint64_t i = 0; i < 1000 && written + i < n / 4 + 1; ++i)
      b.items.push_back({{{"customer", "customer-" + std::to_string(written + i)},
                          {"note", make_note(written + i)}},
                         nullptr});
    for (auto& r : (*rt)->run_batch(b)) {
      if (!r)
        die("generate create: " + render(r.error()));
      ids.push_back(r->id);
      ++written;
    }
  }
  size_t next = 0;
  while (written < n) {
    batch_call b{"Shop.Order", written % 3 == 0 ? "annotate" : "add_item"};
    b.atomic = true;
    b.actor = actor{"SystemActor", "generator"};
    for (uint64_t i = 0; i < 1000 && written + i < n; ++i) {
      batch_item item;
      item.record_id = ids[next++ % ids.size()];
      if (b.action == "annotate")
        item.input = {{"note", make_note(written + i)}};
      b.items.push_back(std::move(item));
    }
    for (auto& r : (*rt)->run_batch(b)) {
      if (!r)
        die("generate update: " + render(r.error()));
      ++written;
    }
  }
  return 0;
}

/// Replays the whole log through the runtime; prints "events seconds
/// peak_rss_kib".
int replay_ours(const std::string& path) {
  auto rt = runtime::start(bench_app(), options_for(path, sync_mode::normal));
  if (!rt)
    die("start: " + render(rt.error()));
  auto t0 = clock_type::now();
  auto summary = (*rt)->replay();
  auto secs = seconds(clock_type::now() - t0);
  if (!summary)
    die("replay: " + render(summary.error()));
  std::printf("%llu %.6f %ld\n",
              static_cast<unsigned long long>(summary->events), secs,
              peak_rss_kib());
  return 0;
}

/// The raw baseline of replay: clears the records, scans the log in id
/// order, folds every event's data and changed attributes into its record
/// with prepared statements, all in one transaction (as replay does).
int replay_raw(const std::string& path) {
  raw_db db{path, sync_mode::normal};
  auto t0 = clock_type::now();
  db.exec("BEGIN IMMEDIATE");
  db.exec("DELETE FROM \"shop_order\"");
  sqlite3_stmt* scan = nullptr;
  if (sqlite3_prepare_v2(db.db,
                         "SELECT record_id, action_type, data, "
                         "changed_attributes FROM \"events\" ORDER BY id",
                         -1, &scan, nullptr)
      != SQLITE_OK)
    die("raw scan prepare");
  uint64_t events = 0;
  // Statements per set of columns, built on first use.
  std::map<std::string, std::vector<std::string>> columns_of;
  while (sqlite3_step(scan) == SQLITE_ROW) {
    ++events;
    std::string id{reinterpret_cast<const char*>(sqlite3_column_text(scan, 0)),
                   static_cast<size_t>(sqlite3_column_bytes(scan, 0))};
    std::string_view type{
      reinterpret_cast<const char*>(sqlite3_column_text(scan, 1)),
      static_cast<size_t>(sqlite3_column_bytes(scan, 1))};
    std::string_view data{
      reinterpret_cast<const char*>(sqlite3_column_text(scan, 2)),
      static_cast<size_t>(sqlite3_column_bytes(scan, 2))};
    std::string_view changed{
      reinterpret_cast<const char*>(sqlite3_column_text(scan, 3)),
      static_cast<size_t>(sqlite3_column_bytes(scan, 3))};
    auto parsed = boost::json::parse(data);
    auto& values = parsed.as_object();
    auto changes = boost::json::parse(changed);
    for (auto& [k, v] : changes.as_object())
      values[k] = v;
    values.erase("id");
    if (type == "destroy") {
      auto st = db.prepare("DELETE FROM \"shop_order\" WHERE \"id\" = ?");
      bind_text(st, 1, id);
      db.done(st);
      continue;
    }
    std::string sql;
    if (type == "create") {
      sql = "INSERT INTO \"shop_order\" (\"id\"";
      std::string params = "?";
      for (auto& [k, v] : values) {
        sql += ", \"" + std::string{k} + "\"";
        params += ", ?";
      }
      sql += ", _version) VALUES (" + params + ", 1)";
    } else {
      sql = "UPDATE \"shop_order\" SET ";
      for (auto& [k, v] : values)
        sql += "\"" + std::string{k} + "\" = ?, ";
      sql += "_version = _version + 1 WHERE \"id\" = ?";
    }
    auto st = db.prepare(sql);
    int i = 1;
    if (type == "create")
      bind_text(st, i++, id);
    for (auto& [k, v] : values) {
      if (v.is_string())
        sqlite3_bind_text(st, i++, v.get_string().data(),
                          static_cast<int>(v.get_string().size()),
                          SQLITE_TRANSIENT);
      else if (v.is_int64())
        sqlite3_bind_int64(st, i++, v.get_int64());
      else
        sqlite3_bind_null(st, i++);
    }
    if (type != "create")
      bind_text(st, i, id);
    db.done(st);
  }
  sqlite3_finalize(scan);
  db.exec("COMMIT");
  auto secs = seconds(clock_type::now() - t0);
  std::printf("%llu %.6f %ld\n", static_cast<unsigned long long>(events),
              secs, peak_rss_kib());
  return 0;
}

/// Runs this program with `args`; returns its stdout (empty on failure).
std::string run_self(const std::string& self,
                     const std::vector<std::string>& args) {
  std::string cmd = "'" + self + "'";
  for (auto& a : args)
    cmd += " '" + a + "'";
  std::string out;
  if (auto pipe = popen(cmd.c_str(), "r")) {
    char buf[512];
    while (fgets(buf, sizeof(buf), pipe))
      out += buf;
    if (pclose(pipe) != 0)
      return {};
  }
  return out;
}

struct replay_sample {
  double per_second = 0;
  double rss_mib = 0;
};

replay_sample replay_child(const std::string& self, const char* mode,
                           const std::string& path) {
  auto line = run_self(self, {mode, path});
  unsigned long long events = 0;
  double secs = 0;
  long rss = 0;
  if (std::sscanf(line.c_str(), "%llu %lf %ld", &events, &secs, &rss) != 3
      || secs <= 0)
    die(std::string{mode} + " of " + path + " failed");
  return {static_cast<double>(events) / secs, static_cast<double>(rss) / 1024};
}

// -- reporting ---------------------------------------------------------------------


std::string fmt_number(double x) {
  char buf[64];
  if (x >= 100)
    std::snprintf(buf, sizeof(buf), "%.0f", x);
  else if (x >= 10)
    std::snprintf(buf, sizeof(buf), "%.1f", x);
  else
    std::snprintf(buf, sizeof(buf), "%.2f", x);
  return buf;
}

std::string spread(const std::vector<double>& xs) {
  if (xs.size() < 2)
    return "";
  auto [lo, hi] = std::minmax_element(xs.begin(), xs.end());
  return fmt_number(*lo) + "-" + fmt_number(*hi);
}

int name_width = 40;

void print_header(const char* ours, const char* baseline) {
  std::printf("%-*s %12s %-17s %12s %-17s %7s  %s\n", name_width, "figure",
              ours, "(min-max)", baseline, "(min-max)", "ratio", "target");
}

void print_row(const figure& f) {
  auto b = f.baseline();
  auto r = f.ratio();
  std::printf("%-*s %12s %-17s %12s %-17s %7s  %s\n", name_width,
              (f.name + " [" + f.unit + "]").c_str(),
              fmt_number(f.value()).c_str(), spread(f.runs).c_str(),
              b ? fmt_number(*b).c_str() : "-",
              spread(f.baseline_runs).c_str(),
              r ? fmt_number(*r).c_str() : "-", f.target.c_str());
  std::fflush(stdout);
}

std::string json_number(double x) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", x);
  return buf;
}

std::string json_list(const std::vector<double>& xs) {
  std::string out = "[";
  for (size_t i = 0; i < xs.size(); ++i)
    out += (i ? ", " : "") + json_number(xs[i]);
  return out + "]";
}

bool write_json(const std::string& path, const std::vector<figure>& figs,
                const std::string& machine) {
  std::ofstream out{path};
  if (!out)
    return false;
  out << "{\n  \"machine\": " << boost::json::serialize(boost::json::string{machine})
      << ",\n  \"figures\": [\n";
  for (size_t i = 0; i < figs.size(); ++i) {
    auto& f = figs[i];
    auto b = f.baseline();
    auto r = f.ratio();
    out << "    {\"name\": \"" << f.name << "\", \"value\": "
        << json_number(f.value()) << ", \"unit\": \"" << f.unit
        << "\", \"baseline\": " << (b ? json_number(*b) : "null")
        << ", \"ratio\": " << (r ? json_number(*r) : "null")
        << ", \"runs\": " << json_list(f.runs)
        << ", \"baseline_runs\": " << json_list(f.baseline_runs) << "}"
        << (i + 1 < figs.size() ? ",\n" : "\n");
  }
  out << "  ]\n}\n";
  return static_cast<bool>(out);
}

std::string machine_description() {
  std::string cpu;
  std::ifstream in{"/proc/cpuinfo"};
  std::string line;
  int cores = 0;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0 && cpu.empty())
      cpu = line.substr(line.find(':') + 2);
    if (line.rfind("processor", 0) == 0)
      ++cores;
  }
  utsname u{};
  uname(&u);
  return cpu + ", " + std::to_string(cores) + " cores, Linux " + u.release
         + ", SQLite " + sqlite3_libversion();
}

// -- the driver --------------------------------------------------------------------


const char* mode_name(sync_mode m) {
  return m == sync_mode::full ? "full" : "normal";
}

/// How many actions a write run times.
uint64_t write_ops(const settings& s, sync_mode mode, int callers) {
  if (s.quick)
    return callers == 1 ? 300 : 2000;
  if (callers == 1)
    return mode == sync_mode::full ? 3000 : 10'000;
  return callers <= 8 ? 20'000 : 40'000;
}

/// The figures of one write workload (ours against raw): rate, CPU per
/// action, and latency.
struct write_figures {
  figure rate;
  figure cpu;
  figure p50;
  figure p99;
  figure max;

  write_figures(const std::string& base, const char* rate_name,
                const char* rate_unit, const char* cpu_name)
    : rate{base + rate_name, rate_unit},
      cpu{base + cpu_name, "us"},
      p50{base + ".p50", "us"},
      p99{base + ".p99", "us"},
      max{base + ".max", "us"} {
    // nop
  }

  void add(const write_sample& ours, const write_sample& raw) {
    rate.runs.push_back(ours.per_second);
    rate.baseline_runs.push_back(raw.per_second);
    cpu.runs.push_back(ours.cpu_us);
    cpu.baseline_runs.push_back(raw.cpu_us);
    p50.runs.push_back(ours.p50);
    p50.baseline_runs.push_back(raw.p50);
    p99.runs.push_back(ours.p99);
    p99.baseline_runs.push_back(raw.p99);
    max.runs.push_back(ours.max);
    max.baseline_runs.push_back(raw.max);
  }

  void report(std::vector<figure>& figs) const {
    for (auto* f : {&rate, &cpu, &p50, &p99, &max}) {
      figs.push_back(*f);
      print_row(*f);
    }
  }
};

void bench_writes(const settings& s, std::vector<figure>& figs) {
  for (auto mode : s.modes) {
    for (int callers : s.callers) {
      auto ops = write_ops(s, mode, callers);
      write_figures f{"write." + std::string{mode_name(mode)} + ".callers"
                        + std::to_string(callers),
                      ".events_per_s", "events/s", ".cpu_per_event"};
      if (callers == 64)
        f.rate.target = ">= 0.60 of raw";
      for (int run = 0; run < s.runs; ++run) {
        auto ours = ours_callers(s.dir, mode, callers, ops);
        f.add(ours, raw_writes(s.dir, mode, callers, ops));
      }
      f.report(figs);
    }
  }
}

void bench_sync(const settings& s, std::vector<figure>& figs) {
  for (auto mode : s.modes) {
    for (int threads : {1, 8}) {
      uint64_t ops = s.quick ? 300
                             : (threads == 1 && mode == sync_mode::full
                                  ? 3000
                                  : 10'000);
      write_figures f{"sync." + std::string{mode_name(mode)} + ".threads"
                        + std::to_string(threads),
                      ".calls_per_s", "calls/s", ".cpu_per_call"};
      if (threads == 1)
        f.p50.target = "<= 2.0x one raw commit";
      for (int run = 0; run < s.runs; ++run) {
        auto ours = ours_sync(s.dir, mode, threads, ops);
        // As many actions per raw transaction as threads: one commit per
        // action for a single thread, the limit of its latency.
        f.add(ours, raw_writes(s.dir, mode, threads, ops));
      }
      f.report(figs);
    }
  }
}

/// Creates `n` orders in atomic batches of 1000 (NORMAL) with record keys of
/// `kind`; returns creates per second.
double key_run(const std::string& dir, key_kind kind, uint64_t n) {
  auto path = dir + "/bench-keys.db";
  remove_db(path);
  auto rt = runtime::start(bench_app(kind),
                           options_for(path, sync_mode::normal));
  if (!rt)
    die("start: " + render(rt.error()));
  auto t0 = clock_type::now();
  uint64_t written = 0;
  while (written < n) {
    batch_call b{"Shop.Order", "create"};
    b.atomic = true;
    b.actor = actor{"SystemActor", "keys"};
    for (uint64_t i = 0; i < 1000 && written + i < n; ++i)
      b.items.push_back(
        {{{"customer", json::string{"customer-" + std::to_string(written + i)}},
          {"note", json::string{make_note(written + i)}}},
         nullptr});
    for (auto& r : (*rt)->run_batch(b)) {
      if (!r)
        die("keys create: " + render(r.error()));
      ++written;
    }
  }
  auto secs = seconds(clock_type::now() - t0);
  (*rt)->stop();
  remove_db(path);
  return static_cast<double>(n) / secs;
}

/// Random (v4) against time-ordered (v7) record keys, on a table larger
/// than the page cache: the reason to prefer v7 where its embedded creation
/// time may be shown.
void bench_keys(const settings& s, std::vector<figure>& figs) {
  uint64_t n = s.quick ? 10'000 : 400'000;
  figure v7{"keys.uuid_v7.creates_per_s", "creates/s"};
  figure v4{"keys.uuid_v4.creates_per_s", "creates/s"};
  v4.target = "baseline: uuid_v7";
  for (int run = 0; run < s.runs; ++run) {
    v7.runs.push_back(key_run(s.dir, key_kind::uuid_v7, n));
    v4.runs.push_back(key_run(s.dir, key_kind::uuid_v4, n));
  }
  // The v4 figure is compared with v7, the key order it could have.
  v4.baseline_runs = v7.runs;
  for (auto* f : {&v7, &v4}) {
    figs.push_back(*f);
    print_row(*f);
  }
}

void bench_replay(const settings& s, const std::string& self,
                  std::vector<figure>& figs) {
  std::vector<uint64_t> sizes = s.quick ? std::vector<uint64_t>{10'000}
                                        : std::vector<uint64_t>{100'000,
                                                                1'000'000};
  for (auto n : sizes) {
    auto path = s.dir + "/bench-replay-" + std::to_string(n) + ".db";
    if (run_self(self, {"generate", path, std::to_string(n)}).empty()
        && !std::filesystem::exists(path))
      die("generating " + std::to_string(n) + " events failed");
    auto base = "replay." + std::to_string(n);
    figure rate{base + ".events_per_s", "events/s"};
    rate.target = ">= 0.50 of raw";
    figure rss{base + ".peak_rss", "MiB"};
    rss.target = "< 64 MiB";
    for (int run = 0; run < s.runs; ++run) {
      auto ours = replay_child(self, "replay-ours", path);
      auto raw = replay_child(self, "replay-raw", path);
      rate.runs.push_back(ours.per_second);
      rate.baseline_runs.push_back(raw.per_second);
      rss.runs.push_back(ours.rss_mib);
      rss.baseline_runs.push_back(raw.rss_mib);
    }
    for (auto* f : {&rate, &rss}) {
      figs.push_back(*f);
      print_row(*f);
    }
    remove_db(path);
  }
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (;;) {
    auto comma = list.find(',', pos);
    out.push_back(list.substr(pos, comma == std::string::npos
                                     ? std::string::npos
                                     : comma - pos));
    if (comma == std::string::npos)
      return out;
    pos = comma + 1;
  }
}

int usage() {
  std::fprintf(stderr,
               "usage: eventactors_bench [--quick] [--runs N] [--json FILE] "
               "[--dir DIR] [--only write,sync,replay,keys,remote]\n"
               "                         [--callers 1,8,64,256] "
               "[--modes normal,full] [--threads]\n"
               "                         [--checkpoint-pages N]\n");
  return 2;
}

} // namespace bench

using namespace bench;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 3 && args[0] == "generate")
    return generate(args[1], std::stoull(args[2]));
  if (args.size() == 2 && args[0] == "replay-ours")
    return replay_ours(args[1]);
  if (args.size() == 2 && args[0] == "replay-raw")
    return replay_raw(args[1]);
  if (!args.empty() && args[0] == "node")
    return node_main({args.begin() + 1, args.end()});
  settings s;
  for (size_t i = 0; i < args.size(); ++i) {
    auto& a = args[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size())
        return std::nullopt;
      return args[++i];
    };
    if (a == "--quick") {
      s.quick = true;
    } else if (a == "--threads") {
      show_threads = true;
    } else if (a == "--checkpoint-pages") {
      auto v = value();
      if (!v)
        return usage();
      checkpoint_pages = static_cast<uint32_t>(std::atoi(v->c_str()));
    } else if (a == "--runs") {
      auto v = value();
      if (!v || std::atoi(v->c_str()) < 1)
        return usage();
      s.runs = std::atoi(v->c_str());
    } else if (a == "--json") {
      auto v = value();
      if (!v)
        return usage();
      s.json_path = *v;
    } else if (a == "--dir") {
      auto v = value();
      if (!v)
        return usage();
      s.dir = *v;
    } else if (a == "--callers") {
      auto v = value();
      if (!v)
        return usage();
      s.callers.clear();
      for (auto& item : split(*v)) {
        auto n = std::atoi(item.c_str());
        if (n < 1 || n > 100'000)
          return usage();
        s.callers.push_back(n);
      }
      s.remote_callers = s.callers;
    } else if (a == "--modes") {
      auto v = value();
      if (!v)
        return usage();
      s.modes.clear();
      for (auto& item : split(*v)) {
        if (item == "normal")
          s.modes.push_back(sync_mode::normal);
        else if (item == "full")
          s.modes.push_back(sync_mode::full);
        else
          return usage();
      }
    } else if (a == "--only") {
      auto v = value();
      if (!v)
        return usage();
      s.only.clear();
      for (auto& item : split(*v)) {
        if (item != "write" && item != "sync" && item != "replay"
            && item != "keys" && item != "remote") {
          std::fprintf(stderr, "eventactors_bench: unknown part \"%s\"\n",
                       item.c_str());
          return usage();
        }
        s.only.insert(item);
      }
    } else {
      std::fprintf(stderr, "eventactors_bench: unknown argument \"%s\"\n",
                   a.c_str());
      return usage();
    }
  }
  if (s.quick && s.runs == 5)
    s.runs = 3;
  bool own_dir = s.dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/eventactors-bench-XXXXXX";
    if (!mkdtemp(tmpl))
      die("cannot create a scratch directory");
    s.dir = tmpl;
  }
  auto self = std::filesystem::canonical("/proc/self/exe").string();
  auto machine = machine_description();
  std::printf("eventactors_bench: %s%s, %d runs per figure, files in %s\n%s\n\n",
              s.quick ? "quick, " : "", "medians", s.runs, s.dir.c_str(),
              machine.c_str());
  std::vector<figure> figs;
  if (s.only.size() > s.only.count("remote"))
    print_header();
  if (s.only.count("write"))
    bench_writes(s, figs);
  if (s.only.count("sync"))
    bench_sync(s, figs);
  if (s.only.count("replay"))
    bench_replay(s, self, figs);
  if (s.only.count("keys"))
    bench_keys(s, figs);
  if (s.only.count("remote"))
    bench_remote(s, self, figs);
  for (auto name : {"bench-ours.db", "bench-raw.db"})
    remove_db(s.dir + "/" + name);
  if (own_dir)
    std::filesystem::remove_all(s.dir);
  if (!s.json_path.empty() && !write_json(s.json_path, figs, machine))
    die("cannot write " + s.json_path);
  return 0;
}
