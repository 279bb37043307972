// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The database file across restarts: schema migration, indexes, id
// generation.

#include "eventactors/all.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include <catch2/catch.hpp>

#include "support/query.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;

namespace {

std::unique_ptr<runtime> start(app a, const std::string& path,
                               environment env = environment::system()) {
  auto rt = runtime::start(std::move(a), {.path = path, .env = env});
  if (!rt)
    FAIL("start failed: " << render(rt.error()));
  return std::move(*rt);
}

} // namespace

TEST_CASE("identity indexes of different resources never share a name",
          "[storage]") {
  // `User` with identity `email_domain` and `User.Email` with identity
  // `domain` would both be named user_email_domain by a naive scheme.
  temp_dir dir;
  auto path = dir.file("i.db");
  app a;
  auto& u = a.add(resource{"User"});
  u.attribute("email_domain", types::string());
  u.identity("email_domain", {"email_domain"});
  u.create("create").accept({"email_domain"});
  auto& e = a.add(resource{"User.Email"});
  e.attribute("domain", types::string());
  e.identity("domain", {"domain"});
  e.create("create").accept({"domain"});
  auto rt = start(a, path);
  // Both identities are enforced, also by the database itself.
  CHECK(query_int(path, "SELECT count(*) FROM sqlite_master WHERE type = "
                        "'index' AND sql LIKE 'CREATE UNIQUE INDEX%'")
        == 2);
  REQUIRE(rt->run("User.Email", "create", {{"domain", "x.org"}}));
  auto dup = rt->run("User.Email", "create", {{"domain", "x.org"}});
  REQUIRE(!dup);
  CHECK(is(dup.error(), errc::conflict));
}

TEST_CASE("an identity removed from the definitions stops being enforced",
          "[storage]") {
  temp_dir dir;
  auto path = dir.file("r.db");
  auto make = [](bool unique) {
    app a;
    auto& r = a.add(resource{"Tag"});
    r.attribute("name", types::string());
    if (unique)
      r.identity("unique_name", {"name"});
    r.create("create").accept({"name"});
    return a;
  };
  {
    auto rt = start(make(true), path);
    REQUIRE(rt->run("Tag", "create", {{"name", "a"}}));
    REQUIRE(!rt->run("Tag", "create", {{"name", "a"}}));
  }
  auto rt = start(make(false), path);
  CHECK(rt->run("Tag", "create", {{"name", "a"}}));
  CHECK(count_rows(path, "tag") == 2);
}

TEST_CASE("a column stored with another type refuses to start with an "
          "error naming the attribute",
          "[storage]") {
  temp_dir dir;
  auto path = dir.file("t.db");
  auto make = [](attribute_type t) {
    app a;
    auto& r = a.add(resource{"Item"});
    r.attribute("size", t);
    r.create("create").accept({"size"});
    return a;
  };
  { start(make(types::string()), path); }
  auto rt = runtime::start(make(types::integer()), {.path = path});
  REQUIRE(!rt);
  CHECK(is(rt.error(), errc::schema_mismatch));
  CHECK(message(rt.error()).find("Item.size") != std::string::npos);
}

TEST_CASE("UUID v7 event ids keep increasing across restarts, whatever the "
          "records' timestamps",
          "[storage]") {
  temp_dir dir;
  auto path = dir.file("v7.db");
  auto make = [] {
    app a;
    a.add(event_log{"events"}).primary_key_type(event_id_kind::uuid_v7);
    auto& r = a.add(resource{"Doc"});
    r.timestamps();
    r.events("events").create_timestamp("created_at");
    r.create("create").accept({"created_at"});
    return a;
  };
  std::vector<std::string> ids;
  auto append = [&](runtime& rt, const char* created) {
    auto rec = rt.run("Doc", "create", {{"created_at", created}});
    REQUIRE(rec);
    ids.push_back(std::string{rec->event_id.as_string()});
  };
  {
    // A clock far in the future, then records dated before 1970.
    auto rt = start(make(), path,
                    environment::deterministic(
                      1, timestamp{std::chrono::hours{24 * 365 * 60}}));
    append(*rt, "1960-01-01T00:00:00Z");
    append(*rt, "2020-01-01T00:00:00Z");
  }
  {
    // Restarted with a clock behind the stored ids.
    auto rt = start(make(), path,
                    environment::deterministic(2, timestamp{}));
    append(*rt, "1960-01-01T00:00:00Z");
    append(*rt, "2030-01-01T00:00:00Z");
  }
  REQUIRE(ids.size() == 4);
  for (size_t i = 1; i < ids.size(); ++i)
    CHECK(ids[i - 1] < ids[i]);
}

