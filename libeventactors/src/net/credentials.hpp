// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// Who may talk to a node, and as what: the users file and its hashed
// secrets. See docs/nodes.md for the format.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace eventactors::net {

/// What a client may do. Each role includes the ones before it.
enum class role : uint8_t {
  reader = 1, ///< Queries: get, list, events, history, stats, describe.
  writer = 2, ///< Queries and actions: run, run_batch.
  admin = 3,  ///< Everything, including replay, verify, fork and append.
};

/// Returns `"reader"`, `"writer"` or `"admin"`.
std::string_view to_string(role x);

/// Parses a role name; nothing for any other text.
std::optional<role> parse_role(std::string_view name);

/// Hashes `secret` for a users file: `pbkdf2-sha256$ITERATIONS$SALT$HASH`,
/// salt and hash in base64, a fresh random salt each time.
std::string hash_secret(std::string_view secret, uint32_t iterations = 100000);

/// Returns whether `secret` is the one `stored` (a `hash_secret` result)
/// was made from. Compares in constant time; false for a malformed
/// `stored`.
bool check_secret(std::string_view secret, std::string_view stored);

/// Why `stored` is not a `hash_secret` result; nothing when it is one.
std::optional<std::string> hash_problem(std::string_view stored);

/// The users of a node: name, role and hashed secret, one per line of a
/// text file: `NAME ROLE HASH`; `#` starts a comment line.
class user_table {
public:
  /// Reads the users file at `path`. Errors name the file and the line.
  static caf::expected<user_table> load(const std::string& path);

  /// Parses the text of a users file; `origin` names it in errors.
  static caf::expected<user_table> parse(std::string_view text,
                                         std::string_view origin);

  /// Adds a user; replaces one of the same name.
  void add(std::string name, role r, std::string secret_hash);

  /// The role of `name` if `secret` is its secret. The same answer for an
  /// unknown name and a wrong secret, and about the same time.
  std::optional<role> authenticate(std::string_view name,
                                   std::string_view secret) const;

  size_t size() const noexcept {
    return users_.size();
  }

private:
  struct entry {
    role r;
    std::string hash;
  };
  std::map<std::string, entry, std::less<>> users_;
};

} // namespace eventactors::net
