// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "support/spec_app.hpp"

#include "support/query.hpp"
#include "support/records.hpp"

#include <cstdio>

#include <sqlite3.h>

#include <catch2/catch.hpp>

namespace eventactors::test {

std::string toy_hash(std::string_view password) {
  uint64_t h = 1469598103934665603ull;
  for (auto c : password) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "fnv1a$%016llx",
                static_cast<unsigned long long>(h));
  return buf;
}

change hash_password() {
  return change{"hash_password", [](changeset& cs) {
                  if (cs.argument("password").is_string())
                    cs.set_attribute("hashed_password",
                                     json::string{toy_hash(
                                       cs.argument("password").get_string())});
                }};
}

actor system_actor(std::string name) {
  return actor{"SystemActor", json::string{name}};
}

actor user_actor(const record& user) {
  return actor{"User", user.id};
}

namespace {

void add_logs(app& a) {
  // The reference scenario keeps a plaintext log with sensitive attributes,
  // which is an explicit opt-in here.
  a.add(event_log{"events"})
    .allow_plaintext_sensitive()
    .persist_actor_primary_key("user_id", "User")
    .persist_actor_primary_key("system_actor", "SystemActor",
                               {.type = actor_key_kind::string})
    .replay_override("User", "create", {1},
                     {{"User", "create_v1"}, {"RoutedUser", "routed_create"}});
  a.add(event_log{"events_uuidv7"})
    .primary_key_type(event_id_kind::uuid_v7)
    .allow_plaintext_sensitive()
    .all_fields_public()
    .persist_actor_primary_key("user_id", "User")
    .persist_actor_primary_key("system_actor", "SystemActor",
                               {.type = actor_key_kind::string});
}

std::vector<std::string> user_fields() {
  return {"id",          "created_at", "updated_at",     "email",
          "given_name",  "family_name", "hashed_password"};
}

void add_user(app& a) {
  auto& r = a.add(resource{"User"});
  r.timestamps()
    .attribute("email", types::ci_string(), {.allow_nil = false})
    .attribute("given_name", types::string())
    .attribute("family_name", types::string())
    .attribute("hashed_password", types::string(), {.sensitive = true})
    .attribute("confirmed_at", types::utc_datetime())
    .identity("unique_email", {"email"})
    .has_one("user_role", "UserRole", {.destination_attribute = "user_id"})
    .has_many("comments", "Comment", {.destination_attribute = "user_id"});
  r.events("events")
    .ignore_actions({"create_v1"})
    .current_action_versions({{"create", 1}, {"create_upsert", 1}})
    .create_timestamp("created_at")
    .update_timestamp("updated_at");
  auto confirm = changes::set_attribute("confirmed_at", value_source::now());
  r.create("create")
    .accept(user_fields())
    .argument("role", types::string(), {.default_value = "user"})
    .change(confirm)
    .after_action("create_role",
                  [](hook_context& ctx, const changeset& cs,
                     record& rec) -> caf::error {
                    call c{"UserRole", "create"};
                    c.input["name"] = cs.argument("role");
                    c.input["user_id"] = rec.id;
                    auto role = ctx.run(std::move(c));
                    if (!role)
                      return role.error();
                    return {};
                  });
  r.create("create_with_form")
    .accept({"email", "given_name", "family_name", "hashed_password"})
    .skip_unknown_inputs()
    .change(confirm);
  r.create("create_with_nested_role")
    .accept({"email", "given_name", "family_name", "hashed_password"})
    .argument("user_role", types::map())
    .manage_relationship("user_role", "user_role",
                         {.mode = manage_mode::direct_control,
                          .create_action = "create_from_parent"})
    .change(confirm);
  r.create("create_with_role_create")
    .accept({"email", "given_name", "family_name", "hashed_password"})
    .argument("user_role", types::map())
    .manage_relationship("user_role", "user_role",
                         {.mode = manage_mode::create,
                          .create_action = "create_from_parent"})
    .change(confirm);
  r.create("create_with_comments")
    .accept({"email", "given_name", "family_name", "hashed_password"})
    .argument("comments", types::array(types::map()))
    .manage_relationship("comments", "comments",
                         {.mode = manage_mode::create,
                          .create_action = "create_from_parent"})
    .change(confirm);
  r.update("update_with_comments_direct_control")
    .accept({"given_name", "family_name"})
    .argument("comments", types::array(types::map()))
    .manage_relationship("comments", "comments",
                         {.mode = manage_mode::direct_control,
                          .create_action = "create_from_parent",
                          .update_action = "update",
                          .destroy_action = "destroy"});
  r.update("update")
    .accept({"given_name", "family_name", "created_at", "updated_at",
             "hashed_password"})
    .argument("role", types::string())
    .after_action("update_role",
                  [](hook_context& ctx, const changeset& cs,
                     record& rec) -> caf::error {
                    if (!cs.has_argument("role"))
                      return {};
                    auto roles = ctx.find("UserRole", "user_id", rec.id);
                    if (!roles)
                      return roles.error();
                    for (auto& role : *roles) {
                      call c{"UserRole", "update"};
                      c.input["name"] = cs.argument("role");
                      c.record_id = role.id;
                      if (auto res = ctx.run(std::move(c)); !res)
                        return res.error();
                    }
                    return {};
                  });
  r.update("update_with_map_arg")
    .accept({"given_name", "family_name"})
    .argument("metadata", types::map());
  r.destroy("destroy");
  r.create("create_v1")
    .accept(user_fields())
    .argument("role", types::string(), {.default_value = "user"})
    .change(confirm);
  r.create("create_upsert")
    .accept(user_fields())
    .upsert("unique_email")
    .change(confirm);
  r.create("register_with_password")
    .accept({"email", "given_name", "family_name"})
    .argument("password", types::string(),
              {.required = true, .sensitive = true})
    .argument("password_confirmation", types::string(),
              {.required = true, .sensitive = true})
    .validate(validations::confirm("password", "password_confirmation"))
    .change(hash_password());
  r.update("change_password")
    .argument("current_password", types::string(),
              {.required = true, .sensitive = true})
    .argument("password", types::string(),
              {.required = true, .sensitive = true})
    .argument("password_confirmation", types::string(),
              {.required = true, .sensitive = true})
    .validate(validation{"current_password",
                         [](const changeset& cs)
                           -> std::optional<field_error> {
                           auto& given = cs.argument("current_password");
                           auto& stored = cs.original()->at("hashed_password");
                           if (!given.is_string() || !stored.is_string()
                               || toy_hash(given.get_string())
                                    != stored.get_string())
                             return field_error{"current_password",
                                                "is incorrect"};
                           return std::nullopt;
                         }})
    .validate(validations::confirm("password", "password_confirmation"))
    .change(hash_password());
}

void add_user_role(app& a) {
  auto& r = a.add(resource{"UserRole"});
  r.timestamps()
    .attribute("name", types::string(), {.allow_nil = false})
    .belongs_to("user", "User", {.allow_nil = false})
    .identity("unique_user_id", {"user_id"});
  r.events("events")
    .create_timestamp("created_at")
    .update_timestamp("updated_at");
  r.create("create").accept(
    {"id", "created_at", "updated_at", "name", "user_id"});
  r.create("create_from_parent").accept({"name"});
  r.update("update").accept({"created_at", "updated_at", "name"});
  r.destroy("destroy");
}

void add_routed_user(app& a) {
  auto& r = a.add(resource{"RoutedUser"});
  r.timestamps()
    .attribute("email", types::ci_string())
    .attribute("given_name", types::string(), {.allow_nil = false})
    .attribute("family_name", types::string(), {.allow_nil = false})
    .attribute("hashed_password", types::string(), {.sensitive = true});
  r.events("events").ignore_actions({"routed_create"});
  r.create("routed_create")
    .accept(user_fields())
    .argument("role", types::string(), {.default_value = "user"});
}

void add_org(app& a) {
  auto& r = a.add(resource{"Org"});
  r.timestamps()
    .attribute("name", types::string(), {.allow_nil = false})
    .attribute("active", types::boolean(), {.default_value = true});
  r.events("events")
    .ignore_actions({"create_ignored", "update_ignored", "destroy_ignored"})
    .create_timestamp("created_at")
    .update_timestamp("updated_at");
  r.create("create")
    .accept({"name"})
    .validate(validations::string_length("name", 2, 100));
  r.update("update")
    .accept({"name"})
    .validate(validations::string_length("name", 2, 100));
  r.create("create_ignored").accept({"name"});
  r.update("update_ignored").accept({"name"});
  r.destroy("destroy_ignored");
  r.update("reactivate")
    .argument("justification", types::string(), {.required = true})
    .validate(validations::attribute_equals("active", false)
                .with_message("Organization is already active"));
  r.destroy("destroy");
}

void add_org_details(app& a) {
  auto& r = a.add(resource{"OrgDetails"});
  r.attribute("details", types::string());
  r.events("events")
    .only_actions({"create", "update"})
    .allowed_change_modules({{"update", {}}});
  r.create("create").accept({"details"});
  r.update("update").accept({"details"});
  r.create("create_not_in_only").accept({"details"});
}

void add_auto_attrs(app& a) {
  auto& r = a.add(resource{"UserWithAutoAttrs"});
  r.attribute("email", types::string())
    .attribute("name", types::string(), {.allow_nil = false})
    .attribute("status", types::string(), {.default_value = "active"})
    .attribute("slug", types::string(), {.allow_nil = false})
    .change(changes::slugify("name", "slug"),
            {action_kind::create, action_kind::update});
  r.events("events").replay_non_input_attribute_changes(
    {{"update", replay_strategy::as_arguments},
     {"update_with_required_slug", replay_strategy::as_arguments}});
  r.create("create").accept({"id", "email", "name", "status"});
  r.update("update").accept({"name", "slug"});
  r.update("update_with_required_slug")
    .accept({"name"})
    .argument("slug", types::string(), {.required = true})
    .change(changes::set_from_argument("slug", "slug"));
  r.destroy("destroy");
}

void add_embedded(app& a) {
  auto address = types::object({{"street", types::string(), false},
                                {"city", types::string(), false},
                                {"state", types::string(), false},
                                {"zip_code", types::string(), false}});
  auto& r = a.add(resource{"UserEmbedded"});
  r.attribute("email", types::string())
    .attribute("given_name", types::string())
    .attribute("family_name", types::string())
    .attribute("address", address)
    .attribute("other_addresses", types::array(address));
  r.events("events");
  r.create("create").accept(
    {"email", "given_name", "family_name", "address", "other_addresses"});
  r.update("update").accept(
    {"given_name", "family_name", "address", "other_addresses"});
  r.destroy("destroy");
}

void add_non_writable(app& a) {
  auto& r = a.add(resource{"UserNonWritableId"});
  r.primary_key("id", key_kind::uuid_v4, false)
    .attribute("email", types::string())
    .attribute("name", types::string());
  r.events("events");
  r.create("create").accept({"email", "name"});
  r.update("update").accept({"name"});
  r.destroy("destroy");
}

void add_articles(app& a) {
  auto& art = a.add(resource{"Article"});
  art.timestamps()
    .attribute("title", types::string(), {.allow_nil = false})
    .attribute("body", types::string())
    .attribute("archived_at", types::utc_datetime())
    .attribute("deleted_at", types::utc_datetime())
    .many_to_many("tags", "Tag",
                  {.through = "ArticleTag",
                   .source_attribute_on_join = "article_id",
                   .destination_attribute_on_join = "tag_id"});
  art.events("events")
    .create_timestamp("created_at")
    .update_timestamp("updated_at");
  art.create("create").accept({"title", "body"});
  art.update("update").accept({"title", "body", "updated_at"});
  art.update("archive").change(
    changes::set_attribute("archived_at", value_source::now()));
  art.update("unarchive")
    .validate(validations::present("archived_at")
                .with_message("Article is not archived"))
    .change(changes::set_attribute("archived_at", json::value{}));
  art.destroy("destroy");
  art.destroy("soft_destroy")
    .soft()
    .change(changes::set_attribute("deleted_at", value_source::now()));
  art.create("create_with_tags")
    .accept({"title", "body"})
    .argument("tags", types::array(types::map()))
    .manage_relationship("tags", "tags", {.mode = manage_mode::append});
  art.update("update_tags")
    .argument("tags", types::array(types::map()))
    .manage_relationship("tags", "tags",
                         {.mode = manage_mode::append_and_remove});
  auto& join = a.add(resource{"ArticleTag"});
  join.timestamps()
    .belongs_to("article", "Article", {.allow_nil = false})
    .belongs_to("tag", "Tag", {.allow_nil = false});
  join.events("events");
  join.create("create").accept({"article_id", "tag_id"});
  join.destroy("destroy");
  auto& tag = a.add(resource{"Tag"});
  tag.attribute("name", types::string());
  tag.events("events");
  tag.create("create").accept({"name"});
  tag.update("update").accept({"name"});
  tag.destroy("destroy");
}

void add_comment(app& a) {
  auto& r = a.add(resource{"Comment"});
  r.timestamps()
    .attribute("body", types::string(), {.allow_nil = false})
    .belongs_to("user", "User");
  r.events("events");
  r.create("create").accept(
    {"id", "created_at", "updated_at", "body", "user_id"});
  r.create("create_from_parent").accept({"body"});
  r.update("update").accept({"body", "updated_at"});
  r.destroy("destroy");
}

void add_upload(app& a) {
  auto& r = a.add(resource{"Upload"});
  r.attribute("file_name", types::string(), {.allow_nil = false})
    .attribute("s3_key_formatted", types::string())
    .attribute("state", types::string(), {.default_value = "skipped"})
    .identity("unique_file_name", {"file_name"});
  r.events("events");
  r.create("create")
    .accept({"file_name", "s3_key_formatted"})
    .upsert("unique_file_name")
    .change(changes::set_attribute("state", "uploaded")
              .where(conditions::input_present("s3_key_formatted")));
  r.update("mark_uploaded")
    .validate(validations::attribute_equals("state", "skipped"))
    .change(changes::set_attribute("state", "uploaded"));
  r.update("mark_skipped")
    .validate(validations::attribute_equals("state", "uploaded"))
    .change(changes::set_attribute("state", "skipped"));
}

void add_uuid_v7_user(app& a) {
  auto& r = a.add(resource{"UserUuidV7"});
  r.timestamps()
    .attribute("email", types::string())
    .attribute("given_name", types::string())
    .attribute("family_name", types::string());
  r.events("events_uuidv7")
    .create_timestamp("created_at")
    .update_timestamp("updated_at");
  r.create("create").accept({"email", "given_name", "family_name"});
  r.update("update").accept({"given_name", "family_name"});
  r.destroy("destroy");
}

/// The call `spec_fixture::run` and `must` make.
call make_call(std::string resource, std::string action, json::object input,
               std::optional<actor> who, json::object metadata,
               json::value record_id) {
  call c{std::move(resource), std::move(action), std::move(input),
         std::move(record_id)};
  c.actor = std::move(who);
  c.metadata = std::move(metadata);
  return c;
}

} // namespace

