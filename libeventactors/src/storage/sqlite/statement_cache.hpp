// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstddef>
#include <unordered_map>
#include <string>

#include <caf/expected.hpp>

#include "storage/sqlite/statement.hpp"

struct sqlite3;

namespace eventactors::sqlite {

/// Prepared statements of one connection, keyed by their SQL text. The
/// statements' shapes are few (per table and column set); past `capacity`
/// the cache starts over rather than grow without bound.
///
/// Not thread-safe: it belongs to the single owner of its connection.
class statement_cache {
public:
  explicit statement_cache(std::size_t capacity) : capacity_(capacity) {
    // nop
  }

  /// Returns the statement for `sql` on `db`, preparing it on first use.
  /// The pointer stays valid until the next call.
  caf::expected<statement*> get(sqlite3* db, const std::string& sql);

private:
  std::size_t capacity_;
  std::unordered_map<std::string, statement> cache_;
};

} // namespace eventactors::sqlite
