// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// The bodies of the node protocol's frames: CAF's binary serialization of
// requests, replies and errors, and the two handshake messages. Decoding
// treats its input as hostile: any byte string gives a value or an error
// (`errc::protocol_error`), and every byte must be used.

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

namespace eventactors::net {

/// The protocol version this build speaks; a node refuses other versions.
constexpr uint16_t protocol_version = 1;

/// The first frame of a client: who it is.
struct hello {
  uint16_t version = protocol_version;
  /// The user name and its secret; both empty to be known by the TLS
  /// certificate alone, or when the node has no users file.
  std::string user;
  std::string secret;
  /// Free text for the node's log, e.g. "eventactors-cli 0.1.0".
  std::string client;
};

/// @relates hello
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hello& x) {
  return f(caf::meta::type_name("hello"), x.version, x.user, x.secret,
           x.client);
}

/// The node's answer to a `hello` it accepted.
struct welcome {
  uint16_t version = protocol_version;
  /// The node's name (its listening address unless configured).
  std::string node;
  /// The client's role: "reader", "writer" or "admin".
  std::string role;
  /// The app description (`describe`), as JSON text.
  std::string description;
};

/// @relates welcome
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, welcome& x) {
  return f(caf::meta::type_name("welcome"), x.version, x.node, x.role,
           x.description);
}

/// Serializes a message of registered types (`eventactors::init`).
caf::expected<std::string> encode(caf::actor_system& sys,
                                  const caf::message& msg);

/// Deserializes what `encode` wrote.
caf::expected<caf::message> decode_message(caf::actor_system& sys,
                                           std::string_view body);

std::string encode(caf::actor_system& sys, const caf::error& err);

/// Deserializes what `encode` wrote for an error. A body that does not
/// decode, or holds no error, gives a `protocol_error` that says so.
caf::error decode_error(caf::actor_system& sys, std::string_view body);

std::string encode(caf::actor_system& sys, hello& x);

caf::expected<hello> decode_hello(caf::actor_system& sys,
                                  std::string_view body);

std::string encode(caf::actor_system& sys, welcome& x);

caf::expected<welcome> decode_welcome(caf::actor_system& sys,
                                      std::string_view body);

} // namespace eventactors::net
