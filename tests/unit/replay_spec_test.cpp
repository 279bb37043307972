// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Replay behaviours of spec/behaviours.md sections 4.6 (replay halves),
// 4.8, 4.10 to 4.12 and 4.20 (core essence), and the observable items of
// 5.2 (I-REPLAY-*). B-REPLAY-01 is in replay_test.cpp.

#include "support/spec_app.hpp"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "support/query.hpp"
#include "support/records.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;

using Catch::Matchers::Contains;

namespace {

// The local overloads of `show` would hide `test::show` (JSON values) here.
using test::show;

using counts = std::map<std::string, uint64_t>;

std::string show(const counts& xs) {
  std::string result = "{";
  for (auto& [k, v] : xs)
    result += " " + k + ": " + std::to_string(v);
  return result + " }";
}

std::string show(const std::vector<missing_record>& xs) {
  std::string result;
  for (auto& x : xs)
    result += "[event " + show(x.event_id) + " " + x.resource + "." + x.action
              + " record " + show(x.record_id) + "] ";
  return result;
}

/// Runs a replay that must succeed; fails the test otherwise.
replay_summary replay_ok(runtime& rt, replay_request req = {}) {
  auto s = rt.replay(std::move(req));
  if (!s)
    FAIL("replay failed: " << render(s.error()));
  return std::move(*s);
}

/// A fresh random UUID (lowercase text).
std::string new_uuid() {
  return environment::system().uuid_v4();
}

/// Appends an event that must be accepted; returns its id.
json::value must_append(runtime& rt, new_event ev) {
  auto id = rt.append(std::move(ev));
  if (!id)
    FAIL("append failed: " << render(id.error()));
  return std::move(*id);
}

std::string table_of(runtime& rt, std::string_view resource) {
  auto res = rt.definitions().find_resource(resource);
  REQUIRE(res != nullptr);
  return res->table();
}

/// A runtime of a small app on a fresh database file.
class mini_fixture {
public:
  explicit mini_fixture(app a) : path_(dir_.file("x.db")) {
    auto rt = runtime::start(std::move(a), {.path = path_,
                                            .synchronous = sync_mode::normal});
    if (!rt)
      FAIL("runtime::start failed: " << render(rt.error()));
    rt_ = std::move(*rt);
  }

  runtime& rt() {
    return *rt_;
  }

  const temp_dir& dir() const {
    return dir_;
  }

  caf::expected<record> run(std::string resource, std::string action,
                            json::object input = {},
                            json::value record_id = nullptr,
                            std::optional<actor> who = std::nullopt) {
    return rt_->run(make_call(std::move(resource), std::move(action),
                              std::move(input), std::move(record_id),
                              std::move(who)));
  }

  record must(std::string resource, std::string action,
              json::object input = {}, json::value record_id = nullptr,
              std::optional<actor> who = std::nullopt) {
    return must_run(*rt_, make_call(std::move(resource), std::move(action),
                                    std::move(input), std::move(record_id),
                                    std::move(who)));
  }

  std::vector<event> events(const std::string& log = "events") {
    event_filter f;
    f.log = log;
    return events_where(*rt_, std::move(f));
  }

  std::vector<record> all(const std::string& resource) {
    return all_records(*rt_, resource);
  }

  std::optional<record> find(const std::string& resource,
                             const json::value& id) {
    return find_record(*rt_, resource, id);
  }

  int64_t count_rows(const std::string& table) {
    return test::count_rows(path_, table);
  }

private:
  static call make_call(std::string resource, std::string action,
                        json::object input, json::value record_id,
                        std::optional<actor> who) {
    call c{std::move(resource), std::move(action), std::move(input),
           std::move(record_id)};
    c.actor = std::move(who);
    return c;
  }

  temp_dir dir_;
  std::string path_;
  std::unique_ptr<runtime> rt_;
};

/// The fixture app plus the authentication replay twins of spec section 3.3
/// (register_with_password_replay, change_password_replay, confirm_replay,
/// sign_in_with_magic_link_replay), the live `confirm` and
/// `sign_in_with_magic_link` actions, and the overrides routing version 1 of
/// the live actions to their twins.
app auth_app() {
  app a = spec_app();
  a.find_log("events")
    ->replay_override("User", "register_with_password", {1},
                      {{"User", "register_with_password_replay"}})
    .replay_override("User", "change_password", {1},
                     {{"User", "change_password_replay"}})
    .replay_override("User", "confirm", {1}, {{"User", "confirm_replay"}})
    .replay_override("User", "sign_in_with_magic_link", {1},
                     {{"User", "sign_in_with_magic_link_replay"}});
  auto* user = a.find_resource("User");
  user->update("confirm").change(
    changes::set_attribute("confirmed_at", value_source::now()));
  user->create("sign_in_with_magic_link")
    .accept({"email"})
    .upsert("unique_email");
  user->create("register_with_password_replay")
    .accept({"id", "given_name", "family_name", "email", "hashed_password"})
    .skip_unknown_inputs();
  user->update("change_password_replay")
    .accept({"hashed_password"})
    .skip_unknown_inputs();
  user->update("confirm_replay")
    .accept({"confirmed_at", "updated_at", "email"})
    .skip_unknown_inputs();
  user->create("sign_in_with_magic_link_replay")
    .accept({"id", "email"})
    .upsert("unique_email")
    .skip_unknown_inputs();
  // The twins are replay-only: never tracked (the resource's events section
  // is owned by the app being built here).
  user->events()->ignore_actions({"create_v1", "register_with_password_replay",
                      "change_password_replay", "confirm_replay",
                      "sign_in_with_magic_link_replay"});
  return a;
}

record register_user(mini_fixture& fx, const std::string& email,
                     const std::string& password) {
  return fx.must("User", "register_with_password",
                 {{"email", email},
                  {"password", password},
                  {"password_confirmation", password}},
                 nullptr, system_actor("replay_test"));
}

caf::expected<record> change_password(mini_fixture& fx, const json::value& id,
                                      const std::string& current,
                                      const std::string& next) {
  return fx.run("User", "change_password",
                {{"current_password", current},
                 {"password", next},
                 {"password_confirmation", next}},
                id, system_actor("replay_test"));
}

} // namespace

// -- 4.10 Replay: scope, ordering and idempotency ---------------------------

TEST_CASE("B-REPLAY-02: replay scopes on a UUIDv7 event log", "[replay]") {
  spec_fixture fx;
  // A record on the other log: a replay of events_uuidv7 must not clear it.
  auto other = fx.create_user("other@example.com");
  auto main_events = fx.count_rows("events");
  REQUIRE(main_events == 2);
  auto u = fx.must("UserUuidV7", "create",
                   {{"email", "user@example.com"},
                    {"given_name", "John"},
                    {"family_name", "Doe"}},
                   system_actor("test_runner"));
  fx.must("UserUuidV7", "update", {{"given_name", "Jack"}, {"family_name", "Smith"}},
          user_actor(u), {}, u.id);
  fx.must("UserUuidV7", "update",
          {{"given_name", "Jason"}, {"family_name", "Anderson"}},
          system_actor("External sync job"), {}, u.id);
  auto evs = fx.events("events_uuidv7");
  REQUIRE(evs.size() == 3);
  for (auto& ev : evs) {
    REQUIRE(ev.id.is_string());
    CHECK(ev.id.as_string().size() == 36);
    CHECK(ev.id.as_string()[14] == '7');
  }
  CHECK(evs[0].action == "create");
  CHECK(evs[1].action == "update");
  CHECK(evs[2].action == "update");
  CHECK(evs[0].id.as_string() < evs[1].id.as_string());
  CHECK(evs[1].id.as_string() < evs[2].id.as_string());
  auto v7_table = table_of(fx.rt(), "UserUuidV7");
  // To the first update, by id.
  auto s = replay_ok(fx.rt(), {.log = "events_uuidv7",
                               .last_event_id = evs[1].id});
  CHECK(s.events == 2);
  auto r = fx.find("UserUuidV7", u.id);
  REQUIRE(r);
  CHECK(r->get("given_name") == "Jack");
  CHECK(r->get("family_name") == "Smith");
  CHECK(r->get("email") == "user@example.com");
  // To the create's time.
  s = replay_ok(fx.rt(), {.log = "events_uuidv7",
                          .point_in_time = evs[0].occurred_at});
  CHECK(s.events == 1);
  r = fx.find("UserUuidV7", u.id);
  REQUIRE(r);
  CHECK(r->get("given_name") == "John");
  CHECK(r->get("family_name") == "Doe");
  // Everything.
  s = replay_ok(fx.rt(), {.log = "events_uuidv7"});
  CHECK(s.events == 3);
  CHECK(s.applied == counts{{"UserUuidV7.create", 1}, {"UserUuidV7.update", 2}});
  r = fx.find("UserUuidV7", u.id);
  REQUIRE(r);
  CHECK(r->get("given_name") == "Jason");
  CHECK(r->get("family_name") == "Anderson");
  CHECK(fx.count_rows(v7_table) == 1);
  // No event was appended to either log; the main log's records stayed.
  CHECK(fx.events("events_uuidv7").size() == 3);
  CHECK(fx.count_rows("events") == main_events);
  CHECK(fx.find("User", other.id));
  CHECK(fx.all("UserRole").size() == 1);
}

