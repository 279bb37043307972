// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// Values given on the command line: actors, JSON objects, times, counts and
// event ids, each checked with an error that names the option and the value.

#include <string>

#include <caf/fwd.hpp>

#include "eventactors/fwd.hpp"
#include "eventactors/json.hpp"
#include "eventactors/time.hpp"

namespace eventactors::cli {

/// An actor as `TYPE:ID`.
caf::expected<actor> parse_actor(const std::string& spec);

/// A JSON object; `what` names the argument in errors.
caf::expected<json::object> parse_object(const std::string& text,
                                         const std::string& what);

/// An ISO 8601 date-time with a time zone; `what` names the option.
caf::expected<timestamp> parse_time(const std::string& text,
                                    const std::string& what);

/// Whether `x` is not empty and holds only the digits 0 to 9.
bool all_digits(const std::string& x);

/// Whether `x` could be an event id of some log: a positive integer or a
/// UUID. Checked before the database is opened, so that a malformed id
/// is refused before anything touches the file.
bool event_id_shaped(const std::string& x);

/// An event id given on the command line: digits only for a log with
/// integer ids (no sign, no spaces), a UUID for one with UUID v7 ids.
caf::expected<json::value> event_id_arg(const event_log& log,
                                        const std::string& x,
                                        const char* opt);

} // namespace eventactors::cli
