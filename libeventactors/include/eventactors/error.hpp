// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/make_message.hpp>

namespace eventactors {

/// Error codes of libeventactors (category `"evact"`). Codes are stable:
/// append, never renumber; they travel in messages and logs.
///
/// Every error that reaches a caller is a `caf::error` with one of these
/// codes. Its context holds a human-readable message naming what was wrong
/// (resource, action, field, event id) and, for `invalid_input`,
/// `invalid_definition` and `replay_failed`, the list of field errors; use
/// `message()` and `field_errors()` to read them.
enum class errc : uint8_t {
  none = 0,                ///< No error.
  invalid_input = 1,       ///< An action's input failed to cast or validate.
  unknown_resource = 2,    ///< No resource of that name is registered.
  unknown_action = 3,      ///< The resource has no action of that name.
  not_found = 4,           ///< The record to update, destroy or get is missing.
  conflict = 5,            ///< A unique identity or primary key is taken.
  invalid_definition = 6,  ///< A resource or event log definition is invalid.
  storage_failure = 7,     ///< SQLite failed; the context says where and why.
  concurrent_modification = 8, ///< Optimistic retries were exhausted.
  input_too_large = 9,     ///< An action's input exceeds the size limit.
  unknown_actor_type = 10, ///< Strict attribution: no column for this actor.
  depth_exceeded = 11,     ///< Hooks nested actions deeper than the limit.
  hook_failed = 12,        ///< A hook failed or threw; nothing was written.
  post_commit_failure = 13, ///< An after_transaction hook failed; the action
                            ///< itself was committed.
  timeout = 14,            ///< A call did not complete in time.
  replay_failed = 15,      ///< An event could not be replayed.
  replay_in_progress = 16, ///< A replay is running; retry afterwards.
  runtime_stopped = 17,    ///< The runtime was shut down.
  schema_mismatch = 18,    ///< The database file was written by a newer
                           ///< version or does not fit the definitions.
  decryption_failed = 19,  ///< An encrypted event could not be decrypted:
                           ///< its key is missing or wrong, or it was
                           ///< tampered with; the context names the event.
  node_down = 20,          ///< The connection to a node was lost or could not
                           ///< be made; the call may have committed.
  node_stopping = 21,      ///< The node is shutting down and takes no calls.
  not_authorized = 22,     ///< The client's role does not allow the request.
  authentication_failed = 23, ///< Unknown client name or wrong secret.
  protocol_error = 24,     ///< A peer sent bytes that are not our protocol:
                           ///< a malformed or oversized frame, an unknown
                           ///< request, a message of the wrong types.
  tls_failed = 25,         ///< TLS set-up or a handshake failed (a missing
                           ///< or invalid certificate, key or CA).
  network_failure = 26,    ///< Listening or connecting failed, e.g. an
                           ///< address in use or a name that does not
                           ///< resolve; the message names the address.
  overloaded = 27,         ///< The node refused a connection (too many)
                           ///< or closed one whose client sent requests
                           ///< without reading its answers.
};

/// Returns the name of `x`, e.g. `"invalid_input"`.
std::string to_string(errc x);

/// A validation or casting failure on one field of an action's input.
struct field_error {
  /// Attribute or argument name; empty for errors not tied to a field.
  std::string field;
  /// What was wrong, e.g. "length must be between 2 and 100".
  std::string message;

  friend bool operator==(const field_error&, const field_error&) = default;
};

/// @relates field_error
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, field_error& x) {
  return f(caf::meta::type_name("field_error"), x.field, x.message);
}

/// Makes an error of our category with a message.
caf::error make_error(errc code, std::string message);

/// Makes an error of our category with a message and field errors (used by
/// `invalid_input`, `invalid_definition` and `replay_failed`).
caf::error make_error(errc code, std::string message,
                      std::vector<field_error> fields);

/// Returns whether `err` belongs to our category and has code `code`.
bool is(const caf::error& err, errc code);

/// Returns the message stored in an error of our category, or CAF's
/// rendering of any other error.
std::string message(const caf::error& err);

/// Returns the field errors stored in an error of our category (empty when
/// it has none).
std::vector<field_error> field_errors(const caf::error& err);

/// Renders `err` as one line, e.g.
/// `invalid_input: Accounts.User.create: email: is required`.
std::string render(const caf::error& err);

} // namespace eventactors

CAF_ERROR_CODE_ENUM(eventactors::errc, "evact")