TEST_CASE("B-REPLAY-03: replaying a hard delete", "[replay]") {
  spec_fixture fx;
  auto a = create_article(fx, "Will be deleted");
  fx.must("Article", "destroy", {}, system_actor("test_runner"), {}, a.id);
  auto evs = fx.events_of("Article");
  REQUIRE(evs.size() == 2);
  CHECK(evs[0].action == "create");
  CHECK(evs[1].action == "destroy");
  CHECK(evs[1].action_type == action_kind::destroy);
  CHECK_FALSE(fx.find("Article", a.id));
  // Up to the create: the article is back.
  auto s = replay_ok(fx.rt(), {.last_event_id = evs[0].id});
  CHECK(s.events == 1);
  auto arts = fx.all("Article");
  REQUIRE(arts.size() == 1);
  CHECK(arts[0].id == a.id);
  CHECK(arts[0].get("title") == "Will be deleted");
  // Everything: gone again.
  s = replay_ok(fx.rt());
  CHECK(s.events == 2);
  CHECK(s.missing.empty());
  CHECK_FALSE(fx.find("Article", a.id));
  CHECK(fx.all("Article").empty());
  CHECK(fx.events_of("Article").size() == 2);
}

TEST_CASE("B-REPLAY-04: replaying a soft delete", "[replay]") {
  spec_fixture fx;
  auto a = create_article(fx, "Will be soft deleted");
  auto deleted = fx.must("Article", "soft_destroy", {},
                         system_actor("test_runner"), {}, a.id);
  REQUIRE_FALSE(deleted.is_null("deleted_at"));
  auto live = fx.find("Article", a.id);
  REQUIRE(live);
  auto live_deleted_at = live->get("deleted_at");
  REQUIRE(live_deleted_at.is_string());
  auto evs = fx.events_of("Article");
  REQUIRE(evs.size() == 2);
  CHECK(evs[1].action == "soft_destroy");
  CHECK(evs[1].action_type == action_kind::destroy);
  // Up to the create: one row, not deleted.
  replay_ok(fx.rt(), {.last_event_id = evs[0].id});
  auto arts = fx.all("Article");
  REQUIRE(arts.size() == 1);
  CHECK(arts[0].id == a.id);
  CHECK(arts[0].is_null("deleted_at"));
  // Everything: one row, deleted at the original time.
  auto s = replay_ok(fx.rt());
  CHECK(s.applied == counts{{"Article.create", 1}, {"Article.soft_destroy", 1}});
  arts = fx.all("Article");
  REQUIRE(arts.size() == 1);
  CHECK(arts[0].id == a.id);
  CHECK(arts[0].get("deleted_at") == live_deleted_at);
  CHECK(arts[0].get("title") == "Will be soft deleted");
  CHECK(fx.events_of("Article").size() == 2);
}

TEST_CASE("B-REPLAY-05: replaying an archive/unarchive cycle", "[replay]") {
  spec_fixture fx;
  auto a = create_article(fx, "Cycle");
  auto archived = fx.must("Article", "archive", {}, system_actor("t"), {}, a.id);
  auto archived_at = archived.get("archived_at");
  REQUIRE(archived_at.is_string());
  auto unarchived = fx.must("Article", "unarchive", {}, system_actor("t"), {},
                            a.id);
  CHECK(unarchived.is_null("archived_at"));
  auto evs = fx.events_of("Article");
  REQUIRE(evs.size() == 3);
  CHECK(evs[0].action == "create");
  CHECK(evs[1].action == "archive");
  CHECK(evs[2].action == "unarchive");
  // Up to the archive.
  replay_ok(fx.rt(), {.last_event_id = evs[1].id});
  auto r = fx.find("Article", a.id);
  REQUIRE(r);
  CHECK(r->get("archived_at") == archived_at);
  // A shorter replay after a longer one starts from scratch.
  replay_ok(fx.rt(), {.last_event_id = evs[0].id});
  r = fx.find("Article", a.id);
  REQUIRE(r);
  CHECK(r->is_null("archived_at"));
  // Everything: the unarchive validation (archived_at present) passed.
  auto s = replay_ok(fx.rt());
  CHECK(s.events == 3);
  r = fx.find("Article", a.id);
  REQUIRE(r);
  CHECK(r->is_null("archived_at"));
  CHECK(fx.events_of("Article").size() == 3);
}

TEST_CASE("B-REPLAY-06: replaying a mix of delete kinds across records",
          "[replay]") {
  spec_fixture fx;
  auto a1 = create_article(fx, "a1");
  auto a2 = create_article(fx, "a2");
  auto a3 = create_article(fx, "a3");
  fx.must("Article", "destroy", {}, system_actor("t"), {}, a1.id);
  auto d2 = fx.must("Article", "soft_destroy", {}, system_actor("t"), {},
                    a2.id);
  auto d3 = fx.must("Article", "archive", {}, system_actor("t"), {}, a3.id);
  auto s = replay_ok(fx.rt());
  CHECK(s.events == 6);
  CHECK(s.missing.empty());
  CHECK_FALSE(fx.find("Article", a1.id));
  auto r2 = fx.find("Article", a2.id);
  REQUIRE(r2);
  CHECK(r2->get("deleted_at") == d2.get("deleted_at"));
  CHECK(r2->is_null("archived_at"));
  auto r3 = fx.find("Article", a3.id);
  REQUIRE(r3);
  CHECK(r3->get("archived_at") == d3.get("archived_at"));
  CHECK(r3->is_null("deleted_at"));
  CHECK(fx.all("Article").size() == 2);
}

TEST_CASE("B-REPLAY-07: replay never appends events", "[replay]") {
  spec_fixture fx;
  auto hard = create_article(fx, "hard");
  fx.must("Article", "destroy", {}, system_actor("t"), {}, hard.id);
  auto soft = create_article(fx, "soft");
  fx.must("Article", "soft_destroy", {}, system_actor("t"), {}, soft.id);
  fx.create_user("u7@example.com"); // a user and, through its hook, a role
  auto article_events = fx.events_of("Article").size();
  REQUIRE(article_events == 4);
  auto all_events = fx.events();
  REQUIRE(all_events.size() == 6);
  auto rows = fx.count_rows("events");
  REQUIRE(rows == 6);
  replay_ok(fx.rt());
  replay_ok(fx.rt(), {.last_event_id = all_events[2].id});
  replay_ok(fx.rt(), {.point_in_time = all_events[3].occurred_at});
  replay_ok(fx.rt());
  CHECK(fx.events_of("Article").size() == article_events);
  CHECK(fx.count_rows("events") == rows);
  CHECK(fx.events() == all_events);
}

TEST_CASE("B-REPLAY-08: replay requires a clear-records callback",
          "[replay]") {
  auto replayed = std::make_shared<std::atomic<int>>(0);
  app a;
  a.add(event_log{"audit_log"}).no_clear_records_for_replay();
  auto& n = a.add(resource{"Note"});
  n.attribute("text", types::string());
  n.events("audit_log");
  auto count = change{"count_replays", [replayed](changeset& cs) {
                        if (cs.replaying())
                          ++*replayed;
                      }};
  n.create("create").accept({"text"}).change(count);
  n.update("update").accept({"text"}).change(count);
  mini_fixture fx{std::move(a)};
  auto note = fx.must("Note", "create", {{"text", "hello"}});
  fx.must("Note", "update", {{"text", "world"}}, note.id);
  auto before = fx.all("Note");
  REQUIRE(before.size() == 1);
  REQUIRE(fx.events("audit_log").size() == 2);
  const std::string expected
    = "clear_records_for_replay must be specified on audit_log when doing a "
      "replay.";
  for (auto req : {replay_request{}, replay_request{.log = "audit_log"}}) {
    auto s = fx.rt().replay(req);
    REQUIRE_FALSE(s);
    CHECK(message(s.error()) == expected);
  }
  // Nothing was processed or changed.
  CHECK(*replayed == 0);
  CHECK(fx.all("Note") == before);
  CHECK(fx.find("Note", note.id)->get("text") == "world");
  CHECK(fx.events("audit_log").size() == 2);
  // Live actions still work.
  fx.must("Note", "create", {{"text", "after"}});
  CHECK(fx.all("Note").size() == 2);
}

