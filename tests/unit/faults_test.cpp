// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Storage faults (issue 5, section 2): each fault is a clear error to the
// caller (a code and a message naming the problem), leaves no partial state,
// and normal service resumes once the fault is gone.
//
// How the faults are made (we may run as root, which ignores file modes):
// - disk full: a SQLite VFS shim refusing writes that grow the database's
//   files with SQLITE_FULL, as the unix VFS reports ENOSPC (always
//   available), and a real small tmpfs filled up with a file (when the
//   process may mount: CAP_SYS_ADMIN; skipped with a warning otherwise).
//   PRAGMA max_page_count is not used: it is a setting of one connection,
//   and the runtime's writer connection is not reachable from a test.
// - a read-only file: the immutable flag (FS_IOC_SETFLAGS, what `chattr +i`
//   does) when root, file mode 0444 otherwise; the flag also refuses writes
//   through descriptors opened before it was set.
// - another writer: a child process (this binary re-executed, see
//   support/faults.cpp) holding BEGIN IMMEDIATE on its own connection.
// - corrupt, truncated, newer-format and foreign files: bytes and PRAGMAs
//   written before the runtime starts.

#include "support/faults.hpp"
#include "support/query.hpp"
#include "support/records.hpp"
#include "support/temp_dir.hpp"

#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <functional>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include <catch2/catch.hpp>

using namespace eventactors;
using namespace eventactors::test;

namespace fs = std::filesystem;

namespace {

// -- the app ------------------------------------------------------------------------

app fault_app() {
  app a;
  a.add(event_log{"events"});
  auto& item = a.add(resource{"Item"});
  item.attribute("name", types::string(), {.allow_nil = false})
    .attribute("note", types::string());
  item.events("events");
  item.create("create").accept({"name", "note"});
  item.update("rename").accept({"name"});
  item.destroy("destroy");
  return a;
}

runtime_options options_for(const std::string& path) {
  runtime_options opts;
  opts.path = path;
  // Every failure here is expected well within this; a hang fails the test
  // instead of blocking it.
  opts.call_timeout = std::chrono::seconds{60};
  return opts;
}

std::unique_ptr<runtime> must_start(const std::string& path) {
  auto rt = runtime::start(fault_app(), options_for(path));
  if (!rt)
    FAIL("runtime::start on " << path << " failed: " << describe(rt.error()));
  return std::move(*rt);
}

/// Whether the file at `path` holds exactly `bytes` (without printing
/// them when not).
bool same_bytes(const std::string& path, const std::string& bytes) {
  auto now = read_bytes(path);
  INFO(path << ": " << now.size() << " bytes, expected " << bytes.size());
  return now == bytes;
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Whether the message of `err` contains one of `needles`
/// (case-insensitively).
bool names_any(const caf::error& err, std::vector<std::string> needles) {
  auto msg = lower(message(err));
  return std::any_of(needles.begin(), needles.end(), [&](const auto& n) {
    return msg.find(lower(n)) != std::string::npos;
  });
}

// -- reading the file from outside ----------------------------------------------------

/// Row counts of every table of the database at `path` (read-only; with
/// `immutable`, through SQLite's immutable URI parameter, which neither
/// locks nor writes anything, not even -shm).
std::map<std::string, int64_t> table_counts(const std::string& path,
                                            bool immutable = false) {
  std::map<std::string, int64_t> result;
  sqlite3* db = nullptr;
  auto uri = "file:" + path + (immutable ? "?immutable=1" : "?mode=ro");
  if (sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
                      nullptr)
      != SQLITE_OK) {
    sqlite3_close(db);
    result["<cannot open>"] = -1;
    return result;
  }
  sqlite3_busy_timeout(db, 10'000);
  std::vector<std::string> tables;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db,
                         "SELECT name FROM sqlite_master WHERE type = 'table' "
                         "ORDER BY name",
                         -1, &stmt, nullptr)
      == SQLITE_OK) {
    while (sqlite3_step(stmt) == SQLITE_ROW)
      tables.emplace_back(
        reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  }
  sqlite3_finalize(stmt);
  for (auto& t : tables)
    result[t] = count_rows(db, t);
  sqlite3_close(db);
  return result;
}

std::string integrity(const std::string& path) {
  sqlite3* db = nullptr;
  std::string result = "<cannot open>";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr)
      == SQLITE_OK) {
    sqlite3_busy_timeout(db, 10'000);
    sqlite3_stmt* stmt = nullptr;
    result.clear();
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr)
        == SQLITE_OK) {
      while (sqlite3_step(stmt) == SQLITE_ROW)
        result += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    } else {
      result = sqlite3_errmsg(db);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return result;
}

