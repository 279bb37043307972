// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "storage/sqlite/statement.hpp"

#include <sqlite3.h>

#include "eventactors/error.hpp"
#include "storage/sqlite/database.hpp"

namespace eventactors::sqlite {

void statement::finalizer::operator()(sqlite3_stmt* stmt) const noexcept {
  sqlite3_finalize(stmt);
}

caf::expected<statement> statement::prepare(sqlite3* db, std::string_view sql,
                                            bool persistent) {
  sqlite3_stmt* raw = nullptr;
  auto flags = persistent ? SQLITE_PREPARE_PERSISTENT : 0u;
  auto rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                               flags, &raw, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return last_error(db, rc, "prepare " + std::string{sql.substr(0, 80)});
  }
  statement result;
  result.handle_.reset(raw);
  return result;
}

void statement::bind_null(int index) noexcept {
  sqlite3_bind_null(handle_.get(), index);
}

void statement::bind(int index, int64_t x) noexcept {
  sqlite3_bind_int64(handle_.get(), index, x);
}

void statement::bind(int index, double x) noexcept {
  sqlite3_bind_double(handle_.get(), index, x);
}

void statement::bind(int index, std::string_view x) noexcept {
  sqlite3_bind_text64(handle_.get(), index, x.data(), x.size(),
                      SQLITE_TRANSIENT, SQLITE_UTF8);
}

void statement::bind_blob(int index, std::string_view x) noexcept {
  sqlite3_bind_blob64(handle_.get(), index, x.data(), x.size(),
                      SQLITE_TRANSIENT);
}

void statement::bind_from(int index, const statement& src,
                          int column) noexcept {
  sqlite3_bind_value(handle_.get(), index,
                     sqlite3_column_value(src.handle_.get(), column));
}

caf::expected<bool> statement::step() {
  auto rc = sqlite3_step(handle_.get());
  if (rc == SQLITE_ROW)
    return true;
  if (rc == SQLITE_DONE)
    return false;
  auto db = sqlite3_db_handle(handle_.get());
  return last_error(db, rc, "step");
}

caf::error statement::run() {
  for (;;) {
    auto more = step();
    if (!more)
      return std::move(more.error());
    if (!*more)
      return {};
  }
}

void statement::reset() noexcept {
  if (handle_) {
    sqlite3_reset(handle_.get());
    sqlite3_clear_bindings(handle_.get());
  }
}

int statement::columns() const noexcept {
  return sqlite3_column_count(handle_.get());
}

int statement::column_type(int index) const noexcept {
  return sqlite3_column_type(handle_.get(), index);
}

bool statement::is_null(int index) const noexcept {
  return sqlite3_column_type(handle_.get(), index) == SQLITE_NULL;
}

int64_t statement::column_int(int index) const noexcept {
  return sqlite3_column_int64(handle_.get(), index);
}

double statement::column_double(int index) const noexcept {
  return sqlite3_column_double(handle_.get(), index);
}

std::string_view statement::column_text(int index) const noexcept {
  auto ptr = sqlite3_column_text(handle_.get(), index);
  auto len = sqlite3_column_bytes(handle_.get(), index);
  if (!ptr)
    return {};
  return {reinterpret_cast<const char*>(ptr), static_cast<size_t>(len)};
}

std::string_view statement::column_blob(int index) const noexcept {
  auto ptr = sqlite3_column_blob(handle_.get(), index);
  auto len = sqlite3_column_bytes(handle_.get(), index);
  if (!ptr)
    return {};
  return {static_cast<const char*>(ptr), static_cast<size_t>(len)};
}

std::string_view statement::column_name(int index) const noexcept {
  auto ptr = sqlite3_column_name(handle_.get(), index);
  return ptr ? std::string_view{ptr} : std::string_view{};
}

std::string statement::sql() const {
  auto ptr = sqlite3_sql(handle_.get());
  return ptr ? ptr : "";
}

} // namespace eventactors::sqlite
