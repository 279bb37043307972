// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "eventactors/fwd.hpp"

namespace eventactors {

class runtime;

/// Certificate files for mutual TLS (PEM). Both sides present a certificate
/// signed by the CA and verify the other's against it.
struct tls_files {
  std::string cert;
  std::string key;
  std::string ca;
};

/// How a node serves (docs/nodes.md).
struct node_options {
  /// The address to listen on; port 0 picks a free port (`node::port`).
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  /// Mutual TLS. Without it the node speaks plaintext, which it does only
  /// with `plaintext` set, and only on a loopback address unless
  /// `plaintext_on_any_address` is set too.
  std::optional<tls_files> tls;
  bool plaintext = false;
  bool plaintext_on_any_address = false;
  /// The users file (`NAME ROLE HASH` lines, see docs/nodes.md). Empty:
  /// every client the transport admits is an admin.
  std::string users_file;
  /// The node's name in welcomes and logs; `host:port` when empty.
  std::string name;
  /// Limits. A frame is one request or reply on the wire.
  size_t max_frame_bytes = 16 * 1024 * 1024;
  /// Requests of one connection under way at once; beyond it, the node
  /// stops reading that connection until half are answered. It also stops
  /// while more than `max_frame_bytes` of answers wait for the client to
  /// read them, until half of those are read.
  size_t max_in_flight = 256;
  size_t max_connections = 1024;
  /// Threads that answer actions and reads with the runtime's synchronous
  /// API: a request finding one idle runs on it, the rest go through the
  /// runtime's actors (`runtime::async`). They shorten a call when the node
  /// is not busy (docs/performance.md, "Remote calls"); 0 sends every
  /// request through the actors.
  size_t workers = 4;
  /// How long a new connection may take to authenticate.
  std::chrono::milliseconds hello_timeout{10000};
  /// How long `stop` waits for requests under way.
  std::chrono::milliseconds drain_timeout{30000};
};

/// Hashes `secret` for a users file: `pbkdf2-sha256$ITERATIONS$SALT$HASH`
/// (PBKDF2-HMAC-SHA256, a fresh random salt). See docs/nodes.md.
std::string hash_secret(std::string_view secret);

/// Serves a runtime to remote clients over TCP (CAF's I/O module), with
/// mutual TLS and roles. See docs/nodes.md.
class node {
public:
  struct impl;

  ~node();

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Starts listening. The runtime must outlive the node. Errors:
  /// `network_failure` (address in use, plaintext refused), `tls_failed`,
  /// `invalid_input` (a bad users file).
  static caf::expected<std::unique_ptr<node>> start(runtime& rt,
                                                    node_options opts);

  /// The port the node listens on.
  uint16_t port() const noexcept;

  /// `host:port`.
  std::string address() const;

  /// Stops gracefully: no new connections; requests under way finish and
  /// are answered (waiting up to `drain_timeout`); new requests get
  /// `node_stopping`; then the connections close. Idempotent; the
  /// destructor calls it.
  void stop();

private:
  explicit node(std::unique_ptr<impl> ptr);

  std::unique_ptr<impl> impl_;
};

} // namespace eventactors
