// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "support/spec_app.hpp"

#include <catch2/catch.hpp>

#include "support/query.hpp"

using namespace eventactors;
using namespace eventactors::test;

namespace {

std::optional<record> role_of(spec_fixture& fx, const json::value& user_id) {
  for (auto& r : fx.all("UserRole"))
    if (r.get("user_id") == user_id)
      return r;
  return std::nullopt;
}

} // namespace

TEST_CASE("B-REPLAY-01: replay to an id, to a time and in full; hooks do "
          "not run again",
          "[replay]") {
  spec_fixture fx;
  auto user = fx.create_user("user@example.com", system_actor("test_runner"),
                             {{"source", "Signup form"}});
  fx.must("User", "update", {{"given_name", "Jack"}, {"family_name", "Smith"}},
          user_actor(user), {{"source", "Profile update"}}, user.id);
  fx.must("User", "update",
          {{"given_name", "Jason"},
           {"family_name", "Anderson"},
           {"role", "admin"}},
          system_actor("External sync job"), {}, user.id);
  auto evs = fx.events();
  REQUIRE(evs.size() == 5);
  CHECK(evs[0].resource == "User");
  CHECK(evs[1].resource == "UserRole");
  CHECK(evs[2].action == "update");
  CHECK(evs[3].action == "update");
  CHECK(evs[4].resource == "UserRole");
  CHECK(evs[4].action == "update");
  // To the first user update.
  auto s = fx.rt().replay({.last_event_id = evs[2].id});
  REQUIRE(s);
  auto u = fx.find("User", user.id);
  REQUIRE(u);
  CHECK(u->get("given_name") == "Jack");
  CHECK(u->get("family_name") == "Smith");
  REQUIRE(role_of(fx, user.id));
  CHECK(role_of(fx, user.id)->get("name") == "user");
  // To the time of the role create.
  REQUIRE(fx.rt().replay({.point_in_time = evs[1].occurred_at}));
  u = fx.find("User", user.id);
  CHECK(u->get("given_name") == "John");
  CHECK(role_of(fx, user.id)->get("name") == "user");
  // To the time of the user create: no role (no hook ran).
  REQUIRE(fx.rt().replay({.point_in_time = evs[0].occurred_at}));
  u = fx.find("User", user.id);
  CHECK(u->get("given_name") == "John");
  CHECK_FALSE(role_of(fx, user.id));
  // Everything.
  auto full = fx.rt().replay();
  REQUIRE(full);
  u = fx.find("User", user.id);
  CHECK(u->get("given_name") == "Jason");
  CHECK(u->get("family_name") == "Anderson");
  CHECK(role_of(fx, user.id)->get("name") == "admin");
  CHECK(fx.all("UserRole").size() == 1);
  CHECK(fx.events().size() == 5);
  CHECK(full->events == 5);
}
