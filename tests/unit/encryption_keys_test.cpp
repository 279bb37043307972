// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Keys of encrypted logs: a wrong key is refused before it writes, an
// unreadable event hides no other, key files resolve against the definition
// file and must be private, keys are wiped when dropped.

#include "eventactors/encryption.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "eventactors/all.hpp"
#include "support/faults.hpp"
#include "support/cli.hpp"
#include "support/process.hpp"
#include "support/query.hpp"
#include "support/records.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;
using Catch::Matchers::Contains;

namespace fs = std::filesystem;

namespace {

std::string hex_key(char c) {
  return std::string(64, c);
}

/// Writes a key file with one `ID HEX` line per entry and mode `mode`.
void write_keys(const std::string& path,
                const std::vector<std::pair<std::string, char>>& entries,
                fs::perms mode = fs::perms::owner_read
                                 | fs::perms::owner_write) {
  fs::create_directories(fs::path{path}.parent_path());
  std::string text;
  for (auto& [id, c] : entries)
    text += id + " " + hex_key(c) + "\n";
  write_bytes(path, text);
  fs::permissions(path, mode);
}

/// A resource on an encrypted log.
app notes_app(std::shared_ptr<key_provider> keys) {
  app a;
  a.add(event_log{"events"}).encrypt_with(std::move(keys));
  auto& r = a.add(resource{"Note"});
  r.attribute("text", types::string());
  r.create("write").accept({"text"});
  r.update("edit").accept({"text"});
  r.events("events");
  return a;
}

caf::expected<std::unique_ptr<runtime>> start(const std::string& db,
                                              const std::string& keys) {
  return runtime::start(notes_app(key_file_provider(keys)),
                        {.path = db, .synchronous = sync_mode::normal});
}

/// The check value stored for `key_id` (empty when none).
std::string check_value(const std::string& db, const std::string& key_id) {
  connection c{db};
  sqlite3_stmt* stmt = nullptr;
  std::string sql = "SELECT hex(check_value) FROM eventactors_key_checks "
                    "WHERE log = 'events' AND key_id = '"
                    + key_id + "'";
  if (sqlite3_prepare_v2(c.get(), sql.c_str(), -1, &stmt, nullptr)
      != SQLITE_OK)
    return {};
  std::string result;
  if (sqlite3_step(stmt) == SQLITE_ROW)
    result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  return result;
}

/// Flips one byte of the sealed `data` of event `id`.
void damage_event(const std::string& db, int64_t id) {
  connection c{db, true};
  sqlite3_stmt* stmt = nullptr;
  auto sel = "SELECT data FROM events WHERE id = " + std::to_string(id);
  REQUIRE(sqlite3_prepare_v2(c.get(), sel.c_str(), -1, &stmt, nullptr)
          == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  std::string bytes{static_cast<const char*>(sqlite3_column_blob(stmt, 0)),
                    static_cast<size_t>(sqlite3_column_bytes(stmt, 0))};
  sqlite3_finalize(stmt);
  REQUIRE(bytes.size() > 14);
  bytes[13] ^= 0x01;
  auto upd = "UPDATE events SET data = ? WHERE id = " + std::to_string(id);
  REQUIRE(sqlite3_prepare_v2(c.get(), upd.c_str(), -1, &stmt, nullptr)
          == SQLITE_OK);
  sqlite3_bind_blob64(stmt, 1, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  auto rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  REQUIRE(rc == SQLITE_DONE);
}

std::string vault_json(const std::string& key_path) {
  return R"({
    "event_logs": [{"name": "events", "encryption": {"provider": "key_file",
                    "path": ")"
         + key_path + R"("}}],
    "resources": [{
      "name": "Vault.Secret",
      "attributes": [{"name": "label", "type": "string"}],
      "actions": [
        {"name": "create", "kind": "create", "accept": ["label"]},
        {"name": "relabel", "kind": "update", "accept": ["label"]}],
      "events": {"event_log": "events"}}]
  })";
}

process_result cli(const std::vector<std::string>& args,
                   const std::string& input = {}) {
  std::vector<std::string> argv{cli_path};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_process(argv, {.input = input});
  REQUIRE_FALSE(r.timed_out);
  return r;
}

} // namespace

// -- a wrong key --------------------------------------------------------------

