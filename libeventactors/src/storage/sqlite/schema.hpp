// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <string>

#include <caf/error.hpp>

struct sqlite3;

namespace eventactors {

class model;

namespace schema {

/// The storage format this build writes (`PRAGMA user_version`). Format 1
/// had the event, resource and bookkeeping tables; format 2 adds the
/// idempotency keys of committed calls (`eventactors_idempotency`). A
/// writable start migrates older formats; a file of a newer one is refused.
constexpr int format_version = 2;

/// Marks the file as ours (`PRAGMA application_id`, "EVAC").
constexpr int application_id = 0x45564143;

/// The column holding each record's version (optimistic concurrency).
constexpr const char* version_column = "_version";

/// Creates the event and resource tables that are missing and adds the
/// columns new definitions need, renames and drops the columns they say
/// were renamed or dropped, in one transaction. Refuses a file of a newer
/// format or of another application (also an unstamped one that holds
/// tables), and a column no definition defines that still holds data.
[[nodiscard]] caf::error migrate(sqlite3* db, const model& m);

/// Checks that the file is readable and of a format this build knows, and
/// that it is ours or empty (without writing).
[[nodiscard]] caf::error check(sqlite3* db, const std::string& path);

/// Checks, without writing, that the file is an eventactors log holding
/// every table and column of the definitions with their types, and no
/// column with data that they do not define: what a read-only runtime
/// needs. Errors (`errc::schema_mismatch`) name the table and column.
[[nodiscard]] caf::error check_matches(sqlite3* db, const model& m);

} // namespace schema

} // namespace eventactors
