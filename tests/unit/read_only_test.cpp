// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Reading never writes: the CLI's read commands and read-only runtimes on a
// read-only file, in a read-only folder, on a full disk and while another
// process holds the write lock (a replay); another app's definitions and
// another program's SQLite file leave the file byte-identical.

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>

#include <sqlite3.h>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include <catch2/catch.hpp>

#include "eventactors/all.hpp"
#include "support/faults.hpp"
#include "support/cli.hpp"
#include "support/process.hpp"
#include "support/query.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;
using Catch::Matchers::Contains;

namespace fs = std::filesystem;

namespace {

// -- running the tool --------------------------------------------------------------

std::string quickstart_app() {
  return std::string{EVENTACTORS_SOURCE_DIR} + "/config/quickstart.json";
}

/// Runs `eventactors --app APP --db DB args...` (bounded: killed after 60 s).
cli_result run_cli(const std::string& app, const std::string& db,
                   const std::vector<std::string>& args) {
  std::vector<std::string> all{"--app", app, "--db", db};
  all.insert(all.end(), args.begin(), args.end());
  return eventactors::test::run_cli(all);
}

/// A quickstart database with two users, written by the CLI (which closes
/// it cleanly: no -wal or -shm file is left). Returns the first user's id.
std::string make_quickstart_db(const std::string& db) {
  std::string id;
  for (auto email : {"ada@example.com", "bob@example.com"}) {
    auto r = run_cli(quickstart_app(), db,
                     {"--format", "jsonl", "run", "Accounts.User", "create",
                      std::string{"{\"email\": \""} + email
                        + "\", \"name\": \"x\"}",
                      "--actor", "SystemActor:setup"});
    REQUIRE_EXIT(r, 0);
    if (id.empty()) {
      auto doc = boost::json::parse(r.out);
      id = std::string{doc.at("id").as_string()};
    }
  }
  REQUIRE_FALSE(fs::exists(db + "-wal"));
  return id;
}

/// The commands that only read, with what each must print.
struct read_command {
  std::vector<std::string> args;
  std::string needle;
};

std::vector<read_command> read_commands(const std::string& id,
                                        bool with_verify = true) {
  std::vector<read_command> result{
    {{"get", "Accounts.User", id}, "ada@example.com"},
    {{"list", "Accounts.User"}, "bob@example.com"},
    {{"events"}, "send_email"},
    {{"history", "Accounts.User", id}, "ada@example.com"},
    {{"stats"}, "Accounts.User.create"},
  };
  if (with_verify)
    result.push_back({{"verify"}, "no differences"});
  return result;
}

/// Runs every read command on `db`; each must succeed and print its needle.
void require_reads_work(const std::string& db, const std::string& id,
                        bool with_verify = true) {
  for (auto& cmd : read_commands(id, with_verify)) {
    auto r = run_cli(quickstart_app(), db, cmd.args);
    REQUIRE_EXIT(r, 0);
    INFO(show(r));
    CHECK_THAT(r.out, Contains(cmd.needle));
  }
}

/// The schema of the database at `path` (read-only connection).
std::string schema_of(const std::string& path) {
  connection c{path};
  return dump_query(c.get(),
                    "SELECT type, name, tbl_name, sql FROM sqlite_schema "
                    "ORDER BY name");
}

/// Undoes `read_only(path)` on scope exit.
struct writable_again {
  std::vector<std::string> paths;
  ~writable_again() {
    for (auto& p : paths)
      read_only(p, false);
  }
};

/// Runs `sql` on the database at `path`, creating the file.
void exec_new(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  auto rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  INFO(sqlite3_errmsg(db));
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out{path, std::ios::binary};
  out << text;
}

} // namespace

// -- a read-only file, folder, full disk ----------------------------------------------