TEST_CASE("B-REPLAY-09: replay with a generated, non-writable primary key",
          "[replay]") {
  spec_fixture fx;
  auto u = fx.must("UserNonWritableId", "create",
                   {{"email", "test@example.com"}, {"name", "Test User"}},
                   system_actor("test_runner"));
  auto evs = fx.events_of("UserNonWritableId");
  REQUIRE(evs.size() == 1);
  CHECK(evs[0].changed_attributes.if_contains("id") != nullptr);
  CHECK(evs[0].data.if_contains("id") == nullptr);
  auto s = replay_ok(fx.rt());
  CHECK(s.applied == counts{{"UserNonWritableId.create", 1}});
  auto all = fx.all("UserNonWritableId");
  REQUIRE(all.size() == 1);
  auto r = fx.find("UserNonWritableId", u.id);
  REQUIRE(r);
  CHECK(r->id == u.id);
  CHECK(r->get("email") == "test@example.com");
  CHECK(r->get("name") == "Test User");
  CHECK(fx.events_of("UserNonWritableId").size() == 1);
}

TEST_CASE("B-REPLAY-10: replaying create then update with a non-writable "
          "primary key",
          "[replay]") {
  spec_fixture fx;
  auto u = fx.must("UserNonWritableId", "create",
                   {{"email", "test@example.com"}, {"name", "Original Name"}},
                   system_actor("test_runner"));
  fx.must("UserNonWritableId", "update", {{"name", "Updated Name"}},
          system_actor("test_runner"), {}, u.id);
  auto s = replay_ok(fx.rt());
  CHECK(s.applied
        == counts{{"UserNonWritableId.create", 1},
                  {"UserNonWritableId.update", 1}});
  auto all = fx.all("UserNonWritableId");
  REQUIRE(all.size() == 1);
  CHECK(all[0].id == u.id);
  CHECK(all[0].get("name") == "Updated Name");
  CHECK(all[0].get("email") == "test@example.com");
  CHECK(fx.events_of("UserNonWritableId").size() == 2);
}

TEST_CASE("B-REPLAY-11: nested objects and lists of them round-trip through "
          "replay, partial merges included",
          "[replay]") {
  spec_fixture fx;
  auto addr = [](const std::string& prefix) {
    return json::object{{"street", prefix + "Embedded Street"},
                        {"city", prefix + "Embedded City"},
                        {"state", prefix + "Embedded State"},
                        {"zip_code", prefix + "Embedded Zip"}};
  };
  auto u = fx.must("UserEmbedded", "create",
                   {{"given_name", "Embedded User"},
                    {"family_name", "Embedded Family"},
                    {"email", "embedded@example.com"},
                    {"address", addr("")},
                    {"other_addresses",
                     json::array{addr("Other "), addr("Another ")}}});
  CHECK(u.get("address").at("street") == "Embedded Street");
  auto streets = [](const record& r) {
    std::vector<std::string> xs;
    for (auto& a : r.get("other_addresses").as_array())
      xs.emplace_back(a.at("street").as_string());
    return xs;
  };
  // First replay.
  replay_ok(fx.rt());
  auto all = fx.all("UserEmbedded");
  REQUIRE(all.size() == 1);
  CHECK(all[0].id == u.id);
  CHECK(all[0].get("address") == json::value(addr("")));
  CHECK(streets(all[0])
        == std::vector<std::string>{"Other Embedded Street",
                                    "Another Embedded Street"});
  // A partial address is merged; the list emptied.
  auto updated
    = fx.must("UserEmbedded", "update",
              {{"given_name", "Updated Embedded User"},
               {"address", json::object{{"street", "Updated Embedded Street"}}},
               {"other_addresses", json::array{}}},
              std::nullopt, {}, u.id);
  auto merged = json::object{{"street", "Updated Embedded Street"},
                             {"city", "Embedded City"},
                             {"state", "Embedded State"},
                             {"zip_code", "Embedded Zip"}};
  CHECK(updated.get("address") == json::value(merged));
  REQUIRE(updated.get("other_addresses").is_array());
  CHECK(updated.get("other_addresses").as_array().empty());
  // Second replay reproduces the merge.
  auto s = replay_ok(fx.rt());
  CHECK(s.applied == counts{{"UserEmbedded.create", 1}, {"UserEmbedded.update", 1}});
  auto r = fx.find("UserEmbedded", u.id);
  REQUIRE(r);
  CHECK(r->get("address") == json::value(merged));
  REQUIRE(r->get("other_addresses").is_array());
  CHECK(r->get("other_addresses").as_array().empty());
  CHECK(r->get("given_name") == "Updated Embedded User");
  CHECK(r->get("family_name") == "Embedded Family");
  CHECK(fx.all("UserEmbedded").size() == 1);
  CHECK(fx.events_of("UserEmbedded").size() == 2);
}

TEST_CASE("B-REPLAY-12: guarded state transitions replay cleanly in order, "
          "without an actor",
          "[replay]") {
  spec_fixture fx;
  auto sys = system_actor("system");
  auto u1 = fx.must("Upload", "create", {{"file_name", "a.txt"}}, sys);
  CHECK(u1.get("state") == "skipped");
  CHECK(fx.must("Upload", "mark_uploaded", {}, sys, {}, u1.id).get("state")
        == "uploaded");
  CHECK(fx.must("Upload", "mark_skipped", {}, sys, {}, u1.id).get("state")
        == "skipped");
  CHECK(fx.must("Upload", "mark_uploaded", {}, sys, {}, u1.id).get("state")
        == "uploaded");
  // The conditional transition of create applies with s3_key_formatted.
  auto u2 = fx.must("Upload", "create",
                    {{"file_name", "b.txt"}, {"s3_key_formatted", "s3/b.txt"}},
                    sys);
  CHECK(u2.get("state") == "uploaded");
  CHECK(fx.must("Upload", "mark_skipped", {}, sys, {}, u2.id).get("state")
        == "skipped");
  // The guard rejects an invalid transition live (no event).
  auto bad = fx.run("Upload", "mark_skipped", {}, sys, {}, u2.id);
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), errc::invalid_input));
  auto evs = fx.events_of("Upload");
  REQUIRE(evs.size() == 6);
  // Full replay, no actor: every guarded transition is valid in id order.
  auto s = replay_ok(fx.rt());
  CHECK(s.events == 6);
  CHECK(s.applied
        == counts{{"Upload.create", 2},
                  {"Upload.mark_uploaded", 2},
                  {"Upload.mark_skipped", 2}});
  CHECK(fx.find("Upload", u1.id)->get("state") == "uploaded");
  CHECK(fx.find("Upload", u2.id)->get("state") == "skipped");
  CHECK(fx.find("Upload", u2.id)->get("s3_key_formatted") == "s3/b.txt");
  // Up to u1's mark_skipped.
  REQUIRE(evs[2].action == "mark_skipped");
  replay_ok(fx.rt(), {.last_event_id = evs[2].id});
  CHECK(fx.find("Upload", u1.id)->get("state") == "skipped");
  CHECK_FALSE(fx.find("Upload", u2.id));
  CHECK(fx.events_of("Upload").size() == 6);
}

// -- 4.11 Version-routed replay ----------------------------------------------

TEST_CASE("B-ROUTE-01: one event fans out to several targets on different "
          "resources",
          "[replay]") {
  spec_fixture fx;
  auto user = fx.create_user("user@example.com");
  auto live_role = fx.all("UserRole");
  REQUIRE(live_role.size() == 1);
  // Live writes are not routed.
  CHECK(fx.all("RoutedUser").empty());
  auto evs = fx.events();
  REQUIRE(evs.size() == 2);
  CHECK(evs[0].version == 1);
  CHECK(evs[0].action == "create");
  auto s = replay_ok(fx.rt());
  CHECK(s.events == 2);
  CHECK(s.overrides_used == counts{{"User.create v1", 1}});
  INFO(show(s.applied));
  CHECK(s.applied
        == counts{{"User.create_v1", 1},
                  {"RoutedUser.routed_create", 1},
                  {"UserRole.create", 1}});
  auto routed = fx.all("RoutedUser");
  REQUIRE(routed.size() == 1);
  CHECK(routed[0].get("given_name") == "John");
  CHECK(routed[0].get("family_name") == "Doe");
  CHECK(routed[0].get("email") == "user@example.com");
  auto users = fx.all("User");
  REQUIRE(users.size() == 1);
  CHECK(users[0].get("given_name") == "John");
  CHECK(users[0].get("family_name") == "Doe");
  // Both targets receive the event's record id.
  CHECK(users[0].id == user.id);
  CHECK(routed[0].id == user.id);
  // The original create (with its role hook) did not run: the one role is
  // the one from its own event.
  CHECK(sorted_ids(fx.all("UserRole")) == sorted_ids(live_role));
  CHECK(fx.count_rows("events") == 2);
}

