// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/json_app.hpp"

#include <fstream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

#include "eventactors/all.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;

namespace {

json::value parse(std::string_view text) {
  auto doc = parse_json(text, "test");
  if (!doc)
    FAIL(render(doc.error()));
  return *doc;
}

/// The error of loading `text`, which must fail.
caf::error load_error(std::string_view text) {
  auto a = load_app(parse(text));
  if (a)
    FAIL("expected the definition to be refused");
  return a.error();
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::string all;
  std::string line;
  while (std::getline(in, line))
    all += line + "\n";
  return all;
}

const char* users_json = R"({
  "event_logs": [{"name": "events",
    "persist_actor_primary_key": [
      {"column": "system_actor", "actor_type": "SystemActor", "type": "string"}]}],
  "resources": [
    {"name": "Accounts.Team", "attributes": [{"name": "title", "type": "string"}],
     "actions": [{"name": "create", "kind": "create", "accept": ["title"]}]},
    {"name": "Blog.Post", "attributes": [{"name": "title", "type": "string"}],
     "actions": [{"name": "create", "kind": "create", "accept": ["title"]}]},
    {"name": "Accounts.User",
     "attributes": [
       {"name": "email", "type": "ci_string", "allow_nil": false},
       {"name": "name", "type": "string"},
       {"name": "slug", "type": "string"},
       {"name": "visits", "type": "integer", "default": 0}],
     "timestamps": true,
     "identities": [{"name": "unique_email", "attributes": ["email"]}],
     "actions": [
       {"name": "create", "kind": "create", "accept": ["email", "name"],
        "steps": [
          {"change": "slugify", "from": "name", "to": "slug"},
          {"validate": "string_length", "field": "name", "min": 2, "max": 40}]},
       {"name": "visit", "kind": "update",
        "steps": [{"change": "increment", "attribute": "visits"}]}],
     "events": {"event_log": "events", "create_timestamp": "created_at",
                "update_timestamp": "updated_at"}}
  ]
})";

app users_cpp() {
  app a;
  a.add(event_log{"events"})
    .persist_actor_primary_key("system_actor", "SystemActor",
                               {.type = actor_key_kind::string});
  auto& team = a.add(resource{"Accounts.Team"});
  team.attribute("title", types::string());
  team.create("create").accept({"title"});
  auto& post = a.add(resource{"Blog.Post"});
  post.attribute("title", types::string());
  post.create("create").accept({"title"});
  auto& u = a.add(resource{"Accounts.User"});
  u.attribute("email", types::ci_string(), {.allow_nil = false})
    .attribute("name", types::string())
    .attribute("slug", types::string())
    .attribute("visits", types::integer(), {.default_value = 0})
    .timestamps()
    .identity("unique_email", {"email"});
  u.create("create")
    .accept({"email", "name"})
    .change(changes::slugify("name", "slug"))
    .validate(validations::string_length("name", 2, 40));
  u.update("visit").change(changes::increment("visits"));
  u.events("events")
    .create_timestamp("created_at")
    .update_timestamp("updated_at");
  return a;
}

