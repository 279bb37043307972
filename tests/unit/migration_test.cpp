// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Schema evolution at start: a column the definitions no longer define that
// still holds data stops the start, naming it, unless the definitions say
// it was renamed (the column is renamed, replay reads old events under the
// new name) or dropped (the column goes); actor columns likewise, and an
// actor column stored with another key type is refused.

#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "eventactors/all.hpp"
#include "support/faults.hpp"
#include "support/query.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;
using Catch::Matchers::Contains;

namespace {

/// How a version of the app defines the note's title and the log's actor.
struct shape {
  /// The name of the title attribute.
  std::string title = "title";
  /// Former names of the title attribute.
  std::vector<std::string> title_renamed_from = {};
  /// Whether the app still has a `code` attribute (with an identity).
  bool code = true;
  /// Whether `code` is declared dropped (when it is gone).
  bool drop_code = false;
  /// The actor column: its name, key type and former names.
  std::string actor_column = "author";
  actor_key_kind actor_type = actor_key_kind::string;
  std::vector<std::string> actor_renamed_from = {};
  /// An actor column declared dropped, if any.
  std::string dropped_actor_column;
};

app notes(const shape& s = {}) {
  app a;
  auto& log = a.add(event_log{"events"});
  log.persist_actor_primary_key(s.actor_column, "Author",
                                {.type = s.actor_type,
                                 .renamed_from = s.actor_renamed_from});
  if (!s.dropped_actor_column.empty())
    log.drop_actor_column(s.dropped_actor_column);
  auto& r = a.add(resource{"Note"});
  r.attribute(s.title, types::string(),
              {.renamed_from = s.title_renamed_from});
  r.attribute("body", types::string());
  std::vector<std::string> accepted{s.title, "body"};
  if (s.code) {
    r.attribute("code", types::string());
    r.identity("unique_code", {"code"});
    accepted.push_back("code");
  } else if (s.drop_code) {
    r.drop_attribute("code");
  }
  r.events("events");
  r.create("create").accept(accepted);
  r.update("edit").accept({s.title, "body"});
  return a;
}

runtime_options options(const std::string& path) {
  return {.path = path, .synchronous = sync_mode::normal};
}

/// Writes two notes with the first shape (one edited), by actor "ann".
std::vector<json::value> seed(const std::string& path) {
  auto rt = runtime::start(notes(), options(path));
  REQUIRE(rt);
  std::vector<json::value> ids;
  for (auto [title, code] : {std::pair{"first", "c1"}, {"second", "c2"}}) {
    call c{"Note", "create", {{"title", title}, {"body", "b"}, {"code", code}}};
    c.actor = actor{"Author", "ann"};
    auto rec = (*rt)->run(c);
    REQUIRE(rec);
    ids.push_back(rec->id);
  }
  call edit{"Note", "edit", {{"title", "first, edited"}}, ids[0]};
  edit.actor = actor{"Author", "ann"};
  REQUIRE((*rt)->run(edit));
  return ids;
}

/// The columns of `table`, comma-separated, in order.
std::string columns_of(const std::string& path, const std::string& table) {
  connection c{path};
  return dump_query(c.get(), "SELECT group_concat(name, ',') AS cols FROM "
                             "pragma_table_info('"
                               + table + "')");
}

} // namespace

TEST_CASE("a renamed attribute without a declaration is refused, naming the "
          "table and column, and nothing changes",
          "[migration]") {
  temp_dir dir;
  auto path = dir.file("notes.db");
  seed(path);
  auto bytes = read_bytes(path);
  auto cols = columns_of(path, "note");
  for (bool ro : {false, true}) {
    auto o = options(path);
    o.read_only = ro;
    auto rt = runtime::start(notes({.title = "headline"}), o);
    REQUIRE_FALSE(rt);
    INFO(render(rt.error()));
    CHECK(is(rt.error(), errc::schema_mismatch));
    CHECK_THAT(message(rt.error()), Contains("table note"));
    CHECK_THAT(message(rt.error()), Contains("column title"));
    CHECK_THAT(message(rt.error()), Contains("renamed_from"));
    CHECK(columns_of(path, "note") == cols);
  }
  CHECK(read_bytes(path) == bytes);
}

