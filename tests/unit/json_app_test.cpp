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

// -- the built-ins' parameters --------------------------------------------------

namespace {

/// The whole error message of an app whose one action has the one `step`.
std::string step_error(const std::string& step) {
  auto text = R"({"resources": [{"name": "A",
    "attributes": [{"name": "n", "type": "string"},
                   {"name": "k", "type": "integer"}],
    "actions": [{"name": "c", "kind": "create", "accept": ["n", "k"],
      "steps": [)" + step + "]}]}]}";
  auto a = load_app(parse(text));
  if (a)
    return "(accepted)";
  return message(a.error());
}

/// The whole error message of an event log encrypted as `encryption` says.
std::string encryption_error(const std::string& encryption) {
  auto text = R"({"event_logs": [{"name": "events", "encryption": )"
              + encryption + "}]}";
  auto a = load_app(parse(text));
  if (a)
    return "(accepted)";
  return message(a.error());
}

} // namespace

TEST_CASE("built-in changes name the parameter at fault", "[json]") {
  auto at = [](const std::string& msg) {
    return "resources[0].actions[0].steps[0]: " + msg;
  };
  // set_attribute
  CHECK(step_error(R"({"change": "set_attribute", "attribute": "n",
                       "value": 1, "x": 1})")
        == at("unknown key \"x\" (expected: attribute, value)"));
  CHECK(step_error(R"({"change": "set_attribute", "value": 1})")
        == at("attribute is required"));
  CHECK(step_error(R"({"change": "set_attribute", "attribute": 7,
                       "value": 1})")
        == at("attribute: expected a non-empty string"));
  CHECK(step_error(R"({"change": "set_attribute", "attribute": "",
                       "value": 1})")
        == at("attribute: expected a non-empty string"));
  CHECK(step_error(R"({"change": "set_attribute", "attribute": "n"})")
        == at("value is required (null clears the attribute)"));
  CHECK(step_error(R"({"change": "set_attribute", "attribute": "n",
                       "value": {"generate": "later"}})")
        == at("value: generate: expected \"now\", \"uuid_v4\" or "
              "\"uuid_v7\", got \"later\""));
  CHECK(step_error(R"({"change": "set_attribute", "attribute": "n",
                       "value": null})")
        == "(accepted)");
  // set_from_argument
  CHECK(step_error(R"({"change": "set_from_argument", "attribute": "n",
                       "argument": "a", "by": 1})")
        == at("unknown key \"by\" (expected: attribute, argument)"));
  CHECK(step_error(R"({"change": "set_from_argument", "attribute": "n"})")
        == at("argument is required"));
  CHECK(step_error(R"({"change": "set_from_argument", "attribute": "n",
                       "argument": null})")
        == at("argument: expected a non-empty string"));
  // slugify
  CHECK(step_error(R"({"change": "slugify", "x": 1})")
        == at("unknown key \"x\" (expected: from, to)"));
  CHECK(step_error(R"({"change": "slugify"})") == at("from is required"));
  CHECK(step_error(R"({"change": "slugify", "from": "n"})")
        == at("to is required"));
  CHECK(step_error(R"({"change": "slugify", "from": [], "to": "n"})")
        == at("from: expected a non-empty string"));
  // increment
  CHECK(step_error(R"({"change": "increment", "attribute": "k", "step": 1})")
        == at("unknown key \"step\" (expected: attribute, by)"));
  CHECK(step_error(R"({"change": "increment", "by": 2})")
        == at("attribute is required"));
  CHECK(step_error(R"({"change": "increment", "attribute": "k", "by": 1.5})")
        == at("by: expected an integer, got 1.5"));
  CHECK(step_error(R"({"change": "increment", "attribute": "k", "by": "2"})")
        == at("by: expected an integer, got \"2\""));
  CHECK(step_error(R"({"change": "increment", "attribute": "k",
                       "by": 18446744073709551615})")
        == at("by: expected an integer, got 18446744073709551615"));
  CHECK(step_error(R"({"change": "increment", "attribute": "k", "by": -3})")
        == "(accepted)");
}

