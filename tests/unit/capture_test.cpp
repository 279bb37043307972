// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "support/spec_app.hpp"

#include <catch2/catch.hpp>

using namespace eventactors;
using namespace eventactors::test;

TEST_CASE("B-EVT-01: a create with actor and metadata, and a child create "
          "from a hook",
          "[capture]") {
  spec_fixture fx;
  auto user = fx.create_user("user@example.com", system_actor("test_runner"),
                             {{"source", "Signup form"}});
  auto evs = fx.events();
  REQUIRE(evs.size() == 2);
  auto& e1 = evs[0];
  auto& e2 = evs[1];
  CHECK(e1.resource == "User");
  CHECK(e1.action == "create");
  CHECK(e1.action_type == action_kind::create);
  CHECK(e1.version == 1);
  CHECK(e1.metadata == json::object{{"source", "Signup form"}});
  CHECK(e1.actors.at("user_id").is_null());
  CHECK(e1.actors.at("system_actor") == "test_runner");
  CHECK(e1.data.at("email") == "user@example.com");
  CHECK(e1.data.at("given_name") == "John");
  CHECK(e1.data.at("family_name") == "Doe");
  CHECK(e1.data.at("hashed_password").is_null());
  CHECK_FALSE(e1.data.contains("role"));
  CHECK(e1.record_id == user.id);
  CHECK(e2.resource == "UserRole");
  CHECK(e2.action == "create");
  CHECK(e2.metadata.empty());
  CHECK(e2.actors.at("user_id").is_null());
  CHECK(e2.actors.at("system_actor") == "test_runner");
  CHECK(e2.data.at("name") == "user");
  CHECK(e2.data.contains("user_id"));
  CHECK(e1.id.as_int64() < e2.id.as_int64());
}
