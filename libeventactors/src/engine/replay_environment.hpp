// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>

#include "eventactors/environment.hpp"
#include "eventactors/time.hpp"

namespace eventactors {

/// The environment of a replayed event: "now" is the event's time, and the
/// UUIDs come from a sequence seeded by the event, so that each replay
/// derives the same ones in the same order.
environment make_replay_environment(timestamp at, uint64_t seed);

} // namespace eventactors