TEST_CASE("B-ROUTE-02: events routed to replay-only twin actions that "
          "accept the stored field",
          "[replay]") {
  app a;
  a.add(event_log{"events"})
    .allow_plaintext_sensitive()
    .replay_override("Account", "register", {1},
                     {{"Account", "register_replay"}});
  auto& acc = a.add(resource{"Account"});
  acc.attribute("email", types::string(), {.allow_nil = false})
    .attribute("hashed_password", types::string(), {.sensitive = true});
  acc.events("events")
    .ignore_actions({"register_replay"})
    .replay_non_input_attribute_changes(
      {{"register_replay", replay_strategy::as_arguments}});
  acc.create("register")
    .accept({"email"})
    .argument("password", types::string(),
              {.required = true, .sensitive = true})
    .change(hash_password());
  acc.create("register_replay")
    .accept({"id", "email", "hashed_password"})
    .skip_unknown_inputs();
  mini_fixture fx{std::move(a)};
  auto a1 = fx.must("Account", "register",
                    {{"email", "a@example.com"}, {"password", "pw-one"}});
  CHECK(a1.get("hashed_password") == json::value(toy_hash("pw-one")));
  // A later version of the event (hand-appended) is not routed: it goes to
  // register itself, which hashes the password it carries.
  auto u2 = new_uuid();
  must_append(fx.rt(), {.resource = "Account",
                        .action = "register",
                        .action_type = action_kind::create,
                        .record_id = json::value(u2),
                        .data = {{"email", "b@example.com"},
                                 {"password", "pw-two"}},
                        .version = 2});
  auto evs = fx.events();
  REQUIRE(evs.size() == 2);
  CHECK(evs[0].version == 1);
  CHECK(evs[0].data.at("password").is_null()); // sensitive input masked
  CHECK(evs[0].changed_attributes.at("hashed_password")
        == json::value(toy_hash("pw-one")));
  auto s = replay_ok(fx.rt());
  CHECK(s.overrides_used == counts{{"Account.register v1", 1}});
  CHECK(s.applied
        == counts{{"Account.register_replay", 1}, {"Account.register", 1}});
  auto r1 = fx.find("Account", a1.id);
  REQUIRE(r1);
  CHECK(r1->get("email") == "a@example.com");
  CHECK(r1->get("hashed_password") == json::value(toy_hash("pw-one")));
  auto r2 = fx.find("Account", json::value(u2));
  REQUIRE(r2);
  CHECK(r2->get("email") == "b@example.com");
  CHECK(r2->get("hashed_password") == json::value(toy_hash("pw-two")));
  CHECK(fx.all("Account").size() == 2);
  CHECK(fx.events().size() == 2);
}

TEST_CASE("B-ROUTE-02: without a replay twin, a masked required secret "
          "cannot be replayed and the state is kept",
          "[replay]") {
  // The fixture has no twin for register_with_password: its event's data
  // holds the password masked, so replaying it on the action itself fails.
  spec_fixture fx;
  auto user = fx.must("User", "register_with_password",
                      {{"email", "reg@example.com"},
                       {"password", "secret123"},
                       {"password_confirmation", "secret123"}},
                      system_actor("test"));
  auto evs = fx.events();
  REQUIRE(evs.size() == 1);
  auto before = fx.all("User");
  auto s = fx.rt().replay();
  REQUIRE_FALSE(s);
  CHECK(is(s.error(), errc::replay_failed));
  CHECK_THAT(message(s.error()), Contains("event " + show(evs[0].id)));
  CHECK_THAT(message(s.error()), Contains("password"));
  CHECK_THAT(message(s.error()), Contains("is required"));
  CHECK(fx.all("User") == before);
  CHECK(fx.find("User", user.id)->get("hashed_password")
        == json::value(toy_hash("secret123")));
  CHECK(fx.count_rows("events") == 1);
}

TEST_CASE("B-ROUTE-03: ignored actions write no events live but work as "
          "override targets, with the forced key and changed fields",
          "[replay]") {
  spec_fixture fx;
  // Live calls to the ignored actions write no event.
  auto v1 = fx.must("User", "create_v1",
                    {{"email", "v1@example.com"},
                     {"given_name", "Vee"},
                     {"family_name", "One"}},
                    system_actor("t"));
  CHECK(v1.event_id.is_null());
  auto ru = fx.must("RoutedUser", "routed_create",
                    {{"email", "ru@example.com"},
                     {"given_name", "Rou"},
                     {"family_name", "Ted"}},
                    system_actor("t"));
  CHECK(ru.event_id.is_null());
  CHECK(fx.count_rows("events") == 0);
  // A tracked create, routed to both ignored actions on replay.
  auto user = fx.create_user("user@example.com");
  auto live = fx.find("User", user.id);
  REQUIRE(live);
  REQUIRE(live->get("confirmed_at").is_string());
  auto evs = fx.events_of("User");
  REQUIRE(evs.size() == 1);
  CHECK(evs[0].changed_attributes.at("confirmed_at")
        == live->get("confirmed_at"));
  auto s = replay_ok(fx.rt());
  CHECK(s.overrides_used == counts{{"User.create v1", 1}});
  // Records without events are gone (cleared, never re-created).
  CHECK_FALSE(fx.find("User", v1.id));
  CHECK_FALSE(fx.find("RoutedUser", ru.id));
  // The targets received the event's key and its changed fields: create_v1's
  // own confirmed_at change was overridden by the recorded value.
  auto u = fx.find("User", user.id);
  REQUIRE(u);
  CHECK(u->get("confirmed_at") == live->get("confirmed_at"));
  CHECK(u->get("created_at") == live->get("created_at"));
  CHECK(u->get("updated_at") == live->get("updated_at"));
  auto routed = fx.find("RoutedUser", user.id);
  REQUIRE(routed);
  CHECK(routed->get("created_at") == live->get("created_at"));
  CHECK(routed->get("updated_at") == live->get("updated_at"));
  CHECK(fx.all("User").size() == 1);
  CHECK(fx.all("RoutedUser").size() == 1);
  CHECK(fx.count_rows("events") == 2);
}

// -- 4.12 Hooks during replay ------------------------------------------------

TEST_CASE("B-HOOK-01: hooks creating children or writing files do not run "
          "in replay; children come back from their own events",
          "[replay]") {
  temp_dir side;
  auto side_file = side.file("side_effects.txt");
  app a;
  a.add(event_log{"events"});
  auto& p = a.add(resource{"Parent"});
  p.attribute("name", types::string());
  p.events("events");
  p.create("create")
    .accept({"name"})
    .after_action("make_child",
                  [](hook_context& ctx, const changeset&,
                     record& rec) -> caf::error {
                    call c{"Child", "create"};
                    c.input["name"] = json::string{
                      "child of " + std::string{rec.get_string("name")}};
                    c.input["parent_id"] = rec.id;
                    auto child = ctx.run(std::move(c));
                    if (!child)
                      return child.error();
                    return {};
                  })
    .after_transaction("write_file",
                       [side_file](hook_context&, const changeset& cs,
                                   const caf::expected<record>& out)
                         -> caf::error {
                         std::ofstream f{side_file, std::ios::app};
                         f << (out ? std::string{out->get_string("name")}
                                   : std::string{"failed"})
                           << '\n';
                         return {};
                       });
  auto& c = a.add(resource{"Child"});
  c.attribute("name", types::string()).belongs_to("parent", "Parent");
  c.events("events");
  c.create("create").accept({"name", "parent_id"});
  mini_fixture fx{std::move(a)};
  auto lines = [&] {
    std::ifstream f{side_file};
    std::vector<std::string> xs;
    for (std::string line; std::getline(f, line);)
      xs.push_back(line);
    return xs;
  };
  auto p1 = fx.must("Parent", "create", {{"name", "p1"}});
  auto p2 = fx.must("Parent", "create", {{"name", "p2"}});
  auto live_children = fx.all("Child");
  REQUIRE(live_children.size() == 2);
  REQUIRE(lines() == std::vector<std::string>{"p1", "p2"});
  auto evs = fx.events();
  REQUIRE(evs.size() == 4);
  CHECK(evs[0].resource == "Parent");
  CHECK(evs[1].resource == "Child");
  // Up to the first parent's own event: no child (the hook did not run).
  auto s = replay_ok(fx.rt(), {.last_event_id = evs[0].id});
  CHECK(s.events == 1);
  CHECK(fx.all("Parent").size() == 1);
  CHECK(fx.all("Child").empty());
  // Everything: each child once, from its own event, with its original id.
  s = replay_ok(fx.rt());
  CHECK(s.applied == counts{{"Parent.create", 2}, {"Child.create", 2}});
  CHECK(fx.all("Parent").size() == 2);
  auto children = fx.all("Child");
  REQUIRE(children.size() == 2);
  CHECK(sorted_ids(children) == sorted_ids(live_children));
  for (auto& child : children) {
    auto parent = child.get("parent_id");
    CHECK((parent == p1.id || parent == p2.id));
    CHECK(child.get("name")
          == json::value(parent == p1.id ? "child of p1" : "child of p2"));
  }
  // The side effect happened once per live action, never in replay.
  CHECK(lines() == std::vector<std::string>{"p1", "p2"});
  CHECK(fx.events().size() == 4);
}

