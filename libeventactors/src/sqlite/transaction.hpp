// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>

struct sqlite3;

namespace eventactors::sqlite {

/// Runs `BEGIN IMMEDIATE` now and `ROLLBACK` on destruction unless
/// committed.
class transaction {
public:
  transaction(transaction&& other) noexcept;
  transaction& operator=(transaction&&) = delete;
  ~transaction();

  static caf::expected<transaction> begin(sqlite3* db);

  [[nodiscard]] caf::error commit();

  /// Rolls back now; a no-op when already finished.
  void rollback() noexcept;

private:
  explicit transaction(sqlite3* db) noexcept : db_(db) {
    // nop
  }

  sqlite3* db_;
};

} // namespace eventactors::sqlite
