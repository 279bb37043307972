// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/parse_options.hpp>
#include <caf/error.hpp>

#include "eventactors/event_log.hpp"
#include "eventactors/json.hpp"
#include "eventactors/time.hpp"
#include "eventactors/types.hpp"
#include "sqlite/statement.hpp"

namespace eventactors::codec {

/// Parse options for JSON the runtime wrote itself: deeper than any input
/// it accepts (64 levels), so what was written can always be read back.
boost::json::parse_options stored_json_options();

/// The SQL column type (and collation) storing values of `type`.
std::string column_type(const attribute_type& type);

/// Binds a storage-form value of `type` at `index`.
void bind(sqlite::statement& stmt, int index, const attribute_type& type,
          const json::value& x);

/// Binds a scalar key (text or integer) at `index`.
void bind_key(sqlite::statement& stmt, int index, const json::value& x);

/// Reads column `index` as a storage-form value of `type`.
caf::error read(const sqlite::statement& stmt, int index,
                const attribute_type& type, json::value& out);

/// Reads column `index` as a scalar key (text or integer).
json::value read_key(const sqlite::statement& stmt, int index);

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

/// Quotes an identifier for SQL (identifiers are validated, this is
/// defense in depth).
std::string quote(std::string_view name);

} // namespace eventactors::codec
