// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The app description a node sends to its clients (issue 13): describing
// an app and rebuilding it gives the same description and the same fields
// the CLI reads; the description is deterministic; malformed, newer, huge
// or deeply nested documents are refused with the JSON path at fault; and
// an app rebuilt from a description cannot run.

#include "eventactors/description.hpp"

#include "model/definitions.hpp"
#include "support/spec_app.hpp"
#include "support/temp_dir.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include <catch2/catch.hpp>

using namespace eventactors;
using namespace eventactors::test;

namespace {

/// Every kind of definition a description carries, in one app.
app rich_app() {
  app a;
  a.add(event_log{"audit"})
    .primary_key_type(event_id_kind::uuid_v7)
    .record_id_type(record_id_kind::string)
    .persist_actor_primary_key("member_id", "Member",
                               {.type = actor_key_kind::integer,
                                .renamed_from = {"user_id"}})
    .persist_actor_primary_key("system_actor", "SystemActor",
                               {.type = actor_key_kind::string})
    .public_fields({"id", "resource", "member_id"})
    .strict_actor_types()
    .encrypt_with(env_key_provider("DESCRIPTION_TEST_KEYS"))
    .no_clear_records_for_replay();
  a.add(event_log{"plain"})
    .record_id_type(record_id_kind::string)
    .all_fields_public()
    .allow_plaintext_sensitive();
  auto& m = a.add(resource{"Member"});
  m.primary_key("number", key_kind::integer, false)
    .attribute("handle", types::ci_string(), {.allow_nil = false})
    .attribute("score", types::floating(), {.default_value = 1.5})
    .attribute("tags", types::array(types::string()),
               {.default_value = json::value(json::array{"a", "b"})})
    .attribute("address",
               types::object({{"street", types::string(), false},
                              {"geo", types::array(types::array(
                                        types::floating()))}}))
    .attribute("pin", types::string(),
               {.default_value = "0000", .sensitive = true})
    .attribute("nick", types::string(), {.renamed_from = {"alias", "nm"}})
    .attribute("joined_on", types::date(), {.writable = false})
    .timestamps()
    .identity("unique_handle", {"handle"})
    .has_many("posts", "Post", {.destination_attribute = "author_number"})
    .many_to_many("groups", "Group",
                  {.through = "Membership",
                   .source_attribute_on_join = "member_number",
                   .destination_attribute_on_join = "group_id"});
  m.events("audit").only_actions({"join", "rename"}).current_action_versions(
    {{"rename", 3}});
  m.create("join")
    .accept({"handle", "score", "tags", "address", "pin"})
    .argument("invite", types::uuid(), {.required = true, .sensitive = true})
    .argument("note", types::string(), {.default_value = "hi"})
    .argument("posts", types::array(types::map()))
    .manage_relationship("posts", "posts",
                         {.mode = manage_mode::create,
                          .create_action = "create_from_parent"})
    .upsert("unique_handle")
    .skip_unknown_inputs();
  m.update("rename").accept({"nick"}).change(
    changes::set_attribute("handle", "x"));
  m.update("touch");
  m.update("regroup")
    .argument("groups", types::array(types::map()))
    .manage_relationship("groups", "groups",
                         {.mode = manage_mode::append_and_remove});
  m.destroy("leave").soft().change(changes::set_attribute("nick", json::value{}));
  m.destroy("purge");
  auto& p = a.add(resource{"Post"});
  p.primary_key("slug", key_kind::string)
    .attribute("body", types::string())
    .attribute("author_number", types::integer())
    .attribute("uid", types::uuid(), {.default_value = value_source::uuid_v7()})
    .belongs_to("author", "Member",
                {.source_attribute = "author_number", .allow_nil = false});
  p.events("plain");
  p.create("create_from_parent").accept({"slug", "body", "author_number"});
  p.update("edit").accept({"body"});
  auto& g = a.add(resource{"Group"});
  g.attribute("label", types::string());
  g.create("create").accept({"label"});
  auto& j = a.add(resource{"Membership"}).table("member_groups");
  j.primary_key("id", key_kind::uuid_v7)
    .belongs_to("member", "Member", {.source_attribute = "member_number"})
    .belongs_to("group", "Group");
  j.events("plain");
  j.create("create").accept({"member_number", "group_id"});
  j.destroy("destroy");
  return a;
}

app quickstart_app() {
  temp_dir dir;
  auto a = load_app_file(EVENTACTORS_SOURCE_DIR "/config/quickstart.json",
                         json_library::builtins(dir.path()));
  REQUIRE(a);
  return std::move(*a);
}

app versioned_app() {
  temp_dir dir;
  auto a = load_app_file(EVENTACTORS_SOURCE_DIR "/config/versioned.json",
                         json_library::builtins(dir.path()));
  REQUIRE(a);
  return std::move(*a);
}

app resolved(app a) {
  detail::resolve(a);
  return a;
}

std::string text(const json::object& x) {
  return to_json_text(x);
}

// -- comparing what the CLI and clients read ----------------------------------

bool same_default(const std::optional<value_source>& x,
                  const std::optional<value_source>& y, bool sensitive) {
  if (x.has_value() != y.has_value())
    return false;
  if (!x || sensitive || !x->constant())
    return true;
  return y->constant() && *x->constant() == *y->constant();
}

void same_type(const attribute_type& x, const attribute_type& y) {
  CHECK(x.name() == y.name());
  CHECK(x.kind() == y.kind());
  REQUIRE(x.fields().size() == y.fields().size());
  for (size_t i = 0; i < x.fields().size(); ++i) {
    CHECK(x.fields()[i].name == y.fields()[i].name);
    CHECK(x.fields()[i].allow_nil == y.fields()[i].allow_nil);
    same_type(*x.fields()[i].type, *y.fields()[i].type);
  }
  REQUIRE((x.element() == nullptr) == (y.element() == nullptr));
  if (x.element())
    same_type(*x.element(), *y.element());
}

void same_attributes(const resource& x, const resource& y) {
  REQUIRE(x.attributes().size() == y.attributes().size());
  for (size_t i = 0; i < x.attributes().size(); ++i) {
    auto& ax = x.attributes()[i];
    auto& ay = y.attributes()[i];
    INFO("attribute " << ax.name);
    CHECK(ax.name == ay.name);
    same_type(ax.type, ay.type);
    CHECK(ax.options.allow_nil == ay.options.allow_nil);
    CHECK(ax.options.writable == ay.options.writable);
    CHECK(ax.options.sensitive == ay.options.sensitive);
    CHECK(ax.options.renamed_from == ay.options.renamed_from);
    CHECK(same_default(ax.options.default_value, ay.options.default_value,
                       ax.options.sensitive));
    CHECK(same_default(ax.options.update_default, ay.options.update_default,
                       ax.options.sensitive));
    CHECK(y.find_attribute(ax.name) != nullptr);
  }
}

void same_relationships(const resource& x, const resource& y) {
  REQUIRE(x.identities().size() == y.identities().size());
  for (size_t i = 0; i < x.identities().size(); ++i) {
    CHECK(x.identities()[i].name == y.identities()[i].name);
    CHECK(x.identities()[i].attributes == y.identities()[i].attributes);
  }
  REQUIRE(x.relationships().size() == y.relationships().size());
  for (size_t i = 0; i < x.relationships().size(); ++i) {
    auto& rx = x.relationships()[i];
    auto& ry = y.relationships()[i];
    INFO("relationship " << rx.name);
    CHECK(rx.name == ry.name);
    CHECK(rx.kind == ry.kind);
    CHECK(rx.destination == ry.destination);
    CHECK(rx.options.source_attribute == ry.options.source_attribute);
    CHECK(rx.options.destination_attribute
          == ry.options.destination_attribute);
    CHECK(rx.options.through == ry.options.through);
    CHECK(rx.options.source_attribute_on_join
          == ry.options.source_attribute_on_join);
    CHECK(rx.options.destination_attribute_on_join
          == ry.options.destination_attribute_on_join);
    CHECK(rx.options.allow_nil == ry.options.allow_nil);
  }
}

void same_action(const resource& x, const action& ax, const resource& y,
                 const action& ay) {
  INFO("action " << ax.name());
  CHECK(ax.name() == ay.name());
  CHECK(ax.kind() == ay.kind());
  CHECK(ax.accepted() == ay.accepted());
  REQUIRE(ax.arguments().size() == ay.arguments().size());
  for (size_t i = 0; i < ax.arguments().size(); ++i) {
    auto& gx = ax.arguments()[i];
    auto& gy = ay.arguments()[i];
    CHECK(gx.name == gy.name);
    same_type(gx.type, gy.type);
    CHECK(gx.options.required == gy.options.required);
    CHECK(gx.options.sensitive == gy.options.sensitive);
    CHECK(same_default(gx.options.default_value, gy.options.default_value,
                       gx.options.sensitive));
  }
  CHECK(ax.upsert_identity() == ay.upsert_identity());
  CHECK(ax.is_soft() == ay.is_soft());
  CHECK(ax.skips_unknown_inputs() == ay.skips_unknown_inputs());
  REQUIRE(ax.managed().size() == ay.managed().size());
  for (size_t i = 0; i < ax.managed().size(); ++i) {
    auto& mx = ax.managed()[i];
    auto& my = ay.managed()[i];
    CHECK(mx.argument == my.argument);
    CHECK(mx.relationship == my.relationship);
    CHECK(mx.options.mode == my.options.mode);
    CHECK(mx.options.create_action == my.options.create_action);
    CHECK(mx.options.update_action == my.options.update_action);
    CHECK(mx.options.destroy_action == my.options.destroy_action);
  }
  CHECK((x.events() && x.events()->tracks(ax.name()))
        == (y.events() && y.events()->tracks(ay.name())));
  if (x.events() && x.events()->tracks(ax.name()))
    CHECK(x.events()->version_of(ax.name())
          == y.events()->version_of(ay.name()));
  // Rebuilt apps have no callbacks.
  CHECK(ay.changes().empty());
  CHECK(ay.validations().empty());
}

void same_resource(const resource& x, const resource& y) {
  INFO("resource " << x.name());
  CHECK(x.name() == y.name());
  CHECK(x.table() == y.table());
  CHECK(x.primary_key() == y.primary_key());
  CHECK(x.key() == y.key());
  same_attributes(x, y);
  same_relationships(x, y);
  REQUIRE((x.events() == nullptr) == (y.events() == nullptr));
  if (x.events())
    CHECK(x.events()->event_log() == y.events()->event_log());
  REQUIRE(x.actions().size() == y.actions().size());
  for (size_t i = 0; i < x.actions().size(); ++i)
    same_action(x, x.actions()[i], y, y.actions()[i]);
  CHECK(y.resource_changes().empty());
}

void same_log(const event_log& x, const event_log& y) {
  INFO("event log " << x.name());
  CHECK(x.name() == y.name());
  CHECK(x.id_kind() == y.id_kind());
  CHECK(x.record_id() == y.record_id());
  REQUIRE(x.actor_columns().size() == y.actor_columns().size());
  for (size_t i = 0; i < x.actor_columns().size(); ++i) {
    auto& cx = x.actor_columns()[i];
    auto& cy = y.actor_columns()[i];
    CHECK(cx.name == cy.name);
    CHECK(cx.actor_type == cy.actor_type);
    CHECK(cx.type == cy.type);
    CHECK(cx.allow_nil == cy.allow_nil);
    CHECK(cx.renamed_from == cy.renamed_from);
  }
  CHECK(x.public_mode() == y.public_mode());
  CHECK(x.public_field_names() == y.public_field_names());
  for (auto& f : event_log::builtin_fields())
    CHECK(x.is_public(f) == y.is_public(f));
  CHECK(x.strict_actors() == y.strict_actors());
  CHECK(x.encrypted() == y.encrypted());
  CHECK(x.plaintext_sensitive_allowed() == y.plaintext_sensitive_allowed());
}

/// Walks the logs, resources, attributes and actions of the resolved
/// original `x` and the rebuilt `y`, through the lookups the CLI uses.
void same_shape(const app& x, const app& y) {
  REQUIRE(x.logs().size() == y.logs().size());
  for (size_t i = 0; i < x.logs().size(); ++i) {
    same_log(x.logs()[i], y.logs()[i]);
    CHECK(y.find_log(x.logs()[i].name()) == &y.logs()[i]);
  }
  REQUIRE(x.resources().size() == y.resources().size());
  for (size_t i = 0; i < x.resources().size(); ++i) {
    same_resource(x.resources()[i], y.resources()[i]);
    auto found = y.find_resource(x.resources()[i].name());
    REQUIRE(found == &y.resources()[i]);
    // `history` casts the record id with the primary key's type.
    REQUIRE(found->find_attribute(found->primary_key()) != nullptr);
  }
}

void check_round_trip(const app& a) {
  auto doc = describe(a);
  auto rebuilt = app_from_description(doc);
  REQUIRE(rebuilt);
  CHECK(rebuilt->from_description());
  CHECK(describe(*rebuilt) == doc);
  CHECK(text(describe(*rebuilt)) == text(doc));
  CHECK(!rebuilt->validate());
  same_shape(resolved(a), *rebuilt);
}

// -- building broken documents ------------------------------------------------

/// One step into a JSON document: a key or an index.
using step = std::variant<std::string, size_t>;

json::value& at(json::value& root, const std::vector<step>& path) {
  auto cur = &root;
  for (auto& s : path)
    if (auto key = std::get_if<std::string>(&s))
      cur = &cur->as_object().at(*key);
    else
      cur = &cur->as_array().at(std::get<size_t>(s));
  return *cur;
}

/// The paths of every value of `x`, skipping constant defaults (any value
/// is a valid constant).
void collect(const json::value& x, std::vector<step>& path,
             std::vector<std::vector<step>>& out) {
  out.push_back(path);
  if (auto o = x.if_object()) {
    for (auto& kvp : *o) {
      if (kvp.key() == "value")
        continue;
      path.emplace_back(std::string{kvp.key()});
      collect(kvp.value(), path, out);
      path.pop_back();
    }
  } else if (auto a = x.if_array()) {
    for (size_t i = 0; i < a->size(); ++i) {
      path.emplace_back(i);
      collect((*a)[i], path, out);
      path.pop_back();
    }
  }
}

caf::error refused(const json::object& doc) {
  auto result = app_from_description(doc);
  if (result)
    return {};
  return result.error();
}

/// Checks that `doc` is refused with `invalid_input`, the message starting
/// with `path` and holding `what`.
void check_refused(const json::object& doc, const std::string& path,
                   const std::string& what) {
  auto err = refused(doc);
  INFO(render(err));
  REQUIRE(err);
  CHECK(is(err, errc::invalid_input));
  auto msg = message(err);
  CHECK(msg.rfind(path + ": ", 0) == 0);
  CHECK(msg.find(what) != std::string::npos);
  REQUIRE(!field_errors(err).empty());
  CHECK(field_errors(err).front().field == path);
}

json::object& res0(json::object& doc) {
  return doc["resources"].as_array()[0].as_object();
}

} // namespace