TEST_CASE("B-HOOK-01: children of relationship management come back only "
          "from their own events",
          "[replay]") {
  spec_fixture fx;
  auto user
    = fx.must("User", "create_with_comments",
              {{"email", "c@example.com"},
               {"given_name", "Com"},
               {"family_name", "Ments"},
               {"comments", json::array{json::object{{"body", "first"}},
                                        json::object{{"body", "second"}}}}},
              system_actor("test"));
  auto live = fx.all("Comment");
  REQUIRE(live.size() == 2);
  auto evs = fx.events();
  REQUIRE(evs.size() == 3);
  CHECK(evs[0].action == "create_with_comments");
  CHECK(evs[1].resource == "Comment");
  CHECK(evs[2].resource == "Comment");
  replay_ok(fx.rt(), {.last_event_id = evs[0].id});
  CHECK(fx.all("User").size() == 1);
  CHECK(fx.all("Comment").empty());
  auto s = replay_ok(fx.rt());
  CHECK(s.applied
        == counts{{"User.create_with_comments", 1},
                  {"Comment.create_from_parent", 2}});
  auto comments = fx.all("Comment");
  REQUIRE(comments.size() == 2);
  CHECK(sorted_ids(comments) == sorted_ids(live));
  for (auto& c : comments)
    CHECK(c.get("user_id") == user.id);
  std::vector<std::string> bodies;
  for (auto& c : comments)
    bodies.emplace_back(c.get_string("body"));
  std::sort(bodies.begin(), bodies.end());
  CHECK(bodies == std::vector<std::string>{"first", "second"});
  CHECK(fx.count_rows("events") == 3);
}

TEST_CASE("B-HOOK-02: hooks of a change listed in allowed_change_modules run "
          "in replay; others do not",
          "[replay]") {
  struct observations {
    std::mutex mtx;
    std::vector<bool> encrypt; // replaying(), per call of the encrypt hook
    int notify = 0;
  };
  auto obs = std::make_shared<observations>();
  app a;
  a.add(event_log{"events"});
  auto& s = a.add(resource{"Secret"});
  s.attribute("name", types::string())
    .attribute("name_enc", types::string());
  // as_arguments: name_enc is not forced from the changed attributes, so
  // only the hook can set it during replay.
  s.events("events")
    .allowed_change_modules({{"create", {"encrypt"}}})
    .replay_non_input_attribute_changes(
      {{"create", replay_strategy::as_arguments},
       {"update", replay_strategy::as_arguments}});
  auto encrypt = [obs](hook_context& ctx, changeset& cs) -> caf::error {
    {
      std::lock_guard<std::mutex> guard{obs->mtx};
      obs->encrypt.push_back(ctx.replaying());
    }
    auto& name = cs.attribute("name");
    if (name.is_string())
      cs.set_attribute("name_enc",
                       json::string{"enc:" + std::string{name.get_string()}});
    return {};
  };
  auto notify = [obs](hook_context&, const changeset&, record&) -> caf::error {
    std::lock_guard<std::mutex> guard{obs->mtx};
    ++obs->notify;
    return {};
  };
  s.create("create")
    .accept({"name"})
    .before_action("encrypt", encrypt)
    .after_action("notify", notify);
  s.update("update")
    .accept({"name"})
    .before_action("encrypt", encrypt)
    .after_action("notify", notify);
  mini_fixture fx{std::move(a)};
  auto rec = fx.must("Secret", "create", {{"name", "alpha"}});
  CHECK(rec.get("name_enc") == "enc:alpha");
  auto upd = fx.must("Secret", "update", {{"name", "beta"}}, rec.id);
  CHECK(upd.get("name_enc") == "enc:beta");
  {
    std::lock_guard<std::mutex> guard{obs->mtx};
    REQUIRE(obs->encrypt == std::vector<bool>{false, false});
    REQUIRE(obs->notify == 2);
  }
  auto sum = replay_ok(fx.rt());
  CHECK(sum.applied == counts{{"Secret.create", 1}, {"Secret.update", 1}});
  {
    std::lock_guard<std::mutex> guard{obs->mtx};
    // create's encrypt hook ran (allowed), seeing replaying() == true;
    // update's did not; notify is allowed nowhere.
    CHECK(obs->encrypt == std::vector<bool>{false, false, true});
    CHECK(obs->notify == 2);
  }
  auto r = fx.find("Secret", rec.id);
  REQUIRE(r);
  CHECK(r->get("name") == "beta");
  // Populated by the allowed create hook; the update's hook was dropped.
  CHECK(r->get("name_enc") == "enc:alpha");
  CHECK(fx.events().size() == 2);
}

// -- 4.6 Changed attributes (replay halves) ----------------------------------

TEST_CASE("B-CHG-02: replay under force_change restores computed fields",
          "[replay]") {
  spec_fixture fx;
  auto u = fx.must("UserWithAutoAttrs", "create",
                   {{"email", "test@example.com"}, {"name", "Jane Doe"}},
                   system_actor("test"));
  CHECK(u.get("slug") == "jane-doe");
  // A hand-appended create whose recorded slug differs from what the
  // changes compute: the recorded value is forced last.
  auto forced_id = new_uuid();
  must_append(fx.rt(), {.resource = "UserWithAutoAttrs",
                        .action = "create",
                        .action_type = action_kind::create,
                        .record_id = json::value(forced_id),
                        .data = {{"email", "f@example.com"},
                                 {"name", "Forced Name"}},
                        .changed_attributes = {{"status", "archived"},
                                               {"slug", "recorded-slug"}}});
  auto s = replay_ok(fx.rt());
  CHECK(s.applied == counts{{"UserWithAutoAttrs.create", 2}});
  auto r = fx.find("UserWithAutoAttrs", u.id);
  REQUIRE(r);
  CHECK(r->get("email") == "test@example.com");
  CHECK(r->get("name") == "Jane Doe");
  CHECK(r->get("status") == "active");
  CHECK(r->get("slug") == "jane-doe");
  auto f = fx.find("UserWithAutoAttrs", json::value(forced_id));
  REQUIRE(f);
  CHECK(f->get("name") == "Forced Name");
  CHECK(f->get("slug") == "recorded-slug");
  CHECK(f->get("status") == "archived");
  CHECK(fx.all("UserWithAutoAttrs").size() == 2);
  CHECK(fx.events_of("UserWithAutoAttrs").size() == 2);
}

TEST_CASE("B-CHG-07: the as_arguments strategy on update, then replay",
          "[replay]") {
  spec_fixture fx;
  auto u = fx.must("UserWithAutoAttrs", "create",
                   {{"email", "test@example.com"}, {"name", "John Doe"}},
                   system_actor("test"));
  auto upd = fx.must("UserWithAutoAttrs", "update", {{"name", "Jane Smith"}},
                     system_actor("test"), {}, u.id);
  CHECK(upd.get("name") == "Jane Smith");
  CHECK(upd.get("slug") == "jane-smith");
  auto evs = fx.events_of("UserWithAutoAttrs", "update");
  REQUIRE(evs.size() == 1);
  CHECK(evs[0].data.at("name") == "Jane Smith");
  CHECK(evs[0].changed_attributes.at("slug") == "jane-smith");
  auto s = replay_ok(fx.rt());
  CHECK(s.applied
        == counts{{"UserWithAutoAttrs.create", 1},
                  {"UserWithAutoAttrs.update", 1}});
  auto r = fx.find("UserWithAutoAttrs", u.id);
  REQUIRE(r);
  CHECK(r->get("name") == "Jane Smith");
  CHECK(r->get("slug") == "jane-smith");
  CHECK(r->get("email") == "test@example.com");
  CHECK(r->get("status") == "active");
  CHECK(fx.events_of("UserWithAutoAttrs").size() == 2);
}

TEST_CASE("B-CHG-08: force_change and as_arguments reach the same final "
          "state on replay",
          "[replay]") {
  spec_fixture fx;
  auto u = fx.must("UserWithAutoAttrs", "create",
                   {{"email", "test@example.com"}, {"name", "Test User"}},
                   system_actor("test"));
  fx.must("UserWithAutoAttrs", "update", {{"name", "Updated User"}},
          system_actor("test"), {}, u.id);
  auto evs = fx.events_of("UserWithAutoAttrs");
  REQUIRE(evs.size() == 2);
  CHECK(evs[0].data.at("name") == "Test User");
  CHECK(evs[0].changed_attributes.at("slug") == "test-user");
  CHECK(evs[0].data.if_contains("slug") == nullptr);
  CHECK(evs[1].data.at("name") == "Updated User");
  CHECK(evs[1].changed_attributes.at("slug") == "updated-user");
  CHECK(evs[1].data.if_contains("slug") == nullptr);
  auto live = fx.find("UserWithAutoAttrs", u.id);
  replay_ok(fx.rt());
  auto r = fx.find("UserWithAutoAttrs", u.id);
  REQUIRE(r);
  CHECK(r->get("name") == "Updated User");
  CHECK(r->get("slug") == "updated-user");
  CHECK(r->get("email") == "test@example.com");
  CHECK(*r == *live);
  CHECK(fx.events_of("UserWithAutoAttrs").size() == 2);
}