app spec_app() {
  app a;
  add_logs(a);
  add_user(a);
  add_user_role(a);
  add_routed_user(a);
  add_org(a);
  add_org_details(a);
  add_auto_attrs(a);
  add_embedded(a);
  add_non_writable(a);
  add_articles(a);
  add_comment(a);
  add_upload(a);
  add_uuid_v7_user(a);
  return a;
}

spec_fixture::spec_fixture(runtime_options opts) {
  path_ = dir_.file("spec.db");
  opts.path = path_;
  auto rt = runtime::start(spec_app(), std::move(opts));
  if (!rt)
    FAIL("runtime::start failed: " << render(rt.error()));
  rt_ = std::move(*rt);
}

spec_fixture::~spec_fixture() {
  rt_.reset();
}

caf::expected<record> spec_fixture::run(std::string resource,
                                        std::string action,
                                        json::object input,
                                        std::optional<actor> who,
                                        json::object metadata,
                                        json::value record_id) {
  return rt_->run(make_call(std::move(resource), std::move(action),
                            std::move(input), std::move(who),
                            std::move(metadata), std::move(record_id)));
}

record spec_fixture::must(std::string resource, std::string action,
                          json::object input, std::optional<actor> who,
                          json::object metadata, json::value record_id) {
  return must_run(*rt_, make_call(std::move(resource), std::move(action),
                                  std::move(input), std::move(who),
                                  std::move(metadata), std::move(record_id)));
}