TEST_CASE("describing an app and rebuilding it gives the same description "
          "and the same definitions",
          "[description]") {
  SECTION("the spec fixture") {
    check_round_trip(spec_app());
  }
  SECTION("config/quickstart.json") {
    check_round_trip(quickstart_app());
  }
  SECTION("config/versioned.json") {
    check_round_trip(versioned_app());
  }
  SECTION("every kind of definition") {
    check_round_trip(rich_app());
  }
  SECTION("an empty app") {
    check_round_trip(app{});
  }
}

TEST_CASE("the app description is deterministic", "[description]") {
  auto first = text(describe(spec_app()));
  CHECK(text(describe(spec_app())) == first);
  auto a = rich_app();
  auto copy = a;
  CHECK(text(describe(a)) == text(describe(copy)));
  CHECK(text(describe(a)) == text(describe(resolved(a))));
  // The keys come in a fixed order, whatever order the document is read in.
  auto doc = describe(a);
  std::vector<std::string> keys;
  for (auto& kvp : doc)
    keys.emplace_back(kvp.key());
  CHECK(keys == std::vector<std::string>{"format", "event_logs", "resources"});
}

TEST_CASE("the app description lists what clients need and no callbacks",
          "[description]") {
  auto doc = describe(rich_app());
  CHECK(doc.at("format") == 1);
  auto& audit = doc.at("event_logs").at(0).as_object();
  CHECK(audit.at("primary_key_type") == "uuid_v7");
  CHECK(audit.at("record_id_type") == "string");
  CHECK(audit.at("resources") == json::array{"Member"});
  CHECK(audit.at("public_fields")
        == json::array{"id", "resource", "member_id"});
  CHECK(audit.at("encrypted") == true);
  CHECK(audit.at("actor_columns").at(0)
        == json::object{{"column", "member_id"},
                        {"actor_type", "Member"},
                        {"type", "integer"},
                        {"allow_nil", true},
                        {"renamed_from", json::array{"user_id"}}});
  auto& member = doc.at("resources").at(0).as_object();
  CHECK(member.at("primary_key")
        == json::object{{"name", "number"},
                        {"type", "integer"},
                        {"writable", false}});
  auto attr = [&](size_t i) -> const json::object& {
    return member.at("attributes").at(i).as_object();
  };
  CHECK(attr(0).at("name") == "number");
  CHECK(attr(2).at("default") == json::object{{"value", 1.5}});
  CHECK(attr(4).at("type").at("object").at(1).at("type")
        == json::object{{"array", json::object{{"array", "float"}}}});
  // A sensitive default is not disclosed.
  CHECK(attr(5).at("default") == json::object{{"hidden", true}});
  CHECK(attr(8).at("name") == "created_at");
  CHECK(attr(8).at("default") == json::object{{"computed", true}});
  auto& join = member.at("actions").at(0).as_object();
  CHECK(join.at("tracked") == true);
  CHECK(join.at("upsert") == "unique_handle");
  CHECK(join.at("arguments").at(0).at("default") == nullptr);
  CHECK(member.at("actions").at(1).at("version") == 3);
  CHECK(member.at("actions").at(2).at("tracked") == false);
  // Resolved: the belongs_to foreign key of Membership is listed.
  auto& membership = doc.at("resources").at(3).as_object();
  CHECK(membership.at("table") == "member_groups");
  CHECK(membership.at("attributes").at(2).at("name") == "group_id");
  CHECK(membership.at("relationships").at(1).at("destination_attribute")
        == "id");
  // Callbacks are left out: changes, validations, hooks, keys.
  auto all = to_json_text(json::value(doc));
  for (auto word : {"steps", "changes", "validations", "hooks", "provider",
                    "DESCRIPTION_TEST_KEYS", "set_attribute"})
    CHECK(all.find(word) == std::string::npos);
}

