// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <memory>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "eventactors/replay.hpp"
#include "eventactors/options.hpp"
#include "eventactors/type_ids.hpp"
#include "replay_gate.hpp"
#include "unit.hpp"
#include "write_queue.hpp"

namespace eventactors {

/// The logging actor: persists the units of asynchronous callers and runs
/// replays. Runs detached (it blocks on SQLite).
///
/// Units are collected as they arrive; once the mailbox has no more units
/// waiting (or `max_batch` are pending) they go to the write queue
/// together, which commits them in one transaction, each in a savepoint,
/// possibly with the units of synchronous callers (group commit). A unit's
/// response arrives only after the commit that made it durable; a failed
/// unit leaves no trace.
using event_log_actor = caf::typed_actor<
  // Applies a unit; replies with the ids of the events it wrote, once
  // committed. Refuses units built before the last replay started.
  caf::replies_to<append_atom, unit>::with<unit_receipt>,
  // Commits what is pending, then replays in one transaction; sends
  // (replay_atom, replay_progress) to the given actor after every chunk.
  caf::replies_to<replay_atom, replay_request, caf::actor>::with<
    replay_summary>,
  // Commits the open transaction (sent to itself).
  caf::reacts_to<commit_atom>>;

/// Spawns the event log actor writing through `q`. Units built before the
/// last replay began (their epoch is older than `gate`'s) are refused on
/// arrival; the units it accepted commit before a replay it runs.
event_log_actor spawn_event_log(caf::actor_system& sys,
                                std::shared_ptr<const model> m,
                                const runtime_options* opts,
                                std::shared_ptr<replay_gate> gate,
                                std::shared_ptr<write_queue> q);

} // namespace eventactors
