// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/encryption.hpp"

#include <atomic>
#include <thread>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "eventactors/all.hpp"
#include "support/faults.hpp"
#include "support/query.hpp"
#include "support/records.hpp"
#include "support/spec_app.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;
using Catch::Matchers::Contains;

namespace {

// -- keys and files -----------------------------------------------------------

/// A key of 64 hexadecimal digits, all `c`.
std::string hex_key(char c) {
  return std::string(64, c);
}

void write_text(const std::string& path, const std::string& text) {
  write_bytes(path, text);
  REQUIRE(read_bytes(path) == text);
  // Key files must be private (others' read bits refuse them); the other
  // files written here do not mind.
  std::filesystem::permissions(path, std::filesystem::perms::owner_read
                                       | std::filesystem::perms::owner_write);
}


/// The bytes of the database file and its write-ahead log: everything of
/// the database that is on disk.
std::string disk_bytes(const std::string& db) {
  return read_bytes(db) + read_bytes(db + "-wal");
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

/// Fails the test when `text` shows any of the key material used here.
void check_no_key_material(const std::string& text) {
  for (char c : {'a', 'b', 'c', 'd'}) {
    INFO(text);
    // Even a part of a key must not leak.
    CHECK_FALSE(contains(text, std::string(16, c)));
  }
}

// -- raw access to the database -----------------------------------------------

/// The first column of the first row `sql` returns, as bytes; nullopt for
/// no row or NULL.
std::optional<std::string> query_bytes(const std::string& path,
                                       const std::string& sql) {
  connection c{path};
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(c.get(), sql.c_str(), -1, &stmt, nullptr)
      != SQLITE_OK) {
    FAIL("cannot prepare " << sql << ": " << sqlite3_errmsg(c.get()));
  }
  std::optional<std::string> result;
  if (sqlite3_step(stmt) == SQLITE_ROW
      && sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
    auto ptr = static_cast<const char*>(sqlite3_column_blob(stmt, 0));
    auto len = sqlite3_column_bytes(stmt, 0);
    result = std::string{ptr, static_cast<size_t>(len)};
  }
  sqlite3_finalize(stmt);
  return result;
}

/// The stored bytes of payload column `col` of event `id`.
std::string event_bytes(const std::string& path, const std::string& col,
                        int64_t id) {
  auto bytes = query_bytes(path, "SELECT " + col + " FROM events WHERE id = "
                                   + std::to_string(id));
  REQUIRE(bytes);
  return *bytes;
}

/// Overwrites payload column `col` of event `id` with `bytes` (as a BLOB),
/// behind the runtime's back.
void set_event_bytes(const std::string& path, const std::string& col,
                     int64_t id, const std::string& bytes) {
  connection c{path, true};
  auto sql = "UPDATE events SET " + col + " = ? WHERE id = ?";
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(c.get(), sql.c_str(), -1, &stmt, nullptr)
          == SQLITE_OK);
  sqlite3_bind_blob64(stmt, 1, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  sqlite3_bind_int64(stmt, 2, id);
  auto rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  REQUIRE(rc == SQLITE_DONE);
  REQUIRE(sqlite3_changes(c.get()) == 1);
}

/// How many events have all three payload columns stored as `type`.
int64_t events_stored_as(const std::string& path, const std::string& type) {
  return query_count(path, "SELECT count(*) FROM events WHERE typeof(data) = '"
                             + type + "' AND typeof(changed_attributes) = '"
                             + type + "' AND typeof(metadata) = '" + type
                             + "'");
}

std::string dump_accounts(const std::string& path) {
  connection c{path};
  return dump_table(c.get(), "account", "id", true);
}

// -- the application ----------------------------------------------------------

/// Makes every computed hash unique, so that a replay that recomputed a
/// hash instead of restoring it from changed_attributes is noticed.
std::atomic<int> salt_counter{0};

/// Sets `secret_hash` from the `password` argument with a fresh salt.
change salted_hash() {
  return change{"salted_hash", [](changeset& cs) {
                  auto& pw = cs.argument("password");
                  if (pw.is_string())
                    cs.set_attribute(
                      "secret_hash",
                      json::string{"salted$" + std::to_string(++salt_counter)
                                   + "$"
                                   + toy_hash(std::string{pw.get_string()})});
                }};
}

/// An Account resource on the log "events": `pin` is a sensitive input,
/// `secret_hash` a sensitive value a change computes from the sensitive
/// argument `password`; `note` is an argument stored nowhere but in the
/// event data. The log is encrypted with `keys` unless null.
app vault_app(std::shared_ptr<key_provider> keys,
              bool allow_plaintext = false,
              bool accept_plaintext_events = false) {
  app a;
  auto& log = a.add(event_log{"events"});
  log.persist_actor_primary_key("operator_id", "Operator",
                                {.type = actor_key_kind::string});
  if (keys)
    log.encrypt_with(std::move(keys));
  if (allow_plaintext)
    log.allow_plaintext_sensitive();
  if (accept_plaintext_events)
    log.accept_plaintext_events();
  auto& r = a.add(resource{"Account"});
  r.attribute("name", types::string())
    .attribute("pin", types::string(), {.sensitive = true})
    .attribute("secret_hash", types::string(), {.sensitive = true})
    .attribute("visits", types::integer(), {.default_value = 0});
  r.create("open")
    .accept({"name", "pin"})
    .argument("password", types::string(), {.sensitive = true})
    .argument("note", types::string())
    .change(salted_hash());
  r.update("rename").accept({"name"}).argument("note", types::string());
  r.update("reset_password")
    .argument("password", types::string(),
              {.required = true, .sensitive = true})
    .change(salted_hash());
  r.update("visit").change(changes::increment("visits"));
  // Fails after its write, inside the transaction: nothing is kept.
  r.update("boom").accept({"name"}).after_action(
    "boom", [](hook_context&, const changeset&, record&) {
      return make_error(errc::invalid_input, "boom");
    });
  r.destroy("close");
  r.events("events");
  return a;
}

environment fixed_clock() {
  return environment::deterministic(
    7, timestamp{std::chrono::seconds{1'700'000'000}});
}

/// A database file, a key file beside it and a runtime on them.
struct vault {
  temp_dir dir;
  std::string db = dir.file("vault.db");
  std::string keys = dir.file("vault.keys");
  std::unique_ptr<runtime> rt;
  /// Whether the encrypted log reads events stored unencrypted.
  bool accept_plaintext_events = false;

  /// Writes the key file, one `ID HEX` entry per line.
  void key_file(const std::vector<std::pair<std::string, char>>& entries) {
    std::string text = "# test keys\n";
    for (auto& [id, c] : entries)
      text += id + " " + hex_key(c) + "\n";
    write_text(keys, text);
  }

  /// Starts (or restarts) on the database, encrypted with the key file
  /// (read anew) unless `plaintext`.
  caf::error start(bool plaintext = false, bool allow_plaintext = false,
                   environment env = environment::system()) {
    rt.reset();
    auto provider = plaintext ? nullptr : key_file_provider(keys);
    auto r = runtime::start(vault_app(provider, allow_plaintext,
                                      accept_plaintext_events),
                            {.path = db,
                             .synchronous = sync_mode::normal,
                             .env = std::move(env)});
    if (!r)
      return std::move(r.error());
    rt = std::move(*r);
    return {};
  }

  void must_start(bool plaintext = false, bool allow_plaintext = false,
                  environment env = environment::system()) {
    auto err = start(plaintext, allow_plaintext, std::move(env));
    if (err)
      FAIL("start failed: " << describe(err));
  }

  record must(std::string action, json::object input,
              json::value record_id = nullptr, json::object metadata = {}) {
    call c{"Account", std::move(action), std::move(input),
           std::move(record_id)};
    c.metadata = std::move(metadata);
    return must_run(*rt, std::move(c));
  }

  std::vector<event> events(event_filter f = {}) {
    return events_where(*rt, std::move(f));
  }

  /// The error reading every event, which must fail.
  caf::error read_error(event_filter f = {}) {
    auto page = rt->events(f);
    if (page)
      FAIL("expected reading the events to fail");
    return page.error();
  }
};

/// Every record's values, by id, as JSON text: comparable across replays.
std::vector<std::string> snapshot(runtime& rt) {
  std::vector<std::string> result;
  for (auto& rec : all_records(rt, "Account"))
    result.push_back(show(rec.id) + " " + show(rec.values));
  return result;
}

} // namespace

// -- at rest ------------------------------------------------------------------

TEST_CASE("B-ENC-01: an encrypted log stores data, metadata and "
          "changed_attributes as sealed BLOBs; neither the file nor its WAL "
          "holds the plaintext",
          "[encryption]") {
  // Values that reach the event log only (arguments, metadata and an
  // appended event's changed_attributes), never a record column.
  const std::string note = "NOTE-MARKER-7f3a9c";
  const std::string meta = "META-MARKER-51c2e8";
  const std::string password = "PASSWORD-MARKER-0d4b16";
  const std::string changed = "CHANGED-MARKER-93ae42";
  auto exercise = [&](vault& v) {
    auto acc = v.must("open",
                      {{"name", "Alice"},
                       {"pin", "1234"},
                       {"password", password},
                       {"note", note}},
                      nullptr, {{"source", meta}});
    v.must("rename", {{"name", "Alicia"}, {"note", note}}, acc.id,
           {{"source", meta}});
    new_event ev;
    ev.resource = "Account";
    ev.action = "visit";
    ev.action_type = action_kind::update;
    ev.record_id = acc.id;
    ev.data = {{"imported", note}};
    ev.changed_attributes = {{"legacy", changed}};
    ev.metadata = {{"source", meta}};
    auto id = v.rt->append(ev);
    REQUIRE(id);
    CHECK(id->as_int64() == 3);
  };
  SECTION("encrypted") {
    vault v;
    v.key_file({{"k1", 'a'}});
    v.must_start();
    exercise(v);
    CHECK(count_rows(v.db, "events") == 3);
    CHECK(events_stored_as(v.db, "blob") == 3);
    CHECK(query_count(v.db, "SELECT count(*) FROM events WHERE key_id = 'k1'")
          == 3);
    // While the runtime runs the events may sit in the WAL, or have been
    // checkpointed into the file: neither holds any of the plaintext.
    auto bytes = disk_bytes(v.db);
    REQUIRE(!bytes.empty());
    for (auto& marker : {note, meta, password, changed}) {
      INFO(marker);
      CHECK_FALSE(contains(bytes, marker));
    }
    // Nor a JSON key of the payloads (the schema holds "data" etc.).
    CHECK_FALSE(contains(bytes, "\"source\""));
    CHECK_FALSE(contains(bytes, "\"legacy\""));
    // The key is not stored either.
    CHECK_FALSE(contains(bytes, hex_key('a')));
    // Each sealed value is at least version byte, IV and tag longer than
    // its JSON.
    auto sealed = event_bytes(v.db, "metadata", 1);
    auto plain_size = std::string{"{\"source\":\"" + meta + "\"}"}.size();
    CHECK(sealed.size() == 1 + 12 + plain_size + 16);
    // The plaintext was really written: a read decrypts it.
    auto evs = v.events();
    REQUIRE(evs.size() == 3);
    CHECK(evs[0].data.at("note") == json::value(note));
    CHECK(evs[0].metadata.at("source") == json::value(meta));
    CHECK(evs[2].changed_attributes.at("legacy") == json::value(changed));
    // After a clean stop (checkpointed, WAL removed) the file still holds
    // none of it.
    v.rt.reset();
    bytes = disk_bytes(v.db);
    for (auto& marker : {note, meta, password, changed}) {
      INFO(marker);
      CHECK_FALSE(contains(bytes, marker));
    }
  }
  SECTION("plaintext: the control") {
    vault v;
    v.must_start(true, true);
    exercise(v);
    CHECK(events_stored_as(v.db, "text") == 3);
    CHECK(query_count(v.db,
                      "SELECT count(*) FROM events WHERE key_id IS NULL")
          == 3);
    CHECK(query_count(v.db, "SELECT count(*) FROM events WHERE "
                            "json_extract(metadata, '$.source') = '"
                              + meta + "'")
          == 3);
    CHECK(query_count(v.db, "SELECT count(*) FROM events WHERE "
                            "json_extract(changed_attributes, '$.legacy') = '"
                              + changed + "'")
          == 1);
    auto bytes = disk_bytes(v.db);
    CHECK(contains(bytes, note));
    CHECK(contains(bytes, meta));
    CHECK(contains(bytes, changed));
    // B-SENS-01: the sensitive argument is masked, even on disk.
    CHECK_FALSE(contains(bytes, password));
  }
}

// -- reads and replay ---------------------------------------------------------

TEST_CASE("B-ENC-02: reads, replay to a cut and a full replay decrypt "
          "transparently; verify finds no difference",
          "[encryption][replay]") {
  vault v;
  v.key_file({{"k1", 'a'}});
  v.must_start();
  auto org = v.must("open", {{"name", "Cloaked name"}, {"pin", "1111"}});
  auto other = v.must("open", {{"name", "Other"}, {"password", "pw0"}});
  v.must("rename", {{"name", "Updated name"}}, org.id,
         {{"some", "metadata"}});
  v.must("reset_password", {{"password", "pw1"}}, org.id);
  v.must("visit", {}, other.id);
  v.must("visit", {}, other.id);
  auto live = snapshot(*v.rt);
  REQUIRE(live.size() == 2);
  // Pages, filters and for_each_event all decrypt.
  auto evs = v.events();
  REQUIRE(evs.size() == 6);
  CHECK(actions_of(evs)
        == std::vector<std::string>{"Account.open", "Account.open",
                                    "Account.rename", "Account.reset_password",
                                    "Account.visit", "Account.visit"});
  CHECK(evs[2].data.at("name") == "Updated name");
  CHECK(evs[2].metadata.at("some") == "metadata");
  CHECK(evs[0].metadata.empty());
  CHECK(evs[4].changed_attributes.at("visits") == 1);
  CHECK(evs[5].changed_attributes.at("visits") == 2);
  event_filter by_record;
  by_record.record_id = other.id;
  by_record.descending = true;
  by_record.limit = 1;
  auto page = v.rt->events(by_record);
  REQUIRE(page);
  REQUIRE(page->events.size() == 1);
  CHECK(page->events[0].changed_attributes.at("visits") == 2);
  std::vector<event> each;
  auto err = v.rt->for_each_event({}, [&](const event& ev) {
    each.push_back(ev);
    return true;
  });
  CHECK(!err);
  CHECK(each == evs);
  // Replay to the create: the name it was created with.
  auto cut = v.rt->replay({.last_event_id = evs[0].id});
  REQUIRE(cut);
  CHECK(cut->events == 1);
  auto first = find_record(*v.rt, "Account", org.id);
  REQUIRE(first);
  CHECK(first->get("name") == "Cloaked name");
  CHECK(first->get("pin") == "1111");
  CHECK(!find_record(*v.rt, "Account", other.id));
  // A full replay rebuilds exactly the live state, sensitive values
  // included, and appends no event.
  auto full = v.rt->replay();
  REQUIRE(full);
  CHECK(full->events == 6);
  CHECK(snapshot(*v.rt) == live);
  CHECK(count_rows(v.db, "events") == 6);
  auto got = v.rt->get("Account", org.id);
  REQUIRE(got);
  CHECK(got->get("name") == "Updated name");
  auto report = v.rt->verify();
  REQUIRE(report);
  CHECK(report->ok());
  CHECK(report->records == 2);
  CHECK(report->replay.events == 6);
  // Restarted with a fresh provider from the same file, the same again.
  v.must_start();
  CHECK(v.events() == evs);
  REQUIRE(v.rt->replay());
  CHECK(snapshot(*v.rt) == live);
}

// -- sensitive values ---------------------------------------------------------

TEST_CASE("B-SENS-01, B-SENS-02: sensitive inputs are kept in encrypted "
          "event data and masked on a plaintext log; computed sensitive "
          "values land in changed_attributes and replay restores them",
          "[encryption][sensitive]") {
  SECTION("encrypted: the sensitive inputs are kept (sealed)") {
    vault v;
    v.key_file({{"k1", 'a'}});
    v.must_start();
    auto acc = v.must("open", {{"name", "Ann"},
                               {"pin", "9876"},
                               {"password", "s3cret"}});
    auto hash = acc.get("secret_hash");
    REQUIRE(hash.is_string());
    CHECK_THAT(std::string{hash.get_string()}, Contains(toy_hash("s3cret")));
    v.must("reset_password", {{"password", "n3w"}}, acc.id);
    auto evs = v.events();
    REQUIRE(evs.size() == 2);
    CHECK(evs[0].data.at("pin") == "9876");
    CHECK(evs[0].data.at("password") == "s3cret");
    CHECK(evs[0].changed_attributes.at("secret_hash") == hash);
    CHECK_FALSE(evs[0].changed_attributes.contains("pin"));
    CHECK(evs[1].data.at("password") == "n3w");
    auto live = snapshot(*v.rt);
    // Replay runs salted_hash again (which would salt anew), then forces
    // the recorded hash; the pin comes back from the data.
    REQUIRE(v.rt->replay());
    CHECK(snapshot(*v.rt) == live);
    auto after = v.rt->get("Account", acc.id);
    REQUIRE(after);
    CHECK(after->get("pin") == "9876");
    CHECK(after->get("secret_hash")
          == evs[1].changed_attributes.at("secret_hash"));
  }
  SECTION("plaintext with allow_plaintext_sensitive: inputs are null, the "
          "computed hash is stored") {
    vault v;
    v.must_start(true, true);
    auto acc = v.must("open", {{"name", "Ann"},
                               {"pin", "9876"},
                               {"password", "s3cret"}});
    auto hash = acc.get("secret_hash");
    REQUIRE(hash.is_string());
    auto evs = v.events();
    REQUIRE(evs.size() == 1);
    // Supplied sensitive inputs: the key is there, with null.
    REQUIRE(evs[0].data.contains("pin"));
    CHECK(evs[0].data.at("pin").is_null());
    REQUIRE(evs[0].data.contains("password"));
    CHECK(evs[0].data.at("password").is_null());
    CHECK(evs[0].data.at("name") == "Ann");
    // Also as stored.
    CHECK(query_count(v.db, "SELECT count(*) FROM events WHERE "
                            "json_type(data, '$.password') = 'null' AND "
                            "json_type(data, '$.pin') = 'null'")
          == 1);
    // B-SENS-02: the computed hash is not masked.
    CHECK(evs[0].changed_attributes.at("secret_hash") == hash);
    // Replay cannot recompute it (the password is null in data): the hash
    // comes back from changed_attributes.
    REQUIRE(v.rt->replay());
    auto after = v.rt->get("Account", acc.id);
    REQUIRE(after);
    CHECK(after->get("secret_hash") == hash);
  }
}

// -- event ids ----------------------------------------------------------------

TEST_CASE("concurrent and batched writes on an encrypted log, with failed "
          "units in between, all read back and replay",
          "[encryption][concurrency]") {
  vault v;
  v.key_file({{"k1", 'a'}});
  v.must_start();
  std::vector<json::value> ids;
  for (int i = 0; i < 4; ++i)
    ids.push_back(v.must("open", {{"name", "acc" + std::to_string(i)}}).id);
  batch_call batch{"Account", "open"};
  for (int i = 0; i < 20; ++i)
    batch.items.push_back({{{"name", "batch" + std::to_string(i)},
                            {"password", "pw" + std::to_string(i)}}});
  // Writers on several threads: their units share commits (group commit),
  // and every third call fails after its write and is rolled back.
  static constexpr int per_thread = 30;
  std::atomic<int> failures_seen{0};
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        bool should_fail = i % 3 == 2;
        call c{"Account", should_fail ? "boom" : "visit", {}, ids[t]};
        if (should_fail)
          c.input = {{"name", "never"}};
        auto rec = v.rt->run(c);
        if (should_fail && !rec)
          ++failures_seen;
        else if (should_fail || !rec)
          ++unexpected;
      }
    });
  auto results = v.rt->run_batch(batch);
  for (auto& th : threads)
    th.join();
  CHECK(unexpected == 0);
  CHECK(failures_seen == 4 * per_thread / 3);
  REQUIRE(results.size() == 20);
  for (auto& r : results)
    CHECK(static_cast<bool>(r));
  const int64_t expected_events = 4 + 20 + 4 * (per_thread * 2 / 3);
  CHECK(count_rows(v.db, "events") == expected_events);
  CHECK(events_stored_as(v.db, "blob") == expected_events);
  // Ids are dense and every event opens.
  auto evs = v.events();
  REQUIRE(evs.size() == static_cast<size_t>(expected_events));
  for (size_t i = 0; i < evs.size(); ++i)
    CHECK(evs[i].id == static_cast<int64_t>(i + 1));
  CHECK(select(evs, [](const event& ev) { return ev.action == "boom"; })
          .empty());
  for (auto& id : ids) {
    auto rec = v.rt->get("Account", id);
    REQUIRE(rec);
    CHECK(rec->get("visits") == per_thread * 2 / 3);
  }
  auto live = snapshot(*v.rt);
  REQUIRE(v.rt->replay());
  CHECK(snapshot(*v.rt) == live);
  auto report = v.rt->verify();
  REQUIRE(report);
  CHECK(report->ok());
}

