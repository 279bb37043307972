// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Crash torture: a writer process runs a mixed workload with many concurrent
// callers (6 threads calling synchronously, 4 caller actors using
// `actions(rt)`: creates, updates, increments of shared counters and items,
// destroys, upserts, plain and atomic batches, a create whose after_action
// hook creates a child) and is killed with SIGKILL at random moments, again
// and again, on the same database. After every kill the driver checks that
// no acknowledged action was lost and that the file is whole:
//
// - every acknowledged action (recorded by the writer in a side file, and
//   fsync'ed, after the runtime acknowledged it) has its event in the log,
//   with the same resource, action, record, data, metadata and actor, and
//   the values the writer got back agree with the event;
// - the record change of every event is there: a record exists exactly when
//   its last event is not a destroy, it equals the acknowledged result when
//   its last event was acknowledged, the counters hold exactly their
//   increments (1, 2, 3, ... in id order), a parent created with a child by
//   an after_action hook has the child's event right after its own;
// - `runtime::verify()` of the whole log reports no difference;
// - `PRAGMA integrity_check` is ok;
// - the history before the kill is unchanged, new event ids are larger than
//   every earlier one, and the log accepts a new write (a probe action).
//
// Some rounds kill a replay. A quiet writer stops its callers, snapshots the
// tables, and replays the whole log in a loop until killed: afterwards the
// records must equal the snapshot (a full replay rebuilds the same records,
// a killed one must leave the old ones). A busy writer replays in a loop
// while its callers go on (refused with replay_in_progress while a replay
// runs); its rounds get the checks above.
//
// Waiting before a kill is the only use of time: it picks the moment. The
// driver follows the writer through lines on its stdout ("ready", "replay",
// progress), and no check depends on timing.
//
// Usage:
//   eventactors_torture run --kills N --mode full|normal [--dir D]
//                           [--seed S] [--keep]
//     kills a writer N times (the long mode is 200); --keep keeps the
//     temporary directory, --dir reuses (wipes) a directory of a former run
//   eventactors_torture run --kills 1 --mode normal
//                           --sabotage drop-event|alter-record
//     self-test: damages the database after the kill, must report it
//   eventactors_torture writer DIR MODE ROUND SEED REPLAY_AFTER quiet|busy
//     (started by `run`; runs until killed)

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <sqlite3.h>

#include "eventactors/all.hpp"

using namespace eventactors;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// -- the application under torture --------------------------------------------

constexpr const char* item_res = "Torture.Item";
constexpr const char* child_res = "Torture.Child";
constexpr const char* counter_res = "Torture.Counter";

constexpr int counter_count = 8;
constexpr int sku_count = 40;
constexpr int worker_threads = 6;
constexpr int caller_actors = 4;
constexpr auto call_timeout = std::chrono::seconds{60};

/// Items (UUID v4 keys, timestamps, an upsert identity, an increment, a
/// create whose after_action hook creates a child), children (UUID v7 keys,
/// belongs_to an item) and shared counters (an upsert to ensure them, an
/// increment to bump them).
app torture_app() {
  app a;
  a.add(event_log{"events"})
    .persist_actor_primary_key("worker", "Worker",
                               {.type = actor_key_kind::string});
  auto& item = a.add(resource{item_res});
  item.attribute("name", types::string(), {.allow_nil = false})
    .attribute("note", types::string())
    .attribute("qty", types::integer(), {.default_value = 0})
    .attribute("sku", types::string())
    .timestamps()
    .identity("sku", {"sku"});
  item.events("events")
    .create_timestamp("created_at")
    .update_timestamp("updated_at");
  item.create("create").accept({"name", "note", "qty"});
  item.create("create_with_child")
    .accept({"name", "note", "qty"})
    .after_action("child",
                  [](hook_context& ctx, const changeset&,
                     record& rec) -> caf::error {
                    auto name = rec.get_string("name");
                    call c{child_res,
                           "create",
                           {{"parent_id", rec.id},
                            {"label", "child of " + std::string{name}}}};
                    if (auto child = ctx.run(std::move(c)); !child)
                      return child.error();
                    return {};
                  });
  item.create("put").accept({"sku", "name", "note", "qty"}).upsert("sku");
  item.update("edit").accept({"note", "qty"});
  item.update("add").change(changes::increment("qty"));
  item.destroy("destroy");
  auto& child = a.add(resource{child_res});
  child.primary_key("id", key_kind::uuid_v7)
    .belongs_to("parent", item_res)
    .attribute("label", types::string());
  child.events("events");
  child.create("create").accept({"parent_id", "label"});
  auto& counter = a.add(resource{counter_res});
  // No default for `value`: an upsert hitting an existing counter must not
  // reset it; the increment counts null as 0.
  counter.attribute("name", types::string(), {.allow_nil = false})
    .attribute("value", types::integer())
    .identity("name", {"name"});
  counter.events("events");
  counter.create("ensure").accept({"name"}).upsert("name");
  counter.update("bump").change(changes::increment("value"));
  return a;
}

sync_mode parse_mode(const std::string& x) {
  return x == "normal" ? sync_mode::normal : sync_mode::full;
}

std::string text(const json::value& x) {
  return json::serialize(x);
}

// -- small POSIX helpers ------------------------------------------------------

[[noreturn]] void die(const std::string& what, int code = 3) {
  auto line = "torture writer: " + what + "\n";
  auto ignored = ::write(2, line.data(), line.size());
  (void)ignored;
  ::_exit(code);
}