TEST_CASE("CLI read commands work on a read-only database file and leave it "
          "byte-identical",
          "[read_only]") {
  temp_dir dir;
  auto db = dir.file("app.db");
  auto id = make_quickstart_db(db);
  auto bytes = read_bytes(db);
  // chmod 0444, or the immutable flag when root (root ignores file modes).
  if (auto why = read_only(db); !why.empty()) {
    WARN("skipped: cannot make the file read-only: " << why);
    return;
  }
  writable_again guard{{db}};
  require_reads_work(db, id);
  CHECK(read_bytes(db) == bytes);
  // A fork only reads its source.
  auto fork = dir.file("fork.db");
  auto f = run_cli(quickstart_app(), db, {"replay", "--into", fork});
  REQUIRE_EXIT(f, 0);
  f = run_cli(quickstart_app(), fork, {"list", "Accounts.User"});
  REQUIRE_EXIT(f, 0);
  CHECK_THAT(f.out, Contains("bob@example.com"));
  CHECK(read_bytes(db) == bytes);
  // A writing command still fails, naming the problem, and writes nothing.
  auto r = run_cli(quickstart_app(), db,
                   {"run", "Accounts.User", "create",
                    R"({"email": "carl@example.com"})"});
  CHECK(r.exit_code != 0);
  CHECK(read_bytes(db) == bytes);
}

TEST_CASE("CLI read commands work in a read-only folder (read-only bind "
          "mount)",
          "[read_only]") {
  if (::geteuid() != 0) {
    WARN("skipped: a read-only bind mount needs root");
    return;
  }
  temp_dir dir;
  auto sub = dir.file("data");
  fs::create_directories(sub);
  auto db = sub + "/app.db";
  auto id = make_quickstart_db(db);
  auto bytes = read_bytes(db);
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
  // No -wal and no -shm, and none can be created: SQLite reads the file as
  // immutable. (verify is left out: where it puts its scratch copy is its
  // own business.)
  REQUIRE_FALSE(fs::exists(db + "-shm"));
  require_reads_work(db, id, false);
  CHECK(read_bytes(db) == bytes);
  CHECK_FALSE(fs::exists(db + "-wal"));
  CHECK_FALSE(fs::exists(db + "-shm"));
}

TEST_CASE("CLI read commands work on a full disk", "[read_only]") {
  if (::geteuid() != 0) {
    WARN("skipped: mounting a tmpfs needs root");
    return;
  }
  temp_dir dir;
  auto mnt = dir.file("small");
  fs::create_directories(mnt);
  tmpfs_mount tmpfs{mnt, 4 * 1024 * 1024};
  if (!tmpfs.ok()) {
    WARN("skipped: " << tmpfs.error());
    return;
  }
  auto db = mnt + "/app.db";
  auto id = make_quickstart_db(db);
  auto bytes = read_bytes(db);
  fill_file(mnt + "/filler", tmpfs.free_bytes());
  INFO("free bytes after filling: " << tmpfs.free_bytes());
  REQUIRE(tmpfs.free_bytes() < 4096);
  require_reads_work(db, id, false);
  CHECK(read_bytes(db) == bytes);
}

// -- another process writing ------------------------------------------------------------

TEST_CASE("CLI read commands do not wait for another process's write lock "
          "and see the last commit",
          "[read_only]") {
  temp_dir dir;
  auto db = dir.file("app.db");
  auto id = make_quickstart_db(db);
  SECTION("a process holding BEGIN IMMEDIATE, as a replay does") {
    lock_holder holder{db};
    REQUIRE(holder.lock() == "locked");
    auto t0 = std::chrono::steady_clock::now();
    require_reads_work(db, id);
    auto took = std::chrono::steady_clock::now() - t0;
    // Six processes; each would wait out the 5 s busy timeout for a write
    // lock. Only a sanity bound: exit codes already tell.
    CHECK(took < std::chrono::seconds{6 * 5});
    CHECK(holder.unlock() == "unlocked");
  }
  SECTION("an uncommitted replay: readers see the records before it") {
    connection writer{db, true};
    REQUIRE(sqlite3_exec(writer.get(),
                         "BEGIN IMMEDIATE; DELETE FROM accounts_user; "
                         "DELETE FROM notifications_email_notification",
                         nullptr, nullptr, nullptr)
            == SQLITE_OK);
    require_reads_work(db, id);
    REQUIRE(sqlite3_exec(writer.get(), "ROLLBACK", nullptr, nullptr, nullptr)
            == SQLITE_OK);
  }
}

// -- another app, another program --------------------------------------------------------