TEST_CASE("an encrypted log with UUIDv7 event ids seals, reads, replays "
          "and binds each payload to its id",
          "[encryption][replay]") {
  temp_dir dir;
  auto db = dir.file("v7.db");
  auto keys = dir.file("v7.keys");
  write_text(keys, "v7key " + hex_key('a') + "\n");
  auto definitions = vault_app(key_file_provider(keys));
  definitions.find_log("events")->primary_key_type(event_id_kind::uuid_v7);
  auto rt = runtime::start(std::move(definitions), {.path = db});
  REQUIRE(rt);
  auto a = must_run(**rt, call{"Account", "open", {{"name", "A"},
                                                   {"pin", "7"},
                                                   {"password", "pw"}}});
  must_run(**rt, call{"Account", "rename", {{"name", "B"}}, a.id});
  must_run(**rt, call{"Account", "rename", {{"name", "C"}}, a.id});
  CHECK(events_stored_as(db, "blob") == 3);
  auto evs = events_where(**rt);
  REQUIRE(evs.size() == 3);
  CHECK(evs[0].id.is_string());
  CHECK(evs[0].data.at("pin") == "7");
  CHECK(evs[2].data.at("name") == "C");
  auto live = snapshot(**rt);
  REQUIRE((*rt)->replay());
  CHECK(snapshot(**rt) == live);
  // Give the last rename the id of the one before (which moves up front):
  // the payloads no longer match their ids.
  auto id1 = std::string{evs[1].id.as_string()};
  auto id2 = std::string{evs[2].id.as_string()};
  exec_sql(db, "UPDATE events SET id = 'x' WHERE id = '" + id1 + "';"
               "UPDATE events SET id = '" + id1 + "' WHERE id = '" + id2
                 + "';"
               "UPDATE events SET id = '" + id2 + "' WHERE id = 'x'");
  auto page = (*rt)->events({});
  REQUIRE(!page);
  CHECK(is(page.error(), errc::decryption_failed));
  CHECK_THAT(message(page.error()), Contains(id1));
}

