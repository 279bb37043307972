// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Configuration validation (spec 6.5 and issue 2, section 2): every rule
// app::validate() checks. An invalid definition is an
// errc::invalid_definition error whose message or field errors name the
// resource, action or option at fault, and runtime::start refuses to start
// with it, creating no tables.

#include "support/query.hpp"
#include "support/records.hpp"
#include "support/spec_app.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <sqlite3.h>

#include <catch2/catch.hpp>

using namespace eventactors;
using namespace eventactors::test;

namespace {

/// A small valid app: a Person with timestamps, an identity and pets; a Pet
/// belonging to a Person; a Tag linked to Persons through PersonTag.
app base_app() {
  app a;
  a.add(event_log{"events"})
    .persist_actor_primary_key("person_id", "Person")
    .persist_actor_primary_key("system_actor", "SystemActor",
                               {.type = actor_key_kind::string});
  auto& p = a.add(resource{"Person"});
  p.timestamps()
    .attribute("name", types::string(), {.allow_nil = false})
    .attribute("email", types::string())
    .attribute("born_on", types::date())
    .attribute("secret", types::string(), {.writable = false})
    .identity("unique_email", {"email"})
    .has_many("pets", "Pet", {.destination_attribute = "owner_id"})
    .many_to_many("tags", "Tag",
                  {.through = "PersonTag",
                   .source_attribute_on_join = "person_id",
                   .destination_attribute_on_join = "tag_id"});
  p.events("events")
    .create_timestamp("created_at")
    .update_timestamp("updated_at");
  p.create("create")
    .accept({"name", "email"})
    .change(changes::set_attribute("secret", "s"));
  p.update("update").accept({"name"});
  p.destroy("destroy");
  auto& pet = a.add(resource{"Pet"});
  pet.attribute("name", types::string()).belongs_to("owner", "Person");
  pet.events("events");
  pet.create("create").accept({"name", "owner_id"});
  pet.update("update").accept({"name"});
  pet.destroy("destroy");
  auto& tag = a.add(resource{"Tag"});
  tag.attribute("name", types::string());
  tag.events("events");
  tag.create("create").accept({"name"});
  auto& join = a.add(resource{"PersonTag"});
  join.belongs_to("person", "Person").belongs_to("tag", "Tag");
  join.events("events");
  join.create("create").accept({"person_id", "tag_id"});
  join.destroy("destroy");
  return a;
}

resource& res(app& a, std::string_view name) {
  auto ptr = a.find_resource(name);
  REQUIRE(ptr != nullptr);
  return *ptr;
}

event_log& log_of(app& a, std::string_view name = "events") {
  auto ptr = a.find_log(name);
  REQUIRE(ptr != nullptr);
  return *ptr;
}

bool contains_all(const std::string& text,
                  const std::vector<std::string>& needles) {
  for (auto& n : needles)
    if (text.find(n) == std::string::npos)
      return false;
  return true;
}

/// Whether the rendered error, or one of its field errors (path and
/// message), names every needle.
bool names_all(const caf::error& err, const std::vector<std::string>& needles) {
  if (contains_all(render(err), needles))
    return true;
  for (auto& fe : field_errors(err))
    if (contains_all(fe.field + ": " + fe.message, needles))
      return true;
  return false;
}

/// Number of tables in the database at `path` (0 when it does not exist).
int64_t table_count(const std::string& path) {
  return query_int(path, "SELECT count(*) FROM sqlite_master "
                         "WHERE type = 'table'")
    .value_or(0);
}

bool table_exists(const std::string& path, const std::string& table) {
  return query_int(path, "SELECT count(*) FROM sqlite_master WHERE type = "
                         "'table' AND name = '" + table + "'")
           .value_or(0)
         > 0;
}

/// `a` must fail validation with an error naming every needle, and
/// runtime::start must refuse it without creating any table.
void require_rejected(app a, std::vector<std::string> needles) {
  auto err = a.validate();
  INFO("validate(): " << describe(err));
  INFO("expected to name: " << Catch::Detail::stringify(needles));
  REQUIRE(is(err, errc::invalid_definition));
  CHECK_THAT(render(err), Catch::Matchers::StartsWith("invalid_definition: "));
  CHECK_FALSE(field_errors(err).empty());
  CHECK(names_all(err, needles));
  temp_dir dir;
  auto path = dir.file("refused.db");
  auto rt = runtime::start(std::move(a), {.path = path});
  REQUIRE_FALSE(rt);
  INFO("start(): " << describe(rt.error()));
  CHECK(is(rt.error(), errc::invalid_definition));
  CHECK(names_all(rt.error(), needles));
  CHECK(table_count(path) == 0);
}

/// Applies `mutate` to a fresh base app and requires it to be rejected.
void require_rejected(const std::function<void(app&)>& mutate,
                      std::vector<std::string> needles) {
  auto a = base_app();
  mutate(a);
  require_rejected(std::move(a), std::move(needles));
}

/// Applies `mutate` to a fresh base app and requires it to be valid.
void require_valid(const std::function<void(app&)>& mutate) {
  auto a = base_app();
  mutate(a);
  auto err = a.validate();
  INFO("validate(): " << describe(err));
  CHECK_FALSE(err);
}

} // namespace