TEST_CASE("a UUID v7 event id stored as a BLOB by another tool is refused "
          "naming the event, not skipped by paging",
          "[storage]") {
  temp_dir dir;
  auto path = dir.file("blob-id.db");
  app a;
  a.add(event_log{"events"}).primary_key_type(event_id_kind::uuid_v7);
  auto& r = a.add(resource{"Doc"});
  r.attribute("title", types::string());
  r.events("events");
  r.create("create").accept({"title"});
  std::string id;
  {
    auto rt = start(a, path);
    auto rec = rt->run("Doc", "create", {{"title", "one"}});
    REQUIRE(rec);
    id = std::string{rec->event_id.as_string()};
  }
  // The same bytes, stored as a BLOB: they read like the text id, but
  // compare unequal to every text id, so id filters would pass them by.
  exec_sql(path, "UPDATE events SET id = CAST(id AS BLOB)");
  REQUIRE(query_int(path, "SELECT count(*) FROM events WHERE typeof(id) = "
                          "'blob'")
          == 1);
  auto rt = start(a, path);
  auto page = rt->events({});
  REQUIRE_FALSE(page);
  CHECK(is(page.error(), errc::storage_failure));
  CHECK(message(page.error()).find("BLOB") != std::string::npos);
  CHECK(message(page.error()).find(id) != std::string::npos);
}

TEST_CASE("generated integer keys continue above keys the caller chose",
          "[storage]") {
  temp_dir dir;
  app a;
  auto& r = a.add(resource{"Row"});
  r.primary_key("id", key_kind::integer).attribute("x", types::integer());
  r.create("create").accept({"id", "x"});
  auto rt = start(a, dir.file("k.db"));
  auto first = rt->run("Row", "create", {{"x", 1}});
  REQUIRE(first);
  CHECK(first->id == 1);
  REQUIRE(rt->run("Row", "create", {{"id", 5}, {"x", 2}}));
  auto next = rt->run("Row", "create", {{"x", 3}});
  REQUIRE(next);
  CHECK(next->id == 6);
}

TEST_CASE("event filters cast the record id like the column", "[storage]") {
  temp_dir dir;
  app a;
  a.add(event_log{"events"});
  auto& r = a.add(resource{"Doc"});
  r.attribute("x", types::integer());
  r.events("events");
  r.create("create").accept({"x"});
  auto rt = start(a, dir.file("f.db"));
  auto rec = rt->run("Doc", "create", {{"x", 1}});
  REQUIRE(rec);
  std::string upper{rec->id.as_string()};
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto page = rt->events({.record_id = json::string{upper}});
  REQUIRE(page);
  CHECK(page->events.size() == 1);
  auto bad = rt->events({.record_id = json::string{"not-a-uuid"}});
  REQUIRE(!bad);
  CHECK(is(bad.error(), errc::invalid_input));
  CHECK(message(bad.error()).find("record_id") != std::string::npos);
}

TEST_CASE("increment refuses to overflow", "[storage]") {
  temp_dir dir;
  app a;
  auto& r = a.add(resource{"Counter"});
  r.attribute("n", types::integer());
  r.create("create").accept({"n"});
  r.update("bump").change(changes::increment("n"));
  auto rt = start(a, dir.file("o.db"));
  auto rec = rt->run("Counter", "create", {{"n", INT64_MAX}});
  REQUIRE(rec);
  call bump{"Counter", "bump"};
  bump.record_id = rec->id;
  auto res = rt->run(bump);
  REQUIRE(!res);
  CHECK(is(res.error(), errc::invalid_input));
  CHECK(message(res.error()).find("overflow") != std::string::npos);
}

TEST_CASE("after stop, asynchronous callers get runtime_stopped", "[storage]") {
  temp_dir dir;
  app a;
  auto& r = a.add(resource{"Doc"});
  r.attribute("x", types::integer());
  r.create("create").accept({"x"});
  auto rt = start(a, dir.file("s.db"));
  rt->stop();
  caf::scoped_actor self{rt->system()};
  caf::error got;
  self
    ->request(actions(*rt), std::chrono::seconds{10}, run_atom_v,
              call{"Doc", "create", {{"x", 1}}})
    .receive([](record&) { FAIL("expected an error"); },
             [&](caf::error& err) { got = std::move(err); });
  CHECK(is(got, errc::runtime_stopped));
}

TEST_CASE("a removed attribute whose column may not be null refuses to "
          "start, naming the column",
          "[storage]") {
  temp_dir dir;
  auto path = dir.file("d.db");
  auto make = [](bool with_code) {
    app a;
    auto& r = a.add(resource{"Item"});
    r.attribute("name", types::string());
    if (with_code)
      r.attribute("code", types::string(), {.allow_nil = false});
    r.create("create").accept({"name"});
    return a;
  };
  {
    auto rt = start(make(true), path);
  }
  auto rt = runtime::start(make(false), {.path = path});
  REQUIRE(!rt);
  CHECK(is(rt.error(), errc::schema_mismatch));
  CHECK(message(rt.error()).find("code") != std::string::npos);
  CHECK(message(rt.error()).find("DROP COLUMN") != std::string::npos);
}