// -- definitions --------------------------------------------------------------

TEST_CASE("B-SENS-02 opt-in: a sensitive attribute on a log that is neither "
          "encrypted nor allow_plaintext_sensitive is an invalid definition; "
          "nothing is written",
          "[encryption][definitions]") {
  auto err = vault_app(nullptr).validate();
  REQUIRE(err);
  CHECK(is(err, errc::invalid_definition));
  CHECK(has_field_error(err, "Account.attributes.pin"));
  CHECK(has_field_error(err, "Account.attributes.secret_hash"));
  CHECK_FALSE(has_field_error(err, "Account.attributes.name"));
  CHECK_THAT(message(err), Contains("Account.attributes.pin"));
  CHECK_THAT(message(err), Contains("events"));
  CHECK_THAT(message(err), Contains("allow_plaintext_sensitive"));
  // Either way out is accepted.
  CHECK(!vault_app(nullptr, true).validate());
  CHECK(!vault_app(key_file_provider("/nonexistent/keys")).validate());
  // A sensitive argument alone needs no opt-in: it is stored as null.
  {
    app a;
    a.add(event_log{"events"});
    auto& r = a.add(resource{"Login"});
    r.attribute("user", types::string());
    r.create("create")
      .accept({"user"})
      .argument("password", types::string(), {.sensitive = true});
    r.events("events");
    CHECK(!a.validate());
  }
  temp_dir dir;
  SECTION("start on a new file creates no file") {
    auto path = dir.file("refused.db");
    auto rt = runtime::start(vault_app(nullptr), {.path = path});
    REQUIRE(!rt);
    CHECK(is(rt.error(), errc::invalid_definition));
    CHECK(has_field_error(rt.error(), "Account.attributes.secret_hash"));
    CHECK_FALSE(std::filesystem::exists(path));
    CHECK_FALSE(std::filesystem::exists(path + "-wal"));
  }
  SECTION("start on an existing file leaves it unchanged") {
    auto path = dir.file("existing.db");
    {
      auto rt = runtime::start(vault_app(nullptr, true), {.path = path});
      REQUIRE(rt);
      must_run(**rt, call{"Account", "open", {{"name", "x"}}});
    }
    auto before = disk_bytes(path);
    REQUIRE(!before.empty());
    auto rt = runtime::start(vault_app(nullptr), {.path = path});
    REQUIRE(!rt);
    CHECK(is(rt.error(), errc::invalid_definition));
    CHECK(disk_bytes(path) == before);
  }
}