// -- valid definitions ---------------------------------------------------------------

TEST_CASE("definitions: valid definitions pass and start", "[definitions]") {
  SECTION("the spec fixture app") {
    auto err = spec_app().validate();
    INFO(describe(err));
    CHECK_FALSE(err);
  }
  SECTION("the base app of these tests starts and creates its tables") {
    auto err = base_app().validate();
    INFO(describe(err));
    REQUIRE_FALSE(err);
    temp_dir dir;
    auto path = dir.file("ok.db");
    {
      auto rt = runtime::start(base_app(), {.path = path});
      INFO((rt ? std::string{"ok"} : describe(rt.error())));
      REQUIRE(rt);
      auto rec = (*rt)->run("Person", "create", {{"name", "Ada"}});
      REQUIRE(rec);
    }
    for (auto t : {"events", "person", "pet", "tag", "person_tag"}) {
      INFO("table " << t);
      CHECK(table_exists(path, t));
    }
  }
  SECTION("options that are allowed") {
    // One actor column may be non-nullable.
    {
      app a;
      a.add(event_log{"events"})
        .persist_actor_primary_key("person_id", "Person", {.allow_nil = false});
      auto& p = a.add(resource{"Person"});
      p.events("events");
      p.create("create");
      auto err = a.validate();
      INFO(describe(err));
      CHECK_FALSE(err);
    }
    // Built-in fields and actor columns can be public.
    require_valid([](app& a) {
      log_of(a).public_fields({"id", "resource", "occurred_at", "person_id"});
    });
    require_valid([](app& a) { log_of(a).all_fields_public(); });
    // Override sources are not validated (they may name removed code);
    // targets exist.
    require_valid([](app& a) {
      log_of(a).replay_override("OldPerson", "create", {1, 2},
                                {{"Person", "create"}, {"Pet", "create"}});
      log_of(a).replay_override("Person", "create", {1},
                                {{"Person", "update"}});
      log_of(a).replay_override("Person", "create", {2},
                                {{"Pet", "create"}});
    });
    // Ignored actions can still carry strategies and allowed changes.
    require_valid([](app& a) {
      res(a, "Person")
        .events("events")
        .ignore_actions({"update"})
        .current_action_versions({{"create", 3}})
        .allowed_change_modules({{"create", {"set_attribute(secret)"}}})
        .replay_non_input_attribute_changes(
          {{"update", replay_strategy::as_arguments}});
    });
    // A string record_id takes every kind of key.
    require_valid([](app& a) {
      log_of(a).record_id_type(record_id_kind::string);
      res(a, "Tag").primary_key("id", key_kind::integer);
    });
    // A managed has_many with its default actions.
    require_valid([](app& a) {
      res(a, "Person")
        .create("create_with_pets")
        .accept({"name"})
        .argument("pets", types::array(types::map()))
        .manage_relationship("pets", "pets", {.mode = manage_mode::create});
    });
  }
}

// -- the events section ----------------------------------------------------------------

