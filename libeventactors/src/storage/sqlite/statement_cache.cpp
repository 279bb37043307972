// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "storage/sqlite/statement_cache.hpp"

namespace eventactors::sqlite {

caf::expected<statement*> statement_cache::get(sqlite3* db,
                                               const std::string& sql) {
  if (auto i = cache_.find(sql); i != cache_.end())
    return &i->second;
  if (cache_.size() >= capacity_)
    cache_.clear();
  auto stmt = statement::prepare(db, sql);
  if (!stmt)
    return std::move(stmt.error());
  auto [i, added] = cache_.emplace(sql, std::move(*stmt));
  return &i->second;
}

} // namespace eventactors::sqlite
