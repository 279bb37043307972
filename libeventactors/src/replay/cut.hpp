// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "eventactors/event.hpp"
#include "eventactors/event_log.hpp"
#include "eventactors/replay.hpp"
#include "storage/reader.hpp"

namespace eventactors {

/// Checks the cut of `req` (at most one of `last_event_id` and
/// `point_in_time`) for `log`: a time in the years storage can hold, an
/// event id of the log's id type that `rd` finds in the log. With
/// `require_clear`, also that the log defines its clear callback (replay
/// needs one; checked right after the cut's arguments exclude each other).
/// `who` ("replay", "fork") prefixes the errors, `errc::invalid_input`
/// unless the callback is missing (`errc::invalid_definition`).
caf::error check_cut(std::string_view who, const event_log& log,
                     const replay_request& req, reader& rd,
                     bool require_clear);

/// The events of `log` up to the cut of `req`, in id order, `limit` per
/// page; the cut's event id is cast to the type of the log's ids.
/// @pre `check_cut` accepted `req`.
caf::expected<event_filter> cut_filter(const event_log& log,
                                       const replay_request& req,
                                       uint32_t limit);

} // namespace eventactors
