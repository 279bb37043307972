// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Operating replay: atomicity, refused requests, live actions during a
// replay, cuts, forks, verify, progress and the asynchronous coordinator.
// State is read with SQLite connections of our own, outside the runtime.

#include "support/query.hpp"
#include "support/records.hpp"
#include "support/spec_app.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <future>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include <boost/json/serialize.hpp>
#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "eventactors/replay_actor.hpp"

using namespace eventactors;
using namespace eventactors::test;

using namespace std::chrono_literals;

namespace {

// -- reading the file from outside --------------------------------------------

/// Every table of the file (sqlite_master), every column, rows ordered by
/// all columns: for "byte-identical" checks.
std::string dump_all(const std::string& path) {
  connection c{path};
  std::vector<std::string> tables;
  {
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(c.get(),
                       "SELECT name FROM sqlite_master WHERE type = 'table' "
                       "ORDER BY name",
                       -1, &stmt, nullptr);
    while (sqlite3_step(stmt) == SQLITE_ROW)
      tables.emplace_back(
        reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    sqlite3_finalize(stmt);
  }
  std::string out;
  for (auto& t : tables) {
    int ncols = 0;
    {
      sqlite3_stmt* stmt = nullptr;
      auto sql = "SELECT * FROM \"" + t + "\"";
      sqlite3_prepare_v2(c.get(), sql.c_str(), -1, &stmt, nullptr);
      ncols = sqlite3_column_count(stmt);
      sqlite3_finalize(stmt);
    }
    std::string order;
    for (int i = 1; i <= ncols; ++i)
      order += (i == 1 ? "" : ", ") + std::to_string(i);
    out += "== " + t + "\n";
    out += dump_query(c.get(), "SELECT * FROM \"" + t + "\" ORDER BY "
                                 + order);
  }
  return out;
}

/// The records of the ops app (without `_version`, a write counter).
std::string dump_records(const std::string& path) {
  connection c{path};
  return dump_table(c.get(), "item", "id", true)
         + dump_table(c.get(), "gadget", "id", true);
}

std::string dump_events(const std::string& path,
                        const std::string& where = {}) {
  connection c{path};
  return dump_query(c.get(), "SELECT * FROM events " + where + " ORDER BY id");
}

/// Whether `text` contains `token` as a whole word (not part of a longer
/// number or name).
bool names(const std::string& text, const std::string& token) {
  std::string escaped;
  for (auto ch : token) {
    if (std::string{"\\^$.|?*+()[]{}"}.find(ch) != std::string::npos)
      escaped += '\\';
    escaped += ch;
  }
  return std::regex_search(text, std::regex{"(^|[^A-Za-z0-9_])" + escaped
                                            + "($|[^A-Za-z0-9_])"});
}

/// The text form of an id in messages: strings without quotes.
std::string bare(const json::value& x) {
  return x.is_string() ? std::string{x.get_string()} : json::serialize(x);
}

// -- the application ----------------------------------------------------------

/// Called by a change of Item.create while an Item.create event is being
/// replayed (on the replaying thread, inside the replay's transaction).
struct probe {
  std::mutex mtx;
  std::function<void(const changeset&)> fn;

  void operator()(const changeset& cs) {
    std::function<void(const changeset&)> f;
    {
      std::lock_guard<std::mutex> guard{mtx};
      f = fn;
    }
    if (f)
      f(cs);
  }
};

struct ops_options {
  bool with_gadget = true;
  bool with_rename = true;
  /// Routes Item.rename v1 events to strict_rename (names up to 5 chars).
  bool strict_override = false;
  /// Makes rename version 2 and routes v1 events to rename_legacy.
  bool legacy_override = false;
  bool no_clear = false;
  std::shared_ptr<probe> hook;
};

app ops_app(const ops_options& o = {}) {
  app a;
  auto& log = a.add(event_log{"events"});
  log.record_id_type(record_id_kind::string)
    .persist_actor_primary_key("user_id", "User",
                               {.type = actor_key_kind::string});
  if (o.no_clear)
    log.no_clear_records_for_replay();
  if (o.strict_override)
    log.replay_override("Item", "rename", {1}, {{"Item", "strict_rename"}});
  if (o.legacy_override)
    log.replay_override("Item", "rename", {1}, {{"Item", "rename_legacy"}});
  auto& item = a.add(resource{"Item"});
  item.timestamps()
    .attribute("name", types::string(), {.allow_nil = false})
    .attribute("qty", types::integer(), {.default_value = 0})
    .attribute("note", types::string());
  auto& ev = item.events("events")
               .ignore_actions({"strict_rename", "rename_legacy"})
               .create_timestamp("created_at")
               .update_timestamp("updated_at");
  if (o.legacy_override && o.with_rename)
    ev.current_action_versions({{"rename", 2}});
  auto hook = o.hook;
  item.create("create")
    .accept({"name", "qty", "note"})
    .validate(validations::string_length("name", 2, 50))
    .change(change{"probe", [hook](changeset& cs) {
                     if (hook && cs.replaying())
                       (*hook)(cs);
                   }});
  if (o.with_rename)
    item.update("rename")
      .accept({"name"})
      .validate(validations::string_length("name", 2, 50));
  item.update("strict_rename")
    .accept({"name"})
    .validate(validations::string_length("name", 2, 5));
  item.update("rename_legacy")
    .accept({"name"})
    .change(changes::set_attribute("note", "legacy"));
  item.update("add")
    .argument("n", types::integer(), {.required = true})
    .change(change{"add", [](changeset& cs) {
                     auto cur = cs.attribute("qty");
                     int64_t base = cur.is_int64() ? cur.get_int64() : 0;
                     cs.set_attribute("qty",
                                      json::value(base
                                                  + cs.argument("n")
                                                      .as_int64()));
                   }});
  item.destroy("destroy");
  if (o.with_gadget) {
    auto& g = a.add(resource{"Gadget"});
    g.primary_key("id", key_kind::integer, false)
      .attribute("label", types::string(), {.allow_nil = false});
    g.events("events");
    g.create("create").accept({"label"});
    g.update("relabel").accept({"label"});
    g.destroy("destroy");
  }
  return a;
}

environment test_env(uint64_t seed = 42) {
  return environment::deterministic(
    seed, timestamp{std::chrono::seconds{1'750'000'000}}, 1000us);
}

/// A runtime of the ops app on a file in a temp directory; restartable
/// with other definitions on the same file.
class ops_fixture {
public:
  explicit ops_fixture(ops_options o = {}) {
    path_ = dir_.file("ops.db");
    start(std::move(o));
  }

  void start(ops_options o) {
    rt_.reset();
    runtime_options opts;
    opts.path = path_;
    opts.synchronous = sync_mode::normal;
    opts.env = test_env(++starts_);
    auto rt = runtime::start(ops_app(o), std::move(opts));
    if (!rt)
      FAIL("runtime::start failed: " << render(rt.error()));
    rt_ = std::move(*rt);
  }

  void stop() {
    rt_.reset();
  }

  runtime& rt() {
    return *rt_;
  }

  const std::string& path() const {
    return path_;
  }

  std::string file(const std::string& name) const {
    return dir_.file(name);
  }

  record must(std::string resource, std::string action,
              json::object input = {}, json::value id = nullptr) {
    return must_run(*rt_, call{std::move(resource), std::move(action),
                               std::move(input), std::move(id)});
  }

  /// Creates `n` items named `prefix-<i>` in batches (one event each).
  std::vector<record> create_items(const std::string& prefix, int n) {
    std::vector<record> out;
    for (int first = 0; first < n; first += 250) {
      batch_call b;
      b.resource = "Item";
      b.action = "create";
      for (int i = first; i < std::min(n, first + 250); ++i) {
        batch_item it;
        it.input["name"] = json::string{prefix + "-" + std::to_string(i)};
        it.input["qty"] = i;
        b.items.push_back(std::move(it));
      }
      for (auto& r : rt_->run_batch(b)) {
        if (!r)
          FAIL("batch create failed: " << render(r.error()));
        out.push_back(std::move(*r));
      }
    }
    return out;
  }

  std::vector<event> events() {
    return events_where(*rt_);
  }

  int64_t event_count() {
    return query_count(path_, "SELECT count(*) FROM events");
  }

private:
  temp_dir dir_;
  std::string path_;
  uint64_t starts_ = 0;
  std::unique_ptr<runtime> rt_;
};

/// Waits for `fut` at most `timeout`; false when it did not become ready.
template <class T>
bool ready_within(std::future<T>& fut, std::chrono::milliseconds timeout) {
  return fut.wait_for(timeout) == std::future_status::ready;
}

} // namespace

// -- atomicity ----------------------------------------------------------------

TEST_CASE("replay is all or nothing: an event that cannot be replayed fails "
          "the replay, names the event and leaves every table as it was",
          "[replay][ops]") {
  ops_fixture fx;
  // More than one chunk of events before the bad one: the failure comes
  // after earlier chunks were applied inside the transaction.
  auto items = fx.create_items("item", 1200);
  fx.must("Gadget", "create", {{"label", "g1"}});
  fx.must("Item", "rename", {{"name", "abc"}}, items[3].id);
  // Valid live (2..50 characters); the override below routes it to
  // strict_rename (2..5 characters), which rejects it.
  auto bad = fx.must("Item", "rename", {{"name", "much too long"}},
                     items[7].id);
  fx.must("Item", "rename", {{"name", "xyz"}}, items[8].id);
  fx.must("Item", "add", {{"n", 5}}, items[9].id);
  fx.must("Item", "destroy", {}, items[10].id);
  fx.must("Gadget", "create", {{"label", "g2"}});
  fx.must("Item", "create", {{"name", "late"}});
  REQUIRE(bad.event_id.is_int64());
  REQUIRE(bad.event_id.get_int64() > 1200);
  // The same file with definitions that cannot replay the event.
  fx.start({.strict_override = true});
  // A hand edit: any replay that committed would undo it.
  exec_sql(fx.path(), "UPDATE item SET note = 'hand edit' WHERE id = '"
                        + bare(items[0].id) + "'");
  auto before = dump_all(fx.path());
  REQUIRE(before.find("hand edit") != std::string::npos);
  std::vector<replay_progress> progress;
  auto res = fx.rt().replay({}, [&](const replay_progress& p) {
    progress.push_back(p);
  });
  REQUIRE_FALSE(res);
  auto msg = message(res.error());
  INFO("error: " << render(res.error()));
  CHECK(is(res.error(), errc::replay_failed));
  CHECK(names(msg, show(bad.event_id)));
  CHECK(msg.find("Item") != std::string::npos);
  CHECK(names(msg, "rename"));
  CHECK(msg.find("strict_rename") != std::string::npos);
  // The earlier chunk was applied before the failure, inside the
  // transaction.
  CHECK_FALSE(progress.empty());
  // Nothing changed: every table, every column, every row.
  auto after = dump_all(fx.path());
  CHECK(after == before);
  // The runtime goes on: actions work, and a fork or verify names the same
  // event without leaving a file behind.
  CHECK(fx.rt().run("Item", "create", {{"name", "after"}}));
  auto fork_path = fx.file("fork.db");
  auto forked = fx.rt().fork({}, fork_path);
  REQUIRE_FALSE(forked);
  CHECK(is(forked.error(), errc::replay_failed));
  CHECK(names(message(forked.error()), show(bad.event_id)));
  CHECK_FALSE(std::filesystem::exists(fork_path));
  auto report = fx.rt().verify();
  REQUIRE_FALSE(report);
  CHECK(is(report.error(), errc::replay_failed));
}

// -- bad requests -------------------------------------------------------------

TEST_CASE("bad replay requests are refused with a clear error and change "
          "nothing",
          "[replay][ops]") {
  ops_fixture fx;
  auto items = fx.create_items("item", 5);
  auto renamed = fx.must("Item", "rename", {{"name", "renamed"}}, items[0].id);
  // A hand edit, so that any replay that ran would change the state.
  exec_sql(fx.path(), "UPDATE item SET note = 'hand edit'");
  auto before = dump_all(fx.path());
  auto fork_path = fx.file("fork.db");
  auto refused = [&](replay_request req, errc code,
                     std::vector<std::string> fragments) {
    INFO("request: log=" << req.log << " last_event_id="
                         << (req.last_event_id ? show(*req.last_event_id)
                                               : "-")
                         << " point_in_time="
                         << (req.point_in_time
                               ? format_timestamp(*req.point_in_time)
                               : "-"));
    auto res = fx.rt().replay(req);
    REQUIRE_FALSE(res);
    INFO("replay error: " << render(res.error()));
    CHECK(is(res.error(), code));
    for (auto& f : fragments)
      CHECK(message(res.error()).find(f) != std::string::npos);
    auto forked = fx.rt().fork(req, fork_path);
    REQUIRE_FALSE(forked);
    INFO("fork error: " << render(forked.error()));
    CHECK(is(forked.error(), code));
    for (auto& f : fragments)
      CHECK(message(forked.error()).find(f) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(fork_path));
    CHECK(dump_all(fx.path()) == before);
  };
  auto t = fx.events().back().occurred_at;
  SECTION("both cuts") {
    refused({.last_event_id = json::value(1), .point_in_time = t},
            errc::invalid_input, {"last_event_id", "point_in_time"});
  }
  SECTION("a negative event id") {
    refused({.last_event_id = json::value(-3)}, errc::invalid_input,
            {"last_event_id", "-3"});
  }
  SECTION("event id zero") {
    refused({.last_event_id = json::value(0)}, errc::invalid_input,
            {"last_event_id"});
  }
  SECTION("an unknown event id") {
    refused({.last_event_id = json::value(99999)}, errc::invalid_input,
            {"99999"});
  }
  SECTION("a malformed event id: text on an integer log") {
    refused({.last_event_id = json::value("abc")}, errc::invalid_input,
            {"last_event_id", "abc"});
  }
  SECTION("a fractional event id") {
    refused({.last_event_id = json::value(1.5)}, errc::invalid_input,
            {"last_event_id"});
  }
  SECTION("an unknown event log") {
    refused({.log = "nope"}, errc::invalid_input, {"nope"});
    auto report = fx.rt().verify("nope");
    REQUIRE_FALSE(report);
    CHECK(is(report.error(), errc::invalid_input));
    CHECK(message(report.error()).find("nope") != std::string::npos);
  }
  // A valid request still works afterwards (the hand edit is undone).
  auto ok = fx.rt().replay();
  REQUIRE(ok);
  CHECK(query_count(fx.path(),
                    "SELECT count(*) FROM item WHERE note = 'hand edit'")
        == 0);
  CHECK(fx.rt().get("Item", renamed.id)->get("name") == "renamed");
}

TEST_CASE("replay, fork and verify after stop fail with runtime_stopped",
          "[replay][ops]") {
  ops_fixture fx;
  fx.create_items("item", 3);
  auto before = dump_all(fx.path());
  fx.rt().stop();
  auto res = fx.rt().replay();
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::runtime_stopped));
  auto fork_path = fx.file("fork.db");
  auto forked = fx.rt().fork({}, fork_path);
  REQUIRE_FALSE(forked);
  CHECK(is(forked.error(), errc::runtime_stopped));
  CHECK_FALSE(std::filesystem::exists(fork_path));
  auto report = fx.rt().verify();
  REQUIRE_FALSE(report);
  CHECK(is(report.error(), errc::runtime_stopped));
  CHECK(dump_all(fx.path()) == before);
}

TEST_CASE("replay of a log without a clear-records callback is refused",
          "[replay][ops]") {
  ops_fixture fx{{.no_clear = true}};
  auto items = fx.create_items("item", 3);
  exec_sql(fx.path(), "UPDATE item SET note = 'hand edit'");
  auto before = dump_all(fx.path());
  auto expected = std::string{"clear_records_for_replay must be specified "
                              "on events when doing a replay."};
  auto res = fx.rt().replay();
  REQUIRE_FALSE(res);
  INFO(render(res.error()));
  CHECK(message(res.error()).find(expected) != std::string::npos);
  auto cut = fx.rt().replay({.last_event_id = items[0].event_id});
  REQUIRE_FALSE(cut);
  CHECK(message(cut.error()).find(expected) != std::string::npos);
  auto fork_path = fx.file("fork.db");
  auto forked = fx.rt().fork({}, fork_path);
  REQUIRE_FALSE(forked);
  CHECK(message(forked.error()).find(expected) != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(fork_path));
  CHECK(dump_all(fx.path()) == before);
  // Actions are not affected.
  CHECK(fx.rt().run("Item", "create", {{"name", "still works"}}));
}

TEST_CASE("an event whose resource or action no longer exists fails the "
          "replay, naming it, unless an override routes it",
          "[replay][ops]") {
  ops_fixture fx;
  auto items = fx.create_items("item", 3);
  auto gadget = fx.must("Gadget", "create", {{"label", "g"}});
  auto renamed = fx.must("Item", "rename", {{"name", "renamed"}}, items[1].id);
  fx.must("Item", "add", {{"n", 2}}, items[2].id);
  SECTION("a resource that no longer exists") {
    fx.start({.with_gadget = false});
    exec_sql(fx.path(), "UPDATE item SET note = 'hand edit'");
    auto before = dump_all(fx.path());
    auto res = fx.rt().replay();
    REQUIRE_FALSE(res);
    INFO(render(res.error()));
    CHECK(is(res.error(), errc::replay_failed));
    auto msg = message(res.error());
    CHECK(names(msg, show(gadget.event_id)));
    CHECK(names(msg, "Gadget"));
    CHECK(names(msg, "create"));
    CHECK(dump_all(fx.path()) == before);
  }
  SECTION("an action that no longer exists") {
    fx.start({.with_rename = false});
    exec_sql(fx.path(), "UPDATE item SET note = 'hand edit'");
    auto before = dump_all(fx.path());
    auto res = fx.rt().replay();
    REQUIRE_FALSE(res);
    INFO(render(res.error()));
    CHECK(is(res.error(), errc::replay_failed));
    auto msg = message(res.error());
    CHECK(names(msg, show(renamed.event_id)));
    CHECK(names(msg, "Item"));
    CHECK(names(msg, "rename"));
    CHECK(dump_all(fx.path()) == before);
  }
  SECTION("an action that no longer exists, routed by an override") {
    fx.start({.with_rename = false, .legacy_override = true});
    auto res = fx.rt().replay();
    REQUIRE(res);
    CHECK(res->overrides_used["Item.rename v1"] == 1);
    auto rec = fx.rt().get("Item", items[1].id);
    REQUIRE(rec);
    CHECK(rec->get("name") == "renamed");
    CHECK(rec->get("note") == "legacy");
  }
}

// -- live actions during a replay ---------------------------------------------

TEST_CASE("while a replay runs, new actions fail with replay_in_progress, "
          "readers see the old state, and nothing is half-applied",
          "[replay][ops]") {
  auto hook = std::make_shared<probe>();
  ops_fixture fx{{.hook = hook}};
  auto first = fx.create_items("item", 1100);
  // The probe fires when this create is replayed: after the first chunk of
  // 1000 events has been applied inside the replay's transaction.
  auto marker = fx.must("Item", "create", {{"name", "probe"}});
  auto rest = fx.create_items("late", 100);
  auto live_state = dump_records(fx.path());
  auto events_before = fx.event_count();
  // Hand edits the replay will undo: a changed and a deleted record.
  exec_sql(fx.path(), "UPDATE item SET note = 'tampered' WHERE id = '"
                        + bare(first[5].id) + "'");
  exec_sql(fx.path(),
           "DELETE FROM item WHERE id = '" + bare(first[6].id) + "'");
  auto tampered = dump_records(fx.path());
  REQUIRE(tampered != live_state);
  std::promise<void> inside;
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<int> probes{0};
  std::atomic<bool> release_timed_out{false};
  {
    std::lock_guard<std::mutex> guard{hook->mtx};
    hook->fn = [&](const changeset& cs) {
      if (cs.attribute("name") != json::value("probe"))
        return;
      if (probes++ > 0)
        return;
      inside.set_value();
      // Bounded: never hang the suite if the test thread fails.
      if (released.wait_for(60s) != std::future_status::ready)
        release_timed_out = true;
    };
  }
  // Readers polled from the progress callback see the old or the new
  // state, never a half-rebuilt one.
  std::vector<std::string> seen;
  auto replaying = std::async(std::launch::async, [&] {
    return fx.rt().replay({}, [&](const replay_progress&) {
      seen.push_back(dump_records(fx.path()));
    });
  });
  auto inside_fut = inside.get_future();
  REQUIRE(ready_within(inside_fut, 60s));
  // -- the replay is paused inside its transaction --
  {
    auto c = fx.rt().run("Item", "create", {{"name", "during"}});
    REQUIRE_FALSE(c);
    INFO(render(c.error()));
    CHECK(is(c.error(), errc::replay_in_progress));
    CHECK(message(c.error()).find("replay") != std::string::npos);
    auto u = fx.rt().run(call{"Item", "rename", {{"name", "during"}},
                              first[1].id});
    REQUIRE_FALSE(u);
    CHECK(is(u.error(), errc::replay_in_progress));
    auto d = fx.rt().run(call{"Item", "destroy", {}, first[2].id});
    REQUIRE_FALSE(d);
    CHECK(is(d.error(), errc::replay_in_progress));
    batch_call b;
    b.resource = "Item";
    b.action = "create";
    b.items = {batch_item{{{"name", "b1"}}, nullptr},
               batch_item{{{"name", "b2"}}, nullptr}};
    auto bs = fx.rt().run_batch(b);
    REQUIRE(bs.size() == 2);
    for (auto& r : bs) {
      REQUIRE_FALSE(r);
      CHECK(is(r.error(), errc::replay_in_progress));
    }
    new_event ne;
    ne.resource = "Item";
    ne.action = "create";
    ne.record_id = first[0].id;
    auto ap = fx.rt().append(ne);
    REQUIRE_FALSE(ap);
    CHECK(is(ap.error(), errc::replay_in_progress));
    auto again = fx.rt().replay();
    REQUIRE_FALSE(again);
    CHECK(is(again.error(), errc::replay_in_progress));
    // Readers see the state before the replay (with the hand edits), not
    // the cleared and partly rebuilt tables of the open transaction.
    CHECK(dump_records(fx.path()) == tampered);
    auto rec = fx.rt().get("Item", first[5].id);
    REQUIRE(rec);
    CHECK(rec->get("note") == "tampered");
    CHECK_FALSE(fx.rt().get("Item", first[6].id));
    auto listed = fx.rt().list("Item", {.limit = 100000});
    REQUIRE(listed);
    CHECK(listed->size() == first.size() + rest.size());
    CHECK(fx.event_count() == events_before);
  }
  release.set_value();
  REQUIRE(ready_within(replaying, 60s));
  auto summary = replaying.get();
  CHECK_FALSE(release_timed_out);
  REQUIRE(summary);
  CHECK(summary->events == static_cast<uint64_t>(events_before));
  // Committed: the hand edits are undone, the refused actions left nothing.
  CHECK(dump_records(fx.path()) == live_state);
  CHECK(fx.event_count() == events_before);
  CHECK(query_count(fx.path(), "SELECT count(*) FROM item WHERE name IN "
                               "('during', 'b1', 'b2')")
        == 0);
  REQUIRE_FALSE(seen.empty());
  for (auto& s : seen)
    CHECK((s == tampered || s == live_state));
  // Actions work again; their events continue the log.
  auto after = fx.rt().run("Item", "create", {{"name", "after"}});
  REQUIRE(after);
  CHECK(after->event_id == json::value(events_before + 1));
  CHECK(fx.rt().run(call{"Item", "rename", {{"name", "renamed"}},
                         first[1].id}));
  auto report = fx.rt().verify();
  REQUIRE(report);
  CHECK(report->ok());
  (void) marker;
  std::lock_guard<std::mutex> guard{hook->mtx};
  hook->fn = nullptr;
}

TEST_CASE("actions racing a replay are applied completely or refused with "
          "replay_in_progress",
          "[replay][ops]") {
  auto hook = std::make_shared<probe>();
  ops_fixture fx{{.hook = hook}};
  fx.create_items("seed", 200);
  fx.must("Item", "create", {{"name", "probe"}});
  auto events_before = fx.event_count();
  struct outcome {
    std::string name;
    caf::expected<record> result;
  };
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<outcome> outcomes;
  int refused = 0;
  int ok_after_replay = 0;
  bool replay_done = false;
  std::atomic<bool> stop{false};
  // A client creating and renaming items as fast as it can.
  std::thread client{[&] {
    for (int i = 0; !stop; ++i) {
      auto name = "race-" + std::to_string(i);
      auto res = fx.rt().run("Item", "create", {{"name", name}});
      std::lock_guard<std::mutex> guard{mtx};
      if (!res && is(res.error(), errc::replay_in_progress))
        ++refused;
      if (res && replay_done)
        ++ok_after_replay;
      outcomes.push_back({name, std::move(res)});
      cv.notify_all();
    }
  }};
  auto wait_for = [&](auto pred) {
    std::unique_lock<std::mutex> guard{mtx};
    return cv.wait_for(guard, 60s, pred);
  };
  // Let the client get going, then replay. The replay pauses inside its
  // transaction (when it applies the probe's create) until this thread
  // was refused once; the client keeps going meanwhile (it may also be
  // waiting for an action accepted just before the replay started, which
  // then commits after the replay, or is refused).
  CHECK(wait_for([&] { return outcomes.size() >= 20; }));
  std::promise<void> inside;
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<bool> release_timed_out{false};
  std::atomic<int> probes{0};
  {
    std::lock_guard<std::mutex> guard{hook->mtx};
    hook->fn = [&](const changeset& cs) {
      if (cs.attribute("name") != json::value("probe") || probes++ > 0)
        return;
      inside.set_value();
      if (released.wait_for(60s) != std::future_status::ready)
        release_timed_out = true;
    };
  }
  auto replaying = std::async(std::launch::async,
                              [&] { return fx.rt().replay(); });
  auto inside_fut = inside.get_future();
  REQUIRE(ready_within(inside_fut, 60s));
  auto mine = fx.rt().run("Item", "create", {{"name", "refused"}});
  release.set_value();
  REQUIRE(ready_within(replaying, 60s));
  auto summary = replaying.get();
  CHECK_FALSE(release_timed_out);
  REQUIRE_FALSE(mine);
  CHECK(is(mine.error(), errc::replay_in_progress));
  {
    std::lock_guard<std::mutex> guard{mtx};
    replay_done = true;
  }
  // The client works again after the replay.
  CHECK(wait_for([&] { return ok_after_replay >= 5; }));
  stop = true;
  client.join();
  {
    std::lock_guard<std::mutex> guard{hook->mtx};
    hook->fn = nullptr;
  }
  REQUIRE(summary);
  // Every outcome is a committed record or a refusal; each committed one
  // is there in full (record and event), each refused one left nothing.
  int64_t created = 0;
  for (auto& o : outcomes) {
    INFO(o.name);
    auto count = query_count(fx.path(), "SELECT count(*) FROM item WHERE "
                                        "name = '"
                                          + o.name + "'");
    auto evs = query_count(fx.path(),
                           "SELECT count(*) FROM events WHERE "
                           "json_extract(data, '$.name') = '"
                             + o.name + "'");
    if (o.result) {
      ++created;
      CHECK(count == 1);
      CHECK(evs == 1);
      auto rec = fx.rt().get("Item", o.result->id);
      REQUIRE(rec);
      CHECK(rec->get("name") == json::value(json::string{o.name}));
    } else {
      CHECK(is(o.result.error(), errc::replay_in_progress));
      CHECK(count == 0);
      CHECK(evs == 0);
    }
  }
  INFO("client: " << outcomes.size() << " actions, " << refused
                   << " refused");
  CHECK(query_count(fx.path(),
                    "SELECT count(*) FROM item WHERE name = 'refused'")
        == 0);
  CHECK(fx.event_count() == events_before + created);
  auto report = fx.rt().verify();
  REQUIRE(report);
  CHECK(report->ok());
}

// -- cuts ---------------------------------------------------------------------

namespace {

/// A workload with a snapshot of the records after every action.
struct history {
  struct point {
    json::value event_id;
    timestamp occurred_at;
    std::string records;
  };
  std::vector<point> points;
};

history run_history(ops_fixture& fx) {
  history h;
  std::vector<json::value> items;
  std::vector<json::value> gadgets;
  auto snap = [&](const record& r) {
    h.points.push_back({r.event_id, {}, dump_records(fx.path())});
  };
  for (int round = 0; round < 6; ++round) {
    auto r = fx.must("Item", "create",
                     {{"name", "item-" + std::to_string(round)},
                      {"qty", round}});
    items.push_back(r.id);
    snap(r);
    auto g = fx.must("Gadget", "create",
                     {{"label", "g-" + std::to_string(round)}});
    gadgets.push_back(g.id);
    snap(g);
    snap(fx.must("Item", "rename",
                 {{"name", "renamed-" + std::to_string(round)}},
                 items[round - round % 2]));
    snap(fx.must("Item", "add", {{"n", round + 1}}, items[round]));
    if (round % 2 == 1) {
      snap(fx.must("Item", "destroy", {}, items[round - 1]));
      snap(fx.must("Gadget", "relabel", {{"label", "re"}}, gadgets[round]));
    }
    if (round == 4)
      snap(fx.must("Gadget", "destroy", {}, gadgets[0]));
  }
  // The occurred_at of each event.
  auto evs = fx.events();
  for (auto& p : h.points) {
    auto i = std::find_if(evs.begin(), evs.end(), [&](const event& ev) {
      return ev.id == p.event_id;
    });
    if (i == evs.end())
      FAIL("no event " << show(p.event_id));
    p.occurred_at = i->occurred_at;
  }
  return h;
}

} // namespace

TEST_CASE("replay to an event id or to a point in time gives exactly the "
          "state at that cut",
          "[replay][ops]") {
  ops_fixture fx;
  auto h = run_history(fx);
  REQUIRE(h.points.size() > 20);
  // Every action wrote exactly one event, in order, at distinct times.
  REQUIRE(fx.event_count() == static_cast<int64_t>(h.points.size()));
  for (size_t i = 1; i < h.points.size(); ++i)
    REQUIRE(h.points[i - 1].occurred_at < h.points[i].occurred_at);
  auto final_state = h.points.back().records;
  auto events = dump_events(fx.path());
  // Longer and shorter cuts in turn: each replay starts from scratch.
  std::vector<size_t> order;
  for (size_t i = 0; i < h.points.size(); ++i)
    order.push_back(i % 2 == 0 ? i : h.points.size() - i);
  for (auto i : order) {
    auto& p = h.points[i];
    CAPTURE(i, show(p.event_id), format_timestamp(p.occurred_at));
    auto by_id = fx.rt().replay({.last_event_id = p.event_id});
    REQUIRE(by_id);
    CHECK(by_id->events == i + 1);
    CHECK(dump_records(fx.path()) == p.records);
    auto by_time = fx.rt().replay({.point_in_time = p.occurred_at});
    REQUIRE(by_time);
    CHECK(by_time->events == i + 1);
    CHECK(dump_records(fx.path()) == p.records);
    // Just before the next event: still this cut.
    if (i + 1 < h.points.size()) {
      auto between = h.points[i + 1].occurred_at - 1us;
      REQUIRE(fx.rt().replay({.point_in_time = between}));
      CHECK(dump_records(fx.path()) == p.records);
    }
  }
  // Before the first event: nothing.
  REQUIRE(fx.rt().replay({.point_in_time = h.points.front().occurred_at
                                           - 1us}));
  CHECK(query_count(fx.path(), "SELECT count(*) FROM item") == 0);
  CHECK(query_count(fx.path(), "SELECT count(*) FROM gadget") == 0);
  // The full replay brings the final state back; no replay wrote events.
  REQUIRE(fx.rt().replay());
  CHECK(dump_records(fx.path()) == final_state);
  CHECK(dump_events(fx.path()) == events);
}

// -- fork ---------------------------------------------------------------------

TEST_CASE("fork copies the events up to the cut into a new file and "
          "rebuilds the state there; the source stays untouched",
          "[replay][ops]") {
  ops_fixture fx;
  auto h = run_history(fx);
  auto k = h.points.size() / 2;
  auto& cut = h.points[k];
  auto source_before = dump_all(fx.path());
  auto fork_path = fx.file("fork.db");
  auto summary = fx.rt().fork({.last_event_id = cut.event_id}, fork_path);
  REQUIRE(summary);
  CHECK(summary->events == k + 1);
  CHECK(dump_all(fx.path()) == source_before);
  // The fork: the events up to the cut, exactly; the state at the cut.
  CHECK(dump_events(fork_path)
        == dump_events(fx.path(), "WHERE id <= " + show(cut.event_id)));
  CHECK(dump_records(fork_path) == cut.records);
  // Forking onto an existing file is refused and leaves it alone.
  {
    auto fork_before = dump_all(fork_path);
    auto again = fx.rt().fork({}, fork_path);
    REQUIRE_FALSE(again);
    INFO(render(again.error()));
    CHECK(is(again.error(), errc::invalid_input));
    CHECK(message(again.error()).find(fork_path) != std::string::npos);
    CHECK(dump_all(fork_path) == fork_before);
    auto empty_path = fx.file("empty.db");
    { std::FILE* f = std::fopen(empty_path.c_str(), "w"); std::fclose(f); }
    auto onto_empty = fx.rt().fork({}, empty_path);
    REQUIRE_FALSE(onto_empty);
    CHECK(std::filesystem::file_size(empty_path) == 0);
  }
  // A fork by time.
  auto& cut2 = h.points[k + 3];
  auto fork2 = fx.file("fork2.db");
  auto summary2 = fx.rt().fork({.point_in_time = cut2.occurred_at}, fork2);
  REQUIRE(summary2);
  CHECK(summary2->events == k + 4);
  CHECK(dump_records(fork2) == cut2.records);
  CHECK(dump_all(fx.path()) == source_before);
  // What-if on the fork: a runtime opens it; its events continue after
  // the cut; the source does not see them.
  {
    runtime_options opts;
    opts.path = fork_path;
    opts.synchronous = sync_mode::normal;
    opts.env = test_env(7);
    auto what_if = runtime::start(ops_app(), opts);
    REQUIRE(what_if);
    auto created = (*what_if)->run("Item", "create", {{"name", "what-if"}});
    REQUIRE(created);
    CHECK(created->event_id == json::value(cut.event_id.as_int64() + 1));
    auto gadget = (*what_if)->run("Gadget", "create", {{"label", "what-if"}});
    REQUIRE(gadget);
    // Integer keys continue above the fork's records.
    auto top = query_int(fork_path, "SELECT max(id) FROM gadget WHERE label "
                                    "<> 'what-if'");
    REQUIRE(top);
    CHECK(gadget->id.as_int64() > *top);
    auto report = (*what_if)->verify();
    REQUIRE(report);
    CHECK(report->ok());
  }
  CHECK(dump_all(fx.path()) == source_before);
  CHECK(query_count(fx.path(), "SELECT count(*) FROM item WHERE name = "
                               "'what-if'")
        == 0);
  CHECK(query_count(fork_path, "SELECT count(*) FROM events WHERE id > "
                                 + show(cut.event_id))
        == 2);
}

// -- verify -------------------------------------------------------------------

TEST_CASE("verify is ok on a healthy log and reports every difference a "
          "hand edit made",
          "[replay][ops]") {
  ops_fixture fx;
  auto items = fx.create_items("item", 6);
  fx.must("Item", "rename", {{"name", "renamed"}}, items[1].id);
  fx.must("Item", "add", {{"n", 4}}, items[2].id);
  fx.must("Item", "destroy", {}, items[5].id);
  fx.must("Gadget", "create", {{"label", "g"}});
  auto ok = fx.rt().verify();
  REQUIRE(ok);
  CHECK(ok->ok());
  CHECK(ok->differences.empty());
  CHECK(ok->total_differences == 0);
  CHECK(ok->records == 6); // 5 items and 1 gadget, live and replayed
  CHECK(ok->replay.events == 10);
  // Hand edits through a connection of our own.
  exec_sql(fx.path(), "UPDATE item SET name = 'hacked' WHERE id = '"
                        + bare(items[1].id) + "'");
  auto before = dump_all(fx.path());
  auto one = fx.rt().verify();
  REQUIRE(one);
  CHECK_FALSE(one->ok());
  REQUIRE(one->total_differences == 1);
  REQUIRE(one->differences.size() == 1);
  {
    auto& d = one->differences[0];
    CHECK(d.resource == "Item");
    CHECK(d.record_id == items[1].id);
    CHECK(d.field == "name");
    CHECK(d.live == json::value("hacked"));
    CHECK(d.replayed == json::value("renamed"));
  }
  // Verify only reads.
  CHECK(dump_all(fx.path()) == before);
  exec_sql(fx.path(),
           "DELETE FROM item WHERE id = '" + bare(items[3].id) + "'");
  exec_sql(fx.path(),
           "INSERT INTO gadget (id, label) VALUES (999, 'ghost')");
  auto three = fx.rt().verify();
  REQUIRE(three);
  CHECK(three->total_differences == 3);
  REQUIRE(three->differences.size() == 3);
  const difference* missing = nullptr;
  const difference* extra = nullptr;
  for (auto& d : three->differences) {
    if (d.record_id == items[3].id)
      missing = &d;
    if (d.record_id == json::value(999))
      extra = &d;
  }
  REQUIRE(missing);
  CHECK(missing->resource == "Item");
  CHECK(missing->field.empty());
  CHECK(missing->live.is_null());
  REQUIRE(missing->replayed.is_object());
  CHECK(missing->replayed.as_object().at("name") == items[3].get("name"));
  REQUIRE(extra);
  CHECK(extra->resource == "Gadget");
  CHECK(extra->field.empty());
  CHECK(extra->replayed.is_null());
  REQUIRE(extra->live.is_object());
  CHECK(extra->live.as_object().at("label") == json::value("ghost"));
  // A limit on the list, not on the count.
  auto limited = fx.rt().verify({}, 1);
  REQUIRE(limited);
  CHECK(limited->differences.size() == 1);
  CHECK(limited->total_differences == 3);
}

// -- progress and summary -----------------------------------------------------

TEST_CASE("replay reports progress up to the total and sums up events per "
          "target action and overrides used",
          "[replay][ops]") {
  ops_fixture fx;
  auto items = fx.create_items("item", 2500);
  for (int i = 0; i < 7; ++i)
    fx.must("Item", "rename", {{"name", "old-" + std::to_string(i)}},
            items[i].id);
  for (int i = 0; i < 3; ++i)
    fx.must("Item", "add", {{"n", 1}}, items[100 + i].id);
  fx.must("Item", "destroy", {}, items[200].id);
  fx.must("Item", "destroy", {}, items[201].id);
  fx.must("Gadget", "create", {{"label", "g"}});
  // Rename becomes version 2; version 1 events go to rename_legacy.
  fx.start({.legacy_override = true});
  for (int i = 0; i < 4; ++i)
    fx.must("Item", "rename", {{"name", "new-" + std::to_string(i)}},
            items[10 + i].id);
  // An update of a record that never existed: a missing record.
  new_event ghost;
  ghost.resource = "Item";
  ghost.action = "add";
  ghost.action_type = action_kind::update;
  ghost.record_id = "00000000-0000-4000-8000-000000000001";
  ghost.data = {{"n", 1}};
  auto ghost_id = fx.rt().append(ghost);
  REQUIRE(ghost_id);
  auto total = static_cast<uint64_t>(fx.event_count());
  REQUIRE(total == 2500 + 7 + 3 + 2 + 1 + 4 + 1);
  std::vector<replay_progress> progress;
  auto summary = fx.rt().replay({}, [&](const replay_progress& p) {
    progress.push_back(p);
  });
  REQUIRE(summary);
  REQUIRE(progress.size() >= 3);
  for (size_t i = 0; i < progress.size(); ++i) {
    CAPTURE(i, progress[i].applied, progress[i].total);
    CHECK(progress[i].total == total);
    CHECK(progress[i].applied <= total);
    CHECK(progress[i].rate >= 0);
    if (i > 0)
      CHECK(progress[i].applied > progress[i - 1].applied);
  }
  CHECK(progress.back().applied == total);
  CHECK(summary->events == total);
  CHECK(summary->applied["Item.create"] == 2500);
  CHECK(summary->applied["Item.rename_legacy"] == 7);
  CHECK(summary->applied["Item.rename"] == 4);
  CHECK(summary->applied["Item.add"] == 3);
  CHECK(summary->applied["Item.destroy"] == 2);
  CHECK(summary->applied["Gadget.create"] == 1);
  uint64_t sum = 0;
  for (auto& [target, n] : summary->applied)
    sum += n;
  CHECK(sum == total - 1); // all but the missing record's event
  CHECK(summary->overrides_used
        == std::map<std::string, uint64_t>{{"Item.rename v1", 7}});
  REQUIRE(summary->missing.size() == 1);
  CHECK(summary->missing[0].event_id == *ghost_id);
  CHECK(summary->missing[0].resource == "Item");
  CHECK(summary->missing[0].action == "add");
  CHECK(summary->missing[0].record_id == json::value(ghost.record_id));
  CHECK(summary->duration_us > 0);
  // The routing is visible in the state.
  CHECK(fx.rt().get("Item", items[0].id)->get("note") == "legacy");
  CHECK(fx.rt().get("Item", items[10].id)->get("note").is_null());
  CHECK(fx.rt().get("Item", items[10].id)->get("name") == "new-0");
}

// -- the asynchronous coordinator ---------------------------------------------

TEST_CASE("the replay coordinator answers requests from actors and sends "
          "progress before the summary",
          "[replay][ops]") {
  ops_fixture fx;
  fx.create_items("item", 1500);
  auto total = static_cast<uint64_t>(fx.event_count());
  auto coordinator = replays(fx.rt());
  REQUIRE(coordinator);
  caf::scoped_actor self{fx.rt().system()};
  // A plain message: the progress and then the result arrive in order.
  {
    self->send(coordinator, replay_atom_v, replay_request{});
    std::vector<std::string> seen;
    std::vector<replay_progress> progress;
    std::optional<replay_summary> summary;
    std::optional<caf::error> error;
    bool timed_out = false;
    self->receive_while([&] { return !summary && !error && !timed_out; })(
      [&](replay_atom, const replay_progress& p) {
        seen.push_back("progress");
        progress.push_back(p);
      },
      [&](replay_summary& s) {
        seen.push_back("summary");
        summary = std::move(s);
      },
      [&](caf::error& err) { error = std::move(err); },
      caf::after(std::chrono::seconds(60)) >> [&] { timed_out = true; });
    REQUIRE_FALSE(timed_out);
    REQUIRE_FALSE(error);
    REQUIRE(summary);
    CHECK(summary->events == total);
    REQUIRE(progress.size() >= 2);
    CHECK(seen.back() == "summary");
    CHECK(progress.back().applied == total);
    CHECK(progress.back().total == total);
  }
  // A request: the response is the summary; the progress messages were
  // sent to the requester as well.
  {
    std::optional<replay_summary> summary;
    self->request(coordinator, std::chrono::seconds(60), replay_atom_v,
                  replay_request{.last_event_id = json::value(1000)})
      .receive([&](replay_summary& s) { summary = std::move(s); },
               [&](caf::error& err) { FAIL_CHECK(render(err)); });
    REQUIRE(summary);
    CHECK(summary->events == 1000);
    size_t progress = 0;
    bool drained = false;
    self->receive_while([&] { return !drained; })(
      [&](replay_atom, const replay_progress&) { ++progress; },
      caf::after(std::chrono::seconds(0)) >> [&] { drained = true; });
    CHECK(progress >= 1);
    CHECK(query_count(fx.path(), "SELECT count(*) FROM item") == 1000);
  }
  // Errors come back as errors.
  {
    std::optional<caf::error> error;
    self->request(coordinator, std::chrono::seconds(60), replay_atom_v,
                  replay_request{.last_event_id = json::value(-1)})
      .receive([&](replay_summary&) { FAIL_CHECK("a summary"); },
               [&](caf::error& err) { error = std::move(err); });
    REQUIRE(error);
    CHECK(is(*error, errc::invalid_input));
  }
  // Verify and fork through the coordinator.
  {
    std::optional<verify_report> report;
    self->request(coordinator, std::chrono::seconds(60), verify_atom_v,
                  std::string{}, uint32_t{10})
      .receive([&](verify_report& r) { report = std::move(r); },
               [&](caf::error& err) { FAIL_CHECK(render(err)); });
    REQUIRE(report);
    // The state is at event 1000; the log has more: verify sees the
    // missing records.
    CHECK(report->total_differences == total - 1000);
    std::optional<replay_summary> forked;
    auto path = fx.file("fork.db");
    self->request(coordinator, std::chrono::seconds(60), fork_atom_v,
                  replay_request{}, path)
      .receive([&](replay_summary& s) { forked = std::move(s); },
               [&](caf::error& err) { FAIL_CHECK(render(err)); });
    REQUIRE(forked);
    CHECK(forked->events == total);
    CHECK(count_rows(path, "item") == 1500);
  }
}
