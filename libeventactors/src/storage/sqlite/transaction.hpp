// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>

struct sqlite3;

namespace eventactors::sqlite {

/// Runs `BEGIN IMMEDIATE` (or, for reading, `BEGIN`) now and `ROLLBACK` on
/// destruction unless committed.
class transaction {
public:
  transaction(transaction&& other) noexcept;
  transaction& operator=(transaction&&) = delete;
  ~transaction();

  /// Begins a write transaction, taking the write lock now.
  static caf::expected<transaction> begin(sqlite3* db);

  /// Begins a read transaction: every read in it sees the state of the
  /// file at its first read.
  static caf::expected<transaction> begin_read(sqlite3* db);

  [[nodiscard]] caf::error commit();

  /// Rolls back now; a no-op when already finished.
  void rollback() noexcept;

private:
  explicit transaction(sqlite3* db) noexcept : db_(db) {
    // nop
  }

  sqlite3* db_;
};

/// Rolls back the transaction open on `db`, if any; logs a failure at
/// `warn`.
void rollback(sqlite3* db) noexcept;

} // namespace eventactors::sqlite