TEST_CASE("events --app with another app's definitions is refused and leaves "
          "the file byte-identical",
          "[read_only]") {
  temp_dir dir;
  auto db = dir.file("app.db");
  make_quickstart_db(db);
  auto bytes = read_bytes(db);
  auto schema = schema_of(db);
  SECTION("the versioned example app (other columns, another table)") {
    auto other = std::string{EVENTACTORS_SOURCE_DIR} + "/config/versioned.json";
    for (std::vector<std::string> args :
         {std::vector<std::string>{"events"}, {"list", "Accounts.User"},
          {"stats"}, {"verify"}}) {
      auto r = run_cli(other, db, args);
      INFO(show(r));
      CHECK(r.exit_code == 1);
      CHECK_THAT(r.err, Contains("schema_mismatch"));
      CHECK(read_bytes(db) == bytes);
      CHECK(schema_of(db) == schema);
    }
  }
  SECTION("an app with one more attribute and one more actor column") {
    auto other = dir.file("other.json");
    write_text(other, R"({
      "event_logs": [{"name": "events", "persist_actor_primary_key": [
        {"column": "user_id", "actor_type": "Accounts.User", "type": "uuid"},
        {"column": "system_actor", "actor_type": "SystemActor",
         "type": "string"},
        {"column": "robot", "actor_type": "Robot", "type": "string"}]}],
      "resources": [{"name": "Accounts.User",
        "attributes": [
          {"name": "email", "type": "ci_string", "allow_nil": false},
          {"name": "name", "type": "string"},
          {"name": "status", "type": "string"},
          {"name": "nickname", "type": "string"}],
        "timestamps": true,
        "actions": [{"name": "create", "kind": "create"}],
        "events": {"event_log": "events"}}]
    })");
    auto r = run_cli(other, db, {"events"});
    INFO(show(r));
    CHECK(r.exit_code == 1);
    // The first mismatch found: the log's actor column.
    CHECK_THAT(r.err, Contains("robot"));
    CHECK_THAT(r.err, Contains("events"));
    CHECK(read_bytes(db) == bytes);
    CHECK(schema_of(db) == schema);
  }
}

TEST_CASE("a SQLite file of another program is refused by writing and "
          "reading commands and left byte-identical",
          "[read_only]") {
  temp_dir dir;
  auto db = dir.file("foreign.db");
  std::string needle = "not an eventactors log";
  std::string names = "invoices";
  SECTION("another application id (WAL)") {
    exec_new(db, "PRAGMA journal_mode=WAL; PRAGMA application_id=4660; "
                 "CREATE TABLE invoices (id INTEGER PRIMARY KEY)");
    needle = "belongs to another application";
    names = "4660";
  }
  SECTION("application_id 0 with tables (rollback journal)") {
    exec_new(db, "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total "
                 "REAL); INSERT INTO invoices VALUES (1, 9.5)");
  }
  SECTION("application_id 0 with tables (WAL)") {
    exec_new(db, "PRAGMA journal_mode=WAL; CREATE TABLE invoices (id "
                 "INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices "
                 "VALUES (1, 9.5)");
  }
  REQUIRE_FALSE(fs::exists(db + "-wal"));
  auto bytes = read_bytes(db);
  for (std::vector<std::string> args :
       {std::vector<std::string>{"run", "Accounts.User", "create",
                                 R"({"email": "a@example.com"})"},
        {"list", "Accounts.User"}, {"events"}, {"replay"}}) {
    auto r = run_cli(quickstart_app(), db, args);
    INFO(show(r));
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Contains(needle));
    CHECK_THAT(r.err, Contains(names));
    CHECK(read_bytes(db) == bytes);
  }
  // The library refuses it too, whether it would write or only read.
  for (bool ro : {false, true}) {
    auto defs = load_app_file(quickstart_app());
    REQUIRE(defs);
    auto rt = runtime::start(std::move(*defs), {.path = db, .read_only = ro});
    REQUIRE_FALSE(rt);
    CHECK(is(rt.error(), errc::schema_mismatch));
    CHECK_THAT(message(rt.error()), Contains(needle));
    CHECK(read_bytes(db) == bytes);
  }
}

TEST_CASE("an empty file still becomes a log", "[read_only]") {
  temp_dir dir;
  auto db = dir.file("empty.db");
  write_text(db, "");
  auto r = run_cli(quickstart_app(), db,
                   {"run", "Accounts.User", "create",
                    R"({"email": "a@example.com"})"});
  REQUIRE_EXIT(r, 0);
  r = run_cli(quickstart_app(), db, {"list", "Accounts.User"});
  REQUIRE_EXIT(r, 0);
  CHECK_THAT(r.out, Contains("a@example.com"));
}

