// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "event_log_actor.hpp"
#include "eventactors/replay_actor.hpp"
#include "eventactors/options.hpp"
#include "model/model.hpp"
#include "replay_gate.hpp"

namespace eventactors {

/// Spawns the replay coordinator of a runtime (detached: forks and verifies
/// run on its thread).
replay_actor spawn_replay_coordinator(caf::actor_system& sys,
                                      std::shared_ptr<const model> m,
                                      const runtime_options* opts,
                                      std::shared_ptr<replay_gate> gate,
                                      event_log_actor log);

} // namespace eventactors
