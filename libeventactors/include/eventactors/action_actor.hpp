// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "eventactors/call.hpp"
#include "eventactors/record.hpp"
#include "eventactors/type_ids.hpp"

namespace eventactors {

class runtime;

/// The asynchronous interface to a runtime's actions, for use from other
/// actors: `self->request(actions(rt), timeout, run_atom_v, c)`.
///
/// Dispatches each call to the actor of its resource. A response arrives
/// once the action committed (a `record`) or failed (a `caf::error` of
/// category `"evact"`; then nothing was written, except for
/// `errc::post_commit_failure`, which says the action committed but a hook
/// after the commit failed).
using action_actor = caf::typed_actor<
  // Runs one action; replies with the resulting record.
  caf::replies_to<run_atom, call>::with<record>,
  // Runs the batch form of an action; replies with one result per item.
  caf::replies_to<run_batch_atom, batch_call>::with<batch_result>>;

/// Returns the action interface of `rt`.
action_actor actions(runtime& rt);

} // namespace eventactors
