// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "sqlite/transaction.hpp"

#include <sqlite3.h>

#include "detail/log.hpp"
#include "sqlite/database.hpp"

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
  if (!sqlite3_get_autocommit(db_)) {
    auto rc = sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK)
      SPDLOG_LOGGER_WARN(&detail::log(), "rollback failed: {}",
                         sqlite3_errmsg(db_));
  }
  db_ = nullptr;
}

} // namespace eventactors::sqlite