TEST_CASE("an app rebuilt from a description cannot run", "[description]") {
  auto rebuilt = app_from_description(describe(rich_app()));
  REQUIRE(rebuilt);
  REQUIRE(rebuilt->from_description());
  temp_dir dir;
  auto path = dir.file("rebuilt.db");
  auto rt = runtime::start(*rebuilt, {.path = path});
  REQUIRE(!rt);
  CHECK(is(rt.error(), errc::invalid_definition));
  CHECK(message(rt.error()).find("app description") != std::string::npos);
  CHECK(!std::filesystem::exists(path));
  // A copy is refused too; its encrypted log gives no keys.
  auto copy = *rebuilt;
  CHECK(!runtime::start(std::move(copy), {.path = path}));
  auto keys = rebuilt->find_log("audit")->keys();
  REQUIRE(keys);
  CHECK(!keys->current_key_id());
  CHECK(!keys->key("k1"));
  // The original runs.
  auto original = app_from_description(describe(spec_app()));
  REQUIRE(original);
  CHECK(!runtime::start(std::move(*original), {.path = path}));
  CHECK(runtime::start(spec_app(), {.path = path}));
}

TEST_CASE("a description with a newer or unknown format is refused",
          "[description]") {
  auto doc = describe(quickstart_app());
  SECTION("newer") {
    doc["format"] = 2;
    check_refused(doc, "format", "version 2 is newer than this library "
                                 "reads (1)");
    doc["format"] = UINT64_MAX;
    check_refused(doc, "format", "is newer");
  }
  SECTION("missing") {
    doc.erase("format");
    check_refused(doc, "format", "is required: this is not an app "
                                 "description");
    check_refused(json::object{}, "format", "is required");
  }
  SECTION("wrong type or value") {
    doc["format"] = "1";
    check_refused(doc, "format", "expected 1, got \"1\"");
    doc["format"] = 1.0;
    check_refused(doc, "format", "expected 1, got 1.0");
    doc["format"] = 0;
    check_refused(doc, "format", "expected 1, got 0");
  }
  SECTION("keys it does not know are ignored") {
    doc["added_later"] = json::array{1, 2};
    res0(doc)["added_later"] = true;
    CHECK(app_from_description(doc));
  }
}