/// Runs the same calls on `a` and returns every event as JSON text.
std::vector<std::string> run_calls(app a, const std::string& path) {
  auto rt = runtime::start(
    std::move(a), {.path = path,
                   .env = environment::deterministic(
                     9, timestamp{std::chrono::seconds{1'700'000'000}})});
  if (!rt)
    FAIL(render(rt.error()));
  call c{"Accounts.User", "create",
         {{"email", "ann@example.com"}, {"name", "Ann Lee"}}};
  c.actor = actor{"SystemActor", "import"};
  c.metadata = {{"source", "test"}};
  auto ann = (*rt)->run(c);
  REQUIRE(ann);
  call v{"Accounts.User", "visit"};
  v.record_id = ann->id;
  REQUIRE((*rt)->run(v));
  REQUIRE((*rt)->run(v));
  CHECK(!(*rt)->run("Accounts.User", "create", {{"email", "x@y.z"}, {"name", "X"}}));
  std::vector<std::string> result;
  auto err = (*rt)->for_each_event({}, [&](const event& ev) {
    auto e = ev;
    json::object o;
    o["id"] = e.id;
    o["resource"] = e.resource;
    o["record_id"] = e.record_id;
    o["action"] = e.action;
    o["actors"] = e.actors;
    o["data"] = e.data;
    o["changed_attributes"] = e.changed_attributes;
    o["metadata"] = e.metadata;
    o["version"] = e.version;
    o["occurred_at"] = format_timestamp(e.occurred_at);
    result.push_back(json::serialize(o));
    return true;
  });
  REQUIRE(!err);
  return result;
}

} // namespace

TEST_CASE("a JSON app and the same app in C++ write identical event logs",
          "[json]") {
  temp_dir dir;
  auto from_json = load_app(parse(users_json));
  REQUIRE(from_json);
  auto a = run_calls(std::move(*from_json), dir.file("json.db"));
  auto b = run_calls(users_cpp(), dir.file("cpp.db"));
  REQUIRE(a.size() == 3);
  CHECK(a == b);
}

TEST_CASE("JSON definition errors name the JSON path at fault", "[json]") {
  SECTION("an accepted attribute that does not exist") {
    std::string text = users_json;
    auto pos = text.find(R"("accept": ["email", "name"])");
    text.replace(pos, 27, R"("accept": ["email", "emial"])");
    auto err = load_error(text);
    CHECK(is(err, errc::invalid_definition));
    CHECK(message(err).find("resources[2].actions[0].accept[1]: no attribute "
                            "\"emial\" on Accounts.User")
          != std::string::npos);
  }
  SECTION("an unknown key") {
    auto err = load_error(R"({"resources": [{"name": "A", "atributes": []}]})");
    CHECK(message(err).find("resources[0]: unknown key \"atributes\"")
          != std::string::npos);
  }
  SECTION("an unknown type, an unknown change, a bad step") {
    auto err = load_error(R"({"resources": [{"name": "A",
      "attributes": [{"name": "x", "type": "strng"}],
      "actions": [{"name": "c", "kind": "create",
        "steps": [{"change": "frobnicate"}, {"change": "slugify", "validate": "x"}]}]}]})");
    auto fields = field_errors(err);
    REQUIRE(fields.size() == 3);
    CHECK(fields[0].field == "resources[0].attributes[0].type");
    CHECK(fields[0].message.find("unknown type \"strng\"") != std::string::npos);
    CHECK(fields[1].field == "resources[0].actions[0].steps[0].change");
    CHECK(fields[2].field == "resources[0].actions[0].steps[1]");
  }
  SECTION("a bad parameter of a built-in") {
    auto err = load_error(R"({"resources": [{"name": "A",
      "attributes": [{"name": "n", "type": "string"}],
      "actions": [{"name": "c", "kind": "create",
        "steps": [{"validate": "string_length", "field": "n", "min": 5, "max": 2}]}]}]})");
    CHECK(message(err) == "resources[0].actions[0].steps[0]: min is larger "
                          "than max");
  }
  SECTION("a rule of the definitions") {
    auto err = load_error(R"({"event_logs": [{"name": "events"}],
      "resources": [{"name": "A", "events": {"event_log": "events",
        "only_actions": ["c"], "ignore_actions": ["c"]},
        "actions": [{"name": "c", "kind": "create"}]}]})");
    CHECK(message(err).find("resources[0].events: only_actions and "
                            "ignore_actions are mutually exclusive")
          != std::string::npos);
  }
  SECTION("syntax errors name line and column") {
    auto doc = parse_json("{\n  \"resources\": [\n    {\"name\": }\n]}", "app.json");
    REQUIRE(!doc);
    CHECK(message(doc.error()).find("app.json:3:14: invalid JSON")
          != std::string::npos);
    auto trailing = parse_json("{} x", "t.json");
    REQUIRE(!trailing);
    CHECK(message(trailing.error()).find("t.json:1:4") != std::string::npos);
  }
}

TEST_CASE("JSON hooks: call_action builds input from the record, outbox "
          "appends a line once and not during replay",
          "[json]") {
  temp_dir dir;
  auto defs = load_app_file(EVENTACTORS_SOURCE_DIR "/config/quickstart.json",
                            json_library::builtins(dir.path()));
  REQUIRE(defs);
  auto rt = runtime::start(std::move(*defs), {.path = dir.file("q.db")});
  REQUIRE(rt);
  call c{"Accounts.User", "create",
         {{"email", "jane@example.com"}, {"name", "Jane"}}};
  c.actor = actor{"SystemActor", "signup"};
  auto jane = (*rt)->run(c);
  REQUIRE(jane);
  auto outbox = dir.file("outbox.txt");
  CHECK(read_file(outbox)
        == "to=jane@example.com template=welcome_email\n");
  auto mails = (*rt)->list("Notifications.EmailNotification");
  REQUIRE(mails);
  REQUIRE(mails->size() == 1);
  CHECK((*mails)[0].get("status") == "sent");
  CHECK((*mails)[0].get("data") == json::object{{"user_name", "Jane"}});
  auto page = (*rt)->events({});
  REQUIRE(page);
  REQUIRE(page->events.size() == 3);
  CHECK(page->events[1].action == "send_email");
  CHECK(page->events[1].metadata
        == json::object{{"triggered_by", "user_creation"}});
  CHECK(page->events[1].actors.at("system_actor") == "signup");
  CHECK(page->events[2].action == "update_status");
  // A bad email is refused with the custom message.
  auto bad = (*rt)->run("Accounts.User", "create", {{"email", "nope"}});
  REQUIRE(!bad);
  CHECK(message(bad.error()).find("must be an email address")
        != std::string::npos);
  // Replay does not send the mail again.
  REQUIRE((*rt)->replay());
  CHECK(read_file(outbox)
        == "to=jane@example.com template=welcome_email\n");
  mails = (*rt)->list("Notifications.EmailNotification");
  REQUIRE(mails->size() == 1);
  CHECK((*mails)[0].get("status") == "sent");
}