TEST_CASE("definitions: the events section", "[definitions]") {
  SECTION("an unknown event log") {
    require_rejected([](app& a) { res(a, "Pet").events("nolog"); },
                     {"Pet", "events", "nolog"});
  }
  SECTION("only_actions and ignore_actions together") {
    require_rejected(
      [](app& a) {
        res(a, "Pet")
          .events("events")
          .only_actions({"create"})
          .ignore_actions({"update"});
      },
      {"Pet", "only_actions", "ignore_actions"});
  }
  SECTION("an unknown action in only_actions") {
    require_rejected(
      [](app& a) {
        res(a, "Pet").events("events").only_actions({"create", "fly"});
      },
      {"Pet", "only_actions", "fly"});
  }
  SECTION("an unknown action in ignore_actions") {
    require_rejected(
      [](app& a) { res(a, "Pet").events("events").ignore_actions({"fly"}); },
      {"Pet", "ignore_actions", "fly"});
  }
  SECTION("an unknown action in current_action_versions") {
    require_rejected(
      [](app& a) {
        res(a, "Pet").events("events").current_action_versions({{"fly", 2}});
      },
      {"Pet", "current_action_versions", "fly"});
  }
  SECTION("an unknown action in allowed_change_modules") {
    require_rejected(
      [](app& a) {
        res(a, "Pet").events("events").allowed_change_modules({{"fly", {}}});
      },
      {"Pet", "allowed_change_modules", "fly"});
  }
  SECTION("an unknown change in allowed_change_modules") {
    require_rejected(
      [](app& a) {
        res(a, "Pet").events("events").allowed_change_modules(
          {{"create", {"no_such_change"}}});
      },
      {"Pet", "allowed_change_modules", "create", "no_such_change"});
  }
  SECTION("an unknown action in replay_non_input_attribute_changes") {
    require_rejected(
      [](app& a) {
        res(a, "Pet").events("events").replay_non_input_attribute_changes(
          {{"fly", replay_strategy::as_arguments}});
      },
      {"Pet", "replay_non_input_attribute_changes", "fly"});
  }
  SECTION("a version of zero") {
    require_rejected(
      [](app& a) {
        res(a, "Pet").events("events").current_action_versions(
          {{"create", 0}});
      },
      {"Pet", "current_action_versions", "create", "0"});
  }
  SECTION("a negative version") {
    require_rejected(
      [](app& a) {
        res(a, "Pet").events("events").current_action_versions(
          {{"update", -3}});
      },
      {"Pet", "current_action_versions", "update", "-3"});
  }
  SECTION("a version for an ignored action") {
    require_rejected(
      [](app& a) {
        res(a, "Pet")
          .events("events")
          .ignore_actions({"update"})
          .current_action_versions({{"update", 2}});
      },
      {"Pet", "current_action_versions", "update"});
  }
  SECTION("a version for an action outside only_actions") {
    require_rejected(
      [](app& a) {
        res(a, "Pet")
          .events("events")
          .only_actions({"create"})
          .current_action_versions({{"destroy", 2}});
      },
      {"Pet", "current_action_versions", "destroy"});
  }
  SECTION("a create_timestamp that does not exist") {
    require_rejected(
      [](app& a) { res(a, "Pet").events("events").create_timestamp("born"); },
      {"Pet", "create_timestamp", "born"});
  }
  SECTION("a create_timestamp that is not a utc_datetime") {
    require_rejected(
      [](app& a) { res(a, "Pet").events("events").create_timestamp("name"); },
      {"Pet", "create_timestamp", "name"});
  }
  SECTION("an update_timestamp that does not exist") {
    require_rejected(
      [](app& a) {
        res(a, "Person")
          .events("events")
          .create_timestamp("created_at")
          .update_timestamp("changed_at");
      },
      {"Person", "update_timestamp", "changed_at"});
  }
  SECTION("an update_timestamp that is a date, not a utc_datetime") {
    require_rejected(
      [](app& a) {
        res(a, "Person")
          .events("events")
          .create_timestamp("created_at")
          .update_timestamp("born_on");
      },
      {"Person", "update_timestamp", "born_on"});
  }
  SECTION("an integer primary key on a log with uuid record ids") {
    require_rejected(
      [](app& a) { res(a, "Tag").primary_key("id", key_kind::integer); },
      {"Tag", "record_id", "events"});
  }
  SECTION("a string primary key on a log with uuid record ids") {
    require_rejected(
      [](app& a) { res(a, "Tag").primary_key("id", key_kind::string); },
      {"Tag", "record_id"});
  }
  SECTION("a uuid primary key on a log with integer record ids") {
    require_rejected(
      [](app& a) { log_of(a).record_id_type(record_id_kind::integer); },
      {"record_id", "events"});
  }
}

// -- the event log -----------------------------------------------------------------

