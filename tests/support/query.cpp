// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "support/query.hpp"

#include <filesystem>

#include <sqlite3.h>

namespace eventactors::test {

std::optional<int64_t> query_int(const std::string& path,
                                 const std::string& sql) {
  if (!std::filesystem::exists(path))
    return std::nullopt;
  sqlite3* db = nullptr;
  std::optional<int64_t> result;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr)
      == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK
        && sqlite3_step(stmt) == SQLITE_ROW)
      result = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return result;
}

int64_t count_rows(const std::string& path, const std::string& table) {
  return query_int(path, "SELECT count(*) FROM \"" + table + "\"").value_or(-1);
}

} // namespace eventactors::test
