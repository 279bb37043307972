// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>

#include "eventactors/app.hpp"
#include "eventactors/call.hpp"
#include "eventactors/event.hpp"
#include "eventactors/options.hpp"
#include "eventactors/record.hpp"
#include "eventactors/replay.hpp"
#include "eventactors/type_ids.hpp"

namespace eventactors {

class runtime;

/// Everything a runtime offers, as messages (include <caf/typed_actor.hpp>
/// to use the handle): the asynchronous interface of
/// a local runtime (`service_of`) and of a remote node (`remote_node`).
/// Every message type is serializable. Reads and administration run on
/// worker threads of their own, so that requests never block the
/// requesting actor.
///
/// A record's key and an event id travel as JSON text: `get_atom` takes the
/// resource and the key (`"42"` for the number 42, `"\"a\""` for the string
/// a), and `append_atom` replies with the new event's id.
using service_actor = caf::typed_actor<
  // Actions (writer role on a node).
  caf::replies_to<run_atom, call>::with<record>,
  caf::replies_to<run_batch_atom, batch_call>::with<batch_result>,
  // Queries (reader role).
  caf::replies_to<get_atom, std::string, std::string>::with<record>,
  caf::replies_to<list_atom, std::string, list_options>::with<
    std::vector<record>>,
  caf::replies_to<events_atom, event_filter>::with<event_page>,
  caf::replies_to<stats_atom, std::string>::with<log_stats>,
  // The app description (`describe`) as JSON text.
  caf::replies_to<describe_atom>::with<std::string>,
  // Administration (admin role).
  caf::replies_to<append_atom, new_event>::with<std::string>,
  caf::replies_to<replay_atom, replay_request>::with<replay_summary>,
  caf::replies_to<fork_atom, replay_request, std::string>::with<
    replay_summary>,
  caf::replies_to<verify_atom, std::string, uint32_t>::with<verify_report>>;

/// What an application asks of a runtime, wherever it runs: a local
/// `runtime` and a `remote_node` (a connection to a node) both are one,
/// so that code written against `service&` moves from embedded to remote
/// by changing the line that makes it. The synchronous calls block the
/// calling thread; from inside actors use `async()`.
class service {
public:
  virtual ~service();

  /// Runs one action and returns the resulting record once committed.
  virtual caf::expected<record> run(call c) = 0;

  /// Shorthand for `run` with a resource, action and input.
  caf::expected<record> run(std::string resource, std::string action,
                            json::object input = {});

  /// Runs the batch form of an action: one result per item, in order.
  virtual std::vector<caf::expected<record>> run_batch(batch_call c) = 0;

  /// Appends an event on its own; returns its id.
  virtual caf::expected<json::value> append(new_event ev) = 0;

  /// Rebuilds records from the events (see `runtime::replay`).
  virtual caf::expected<replay_summary>
  replay(replay_request req = {}, const progress_fn& progress = {}) = 0;

  /// Replays into a new database file (on the node's file system for a
  /// remote node).
  virtual caf::expected<replay_summary>
  fork(replay_request req, std::string path,
       const progress_fn& progress = {}) = 0;

  /// Replays into a scratch copy and compares with the live records.
  virtual caf::expected<verify_report>
  verify(std::string log = {}, uint32_t max_differences = 1000,
         const progress_fn& progress = {}) = 0;

  virtual caf::expected<record> get(std::string_view resource,
                                    const json::value& id) = 0;

  virtual caf::expected<std::vector<record>>
  list(std::string_view resource, list_options opts = {}) = 0;

  virtual caf::expected<event_page> events(const event_filter& filter) = 0;

  virtual caf::expected<log_stats> stats(std::string log = {}) = 0;

  /// The definitions: for a remote node, rebuilt from its description
  /// (shapes only, no callbacks).
  virtual const app& definitions() const noexcept = 0;

  /// The asynchronous interface: the same requests as messages.
  virtual service_actor async() = 0;
};

/// Returns the asynchronous interface of `rt`: one actor per runtime,
/// started on first use, stopped with the runtime (a null handle once the
/// runtime stopped).
service_actor service_of(runtime& rt);

} // namespace eventactors
