// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include "actors/resource_actor.hpp"
#include "eventactors/action_actor.hpp"

namespace eventactors {

/// Spawns the dispatcher behind `actions(rt)`: an event-based actor that
/// routes each call to the actor of its resource. Once `stopped` is set it
/// answers `runtime_stopped` (instead of CAF's "receiver down"); a
/// read-only runtime's dispatcher refuses every action.
action_actor spawn_dispatcher(
  caf::actor_system& sys,
  std::map<std::string, resource_actor, std::less<>> resources,
  std::shared_ptr<std::atomic<bool>> stopped, bool read_only);

/// The error of an action or replay on a read-only runtime, naming `what`.
caf::error read_only_error(std::string_view what);

} // namespace eventactors