TEST_CASE("a wrong key under a key id the log uses is refused at start, "
          "naming the key id, before anything is written",
          "[encryption][keys]") {
  temp_dir dir;
  auto db = dir.file("notes.db");
  auto keys = dir.file("notes.keys");
  write_keys(keys, {{"k1", 'a'}});
  {
    auto rt = start(db, keys);
    REQUIRE(rt);
    must_run(**rt, call{"Note", "write", {{"text", "one"}}});
    must_run(**rt, call{"Note", "write", {{"text", "two"}}});
  }
  auto stored = check_value(db, "k1");
  CHECK_FALSE(stored.empty());
  auto before = read_bytes(db);
  SECTION("with a check value") {
    write_keys(keys, {{"k1", 'c'}});
    auto rt = start(db, keys);
    REQUIRE_FALSE(rt);
    CHECK(is(rt.error(), errc::decryption_failed));
    CHECK_THAT(message(rt.error()), Contains("key \"k1\""));
    CHECK_THAT(message(rt.error()), Contains("key file " + keys));
    CHECK_THAT(message(rt.error()), !Contains(hex_key('c').substr(0, 16)));
    CHECK(count_rows(db, "events") == 2);
    CHECK(check_value(db, "k1") == stored);
  }
  SECTION("a log from before check values: the key is checked against an "
          "event sealed with it, then the check value is stored") {
    exec_sql(db, "DELETE FROM eventactors_key_checks");
    write_keys(keys, {{"k1", 'c'}});
    auto rt = start(db, keys);
    REQUIRE_FALSE(rt);
    CHECK(is(rt.error(), errc::decryption_failed));
    CHECK_THAT(message(rt.error()), Contains("key \"k1\""));
    CHECK(count_rows(db, "events") == 2);
    CHECK(check_value(db, "k1").empty());
    // The right key passes and leaves its check value.
    write_keys(keys, {{"k1", 'a'}});
    auto good = start(db, keys);
    REQUIRE(good);
    CHECK_FALSE(check_value(db, "k1").empty());
    auto page = (*good)->events({});
    REQUIRE(page);
    CHECK(page->events.size() == 2);
  }
  SECTION("a new key id is accepted; reads of both keys work") {
    write_keys(keys, {{"k1", 'a'}, {"k2", 'b'}});
    auto rt = start(db, keys);
    REQUIRE(rt);
    must_run(**rt, call{"Note", "write", {{"text", "three"}}});
    CHECK_FALSE(check_value(db, "k2").empty());
    auto page = (*rt)->events({});
    REQUIRE(page);
    CHECK(page->events.size() == 3);
  }
}

TEST_CASE("the key check table's name is reserved", "[encryption][keys]") {
  app a;
  a.add(resource{"Checks"}).table("eventactors_key_checks");
  auto err = a.validate();
  REQUIRE(err);
  CHECK(is(err, errc::invalid_definition));
  auto text = render(err);
  for (auto& fe : field_errors(err))
    text += "\n" + fe.field + ": " + fe.message;
  CHECK_THAT(text, Contains("eventactors_key_checks"));
}

// -- unreadable events ----------------------------------------------------------

TEST_CASE("one unreadable event hides no other: the library skips it on "
          "request, naming it; replay stays all or nothing",
          "[encryption][keys]") {
  temp_dir dir;
  auto db = dir.file("notes.db");
  auto keys = dir.file("notes.keys");
  write_keys(keys, {{"k1", 'a'}});
  {
    auto rt = start(db, keys);
    REQUIRE(rt);
    for (auto text : {"one", "two", "three"})
      must_run(**rt, call{"Note", "write", {{"text", text}}});
  }
  damage_event(db, 2);
  auto rt = start(db, keys);
  REQUIRE(rt);
  event_filter f;
  REQUIRE_FALSE((*rt)->events(f));
  f.skip_unreadable = true;
  f.limit = 2;
  auto page = (*rt)->events(f);
  REQUIRE(page);
  REQUIRE(page->events.size() == 1);
  CHECK(page->events[0].id == json::value(1));
  REQUIRE(page->unreadable.size() == 1);
  CHECK(page->unreadable[0].id == json::value(2));
  CHECK(is(page->unreadable[0].error, errc::decryption_failed));
  CHECK_THAT(message(page->unreadable[0].error), Contains("event 2 of events"));
  CHECK(page->next_after_id == json::value(2));
  f.after_id = page->next_after_id;
  auto rest = (*rt)->events(f);
  REQUIRE(rest);
  REQUIRE(rest->events.size() == 1);
  CHECK(rest->events[0].id == json::value(3));
  // for_each_event has no page to list skipped events in: it never skips.
  event_filter all;
  all.skip_unreadable = true;
  auto walk = (*rt)->for_each_event(all,
                                    [](const event&) { return true; });
  REQUIRE(walk);
  CHECK(is(walk, errc::decryption_failed));
  CHECK_THAT(message(walk), Contains("event 2 of events"));
  auto replayed = (*rt)->replay();
  REQUIRE_FALSE(replayed);
  CHECK(is(replayed.error(), errc::decryption_failed));
  CHECK_THAT(message(replayed.error()), Contains("event 2 of events"));
  CHECK(all_records(**rt, "Note").size() == 3);
}

