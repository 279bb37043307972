// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <vector>

#include <caf/type_id.hpp>

#include "eventactors/actor.hpp"
#include "eventactors/call.hpp"
#include "eventactors/error.hpp"
#include "eventactors/event.hpp"
#include "eventactors/options.hpp"
#include "eventactors/record.hpp"
#include "eventactors/replay.hpp"

/// The message types and atoms of libeventactors. Applications start their
/// own block at `caf::id_block::eventactors::end`.
CAF_BEGIN_TYPE_ID_BLOCK(eventactors, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(eventactors, (eventactors::actor))
  CAF_ADD_TYPE_ID(eventactors, (eventactors::batch_call))
  CAF_ADD_TYPE_ID(eventactors, (eventactors::batch_item))
  CAF_ADD_TYPE_ID(eventactors, (eventactors::batch_result))
  CAF_ADD_TYPE_ID(eventactors, (eventactors::call))
  CAF_ADD_TYPE_ID(eventactors, (eventactors::event))
  CAF_ADD_TYPE_ID(eventactors, (eventactors::field_error))
  CAF_ADD_TYPE_ID(eventactors, (eventactors::difference))
  CAF_ADD_TYPE_ID(eventactors, (eventactors::missing_record))
  CAF_ADD_TYPE_ID(eventactors, (eventactors::record))
  CAF_ADD_TYPE_ID(eventactors, (eventactors::replay_progress))
  CAF_ADD_TYPE_ID(eventactors, (eventactors::replay_request))
  CAF_ADD_TYPE_ID(eventactors, (eventactors::replay_summary))
  CAF_ADD_TYPE_ID(eventactors, (eventactors::verify_report))
  CAF_ADD_TYPE_ID(eventactors, (std::vector<eventactors::event>))
  CAF_ADD_TYPE_ID(eventactors, (std::vector<eventactors::field_error>))
  CAF_ADD_TYPE_ID(eventactors, (std::vector<eventactors::record>))

  CAF_ADD_ATOM(eventactors, eventactors, run_atom, "run")
  CAF_ADD_ATOM(eventactors, eventactors, run_batch_atom, "run_batch")
  CAF_ADD_ATOM(eventactors, eventactors, append_atom, "append")
  CAF_ADD_ATOM(eventactors, eventactors, commit_atom, "commit")
  CAF_ADD_ATOM(eventactors, eventactors, replay_atom, "replay")
  CAF_ADD_ATOM(eventactors, eventactors, fork_atom, "fork")
  CAF_ADD_ATOM(eventactors, eventactors, verify_atom, "verify")
  // The queries and the description a node offers (service.hpp).
  CAF_ADD_TYPE_ID(eventactors, (eventactors::event_filter))
  CAF_ADD_TYPE_ID(eventactors, (eventactors::event_page))
  CAF_ADD_TYPE_ID(eventactors, (eventactors::list_options))
  CAF_ADD_TYPE_ID(eventactors, (eventactors::log_stats))
  CAF_ADD_TYPE_ID(eventactors, (eventactors::new_event))
  CAF_ADD_ATOM(eventactors, eventactors, get_atom, "get")
  CAF_ADD_ATOM(eventactors, eventactors, list_atom, "list")
  CAF_ADD_ATOM(eventactors, eventactors, events_atom, "events")
  CAF_ADD_ATOM(eventactors, eventactors, stats_atom, "stats")
  CAF_ADD_ATOM(eventactors, eventactors, describe_atom, "describe")

CAF_END_TYPE_ID_BLOCK(eventactors)