TEST_CASE("B-CHG-09: hand-appended events; as_arguments supplies a required "
          "argument; record_id is the key",
          "[replay]") {
  spec_fixture fx;
  auto id = new_uuid();
  auto e1 = must_append(fx.rt(),
                        {.resource = "UserWithAutoAttrs",
                         .action = "create",
                         .action_type = action_kind::create,
                         .record_id = json::value(id),
                         .actors = {{"system_actor", "test"}},
                         .data = {{"email", "test@example.com"},
                                  {"name", "John Doe"}},
                         .changed_attributes = {{"status", "active"},
                                                {"slug", "john-doe"}},
                         .occurred_at = now_utc()});
  auto e2 = must_append(fx.rt(),
                        {.resource = "UserWithAutoAttrs",
                         .action = "update_with_required_slug",
                         .action_type = action_kind::update,
                         .record_id = json::value(id),
                         .actors = {{"system_actor", "test"}},
                         .data = {{"name", "Jane Smith"}},
                         .changed_attributes = {{"slug", "custom-slug"}},
                         .occurred_at = now_utc()});
  auto evs = fx.events();
  REQUIRE(evs.size() == 2);
  CHECK(evs[0].id == e1);
  CHECK(evs[1].id == e2);
  for (auto& ev : evs) {
    CHECK(ev.version == 1);
    CHECK(ev.metadata.empty());
    CHECK(ev.record_id == json::value(id));
  }
  // Appending changes no record.
  CHECK_FALSE(fx.find("UserWithAutoAttrs", json::value(id)));
  auto s = replay_ok(fx.rt());
  CHECK(s.events == 2);
  CHECK(s.missing.empty());
  auto r = fx.find("UserWithAutoAttrs", json::value(id));
  REQUIRE(r);
  CHECK(r->id == json::value(id));
  CHECK(r->get("name") == "Jane Smith");
  CHECK(r->get("slug") == "custom-slug");
  CHECK(r->get("email") == "test@example.com");
  CHECK(r->get("status") == "active");
  CHECK(fx.all("UserWithAutoAttrs").size() == 1);
  CHECK(fx.count_rows("events") == 2);
}

TEST_CASE("B-CHG-10: replay fails when a required argument cannot be "
          "supplied, naming the event, and keeps the state",
          "[replay]") {
  spec_fixture fx;
  auto live = fx.must("UserWithAutoAttrs", "create",
                      {{"email", "live@example.com"}, {"name", "Live One"}},
                      system_actor("test"));
  auto id = new_uuid();
  auto e1 = must_append(fx.rt(),
                        {.resource = "UserWithAutoAttrs",
                         .action = "create",
                         .action_type = action_kind::create,
                         .record_id = json::value(id),
                         .actors = {{"system_actor", "test"}},
                         .data = {{"email", "test@example.com"},
                                  {"name", "John Doe"}},
                         .changed_attributes = {{"status", "active"},
                                                {"slug", "john-doe"}}});
  auto e2 = must_append(fx.rt(),
                        {.resource = "UserWithAutoAttrs",
                         .action = "update_with_required_slug",
                         .action_type = action_kind::update,
                         .record_id = json::value(id),
                         .actors = {{"system_actor", "test"}},
                         .data = {{"name", "Manual Update"}},
                         .changed_attributes = {}});
  // A replay up to E1 succeeds and gives the state to protect.
  replay_ok(fx.rt(), {.last_event_id = e1});
  auto before = fx.all("UserWithAutoAttrs");
  REQUIRE(before.size() == 2);
  REQUIRE(fx.find("UserWithAutoAttrs", json::value(id))->get("name")
          == "John Doe");
  auto s = fx.rt().replay();
  REQUIRE_FALSE(s);
  CHECK(is(s.error(), errc::replay_failed));
  auto msg = message(s.error());
  CHECK_THAT(msg, Contains("event " + show(e2)));
  CHECK_THAT(msg, Contains("slug"));
  CHECK_THAT(msg, Contains("is required"));
  // All or nothing: the state is exactly as before.
  CHECK(fx.all("UserWithAutoAttrs") == before);
  CHECK(fx.find("UserWithAutoAttrs", live.id)->get("slug") == "live-one");
  CHECK(fx.count_rows("events") == 3);
  // No replay is left running: live actions work.
  fx.must("UserWithAutoAttrs", "create",
          {{"email", "after@example.com"}, {"name", "After"}},
          system_actor("test"));
  CHECK(fx.all("UserWithAutoAttrs").size() == 3);
}

// -- 4.8 Upserts (replay half) -----------------------------------------------

TEST_CASE("B-UPS-01: upsert events on both paths replay to the final state",
          "[replay]") {
  spec_fixture fx;
  auto u1 = fx.must("User", "create_upsert",
                    {{"email", "upsert@example.com"},
                     {"given_name", "Initial"},
                     {"family_name", "User"},
                     {"hashed_password", "hashed"}},
                    system_actor("test_upsert"));
  auto u2 = fx.must("User", "create_upsert",
                    {{"email", "upsert@example.com"},
                     {"given_name", "Updated"},
                     {"family_name", "Person"}},
                    system_actor("test_upsert"));
  REQUIRE(u1.id == u2.id);
  auto evs = fx.events_of("User", "create_upsert");
  REQUIRE(evs.size() == 2);
  CHECK(evs[1].record_id == u1.id);
  auto s = replay_ok(fx.rt());
  CHECK(s.events == 2);
  CHECK(s.applied == counts{{"User.create_upsert", 2}});
  auto users = fx.all("User");
  REQUIRE(users.size() == 1);
  CHECK(users[0].id == u2.id);
  CHECK(users[0].get("given_name") == "Updated");
  CHECK(users[0].get("family_name") == "Person");
  CHECK(users[0].get("email") == "upsert@example.com");
  CHECK(fx.count_rows("events") == 2);
}

// -- 4.20 Authentication: core essence ---------------------------------------

TEST_CASE("B-AUTH-05: a secret-derived value is restored byte-identically "
          "through replay twins",
          "[replay]") {
  mini_fixture fx{auth_app()};
  auto user = register_user(fx, "replay@example.com", "replay_password123");
  CHECK(user.get("hashed_password")
        == json::value(toy_hash("replay_password123")));
  auto changed = change_password(fx, user.id, "replay_password123",
                                 "new_replay_password123");
  REQUIRE(changed);
  auto hash = changed->get("hashed_password");
  REQUIRE(hash == json::value(toy_hash("new_replay_password123")));
  auto evs = fx.events();
  REQUIRE(evs.size() == 2);
  CHECK(evs[0].action == "register_with_password");
  CHECK(evs[1].action == "change_password");
  auto s = replay_ok(fx.rt());
  CHECK(s.overrides_used
        == counts{{"User.register_with_password v1", 1},
                  {"User.change_password v1", 1}});
  CHECK(s.applied
        == counts{{"User.register_with_password_replay", 1},
                  {"User.change_password_replay", 1}});
  auto users = fx.all("User");
  REQUIRE(users.size() == 1);
  CHECK(users[0].id == user.id);
  CHECK(users[0].get("email") == "replay@example.com");
  REQUIRE(users[0].get("hashed_password").is_string());
  CHECK(users[0].get("hashed_password").as_string() == hash.as_string());
  CHECK(fx.events().size() == 2);
  // "Signing in" with the new password works; the old one does not.
  auto old_pw = change_password(fx, user.id, "replay_password123", "x");
  REQUIRE_FALSE(old_pw);
  CHECK(is(old_pw.error(), errc::invalid_input));
  CHECK(change_password(fx, user.id, "new_replay_password123",
                        "new_replay_password123"));
}

TEST_CASE("B-AUTH-08: an upsert hitting an existing row logs its id and "
          "replays as an update",
          "[replay]") {
  mini_fixture fx{auth_app()};
  auto user = register_user(fx, "magic@example.com", "password123");
  fx.must("User", "confirm", {}, user.id, system_actor("replay_test"));
  auto up = fx.must("User", "create_upsert",
                    {{"email", "magic@example.com"}, {"given_name", "Magic"}},
                    nullptr, system_actor("replay_test"));
  CHECK(up.id == user.id);
  CHECK(up.get("email") == "magic@example.com");
  CHECK(fx.all("User").size() == 1);
  event_filter f;
  f.record_id = user.id;
  auto page = fx.rt().events(f);
  REQUIRE(page);
  std::vector<std::string> actions;
  for (auto& ev : page->events)
    actions.push_back(ev.action);
  CHECK(actions
        == std::vector<std::string>{"register_with_password", "confirm",
                                    "create_upsert"});
  auto live = fx.find("User", user.id);
  auto s = replay_ok(fx.rt());
  CHECK(s.applied
        == counts{{"User.register_with_password_replay", 1},
                  {"User.confirm_replay", 1},
                  {"User.create_upsert", 1}});
  auto users = fx.all("User");
  REQUIRE(users.size() == 1);
  CHECK(users[0].id == user.id);
  CHECK(users[0].get("email") == "magic@example.com");
  CHECK(users[0].get("given_name") == "Magic");
  // An update keeps what the insert would have lost.
  CHECK(users[0].get("hashed_password")
        == json::value(toy_hash("password123")));
  CHECK(users[0].get("confirmed_at") == live->get("confirmed_at"));
  CHECK(fx.events().size() == 3);
}

