// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace eventactors::test {

/// Runs `sql` on the database at `path` with a read-only connection of its
/// own (outside any runtime) and returns the first column of the first row
/// as an integer; nullopt when the file, the statement or the row is
/// missing. For checking from outside what a runtime wrote.
std::optional<int64_t> query_int(const std::string& path,
                                 const std::string& sql);

/// Counts the rows of `table`; -1 when the table or file does not exist.
int64_t count_rows(const std::string& path, const std::string& table);

} // namespace eventactors::test