// -- the read-only runtime -----------------------------------------------------------------

namespace {

app notes_app(bool with_tag = false) {
  app a;
  a.add(event_log{"events"})
    .persist_actor_primary_key("system_actor", "SystemActor",
                               {.type = actor_key_kind::string});
  auto& r = a.add(resource{"Note"});
  r.attribute("text", types::string());
  if (with_tag)
    r.attribute("tag", types::string());
  r.events("events");
  r.create("create").accept({"text"});
  return a;
}

} // namespace

TEST_CASE("a read-only runtime reads, refuses writes and never creates or "
          "migrates the file",
          "[read_only]") {
  temp_dir dir;
  auto db = dir.file("notes.db");
  SECTION("a missing file is not created") {
    auto rt = runtime::start(notes_app(), {.path = db, .read_only = true});
    REQUIRE_FALSE(rt);
    CHECK(is(rt.error(), errc::not_found));
    CHECK_FALSE(fs::exists(db));
  }
  SECTION("an existing log") {
    json::value id;
    {
      auto rt = runtime::start(notes_app(), {.path = db});
      REQUIRE(rt);
      auto rec = (*rt)->run("Note", "create", {{"text", "hello"}});
      REQUIRE(rec);
      id = rec->id;
    }
    auto bytes = read_bytes(db);
    auto schema = schema_of(db);
    {
      auto rt = runtime::start(notes_app(), {.path = db, .read_only = true});
      REQUIRE(rt);
      auto got = (*rt)->get("Note", id);
      REQUIRE(got);
      CHECK(got->get("text") == "hello");
      CHECK((*rt)->list("Note")->size() == 1);
      CHECK((*rt)->events({})->events.size() == 1);
      CHECK((*rt)->stats()->events == 1);
      auto report = (*rt)->verify();
      REQUIRE(report);
      CHECK(report->ok());
      auto refused = [](const caf::error& err) {
        INFO(render(err));
        CHECK(is(err, errc::storage_failure));
        CHECK_THAT(message(err), Contains("read-only"));
      };
      auto run = (*rt)->run("Note", "create", {{"text", "no"}});
      REQUIRE_FALSE(run);
      refused(run.error());
      auto batch = (*rt)->run_batch(
        batch_call{"Note", "create", {batch_item{{{"text", "no"}}, {}}}});
      REQUIRE(batch.size() == 1);
      REQUIRE_FALSE(batch[0]);
      refused(batch[0].error());
      auto replayed = (*rt)->replay();
      REQUIRE_FALSE(replayed);
      refused(replayed.error());
      new_event ev;
      ev.resource = "Note";
      ev.action = "create";
      ev.record_id = json::string{"7e0ea1e0-0000-4000-8000-000000000000"};
      auto appended = (*rt)->append(ev);
      REQUIRE_FALSE(appended);
      refused(appended.error());
      caf::scoped_actor self{(*rt)->system()};
      caf::error got_err;
      self
        ->request(actions(**rt), std::chrono::seconds{10}, run_atom_v,
                  call{"Note", "create", {{"text", "no"}}})
        .receive([](record&) { FAIL("expected an error"); },
                 [&](caf::error& err) { got_err = std::move(err); });
      refused(got_err);
      caf::error replay_err;
      self
        ->request(replays(**rt), std::chrono::seconds{10}, replay_atom_v,
                  replay_request{})
        .receive([](replay_summary&) { FAIL("expected an error"); },
                 [&](caf::error& err) { replay_err = std::move(err); });
      refused(replay_err);
    }
    CHECK(read_bytes(db) == bytes);
    CHECK(schema_of(db) == schema);
    SECTION("definitions the file does not match yet: an error naming the "
            "table and column, and no migration") {
      auto rt = runtime::start(notes_app(true),
                               {.path = db, .read_only = true});
      REQUIRE_FALSE(rt);
      INFO(render(rt.error()));
      CHECK(is(rt.error(), errc::schema_mismatch));
      CHECK_THAT(message(rt.error()), Contains("note"));
      CHECK_THAT(message(rt.error()), Contains("tag"));
      CHECK(read_bytes(db) == bytes);
      CHECK(schema_of(db) == schema);
      // A writable start migrates; then reading works.
      REQUIRE(runtime::start(notes_app(true), {.path = db}));
      CHECK(runtime::start(notes_app(true), {.path = db, .read_only = true}));
    }
  }
}