TEST_CASE("a malformed description is refused with the JSON path at fault",
          "[description]") {
  auto doc = describe(quickstart_app());
  auto& user = res0(doc);
  auto& attrs = user["attributes"].as_array();
  SECTION("wrong types") {
    doc["resources"] = json::object{};
    check_refused(doc, "resources", "expected an array, got {}");
  }
  SECTION("a resource that is not an object") {
    doc["resources"].as_array()[0] = 7;
    check_refused(doc, "resources[0]", "expected an object, got 7");
  }
  SECTION("a missing key") {
    user.erase("name");
    check_refused(doc, "resources[0].name", "is required");
  }
  SECTION("an unknown type") {
    attrs[1].as_object()["type"] = "strin";
    check_refused(doc, "resources[0].attributes[1].type",
                  "unknown type \"strin\"");
  }
  SECTION("a nested type") {
    attrs[1].as_object()["type"] = json::object{
      {"array", json::object{{"object", json::array{json::object{
                                          {"name", "x"}, {"type", 5}}}}}}};
    check_refused(doc, "resources[0].attributes[1].type.array.object[0].type",
                  "expected a type name");
  }
  SECTION("an unknown action kind") {
    user["actions"].as_array()[0].as_object()["kind"] = "creat";
    check_refused(doc, "resources[0].actions[0].kind",
                  "expected one of \"create\", \"update\", \"destroy\", "
                  "got \"creat\"");
  }
  SECTION("a boolean of the wrong type") {
    attrs[1].as_object()["allow_nil"] = "no";
    check_refused(doc, "resources[0].attributes[1].allow_nil",
                  "expected true or false, got \"no\"");
  }
  SECTION("a malformed default") {
    attrs[1].as_object()["default"] = json::object{{"generate", "now"}};
    check_refused(doc, "resources[0].attributes[1].default",
                  "expected null, {\"value\": value}");
  }
  SECTION("a primary key the attributes do not repeat") {
    attrs[0].as_object()["name"] = "uid";
    check_refused(doc, "resources[0].attributes[0]",
                  "expected the primary key \"id\"");
  }
  SECTION("a version that is not positive") {
    user["actions"].as_array()[0].as_object()["version"] = 0;
    check_refused(doc, "resources[0].actions[0].version",
                  "expected a positive integer, got 0");
  }
  SECTION("a tracked action of a resource without an event log") {
    user["event_log"] = nullptr;
    check_refused(doc, "resources[0].actions[0].tracked",
                  "the resource writes to no event log");
  }
  SECTION("a log that lists other resources") {
    doc["event_logs"].as_array()[0].as_object()["resources"]
      = json::array{"Nobody"};
    check_refused(doc, "event_logs[0].resources", "lists other resources");
  }
  SECTION("definitions that break a rule name the JSON path") {
    user["identities"].as_array()[0].as_object()["attributes"]
      = json::array{"nope"};
    auto err = refused(doc);
    INFO(render(err));
    REQUIRE(err);
    CHECK(is(err, errc::invalid_input));
    CHECK(message(err).rfind("resources[0].identities[0]", 0) == 0);
  }
  SECTION("every problem is listed") {
    user.erase("table");
    attrs[1].as_object()["writable"] = 1;
    auto err = refused(doc);
    REQUIRE(err);
    CHECK(field_errors(err).size() == 2);
    CHECK(message(err).find("(and 1 more)") != std::string::npos);
  }
}

