// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <string>
#include <string_view>

#include <boost/json/parse_options.hpp>
#include <caf/error.hpp>

#include "eventactors/event_log.hpp"
#include "eventactors/json.hpp"
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

/// Serializes an object compactly.
std::string to_text(const json::object& x);

/// Parses JSON object text; returns an error naming `what` on failure.
caf::error parse_object(std::string_view text, std::string_view what,
                        json::object& out);

/// Quotes an identifier for SQL (identifiers are validated, this is
/// defense in depth).
std::string quote(std::string_view name);

} // namespace eventactors::codec
