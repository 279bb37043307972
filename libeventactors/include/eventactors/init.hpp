// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <caf/fwd.hpp>

namespace eventactors {

/// Registers the message types and the error category (`"evact"`) of
/// libeventactors with `cfg`. Call it before creating an actor system that
/// hosts a runtime (`runtime::start(sys, ...)`).
void init(caf::actor_system_config& cfg);

} // namespace eventactors
