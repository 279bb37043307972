// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <caf/expected.hpp>

#include "eventactors/node.hpp"
#include "eventactors/service.hpp"

namespace eventactors {

/// How to reach a node (docs/nodes.md).
struct connect_options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  /// Mutual TLS; without it the client speaks plaintext, which it does only
  /// with `plaintext` set.
  std::optional<tls_files> tls;
  bool plaintext = false;
  /// The user and secret from the node's users file; empty when the node
  /// has none.
  std::string user;
  std::string secret;
  /// How long a call waits for its answer. A call that times out, or whose
  /// connection is lost (`node_down`), may have committed: retry it with
  /// the same idempotency key.
  std::chrono::milliseconds call_timeout{30000};
  /// After a lost connection, the next call reconnects; failed attempts
  /// wait this long before the next one, doubling up to the maximum;
  /// calls meanwhile fail at once with `node_down`.
  std::chrono::milliseconds reconnect_delay{100};
  std::chrono::milliseconds max_reconnect_delay{5000};
  /// Free text the node logs, e.g. the program's name.
  std::string client = "libeventactors";
};

/// Parses `HOST:PORT` (`[V6ADDRESS]:PORT` for IPv6) into `opts`.
caf::error parse_address(std::string_view text, connect_options& opts);

/// A connection to a node: the same synchronous and asynchronous interface
/// as a local runtime (`service`). Thread-safe. Reconnects by itself.
class remote_node final : public service {
public:
  struct impl;

  ~remote_node() override;

  /// Connects and authenticates; fails with `node_down` (no node there),
  /// `authentication_failed`, `tls_failed` or `protocol_error`.
  static caf::expected<std::unique_ptr<remote_node>>
  connect(connect_options opts);

  caf::expected<record> run(call c) override;
  using service::run;
  // replay, fork and verify do not call `progress`: the protocol has no
  // progress messages. A long one needs a `call_timeout` longer than it.
  std::vector<caf::expected<record>> run_batch(batch_call c) override;
  caf::expected<json::value> append(new_event ev) override;
  caf::expected<replay_summary> replay(replay_request req = {},
                                       const progress_fn& progress
                                       = {}) override;
  caf::expected<replay_summary> fork(replay_request req, std::string path,
                                     const progress_fn& progress
                                     = {}) override;
  caf::expected<verify_report> verify(std::string log = {},
                                      uint32_t max_differences = 1000,
                                      const progress_fn& progress
                                      = {}) override;
  caf::expected<record> get(std::string_view resource,
                            const json::value& id) override;
  caf::expected<std::vector<record>> list(std::string_view resource,
                                          list_options opts = {}) override;
  caf::expected<event_page> events(const event_filter& filter) override;
  caf::expected<log_stats> stats(std::string log = {}) override;
  const app& definitions() const noexcept override;
  service_actor async() override;

  /// The role the node gave this client: "reader", "writer" or "admin".
  const std::string& role() const noexcept;

  /// The node's name.
  const std::string& node_name() const noexcept;

private:
  explicit remote_node(std::unique_ptr<impl> ptr);

  std::unique_ptr<impl> impl_;
};

} // namespace eventactors