// -- tampering ----------------------------------------------------------------

TEST_CASE("a changed, swapped or moved sealed payload fails with "
          "decryption_failed naming the event; replay fails atomically",
          "[encryption][tamper]") {
  vault v;
  v.key_file({{"k1", 'a'}});
  // A deterministic clock: every event has its own occurred_at.
  v.must_start(false, false, fixed_clock());
  auto a = v.must("open", {{"name", "A"}, {"note", "first"}});
  v.must("rename", {{"name", "A2"}, {"note", "second"}}, a.id);
  v.must("rename", {{"name", "A3"}, {"note", "third"}}, a.id);
  auto b = v.must("open", {{"name", "B"}});
  REQUIRE(v.events().size() == 4);
  auto before = dump_accounts(v.db);
  auto live = snapshot(*v.rt);
  // The damaged event, and the message naming it.
  int64_t broken = 0;
  auto code = errc::decryption_failed;
  SECTION("one flipped ciphertext byte") {
    broken = 2;
    auto bytes = event_bytes(v.db, "data", broken);
    bytes[bytes.size() / 2] ^= 0x01;
    set_event_bytes(v.db, "data", broken, bytes);
  }
  SECTION("one flipped tag byte") {
    broken = 3;
    auto bytes = event_bytes(v.db, "changed_attributes", broken);
    bytes.back() ^= 0x80;
    set_event_bytes(v.db, "changed_attributes", broken, bytes);
  }
  SECTION("truncated") {
    broken = 2;
    set_event_bytes(v.db, "metadata", broken, "\x01short");
  }
  SECTION("the data of two renames of one record swapped") {
    broken = 2;
    auto second = event_bytes(v.db, "data", 2);
    auto third = event_bytes(v.db, "data", 3);
    set_event_bytes(v.db, "data", 2, third);
    set_event_bytes(v.db, "data", 3, second);
    // Each of them fails on its own.
    event_filter only3;
    only3.from_id = json::value(3);
    only3.to_id = json::value(3);
    auto err = v.read_error(only3);
    CHECK(is(err, errc::decryption_failed));
    CHECK_THAT(message(err), Contains("event 3 of events"));
  }
  SECTION("moved from metadata to data of the same event") {
    broken = 2;
    set_event_bytes(v.db, "data", 2, event_bytes(v.db, "metadata", 2));
  }
  SECTION("moved to the event of another record") {
    broken = 4;
    set_event_bytes(v.db, "data", 4, event_bytes(v.db, "data", 1));
  }
  SECTION("an identity column rewritten: the version") {
    broken = 2;
    exec_sql(v.db, "UPDATE events SET version = 2 WHERE id = 2");
  }
  SECTION("an identity column rewritten: the record id") {
    broken = 2;
    exec_sql(v.db, "UPDATE events SET record_id = '"
                     + std::string{b.id.as_string()} + "' WHERE id = 2");
  }
  SECTION("an identity column rewritten: the action") {
    broken = 3;
    exec_sql(v.db, "UPDATE events SET action = 'visit' WHERE id = 3");
  }
  SECTION("an identity column rewritten: occurred_at") {
    broken = 3;
    exec_sql(v.db, "UPDATE events SET occurred_at = (SELECT occurred_at FROM "
                   "events WHERE id = 2) WHERE id = 3");
  }
  SECTION("an identity column rewritten: action_type") {
    broken = 2;
    exec_sql(v.db, "UPDATE events SET action_type = 'destroy' WHERE id = 2");
  }
  SECTION("an identity column rewritten: the actor") {
    // Who did it is bound to the payloads too.
    broken = 2;
    exec_sql(v.db, "UPDATE events SET operator_id = 'mallory' WHERE id = 2");
  }
  SECTION("a sealed event relabelled as plaintext") {
    broken = 2;
    exec_sql(v.db, "UPDATE events SET key_id = NULL WHERE id = 2");
  }
  SECTION("a sealed event replaced by a plaintext one") {
    // The downgrade: readable JSON where a sealed event was.
    broken = 2;
    exec_sql(v.db, "UPDATE events SET key_id = NULL, data = '{}', "
                   "changed_attributes = '{}', metadata = '{}' WHERE id = 2");
  }
  REQUIRE(broken > 0);
  auto named = "event " + std::to_string(broken) + " of events";
  INFO(named);
  // Reading a page holding it fails and names it.
  auto err = v.read_error();
  CHECK(is(err, code));
  CHECK_THAT(message(err), Contains(named));
  check_no_key_material(render(err));
  // So does for_each_event.
  auto each = v.rt->for_each_event({}, [](const event&) { return true; });
  REQUIRE(static_cast<bool>(each));
  CHECK_THAT(message(each), Contains(named));
  // The events before it are still readable.
  event_filter upto;
  upto.to_id = json::value(broken - 1);
  CHECK(v.events(upto).size() == static_cast<size_t>(broken - 1));
  // A full replay fails, naming the event, and changes no record.
  auto replayed = v.rt->replay();
  REQUIRE(!replayed);
  INFO(render(replayed.error()));
  CHECK(is(replayed.error(), code));
  CHECK_THAT(message(replayed.error()), Contains(named));
  CHECK(dump_accounts(v.db) == before);
  CHECK(snapshot(*v.rt) == live);
  CHECK(count_rows(v.db, "events") == 4);
  // verify fails the same way; the runtime keeps working.
  auto report = v.rt->verify();
  REQUIRE(!report);
  CHECK_THAT(message(report.error()), Contains(named));
  v.must("visit", {}, b.id);
  CHECK(count_rows(v.db, "events") == 5);
  // Replay up to the event before the damaged one still works.
  auto cut = v.rt->replay({.last_event_id = json::value(broken - 1)});
  REQUIRE(cut);
  CHECK(cut->events == static_cast<uint64_t>(broken - 1));
}