TEST_CASE("definitions: the event log", "[definitions]") {
  SECTION("several actor columns where one is not nullable") {
    require_rejected(
      [](app& a) {
        log_of(a).persist_actor_primary_key("robot_id", "Robot",
                                            {.type = actor_key_kind::string,
                                             .allow_nil = false});
      },
      {"events", "robot_id", "nil"});
  }
  SECTION("public_fields naming an unknown field") {
    require_rejected(
      [](app& a) { log_of(a).public_fields({"id", "password"}); },
      {"events", "public_fields", "password"});
  }
  SECTION("an actor column named like a built-in field") {
    require_rejected(
      [](app& a) { log_of(a).persist_actor_primary_key("resource", "Robot"); },
      {"events", "resource"});
  }
  SECTION("an actor column name that is not an identifier") {
    require_rejected(
      [](app& a) {
        log_of(a).persist_actor_primary_key("robot id\"; --", "Robot");
      },
      {"events", "robot id"});
  }
  SECTION("two actor columns with one name") {
    require_rejected(
      [](app& a) { log_of(a).persist_actor_primary_key("person_id", "Robot"); },
      {"events", "person_id", "duplicate"});
  }
  SECTION("two actor columns for one actor type") {
    require_rejected(
      [](app& a) {
        log_of(a).persist_actor_primary_key("other_person_id", "Person");
      },
      {"events", "other_person_id", "Person"});
  }
  SECTION("an actor column without a type") {
    require_rejected(
      [](app& a) { log_of(a).persist_actor_primary_key("anyone_id", ""); },
      {"events", "anyone_id"});
  }
  SECTION("an actor column typed unlike the actor resource's key") {
    require_rejected(
      [](app& a) {
        log_of(a).persist_actor_primary_key("pet_id", "Pet",
                                            {.type = actor_key_kind::integer});
      },
      {"events", "pet_id", "Pet"});
  }
  SECTION("a log name that is not an identifier") {
    app a;
    a.add(event_log{"My Events"});
    auto& r = a.add(resource{"Thing"});
    r.events("My Events");
    r.create("create");
    require_rejected(std::move(a), {"My Events"});
  }
  SECTION("two logs with one name") {
    require_rejected([](app& a) { a.add(event_log{"events"}); },
                     {"events", "duplicate"});
  }
  SECTION("a reserved log name") {
    require_rejected([](app& a) { a.add(event_log{"sqlite_sequence"}); },
                     {"sqlite_sequence", "reserved"});
  }
}

// -- replay overrides ---------------------------------------------------------------

TEST_CASE("definitions: replay overrides", "[definitions]") {
  SECTION("routing to a missing resource") {
    require_rejected(
      [](app& a) {
        log_of(a).replay_override("Person", "create", {1},
                                  {{"Ghost", "create"}});
      },
      {"replay_overrides", "Ghost"});
  }
  SECTION("routing to a missing action") {
    require_rejected(
      [](app& a) {
        log_of(a).replay_override("OldPerson", "create", {1},
                                  {{"Person", "create"}, {"Pet", "fly"}});
      },
      {"replay_overrides", "Pet", "fly"});
  }
  SECTION("routing to itself") {
    require_rejected(
      [](app& a) {
        log_of(a).replay_override("Person", "create", {1},
                                  {{"Person", "create"}});
      },
      {"replay_overrides", "Person", "create", "itself"});
  }
  SECTION("an override whose every version an earlier one routes") {
    // Partial overlaps are fine (the first match wins, I-REPLAY-04); an
    // override that can never match is a mistake.
    require_rejected(
      [](app& a) {
        log_of(a).replay_override("Person", "create", {1, 2},
                                  {{"Person", "update"}});
        log_of(a).replay_override("Person", "create", {2},
                                  {{"Pet", "create"}});
      },
      {"replay_overrides[1]", "Person", "create", "never used"});
  }
  SECTION("a non-positive version") {
    require_rejected(
      [](app& a) {
        log_of(a).replay_override("Person", "create", {0},
                                  {{"Person", "update"}});
      },
      {"replay_overrides", "Person", "0"});
  }
  SECTION("no versions") {
    require_rejected(
      [](app& a) {
        log_of(a).replay_override("Person", "create", {},
                                  {{"Person", "update"}});
      },
      {"replay_overrides", "Person", "versions"});
  }
  SECTION("no targets") {
    require_rejected(
      [](app& a) { log_of(a).replay_override("Person", "create", {1}, {}); },
      {"replay_overrides", "Person", "route_to"});
  }
}

// -- actions -------------------------------------------------------------------------