/// Runs `sql` (e.g. a PRAGMA) on a writable connection of our own; fails
/// the test when it fails.
void exec_pragma(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr)
          == SQLITE_OK);
  char* msg = nullptr;
  auto rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
  std::string why = msg ? msg : "";
  sqlite3_free(msg);
  sqlite3_close(db);
  INFO(sql << ": " << why);
  REQUIRE(rc == SQLITE_OK);
}

/// A database with `n` items, written by a runtime that is stopped again:
/// its WAL is checkpointed into the file.
std::vector<record> make_database(const std::string& path, int n) {
  std::vector<record> result;
  {
    auto rt = must_start(path);
    for (int i = 0; i < n; ++i)
      result.push_back(must_run(*rt, call{"Item", "create",
                                          {{"name", "item " + std::to_string(i)},
                                           {"note", std::string(300, 'x')}}}));
  }
  // Fold the WAL into the file, so that the file alone holds everything.
  exec_pragma(path, "PRAGMA wal_checkpoint(TRUNCATE)");
  return result;
}

/// The items of `rt` by name.
std::map<std::string, record> items_by_name(runtime& rt) {
  std::map<std::string, record> result;
  auto xs = rt.list("Item", {.limit = 100000});
  REQUIRE(xs);
  for (auto& r : *xs)
    result.emplace(std::string{r.get("name").as_string()}, r);
  return result;
}

/// The names in the data of every event of `rt`.
std::multiset<std::string> event_names(runtime& rt) {
  std::multiset<std::string> result;
  for (auto& ev : events_where(rt))
    if (auto n = ev.data.if_contains("name"); n && n->is_string())
      result.insert(std::string{n->as_string()});
  return result;
}

/// A runtime still serving: a create commits one event and one record.
void require_serving(runtime& rt, const std::string& path,
                     const std::string& name) {
  auto before = table_counts(path);
  auto rec = rt.run(call{"Item", "create", {{"name", name}}});
  INFO("create " << name << ": "
                 << (rec ? std::string{"ok"} : describe(rec.error())));
  REQUIRE(rec);
  auto after = table_counts(path);
  CHECK(after["events"] == before["events"] + 1);
  CHECK(after["item"] == before["item"] + 1);
  auto got = rt.get("Item", rec->id);
  REQUIRE(got);
  CHECK(got->get("name") == json::value(name));
}

/// The database agrees with itself: one create event per item, one event
/// per successful action, and replaying the log rebuilds the records.
void require_consistent(runtime& rt, const std::string& path) {
  CHECK(integrity(path) == "ok");
  auto evs = events_where(rt);
  auto items = rt.list("Item", {.limit = 100000});
  REQUIRE(items);
  std::set<std::string> live;
  for (auto& r : *items)
    live.insert(show(r.id));
  std::set<std::string> created;
  for (auto& ev : evs)
    if (ev.action == "create")
      created.insert(show(ev.record_id));
  CHECK(created == live);
  auto report = rt.verify();
  REQUIRE(report);
  CHECK(report->ok());
  CHECK(report->total_differences == 0);
}

// -- concurrent callers against a fault -------------------------------------------------

struct outcome {
  std::string what;   // "create" or "rename"
  std::string name;   // the name created or renamed to
  json::value id;     // the record (creates: when they succeeded)
  caf::error err;     // empty on success
};