TEST_CASE("CLI: events and history report each unreadable event by id, show "
          "the others and exit 1; replay fails naming it",
          "[encryption][keys][cli]") {
  temp_dir dir;
  auto app = dir.file("vault.json");
  auto db = dir.file("vault.db");
  write_keys(dir.file("keys/vault.keys"), {{"k1", 'a'}});
  write_bytes(app, vault_json("keys/vault.keys"));
  auto created = cli({"--app", app, "--db", db, "--format", "jsonl", "run",
                      "Vault.Secret", "create",
                      R"({"label": "a"})"});
  INFO(created.out << created.err);
  REQUIRE(created.exit_code == 0);
  auto id_pos = created.out.find("\"id\":\"");
  REQUIRE(id_pos != std::string::npos);
  auto id = created.out.substr(id_pos + 6, 36);
  for (auto label : {"b", "c"})
    REQUIRE(cli({"--app", app, "--db", db, "run", "Vault.Secret", "relabel",
                 "--id", id,
                 std::string{R"({"label": ")"} + label + "\"}"})
              .exit_code
            == 0);
  damage_event(db, 2);
  SECTION("events, table") {
    auto r = cli({"--app", app, "--db", db, "events"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Contains("event 2 of events"));
    CHECK_THAT(r.err, Contains("decryption_failed"));
    CHECK_THAT(r.err, Contains("1 event(s) could not be read"));
    CHECK_THAT(r.out, Contains("2 event(s)"));
    auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 4);
    CHECK(lines[1].rfind("1 ", 0) == 0);
    CHECK(lines[2].rfind("3 ", 0) == 0);
  }
  SECTION("events, jsonl") {
    auto r = cli({"--app", app, "--db", db, "--format", "jsonl", "events"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 2);
    CHECK_THAT(lines[0], Contains("\"id\":1,"));
    CHECK_THAT(lines[1], Contains("\"id\":3,"));
    CHECK_THAT(r.err, Contains("\"event_id\":2"));
  }
  SECTION("history") {
    auto r = cli({"--app", app, "--db", db, "history", "Vault.Secret", id});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Contains("event 2 of events"));
    auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 3);
    CHECK(lines[1].rfind("1 ", 0) == 0);
    CHECK(lines[2].rfind("3 ", 0) == 0);
  }
  SECTION("replay and verify fail naming it, and change nothing") {
    auto before = query_count(db, "SELECT count(*) FROM vault_secret WHERE "
                                  "label = 'c'");
    auto r = cli({"--app", app, "--db", db, "replay"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Contains("event 2 of events"));
    CHECK(query_count(db, "SELECT count(*) FROM vault_secret WHERE label = "
                          "'c'")
          == before);
    auto v = cli({"--app", app, "--db", db, "verify"});
    CHECK(v.exit_code == 1);
    CHECK_THAT(v.err, Contains("event 2 of events"));
  }
}

// -- key files --------------------------------------------------------------------

