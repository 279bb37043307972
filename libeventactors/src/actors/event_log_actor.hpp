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
#include "storage/unit.hpp"
#include "write/pipeline.hpp"

namespace eventactors {

/// The logging actor: persists the units of asynchronous callers. Runs
/// detached (it blocks on SQLite).
///
/// Units are collected as they arrive; once the mailbox has no more units
/// waiting (or `max_batch` are pending) they go to the write pipeline
/// together, which commits them in one transaction, each in a savepoint,
/// possibly with the units of synchronous callers (group commit). A unit's
/// response arrives only after the commit that made it durable; a failed
/// unit leaves no trace.
using event_log_actor = caf::typed_actor<
  // Applies a unit; replies with the ids of the events it wrote, once
  // committed. Refuses units built before the last replay started.
  caf::replies_to<append_atom, unit>::with<unit_receipt>,
  // Sent by the replay coordinator once the replay gate is closed: commits
  // the units accepted before; replies with their number.
  caf::replies_to<replay_atom>::with<uint64_t>,
  // Commits the open transaction (sent to itself).
  caf::reacts_to<commit_atom>>;

/// Spawns the event log actor writing through `pipeline`. Units built
/// before the last replay began (their epoch is older than the gate's) are
/// refused on arrival; the units it accepted commit before the replay
/// (see `replay_atom`).
event_log_actor spawn_event_log(caf::actor_system& sys,
                                const runtime_options* opts,
                                std::shared_ptr<write_pipeline> pipeline);

} // namespace eventactors