/// `threads` callers, each running `per_thread` actions: creates, and
/// renames of a record of its own (`own[t]`).
std::vector<outcome> hammer(runtime& rt, const std::vector<record>& own,
                            int per_thread, const std::string& tag) {
  std::mutex mtx;
  std::vector<outcome> result;
  std::vector<std::thread> workers;
  for (size_t t = 0; t < own.size(); ++t) {
    workers.emplace_back([&, t] {
      std::vector<outcome> mine;
      for (int k = 0; k < per_thread; ++k) {
        auto name = tag + "-" + std::to_string(t) + "-" + std::to_string(k);
        outcome o;
        o.name = name;
        caf::expected<record> res{caf::error{}};
        if (k % 3 == 2) {
          o.what = "rename";
          o.id = own[t].id;
          res = rt.run(call{"Item", "rename", {{"name", name}}, own[t].id});
        } else {
          o.what = "create";
          res = rt.run(call{"Item", "create",
                            {{"name", name}, {"note", std::string(200, 'n')}}});
        }
        if (res) {
          if (o.what == "create")
            o.id = res->id;
        } else {
          o.err = res.error();
        }
        mine.push_back(std::move(o));
      }
      std::lock_guard<std::mutex> guard{mtx};
      for (auto& o : mine)
        result.push_back(std::move(o));
    });
  }
  for (auto& w : workers)
    w.join();
  return result;
}

/// Checks the outcomes of `hammer` against what is stored: every
/// acknowledged action is there with its event, nothing of a failed one is,
/// and every failure is a storage_failure naming `needles`. Returns the
/// number of failures.
size_t check_outcomes(runtime& rt, const std::string& path,
                      const std::vector<outcome>& outs,
                      const std::vector<record>& own,
                      const std::vector<std::string>& needles) {
  auto items = items_by_name(rt);
  auto names = event_names(rt);
  size_t failures = 0;
  for (auto& o : outs) {
    INFO(o.what << " " << o.name);
    if (o.err) {
      ++failures;
      INFO("error: " << describe(o.err));
      CHECK(is(o.err, errc::storage_failure));
      CHECK(names_any(o.err, needles));
      CHECK(items.count(o.name) == 0);
      CHECK(names.count(o.name) == 0);
    } else {
      CHECK(names.count(o.name) == 1);
      if (o.what == "create") {
        REQUIRE(items.count(o.name) == 1);
        CHECK(show(items.at(o.name).id) == show(o.id));
      }
    }
  }
  // The renames of each caller ran in order: the record has the name of the
  // last one that succeeded.
  for (size_t t = 0; t < own.size(); ++t) {
    std::string expected{own[t].get("name").as_string()};
    // The outcomes of one caller are in order in `outs`.
    for (auto& o : outs)
      if (o.what == "rename" && show(o.id) == show(own[t].id) && !o.err)
        expected = o.name;
    auto got = rt.get("Item", own[t].id);
    REQUIRE(got);
    CHECK(got->get("name") == json::value(expected));
  }
  // One event per acknowledged action, one record per acknowledged create.
  auto counts = table_counts(path);
  CHECK(static_cast<size_t>(counts["item"]) == items.size());
  CHECK(static_cast<size_t>(counts["events"]) == events_where(rt).size());
  return failures;
}

/// The disk-full scenario on a running runtime: `fill` makes the disk
/// full, `make_room` undoes it (without restarting the runtime).
void disk_full_scenario(runtime& rt, const std::string& path,
                        const std::function<void()>& fill,
                        const std::function<void()>& make_room) {
  // Four callers, each with a record of its own to rename.
  std::vector<record> own;
  for (int t = 0; t < 4; ++t)
    own.push_back(must_run(rt, call{"Item", "create",
                                    {{"name", "own " + std::to_string(t)}}}));
  auto events_before = events_where(rt).size();
  fill();
  // A single action on the full disk: refused, naming the problem.
  {
    auto before = table_counts(path);
    auto res = rt.run(call{"Item", "create", {{"name", "on a full disk"},
                                              {"note", std::string(8000, 'f')}}});
    REQUIRE_FALSE(res);
    INFO("error: " << describe(res.error()));
    CHECK(is(res.error(), errc::storage_failure));
    CHECK(names_any(res.error(), {"full"}));
    CHECK(table_counts(path) == before);
  }
  // Concurrent callers sharing group commits on the full disk.
  auto outs = hammer(rt, own, 12, "full");
  auto failures = check_outcomes(rt, path, outs, own, {"full"});
  CHECK(failures > 0);
  // Reads keep working.
  auto listed = rt.list("Item");
  REQUIRE(listed);
  CHECK(events_where(rt).size() >= events_before);
  // Room again: the same runtime serves, without a restart.
  make_room();
  require_serving(rt, path, "after the disk was full");
  for (auto& r : own)
    r = *rt.get("Item", r.id);
  auto again = hammer(rt, own, 6, "room");
  CHECK(check_outcomes(rt, path, again, own, {}) == 0);
  require_consistent(rt, path);
}

} // namespace

