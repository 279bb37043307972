// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <optional>
#include <string>

// From <sqlite3.h>, which callers include when they need more of SQLite.
struct sqlite3;
struct sqlite3_stmt;

namespace eventactors::test {

// -- connections of our own ---------------------------------------------------

/// A connection of our own to the database at `path`, outside any runtime:
/// read-only unless `writable`, waiting up to 10 s for a lock. Closed on
/// destruction. Throws `std::runtime_error` when the file cannot be opened.
/// Not thread-safe: one thread uses it at a time.
class connection {
public:
  explicit connection(const std::string& path, bool writable = false);

  ~connection();

  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  sqlite3* get() const noexcept {
    return db_;
  }

private:
  sqlite3* db_ = nullptr;
};

// -- single values ------------------------------------------------------------

/// Runs `sql` on the database at `path` with a read-only connection of its
/// own (outside any runtime) and returns the first column of the first row
/// as an integer; nullopt when the file, the statement or the row is
/// missing. For checking from outside what a runtime wrote.
std::optional<int64_t> query_int(const std::string& path,
                                 const std::string& sql);

/// Runs `sql` on `db` and returns the first column of the first row as an
/// integer; nullopt when the statement or the row is missing.
std::optional<int64_t> query_int(sqlite3* db, const std::string& sql);

/// Like `query_int`, with -1 for a missing file, statement or row: for a
/// `SELECT count(*)`.
int64_t query_count(const std::string& path, const std::string& sql);

/// Counts the rows of `table`; -1 when the table or file does not exist.
int64_t count_rows(const std::string& path, const std::string& table);

/// Counts the rows of `table` on `db`; -1 when the table does not exist.
int64_t count_rows(sqlite3* db, const std::string& table);

// -- writing behind a runtime's back ------------------------------------------

/// Runs `sql` on the database at `path` through a writable connection of
/// its own, e.g. a hand edit a replay or verify must notice. Fails the test
/// unless the statements succeed and change at least one row.
void exec_sql(const std::string& path, const std::string& sql);

// -- dumps: table contents as comparable text ---------------------------------

/// Renders column `col` of the current row of `stmt` with its SQLite
/// storage class, so that "1" and 1 differ: `NULL`, `i:1`, `f:1.5` (17
/// significant digits), `t:'text'` or `b:` and the bytes in hex.
std::string render_cell(sqlite3_stmt* stmt, int col);

/// The rows `sql` returns on `db`, one line each: `name=value` per column
/// (values as `render_cell` renders them), `_version` (a write counter, not
/// part of a record) left out when `skip_version`. A statement that fails
/// adds a line `<error: ...>` instead.
std::string dump_query(sqlite3* db, const std::string& sql,
                       bool skip_version = false);

/// Every row of `table` on `db` ordered by the column `order_by`, as
/// `dump_query` renders them, each line starting with `table:`.
std::string dump_table(sqlite3* db, const std::string& table,
                       const std::string& order_by, bool skip_version = false);

} // namespace eventactors::test
