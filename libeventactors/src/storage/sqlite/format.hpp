// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

struct sqlite3;

namespace eventactors::schema {

/// Returns the integer a `PRAGMA` statement reads (0 without a row).
caf::expected<int64_t> pragma_int(sqlite3* db, const char* pragma);

/// Checks that the file at `db` is readable, of a format this build knows
/// (`user_version`) and ours or unstamped (`application_id`); `where`
/// names it in errors.
[[nodiscard]] caf::error check_format(sqlite3* db, const std::string& where);

/// Reads the first and the last entry of every table and index in the file.
/// That walks each b-tree from its root down to both ends: a damaged root
/// or schema page, the usual result of a file overwritten or cut short,
/// is found at start-up instead of by the first action that touches it.
/// It is no full check (PRAGMA integrity_check reads every page), but its
/// cost does not grow with the file.
[[nodiscard]] caf::error probe_btrees(sqlite3* db);

} // namespace eventactors::schema