// -- disk full --------------------------------------------------------------------------

TEST_CASE("faults: disk full (SQLITE_FULL from the file system layer): "
          "actions fail with storage_failure, nothing is half-written, and "
          "the runtime serves again once there is room",
          "[faults]") {
  temp_dir dir;
  auto path = dir.file("full.db");
  disk_quota quota{dir.path().string()};
  SECTION("while running") {
    auto rt = must_start(path);
    disk_full_scenario(
      *rt, path,
      [&] {
        // Room for about one more commit, then nothing.
        quota.limit(12 * 1024);
      },
      [&] { quota.unlimited(); });
    CHECK(quota.refused() > 0);
  }
  SECTION("at start-up: a new database file cannot be created") {
    quota.limit(0);
    auto rt = runtime::start(fault_app(), options_for(path));
    REQUIRE_FALSE(rt);
    INFO("error: " << describe(rt.error()));
    CHECK(is(rt.error(), errc::storage_failure));
    CHECK(names_any(rt.error(), {"full"}));
    CHECK(names_any(rt.error(), {path}));
    quota.unlimited();
    auto ok = must_start(path);
    require_serving(*ok, path, "after start-up on a full disk");
    require_consistent(*ok, path);
  }
}

TEST_CASE("faults: disk full on a real file system (a small tmpfs filled "
          "up)",
          "[faults]") {
  temp_dir dir;
  auto mnt = dir.file("mnt");
  fs::create_directories(mnt);
  tmpfs_mount tmpfs{mnt, 4 * 1024 * 1024};
  if (!tmpfs.ok()) {
    WARN("skipped: cannot mount a tmpfs (" << tmpfs.error()
                                           << "); the quota VFS test covers "
                                              "disk full");
    return;
  }
  auto path = mnt + "/full.db";
  auto filler = mnt + "/filler";
  SECTION("while running") {
    {
      auto rt = must_start(path);
      disk_full_scenario(
        *rt, path,
        [&] {
          // Leave a few pages free, so that the first commits may still
          // fit and the disk runs full among concurrent callers.
          auto room = tmpfs.free_bytes();
          REQUIRE(room > 64 * 1024);
          fill_file(filler, room - 16 * 1024);
          INFO("free bytes after filling: " << tmpfs.free_bytes());
          CHECK(tmpfs.free_bytes() <= 16 * 1024);
        },
        [&] {
          // "Raising the limit": a bigger file system, the filler stays.
          REQUIRE(tmpfs.resize(16 * 1024 * 1024));
          CHECK(tmpfs.free_bytes() > 8 * 1024 * 1024);
        });
    }
    fs::remove(filler);
  }
  SECTION("at start-up") {
    auto room = tmpfs.free_bytes();
    fill_file(filler, room);
    INFO("free bytes after filling: " << tmpfs.free_bytes());
    auto rt = runtime::start(fault_app(), options_for(path));
    REQUIRE_FALSE(rt);
    INFO("error: " << describe(rt.error()));
    CHECK(is(rt.error(), errc::storage_failure));
    CHECK(names_any(rt.error(), {"full"}));
    fs::remove(filler);
    auto ok = must_start(path);
    require_serving(*ok, path, "after start-up on a full tmpfs");
    require_consistent(*ok, path);
  }
}

// -- read-only --------------------------------------------------------------------------