/// Writes all of `x` to `fd`; false on error.
bool write_all(int fd, std::string_view x) {
  while (!x.empty()) {
    auto n = ::write(fd, x.data(), x.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    x.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

/// Tells the driver (our stdout is a pipe) where the writer is.
void say(const std::string& line) {
  write_all(1, line + "\n");
}

/// Writes `contents` to `path` durably: a temporary file, fsync, rename,
/// fsync of the directory.
bool write_file_durably(const fs::path& path, const std::string& contents) {
  auto tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return false;
  bool ok = write_all(fd, contents) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
    return false;
  int dfd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

std::string read_file(const fs::path& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string tail(const std::string& x, size_t n = 2000) {
  return x.size() <= n ? x : "..." + x.substr(x.size() - n);
}

// -- table dumps (replay snapshots) -------------------------------------------

/// The contents of every resource table, ordered by primary key, as text:
/// `values` without the internal `_version` column, `versions` with it
/// alone (which tells an untouched table from a rebuilt one).
struct table_dump {
  std::string values;
  std::string versions;
};

std::string render_column(sqlite3_stmt* st, int i) {
  switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL: return "null";
    case SQLITE_INTEGER: return std::to_string(sqlite3_column_int64(st, i));
    case SQLITE_FLOAT: {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.17g", sqlite3_column_double(st, i));
      return buf;
    }
    default: {
      auto p = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
      return '"' + std::string{p ? p : ""} + '"';
    }
  }
}

/// Runs `sql` on `db` and calls `row` per result row; returns an error
/// message or an empty string.
std::string query(sqlite3* db, const std::string& sql,
                  const std::function<void(sqlite3_stmt*)>& row) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
    return sql + ": " + sqlite3_errmsg(db);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    row(st);
  std::string err = rc == SQLITE_DONE ? "" : sql + ": " + sqlite3_errmsg(db);
  sqlite3_finalize(st);
  return err;
}

struct db_handle {
  sqlite3* db = nullptr;
  ~db_handle() {
    sqlite3_close_v2(db);
  }
};

/// Opens `path` (which must exist) for reading through a connection of our
/// own; the file is in WAL mode, so this works while a runtime writes.
std::string open_db(const std::string& path, db_handle& h) {
  if (sqlite3_open_v2(path.c_str(), &h.db, SQLITE_OPEN_READWRITE, nullptr)
      != SQLITE_OK)
    return "cannot open " + path + ": "
           + (h.db ? sqlite3_errmsg(h.db) : "out of memory");
  sqlite3_busy_timeout(h.db, 10'000);
  return {};
}

std::string dump_tables(const std::string& path, const app& defs,
                        table_dump& out) {
  db_handle h;
  if (auto err = open_db(path, h); !err.empty())
    return err;
  // One read transaction: all tables from the same snapshot.
  if (auto err = query(h.db, "BEGIN", [](sqlite3_stmt*) {}); !err.empty())
    return err;
  for (auto& res : defs.resources()) {
    out.values += "table " + res.table() + "\n";
    out.versions += "table " + res.table() + "\n";
    auto err = query(h.db,
                     "SELECT * FROM \"" + res.table() + "\" ORDER BY \""
                       + res.primary_key() + "\"",
                     [&](sqlite3_stmt* st) {
                       for (int i = 0; i < sqlite3_column_count(st); ++i) {
                         std::string name = sqlite3_column_name(st, i);
                         auto& dst = name == "_version" ? out.versions
                                                        : out.values;
                         dst += name + "=" + render_column(st, i) + " ";
                       }
                       out.values += "\n";
                       out.versions += "\n";
                     });
    if (!err.empty())
      return err;
  }
  query(h.db, "COMMIT", [](sqlite3_stmt*) {});
  return {};
}

// -- writer -------------------------------------------------------------------

/// A side file of acknowledged actions: one JSON line per action, written
/// and fsync'ed before the action counts as acknowledged.
class ack_file {
public:
  explicit ack_file(const fs::path& path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd_ < 0)
      die("cannot open " + path.string() + ": " + std::strerror(errno));
  }

  ~ack_file() {
    ::close(fd_);
  }

  void append(const json::object& line) {
    auto x = json::serialize(line) + "\n";
    if (!write_all(fd_, x) || ::fdatasync(fd_) != 0)
      die(std::string{"cannot write an acknowledgement: "}
          + std::strerror(errno));
  }

private:
  int fd_ = -1;
};

/// Primary keys of items that callers may update or destroy.
class id_pool {
public:
  void add(const std::string& id) {
    std::lock_guard guard{mtx_};
    if (index_.count(id) == 0) {
      index_.emplace(id, ids_.size());
      ids_.push_back(id);
    }
  }

  void remove(const std::string& id) {
    std::lock_guard guard{mtx_};
    auto i = index_.find(id);
    if (i == index_.end())
      return;
    auto pos = i->second;
    index_.erase(i);
    if (pos + 1 != ids_.size()) {
      ids_[pos] = std::move(ids_.back());
      index_[ids_[pos]] = pos;
    }
    ids_.pop_back();
  }

  /// Up to `n` distinct ids picked at random.
  std::vector<std::string> pick(std::mt19937_64& rng, size_t n) {
    std::lock_guard guard{mtx_};
    std::set<size_t> picked;
    for (size_t tries = 0;
         picked.size() < std::min(n, ids_.size()) && tries < 4 * n; ++tries)
      picked.insert(rng() % ids_.size());
    std::vector<std::string> out;
    for (auto i : picked)
      out.push_back(ids_[i]);
    return out;
  }

private:
  std::mutex mtx_;
  std::vector<std::string> ids_;
  std::unordered_map<std::string, size_t> index_;
};

/// What all callers of one writer process share.
struct writer_state {
  runtime* rt = nullptr;
  int round = 0;
  fs::path ack_dir;
  id_pool items;
  std::vector<std::string> counters;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> acked{0};
  uint64_t replay_after = 0;
  /// Callers keep calling while replays run (and get replay_in_progress).
  bool busy_replay = false;
  std::mutex mtx;
  std::condition_variable cv;
};

/// One planned call: a single action or a batch.
struct plan {
  bool is_batch = false;
  call single;
  batch_call batch;
};

/// One caller (a thread or an actor): plans calls and records the
/// acknowledged ones in its side file.
class worker {
public:
  worker(writer_state& st, std::string name, uint64_t seed)
    : st_(st), name_(std::move(name)), rng_(seed),
      acks_(st.ack_dir
            / ("r" + std::to_string(st.round) + "-" + name_ + ".log")) {
    // nop
  }

  /// Picks the next call at random.
  plan next() {
    ++seq_;
    plan p;
    json::object meta{{"r", st_.round}, {"w", name_}, {"n", seq_}};
    auto r = rng_() % 100;
    auto some_item = [&]() -> std::optional<std::string> {
      auto ids = st_.items.pick(rng_, 1);
      if (ids.empty())
        return std::nullopt;
      return ids.front();
    };
    auto single = [&](std::string res, std::string act, json::object input,
                      json::value id = nullptr) {
      p.single = call{std::move(res), std::move(act), std::move(input),
                      std::move(id)};
      p.single.actor = actor{"Worker", json::string{name_}};
      p.single.metadata = meta;
    };
    // Updates and destroys need an item; without one, create.
    std::optional<std::string> id;
    if ((r >= 28 && r < 45) || (r >= 70 && r < 75)) {
      id = some_item();
      if (!id)
        r = 0;
    }
    if (r < 18) {
      single(item_res, "create", item_input());
    } else if (r < 28) {
      single(item_res, "create_with_child", item_input());
    } else if (r < 40) {
      single(item_res, "edit",
             {{"note", note()}, {"qty", static_cast<int64_t>(rng_() % 1000)}},
             json::string{*id});
    } else if (r < 45) {
      single(item_res, "add", {}, json::string{*id});
    } else if (r < 70) {
      auto c = st_.counters[rng_() % st_.counters.size()];
      single(counter_res, "bump", {}, json::string{c});
    } else if (r < 75) {
      single(item_res, "destroy", {}, json::string{*id});
    } else if (r < 85) {
      auto input = item_input();
      input["sku"] = "sku-" + std::to_string(rng_() % sku_count);
      single(item_res, "put", std::move(input));
    } else {
      p.is_batch = true;
      p.batch.actor = actor{"Worker", json::string{name_}};
      p.batch.metadata = meta;
      p.batch.atomic = rng_() % 2 == 0;
      p.batch.resource = item_res;
      if (r < 93) {
        // Creates, creates whose hook adds a child, or upserts (two items
        // of one batch may hit the same identity).
        static constexpr const char* creates[] = {"create", "create",
                                                  "create_with_child", "put"};
        p.batch.action = creates[rng_() % 4];
        auto n = 2 + rng_() % 7;
        for (size_t i = 0; i < n; ++i) {
          auto input = item_input();
          if (p.batch.action == "put")
            input["sku"] = "sku-" + std::to_string(rng_() % sku_count);
          p.batch.items.push_back({std::move(input), nullptr});
        }
      } else {
        p.batch.action = "edit";
        for (auto& key : st_.items.pick(rng_, 2 + rng_() % 3))
          p.batch.items.push_back(
            {{{"note", note()}, {"qty", static_cast<int64_t>(rng_() % 1000)}},
             json::string{key}});
        if (p.batch.items.empty()) {
          p.batch.action = "create";
          p.batch.items.push_back({item_input(), nullptr});
        }
      }
    }
    return p;
  }

  /// Checks the outcome of `p` and records every acknowledged action.
  void finish(const plan& p, std::vector<caf::expected<record>> results) {
    if (!p.is_batch) {
      if (results.size() != 1)
        die("expected one result");
      one(p.single.resource, p.single.action, p.single.input,
          p.single.record_id, p.single.metadata, results.front());
      return;
    }
    if (results.size() != p.batch.items.size())
      die(p.batch.resource + "." + p.batch.action + ": "
          + std::to_string(results.size()) + " results for "
          + std::to_string(p.batch.items.size()) + " items");
    for (size_t i = 0; i < results.size(); ++i)
      one(p.batch.resource, p.batch.action, p.batch.items[i].input,
          p.batch.items[i].record_id, p.batch.metadata, results[i]);
  }

  /// Runs `p` synchronously (from a plain thread).
  void run(const plan& p) {
    if (p.is_batch)
      finish(p, st_.rt->run_batch(p.batch));
    else
      finish(p, {st_.rt->run(p.single)});
  }

private:
  std::string note() {
    // Mostly short notes, now and then a long one (page overflow).
    auto n = rng_() % 10 == 0 ? 500 + rng_() % 2000 : 8 + rng_() % 40;
    std::string x = name_ + "-" + std::to_string(seq_) + "-";
    while (x.size() < n)
      x += static_cast<char>('a' + rng_() % 26);
    return x;
  }

  json::object item_input() {
    return {{"name", name_ + "-" + std::to_string(seq_)},
            {"note", note()},
            {"qty", static_cast<int64_t>(rng_() % 1000)}};
  }

  void one(const std::string& res, const std::string& act,
           const json::object& input, const json::value& id,
           const json::object& meta, const caf::expected<record>& result) {
    auto what = res + "." + act + (id.is_null() ? "" : " " + text(id));
    if (!result) {
      auto& err = result.error();
      // An update or destroy may find its record destroyed by another
      // caller; optimistic retries may run out under contention. Neither
      // wrote anything. Everything else is unexpected here.
      if (is(err, errc::not_found) && !id.is_null())
        return;
      if (is(err, errc::concurrent_modification))
        return;
      if (is(err, errc::replay_in_progress) && st_.busy_replay) {
        // Back off a little instead of spinning against the gate.
        std::this_thread::sleep_for(1ms);
        return;
      }
      die(what + ": unexpected error: " + render(err));
    }
    auto& rec = *result;
    if (rec.event_id.is_null())
      die(what + ": acknowledged without an event id");
    if (!id.is_null() && rec.id != id)
      die(what + ": returned the record " + text(rec.id));
    json::object line{{"e", rec.event_id}, {"r", res},   {"a", act},
                      {"id", rec.id},      {"d", input}, {"m", meta},
                      {"w", name_}};
    if (act != "destroy")
      line["v"] = rec.values;
    acks_.append(line);
    if (res == item_res) {
      auto key = std::string{rec.id.as_string()};
      if (act == "destroy")
        st_.items.remove(key);
      else
        st_.items.add(key);
    }
    if (++st_.acked == st_.replay_after) {
      std::lock_guard guard{st_.mtx};
      st_.cv.notify_all();
    }
  }

  writer_state& st_;
  std::string name_;
  std::mt19937_64 rng_;
  ack_file acks_;
  uint64_t seq_ = 0;
};

/// A caller actor: one request at a time through `actions(rt)`, the next one
/// once the reply arrived; reports to `parent` when told to stop.
caf::behavior caller_actor(caf::event_based_actor* self, action_actor service,
                           writer_state* st, std::shared_ptr<worker> w,
                           caf::actor parent) {
  self->send(self, caf::tick_atom_v);
  return {
    [=](caf::tick_atom) {
      if (st->stop) {
        self->send(parent, caf::ok_atom_v);
        self->quit();
        return;
      }
      auto p = std::make_shared<plan>(w->next());
      auto on_error = [=](caf::error& err) {
        std::vector<caf::expected<record>> results;
        auto n = p->is_batch ? p->batch.items.size() : 1;
        for (size_t i = 0; i < n; ++i)
          results.emplace_back(err);
        w->finish(*p, std::move(results));
        self->send(self, caf::tick_atom_v);
      };
      if (!p->is_batch) {
        self->request(service, call_timeout, run_atom_v, p->single)
          .then(
            [=](record& rec) {
              w->finish(*p, {std::move(rec)});
              self->send(self, caf::tick_atom_v);
            },
            on_error);
      } else {
        self->request(service, call_timeout, run_batch_atom_v, p->batch)
          .then(
            [=](batch_result& res) {
              std::vector<caf::expected<record>> results;
              for (size_t i = 0; i < res.records.size(); ++i)
                if (i < res.errors.size() && res.errors[i])
                  results.emplace_back(res.errors[i]);
                else
                  results.emplace_back(std::move(res.records[i]));
              w->finish(*p, std::move(results));
              self->send(self, caf::tick_atom_v);
            },
            on_error);
      }
    },
  };
}

int writer_main(const std::string& dir, const std::string& mode, int round,
                uint64_t seed, uint64_t replay_after, bool busy) {
  auto db = (fs::path{dir} / "torture.db").string();
  // Rounds vary how many units share a commit, and the page cache: a small
  // one makes SQLite spill dirty pages into the write-ahead log before the
  // commit, in the middle of big transactions such as a replay's.
  static constexpr uint32_t batches[] = {1, 8, 64, 256};
  static constexpr uint32_t caches[] = {128, 16 * 1024};
  runtime_options ro{.path = db,
                     .synchronous = parse_mode(mode),
                     .max_batch = batches[(seed >> 1) % 4],
                     .cache_kib = caches[(seed >> 3) % 2]};
  auto rt = runtime::start(torture_app(), ro);
  if (!rt)
    die("cannot start the runtime: " + render(rt.error()), 2);
  writer_state st;
  st.rt = rt->get();
  st.round = round;
  st.ack_dir = fs::path{dir} / "acks";
  st.replay_after = replay_after;
  st.busy_replay = busy;
  // Items of earlier rounds are fair game for updates and destroys.
  for (uint64_t offset = 0;; offset += 10'000) {
    auto page = st.rt->list(item_res, {.limit = 10'000, .offset = offset});
    if (!page)
      die("cannot list items: " + render(page.error()));
    for (auto& rec : *page)
      st.items.add(std::string{rec.id.as_string()});
    if (page->size() < 10'000)
      break;
  }
  // The shared counters: an upsert each, acknowledged like any action.
  {
    worker main{st, "main", seed};
    for (int i = 0; i < counter_count; ++i) {
      plan p;
      p.single = call{
        counter_res, "ensure", {{"name", "c" + std::to_string(i)}}};
      p.single.actor = actor{"Worker", "main"};
      p.single.metadata = {{"r", round}, {"w", "main"}, {"n", i}};
      auto rec = st.rt->run(p.single);
      main.finish(p, {rec});
      st.counters.push_back(std::string{rec->id.as_string()});
    }
  }
  say("ready max_batch=" + std::to_string(ro.max_batch)
      + " cache_kib=" + std::to_string(ro.cache_kib));
  std::vector<std::thread> threads;
  for (int i = 0; i < worker_threads; ++i)
    threads.emplace_back([&st, i, seed] {
      worker w{st, "t" + std::to_string(i), seed * 31 + i + 1};
      while (!st.stop)
        w.run(w.next());
    });
  auto& sys = st.rt->system();
  caf::scoped_actor self{sys};
  for (int i = 0; i < caller_actors; ++i) {
    auto w = std::make_shared<worker>(st, "a" + std::to_string(i),
                                      seed * 37 + i + 101);
    sys.spawn<caf::detached>(caller_actor, actions(*st.rt), &st, w,
                             caf::actor{self});
  }
  if (replay_after == 0) {
    // Runs until killed.
    for (auto& t : threads)
      t.join();
    return 0;
  }
  {
    std::unique_lock guard{st.mtx};
    st.cv.wait(guard, [&] {
      return st.acked >= replay_after;
    });
  }
  if (!busy) {
    // Quiesce: every caller finishes its call in flight and stops, so the
    // tables hold what the log says and nothing changes them until the
    // replay.
    st.stop = true;
    for (auto& t : threads)
      t.join();
    for (int i = 0; i < caller_actors; ++i)
      self->receive([](caf::ok_atom) {}, caf::after(std::chrono::seconds{120})
                                           >>
                                           [] {
                                             die("a caller actor did not stop");
                                           });
    table_dump snap;
    if (auto err = dump_tables(db, st.rt->definitions(), snap); !err.empty())
      die("snapshot: " + err);
    auto snap_path = fs::path{dir}
                     / ("snap-r" + std::to_string(round) + ".txt");
    if (!write_file_durably(snap_path, snap.values)
        || !write_file_durably(snap_path.string() + ".versions", snap.versions))
      die("cannot write the snapshot");
  }
  // Busy: the callers go on; while a replay runs they get
  // replay_in_progress, in between their actions commit.
  say("replay");
  for (int n = 1;; ++n) {
    say("replay-start " + std::to_string(n));
    auto summary = st.rt->replay({}, [](const replay_progress& x) {
      say("progress " + std::to_string(x.applied) + " "
          + std::to_string(x.total));
    });
    if (!summary)
      die("replay " + std::to_string(n) + " failed: " + render(summary.error()),
          4);
    say("replayed " + std::to_string(summary->events));
  }
}

// -- driver -------------------------------------------------------------------

/// An acknowledged action as recorded in a side file.
struct ack {
  json::value event_id;
  std::string resource;
  std::string action;
  json::value record_id;
  json::object data;
  json::object metadata;
  std::string worker;
  std::optional<json::object> values;
  int round = 0;
  std::string origin; // file:line
};

/// An event as read back from the log.
struct logged {
  std::string resource;
  std::string action;
  action_kind type;
  json::value record_id;
  json::object data;
  json::object changed;
  json::object metadata;
  json::object actors;
};

/// Reads the complete lines of a side file. A last line without its newline
/// was cut by the kill before it was written: that action never counted.
std::vector<ack> read_acks(const fs::path& path, int round,
                           std::vector<std::string>& problems) {
  std::vector<ack> out;
  auto contents = read_file(path);
  size_t pos = 0;
  for (int line_no = 1;; ++line_no) {
    auto nl = contents.find('\n', pos);
    if (nl == std::string::npos)
      break;
    auto line = contents.substr(pos, nl - pos);
    pos = nl + 1;
    auto origin = path.filename().string() + ":" + std::to_string(line_no);
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    if (ec || !v.is_object()) {
      problems.push_back("side file " + origin + " is not a JSON object");
      continue;
    }
    auto& o = v.as_object();
    ack a;
    a.event_id = o["e"];
    a.resource = o["r"].as_string();
    a.action = o["a"].as_string();
    a.record_id = o["id"];
    a.data = o["d"].as_object();
    a.metadata = o["m"].as_object();
    a.worker = o["w"].as_string();
    if (auto vals = o.if_contains("v"))
      a.values = vals->as_object();
    a.round = round;
    a.origin = std::move(origin);
    out.push_back(std::move(a));
  }
  return out;
}

/// Reads a child's stdout line by line, with deadlines.
class line_reader {
public:
  explicit line_reader(int fd) : fd_(fd) {
    // nop
  }

  /// Reads until `stop(line)` holds for a line, the pipe closes, or
  /// `deadline` passes; returns whether `stop` held.
  bool until(std::chrono::steady_clock::time_point deadline,
             const std::function<bool(const std::string&)>& stop) {
    for (;;) {
      auto nl = buf_.find('\n');
      while (nl != std::string::npos) {
        auto line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        lines_.push_back(line);
        if (stop && stop(line))
          return true;
        nl = buf_.find('\n');
      }
      if (eof_)
        return false;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
      if (left <= 0)
        return false;
      pollfd pfd{fd_, POLLIN, 0};
      auto rc = ::poll(&pfd, 1, static_cast<int>(left));
      if (rc < 0 && errno == EINTR)
        continue;
      if (rc <= 0)
        continue;
      char tmp[4096];
      auto n = ::read(fd_, tmp, sizeof(tmp));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        eof_ = true;
      else
        buf_.append(tmp, static_cast<size_t>(n));
    }
  }

  /// Reads the rest until the pipe closes.
  void drain() {
    until(std::chrono::steady_clock::now() + 60s, nullptr);
  }

  const std::vector<std::string>& lines() const {
    return lines_;
  }

private:
  int fd_;
  std::string buf_;
  bool eof_ = false;
  std::vector<std::string> lines_;
};

struct child_process {
  pid_t pid = -1;
  int out = -1;
};

child_process spawn_writer(const std::vector<std::string>& args,
                           const fs::path& err_file) {
  int fds[2];
  if (::pipe(fds) != 0)
    throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  posix_spawn_file_actions_addopen(&fa, 2, err_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  child_process child;
  auto rc = posix_spawn(&child.pid, argv[0], &fa, nullptr, argv.data(),
                        environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    throw std::runtime_error(std::string{"posix_spawn failed: "}
                             + std::strerror(rc));
  }
  child.out = fds[0];
  return child;
}

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string{"eventactors_torture"} : p.string();
}

struct driver_options {
  int kills = 10;
  std::string mode = "full";
  std::string dir;
  uint64_t seed = 0;
  bool keep = false;
  /// Self-test of the checks: damages the database after the first kill
  /// (`drop-event`: deletes the last acknowledged event; `alter-record`:
  /// changes a stored item behind the log's back), so that the run must
  /// report a violation.
  std::string sabotage;
};

/// What the driver carries from round to round.
struct driver_state {
  driver_options opts;
  fs::path dir;
  std::string db;
  std::mt19937_64 rng;
  std::vector<ack> acks;
  // The log as of the end of the previous round's check (after its probe):
  // no event at or below `max_id` may change or appear afterwards.
  int64_t max_id = 0;
  uint64_t history_count = 0;
  uint64_t history_hash = 0;
  // Figures for the summary.
  uint64_t writer_acks = 0;
  uint64_t probes = 0;
  uint64_t lost = 0;
  int kills = 0;
  int early_kills = 0;
  int replay_rounds = 0;
  int busy_kills = 0;
  int busy_rounds = 0;
  int replay_kills = 0;
  int replays_completed = 0;
  int version_notes = 0;
  uint64_t events = 0;
  uint64_t unacked_events = 0;
  double check_seconds = 0;
  /// Seconds spent per check (1 to 8, see check_round).
  std::map<int, double> phase_seconds;
};

uint64_t fnv(uint64_t h, std::string_view x) {
  for (unsigned char c : x) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

uint64_t event_hash(uint64_t h, const event& ev) {
  h = fnv(h, text(ev.id));
  h = fnv(h, ev.resource + "|" + ev.action + "|" + to_string(ev.action_type)
               + "|" + text(ev.record_id) + "|" + json::serialize(ev.data) + "|"
               + json::serialize(ev.changed_attributes) + "|"
               + json::serialize(ev.metadata) + "|" + json::serialize(ev.actors)
               + "|" + std::to_string(ev.version) + "|"
               + format_timestamp(ev.occurred_at) + "\n");
  return h;
}

/// Damages the database as `--sabotage` says; returns an error message.
std::string sabotage(const driver_state& ds, int round) {
  db_handle h;
  if (auto err = open_db(ds.db, h); !err.empty())
    return err;
  std::string sql;
  if (ds.opts.sabotage == "drop-event") {
    int64_t last = 0;
    std::vector<std::string> problems;
    auto prefix = "r" + std::to_string(round) + "-";
    for (auto& entry : fs::directory_iterator(ds.dir / "acks"))
      if (entry.path().filename().string().rfind(prefix, 0) == 0)
        for (auto& a : read_acks(entry.path(), round, problems))
          last = std::max(last, a.event_id.as_int64());
    if (last == 0)
      return "no acknowledged action to drop";
    sql = "DELETE FROM events WHERE id = " + std::to_string(last);
  } else if (ds.opts.sabotage == "alter-record") {
    sql = "UPDATE torture_item SET note = 'sabotage' WHERE rowid = (SELECT "
          "max(rowid) FROM torture_item)";
  } else {
    return "unknown sabotage " + ds.opts.sabotage;
  }
  auto err = query(h.db, sql, [](sqlite3_stmt*) {});
  if (err.empty() && sqlite3_changes(h.db) != 1)
    err = sql + ": changed no row";
  if (err.empty())
    std::printf("torture: sabotage: %s\n", sql.c_str());
  return err;
}

/// Runs the checks after round `round` (`quiet_replay`: the writer was
/// killed while replaying with its callers stopped); returns the violations
/// found.
std::vector<std::string> check_round(driver_state& ds, int round,
                                     bool quiet_replay) {
  std::vector<std::string> bad;
  // Time per check, for the summary.
  int current = 0;
  auto since = std::chrono::steady_clock::now();
  auto phase = [&](int next) {
    auto now = std::chrono::steady_clock::now();
    if (current != 0)
      ds.phase_seconds[current]
        += std::chrono::duration<double>(now - since).count();
    current = next;
    since = now;
  };
  auto fail = [&](std::string x) {
    if (bad.size() < 50)
      bad.push_back(std::move(x));
    else if (bad.size() == 50)
      bad.push_back("... (more violations not listed)");
  };
  if (!ds.opts.sabotage.empty() && round == 1)
    if (auto err = sabotage(ds, round); !err.empty())
      fail("sabotage failed: " + err);
  phase(1);
  // A writer killed before its runtime created the file (a slow start, e.g.
  // under sanitizers) left nothing to check, provided nothing was ever
  // acknowledged.
  if (!fs::exists(ds.db)) {
    if (!ds.acks.empty())
      fail("the database " + ds.db + " is gone after "
           + std::to_string(ds.acks.size()) + " acknowledged actions");
    return bad;
  }
  // 1. The file is whole. This is the first connection after the kill (or
  //    the sabotage): it recovers the write-ahead log.
  {
    db_handle h;
    if (auto err = open_db(ds.db, h); !err.empty()) {
      fail(err);
      return bad;
    }
    std::string result;
    auto err = query(h.db, "PRAGMA integrity_check", [&](sqlite3_stmt* st) {
      auto p = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      result += std::string{p ? p : ""} + ";";
    });
    if (!err.empty())
      fail("integrity_check failed to run: " + err);
    else if (result != "ok;")
      fail("PRAGMA integrity_check: " + result);
  }
  phase(2);
  // 2. A replay killed midway left the records exactly as they were before
  //    it started (which is also what a completed replay rebuilds).
  if (quiet_replay) {
    auto snap_path = ds.dir / ("snap-r" + std::to_string(round) + ".txt");
    if (!fs::exists(snap_path)) {
      fail("replay round without its snapshot " + snap_path.string());
    } else {
      table_dump now;
      if (auto err = dump_tables(ds.db, torture_app(), now); !err.empty()) {
        fail("cannot read the tables: " + err);
      } else {
        auto before = read_file(snap_path);
        if (now.values != before) {
          size_t i = 0;
          while (i < before.size() && i < now.values.size()
                 && before[i] == now.values[i])
            ++i;
          auto from = before.rfind('\n', i);
          from = from == std::string::npos ? 0 : from + 1;
          fail("records after a killed replay differ from the snapshot taken "
               "before it; first difference at byte "
               + std::to_string(i) + ":\n  before: " + before.substr(from, 300)
               + "\n  after:  " + now.values.substr(from, 300));
        } else if (now.versions
                   != read_file(snap_path.string() + ".versions")) {
          // Replay repeats the writes, so it rebuilds the write counts as
          // well; not a contract (verify ignores them), only worth a note.
          ++ds.version_notes;
        }
      }
    }
  }
  phase(3);
  // 3. The runtime starts on the file.
  auto rt = runtime::start(
    torture_app(), {.path = ds.db, .synchronous = parse_mode(ds.opts.mode)});
  if (!rt) {
    fail("the runtime does not start after the kill: " + render(rt.error()));
    return bad;
  }
  phase(4);
  // 4. Read the whole log; the history before this round is unchanged.
  std::map<int64_t, logged> events;
  uint64_t old_count = 0;
  uint64_t old_hash = 1469598103934665603ull;
  uint64_t all_hash = 1469598103934665603ull;
  int64_t last_id = 0;
  auto err = (*rt)->for_each_event({}, [&](const event& ev) {
    if (!ev.id.is_int64()) {
      fail("event id " + text(ev.id) + " is not an integer");
      return true;
    }
    auto id = ev.id.as_int64();
    if (id <= last_id)
      fail("event ids out of order: " + std::to_string(id) + " after "
           + std::to_string(last_id));
    last_id = id;
    all_hash = event_hash(all_hash, ev);
    if (id <= ds.max_id) {
      ++old_count;
      old_hash = all_hash;
    }
    events.emplace(id, logged{ev.resource, ev.action, ev.action_type,
                              ev.record_id, ev.data, ev.changed_attributes,
                              ev.metadata, ev.actors});
    return true;
  });
  if (err)
    fail("cannot read the events: " + render(err));
  if (old_count != ds.history_count || old_hash != ds.history_hash)
    fail("the events up to id " + std::to_string(ds.max_id)
         + " changed across the restart: " + std::to_string(old_count)
         + " events now, " + std::to_string(ds.history_count) + " before");
  phase(5);
  // 5. Every acknowledged action is in the log, as it was acknowledged.
  std::vector<std::string> problems;
  std::vector<fs::path> files;
  auto prefix = "r" + std::to_string(round) + "-";
  for (auto& entry : fs::directory_iterator(ds.dir / "acks"))
    if (entry.path().filename().string().rfind(prefix, 0) == 0)
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  uint64_t new_acks = 0;
  for (auto& f : files) {
    auto xs = read_acks(f, round, problems);
    new_acks += xs.size();
    for (auto& x : xs) {
      if (!x.event_id.is_int64() || x.event_id.as_int64() <= ds.max_id)
        fail("round " + std::to_string(round) + " acknowledged event "
             + text(x.event_id) + " (" + x.origin
             + "), not above the largest id before it ("
             + std::to_string(ds.max_id) + ")");
      ds.acks.push_back(std::move(x));
    }
  }
  ds.writer_acks += new_acks;
  for (auto& p : problems)
    fail(p);
  std::set<int64_t> acked_ids;
  uint64_t lost = 0;
  for (auto& a : ds.acks) {
    auto id = a.event_id.is_int64() ? a.event_id.as_int64() : -1;
    acked_ids.insert(id);
    auto where = "acknowledged " + a.resource + "." + a.action + " of "
                 + text(a.record_id) + " (event " + text(a.event_id)
                 + ", round " + std::to_string(a.round) + ", " + a.origin + ")";
    auto i = events.find(id);
    if (i == events.end()) {
      ++lost;
      fail("LOST: " + where + ": no such event in the log");
      continue;
    }
    auto& ev = i->second;
    std::vector<std::string> diffs;
    if (ev.resource != a.resource || ev.action != a.action)
      diffs.push_back("the event is " + ev.resource + "." + ev.action);
    if (ev.record_id != a.record_id)
      diffs.push_back("its record is " + text(ev.record_id));
    if (ev.data != a.data)
      diffs.push_back("its data is " + json::serialize(ev.data) + ", sent "
                      + json::serialize(a.data));
    if (ev.metadata != a.metadata)
      diffs.push_back("its metadata is " + json::serialize(ev.metadata)
                      + ", sent " + json::serialize(a.metadata));
    if (auto who = ev.actors.if_contains("worker");
        !who || *who != json::value(a.worker.c_str()))
      diffs.push_back("its actor is " + json::serialize(ev.actors));
    if (a.values) {
      // The result the caller got agrees with what the event says it wrote.
      for (auto* src : {&ev.data, &ev.changed})
        for (auto& [k, v] : *src) {
          auto got = a.values->if_contains(k);
          if (!got || *got != v)
            diffs.push_back("the event wrote " + std::string{k} + "=" + text(v)
                            + ", the caller got "
                            + (got ? text(*got) : "nothing"));
        }
    } else if (ev.type != action_kind::destroy) {
      diffs.push_back("the event is not a destroy");
    }
    if (!diffs.empty()) {
      ++lost;
      std::string all;
      for (auto& d : diffs)
        all += "; " + d;
      fail("ALTERED: " + where + all);
    }
    // The child an after_action hook created is in the same unit: its event
    // comes right after the parent's.
    if (a.action == "create_with_child") {
      auto c = events.find(id + 1);
      auto* parent = c == events.end()
                       ? nullptr
                       : c->second.data.if_contains("parent_id");
      if (c == events.end() || c->second.resource != child_res || !parent
          || *parent != a.record_id)
        fail("the child of " + where + " is not event "
             + std::to_string(id + 1));
    }
  }
  ds.lost += lost;
  phase(6);
  // 6. Every event has its record change and every record its events: a
  //    record exists exactly when its last event is not a destroy, and it
  //    holds what its last acknowledged action returned.
  std::map<std::pair<std::string, std::string>, int64_t> last_event;
  std::map<std::string, std::vector<int64_t>> bumps; // counter -> values
  for (auto& [id, ev] : events) {
    last_event[{ev.resource, text(ev.record_id)}] = id;
    if (ev.resource == counter_res && ev.action == "bump") {
      auto v = ev.changed.if_contains("value");
      bumps[text(ev.record_id)].push_back(v && v->is_int64() ? v->as_int64()
                                                             : -1);
    }
  }
  std::map<int64_t, const ack*> ack_by_id;
  for (auto& a : ds.acks)
    if (a.event_id.is_int64())
      ack_by_id[a.event_id.as_int64()] = &a;
  std::set<std::pair<std::string, std::string>> live;
  uint64_t records = 0;
  for (auto* res : {item_res, child_res, counter_res}) {
    for (uint64_t offset = 0;; offset += 10'000) {
      auto page = (*rt)->list(res, {.limit = 10'000, .offset = offset});
      if (!page) {
        fail(std::string{"cannot list "} + res + ": " + render(page.error()));
        break;
      }
      for (auto& rec : *page) {
        ++records;
        auto key = std::pair{std::string{res}, text(rec.id)};
        live.insert(key);
        auto i = last_event.find(key);
        if (i == last_event.end()) {
          fail(std::string{"record without event: "} + res + " "
               + text(rec.id));
          continue;
        }
        auto& ev = events[i->second];
        if (ev.type == action_kind::destroy) {
          fail(std::string{"record still there after its destroy event "}
               + std::to_string(i->second) + ": " + res + " " + text(rec.id));
          continue;
        }
        if (auto a = ack_by_id.find(i->second);
            a != ack_by_id.end() && a->second->values
            && *a->second->values != rec.values)
          fail(std::string{"record "} + res + " " + text(rec.id)
               + " differs from what its last action (event "
               + std::to_string(i->second)
               + ", acknowledged) returned: " + json::serialize(rec.values)
               + " vs " + json::serialize(*a->second->values));
        if (res == std::string{counter_res}) {
          auto& xs = bumps[text(rec.id)];
          for (size_t k = 0; k < xs.size(); ++k)
            if (xs[k] != static_cast<int64_t>(k) + 1) {
              fail("counter " + text(rec.id) + ": increment event "
                   + std::to_string(k + 1) + " wrote " + std::to_string(xs[k])
                   + " (a lost update)");
              break;
            }
          auto& v = rec.get("value");
          auto n = static_cast<int64_t>(xs.size());
          if (n == 0 ? !v.is_null() : v != json::value(n))
            fail("counter " + text(rec.id) + " holds " + text(v) + " after "
                 + std::to_string(n) + " increment events");
        }
      }
      if (page->size() < 10'000)
        break;
    }
  }
  for (auto& [key, id] : last_event)
    if (events[id].type != action_kind::destroy && live.count(key) == 0)
      fail("event " + std::to_string(id) + " without its record change: "
           + key.first + " " + key.second + " is missing");
  phase(7);
  // 7. The log rebuilds exactly the live records.
  auto report = (*rt)->verify();
  if (!report) {
    fail("verify failed: " + render(report.error()));
  } else if (!report->ok()) {
    std::string list;
    for (size_t i = 0; i < report->differences.size() && i < 10; ++i) {
      auto& d = report->differences[i];
      list += "\n    " + d.resource + " " + text(d.record_id) + " "
              + (d.field.empty() ? "(whole record)" : d.field) + ": live "
              + text(d.live) + ", replayed " + text(d.replayed);
    }
    fail("verify: " + std::to_string(report->total_differences)
         + " differences between the live records and a replay:" + list);
  }
  phase(8);
  // 8. The log accepts a new write, with an id above every earlier one.
  call probe{item_res, "create", {{"name", "probe-" + std::to_string(round)}}};
  probe.actor = actor{"Worker", "driver"};
  probe.metadata = {{"r", round}, {"w", "driver"}, {"n", 0}};
  auto rec = (*rt)->run(probe);
  if (!rec) {
    fail("the log refuses a new write after the kill: " + render(rec.error()));
  } else if (!rec->event_id.is_int64() || rec->event_id.as_int64() <= last_id) {
    fail("a new write after the restart got event id " + text(rec->event_id)
         + ", not above the largest stored id " + std::to_string(last_id));
  } else {
    ++ds.probes;
    ack a;
    a.event_id = rec->event_id;
    a.resource = item_res;
    a.action = "create";
    a.record_id = rec->id;
    a.data = probe.input;
    a.metadata = probe.metadata;
    a.worker = "driver";
    a.values = rec->values;
    a.round = round;
    a.origin = "probe";
    ds.acks.push_back(std::move(a));
    // Fold the probe into the history the next round must find unchanged.
    event_filter only;
    only.after_id = json::value(last_id);
    uint64_t extra = 0;
    auto err2 = (*rt)->for_each_event(only, [&](const event& ev) {
      all_hash = event_hash(all_hash, ev);
      last_id = ev.id.as_int64();
      ++extra;
      return true;
    });
    if (err2 || extra != 1)
      fail("cannot read back the probe event (" + std::to_string(extra)
           + " events after the last)");
    events.emplace(last_id, logged{});
  }
  (*rt)->stop();
  rt->reset();
  phase(0);
  ds.max_id = last_id;
  ds.history_count = events.size();
  ds.history_hash = all_hash;
  ds.events = events.size();
  ds.unacked_events = 0;
  for (auto& [id, ev] : events)
    if (acked_ids.count(id) == 0 && ev.resource != child_res
        && !ev.resource.empty())
      ++ds.unacked_events;
  (void)records;
  return bad;
}

int usage() {
  std::fprintf(stderr,
               "usage: eventactors_torture run --kills N --mode full|normal "
               "[--dir D] [--seed S] [--keep] "
               "[--sabotage drop-event|alter-record]\n");
  return 2;
}

int driver_main(driver_options opts) {
  if (opts.seed == 0)
    opts.seed = std::random_device{}() ^ static_cast<uint64_t>(::getpid());
  driver_state ds;
  ds.opts = opts;
  ds.rng.seed(opts.seed);
  bool own_dir = opts.dir.empty();
  if (own_dir) {
    auto tmpl
      = (fs::temp_directory_path() / "eventactors-torture-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) {
      std::perror("mkdtemp");
      return 2;
    }
    ds.dir = tmpl;
  } else {
    // Start from an empty directory; refuse to wipe one that is not ours.
    ds.dir = opts.dir;
    std::error_code ec;
    if (fs::exists(ds.dir) && !fs::is_empty(ds.dir)
        && !fs::exists(ds.dir / ".eventactors-torture")) {
      std::fprintf(stderr,
                   "torture: %s is not empty and not a torture directory\n",
                   opts.dir.c_str());
      return 2;
    }
    fs::remove_all(ds.dir, ec);
    fs::create_directories(ds.dir);
  }
  std::ofstream{ds.dir / ".eventactors-torture"} << "torture\n";
  fs::create_directories(ds.dir / "acks");
  ds.db = (ds.dir / "torture.db").string();
  ds.history_hash = 1469598103934665603ull;
  // verify() builds its scratch copies in the temporary directory.
  auto exe = self_exe();
  std::printf("torture: mode=%s kills=%d seed=%llu dir=%s\n", opts.mode.c_str(),
              opts.kills, static_cast<unsigned long long>(opts.seed),
              ds.dir.c_str());
  std::fflush(stdout);
  auto t0 = std::chrono::steady_clock::now();
  auto rand_ms = [&](int lo, int hi) {
    return std::chrono::milliseconds{
      lo + static_cast<int>(ds.rng() % (hi - lo + 1))};
  };
  for (int round = 1; round <= opts.kills; ++round) {
    // Every fourth round on average, and rounds 3 and 4 always, kill a
    // replay: of a quiet writer (callers stopped, tables snapshot) or of a
    // busy one (callers go on, refused while a replay runs).
    bool replay_round = round >= 3 && (round <= 4 || ds.rng() % 4 == 0);
    bool busy = replay_round && (round == 4 || (round > 4 && ds.rng() % 2));
    bool early = !replay_round && ds.rng() % 8 == 0 && opts.sabotage.empty();
    uint64_t replay_after = replay_round ? 200 + ds.rng() % 800 : 0;
    auto err_file = ds.dir / ("writer-r" + std::to_string(round) + ".err");
    std::vector<std::string> args{exe,
                                  "writer",
                                  ds.dir.string(),
                                  opts.mode,
                                  std::to_string(round),
                                  std::to_string(ds.rng() | 1),
                                  std::to_string(replay_after),
                                  busy ? "busy" : "quiet"};
    auto round_start = std::chrono::steady_clock::now();
    auto child = spawn_writer(args, err_file);
    line_reader out{child.out};
    std::vector<std::string> bad;
    auto deadline = [](auto d) {
      return std::chrono::steady_clock::now() + d;
    };
    std::string phase;
    if (early) {
      // Anywhere from exec to the first actions, start-up included.
      out.until(deadline(rand_ms(0, 80)), nullptr);
      phase = "early";
    } else if (!replay_round) {
      if (!out.until(deadline(60s), [](const std::string& x) {
            return x.rfind("ready", 0) == 0;
          }))
        bad.push_back("the writer did not start within 60 s");
      out.until(deadline(rand_ms(30, 700)), nullptr);
      phase = "work";
    } else {
      if (!out.until(deadline(180s), [](const std::string& x) {
            return x == "replay";
          }))
        bad.push_back("the writer did not reach its replay within 180 s");
      // Replays run back to back until the kill; wait for the first to
      // report progress so the kill lands in the middle of one.
      out.until(deadline(30s), [](const std::string& x) {
        return x.rfind("progress", 0) == 0 || x.rfind("replayed", 0) == 0;
      });
      out.until(deadline(rand_ms(0, 300)), nullptr);
      phase = busy ? "busy" : "replay";
    }
    ::kill(child.pid, SIGKILL);
    auto killed_at = std::chrono::steady_clock::now();
    out.drain();
    ::close(child.out);
    int status = 0;
    while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR)
      ; // retry
    ++ds.kills;
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
      bad.push_back("the writer ended on its own before the kill ("
                    + (WIFEXITED(status)
                         ? "exit code " + std::to_string(WEXITSTATUS(status))
                         : "signal " + std::to_string(WTERMSIG(status)))
                    + "): " + tail(read_file(err_file)));
    auto ready = std::find_if(out.lines().begin(), out.lines().end(),
                              [](const std::string& x) {
                                return x.rfind("ready", 0) == 0;
                              });
    bool saw_ready = ready != out.lines().end();
    auto settings = saw_ready ? " [" + ready->substr(6) + "]" : std::string{};
    if (!saw_ready)
      ++ds.early_kills;
    bool mid_replay = false;
    int completed = 0;
    if (replay_round) {
      ++(busy ? ds.busy_rounds : ds.replay_rounds);
      auto& ls = out.lines();
      completed = static_cast<int>(
        std::count_if(ls.begin(), ls.end(), [](const std::string& x) {
          return x.rfind("replayed", 0) == 0;
        }));
      ds.replays_completed += completed;
      mid_replay = !ls.empty() && ls.back().rfind("replayed", 0) != 0
                   && std::find(ls.begin(), ls.end(), "replay") != ls.end();
      if (mid_replay)
        ++(busy ? ds.busy_kills : ds.replay_kills);
    }
    auto acks_before = ds.writer_acks;
    auto c0 = std::chrono::steady_clock::now();
    auto violations = check_round(ds, round, replay_round && !busy);
    auto check_secs = std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - c0)
                        .count();
    ds.check_seconds += check_secs;
    bad.insert(bad.end(), violations.begin(), violations.end());
    auto ran_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    killed_at - round_start)
                    .count();
    std::printf(
      "round %3d: %-6s killed after %5lld ms%s, +%llu acks, "
      "%llu events, checked in %.2f s%s%s\n",
      round, phase.c_str(), static_cast<long long>(ran_ms),
      saw_ready ? settings.c_str() : " (before ready)",
      static_cast<unsigned long long>(ds.writer_acks - acks_before),
      static_cast<unsigned long long>(ds.events), check_secs,
      replay_round
        ? (mid_replay ? ", killed mid-replay" : ", killed between replays")
        : "",
      replay_round
        ? (", after " + std::to_string(completed) + " complete replays").c_str()
        : "");
    std::fflush(stdout);
    if (!bad.empty()) {
      std::printf("torture: VIOLATION in round %d (mode=%s, seed=%llu, %s "
                  "kill):\n",
                  round, opts.mode.c_str(),
                  static_cast<unsigned long long>(opts.seed), phase.c_str());
      for (auto& b : bad)
        std::printf("  - %s\n", b.c_str());
      std::printf("torture: the database, side files and writer logs are "
                  "kept in %s\n",
                  ds.dir.c_str());
      return 1;
    }
  }
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                            - t0)
                .count();
  std::string phases;
  static constexpr const char* names[] = {"",        "integrity", "snapshot",
                                          "start",   "events",    "acks",
                                          "records", "verify",    "probe"};
  for (auto& [n, t] : ds.phase_seconds) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%s%s %.1f", phases.empty() ? "" : ", ",
                  names[n], t);
    phases += buf;
  }
  std::printf(
    "torture summary (synchronous=%s, seed %llu)\n"
    "  kills:                  %d (%d before the writer was ready)\n"
    "  actions acknowledged:   %llu (+%llu driver probes)\n"
    "  lost:                   %llu\n"
    "  replay kills:           %d (quiet writer: %d of %d rounds killed "
    "mid-replay, records equal to the snapshot before the replay every "
    "time%s; busy writer: %d of %d; %d replays completed before a kill)\n"
    "  events in the log:      %llu (%llu committed but never "
    "acknowledged: killed before the side file)\n"
    "  duration:               %.1f s (checks %.1f s: %s)\n",
    opts.mode.c_str(), static_cast<unsigned long long>(opts.seed), ds.kills,
    ds.early_kills, static_cast<unsigned long long>(ds.writer_acks),
    static_cast<unsigned long long>(ds.probes),
    static_cast<unsigned long long>(ds.lost), ds.replay_kills + ds.busy_kills,
    ds.replay_kills, ds.replay_rounds,
    ds.version_notes == 0 ? "" : ", _version counts differed in some rounds",
    ds.busy_kills, ds.busy_rounds, ds.replays_completed,
    static_cast<unsigned long long>(ds.events),
    static_cast<unsigned long long>(ds.unacked_events), secs, ds.check_seconds,
    phases.c_str());
  if (ds.lost != 0)
    return 1;
  if (own_dir && !opts.keep) {
    std::error_code ec;
    fs::remove_all(ds.dir, ec);
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 7 && args[0] == "writer")
    return writer_main(args[1], args[2], std::stoi(args[3]),
                       std::stoull(args[4]), std::stoull(args[5]),
                       args[6] == "busy");
  if (args.empty() || args[0] != "run")
    return usage();
  driver_options opts;
  for (size_t i = 1; i < args.size(); ++i) {
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size())
        return {};
      return args[++i];
    };
    if (args[i] == "--kills")
      opts.kills = std::atoi(value().c_str());
    else if (args[i] == "--mode")
      opts.mode = value();
    else if (args[i] == "--dir")
      opts.dir = value();
    else if (args[i] == "--seed")
      opts.seed = std::strtoull(value().c_str(), nullptr, 10);
    else if (args[i] == "--keep")
      opts.keep = true;
    else if (args[i] == "--sabotage")
      opts.sabotage = value();
    else
      return usage();
  }
  if (opts.kills <= 0 || (opts.mode != "full" && opts.mode != "normal"))
    return usage();
  return driver_main(opts);
}