TEST_CASE("built-in validations name the parameter at fault", "[json]") {
  auto at = [](const std::string& msg) {
    return "resources[0].actions[0].steps[0]: " + msg;
  };
  // present, required, absent
  for (std::string name : {"present", "required", "absent"}) {
    auto step = [&](const std::string& rest) {
      return R"({"validate": ")" + name + "\"" + rest + "}";
    };
    CHECK(step_error(step(R"(, "field": "n", "min": 1)"))
          == at("unknown key \"min\" (expected: field)"));
    CHECK(step_error(step("")) == at("field is required"));
    CHECK(step_error(step(R"(, "field": 1)"))
          == at("field: expected a non-empty string"));
    CHECK(step_error(step(R"(, "field": "n", "message": "m")"))
          == "(accepted)");
  }
  // string_length
  CHECK(step_error(R"({"validate": "string_length", "field": "n", "min": 1,
                       "maximum": 2})")
        == at("unknown key \"maximum\" (expected: field, min, max)"));
  CHECK(step_error(R"({"validate": "string_length", "min": 1})")
        == at("field is required"));
  CHECK(step_error(R"({"validate": "string_length", "field": "n",
                       "min": "1"})")
        == at("min: expected an integer, got \"1\""));
  CHECK(step_error(R"({"validate": "string_length", "field": "n", "min": 1,
                       "max": true})")
        == at("max: expected an integer, got true"));
  CHECK(step_error(R"({"validate": "string_length", "field": "n"})")
        == at("give min, max or both"));
  CHECK(step_error(R"({"validate": "string_length", "field": "n", "min": -1,
                       "max": -1})")
        == at("give min, max or both"));
  CHECK(step_error(R"({"validate": "string_length", "field": "n", "max": 0})")
        == "(accepted)");
  // match
  CHECK(step_error(R"({"validate": "match", "field": "n", "regex": "a"})")
        == at("unknown key \"regex\" (expected: field, pattern)"));
  CHECK(step_error(R"({"validate": "match", "field": "n"})")
        == at("pattern is required"));
  CHECK(step_error(R"({"validate": "match", "field": "n", "pattern": ""})")
        == at("pattern: expected a non-empty string"));
  CHECK(step_error(R"({"validate": "match", "field": "n", "pattern": "(a"})")
        == at("pattern: not a valid regular expression (RE2 syntax): "
              "missing ): (a"));
  // one_of
  CHECK(step_error(R"({"validate": "one_of", "field": "n", "value": [1]})")
        == at("unknown key \"value\" (expected: field, values)"));
  CHECK(step_error(R"({"validate": "one_of", "values": [1]})")
        == at("field is required"));
  CHECK(step_error(R"({"validate": "one_of", "field": "n"})")
        == at("values: expected a non-empty array"));
  CHECK(step_error(R"({"validate": "one_of", "field": "n", "values": []})")
        == at("values: expected a non-empty array"));
  CHECK(step_error(R"({"validate": "one_of", "field": "n", "values": "a"})")
        == at("values: expected a non-empty array"));
  // numeric_range
  CHECK(step_error(R"({"validate": "numeric_range", "field": "k", "min": 1,
                       "max": 2, "step": 1})")
        == at("unknown key \"step\" (expected: field, min, max)"));
  CHECK(step_error(R"({"validate": "numeric_range", "field": "k", "max": 2})")
        == at("min is required"));
  CHECK(step_error(R"({"validate": "numeric_range", "field": "k", "min": 2})")
        == at("max is required"));
  CHECK(step_error(R"({"validate": "numeric_range", "field": "k",
                       "min": "0", "max": 2})")
        == at("min: expected a number, got \"0\""));
  CHECK(step_error(R"({"validate": "numeric_range", "field": "k",
                       "min": 2.5, "max": 2})")
        == at("min is larger than max"));
  CHECK(step_error(R"({"validate": "numeric_range", "field": "k",
                       "min": -1, "max": 18446744073709551615})")
        == "(accepted)");
  // confirm
  CHECK(step_error(R"({"validate": "confirm", "field": "n",
                       "confirmation": "c", "other": 1})")
        == at("unknown key \"other\" (expected: field, confirmation)"));
  CHECK(step_error(R"({"validate": "confirm", "field": "n"})")
        == at("confirmation is required"));
  CHECK(step_error(R"({"validate": "confirm", "field": {},
                       "confirmation": "c"})")
        == at("field: expected a non-empty string"));
  // attribute_equals, attribute_does_not_equal
  for (std::string name : {"attribute_equals", "attribute_does_not_equal"}) {
    auto step = [&](const std::string& rest) {
      return R"({"validate": ")" + name + "\"" + rest + "}";
    };
    CHECK(step_error(step(R"(, "attribute": "n", "value": 1, "field": "n")"))
          == at("unknown key \"field\" (expected: attribute, value)"));
    CHECK(step_error(step(R"(, "value": 1)")) == at("attribute is required"));
    CHECK(step_error(step(R"(, "attribute": "n")")) == at("value is required"));
    CHECK(step_error(step(R"(, "attribute": false, "value": 1)"))
          == at("attribute: expected a non-empty string"));
    CHECK(step_error(step(R"(, "attribute": "n", "value": null)"))
          == "(accepted)");
  }
}

