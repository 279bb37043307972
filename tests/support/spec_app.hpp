// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "eventactors/all.hpp"
#include "support/temp_dir.hpp"

namespace eventactors::test {

/// The fixture model of `spec/behaviours.md` section 3, in C++: the record
/// types, actions and event logs the behaviour tests use (MainLog "events"
/// and V7Log "events_uuidv7").
app spec_app();

/// A toy password hash (FNV-1a, hex) for the password actions of the
/// fixture. Deterministic; not for real use.
std::string toy_hash(std::string_view password);

/// Returns the change `hash_password`: sets `hashed_password` to the toy
/// hash of the `password` argument when that is a string.
change hash_password();

/// Returns the actor `SystemActor:name`.
actor system_actor(std::string name);

/// Returns the actor for a User record.
actor user_actor(const record& user);

/// A runtime of the fixture app on a fresh database file, with helpers.
class spec_fixture {
public:
  explicit spec_fixture(runtime_options opts = {});

  ~spec_fixture();

  runtime& rt() {
    return *rt_;
  }

  /// Runs an action; `record_id` null for creates.
  caf::expected<record> run(std::string resource, std::string action,
                            json::object input = {},
                            std::optional<actor> who = std::nullopt,
                            json::object metadata = {},
                            json::value record_id = nullptr);

  /// Runs an action that must succeed; fails the test otherwise.
  record must(std::string resource, std::string action,
              json::object input = {}, std::optional<actor> who = std::nullopt,
              json::object metadata = {}, json::value record_id = nullptr);

  /// All events of `log` (default: events), oldest first.
  std::vector<event> events(const std::string& log = "events");

  /// Events of one resource (and action, when given), oldest first.
  std::vector<event> events_of(const std::string& resource,
                               const std::string& action = {},
                               const std::string& log = "events");

  /// All records of `resource`.
  std::vector<record> all(const std::string& resource);

  /// The record of `resource` with `id`, or nullopt.
  std::optional<record> find(const std::string& resource,
                             const json::value& id);

  /// The database file.
  std::string path() const {
    return path_;
  }

  /// Counts the rows of a table with a fresh connection (outside the
  /// runtime), e.g. to check that nothing was written.
  int64_t count_rows(const std::string& table);

  /// Creates a User through `create` (which also creates its role).
  record create_user(std::string email = "user@example.com",
                     std::optional<actor> who = system_actor("test_runner"),
                     json::object metadata = {});

private:
  temp_dir dir_;
  std::string path_;
  std::unique_ptr<runtime> rt_;
};

/// Creates an Article (as `SystemActor:test_runner`).
record create_article(spec_fixture& fx, std::string title,
                      std::string body = "Body");

/// Creates a Tag (as `SystemActor:test`).
record create_tag(spec_fixture& fx, std::string name);

/// The names of the tags linked to the article `article_id` through
/// ArticleTag, sorted.
std::vector<std::string> tag_names(spec_fixture& fx,
                                   const json::value& article_id);

} // namespace eventactors::test
