// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <caf/error.hpp>

#include "eventactors/event_log.hpp"
#include "eventactors/json.hpp"
#include "eventactors/time.hpp"
#include "eventactors/types.hpp"
#include "storage/codec.hpp"
#include "storage/sqlite/statement.hpp"

namespace eventactors::codec {

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

/// Quotes an identifier for SQL (identifiers are validated, this is
/// defense in depth).
std::string quote(std::string_view name);

} // namespace eventactors::codec