TEST_CASE("built-in hooks name the parameter at fault", "[json]") {
  auto at = [](const std::string& msg) {
    return "resources[0].actions[0].steps[0]: " + msg;
  };
  auto call_action = [](const std::string& rest) {
    return R"({"hook": "call_action", "name": "h", "resource": "A",
               "action": "c")"
           + rest + "}";
  };
  CHECK(step_error(call_action(R"(, "inputs": {})"))
        == at("unknown key \"inputs\" (expected: on, resource, action, "
              "input, record_id, metadata, actor)"));
  CHECK(step_error(R"({"hook": "call_action", "name": "h", "action": "c"})")
        == at("resource is required"));
  CHECK(step_error(R"({"hook": "call_action", "name": "h", "resource": "A"})")
        == at("action is required"));
  CHECK(step_error(R"({"hook": "call_action", "name": "h", "resource": "A",
                       "action": ""})")
        == at("action: expected a non-empty string"));
  CHECK(step_error(call_action(R"(, "on": 1)")) == at("on: expected a string"));
  CHECK(step_error(call_action(R"(, "on": "later")"))
        == at("on: expected one of before_action, after_action, "
              "after_transaction, got \"later\""));
  CHECK(step_error(R"({"hook": "call_action", "name": "h", "on": "later"})")
        == at("on: expected one of before_action, after_action, "
              "after_transaction, got \"later\""));
  CHECK(step_error(call_action(R"(, "input": [])"))
        == at("input: expected an object"));
  CHECK(step_error(call_action(R"(, "metadata": "m")"))
        == at("metadata: expected an object"));
  CHECK(step_error(call_action(R"(, "actor": "someone")"))
        == at("actor: expected \"inherit\" or \"none\""));
  CHECK(step_error(call_action(R"(, "actor": 1)"))
        == at("actor: expected \"inherit\" or \"none\""));
  CHECK(step_error(call_action(R"(, "on": "before_action", "input": {},
                                  "record_id": [1], "metadata": {},
                                  "actor": "none")"))
        == "(accepted)");
  CHECK(step_error(R"({"hook": "call_action", "resource": "A",
                       "action": "c"})")
        == "resources[0].actions[0].steps[0].name: is required");
  auto outbox = [](const std::string& rest) {
    return R"({"hook": "outbox", "name": "h")" + rest + "}";
  };
  CHECK(step_error(outbox(R"(, "file": "f", "line": "l", "to": "x")"))
        == at("unknown key \"to\" (expected: on, file, line)"));
  CHECK(step_error(outbox(R"(, "on": "before_action", "file": "f",
                             "line": "l")"))
        == at("on: expected one of after_action, after_transaction, got "
              "\"before_action\""));
  CHECK(step_error(outbox(R"(, "line": "l")")) == at("file is required"));
  CHECK(step_error(outbox(R"(, "file": "f", "line": 1)"))
        == at("line: expected a non-empty string"));
  CHECK(step_error(outbox(R"(, "on": "after_action", "file": "f",
                             "line": "l")"))
        == "(accepted)");
}

TEST_CASE("built-in key providers name the parameter at fault", "[json]") {
  auto at = [](const std::string& msg) {
    return "event_logs[0].encryption: " + msg;
  };
  CHECK(encryption_error(R"({"provider": "key_file", "path": "k",
                             "file": "k"})")
        == at("unknown key \"file\" (expected: path)"));
  CHECK(encryption_error(R"({"provider": "key_file"})")
        == at("path is required"));
  CHECK(encryption_error(R"({"provider": "key_file", "path": 1})")
        == at("path: expected a non-empty string"));
  CHECK(encryption_error(R"({"provider": "env", "name": "K"})")
        == at("unknown key \"name\" (expected: variable)"));
  CHECK(encryption_error(R"({"provider": "env"})")
        == at("variable is required"));
  CHECK(encryption_error(R"({"provider": "env", "variable": ""})")
        == at("variable: expected a non-empty string"));
  CHECK(encryption_error(R"({"provider": "vault"})")
        == "event_logs[0].encryption.provider: unknown key provider "
           "\"vault\"");
}

