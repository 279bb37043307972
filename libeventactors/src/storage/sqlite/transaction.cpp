// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "storage/sqlite/transaction.hpp"

#include <sqlite3.h>

#include "detail/log.hpp"
#include "storage/sqlite/database.hpp"

namespace eventactors::sqlite {

transaction::transaction(transaction&& other) noexcept : db_(other.db_) {
  other.db_ = nullptr;
}

transaction::~transaction() {
  rollback();
}

caf::expected<transaction> transaction::begin(sqlite3* db) {
  auto rc = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK)
    return last_error(db, rc, "begin transaction");
  return transaction{db};
}

caf::expected<transaction> transaction::begin_read(sqlite3* db) {
  auto rc = sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK)
    return last_error(db, rc, "begin transaction");
  return transaction{db};
}

caf::error transaction::commit() {
  if (!db_)
    return {};
  auto rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    auto err = last_error(db_, rc, "commit");
    rollback();
    return err;
  }
  db_ = nullptr;
  return {};
}

void transaction::rollback() noexcept {
  if (!db_)
    return;
  sqlite::rollback(db_);
  db_ = nullptr;
}

void rollback(sqlite3* db) noexcept {
  if (!sqlite3_get_autocommit(db)
      && sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr) != SQLITE_OK)
    SPDLOG_LOGGER_WARN(&detail::log(), "rollback failed: {}",
                       sqlite3_errmsg(db));
}

} // namespace eventactors::sqlite