TEST_CASE("B-AUTH-09: magic-link upserts replay; confirmed_at is restored to "
          "the microsecond",
          "[replay]") {
  SECTION("a new user signing in by magic link only") {
    mini_fixture fx{auth_app()};
    auto user = fx.must("User", "sign_in_with_magic_link",
                        {{"email", "new@example.com"}});
    auto s = replay_ok(fx.rt());
    CHECK(s.overrides_used == counts{{"User.sign_in_with_magic_link v1", 1}});
    CHECK(s.applied == counts{{"User.sign_in_with_magic_link_replay", 1}});
    auto users = fx.all("User");
    REQUIRE(users.size() == 1);
    CHECK(users[0].id == user.id);
    CHECK(users[0].get("email") == "new@example.com");
    CHECK(fx.events().size() == 1);
  }
  SECTION("register, confirm, then magic link") {
    mini_fixture fx{auth_app()};
    auto user = register_user(fx, "both@example.com", "original_pw1");
    auto confirmed = fx.must("User", "confirm", {}, user.id,
                             system_actor("replay_test"));
    auto confirmed_at = confirmed.get("confirmed_at");
    REQUIRE(confirmed_at.is_string());
    auto magic = fx.must("User", "sign_in_with_magic_link",
                         {{"email", "both@example.com"}});
    CHECK(magic.id == user.id);
    CHECK(fx.all("User").size() == 1);
    auto evs = fx.events();
    REQUIRE(evs.size() == 3);
    CHECK(evs[2].record_id == user.id);
    auto s = replay_ok(fx.rt());
    CHECK(s.applied
          == counts{{"User.register_with_password_replay", 1},
                    {"User.confirm_replay", 1},
                    {"User.sign_in_with_magic_link_replay", 1}});
    auto users = fx.all("User");
    REQUIRE(users.size() == 1);
    CHECK(users[0].id == user.id);
    CHECK(users[0].get("email") == "both@example.com");
    REQUIRE(users[0].get("confirmed_at").is_string());
    CHECK(users[0].get("confirmed_at").as_string()
          == confirmed_at.as_string());
    CHECK(fx.events().size() == 3);
    // Password sign-in with the original password still works.
    CHECK(change_password(fx, user.id, "original_pw1", "original_pw1"));
  }
}

// -- 5.2 Replay semantics ----------------------------------------------------

TEST_CASE("I-REPLAY-03: events apply in id order, not occurred_at order; a "
          "time cut selects by occurred_at",
          "[replay]") {
  spec_fixture fx;
  auto t0 = *parse_timestamp("2020-06-01T12:00:00Z");
  auto at = [&](int secs) { return t0 + std::chrono::seconds{secs}; };
  auto id = new_uuid();
  auto tag = [&](std::string action, action_kind kind, std::string name,
                 int secs) {
    return must_append(fx.rt(), {.resource = "Tag",
                                 .action = std::move(action),
                                 .action_type = kind,
                                 .record_id = json::value(id),
                                 .data = {{"name", std::move(name)}},
                                 .occurred_at = at(secs)});
  };
  auto e1 = tag("create", action_kind::create, "first", 30);
  auto e2 = tag("update", action_kind::update, "second", 10);
  auto e3 = tag("update", action_kind::update, "third", 20);
  auto evs = fx.events();
  REQUIRE(evs.size() == 3);
  CHECK(evs[0].id == e1);
  CHECK(evs[1].id == e2);
  CHECK(evs[2].id == e3);
  // Full: create, second, third.
  auto s = replay_ok(fx.rt());
  CHECK(s.events == 3);
  CHECK(s.missing.empty());
  auto r = fx.find("Tag", json::value(id));
  REQUIRE(r);
  CHECK(r->get("name") == "third");
  // By id: create, second.
  replay_ok(fx.rt(), {.last_event_id = e2});
  CHECK(fx.find("Tag", json::value(id))->get("name") == "second");
  // By time, up to t0+20s: the two updates (in id order), not the create:
  // both miss their record.
  s = replay_ok(fx.rt(), {.point_in_time = at(20)});
  CHECK(s.events == 2);
  REQUIRE(s.missing.size() == 2);
  CHECK(s.missing[0].event_id == e2);
  CHECK(s.missing[1].event_id == e3);
  CHECK_FALSE(fx.find("Tag", json::value(id)));
  // By time, up to t0+30s: everything, in id order.
  s = replay_ok(fx.rt(), {.point_in_time = at(30)});
  CHECK(s.events == 3);
  CHECK(fx.find("Tag", json::value(id))->get("name") == "third");
  CHECK(fx.count_rows("events") == 3);
}

TEST_CASE("I-REPLAY-04: the matching override routes the event; the "
          "original action is not run",
          "[replay]") {
  auto seen = std::make_shared<std::map<std::string, int>>();
  auto mtx = std::make_shared<std::mutex>();
  auto mark = [seen, mtx](std::string name, std::string origin) {
    return change{"mark_" + name, [seen, mtx, name, origin](changeset& cs) {
                    if (cs.replaying()) {
                      std::lock_guard<std::mutex> guard{*mtx};
                      ++(*seen)[name];
                    }
                    cs.set_attribute("origin", json::string{origin});
                  }};
  };
  app a;
  a.add(event_log{"events"})
    // Same resource, other action: listed first, must not match creates.
    .replay_override("Item", "update", {1}, {{"Item", "update_x"}})
    .replay_override("Item", "create", {1}, {{"Item", "create_a"}})
    .replay_override("Item", "create", {2}, {{"Item", "create_b"}});
  auto& item = a.add(resource{"Item"});
  item.attribute("name", types::string())
    .attribute("origin", types::string());
  item.events("events")
    .ignore_actions({"create_a", "create_b", "update_x"})
    .replay_non_input_attribute_changes(
      {{"create_a", replay_strategy::as_arguments},
       {"create_b", replay_strategy::as_arguments}});
  item.create("create").accept({"name"}).change(mark("create", "live"));
  item.create("create_a").accept({"name"}).change(mark("create_a", "a"));
  item.create("create_b").accept({"name"}).change(mark("create_b", "b"));
  item.update("update_x").accept({"name"}).change(mark("update_x", "x"));
  mini_fixture fx{std::move(a)};
  auto i1 = fx.must("Item", "create", {{"name", "one"}});
  auto i2 = fx.must("Item", "create", {{"name", "two"}});
  CHECK(i1.get("origin") == "live");
  auto u3 = new_uuid();
  must_append(fx.rt(), {.resource = "Item",
                        .action = "create",
                        .action_type = action_kind::create,
                        .record_id = json::value(u3),
                        .data = {{"name", "three"}},
                        .version = 2});
  auto s = replay_ok(fx.rt());
  CHECK(s.overrides_used
        == counts{{"Item.create v1", 2}, {"Item.create v2", 1}});
  CHECK(s.applied == counts{{"Item.create_a", 2}, {"Item.create_b", 1}});
  {
    std::lock_guard<std::mutex> guard{*mtx};
    CHECK(*seen == std::map<std::string, int>{{"create_a", 2}, {"create_b", 1}});
  }
  CHECK(fx.find("Item", i1.id)->get("origin") == "a");
  CHECK(fx.find("Item", i2.id)->get("origin") == "a");
  CHECK(fx.find("Item", i2.id)->get("name") == "two");
  CHECK(fx.find("Item", json::value(u3))->get("origin") == "b");
  CHECK(fx.all("Item").size() == 3);
  CHECK(fx.events().size() == 3);
}