std::vector<event> spec_fixture::events(const std::string& log) {
  event_filter f;
  f.log = log;
  return events_where(*rt_, std::move(f));
}

std::vector<event> spec_fixture::events_of(const std::string& resource,
                                           const std::string& action,
                                           const std::string& log) {
  event_filter f;
  f.log = log;
  f.resource = resource;
  if (!action.empty())
    f.action = action;
  return events_where(*rt_, std::move(f));
}

std::vector<record> spec_fixture::all(const std::string& resource) {
  return all_records(*rt_, resource);
}

std::optional<record> spec_fixture::find(const std::string& resource,
                                         const json::value& id) {
  return find_record(*rt_, resource, id);
}

int64_t spec_fixture::count_rows(const std::string& table) {
  return test::count_rows(path_, table);
}

record spec_fixture::create_user(std::string email, std::optional<actor> who,
                                 json::object metadata) {
  return must("User", "create",
              {{"email", email},
               {"given_name", "John"},
               {"family_name", "Doe"},
               {"hashed_password", "hashed_password_123"}},
              std::move(who), std::move(metadata));
}

record create_article(spec_fixture& fx, std::string title, std::string body) {
  return fx.must("Article", "create", {{"title", title}, {"body", body}},
                 system_actor("test_runner"));
}

record create_tag(spec_fixture& fx, std::string name) {
  return fx.must("Tag", "create", {{"name", name}}, system_actor("test"));
}

std::vector<std::string> tag_names(spec_fixture& fx,
                                   const json::value& article_id) {
  std::vector<record> tags;
  for (auto& link : with(fx.all("ArticleTag"), "article_id", article_id)) {
    auto tag = fx.find("Tag", link.get("tag_id"));
    REQUIRE(tag);
    tags.push_back(*tag);
  }
  return sorted_strings(tags, "name");
}

} // namespace eventactors::test
