// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The C++ snippets of docs/definitions.md, docs/errors.md and
// docs/replay.md: compiled and run here; the docs_snippets test checks that
// the docs show exactly the marked regions.

#include "eventactors/all.hpp"

#include <cstdio>

#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"

using namespace eventactors;

TEST_CASE("docs: the definitions snippets build a valid app", "[docs]") {
  app a;
  // --(rst-event-log-begin)--
a.add(event_log{"events"})                        // the table name
  .primary_key_type(event_id_kind::integer)       // or uuid_v7
  .record_id_type(record_id_kind::uuid)           // or integer, string
  .persist_actor_primary_key("user_id", "Accounts.User")
  .persist_actor_primary_key("system_actor", "SystemActor",
                             {.type = actor_key_kind::string})
  .public_fields({"id", "resource", "occurred_at"})  // or all_fields_public()
  .strict_actor_types()                           // optional, see below
  .encrypt_with(key_file_provider("/etc/app/keys"))  // payloads at rest
  .replay_override("Accounts.User", "create", {1},
                   {{"Accounts.User", "create_v1"}});
  // --(rst-event-log-end)--
  // --(rst-resource-begin)--
auto& user = a.add(resource{"Accounts.User"});    // table accounts_user
user.primary_key("id", key_kind::uuid_v4)          // the default
  .attribute("email", types::ci_string(), {.allow_nil = false})
  .attribute("hashed_password", types::string(), {.sensitive = true})
  .attribute("status", types::string(), {.default_value = "active"})
  .timestamps()                                    // created_at, updated_at
  .identity("unique_email", {"email"})
  .has_many("comments", "Blog.Comment", {.destination_attribute = "user_id"});
  // --(rst-resource-end)--
  // What the snippets refer to.
  user.attribute("name", types::string())
    .attribute("confirmed_at", types::utc_datetime())
    .attribute("deleted_at", types::utc_datetime());
  user.create("create_v1").accept({"email"});
  auto& role = a.add(resource{"Accounts.Role"});
  role.attribute("name", types::string()).belongs_to("user", "Accounts.User");
  role.create("create").accept({"name", "user_id"});
  auto& comment = a.add(resource{"Blog.Comment"});
  comment.belongs_to("user", "Accounts.User");
  // --(rst-actions-begin)--
user.create("create")
  .accept({"email", "name"})
  .argument("role", types::string(), {.default_value = "user"})
  .change(changes::set_attribute("confirmed_at", value_source::now()))
  .validate(validations::string_length("name", 2, 100))
  .after_action("create_role", [](hook_context& ctx, const changeset& cs,
                                  record& user) -> caf::error {
    call c{"Accounts.Role", "create",
           {{"name", cs.argument("role")}, {"user_id", user.id}}};
    auto role = ctx.run(std::move(c));   // same unit; actor passed on
    return role ? caf::error{} : role.error();
  });
user.update("update").accept({"name"});
user.destroy("destroy");
user.destroy("archive").soft().change(
  changes::set_attribute("deleted_at", value_source::now()));
user.create("register").accept({"email"}).upsert("unique_email");
  // --(rst-actions-end)--
  // --(rst-events-begin)--
user.events("events")
  .ignore_actions({"create_v1"})            // or only_actions({...})
  .current_action_versions({{"create", 2}})
  .allowed_change_modules({{"create", {"set_attribute(confirmed_at)"}}})
  .create_timestamp("created_at")
  .update_timestamp("updated_at")
  .replay_non_input_attribute_changes(
    {{"update", replay_strategy::as_arguments}});
  // --(rst-events-end)--
  auto err = a.validate();
  INFO(render(err));
  CHECK(!err);
}

TEST_CASE("docs: the error and replay snippets run", "[docs]") {
  test::temp_dir dir;
  app a;
  a.add(event_log{"events"});
  auto& r = a.add(resource{"User"});
  r.attribute("email", types::string(), {.allow_nil = false});
  r.events("events");
  r.create("create").accept({"email"});
  auto started = runtime::start(a, {.path = dir.file("d.db")});
  REQUIRE(started);
  auto& rt = *started;
  for (int i = 0; i < 42; ++i)
    REQUIRE(rt->run("User", "create",
                    {{"email", "u" + std::to_string(i) + "@x.org"}}));
  auto failed = rt->run("User", "create", {});
  REQUIRE(!failed);
  auto err = failed.error();
  // --(rst-errors-begin)--
eventactors::is(err, errc::invalid_input);   // category and code
eventactors::message(err);                   // the message
eventactors::field_errors(err);              // [{field, message}, ...]
eventactors::render(err);                    // "invalid_input: User.create: email: is required"
  // --(rst-errors-end)--
  CHECK(render(err) == "invalid_input: User.create: email: is required");
  std::remove("/tmp/what-if.db");
  // --(rst-replay-begin)--
auto all = rt->replay();                                   // every event
auto at_id = rt->replay({.last_event_id = 42});            // up to event 42
auto at_time = rt->replay({.point_in_time = *parse_timestamp(
                             "2026-11-01T00:00:00Z")});    // occurred_at <= T
auto fork = rt->fork({.last_event_id = 42}, "/tmp/what-if.db"); // a new file
auto report = rt->verify();                                // does it rebuild?
  // --(rst-replay-end)--
  CHECK(all);
  CHECK(at_id);
  CHECK(at_time);
  CHECK(fork);
  CHECK(report);
  for (auto suffix : {"", "-wal", "-shm"})
    std::remove((std::string{"/tmp/what-if.db"} + suffix).c_str());
}

TEST_CASE("docs: the encryption snippet stores sealed payloads that read "
          "back",
          "[docs]") {
  test::temp_dir dir;
  auto key_file = dir.file("event-keys");
  {
    std::FILE* f = std::fopen(key_file.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs("2026-11 "
               "000102030405060708090a0b0c0d0e0f"
               "101112131415161718191a1b1c1d1e1f\n",
               f);
    std::fclose(f);
    // Readable by its owner only, or it is refused.
    std::filesystem::permissions(key_file,
                                 std::filesystem::perms::owner_read
                                   | std::filesystem::perms::owner_write);
  }
  app a;
  // --(rst-encryption-begin)--
// One key per line, "ID HEX" with 64 hex digits; the last line is current.
a.add(event_log{"events"}.encrypt_with(key_file_provider(key_file)));
  // --(rst-encryption-end)--
  auto& user = a.add(resource{"User"});
  user.attribute("email", types::string())
    .attribute("password_hash", types::string(), {.sensitive = true});
  user.events("events");
  user.create("create").accept({"email", "password_hash"});
  auto rt = runtime::start(a, {.path = dir.file("sealed.db")});
  REQUIRE(rt);
  REQUIRE((*rt)->run("User", "create",
                     {{"email", "a@x.org"}, {"password_hash", "h1"}}));
  auto page = (*rt)->events({});
  REQUIRE(page);
  REQUIRE(page->events.size() == 1);
  // Sensitive inputs are kept on an encrypted log, and read back.
  CHECK(page->events[0].data.at("password_hash") == "h1");
}