TEST_CASE("sealed payloads are bound to their event id: a swap between two "
          "events alike in everything but their id is detected",
          "[encryption][tamper]") {
  vault v;
  v.key_file({{"k1", 'a'}});
  v.must_start();
  auto a = v.must("open", {{"name", "A"}});
  // Imported history often shares a timestamp: two renames of one record,
  // same action, version and occurred_at.
  auto at = timestamp{std::chrono::seconds{1'600'000'000}};
  for (auto name : {"old", "older"}) {
    new_event ev;
    ev.resource = "Account";
    ev.action = "rename";
    ev.action_type = action_kind::update;
    ev.record_id = a.id;
    ev.data = {{"name", name}};
    ev.occurred_at = at;
    REQUIRE(v.rt->append(ev));
  }
  REQUIRE(v.events().size() == 3);
  SECTION("the data swapped") {
    auto second = event_bytes(v.db, "data", 2);
    auto third = event_bytes(v.db, "data", 3);
    set_event_bytes(v.db, "data", 2, third);
    set_event_bytes(v.db, "data", 3, second);
  }
  SECTION("the rows swapped, ids kept: history reordered") {
    exec_sql(v.db, "UPDATE events SET id = -2 WHERE id = 2;"
                   "UPDATE events SET id = 2 WHERE id = 3;"
                   "UPDATE events SET id = 3 WHERE id = -2");
  }
  auto err = v.read_error();
  CHECK(is(err, errc::decryption_failed));
  CHECK_THAT(message(err), Contains("event 2 of events"));
}

TEST_CASE("a flipped ciphertext byte is decryption_failed, and replay "
          "reports it as such",
          "[encryption][tamper]") {
  vault v;
  v.key_file({{"k1", 'a'}});
  v.must_start();
  auto a = v.must("open", {{"name", "A"}});
  v.must("rename", {{"name", "A2"}}, a.id);
  auto before = dump_accounts(v.db);
  auto bytes = event_bytes(v.db, "data", 2);
  bytes[1 + 12] ^= 0x20; // the first ciphertext byte
  set_event_bytes(v.db, "data", 2, bytes);
  auto err = v.read_error();
  CHECK(is(err, errc::decryption_failed));
  CHECK_THAT(message(err), Contains("event 2 of events"));
  CHECK_THAT(message(err), Contains("data"));
  CHECK_THAT(message(err), Contains("k1"));
  auto replayed = v.rt->replay();
  REQUIRE(!replayed);
  CHECK(is(replayed.error(), errc::decryption_failed));
  CHECK_THAT(message(replayed.error()), Contains("event 2 of events"));
  CHECK(dump_accounts(v.db) == before);
  // Undone, everything reads and replays again.
  bytes[1 + 12] ^= 0x20;
  set_event_bytes(v.db, "data", 2, bytes);
  CHECK(v.events().size() == 2);
  REQUIRE(v.rt->replay());
  CHECK(dump_accounts(v.db) == before);
}

// -- keys ---------------------------------------------------------------------

TEST_CASE("a missing or wrong key fails reads with decryption_failed naming "
          "the event and the key; no current key refuses to start",
          "[encryption][keys]") {
  vault v;
  v.key_file({{"k1", 'a'}});
  v.must_start();
  auto a = v.must("open", {{"name", "A"}, {"password", "pw"}});
  v.must("visit", {}, a.id);
  auto live = snapshot(*v.rt);
  v.rt.reset();
  SECTION("the key id is missing") {
    v.key_file({{"k9", 'b'}});
    v.must_start();
    auto err = v.read_error();
    CHECK(is(err, errc::decryption_failed));
    CHECK_THAT(message(err), Contains("event 1 of events"));
    CHECK_THAT(message(err), Contains("\"k1\""));
    CHECK_THAT(message(err), Contains("key file " + v.keys));
    check_no_key_material(render(err));
    // New events use the current key; they read, the old ones do not.
    v.must("visit", {}, a.id);
    event_filter fresh;
    fresh.from_id = json::value(3);
    auto evs = v.events(fresh);
    REQUIRE(evs.size() == 1);
    CHECK(evs[0].changed_attributes.at("visits") == 2);
    CHECK(query_count(v.db, "SELECT count(*) FROM events WHERE id = 3 AND "
                            "key_id = 'k9'")
          == 1);
    auto before = dump_accounts(v.db);
    auto replayed = v.rt->replay();
    REQUIRE(!replayed);
    CHECK(is(replayed.error(), errc::decryption_failed));
    CHECK_THAT(message(replayed.error()), Contains("event 1 of events"));
    CHECK(dump_accounts(v.db) == before);
  }
  SECTION("the key id names other bytes: refused before anything is "
          "written") {
    auto before = dump_accounts(v.db);
    auto events_before = count_rows(v.db, "events");
    v.key_file({{"k1", 'c'}});
    auto err = v.start();
    REQUIRE(err);
    CHECK(is(err, errc::decryption_failed));
    CHECK_THAT(message(err), Contains("key \"k1\""));
    CHECK_THAT(message(err), Contains("key file " + v.keys));
    check_no_key_material(render(err));
    CHECK(count_rows(v.db, "events") == events_before);
    CHECK(dump_accounts(v.db) == before);
    // The right key back: everything reads and replays.
    v.key_file({{"k1", 'a'}});
    v.must_start();
    CHECK(v.events().size() == 2);
    REQUIRE(v.rt->replay());
    CHECK(dump_accounts(v.db) == before);
  }
  SECTION("the log lost its key provider") {
    v.must_start(true, true);
    auto err = v.read_error();
    CHECK(is(err, errc::decryption_failed));
    CHECK_THAT(message(err), Contains("event 1 of events"));
    CHECK_THAT(message(err), Contains("no key provider"));
    REQUIRE(!v.rt->replay());
    CHECK(snapshot(*v.rt) == live);
  }
  SECTION("an empty key file: no current key, no start") {
    write_text(v.keys, "# all keys removed\n\n");
    auto before = disk_bytes(v.db);
    auto err = v.start();
    REQUIRE(err);
    CHECK(is(err, errc::invalid_definition));
    CHECK_THAT(message(err), Contains("event_log events"));
    CHECK_THAT(message(err), Contains("key file " + v.keys));
    CHECK_THAT(message(err), Contains("holds no key"));
    CHECK(disk_bytes(v.db) == before);
  }
  SECTION("a missing key file: no start") {
    std::filesystem::remove(v.keys);
    auto err = v.start();
    REQUIRE(err);
    CHECK(is(err, errc::invalid_definition));
    CHECK_THAT(message(err), Contains("event_log events"));
    CHECK_THAT(message(err), Contains("cannot read key file " + v.keys));
  }
}

TEST_CASE("key rotation: new events use the last key, old ones stay "
          "readable while their key is available",
          "[encryption][keys]") {
  vault v;
  v.key_file({{"k1", 'a'}});
  v.must_start();
  auto a = v.must("open", {{"name", "A"}, {"password", "one"}});
  auto b = v.must("open", {{"name", "B"}});
  v.rt.reset();
  // Rotate: k2 becomes current, k1 stays for reading.
  v.key_file({{"k1", 'a'}, {"k2", 'b'}});
  v.must_start();
  v.must("rename", {{"name", "A2"}}, a.id);
  v.must("reset_password", {{"password", "two"}}, a.id);
  CHECK(query_count(v.db, "SELECT count(*) FROM events WHERE key_id = 'k1' "
                          "AND id IN (1, 2)")
        == 2);
  CHECK(query_count(v.db, "SELECT count(*) FROM events WHERE key_id = 'k2' "
                          "AND id IN (3, 4)")
        == 2);
  auto evs = v.events();
  REQUIRE(evs.size() == 4);
  CHECK(evs[0].data.at("password") == "one");
  CHECK(evs[3].data.at("password") == "two");
  auto live = snapshot(*v.rt);
  REQUIRE(v.rt->replay());
  CHECK(snapshot(*v.rt) == live);
  auto report = v.rt->verify();
  REQUIRE(report);
  CHECK(report->ok());
  SECTION("relabelling a k2 event as k1 is detected") {
    exec_sql(v.db, "UPDATE events SET key_id = 'k1' WHERE id = 3");
    auto err = v.read_error();
    CHECK(is(err, errc::decryption_failed));
    CHECK_THAT(message(err), Contains("event 3 of events"));
  }
  SECTION("k1 retired: its events fail naming the missing key") {
    v.rt.reset();
    v.key_file({{"k2", 'b'}});
    v.must_start();
    auto err = v.read_error();
    CHECK(is(err, errc::decryption_failed));
    CHECK_THAT(message(err), Contains("event 1 of events"));
    CHECK_THAT(message(err), Contains("key \"k1\" is not in the key file"));
    check_no_key_material(render(err));
    event_filter fresh;
    fresh.from_id = json::value(3);
    CHECK(v.events(fresh).size() == 2);
    auto before = dump_accounts(v.db);
    auto replayed = v.rt->replay();
    REQUIRE(!replayed);
    CHECK_THAT(message(replayed.error()), Contains("\"k1\""));
    CHECK(dump_accounts(v.db) == before);
    CHECK(find_record(*v.rt, "Account", b.id).has_value());
  }
}

TEST_CASE("a plaintext log switched to encryption keeps its old events "
          "readable and seals the new ones",
          "[encryption][keys]") {
  vault v;
  v.must_start(true, true);
  auto a = v.must("open", {{"name", "A"}, {"pin", "1"}});
  v.rt.reset();
  v.key_file({{"k1", 'a'}});
  // Encrypted, but not told to accept the older plaintext events: they are
  // refused like a tampered event.
  v.must_start();
  auto refused = v.read_error();
  CHECK(is(refused, errc::decryption_failed));
  CHECK_THAT(message(refused), Contains("event 1 of events"));
  CHECK_THAT(message(refused), Contains("accept_plaintext_events"));
  v.accept_plaintext_events = true;
  v.must_start();
  v.must("open", {{"name", "B"}, {"pin", "2"}});
  CHECK(query_count(v.db, "SELECT count(*) FROM events WHERE id = 1 AND "
                          "typeof(data) = 'text' AND key_id IS NULL")
        == 1);
  CHECK(query_count(v.db, "SELECT count(*) FROM events WHERE id = 2 AND "
                          "typeof(data) = 'blob' AND key_id = 'k1'")
        == 1);
  auto evs = v.events();
  REQUIRE(evs.size() == 2);
  CHECK(evs[0].data.at("pin").is_null()); // masked when it was written
  CHECK(evs[1].data.at("pin") == "2");
  CHECK(evs[0].data.at("name") == "A");
  REQUIRE(v.rt->replay());
  auto rec = find_record(*v.rt, "Account", a.id);
  REQUIRE(rec);
  CHECK(rec->get("name") == "A");
}

// -- key providers ------------------------------------------------------------

TEST_CASE("key file provider: the last key is current, comments and blank "
          "lines are skipped, parse errors name the problem but never the "
          "key",
          "[encryption][keys]") {
  temp_dir dir;
  auto path = dir.file("keys");
  auto load = [&](const std::string& text) {
    write_text(path, text);
    return key_file_provider(path);
  };
  // Each malformed file: the expected part of the message.
  bool malformed = true;
  std::string text;
  std::string expected;
  SECTION("well-formed") {
    malformed = false;
    auto p = load("# rotated 2024\n\nold " + hex_key('a') + "\r\n"
                  + "  new\t" + hex_key('B') + "   # current\n");
    auto current = p->current_key_id();
    REQUIRE(current);
    CHECK(*current == "new");
    auto old_key = p->key("old");
    REQUIRE(old_key);
    CHECK((*old_key)[0] == 0xaa);
    CHECK((*old_key)[31] == 0xaa);
    auto new_key = p->key("new");
    REQUIRE(new_key);
    CHECK((*new_key)[5] == 0xbb);
    auto missing = p->key("other");
    REQUIRE(!missing);
    CHECK(is(missing.error(), errc::decryption_failed));
    CHECK_THAT(message(missing.error()),
               Contains("key \"other\" is not in the key file " + path));
    CHECK(p->describe() == "key file " + path);
    check_no_key_material(p->describe());
  }
  SECTION("bad hexadecimal digit") {
    text = "k1 " + hex_key('a').substr(1) + "g\n";
    expected = "entry 1: the key of \"k1\" is not 64 hexadecimal digits";
  }
  SECTION("too short") {
    text = "k1 " + hex_key('a').substr(2) + "\n";
    expected = "the key of \"k1\" is not 64 hexadecimal digits";
  }
  SECTION("too long") {
    text = "k1 " + hex_key('a') + "dd\n";
    expected = "the key of \"k1\" is not 64 hexadecimal digits";
  }
  SECTION("duplicate id") {
    text = "k1 " + hex_key('a') + "\nk1 " + hex_key('b') + "\n";
    expected = "entry 2: key \"k1\" is given twice";
  }
  SECTION("no key after the id") {
    text = "# comment\nk1\n";
    expected = "entry 2: expected ID KEY";
  }
  SECTION("empty") {
    text = "";
    expected = "holds no key";
  }
  SECTION("only comments") {
    text = "# k1 " + hex_key('a') + "\n\n   \n";
    expected = "holds no key";
  }
  if (malformed) {
    auto p = load(text);
    auto current = p->current_key_id();
    REQUIRE(!current);
    CHECK(is(current.error(), errc::invalid_definition));
    CHECK_THAT(message(current.error()), Contains("key file " + path));
    CHECK_THAT(message(current.error()), Contains(expected));
    check_no_key_material(render(current.error()));
    // The error sticks; key() reports it too.
    auto k = p->key("k1");
    REQUIRE(!k);
    CHECK(message(k.error()) == message(current.error()));
    // And runtime::start refuses, naming the log and the problem.
    auto rt = runtime::start(vault_app(p), {.path = dir.file("x.db")});
    REQUIRE(!rt);
    CHECK(is(rt.error(), errc::invalid_definition));
    CHECK_THAT(message(rt.error()), Contains("event_log events"));
    CHECK_THAT(message(rt.error()), Contains(expected));
    CHECK_FALSE(std::filesystem::exists(dir.file("x.db")));
  }
}

TEST_CASE("key file provider: a missing file is a clear error",
          "[encryption][keys]") {
  temp_dir dir;
  auto path = dir.file("absent.keys");
  auto p = key_file_provider(path);
  auto current = p->current_key_id();
  REQUIRE(!current);
  CHECK(is(current.error(), errc::invalid_definition));
  CHECK(message(current.error())
        == "cannot read key file " + path + " (No such file or directory)");
  // Read once: creating the file later does not help this provider.
  write_text(path, "k1 " + hex_key('a') + "\n");
  CHECK(!p->current_key_id());
  CHECK(key_file_provider(path)->current_key_id());
}

TEST_CASE("env key provider: ID:HEX entries separated by commas, parse "
          "errors name the variable and the problem but never the key",
          "[encryption][keys]") {
  const char* var = "EVENTACTORS_TEST_ENCRYPTION_KEYS";
  struct unset_guard {
    const char* name;
    ~unset_guard() {
      ::unsetenv(name);
    }
  } guard{var};
  SECTION("well-formed") {
    ::setenv(var, ("k1:" + hex_key('a') + ", k2:" + hex_key('b')).c_str(), 1);
    auto p = env_key_provider(var);
    auto current = p->current_key_id();
    REQUIRE(current);
    CHECK(*current == "k2");
    REQUIRE(p->key("k1"));
    CHECK((*p->key("k1"))[0] == 0xaa);
    CHECK(p->describe() == std::string{"environment variable "} + var);
    auto missing = p->key("k3");
    REQUIRE(!missing);
    CHECK(is(missing.error(), errc::decryption_failed));
    CHECK_THAT(message(missing.error()),
               Contains(std::string{"key \"k3\" is not in the environment "
                                    "variable "}
                        + var));
  }
  SECTION("the default variable name") {
    CHECK(env_key_provider()->describe()
          == "environment variable EVENTACTORS_KEYS");
  }
  std::optional<std::string> value;
  std::string expected;
  SECTION("unset") {
    expected = "is not set";
  }
  SECTION("empty") {
    value = "";
    expected = "is not set";
  }
  SECTION("no separator") {
    value = "k1" + hex_key('a');
    expected = "entry 1: expected ID:KEY";
  }
  SECTION("a space instead of a colon") {
    value = "k1 " + hex_key('a');
    expected = "entry 1: expected ID:KEY";
  }
  SECTION("bad hexadecimal digit") {
    value = "k1:" + hex_key('a') + ",k2:" + hex_key('b').substr(1) + "x";
    expected = "entry 2: the key of \"k2\" is not 64 hexadecimal digits";
  }
  SECTION("wrong length") {
    value = "k1:" + hex_key('c').substr(10);
    expected = "the key of \"k1\" is not 64 hexadecimal digits";
  }
  SECTION("duplicate id") {
    value = "k1:" + hex_key('a') + ",k1:" + hex_key('b');
    expected = "key \"k1\" is given twice";
  }
  SECTION("only separators") {
    value = " , ,";
    expected = "holds no key";
  }
  if (!expected.empty()) {
    if (value)
      ::setenv(var, value->c_str(), 1);
    else
      ::unsetenv(var);
    auto p = env_key_provider(var);
    auto current = p->current_key_id();
    REQUIRE(!current);
    CHECK(is(current.error(), errc::invalid_definition));
    CHECK_THAT(message(current.error()),
               Contains(std::string{"environment variable "} + var));
    CHECK_THAT(message(current.error()), Contains(expected));
    check_no_key_material(render(current.error()));
    temp_dir dir;
    auto rt = runtime::start(vault_app(p), {.path = dir.file("x.db")});
    REQUIRE(!rt);
    CHECK_THAT(message(rt.error()), Contains("event_log events"));
    CHECK_THAT(message(rt.error()), Contains(expected));
  }
}

TEST_CASE("an encrypted log on keys from the environment works end to end",
          "[encryption][keys]") {
  const char* var = "EVENTACTORS_TEST_ENCRYPTION_ENV_E2E";
  ::setenv(var, ("env1:" + hex_key('d')).c_str(), 1);
  struct unset_guard {
    const char* name;
    ~unset_guard() {
      ::unsetenv(name);
    }
  } guard{var};
  temp_dir dir;
  auto path = dir.file("env.db");
  auto rt = runtime::start(vault_app(env_key_provider(var)), {.path = path});
  REQUIRE(rt);
  must_run(**rt, call{"Account", "open", {{"name", "E"}, {"pin", "42"}}});
  CHECK(query_count(path, "SELECT count(*) FROM events WHERE key_id = 'env1' "
                          "AND typeof(data) = 'blob'")
        == 1);
  auto evs = events_where(**rt);
  REQUIRE(evs.size() == 1);
  CHECK(evs[0].data.at("pin") == "42");
}

// -- JSON definitions ---------------------------------------------------------

namespace {

/// A JSON app with one resource holding a sensitive attribute on the log
/// "events", whose definition gets `log_extra` (`, "key": ...`).
std::string vault_json(const std::string& log_extra) {
  return R"({
    "event_logs": [{"name": "events")"
         + log_extra + R"(}],
    "resources": [{
      "name": "Vault.Secret",
      "attributes": [
        {"name": "label", "type": "string"},
        {"name": "code", "type": "string", "sensitive": true}],
      "actions": [
        {"name": "create", "kind": "create", "accept": ["label", "code"],
         "arguments": [{"name": "note", "type": "string"}]}],
      "events": {"event_log": "events"}}]
  })";
}

caf::expected<app> load_text(const std::string& text,
                             const std::filesystem::path& base = {}) {
  auto doc = parse_json(text, "vault.json");
  if (!doc)
    FAIL(render(doc.error()));
  return load_app(*doc, json_library::builtins(base));
}

/// Runs `Vault.Secret.create` on `a` at `path`; returns the event.
event create_secret(app a, const std::string& path) {
  auto rt = runtime::start(std::move(a), {.path = path});
  if (!rt)
    FAIL("start failed: " << describe(rt.error()));
  must_run(**rt, call{"Vault.Secret",
                      "create",
                      {{"label", "L"}, {"code", "C0DE"}, {"note", "n"}}});
  auto evs = events_where(**rt);
  REQUIRE(evs.size() == 1);
  return evs[0];
}

} // namespace

TEST_CASE("JSON definitions: encryption with a key file (relative to the "
          "base directory) or the environment, allow_plaintext_sensitive, "
          "and clear errors",
          "[encryption][json_app]") {
  temp_dir dir;
  std::filesystem::create_directory(dir.path() / "keys");
  auto key_path = (dir.path() / "keys" / "app.keys").string();
  write_text(key_path, "json1 " + hex_key('a') + "\n");
  SECTION("key_file, relative to base_dir") {
    auto a = load_text(vault_json(R"(, "encryption": {"provider": "key_file",
                                     "path": "keys/app.keys"})"),
                       dir.path());
    if (!a)
      FAIL(describe(a.error()));
    auto log = a->find_log("events");
    REQUIRE(log);
    REQUIRE(log->encrypted());
    CHECK(log->keys()->describe() == "key file " + key_path);
    auto ev = create_secret(std::move(*a), dir.file("j.db"));
    CHECK(ev.data.at("code") == "C0DE");
    CHECK(query_count(dir.file("j.db"),
                      "SELECT count(*) FROM events WHERE key_id = 'json1' "
                      "AND typeof(data) = 'blob'")
          == 1);
  }
  SECTION("key_file, relative to the definition file") {
    auto file = dir.file("app.json");
    write_text(file, vault_json(R"(, "encryption": {"provider": "key_file",
                                   "path": "keys/app.keys"})"));
    auto a = load_app_file(file);
    if (!a)
      FAIL(describe(a.error()));
    auto log = a->find_log("events");
    REQUIRE(log);
    REQUIRE(log->encrypted());
    auto ev = create_secret(std::move(*a), dir.file("f.db"));
    CHECK(ev.data.at("code") == "C0DE");
  }
  SECTION("key_file with an absolute path") {
    auto a = load_text(vault_json(R"(, "encryption": {"provider": "key_file",
                                     "path": ")"
                                  + key_path + "\"}"));
    REQUIRE(a);
    CHECK(a->find_log("events")->keys()->describe() == "key file " + key_path);
  }
  SECTION("env") {
    const char* var = "EVENTACTORS_TEST_ENCRYPTION_JSON";
    ::setenv(var, ("e1:" + hex_key('b')).c_str(), 1);
    struct unset_guard {
      const char* name;
      ~unset_guard() {
        ::unsetenv(name);
      }
    } guard{var};
    auto a = load_text(vault_json(R"(, "encryption": {"provider": "env",
                                     "variable": ")"
                                  + std::string{var} + "\"}"));
    if (!a)
      FAIL(describe(a.error()));
    auto ev = create_secret(std::move(*a), dir.file("e.db"));
    CHECK(ev.data.at("code") == "C0DE");
    CHECK(query_count(dir.file("e.db"),
                      "SELECT count(*) FROM events WHERE key_id = 'e1'")
          == 1);
  }
  SECTION("allow_plaintext_sensitive") {
    auto a = load_text(vault_json(R"(, "allow_plaintext_sensitive": true)"));
    if (!a)
      FAIL(describe(a.error()));
    CHECK_FALSE(a->find_log("events")->encrypted());
    CHECK(a->find_log("events")->plaintext_sensitive_allowed());
    auto ev = create_secret(std::move(*a), dir.file("p.db"));
    REQUIRE(ev.data.contains("code"));
    CHECK(ev.data.at("code").is_null());
    CHECK(ev.data.at("note") == "n");
    CHECK(query_count(dir.file("p.db"),
                      "SELECT count(*) FROM events WHERE typeof(data) = "
                      "'text' AND key_id IS NULL")
          == 1);
  }
  // Refused definitions: the JSON path (or attribute path) and the problem.
  std::string extra;
  std::string field;
  std::string expected;
  SECTION("neither encrypted nor allowed") {
    expected = "sensitive attribute on event log events";
    field = "resources[0].attributes[1]";
  }
  SECTION("allow_plaintext_sensitive false") {
    extra = R"(, "allow_plaintext_sensitive": false)";
    expected = "sensitive attribute on event log events";
    field = "resources[0].attributes[1]";
  }
  SECTION("allow_plaintext_sensitive not a boolean") {
    extra = R"(, "allow_plaintext_sensitive": "yes")";
    field = "event_logs[0].allow_plaintext_sensitive";
  }
  SECTION("unknown provider") {
    extra = R"(, "encryption": {"provider": "vault", "path": "x"})";
    expected = "unknown key provider \"vault\"";
    field = "event_logs[0].encryption.provider";
  }
  SECTION("unknown key in the encryption object") {
    extra = R"(, "encryption": {"provider": "key_file", "path": "k",
                               "passphrase": "hunter2"})";
    expected = "unknown key \"passphrase\"";
    field = "event_logs[0].encryption";
  }
  SECTION("no provider") {
    extra = R"(, "encryption": {"path": "keys/app.keys"})";
    expected = "is required";
    field = "event_logs[0].encryption.provider";
  }
  SECTION("key_file without a path") {
    extra = R"(, "encryption": {"provider": "key_file"})";
    expected = "path is required";
    field = "event_logs[0].encryption";
  }
  SECTION("env without a variable") {
    extra = R"(, "encryption": {"provider": "env", "variable": ""})";
    expected = "variable: expected a non-empty string";
    field = "event_logs[0].encryption";
  }
  SECTION("encryption not an object") {
    extra = R"(, "encryption": "key_file")";
    field = "event_logs[0].encryption";
  }
  if (!field.empty()) {
    auto a = load_text(vault_json(extra), dir.path());
    REQUIRE(!a);
    INFO(describe(a.error()));
    CHECK(is(a.error(), errc::invalid_definition));
    bool found = false;
    for (auto& fe : field_errors(a.error()))
      if (fe.field.rfind(field, 0) == 0) {
        found = true;
        CHECK_THAT(fe.message, Contains(expected));
      }
    CHECK(found);
    CHECK_THAT(message(a.error()), Contains(field));
  }
}

