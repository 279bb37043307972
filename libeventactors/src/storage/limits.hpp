// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// What the store limits in an app's definitions, checked when they are
// validated: the names the store keeps for itself and the width of a table.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace eventactors::storage {

/// Why a table name is not for an app's resource or event log: names
/// starting with `sqlite_` are SQLite's own, `eventactors_` the framework's.
inline std::optional<std::string> reserved_table(std::string_view name) {
  if (name.starts_with("sqlite_"))
    return "is reserved: names starting with sqlite_ belong to SQLite";
  if (name.starts_with("eventactors_"))
    return "is reserved: names starting with eventactors_ belong to the "
           "framework";
  return std::nullopt;
}

/// The most columns a SQLite table may have (SQLITE_MAX_COLUMN as Debian
/// builds it): a resource's attributes plus `_version`, a log's built-in
/// fields plus its actor columns.
constexpr size_t max_columns = 2000;

} // namespace eventactors::storage