TEST_CASE("faults: a read-only database file refuses to start, unchanged, "
          "and starts once writable",
          "[faults]") {
  temp_dir dir;
  auto path = dir.file("ro.db");
  auto items = make_database(path, 5);
  REQUIRE_FALSE(fs::exists(path + "-wal"));
  auto bytes = read_bytes(path);
  auto counts = table_counts(path);
  if (auto why = read_only(path); !why.empty()) {
    WARN("skipped: cannot make the file read-only: " << why);
    return;
  }
  struct undo {
    std::string p;
    ~undo() {
      read_only(p, false);
    }
  } guard{path};
  auto rt = runtime::start(fault_app(), options_for(path));
  REQUIRE_FALSE(rt);
  INFO("error: " << describe(rt.error()));
  CHECK(is(rt.error(), errc::storage_failure));
  CHECK(names_any(rt.error(), {"read-only", "readonly"}));
  CHECK(names_any(rt.error(), {path}));
  CHECK(same_bytes(path, bytes));
  CHECK(table_counts(path, true) == counts);
  // Writable again: it starts with the records as they were.
  REQUIRE(read_only(path, false).empty());
  auto ok = must_start(path);
  for (auto& r : items) {
    auto got = ok->get("Item", r.id);
    REQUIRE(got);
    CHECK(got->get("name") == r.get("name"));
  }
  require_serving(*ok, path, "after the file was read-only");
  require_consistent(*ok, path);
}

TEST_CASE("faults: the database file turns read-only under a running "
          "runtime",
          "[faults]") {
  if (::geteuid() != 0) {
    WARN("skipped: only root can make an open file read-only (immutable "
         "flag)");
    return;
  }
  temp_dir dir;
  auto path = dir.file("ro.db");
  auto rt = must_start(path);
  auto first = must_run(*rt, call{"Item", "create", {{"name", "first"}}});
  REQUIRE(fs::exists(path + "-wal"));
  auto counts = table_counts(path);
  std::vector<std::string> locked_files{path, path + "-wal"};
  for (auto& f : locked_files)
    if (auto why = read_only(f); !why.empty()) {
      for (auto& g : locked_files)
        read_only(g, false);
      WARN("skipped: cannot set the immutable flag: " << why);
      return;
    }
  struct undo {
    std::vector<std::string> files;
    ~undo() {
      for (auto& f : files)
        read_only(f, false);
    }
  } guard{locked_files};
  REQUIRE(is_immutable(path + "-wal"));
  for (int i = 0; i < 3; ++i) {
    auto res = rt->run(call{"Item", "create",
                            {{"name", "refused " + std::to_string(i)}}});
    REQUIRE_FALSE(res);
    INFO("error: " << describe(res.error()));
    CHECK(is(res.error(), errc::storage_failure));
    // The message names the problem, not only "disk I/O error".
    CHECK(names_any(res.error(), {"read-only", "readonly",
                                  "operation not permitted", "permission"}));
  }
  auto upd = rt->run(call{"Item", "rename", {{"name", "renamed"}}, first.id});
  REQUIRE_FALSE(upd);
  CHECK(is(upd.error(), errc::storage_failure));
  // Reads keep working, and nothing was written.
  auto got = rt->get("Item", first.id);
  REQUIRE(got);
  CHECK(got->get("name") == "first");
  CHECK(table_counts(path) == counts);
  // Writable again: the same runtime serves.
  for (auto& f : locked_files)
    REQUIRE(read_only(f, false).empty());
  require_serving(*rt, path, "after the file was read-only");
  must_run(*rt, call{"Item", "rename", {{"name", "renamed"}}, first.id});
  CHECK(rt->get("Item", first.id)->get("name") == "renamed");
  require_consistent(*rt, path);
  auto names = event_names(*rt);
  for (int i = 0; i < 3; ++i)
    CHECK(names.count("refused " + std::to_string(i)) == 0);
}

