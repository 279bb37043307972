// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <vector>

#include <caf/fwd.hpp>

#include "eventactors/action_actor.hpp"
#include "eventactors/service.hpp"

namespace eventactors {

/// The actors behind `service_of(rt)`.
struct service_actors {
  /// Takes every request: delegates actions to the dispatcher, reads to
  /// the query workers (round robin) and administration to the admin
  /// worker.
  service_actor front;
  /// Detached: they block on the runtime's synchronous calls.
  std::vector<caf::actor> workers;
};

/// Spawns the service of `rt` with `queries` query workers.
service_actors spawn_service(caf::actor_system& sys, runtime& rt,
                             action_actor dispatcher, size_t queries);

} // namespace eventactors
