// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// The node's server: one CAF broker that accepts connections, speaks the
// frame protocol (frame.hpp) over TLS or plaintext, authenticates each
// client, checks each request against the client's role and relays it to
// the runtime's service actor (service_of). See docs/nodes.md.

#include <memory>
#include <optional>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/io/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "eventactors/node.hpp"
#include "eventactors/service.hpp"
#include "net/credentials.hpp"
#include "net/tls.hpp"

namespace eventactors::net {

/// What the server broker needs besides its options.
struct server_config {
  node_options opts;
  service_actor service;
  /// Detached actors answering requests with the runtime's synchronous API
  /// (`sync_worker`): an action or a read goes to an idle one, which runs
  /// it on its own thread, and to `service` when all are busy.
  std::vector<caf::actor> workers;
  /// Empty: every admitted client is an admin.
  std::optional<user_table> users;
  /// Set for TLS; plaintext without.
  std::shared_ptr<const tls_context> tls;
  /// The welcome's description (JSON text).
  std::string description;
  /// The node's name; `host:port` when empty.
  std::string name;
};

/// The role a request needs, by its first element; nothing for a message
/// that is not a request of `service_actor` (then it is refused).
std::optional<role> required_role(const caf::message& request);

/// Spawns the server broker listening on `opts.host:opts.port`. Returns
/// the broker and the port it listens on.
caf::expected<std::pair<caf::actor, uint16_t>>
spawn_server(caf::actor_system& sys, std::shared_ptr<const server_config> cfg);

} // namespace eventactors::net