TEST_CASE("a renamed attribute with its former name keeps its data, also "
          "through replay",
          "[migration]") {
  temp_dir dir;
  auto path = dir.file("notes.db");
  auto ids = seed(path);
  shape renamed{.title = "headline", .title_renamed_from = {"title"}};
  SECTION("a read-only start does not rename") {
    auto o = options(path);
    o.read_only = true;
    auto rt = runtime::start(notes(renamed), o);
    REQUIRE_FALSE(rt);
    CHECK(is(rt.error(), errc::schema_mismatch));
    CHECK_THAT(message(rt.error()), Contains("renames to headline"));
  }
  auto rt = runtime::start(notes(renamed), options(path));
  REQUIRE(rt);
  CHECK_THAT(columns_of(path, "note"), Contains("headline"));
  CHECK_THAT(columns_of(path, "note"), !Contains("title"));
  auto check = [&](const char* when) {
    INFO(when);
    auto first = (*rt)->get("Note", ids[0]);
    REQUIRE(first);
    CHECK(first->get("headline") == "first, edited");
    CHECK(first->get("body") == "b");
    auto second = (*rt)->get("Note", ids[1]);
    REQUIRE(second);
    CHECK(second->get("headline") == "second");
  };
  check("after the rename");
  // The events still say "title"; replay reads them as the headline.
  auto report = (*rt)->verify();
  REQUIRE(report);
  CHECK(report->ok());
  CHECK(report->total_differences == 0);
  REQUIRE((*rt)->replay());
  check("after a replay");
  // New events use the new name, and a later start has nothing to rename.
  call c{"Note", "create", {{"headline", "third"}, {"code", "c3"}}};
  REQUIRE((*rt)->run(c));
  rt->reset();
  auto again = runtime::start(notes(renamed), options(path));
  REQUIRE(again);
  REQUIRE((*again)->replay());
  CHECK((*again)->get("Note", ids[0])->get("headline") == "first, edited");
  CHECK((*again)->list("Note")->size() == 3);
}

TEST_CASE("a dropped attribute's column goes, with its identity index",
          "[migration]") {
  temp_dir dir;
  auto path = dir.file("notes.db");
  auto ids = seed(path);
  SECTION("without a declaration the start is refused") {
    auto rt = runtime::start(notes({.code = false}), options(path));
    REQUIRE_FALSE(rt);
    INFO(render(rt.error()));
    CHECK(is(rt.error(), errc::schema_mismatch));
    CHECK_THAT(message(rt.error()), Contains("column code"));
    CHECK_THAT(message(rt.error()), Contains("drop_attribute"));
    CHECK_THAT(columns_of(path, "note"), Contains("code"));
  }
  SECTION("declared dropped") {
    auto o = options(path);
    o.read_only = true;
    // Reading needs no migration for a dropped column: it is not read.
    REQUIRE(runtime::start(notes({.code = false, .drop_code = true}), o));
    auto rt = runtime::start(notes({.code = false, .drop_code = true}),
                             options(path));
    REQUIRE(rt);
    CHECK_THAT(columns_of(path, "note"), !Contains("code"));
    CHECK((*rt)->get("Note", ids[0])->get("title") == "first, edited");
    // Old events still carry "code": replay ignores it.
    REQUIRE((*rt)->replay());
    CHECK((*rt)->get("Note", ids[1])->get("title") == "second");
    auto report = (*rt)->verify();
    REQUIRE(report);
    CHECK(report->ok());
  }
}

TEST_CASE("an undefined column without data may stay", "[migration]") {
  temp_dir dir;
  auto path = dir.file("notes.db");
  {
    auto rt = runtime::start(notes(), options(path));
    REQUIRE(rt);
    // No note ever sets a code.
    REQUIRE((*rt)->run("Note", "create", {{"title", "t"}}));
  }
  auto rt = runtime::start(notes({.code = false}), options(path));
  REQUIRE(rt);
  CHECK_THAT(columns_of(path, "note"), Contains("code"));
  REQUIRE((*rt)->run("Note", "create", {{"title", "u"}}));
  REQUIRE((*rt)->replay());
  CHECK((*rt)->list("Note")->size() == 2);
}