TEST_CASE("definitions: actions", "[definitions]") {
  SECTION("accepting an unknown attribute") {
    require_rejected(
      [](app& a) { res(a, "Pet").create("create_named").accept({"nick"}); },
      {"Pet", "create_named", "accept", "nick"});
  }
  SECTION("accepting a non-writable attribute") {
    require_rejected(
      [](app& a) {
        res(a, "Person").update("set_secret").accept({"secret"});
      },
      {"Person", "set_secret", "accept", "secret"});
  }
  SECTION("accepting a non-writable primary key") {
    require_rejected(
      [](app& a) {
        res(a, "Tag").primary_key("id", key_kind::uuid_v4, false);
        res(a, "Tag").create("create_with_id").accept({"id", "name"});
      },
      {"Tag", "create_with_id", "accept", "id"});
  }
  SECTION("accepting an attribute twice") {
    require_rejected(
      [](app& a) {
        res(a, "Pet").create("create_twice").accept({"name", "name"});
      },
      {"Pet", "create_twice", "name"});
  }
  SECTION("a hard destroy accepting attributes") {
    require_rejected(
      [](app& a) { res(a, "Pet").destroy("remove").accept({"name"}); },
      {"Pet", "remove", "accept"});
  }
  SECTION("two actions with one name") {
    require_rejected(
      [](app& a) { res(a, "Pet").update("create").accept({"name"}); },
      {"Pet", "create", "duplicate"});
  }
  SECTION("two arguments with one name") {
    require_rejected(
      [](app& a) {
        res(a, "Pet")
          .create("create_twice")
          .argument("note", types::string())
          .argument("note", types::integer());
      },
      {"Pet", "create_twice", "note", "duplicate"});
  }
  SECTION("an argument named like an accepted attribute") {
    require_rejected(
      [](app& a) {
        res(a, "Pet")
          .create("create_shadow")
          .accept({"name"})
          .argument("name", types::string());
      },
      {"Pet", "create_shadow", "name"});
  }
  SECTION("an upsert on an update") {
    require_rejected(
      [](app& a) {
        res(a, "Person").update("update_upsert").upsert("unique_email");
      },
      {"Person", "update_upsert", "upsert"});
  }
  SECTION("an upsert on a destroy") {
    require_rejected(
      [](app& a) {
        res(a, "Person").destroy("destroy_upsert").upsert("unique_email");
      },
      {"Person", "destroy_upsert", "upsert"});
  }
  SECTION("an upsert on an unknown identity") {
    require_rejected(
      [](app& a) {
        res(a, "Person")
          .create("create_upsert")
          .accept({"name", "email"})
          .upsert("unique_phone");
      },
      {"Person", "create_upsert", "unique_phone"});
  }
  SECTION("a soft update") {
    require_rejected(
      [](app& a) { res(a, "Pet").update("soft_update").soft(); },
      {"Pet", "soft_update", "soft"});
  }
  SECTION("a soft create") {
    require_rejected(
      [](app& a) { res(a, "Pet").create("soft_create").soft(); },
      {"Pet", "soft_create", "soft"});
  }
  SECTION("a constant argument default that does not fit its type") {
    require_rejected(
      [](app& a) {
        res(a, "Pet")
          .create("create_counted")
          .argument("count", types::integer(), {.default_value = "many"});
      },
      {"Pet", "create_counted", "count", "default"});
  }
  SECTION("a change without a name") {
    require_rejected(
      [](app& a) {
        res(a, "Pet").create("create_anon").change(
          change{"", [](changeset&) {}});
      },
      {"Pet", "create_anon", "change"});
  }
  SECTION("a validation without a name") {
    require_rejected(
      [](app& a) {
        res(a, "Pet").create("create_anon").validate(validation{
          "", [](const changeset&) { return std::optional<field_error>{}; }});
      },
      {"Pet", "create_anon", "validation"});
  }
}