TEST_CASE("relative key files resolve against the library's directory",
          "[json]") {
  auto doc = parse(R"({"event_logs": [{"name": "events", "encryption":
    {"provider": "key_file", "path": "keys.txt"}}, {"name": "other",
    "encryption": {"provider": "env", "variable": "MY_KEYS"}}]})");
  auto a = load_app(doc, json_library::builtins("/srv/app"));
  REQUIRE(a);
  REQUIRE(a->logs().size() == 2);
  CHECK(a->logs()[0].keys()->describe() == "key file /srv/app/keys.txt");
  CHECK(a->logs()[1].keys()->describe() == "environment variable MY_KEYS");
  auto here = load_app(doc);
  REQUIRE(here);
  CHECK(here->logs()[0].keys()->describe() == "key file keys.txt");
}

namespace {

/// Whether `err` lists the field error `field`: `msg`.
bool lists(const caf::error& err, const std::string& field,
           const std::string& msg) {
  for (auto& fe : field_errors(err))
    if (fe.field == field && fe.message == msg)
      return true;
  return false;
}

} // namespace

TEST_CASE("built-in steps do what their parameters say", "[json]") {
  temp_dir dir;
  auto defs = load_app(parse(R"({"resources": [{"name": "Item",
    "attributes": [{"name": "title", "type": "string"},
      {"name": "slug", "type": "string"}, {"name": "code", "type": "string"},
      {"name": "note", "type": "string"},
      {"name": "count", "type": "integer", "default": 0},
      {"name": "score", "type": "float"}, {"name": "kind", "type": "string"},
      {"name": "status", "type": "string"}],
    "actions": [{"name": "create", "kind": "create",
      "accept": ["title", "note", "count", "score", "kind"],
      "arguments": [{"name": "code_arg", "type": "string"},
        {"name": "pw", "type": "string"}, {"name": "pw2", "type": "string"}],
      "steps": [
        {"change": "set_attribute", "attribute": "status", "value": "new"},
        {"change": "set_from_argument", "attribute": "code",
         "argument": "code_arg"},
        {"change": "slugify", "from": "title", "to": "slug"},
        {"change": "increment", "attribute": "count", "by": 5},
        {"validate": "present", "field": "title"},
        {"validate": "absent", "field": "note"},
        {"validate": "string_length", "field": "title", "max": 12},
        {"validate": "string_length", "field": "kind", "min": 1},
        {"validate": "match", "field": "title", "pattern": "^[A-Z]"},
        {"validate": "one_of", "field": "kind", "values": ["a", "b", 3]},
        {"validate": "numeric_range", "field": "score", "min": 1,
         "max": 2.5},
        {"validate": "confirm", "field": "pw", "confirmation": "pw2"},
        {"validate": "attribute_does_not_equal", "attribute": "kind",
         "value": "b"},
        {"validate": "attribute_equals", "attribute": "status",
         "value": "new"}]},
      {"name": "touch", "kind": "update",
       "steps": [{"change": "increment", "attribute": "count"},
                 {"validate": "required", "field": "code"},
                 {"validate": "attribute_equals", "attribute": "status",
                  "value": "old"}]}]}]})"));
  REQUIRE(defs);
  auto rt = runtime::start(std::move(*defs), {.path = dir.file("i.db")});
  REQUIRE(rt);
  auto item = (*rt)->run("Item", "create",
                         {{"title", "Hello World"}, {"count", 2},
                          {"score", 2}, {"kind", "a"}, {"code_arg", "X1"},
                          {"pw", "p"}, {"pw2", "p"}});
  REQUIRE(item);
  CHECK(item->get("status") == "new");
  CHECK(item->get("code") == "X1");
  CHECK(item->get("slug") == "hello-world");
  CHECK(item->get("count") == 7);
  auto bad = (*rt)->run("Item", "create",
                        {{"title", "lowercase and long"}, {"note", "x"},
                         {"score", 3}, {"kind", ""}, {"pw", "a"},
                         {"pw2", "b"}});
  REQUIRE(!bad);
  CHECK(lists(bad.error(), "note", "must be absent"));
  CHECK(lists(bad.error(), "title", "length must be at most 12"));
  CHECK(lists(bad.error(), "kind", "length must be at least 1"));
  CHECK(lists(bad.error(), "title", "must match ^[A-Z]"));
  CHECK(lists(bad.error(), "kind", "must be one of \"a\", \"b\", 3"));
  CHECK(lists(bad.error(), "score", "must be between 1 and 2.5"));
  CHECK(lists(bad.error(), "pw2", "does not match pw"));
  auto b = (*rt)->run("Item", "create", {{"kind", "b"}});
  REQUIRE(!b);
  CHECK(lists(b.error(), "title", "is required"));
  CHECK(lists(b.error(), "kind", "must not equal \"b\""));
  auto touched = (*rt)->run(call{"Item", "touch", {}, item->id});
  REQUIRE(!touched);
  CHECK(lists(touched.error(), "status", "must equal \"old\""));
}