TEST_CASE("a renamed actor column is detected, and kept when declared",
          "[migration]") {
  temp_dir dir;
  auto path = dir.file("notes.db");
  seed(path);
  auto bytes = read_bytes(path);
  SECTION("undeclared") {
    auto rt = runtime::start(notes({.actor_column = "writer"}), options(path));
    REQUIRE_FALSE(rt);
    INFO(render(rt.error()));
    CHECK(is(rt.error(), errc::schema_mismatch));
    CHECK_THAT(message(rt.error()), Contains("event log events"));
    CHECK_THAT(message(rt.error()), Contains("column author"));
    CHECK(read_bytes(path) == bytes);
  }
  SECTION("declared") {
    auto rt = runtime::start(notes({.actor_column = "writer",
                                    .actor_renamed_from = {"author"}}),
                             options(path));
    REQUIRE(rt);
    auto page = (*rt)->events({});
    REQUIRE(page);
    REQUIRE(page->events.size() == 3);
    for (auto& ev : page->events)
      CHECK(ev.actors.at("writer") == "ann");
    CHECK_THAT(columns_of(path, "events"), !Contains("author"));
  }
  SECTION("dropped") {
    auto rt = runtime::start(notes({.actor_column = "writer",
                                    .dropped_actor_column = "author"}),
                             options(path));
    REQUIRE(rt);
    CHECK_THAT(columns_of(path, "events"), !Contains("author"));
  }
}

TEST_CASE("an actor column whose key type changed is refused, naming it",
          "[migration]") {
  temp_dir dir;
  auto path = dir.file("notes.db");
  seed(path);
  auto bytes = read_bytes(path);
  for (bool ro : {false, true}) {
    auto o = options(path);
    o.read_only = ro;
    auto rt = runtime::start(notes({.actor_type = actor_key_kind::integer}),
                             o);
    REQUIRE_FALSE(rt);
    INFO(render(rt.error()));
    CHECK(is(rt.error(), errc::schema_mismatch));
    CHECK_THAT(message(rt.error()), Contains("actor column author"));
    CHECK_THAT(message(rt.error()), Contains("integer"));
  }
  CHECK(read_bytes(path) == bytes);
}

TEST_CASE("renames and drops in JSON app definitions", "[migration]") {
  temp_dir dir;
  auto path = dir.file("notes.db");
  auto ids = seed(path);
  auto doc = parse_json(R"({
    "event_logs": [{
      "name": "events",
      "persist_actor_primary_key": [{"column": "writer", "actor_type": "Author",
        "type": "string", "renamed_from": "author"}]
    }],
    "resources": [{
      "name": "Note",
      "attributes": [
        {"name": "headline", "type": "string", "renamed_from": ["title"]},
        {"name": "body", "type": "string"}
      ],
      "dropped_attributes": ["code"],
      "actions": [{"name": "create", "kind": "create",
                   "accept": ["headline", "body"]},
                  {"name": "edit", "kind": "update",
                   "accept": ["headline", "body"]}],
      "events": {"event_log": "events"}
    }]
  })", "app");
  REQUIRE(doc);
  auto defs = load_app(*doc);
  REQUIRE(defs);
  auto rt = runtime::start(std::move(*defs), options(path));
  REQUIRE(rt);
  CHECK(columns_of(path, "note").find("headline") != std::string::npos);
  auto replayed = (*rt)->replay();
  INFO((replayed ? std::string{} : render(replayed.error())));
  REQUIRE(replayed);
  CHECK((*rt)->get("Note", ids[0])->get("headline") == "first, edited");
  CHECK((*rt)->events({})->events.front().actors.at("writer") == "ann");
}

TEST_CASE("bad renames and drops are definition errors", "[migration]") {
  auto expect_error = [](app a, const std::string& needle) {
    auto err = a.validate();
    REQUIRE(err);
    INFO(render(err));
    CHECK(is(err, errc::invalid_definition));
    CHECK_THAT(message(err), Contains(needle));
  };
  // A former name that is a current attribute.
  {
    app a = notes({.title_renamed_from = {"body"}});
    expect_error(std::move(a), "is an attribute of Note");
  }
  // Renamed and dropped at once.
  {
    app a = notes({.title_renamed_from = {"code"}, .code = false,
                   .drop_code = true});
    expect_error(std::move(a), "renamed or dropped twice");
  }
  // An actor column renamed from a built-in field.
  {
    app a = notes({.actor_renamed_from = {"metadata"}});
    expect_error(std::move(a), "built-in event field");
  }
}

TEST_CASE("docs: the migration snippet declares a rename and drops",
          "[migration]") {
  app a;
  // --(rst-migrations-begin)--
auto& user = a.add(resource{"Accounts.User"});
user.attribute("full_name", types::string(), {.renamed_from = {"name"}})
  .drop_attribute("legacy_code");
a.add(event_log{"events"})
  .persist_actor_primary_key("account_id", "Accounts.User",
                             {.renamed_from = {"user_id"}})
  .drop_actor_column("robot");
  // --(rst-migrations-end)--
  user.events("events");
  user.create("create").accept({"full_name"});
  CHECK_FALSE(a.validate());
}
