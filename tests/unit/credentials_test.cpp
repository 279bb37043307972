// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The users file of a node: roles and hashed secrets (issue 13,
// src/net/credentials.hpp).

#include <string>

#include <catch2/catch.hpp>

#include "eventactors/error.hpp"
#include "net/credentials.hpp"

using namespace eventactors;
using namespace eventactors::net;

TEST_CASE("secrets are stored hashed and checked", "[net][credentials]") {
  auto stored = hash_secret("correct horse", 1000);
  CHECK(stored.rfind("pbkdf2-sha256$1000$", 0) == 0);
  CHECK(stored.find("correct") == std::string::npos);
  CHECK(check_secret("correct horse", stored));
  CHECK_FALSE(check_secret("correct hors", stored));
  CHECK_FALSE(check_secret("", stored));
  // A fresh salt each time.
  CHECK(hash_secret("correct horse", 1000) != stored);
  CHECK_FALSE(check_secret("correct horse", "pbkdf2-sha256$1000$x$y"));
  CHECK_FALSE(check_secret("correct horse", ""));
  CHECK(hash_problem(stored) == std::nullopt);
  CHECK(hash_problem("pbkdf2-sha256$10$AAAA$BBBB").has_value());
}

TEST_CASE("the users file maps names to roles", "[net][credentials]") {
  auto alice = hash_secret("alice-secret", 1000);
  auto bob = hash_secret("bob-secret", 1000);
  auto text = "# users\n\nalice admin " + alice + "\r\nbob   reader " + bob
              + "\n";
  auto users = user_table::parse(text, "users.txt");
  REQUIRE(users);
  CHECK(users->size() == 2);
  CHECK(users->authenticate("alice", "alice-secret") == role::admin);
  CHECK(users->authenticate("bob", "bob-secret") == role::reader);
  CHECK(users->authenticate("bob", "alice-secret") == std::nullopt);
  CHECK(users->authenticate("carol", "bob-secret") == std::nullopt);

  auto fails = [](const std::string& text) {
    auto x = user_table::parse(text, "users.txt");
    REQUIRE_FALSE(x);
    CHECK(is(x.error(), errc::invalid_input));
    return message(x.error());
  };
  CHECK(fails("alice admin\n") == "users.txt:1: a user line reads NAME ROLE HASH");
  CHECK(fails("\nalice root " + alice)
        == "users.txt:2: unknown role \"root\" (reader, writer or admin)");
  CHECK_THAT(fails("alice admin plain-text-secret"),
             Catch::StartsWith("users.txt:1: a secret hash reads"));
  CHECK(fails("alice admin " + alice + "\nalice reader " + bob)
        == "users.txt:2: user \"alice\" is listed twice");
}

TEST_CASE("roles are ordered and named", "[net][credentials]") {
  CHECK(parse_role("reader") == role::reader);
  CHECK(parse_role("writer") == role::writer);
  CHECK(parse_role("admin") == role::admin);
  CHECK(parse_role("Admin") == std::nullopt);
  CHECK(role::reader < role::writer);
  CHECK(role::writer < role::admin);
  CHECK(to_string(role::writer) == "writer");
}