TEST_CASE("CLI: a relative key_file resolves against the definition file's "
          "directory, wherever the database is",
          "[encryption][keys][cli]") {
  temp_dir dir;
  auto create = [&](const std::string& app, const std::string& db) {
    return cli({"--app", app, "--db", db, "run", "Vault.Secret", "create",
                R"({"label": "x"})"});
  };
  SECTION("app and database in different directories") {
    auto app = dir.file("defs/vault.json");
    write_keys(dir.file("defs/keys/vault.keys"), {{"k1", 'a'}});
    write_bytes(app, vault_json("keys/vault.keys"));
    fs::create_directories(dir.file("data"));
    auto db = dir.file("data/vault.db");
    auto r = create(app, db);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    auto ev = cli({"--app", app, "--db", db, "events"});
    INFO(ev.out << ev.err);
    CHECK(ev.exit_code == 0);
    CHECK_THAT(ev.out, Contains("1 event(s)"));
    // A key file beside the database only is not the one meant.
    write_keys(dir.file("data/keys/other.keys"), {{"k1", 'a'}});
    write_bytes(dir.file("defs/other.json"), vault_json("keys/other.keys"));
    auto other = create(dir.file("defs/other.json"), dir.file("data/o.db"));
    CHECK(other.exit_code == 2);
    CHECK_THAT(other.err, Contains(dir.file("defs/keys/other.keys")));
  }
  SECTION("app and database in one directory") {
    auto app = dir.file("vault.json");
    write_keys(dir.file("keys/vault.keys"), {{"k1", 'a'}});
    write_bytes(app, vault_json("keys/vault.keys"));
    auto r = create(app, dir.file("vault.db"));
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
  }
}