TEST_CASE("faults: a read-only directory (read-only bind mount) refuses to "
          "start",
          "[faults]") {
  if (::geteuid() != 0) {
    WARN("skipped: a read-only bind mount needs root");
    return;
  }
  temp_dir dir;
  auto sub = dir.file("data");
  fs::create_directories(sub);
  auto path = sub + "/ro.db";
  make_database(path, 3);
  REQUIRE_FALSE(fs::exists(path + "-wal"));
  auto bytes = read_bytes(path);
  if (::mount(sub.c_str(), sub.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    WARN("skipped: cannot bind-mount: " << std::strerror(errno));
    return;
  }
  struct unmount {
    std::string d;
    ~unmount() {
      ::umount2(d.c_str(), MNT_DETACH);
    }
  } guard{sub};
  REQUIRE(::mount(nullptr, sub.c_str(), nullptr,
                  MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr)
          == 0);
  auto rt = runtime::start(fault_app(), options_for(path));
  REQUIRE_FALSE(rt);
  INFO("error: " << describe(rt.error()));
  CHECK(is(rt.error(), errc::storage_failure));
  CHECK(names_any(rt.error(), {path}));
  CHECK(same_bytes(path, bytes));
  REQUIRE(::umount2(sub.c_str(), 0) == 0);
  guard.d.clear();
  auto ok = must_start(path);
  CHECK(items_by_name(*ok).size() == 3);
  require_serving(*ok, path, "after the directory was read-only");
}

// -- another writer --------------------------------------------------------------------

TEST_CASE("faults: another process holding the write lock", "[faults]") {
  temp_dir dir;
  auto path = dir.file("locked.db");
  make_database(path, 2);
  lock_holder holder{path};
  SECTION("while running: actions fail naming the lock, reads go on, and "
          "the runtime serves once the lock is released") {
    auto rt = must_start(path);
    auto first = items_by_name(*rt).begin()->second;
    REQUIRE(holder.lock() == "locked");
    auto counts = table_counts(path);
    auto t0 = std::chrono::steady_clock::now();
    auto res = rt->run(call{"Item", "create", {{"name", "while locked"}}});
    auto waited = std::chrono::steady_clock::now() - t0;
    REQUIRE_FALSE(res);
    INFO("error: " << describe(res.error()));
    CHECK(is(res.error(), errc::storage_failure));
    CHECK(names_any(res.error(), {"locked"}));
    // A bounded wait (the busy timeout), well within the call timeout.
    CHECK(waited < std::chrono::seconds{30});
    // Reads are not blocked by another writer (WAL).
    auto got = rt->get("Item", first.id);
    REQUIRE(got);
    CHECK(rt->list("Item")->size() == 2);
    CHECK(table_counts(path) == counts);
    // Released by the other process: serving again.
    REQUIRE(holder.unlock() == "unlocked");
    require_serving(*rt, path, "after the lock was released");
    // The other process dies holding the lock: the OS releases it.
    REQUIRE(holder.lock() == "locked");
    holder.kill();
    require_serving(*rt, path, "after the lock holder died");
    CHECK(event_names(*rt).count("while locked") == 0);
    require_consistent(*rt, path);
  }
  SECTION("at start-up: a clear refusal, then a normal start") {
    REQUIRE(holder.lock() == "locked");
    auto bytes = read_bytes(path);
    auto rt = runtime::start(fault_app(), options_for(path));
    if (rt) {
      // Starting needs no write when the schema is current; then the first
      // write must name the lock.
      auto res = (*rt)->run(call{"Item", "create", {{"name", "x"}}});
      REQUIRE_FALSE(res);
      INFO("error: " << describe(res.error()));
      CHECK(is(res.error(), errc::storage_failure));
      CHECK(names_any(res.error(), {"locked"}));
      rt->reset();
    } else {
      INFO("error: " << describe(rt.error()));
      CHECK(is(rt.error(), errc::storage_failure));
      CHECK(names_any(rt.error(), {"locked"}));
      CHECK(names_any(rt.error(), {path}));
    }
    CHECK(same_bytes(path, bytes));
    REQUIRE(holder.unlock() == "unlocked");
    auto ok = must_start(path);
    require_serving(*ok, path, "after start-up under a lock");
  }
}

// -- corrupt and truncated files ----------------------------------------------------------

namespace {

/// The page number of the root page of `table` in the database at `path`.
int64_t root_page(const std::string& path, const std::string& table) {
  return query_int(path, "SELECT rootpage FROM sqlite_master WHERE name = '"
                           + table + "'")
    .value_or(-1);
}

int64_t page_size(const std::string& path) {
  return query_int(path, "PRAGMA page_size").value_or(4096);
}

std::string garbage(size_t n, unsigned seed) {
  std::string s(n, '\0');
  unsigned x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 16);
  }
  return s;
}