TEST_CASE("definitions: manage_relationship", "[definitions]") {
  SECTION("an unknown argument") {
    require_rejected(
      [](app& a) {
        res(a, "Person")
          .create("create_with_pets")
          .accept({"name"})
          .manage_relationship("pets", "pets", {.mode = manage_mode::create});
      },
      {"Person", "create_with_pets", "manage_relationship", "pets"});
  }
  SECTION("an argument that is not a map") {
    require_rejected(
      [](app& a) {
        res(a, "Person")
          .create("create_with_pets")
          .accept({"name"})
          .argument("pets", types::string())
          .manage_relationship("pets", "pets", {.mode = manage_mode::create});
      },
      {"Person", "create_with_pets", "pets", "map"});
  }
  SECTION("an argument that is an array of strings, not of maps") {
    require_rejected(
      [](app& a) {
        res(a, "Person")
          .create("create_with_pets")
          .accept({"name"})
          .argument("pets", types::array(types::string()))
          .manage_relationship("pets", "pets", {.mode = manage_mode::create});
      },
      {"Person", "create_with_pets", "pets", "map"});
  }
  SECTION("an unknown relationship") {
    require_rejected(
      [](app& a) {
        res(a, "Person")
          .create("create_with_cats")
          .accept({"name"})
          .argument("cats", types::array(types::map()))
          .manage_relationship("cats", "cats", {.mode = manage_mode::create});
      },
      {"Person", "create_with_cats", "cats", "relationship"});
  }
  SECTION("a many_to_many mode on a has_many") {
    require_rejected(
      [](app& a) {
        res(a, "Person")
          .create("create_with_pets")
          .accept({"name"})
          .argument("pets", types::array(types::map()))
          .manage_relationship("pets", "pets", {.mode = manage_mode::append});
      },
      {"Person", "create_with_pets", "append"});
  }
  SECTION("a has_many mode on a many_to_many") {
    require_rejected(
      [](app& a) {
        res(a, "Person")
          .update("update_tags")
          .argument("tags", types::array(types::map()))
          .manage_relationship("tags", "tags",
                               {.mode = manage_mode::direct_control});
      },
      {"Person", "update_tags", "many_to_many"});
  }
  SECTION("a create action missing on the destination") {
    require_rejected(
      [](app& a) {
        res(a, "Person")
          .create("create_with_pets")
          .accept({"name"})
          .argument("pets", types::array(types::map()))
          .manage_relationship("pets", "pets",
                               {.mode = manage_mode::create,
                                .create_action = "adopt"});
      },
      {"Person", "create_with_pets", "create_action", "adopt"});
  }
  SECTION("a destination action of the wrong kind") {
    require_rejected(
      [](app& a) {
        res(a, "Person")
          .update("update_pets")
          .argument("pets", types::array(types::map()))
          .manage_relationship("pets", "pets",
                               {.mode = manage_mode::direct_control,
                                .update_action = "destroy",
                                .destroy_action = "destroy"});
      },
      {"Person", "update_pets", "update_action", "destroy"});
  }
  SECTION("a destroy action missing on the join resource") {
    require_rejected(
      [](app& a) {
        res(a, "Person")
          .update("update_tags")
          .argument("tags", types::array(types::map()))
          .manage_relationship("tags", "tags",
                               {.mode = manage_mode::append_and_remove,
                                .destroy_action = "unlink"});
      },
      {"Person", "update_tags", "destroy_action", "unlink"});
  }
  SECTION("a belongs_to relationship") {
    require_rejected(
      [](app& a) {
        res(a, "Pet")
          .create("create_with_owner")
          .argument("owner", types::map())
          .manage_relationship("owner", "owner");
      },
      {"Pet", "create_with_owner", "belongs_to"});
  }
}

// -- relationships -------------------------------------------------------------------