TEST_CASE("a key file that other users may read is refused, naming the file "
          "and chmod 600; an owner-only one is used",
          "[encryption][keys]") {
  temp_dir dir;
  auto keys = dir.file("app.keys");
  auto refused = [&](fs::perms mode) {
    write_keys(keys, {{"k1", 'a'}}, mode);
    auto p = key_file_provider(keys);
    auto id = p->current_key_id();
    REQUIRE_FALSE(id);
    CHECK(is(id.error(), errc::invalid_definition));
    CHECK_THAT(message(id.error()), Contains("key file " + keys));
    CHECK_THAT(message(id.error()), Contains("chmod 600 " + keys));
    CHECK_THAT(message(id.error()), !Contains(hex_key('a').substr(0, 16)));
    auto rt = start(dir.file("x.db"), keys);
    REQUIRE_FALSE(rt);
    CHECK_THAT(message(rt.error()), Contains("chmod 600"));
    CHECK_FALSE(fs::exists(dir.file("x.db")));
  };
  using fs::perms;
  SECTION("readable by everybody (0644)") {
    refused(perms::owner_read | perms::owner_write | perms::group_read
            | perms::others_read);
    CHECK_THAT(message(key_file_provider(keys)->current_key_id().error()),
               Contains("0644"));
  }
  SECTION("readable by the group (0640)") {
    refused(perms::owner_read | perms::owner_write | perms::group_read);
  }
  SECTION("writable by others (0602)") {
    refused(perms::owner_read | perms::owner_write | perms::others_write);
  }
  SECTION("owner only (0600 and 0400)") {
    for (auto mode : {perms::owner_read | perms::owner_write,
                      perms::owner_read}) {
      write_keys(keys, {{"k1", 'a'}}, perms::owner_read | perms::owner_write);
      fs::permissions(keys, mode);
      auto p = key_file_provider(keys);
      auto id = p->current_key_id();
      REQUIRE(id);
      CHECK(*id == "k1");
    }
  }
  SECTION("the CLI reports it as a usage error") {
    write_keys(dir.file("keys/vault.keys"), {{"k1", 'a'}},
               perms::owner_read | perms::owner_write | perms::group_read
                 | perms::others_read);
    write_bytes(dir.file("vault.json"), vault_json("keys/vault.keys"));
    auto r = cli({"--app", dir.file("vault.json"), "--db", dir.file("v.db"),
                  "run", "Vault.Secret", "create",
                  R"({"label": "x"})"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains("chmod 600 " + dir.file("keys/vault.keys")));
  }
}

TEST_CASE("a dropped key is wiped", "[encryption][keys]") {
  alignas(encryption_key) unsigned char storage[sizeof(encryption_key)];
  auto key = new (storage) encryption_key;
  std::fill(key->begin(), key->end(), uint8_t{0xA5});
  REQUIRE(std::count(storage, storage + sizeof(storage), 0xA5)
          == static_cast<long>(key->size()));
  key->~encryption_key();
  CHECK(std::count(storage, storage + sizeof(storage), 0)
        == static_cast<long>(sizeof(storage)));
}

// -- key ids and missing key files ----------------------------------------------

namespace {

/// A provider whose one key has the id it is given.
class fixed_keys : public key_provider {
public:
  explicit fixed_keys(std::string id) : id_(std::move(id)) {
    std::fill(key_.begin(), key_.end(), uint8_t{0x5A});
  }

  caf::expected<std::string> current_key_id() override {
    return id_;
  }

  caf::expected<encryption_key> key(std::string_view id) override {
    if (id != id_)
      return make_error(errc::decryption_failed, "no such key");
    return key_;
  }

  std::string describe() const override {
    return "test provider";
  }

private:
  std::string id_;
  encryption_key key_;
};

} // namespace

TEST_CASE("key ids holding a colon, a comma or a space are refused, naming "
          "the id; nothing is written",
          "[encryption][keys]") {
  temp_dir dir;
  auto db = dir.file("notes.db");
  SECTION("key files") {
    auto keys = dir.file("notes.keys");
    std::string id;
    std::string what;
    SECTION("a colon") {
      id = "2026:11";
      what = "a colon";
    }
    SECTION("a comma") {
      id = "k1,k2";
      what = "a comma";
    }
    write_keys(keys, {{"k0", 'b'}, {id, 'a'}});
    auto p = key_file_provider(keys);
    auto current = p->current_key_id();
    REQUIRE_FALSE(current);
    CHECK(is(current.error(), errc::invalid_definition));
    CHECK(message(current.error())
          == "key file " + keys + ": entry 2: key id \"" + id
               + "\" contains " + what
               + " (key ids are free text without spaces, commas or "
                 "colons)");
    auto rt = start(db, keys);
    REQUIRE_FALSE(rt);
    CHECK(is(rt.error(), errc::invalid_definition));
    CHECK_THAT(message(rt.error()), Contains("key id \"" + id + "\""));
    CHECK_FALSE(fs::exists(db));
  }
  SECTION("the environment: a space inside an id") {
    const char* var = "EVENTACTORS_TEST_KEY_ID_KEYS";
    struct unset_guard {
      const char* name;
      ~unset_guard() {
        ::unsetenv(name);
      }
    } guard{var};
    ::setenv(var, ("k 1:" + hex_key('a')).c_str(), 1);
    auto p = env_key_provider(var);
    auto current = p->current_key_id();
    REQUIRE_FALSE(current);
    CHECK(is(current.error(), errc::invalid_definition));
    CHECK_THAT(message(current.error()),
               Contains("entry 1: key id \"k 1\" contains a space"));
  }
  SECTION("another provider's current key id") {
    for (std::string id : {"k:1", "k,1", "k 1", ""}) {
      INFO("id: " << id);
      auto rt = runtime::start(notes_app(std::make_shared<fixed_keys>(id)),
                               {.path = db});
      REQUIRE_FALSE(rt);
      CHECK(is(rt.error(), errc::invalid_definition));
      CHECK_THAT(message(rt.error()),
                 Contains("event_log events: the current key id \"" + id
                          + "\" of the test provider "));
      CHECK_FALSE(fs::exists(db));
    }
    REQUIRE(runtime::start(notes_app(std::make_shared<fixed_keys>("k-1")),
                           {.path = db}));
  }
  SECTION("the CLI reports it as a usage error") {
    write_keys(dir.file("keys/vault.keys"), {{"a:b", 'a'}});
    write_bytes(dir.file("vault.json"), vault_json("keys/vault.keys"));
    auto r = cli({"--app", dir.file("vault.json"), "--db", db, "run",
                  "Vault.Secret", "create", R"({"label": "x"})"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains("invalid_definition"));
    CHECK_THAT(r.err, Contains("key id \"a:b\" contains a colon"));
    CHECK(lines_of(r.err).size() == 1);
    CHECK_FALSE(fs::exists(db));
  }
}

TEST_CASE("a missing key file is an invalid_definition naming the file and "
          "the reason; nothing is created",
          "[encryption][keys][cli]") {
  temp_dir dir;
  auto db = dir.file("v.db");
  auto keys = dir.file("keys/vault.keys");
  SECTION("library") {
    auto rt = start(db, keys);
    REQUIRE_FALSE(rt);
    CHECK(is(rt.error(), errc::invalid_definition));
    CHECK(message(rt.error())
          == "event_log events: cannot read key file " + keys
               + " (No such file or directory)");
    CHECK_FALSE(fs::exists(db));
  }
  SECTION("CLI") {
    write_bytes(dir.file("vault.json"), vault_json("keys/vault.keys"));
    auto r = cli({"--app", dir.file("vault.json"), "--db", db, "run",
                  "Vault.Secret", "create", R"({"label": "x"})"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err
          == "eventactors: invalid_definition: event_log events: cannot "
             "read key file "
               + keys + " (No such file or directory)\n");
    CHECK_FALSE(fs::exists(db));
  }
}
