// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// The rules for values every backend stores: what can be stored, and the
// JSON text of payloads. The SQLite forms are in storage/sqlite/codec.hpp.

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/parse_options.hpp>
#include <caf/error.hpp>

#include "eventactors/json.hpp"
#include "eventactors/time.hpp"

namespace eventactors::codec {

/// Parse options for JSON the runtime wrote itself: deeper than any input
/// it accepts (64 levels), so what was written can always be read back.
boost::json::parse_options stored_json_options();

/// Checks that `x` survives a round trip through JSON text: every string and
/// key is well-formed UTF-8 and every number is finite (Boost.JSON writes
/// NaN and infinities as text that no parser reads back). Returns what is
/// wrong, prefixed with the path of the value at fault inside `x`, e.g.
/// `a.b[2]: not a finite number`.
std::optional<std::string> check_storable(const json::value& x);

/// Like `check_storable` for every value of an object.
std::optional<std::string> check_storable(const json::object& x);

/// Whether `x` lies in the years 0000 to 9999: the times storage writes as
/// fixed-width text (`format_timestamp`), which sorts in time order.
bool storable(timestamp x) noexcept;

/// Serializes an object compactly.
std::string to_text(const json::object& x);

/// Parses JSON object text; returns an error naming `what` on failure.
caf::error parse_object(std::string_view text, std::string_view what,
                        json::object& out);

} // namespace eventactors::codec