/// Starts a runtime on the damaged file at `path`, which must be refused
/// with a storage_failure naming the file and the damage, leaving the file
/// as it was; then restores `good` and checks that the records are back.
void require_refused(const std::string& path, const std::string& good,
                     const std::vector<record>& items) {
  auto damaged = read_bytes(path);
  auto rt = runtime::start(fault_app(), options_for(path));
  if (rt) {
    // It started: a failure of the expectation that start-up refuses. What
    // the damage does then is reported with it.
    auto xs = (*rt)->list("Item", {.limit = 100000});
    auto evs = (*rt)->events({});
    auto res = (*rt)->run(call{"Item", "create", {{"name", "on damage"}}});
    auto rep = (*rt)->verify();
    FAIL_CHECK("runtime::start accepted the damaged file; then list: "
               << (xs ? std::to_string(xs->size()) + " records"
                      : describe(xs.error()))
               << "; events: "
               << (evs ? std::to_string(evs->events.size()) + " events"
                       : describe(evs.error()))
               << "; create: " << (res ? "ok" : describe(res.error()))
               << "; verify: "
               << (rep ? (rep->ok() ? "ok" : "differences")
                       : describe(rep.error())));
    for (auto* err : {xs ? nullptr : &xs.error(), evs ? nullptr : &evs.error(),
                      res ? nullptr : &res.error()})
      if (err) {
        CHECK(is(*err, errc::storage_failure));
        CHECK(names_any(*err, {"corrupt", "malformed"}));
      }
    rt->reset();
  } else {
    INFO("error: " << describe(rt.error()));
    CHECK((is(rt.error(), errc::storage_failure)
           || is(rt.error(), errc::schema_mismatch)));
    CHECK(names_any(rt.error(), {"corrupt", "malformed", "not a database"}));
    CHECK(names_any(rt.error(), {path}));
    CHECK(same_bytes(path, damaged));
  }
  // The good file again: it starts and has every record.
  fs::remove(path + "-wal");
  fs::remove(path + "-shm");
  write_bytes(path, good);
  auto ok = must_start(path);
  auto by_name = items_by_name(*ok);
  CHECK(by_name.size() == items.size());
  for (auto& r : items)
    CHECK(by_name.count(std::string{r.get("name").as_string()}) == 1);
  require_serving(*ok, path, "after the damaged file was replaced");
}

} // namespace

TEST_CASE("faults: a corrupt file at start-up is refused clearly, never a "
          "crash",
          "[faults]") {
  temp_dir dir;
  auto path = dir.file("corrupt.db");
  auto items = make_database(path, 40);
  auto good = read_bytes(path);
  auto psize = page_size(path);
  REQUIRE(good.size() >= static_cast<size_t>(4 * psize));
  SECTION("not a SQLite file at all") {
    write_bytes(path, garbage(good.size(), 1));
    require_refused(path, good, items);
  }
  SECTION("a damaged header (magic string)") {
    patch_bytes(path, 0, garbage(16, 2));
    require_refused(path, good, items);
  }
  SECTION("an impossible page size in the header") {
    patch_bytes(path, 16, std::string{"\x00\x03", 2});
    require_refused(path, good, items);
  }
  SECTION("the schema page scribbled over") {
    patch_bytes(path, 100, garbage(static_cast<size_t>(psize) - 100, 3));
    require_refused(path, good, items);
  }
  SECTION("the root page of the event table scribbled over") {
    auto root = root_page(path, "events");
    REQUIRE(root > 1);
    patch_bytes(path, static_cast<uint64_t>((root - 1) * psize),
                garbage(static_cast<size_t>(psize), 4));
    require_refused(path, good, items);
  }
  SECTION("the root page of the record table scribbled over") {
    auto root = root_page(path, "item");
    REQUIRE(root > 1);
    patch_bytes(path, static_cast<uint64_t>((root - 1) * psize),
                garbage(static_cast<size_t>(psize), 5));
    require_refused(path, good, items);
  }
}

TEST_CASE("faults: a truncated file at start-up is refused clearly, never "
          "a crash",
          "[faults]") {
  temp_dir dir;
  auto path = dir.file("truncated.db");
  auto items = make_database(path, 40);
  auto good = read_bytes(path);
  auto psize = static_cast<size_t>(page_size(path));
  REQUIRE(good.size() >= 4 * psize);
  SECTION("to half its size") {
    write_bytes(path, good.substr(0, (good.size() / psize / 2) * psize));
    require_refused(path, good, items);
  }
  SECTION("to its first page") {
    write_bytes(path, good.substr(0, psize));
    require_refused(path, good, items);
  }
  SECTION("in the middle of a page") {
    write_bytes(path, good.substr(0, 2 * psize + 100));
    require_refused(path, good, items);
  }
  SECTION("inside the header") {
    write_bytes(path, good.substr(0, 50));
    require_refused(path, good, items);
  }
}