TEST_CASE("definitions: relationships", "[definitions]") {
  SECTION("belongs_to an unknown resource") {
    require_rejected(
      [](app& a) { res(a, "Pet").belongs_to("vet", "Vet"); },
      {"Pet", "vet", "Vet"});
  }
  SECTION("has_many of an unknown resource") {
    require_rejected(
      [](app& a) {
        res(a, "Person").has_many("cars", "Car",
                                  {.destination_attribute = "owner_id"});
      },
      {"Person", "cars", "Car"});
  }
  SECTION("has_one of an unknown resource") {
    require_rejected(
      [](app& a) {
        res(a, "Person").has_one("passport", "Passport",
                                 {.destination_attribute = "person_id"});
      },
      {"Person", "passport", "Passport"});
  }
  SECTION("many_to_many of an unknown resource") {
    require_rejected(
      [](app& a) {
        res(a, "Person").many_to_many(
          "clubs", "Club",
          {.through = "PersonTag",
           .source_attribute_on_join = "person_id",
           .destination_attribute_on_join = "tag_id"});
      },
      {"Person", "clubs", "Club"});
  }
  SECTION("many_to_many through an unknown resource") {
    require_rejected(
      [](app& a) {
        res(a, "Person").many_to_many(
          "labels", "Tag",
          {.through = "PersonLabel",
           .source_attribute_on_join = "person_id",
           .destination_attribute_on_join = "tag_id"});
      },
      {"Person", "labels", "PersonLabel"});
  }
  SECTION("many_to_many with a join attribute missing") {
    require_rejected(
      [](app& a) {
        res(a, "Person").many_to_many(
          "labels", "Tag",
          {.through = "PersonTag",
           .source_attribute_on_join = "person_id",
           .destination_attribute_on_join = "label_id"});
      },
      {"Person", "labels", "label_id"});
  }
  SECTION("has_many without its destination attribute") {
    require_rejected(
      [](app& a) { res(a, "Person").has_many("friends", "Pet", {}); },
      {"Person", "friends", "destination_attribute"});
  }
  SECTION("has_many with an unknown destination attribute") {
    require_rejected(
      [](app& a) {
        res(a, "Person").has_many("friends", "Pet",
                                  {.destination_attribute = "friend_id"});
      },
      {"Person", "friends", "friend_id"});
  }
  SECTION("belongs_to with a foreign key typed unlike the destination key") {
    app a;
    a.add(event_log{"events"});
    auto& owner = a.add(resource{"Owner"});
    owner.events("events");
    owner.create("create");
    auto& pet = a.add(resource{"Pet"});
    pet.attribute("owner_id", types::integer()).belongs_to("owner", "Owner");
    pet.events("events");
    pet.create("create").accept({"owner_id"});
    require_rejected(std::move(a), {"Pet", "owner", "owner_id"});
  }
  SECTION("two relationships with one name") {
    require_rejected(
      [](app& a) {
        res(a, "Person").has_many("pets", "Pet",
                                  {.destination_attribute = "owner_id"});
      },
      {"Person", "pets", "duplicate"});
  }
  SECTION("a relationship name that is not an identifier") {
    require_rejected(
      [](app& a) {
        res(a, "Person").has_many("My Pets", "Pet",
                                  {.destination_attribute = "owner_id"});
      },
      {"Person", "My Pets"});
  }
}

// -- resources and attributes ---------------------------------------------------------

TEST_CASE("definitions: resources and attributes", "[definitions]") {
  SECTION("two resources with one name") {
    require_rejected(
      [](app& a) {
        auto& r = a.add(resource{"Pet"});
        r.table("pet_two");
        r.create("create");
      },
      {"Pet", "duplicate"});
  }
  SECTION("two resources with one table") {
    require_rejected(
      [](app& a) {
        auto& r = a.add(resource{"Animal"});
        r.table("pet");
        r.create("create");
      },
      {"pet"});
  }
  SECTION("a resource table named like an event log") {
    require_rejected(
      [](app& a) {
        auto& r = a.add(resource{"Events"});
        r.create("create");
      },
      {"Events", "events"});
  }
  SECTION("a reserved table name") {
    require_rejected(
      [](app& a) { a.add(resource{"Meta"}).table("eventactors_meta"); },
      {"Meta", "eventactors_meta"});
  }
  SECTION("an empty resource name") {
    require_rejected([](app& a) { a.add(resource{""}); }, {"resource"});
  }
  SECTION("a table name that is not an identifier") {
    require_rejected(
      [](app& a) { res(a, "Tag").table("tag\"; DROP TABLE events; --"); },
      {"Tag", "DROP TABLE"});
  }
  SECTION("two attributes with one name") {
    require_rejected(
      [](app& a) { res(a, "Pet").attribute("name", types::integer()); },
      {"Pet", "attributes", "name", "duplicate"});
  }
  SECTION("an attribute named like the primary key") {
    require_rejected(
      [](app& a) { res(a, "Pet").attribute("id", types::string()); },
      {"Pet", "id", "duplicate"});
  }
  SECTION("attribute names that are not identifiers") {
    for (auto bad : {"Name", "first name", "1st", "a-b", "x\"y",
                     "name; DROP TABLE pet"}) {
      INFO("attribute " << bad);
      require_rejected(
        [bad](app& a) { res(a, "Pet").attribute(bad, types::string()); },
        {"Pet", bad});
    }
  }
  SECTION("an empty attribute name") {
    require_rejected(
      [](app& a) { res(a, "Pet").attribute("", types::string()); },
      {"Pet", "attributes"});
  }
  SECTION("an action name that is not an identifier") {
    require_rejected(
      [](app& a) { res(a, "Pet").create("Create Pet!"); },
      {"Pet", "Create Pet!"});
  }
  SECTION("an argument name that is not an identifier") {
    require_rejected(
      [](app& a) {
        res(a, "Pet").create("create_noted").argument("Note", types::string());
      },
      {"Pet", "create_noted", "Note"});
  }
  SECTION("an array without an element type") {
    require_rejected(
      [](app& a) {
        res(a, "Pet").attribute("tags", attribute_type{type_kind::array});
      },
      {"Pet", "tags", "element"});
  }
  SECTION("constant defaults that do not fit their type") {
    require_rejected(
      [](app& a) {
        res(a, "Pet").attribute("legs", types::integer(),
                                {.default_value = "four"});
      },
      {"Pet", "legs", "default"});
    require_rejected(
      [](app& a) {
        res(a, "Pet").attribute("vaccinated", types::boolean(),
                                {.default_value = "maybe"});
      },
      {"Pet", "vaccinated", "default"});
    require_rejected(
      [](app& a) {
        res(a, "Pet").attribute("chip", types::uuid(),
                                {.default_value = "not-a-uuid"});
      },
      {"Pet", "chip", "default"});
    require_rejected(
      [](app& a) {
        res(a, "Pet").attribute("seen_at", types::utc_datetime(),
                                {.default_value = 12});
      },
      {"Pet", "seen_at", "default"});
  }
  SECTION("a constant update_default that does not fit its type") {
    require_rejected(
      [](app& a) {
        res(a, "Pet").attribute("revision", types::integer(),
                                {.update_default = 1.5});
      },
      {"Pet", "revision", "update_default"});
  }
  SECTION("an identity over an unknown attribute") {
    require_rejected(
      [](app& a) { res(a, "Pet").identity("unique_chip", {"chip"}); },
      {"Pet", "unique_chip", "chip"});
  }
  SECTION("an identity without attributes") {
    require_rejected(
      [](app& a) { res(a, "Pet").identity("unique_nothing", {}); },
      {"Pet", "unique_nothing"});
  }
  SECTION("two identities with one name") {
    require_rejected(
      [](app& a) { res(a, "Person").identity("unique_email", {"name"}); },
      {"Person", "unique_email", "duplicate"});
  }
}