TEST_CASE("I-REPLAY-04: with overlapping overrides the first match wins",
          "[replay]") {
  // The second override shares version 1 with the first (which wins for
  // it) and is the only one routing version 2.
  app a;
  a.add(event_log{"events"})
    .replay_override("Item", "create", {1}, {{"Item", "create_a"}})
    .replay_override("Item", "create", {1, 2}, {{"Item", "create_b"}});
  auto& item = a.add(resource{"Item"});
  item.attribute("name", types::string())
    .attribute("origin", types::string());
  item.events("events")
    .ignore_actions({"create_a", "create_b"})
    .replay_non_input_attribute_changes(
      {{"create_a", replay_strategy::as_arguments},
       {"create_b", replay_strategy::as_arguments}});
  item.create("create").accept({"name"}).change(
    changes::set_attribute("origin", "live"));
  item.create("create_a").accept({"name"}).change(
    changes::set_attribute("origin", "a"));
  item.create("create_b").accept({"name"}).change(
    changes::set_attribute("origin", "b"));
  mini_fixture fx{std::move(a)};
  auto i1 = fx.must("Item", "create", {{"name", "one"}});
  auto u2 = new_uuid();
  must_append(fx.rt(), {.resource = "Item",
                        .action = "create",
                        .action_type = action_kind::create,
                        .record_id = json::value(u2),
                        .data = {{"name", "two"}},
                        .version = 2});
  auto s = replay_ok(fx.rt());
  CHECK(s.overrides_used
        == counts{{"Item.create v1", 1}, {"Item.create v1,2", 1}});
  CHECK(s.applied == counts{{"Item.create_a", 1}, {"Item.create_b", 1}});
  CHECK(fx.find("Item", i1.id)->get("origin") == "a");
  CHECK(fx.find("Item", json::value(u2))->get("origin") == "b");
}

TEST_CASE("I-REPLAY-05: inputs are filtered to each target's accepted fields "
          "and arguments; the strategy is the target's",
          "[replay]") {
  app a;
  a.add(event_log{"events"})
    .replay_override("Src", "create", {1},
                     {{"DstForce", "copy"}, {"DstArgs", "copy"}});
  auto& src = a.add(resource{"Src"});
  src.attribute("name", types::string())
    .attribute("note", types::string())
    .attribute("status", types::string(), {.default_value = "default"});
  // The source's own strategy is as_arguments; the targets' differ.
  src.events("events").replay_non_input_attribute_changes(
    {{"create", replay_strategy::as_arguments}});
  src.create("create")
    .accept({"name", "note"})
    .argument("tag", types::string())
    .change(changes::set_attribute("status", "computed"));
  for (auto name : {"DstForce", "DstArgs"}) {
    auto& dst = a.add(resource{name});
    dst.attribute("name", types::string())
      .attribute("note", types::string())
      .attribute("status", types::string(), {.default_value = "default"})
      .attribute("label", types::string());
    auto& ev = dst.events("events").ignore_actions({"copy"});
    if (std::string_view{name} == "DstArgs")
      ev.replay_non_input_attribute_changes(
        {{"copy", replay_strategy::as_arguments}});
    dst.create("copy")
      .accept({"name"})
      .argument("tag", types::string())
      .change(changes::set_from_argument("label", "tag"));
  }
  mini_fixture fx{std::move(a)};
  auto rec = fx.must("Src", "create",
                     {{"name", "n1"}, {"note", "private"}, {"tag", "t1"}});
  CHECK(rec.get("status") == "computed");
  auto evs = fx.events();
  REQUIRE(evs.size() == 1);
  CHECK(evs[0].data.at("note") == "private");
  CHECK(evs[0].data.at("tag") == "t1");
  CHECK(evs[0].changed_attributes.at("status") == "computed");
  auto s = replay_ok(fx.rt());
  CHECK(s.applied == counts{{"DstForce.copy", 1}, {"DstArgs.copy", 1}});
  // The original action did not run.
  CHECK(fx.all("Src").empty());
  auto f = fx.find("DstForce", rec.id);
  REQUIRE(f);
  CHECK(f->get("name") == "n1");
  CHECK(f->is_null("note"));           // not accepted by the target
  CHECK(f->get("label") == "t1");      // an argument of the target
  CHECK(f->get("status") == "computed"); // force_change: forced
  auto g = fx.find("DstArgs", rec.id);
  REQUIRE(g);
  CHECK(g->get("name") == "n1");
  CHECK(g->is_null("note"));
  CHECK(g->get("label") == "t1");
  CHECK(g->get("status") == "default"); // as_arguments: not accepted, dropped
  CHECK(fx.events().size() == 1);
}

TEST_CASE("I-REPLAY-08/09: updates and destroys of missing records are "
          "reported and replay goes on",
          "[replay]") {
  spec_fixture fx;
  auto a = create_article(fx, "Kept");
  auto ghost1 = new_uuid();
  auto ghost2 = new_uuid();
  auto g_upd = must_append(fx.rt(), {.resource = "Article",
                                     .action = "update",
                                     .action_type = action_kind::update,
                                     .record_id = json::value(ghost1),
                                     .data = {{"title", "ghost"}}});
  auto g_del = must_append(fx.rt(), {.resource = "Article",
                                     .action = "destroy",
                                     .action_type = action_kind::destroy,
                                     .record_id = json::value(ghost2)});
  fx.must("Article", "update", {{"title", "After"}}, system_actor("t"), {},
          a.id);
  auto b = create_article(fx, "Gone");
  fx.must("Article", "destroy", {}, system_actor("t"), {}, b.id);
  auto late = must_append(fx.rt(), {.resource = "Article",
                                    .action = "update",
                                    .action_type = action_kind::update,
                                    .record_id = b.id,
                                    .data = {{"title", "late"}}});
  REQUIRE(fx.count_rows("events") == 7);
  auto s = replay_ok(fx.rt());
  CHECK(s.events == 7);
  INFO(show(s.missing));
  REQUIRE(s.missing.size() == 3);
  CHECK(s.missing[0].event_id == g_upd);
  CHECK(s.missing[0].resource == "Article");
  CHECK(s.missing[0].action == "update");
  CHECK(s.missing[0].record_id == json::value(ghost1));
  CHECK(s.missing[1].event_id == g_del);
  CHECK(s.missing[1].action == "destroy");
  CHECK(s.missing[1].record_id == json::value(ghost2));
  CHECK(s.missing[2].event_id == late);
  CHECK(s.missing[2].action == "update");
  CHECK(s.missing[2].record_id == b.id);
  // The events after the missing ones were applied.
  CHECK(fx.find("Article", a.id)->get("title") == "After");
  CHECK_FALSE(fx.find("Article", b.id));
  CHECK_FALSE(fx.find("Article", json::value(ghost1)));
  CHECK(fx.all("Article").size() == 1);
  CHECK(s.applied
        == counts{{"Article.create", 2},
                  {"Article.update", 1},
                  {"Article.destroy", 1}});
  CHECK(fx.count_rows("events") == 7);
}

TEST_CASE("I-REPLAY-12: a change sees replaying() and the event's changed "
          "attributes",
          "[replay]") {
  struct seen {
    std::string action;
    bool replaying;
    json::object changed;
  };
  auto obs = std::make_shared<std::vector<seen>>();
  auto mtx = std::make_shared<std::mutex>();
  auto observe = change{"observe", [obs, mtx](changeset& cs) {
                          std::lock_guard<std::mutex> guard{*mtx};
                          obs->push_back({cs.action().name(), cs.replaying(),
                                          cs.replay_changed_attributes()});
                        }};
  app a;
  a.add(event_log{"events"});
  auto& p = a.add(resource{"Probe"});
  p.attribute("name", types::string())
    .attribute("stamp", types::utc_datetime());
  p.events("events");
  p.create("create")
    .accept({"name"})
    .change(changes::set_attribute("stamp", value_source::now()))
    .change(observe);
  p.update("update")
    .accept({"name"})
    .change(changes::set_attribute("stamp", value_source::now()))
    .change(observe);
  mini_fixture fx{std::move(a)};
  auto rec = fx.must("Probe", "create", {{"name", "a"}});
  auto upd = fx.must("Probe", "update", {{"name", "b"}}, rec.id);
  auto evs = fx.events();
  REQUIRE(evs.size() == 2);
  REQUIRE(evs[1].changed_attributes.contains("stamp"));
  replay_ok(fx.rt());
  std::lock_guard<std::mutex> guard{*mtx};
  REQUIRE(obs->size() == 4);
  CHECK((*obs)[0].action == "create");
  CHECK_FALSE((*obs)[0].replaying);
  CHECK((*obs)[0].changed.empty());
  CHECK((*obs)[1].action == "update");
  CHECK_FALSE((*obs)[1].replaying);
  CHECK((*obs)[1].changed.empty());
  // In replay: the event's changed attributes, with the primary key.
  auto expect_create = evs[0].changed_attributes;
  expect_create["id"] = evs[0].record_id;
  auto expect_update = evs[1].changed_attributes;
  expect_update["id"] = evs[1].record_id;
  CHECK((*obs)[2].action == "create");
  CHECK((*obs)[2].replaying);
  CHECK((*obs)[2].changed == expect_create);
  CHECK((*obs)[3].action == "update");
  CHECK((*obs)[3].replaying);
  CHECK((*obs)[3].changed == expect_update);
  CHECK(fx.find("Probe", rec.id)->get("stamp") == upd.get("stamp"));
}
