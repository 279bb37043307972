// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <vector>

#include <caf/behavior.hpp>
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

/// The behavior of a worker: answers the requests of `service_actor`
/// except `run_batch` with the synchronous API of `rt`, blocking; spawn it
/// detached. The service's query and admin workers, and the node's call
/// workers (`net/server.cpp`), are such workers.
caf::behavior sync_worker(caf::event_based_actor* self, runtime* rt);

/// Spawns the service of `rt` with `queries` query workers.
service_actors spawn_service(caf::actor_system& sys, runtime& rt,
                             action_actor dispatcher, size_t queries);

} // namespace eventactors
