// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/event_log_actor.hpp"
#include "eventactors/replay_actor.hpp"
#include "eventactors/options.hpp"
#include "model/model.hpp"
#include "write/pipeline.hpp"

namespace eventactors {

/// Spawns the replay coordinator of a runtime: the one actor behind
/// `replay_actor` (`replays(rt)`). It runs replays, forks and verifies.
///
/// A replay closes the pipeline's replay gate (new actions fail with
/// `replay_in_progress`; a second replay too), has `log` commit the units
/// it accepted before, then runs on a worker thread of its own with the
/// pipeline's writer to itself, in one transaction, sending progress to
/// the requester after every chunk; the gate opens when it ends. The
/// coordinator itself stays responsive meanwhile. Forks and verifies run
/// on the coordinator's thread (detached); they only read the live
/// database. A read-only runtime has no `pipeline`: replays are refused.
replay_actor spawn_replay_coordinator(caf::actor_system& sys,
                                      std::shared_ptr<const model> m,
                                      const runtime_options* opts,
                                      std::shared_ptr<write_pipeline> pipeline,
                                      event_log_actor log);

} // namespace eventactors