// -- runtime::start ----------------------------------------------------------------

TEST_CASE("definitions: runtime::start refuses an invalid definition on an "
          "existing database and changes nothing",
          "[definitions]") {
  temp_dir dir;
  auto path = dir.file("existing.db");
  json::value id;
  {
    auto rt = runtime::start(base_app(), {.path = path});
    REQUIRE(rt);
    auto rec = (*rt)->run("Person", "create", {{"name", "Ada"}});
    REQUIRE(rec);
    id = rec->id;
  }
  auto tables = table_count(path);
  REQUIRE(tables > 0);
  // A new, valid resource plus one fault elsewhere: nothing starts, the new
  // resource's table is not created.
  auto a = base_app();
  auto& extra = a.add(resource{"Vehicle"});
  extra.attribute("plate", types::string());
  extra.events("events");
  extra.create("create").accept({"plate"});
  res(a, "Pet").events("events").current_action_versions({{"create", 0}});
  auto rt = runtime::start(std::move(a), {.path = path});
  REQUIRE_FALSE(rt);
  CHECK(is(rt.error(), errc::invalid_definition));
  CHECK_THAT(render(rt.error()), Catch::Matchers::Contains("Pet"));
  CHECK(table_count(path) == tables);
  CHECK_FALSE(table_exists(path, "vehicle"));
  // The data is still there for a valid definition.
  auto again = runtime::start(base_app(), {.path = path});
  REQUIRE(again);
  auto got = (*again)->get("Person", id);
  REQUIRE(got);
  CHECK(got->get("name") == "Ada");
}

TEST_CASE("definitions: runtime options are checked before starting",
          "[definitions]") {
  SECTION("an empty path") {
    auto rt = runtime::start(base_app(), {.path = ""});
    REQUIRE_FALSE(rt);
    CHECK(is(rt.error(), errc::invalid_definition));
    CHECK_THAT(render(rt.error()), Catch::Matchers::Contains("path"));
  }
  SECTION("no clock") {
    temp_dir dir;
    runtime_options opts;
    opts.path = dir.file("noclock.db");
    opts.env.clock = nullptr;
    auto rt = runtime::start(base_app(), opts);
    REQUIRE_FALSE(rt);
    CHECK(is(rt.error(), errc::invalid_definition));
    CHECK_THAT(render(rt.error()), Catch::Matchers::Contains("clock"));
    CHECK(table_count(opts.path) == 0);
  }
}
