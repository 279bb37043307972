// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <string>

#include <caf/error.hpp>

struct sqlite3;

namespace eventactors {

class model;

namespace schema {

/// The storage format this build writes (`PRAGMA user_version`).
constexpr int format_version = 1;

/// Marks the file as ours (`PRAGMA application_id`, "EVAC").
constexpr int application_id = 0x45564143;

/// The column holding each record's version (optimistic concurrency).
constexpr const char* version_column = "_version";

/// Creates the event and resource tables that are missing and adds the
/// columns new definitions need, in one transaction. Refuses a file of a
/// newer format or of another application.
[[nodiscard]] caf::error migrate(sqlite3* db, const model& m);

/// Checks that the file is readable and of a format this build knows
/// (without writing).
[[nodiscard]] caf::error check(sqlite3* db, const std::string& path);

} // namespace schema

} // namespace eventactors
