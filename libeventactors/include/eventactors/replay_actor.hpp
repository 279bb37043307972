// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <string>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "eventactors/replay.hpp"
#include "eventactors/type_ids.hpp"

namespace eventactors {

class runtime;

/// The replay coordinator of a runtime, for use from other actors.
///
/// While a replay runs, new actions fail with `errc::replay_in_progress`
/// (retry them afterwards); actions accepted before commit first. The
/// coordinator sends `(replay_atom, replay_progress)` messages to the
/// requester after every chunk of events, then replies. One replay runs at
/// a time; a second request meanwhile fails with `replay_in_progress`.
using replay_actor = caf::typed_actor<
  // Replays an event log (all, or up to a cut) in one transaction.
  caf::replies_to<replay_atom, replay_request>::with<replay_summary>,
  // Replays up to a cut into a new database file at the given path.
  caf::replies_to<fork_atom, replay_request, std::string>::with<
    replay_summary>,
  // Replays the named log (empty: the first) into a scratch copy and
  // compares it with the live records; lists up to the given number of
  // differences.
  caf::replies_to<verify_atom, std::string, uint32_t>::with<verify_report>>;

/// Returns the replay coordinator of `rt`.
replay_actor replays(runtime& rt);

} // namespace eventactors
