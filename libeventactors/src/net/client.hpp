// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// The client's broker: one connection to a node, shared by every call of a
// `remote_node`. Takes the requests of `service_actor`, sends them as
// frames, matches the replies by correlation id, fails calls with
// `node_down` when the connection is lost and reconnects on the next call.

#include <memory>

#include <caf/fwd.hpp>

#include "eventactors/remote.hpp"
#include "net/tls.hpp"

namespace eventactors::net {

/// Spawns the client broker. It connects on `connect_atom` (replying with
/// the node's name, the role and the description) or on the first request.
/// With `tls`, every connection is a TLS session of that context.
caf::actor spawn_client(caf::actor_system& sys,
                        std::shared_ptr<const connect_options> opts,
                        std::shared_ptr<const tls_context> tls);

} // namespace eventactors::net