// -- fork and verify ----------------------------------------------------------

TEST_CASE("fork copies the sealed events as they are; the fork reads and "
          "replays them with the same keys; verify compares decrypted "
          "replays",
          "[encryption][replay]") {
  vault v;
  v.key_file({{"k1", 'a'}, {"k2", 'b'}});
  v.must_start();
  auto a = v.must("open", {{"name", "A"}, {"pin", "11"}, {"password", "p"}},
                  nullptr, {{"m", 1}});
  auto b = v.must("open", {{"name", "B"}});
  v.must("rename", {{"name", "A2"}, {"note", "x"}}, a.id);
  v.must("visit", {}, b.id);
  auto live = snapshot(*v.rt);
  auto live_events = v.events();
  REQUIRE(live_events.size() == 4);
  SECTION("a full fork") {
    auto fork_path = v.dir.file("fork.db");
    auto s = v.rt->fork({}, fork_path);
    REQUIRE(s);
    CHECK(s->events == 4);
    // The same sealed bytes, still sealed.
    CHECK(events_stored_as(fork_path, "blob") == 4);
    CHECK(query_count(fork_path,
                      "SELECT count(*) FROM events WHERE key_id = 'k2'")
          == 4);
    for (int64_t id = 1; id <= 4; ++id)
      for (auto col : {"data", "changed_attributes", "metadata"})
        CHECK(event_bytes(fork_path, col, id) == event_bytes(v.db, col, id));
    auto f = runtime::start(vault_app(key_file_provider(v.keys)),
                            {.path = fork_path});
    REQUIRE(f);
    CHECK(events_where(**f) == live_events);
    CHECK(snapshot(**f) == live);
    REQUIRE((*f)->replay());
    CHECK(snapshot(**f) == live);
    // The fork runs what-if actions, sealed too.
    must_run(**f, call{"Account", "visit", {}, a.id});
    CHECK(events_stored_as(fork_path, "blob") == 5);
    // Without the keys the fork's events do not read.
    f->reset();
    auto plain = runtime::start(vault_app(nullptr, true), {.path = fork_path});
    REQUIRE(plain);
    auto page = (*plain)->events({});
    REQUIRE(!page);
    CHECK(is(page.error(), errc::decryption_failed));
  }
  SECTION("a fork to a cut") {
    auto fork_path = v.dir.file("cut.db");
    auto s = v.rt->fork({.last_event_id = live_events[0].id}, fork_path);
    REQUIRE(s);
    CHECK(s->events == 1);
    auto f = runtime::start(vault_app(key_file_provider(v.keys)),
                            {.path = fork_path});
    REQUIRE(f);
    auto recs = all_records(**f, "Account");
    REQUIRE(recs.size() == 1);
    CHECK(recs[0].get("name") == "A");
    CHECK(recs[0].get("pin") == "11");
    CHECK(recs[0].get("secret_hash") == a.get("secret_hash"));
  }
  SECTION("verify sees a record edited behind the log's back") {
    auto ok = v.rt->verify();
    REQUIRE(ok);
    CHECK(ok->ok());
    CHECK(ok->records == 2);
    exec_sql(v.db, "UPDATE account SET pin = '99' WHERE pin = '11'");
    auto report = v.rt->verify();
    REQUIRE(report);
    CHECK(report->total_differences == 1);
    REQUIRE(report->differences.size() == 1);
    CHECK(report->differences[0].field == "pin");
    CHECK(report->differences[0].live == "99");
    // The replayed value came from the sealed data.
    CHECK(report->differences[0].replayed == "11");
  }
}

TEST_CASE("a key file with the id and the key swapped is refused without "
          "repeating the key",
          "[encryption][keys]") {
  temp_dir dir;
  auto path = dir.file("swapped.keys");
  write_text(path, hex_key('c') + " k1\n");
  auto keys = key_file_provider(path);
  auto id = keys->current_key_id();
  REQUIRE_FALSE(id);
  CHECK(is(id.error(), errc::invalid_definition));
  CHECK_THAT(message(id.error()), Contains("swapped"));
  CHECK_THAT(message(id.error()), Contains(path));
  check_no_key_material(render(id.error()));
  // Given twice, swapped: the duplicate is not shown either.
  write_text(path, hex_key('d') + " " + hex_key('a') + "\n" + hex_key('d')
                     + " " + hex_key('a') + "\n");
  auto twice = key_file_provider(path)->current_key_id();
  REQUIRE_FALSE(twice);
  check_no_key_material(render(twice.error()));
}

