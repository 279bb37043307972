// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <atomic>
#include <cstdint>

namespace eventactors {

/// Shared by the actors of a runtime: whether a replay runs, and the replay
/// epoch units are built in.
///
/// While `active`, resource actors refuse new calls (`replay_in_progress`).
/// Every replay bumps `epoch` before it starts; the event log actor refuses
/// units built in an older epoch, whose reads predate the replay.
struct replay_gate {
  std::atomic<bool> active{false};
  std::atomic<uint64_t> epoch{0};
};

} // namespace eventactors