// -- files of another version or application ---------------------------------------------

TEST_CASE("faults: a file of a newer storage format or of another "
          "application is refused and left alone",
          "[faults]") {
  temp_dir dir;
  auto path = dir.file("other.db");
  auto items = make_database(path, 3);
  auto ours_version = query_int(path, "PRAGMA user_version");
  auto ours_app = query_int(path, "PRAGMA application_id");
  REQUIRE(ours_version);
  REQUIRE(ours_app);
  CHECK(*ours_app != 0);
  struct variant {
    std::string what;
    std::string pragma;
    std::vector<std::string> needles;
  };
  std::vector<variant> variants{
    {"a newer storage format",
     "PRAGMA user_version = " + std::to_string(*ours_version + 1),
     {"newer", std::to_string(*ours_version + 1)}},
    {"a much newer storage format", "PRAGMA user_version = 2147483647",
     {"newer", "2147483647"}},
    {"another application", "PRAGMA application_id = 305419896",
     {"another application", "305419896"}},
    {"another application (negative id)", "PRAGMA application_id = -1",
     {"another application"}},
  };
  for (auto& v : variants) {
    DYNAMIC_SECTION(v.what) {
      exec_pragma(path, v.pragma);
      exec_pragma(path, "PRAGMA wal_checkpoint(TRUNCATE)");
      auto bytes = read_bytes(path);
      auto counts = table_counts(path);
      auto rt = runtime::start(fault_app(), options_for(path));
      REQUIRE_FALSE(rt);
      INFO("error: " << describe(rt.error()));
      CHECK(is(rt.error(), errc::schema_mismatch));
      for (auto& n : v.needles)
        CHECK(names_any(rt.error(), {n}));
      CHECK(names_any(rt.error(), {path}));
      // Left alone: not migrated, not stamped.
      CHECK(same_bytes(path, bytes));
      CHECK(table_counts(path) == counts);
      // Ours again: it starts.
      exec_pragma(path, "PRAGMA user_version = " + std::to_string(*ours_version)
                          + "; PRAGMA application_id = "
                          + std::to_string(*ours_app));
      auto ok = must_start(path);
      CHECK(items_by_name(*ok).size() == items.size());
      require_serving(*ok, path, "after " + v.what);
    }
  }
}

TEST_CASE("faults: the start-up probe accepts indexes of other applications "
          "it cannot walk, and still finds a damaged one of ours",
          "[faults]") {
  temp_dir dir;
  auto path = dir.file("foreign.db");
  auto items = make_database(path, 20);
  // Indexes another tool added to our table: partial ones (whatever the
  // white space around WHERE), and one with another collation. The probe
  // cannot order through them; that is no damage.
  exec_pragma(path, "CREATE INDEX foreign_partial ON item(name) WHERE\n"
                    "note IS NOT NULL");
  exec_pragma(path, "CREATE INDEX foreign_nocase ON item(name COLLATE "
                    "NOCASE)");
  exec_pragma(path, "PRAGMA wal_checkpoint(TRUNCATE)");
  {
    auto rt = must_start(path);
    CHECK(items_by_name(*rt).size() == items.size());
    require_serving(*rt, path, "with foreign indexes");
  }
  exec_pragma(path, "PRAGMA wal_checkpoint(TRUNCATE)");
  // One of our indexes damaged: refused.
  auto root = query_int(path, "SELECT rootpage FROM sqlite_master WHERE "
                              "name = 'events.occurred_at'")
                .value_or(-1);
  REQUIRE(root > 1);
  auto psize = query_int(path, "PRAGMA page_size").value_or(4096);
  patch_bytes(path, static_cast<uint64_t>((root - 1) * psize),
              std::string(static_cast<size_t>(psize), '\x5a'));
  auto rt = runtime::start(fault_app(), options_for(path));
  REQUIRE_FALSE(rt);
  INFO("error: " << describe(rt.error()));
  CHECK(is(rt.error(), errc::storage_failure));
  CHECK(names_any(rt.error(), {"events.occurred_at"}));
  CHECK(names_any(rt.error(), {path}));
}
