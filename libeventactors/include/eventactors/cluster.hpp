// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "eventactors/remote.hpp"
#include "eventactors/service.hpp"

namespace eventactors {

/// A client of several nodes that serve different apps: it learns from
/// each node's app description which resources and event logs the node
/// serves, and sends each call to the node that serves what the call names
/// (docs/nodes.md, "Cluster client"). A cluster is a `service` like a
/// runtime and a `remote_node`: code written against `service&` runs
/// unchanged against it.
///
/// - `run`, `run_batch`, `get` and `list` go to the node serving the
///   resource; an unknown resource fails with `unknown_resource` and
///   reaches no node. A batch names one resource and therefore runs on
///   one node, atomic there when asked for; no call spans nodes.
/// - `events`, `stats`, `replay`, `fork`, `verify` and `append` go to the
///   node serving the event log they name; without a log, to the node
///   serving the resource they name (`event_filter::resource`,
///   `new_event::resource`), else to the only node that has event logs.
///   When several nodes have event logs, a request naming neither fails
///   with `invalid_input`, naming the nodes and their logs.
/// - `definitions()` holds every node's resources and event logs.
///
/// Each node is a `remote_node` with its own connection, reconnecting by
/// itself: while a node is down, calls routed to it fail with `node_down`
/// and the calls to the other nodes go on. Thread-safe.
class cluster final : public service {
public:
  struct impl;

  ~cluster() override;

  /// Connects to every node (at the same time) and builds the routing
  /// table. Fails when a node cannot be reached or refuses the client
  /// (that node's error, its message naming the address), or with
  /// `invalid_definition` when two nodes serve a resource or an event log
  /// of the same name (the message names it and both nodes).
  static caf::expected<std::unique_ptr<cluster>>
  connect(std::vector<connect_options> nodes);

  caf::expected<record> run(call c) override;
  using service::run;
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

  /// Every node's event logs and resources in one app, in the order of the
  /// nodes given (shapes only, as for a `remote_node`).
  const app& definitions() const noexcept override;

  /// An actor taking the requests of `service_actor` and forwarding each
  /// to the node that serves it, as the synchronous calls do. Its
  /// `describe_atom` answers with the description of `definitions()`.
  service_actor async() override;

  /// The number of nodes.
  size_t size() const noexcept;

  /// The `i`-th node, in the order given to `connect`.
  remote_node& node(size_t i);

  /// The node serving `resource`, or null.
  remote_node* node_of(std::string_view resource);

private:
  explicit cluster(std::unique_ptr<impl> ptr);

  std::unique_ptr<impl> impl_;
};

} // namespace eventactors
