// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// The routing table of a cluster client: which node serves which resource
// and which event log. Actor-free, so that the synchronous calls and the
// routing actor of `cluster` decide the same way, and tests can ask it
// directly.

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "eventactors/app.hpp"

namespace eventactors::net {

/// One node as the routing table knows it.
struct route_node {
  /// How messages name the node, e.g. `orders (127.0.0.1:7001)`.
  std::string label;
  /// The node's definitions (rebuilt from its description).
  const app* definitions = nullptr;
};

/// Which node (an index into the nodes given) serves each resource and
/// each event log.
class routes {
public:
  /// Builds the table. Fails with `invalid_definition` when two nodes
  /// serve a resource or an event log of the same name, naming it and both
  /// nodes, and with `invalid_input` for no nodes at all.
  static caf::expected<routes> make(std::vector<route_node> nodes);

  /// The node serving `resource`; `unknown_resource` naming it otherwise.
  /// `what` names the request in the message, e.g. `run`.
  caf::expected<size_t> by_resource(std::string_view resource,
                                    std::string_view what) const;

  /// The node serving event log `log`, or, when `log` is empty, the node
  /// serving `resource` (when given and served), or else the only node
  /// that serves event logs. Fails with `invalid_input` for a log no node
  /// serves, and for a request that names neither while several nodes
  /// serve logs (the message names them and their logs).
  caf::expected<size_t> by_log(std::string_view log,
                               const std::optional<std::string>& resource,
                               std::string_view what) const;

  size_t size() const noexcept {
    return nodes_.size();
  }

  const route_node& node(size_t i) const {
    return nodes_[i];
  }

private:
  routes() = default;

  std::string node_list() const;

  std::vector<route_node> nodes_;
  std::map<std::string, size_t, std::less<>> resources_;
  std::map<std::string, size_t, std::less<>> logs_;
  /// The nodes that serve at least one event log, in order.
  std::vector<size_t> log_nodes_;
};

} // namespace eventactors::net
