// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

struct sqlite3;
struct sqlite3_stmt;

namespace eventactors::sqlite {

/// A prepared statement, finalized on destruction and reused via `reset()`.
///
/// Not thread-safe: it belongs to the single owner of its connection.
class statement {
public:
  statement() = default;
  statement(statement&&) noexcept = default;
  statement& operator=(statement&&) noexcept = default;

  /// Prepares `sql` on `db`. `persistent` hints SQLite that the statement
  /// is kept and reused.
  static caf::expected<statement> prepare(sqlite3* db, std::string_view sql,
                                          bool persistent = true);

  explicit operator bool() const noexcept {
    return handle_ != nullptr;
  }

  // -- binding (1-based) ------------------------------------------------------

  void bind_null(int index) noexcept;
  void bind(int index, int64_t x) noexcept;
  void bind(int index, double x) noexcept;
  void bind(int index, std::string_view x) noexcept;

  /// Binds bytes as a BLOB.
  void bind_blob(int index, std::string_view x) noexcept;

  /// Binds column `column` of `src`'s current row, whatever its type.
  void bind_from(int index, const statement& src, int column) noexcept;

  // -- stepping ---------------------------------------------------------------

  /// Steps once: true when a row is ready, false when done.
  caf::expected<bool> step();

  /// Steps a statement without results to completion.
  [[nodiscard]] caf::error run();

  /// Resets the statement and clears its bindings.
  void reset() noexcept;

  // -- columns (0-based) ------------------------------------------------------

  int columns() const noexcept;
  int column_type(int index) const noexcept; // SQLITE_INTEGER, ...
  bool is_null(int index) const noexcept;
  int64_t column_int(int index) const noexcept;
  double column_double(int index) const noexcept;
  std::string_view column_text(int index) const noexcept;

  /// The bytes of a BLOB (or TEXT) column.
  std::string_view column_blob(int index) const noexcept;
  std::string_view column_name(int index) const noexcept;

  sqlite3_stmt* get() const noexcept {
    return handle_.get();
  }

  /// The SQL text, for error messages.
  std::string sql() const;

private:
  struct finalizer {
    void operator()(sqlite3_stmt* stmt) const noexcept;
  };

  std::unique_ptr<sqlite3_stmt, finalizer> handle_;
};

/// Resets a statement when leaving a scope, so a reader connection never
/// keeps a read transaction open by accident.
class reset_guard {
public:
  explicit reset_guard(statement& stmt) noexcept : stmt_(stmt) {
    // nop
  }

  ~reset_guard() {
    stmt_.reset();
  }

  reset_guard(const reset_guard&) = delete;
  reset_guard& operator=(const reset_guard&) = delete;

private:
  statement& stmt_;
};

} // namespace eventactors::sqlite