TEST_CASE("a description with any value broken or missing is refused or "
          "read, never a crash",
          "[description]") {
  auto original = json::value(describe(quickstart_app()));
  std::vector<std::vector<step>> paths;
  std::vector<step> path;
  collect(original, path, paths);
  REQUIRE(paths.size() > 200);
  size_t refusals = 0;
  for (auto& p : paths) {
    if (p.empty())
      continue;
    for (auto replacement :
         {json::value(42), json::value("x"), json::value(nullptr),
          json::value(json::array())}) {
      auto doc = original;
      at(doc, p) = replacement;
      auto result = app_from_description(doc.as_object());
      if (!result) {
        ++refusals;
        CHECK(is(result.error(), errc::invalid_input));
        CHECK(!field_errors(result.error()).empty());
      }
    }
    // Without an object key, the document is always refused.
    if (auto key = std::get_if<std::string>(&p.back())) {
      auto doc = original;
      auto parent = p;
      parent.pop_back();
      at(doc, parent).as_object().erase(*key);
      auto err = refused(doc.as_object());
      INFO(*key);
      CHECK(err);
    }
  }
  CHECK(refusals > paths.size());
}

TEST_CASE("huge or deeply nested descriptions are refused", "[description]") {
  auto doc = describe(quickstart_app());
  SECTION("nested deeper than 64 levels") {
    json::value deep = 1;
    for (int i = 0; i < 2000; ++i) {
      json::array wrap;
      wrap.push_back(std::move(deep));
      deep = std::move(wrap);
    }
    res0(doc)["attributes"].as_array()[1].as_object()["default"]
      = json::object{{"value", std::move(deep)}};
    auto err = refused(doc);
    REQUIRE(err);
    CHECK(is(err, errc::invalid_input));
    CHECK(message(err).rfind("resources[0].attributes[1].default.value[0]", 0)
          == 0);
    CHECK(message(err).find("nested deeper than 64 levels")
          != std::string::npos);
  }
  SECTION("more than a million values") {
    doc["padding"] = json::array(1'000'001, nullptr);
    check_refused(doc, "(root)", "more than 1000000 values");
  }
  SECTION("too many resources") {
    app tiny;
    tiny.add(resource{"Tiny"});
    auto one = describe(tiny)["resources"].as_array()[0];
    doc["resources"] = json::array(5000, one);
    check_refused(doc, "resources", "5000 resources: a description lists at "
                                    "most 4096");
  }
  SECTION("a huge value is cut in the message") {
    res0(doc)["attributes"].as_array()[1].as_object()["type"]
      = std::string(10'000'000, 'x');
    auto err = refused(doc);
    REQUIRE(err);
    CHECK(message(err).size() < 200);
  }
  SECTION("many problems are counted, not all listed") {
    auto& attrs = res0(doc)["attributes"].as_array();
    for (int i = 0; i < 1000; ++i)
      attrs.emplace_back(json::object{{"name", i}});
    auto err = refused(doc);
    REQUIRE(err);
    CHECK(field_errors(err).size() == 100);
    CHECK(message(err).find("more)") != std::string::npos);
  }
}

TEST_CASE("a rebuilt app serves the CLI's read paths", "[description]") {
  auto rebuilt = app_from_description(describe(rich_app()));
  REQUIRE(rebuilt);
  // `history` casts the record id with the primary key's type, and reads
  // old events' values under former names.
  auto member = rebuilt->find_resource("Member");
  REQUIRE(member);
  json::value key;
  CHECK(!member->find_attribute(member->primary_key())->type.cast(
    json::string{"42"}, key));
  CHECK(key == 42);
  CHECK(member->find_attribute("nick")->options.renamed_from
        == std::vector<std::string>{"alias", "nm"});
  REQUIRE(member->events());
  CHECK(member->events()->event_log() == "audit");
  // `list` prints the attributes in definition order.
  std::vector<std::string> header;
  for (auto& attr : member->attributes())
    header.push_back(attr.name);
  CHECK(header
        == std::vector<std::string>{"number", "handle", "score", "tags",
                                    "address", "pin", "nick", "joined_on",
                                    "created_at", "updated_at"});
  // `events` picks the first log by default.
  CHECK(rebuilt->logs().front().name() == "audit");
}