TEST_CASE("C++ apps register their own named steps for JSON", "[json]") {
  temp_dir dir;
  auto lib = json_library::builtins();
  lib.add_change("lowercase", [](const json::object& spec)
                                -> caf::expected<change> {
    if (!spec.contains("attribute"))
      return make_error(errc::invalid_definition, "attribute is required");
    std::string attr{spec.at("attribute").as_string()};
    return change{"lowercase(" + attr + ")", [attr](changeset& cs) {
                    auto& v = cs.attribute(attr);
                    if (!v.is_string())
                      return;
                    std::string s{v.get_string()};
                    for (auto& ch : s)
                      ch = static_cast<char>(
                        std::tolower(static_cast<unsigned char>(ch)));
                    cs.set_attribute(attr, json::string{s});
                  }};
  });
  auto defs = load_app(parse(R"({"resources": [{"name": "Tag",
    "attributes": [{"name": "name", "type": "string"}],
    "actions": [{"name": "create", "kind": "create", "accept": ["name"],
      "steps": [{"change": "lowercase", "attribute": "name"}]}]}]})"),
                       lib);
  REQUIRE(defs);
  auto rt = runtime::start(std::move(*defs), {.path = dir.file("t.db")});
  REQUIRE(rt);
  auto tag = (*rt)->run("Tag", "create", {{"name", "CPlusPlus"}});
  REQUIRE(tag);
  CHECK(tag->get("name") == "cplusplus");
  auto err = load_app(parse(R"({"resources": [{"name": "Tag",
    "attributes": [{"name": "name", "type": "string"}],
    "actions": [{"name": "create", "kind": "create",
      "steps": [{"change": "lowercase"}]}]}]})"),
                      lib);
  REQUIRE(!err);
  CHECK(message(err.error())
        == "resources[0].actions[0].steps[0]: attribute is required");
}

TEST_CASE("a JSON hook step listed in allowed_change_modules runs during "
          "replay; one not listed does not",
          "[json]") {
  temp_dir dir;
  auto text = std::string{R"({
    "event_logs": [{"name": "events"}],
    "resources": [{"name": "Note",
      "attributes": [{"name": "text", "type": "string"}],
      "actions": [{"name": "create", "kind": "create", "accept": ["text"],
        "steps": [
          {"hook": "outbox", "name": "kept", "on": "after_action",
           "file": "kept.txt", "line": "kept $record.text"},
          {"hook": "outbox", "name": "dropped", "on": "after_action",
           "file": "dropped.txt", "line": "dropped $record.text"}]}],
      "events": {"event_log": "events",
                 "allowed_change_modules": {"create": ["kept"]}}}]})"};
  auto defs = load_app(parse(text), json_library::builtins(dir.path()));
  REQUIRE(defs);
  auto rt = runtime::start(std::move(*defs), {.path = dir.file("n.db")});
  REQUIRE(rt);
  REQUIRE((*rt)->run("Note", "create", {{"text", "a"}}));
  REQUIRE((*rt)->replay());
  CHECK(read_file(dir.file("kept.txt")) == "kept a\nkept a\n");
  CHECK(read_file(dir.file("dropped.txt")) == "dropped a\n");
}

TEST_CASE("JSON text with a key given twice is refused, naming the key and "
          "where",
          "[json]") {
  auto doc = parse_json("{\"a\": 1,\n \"b\": {\"x\": 1, \"x\": 2}}", "in.json");
  REQUIRE(!doc);
  CHECK(is(doc.error(), errc::invalid_input));
  CHECK(message(doc.error()).find("in.json:2:") != std::string::npos);
  CHECK(message(doc.error()).find("duplicate key \"x\"") != std::string::npos);
  // The same key in different objects is fine.
  CHECK(parse_json(R"({"x": {"x": 1}, "y": [{"x": 1}, {"x": 2}]})", "ok"));
}