// -- schema evolution through the CLI ----------------------------------------------------

namespace {

/// A notes app: `title` (or the attribute named `title`, with `extra_attr`
/// appended to its JSON), and the actor column `author` (or `actor_column`,
/// of key type `actor_type`, with `extra_actor` appended).
std::string notes_json(const std::string& title = "title",
                       const std::string& extra_attr = "",
                       const std::string& actor_column = "author",
                       const std::string& actor_type = "string",
                       const std::string& extra_actor = "") {
  return R"({"event_logs": [{"name": "events", "persist_actor_primary_key": [
             {"column": ")"
         + actor_column + R"(", "actor_type": "Author", "type": ")"
         + actor_type + "\"" + extra_actor + R"(}]}],
           "resources": [{"name": "Note",
             "attributes": [{"name": ")"
         + title + R"(", "type": "string")" + extra_attr + R"(}],
             "actions": [{"name": "create", "kind": "create", "accept": [")"
         + title + R"("]}],
             "events": {"event_log": "events"}}]})";
}

} // namespace

TEST_CASE("CLI: an undeclared rename or a changed actor key type is refused, "
          "naming the column, and the file stays byte-identical",
          "[read_only][migration]") {
  temp_dir dir;
  auto db = dir.file("notes.db");
  auto app_v1 = dir.file("v1.json");
  write_text(app_v1, notes_json());
  auto r = run_cli(app_v1, db,
                   {"run", "Note", "create", R"({"title": "kept"})",
                    "--actor", "Author:ann"});
  REQUIRE_EXIT(r, 0);
  auto bytes = read_bytes(db);
  auto schema = schema_of(db);
  auto app_v2 = dir.file("v2.json");
  std::string column;
  SECTION("an attribute renamed without renamed_from") {
    write_text(app_v2, notes_json("headline"));
    column = "column title";
  }
  SECTION("an actor column renamed without renamed_from") {
    write_text(app_v2, notes_json("title", "", "writer"));
    column = "column author";
  }
  SECTION("an actor column whose key type changed") {
    write_text(app_v2, notes_json("title", "", "author", "integer"));
    column = "actor column author";
  }
  std::vector<std::vector<std::string>> commands{
    {"list", "Note"}, {"events"}, {"verify"}, {"replay"},
    {"run", "Note", "create", R"({})"}};
  for (auto& args : commands) {
    r = run_cli(app_v2, db, args);
    INFO(show(r));
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Contains("schema_mismatch"));
    CHECK_THAT(r.err, Contains(column));
    CHECK(read_bytes(db) == bytes);
    CHECK(schema_of(db) == schema);
  }
}

TEST_CASE("CLI: a declared rename is done by a writing command, not by a "
          "reading one, and keeps the data through replay",
          "[read_only][migration]") {
  temp_dir dir;
  auto db = dir.file("notes.db");
  auto app_v1 = dir.file("v1.json");
  write_text(app_v1, notes_json());
  auto r = run_cli(app_v1, db,
                   {"run", "Note", "create", R"({"title": "kept"})",
                    "--actor", "Author:ann"});
  REQUIRE_EXIT(r, 0);
  auto bytes = read_bytes(db);
  auto app_v2 = dir.file("v2.json");
  write_text(app_v2, notes_json("headline", R"(, "renamed_from": "title")",
                                "writer", "string",
                                R"(, "renamed_from": ["author"])"));
  r = run_cli(app_v2, db, {"list", "Note"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("needs a migration"));
  CHECK(read_bytes(db) == bytes);
  r = run_cli(app_v2, db, {"replay"});
  REQUIRE_EXIT(r, 0);
  r = run_cli(app_v2, db, {"--format", "jsonl", "list", "Note"});
  REQUIRE_EXIT(r, 0);
  CHECK_THAT(r.out, Contains(R"("headline":"kept")"));
  r = run_cli(app_v2, db, {"--format", "jsonl", "events"});
  REQUIRE_EXIT(r, 0);
  CHECK_THAT(r.out, Contains(R"("writer":"ann")"));
  r = run_cli(app_v2, db, {"verify"});
  REQUIRE_EXIT(r, 0);
  CHECK_THAT(r.out, Contains("no differences"));
}
