// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "support/query.hpp"

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include <sqlite3.h>

#include <catch2/catch.hpp>

namespace eventactors::test {

namespace {

/// The rows `sql` returns, one line each after `row_prefix`; see
/// `dump_query`.
std::string dump_rows(sqlite3* db, const std::string& sql, bool skip_version,
                      const std::string& row_prefix) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    std::string err = sqlite3_errmsg(db);
    sqlite3_finalize(stmt);
    return "<error: " + sql + ": " + err + ">\n";
  }
  std::string out;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    out += row_prefix;
    bool first = true;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      std::string name = sqlite3_column_name(stmt, i);
      if (skip_version && name == "_version")
        continue;
      out += (first ? "" : " ") + name + "=" + render_cell(stmt, i);
      first = false;
    }
    out += '\n';
  }
  if (rc != SQLITE_DONE)
    out += "<error: " + std::string{sqlite3_errmsg(db)} + ">\n";
  sqlite3_finalize(stmt);
  return out;
}

} // namespace

// -- connections of our own ---------------------------------------------------

connection::connection(const std::string& path, bool writable) {
  auto flags = writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    // SQLite allocates a handle even when opening fails.
    sqlite3_close(db_);
    throw std::runtime_error("cannot open " + path);
  }
  sqlite3_busy_timeout(db_, 10'000);
}

connection::~connection() {
  sqlite3_close(db_);
}

// -- single values ------------------------------------------------------------

std::optional<int64_t> query_int(const std::string& path,
                                 const std::string& sql) {
  if (!std::filesystem::exists(path))
    return std::nullopt;
  sqlite3* db = nullptr;
  std::optional<int64_t> result;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr)
      == SQLITE_OK)
    result = query_int(db, sql);
  sqlite3_close(db);
  return result;
}

std::optional<int64_t> query_int(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  std::optional<int64_t> result;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK
      && sqlite3_step(stmt) == SQLITE_ROW)
    result = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return result;
}

int64_t query_count(const std::string& path, const std::string& sql) {
  return query_int(path, sql).value_or(-1);
}

int64_t count_rows(const std::string& path, const std::string& table) {
  return query_count(path, "SELECT count(*) FROM \"" + table + "\"");
}

int64_t count_rows(sqlite3* db, const std::string& table) {
  return query_int(db, "SELECT count(*) FROM \"" + table + "\"").value_or(-1);
}

// -- writing behind a runtime's back ------------------------------------------

void exec_sql(const std::string& path, const std::string& sql) {
  connection c{path, true};
  char* msg = nullptr;
  auto rc = sqlite3_exec(c.get(), sql.c_str(), nullptr, nullptr, &msg);
  std::string why = msg ? msg : "";
  sqlite3_free(msg);
  INFO(sql << ": " << why);
  REQUIRE(rc == SQLITE_OK);
  REQUIRE(sqlite3_changes(c.get()) > 0);
}

// -- dumps: table contents as comparable text ---------------------------------

std::string render_cell(sqlite3_stmt* stmt, int col) {
  char buf[64];
  switch (sqlite3_column_type(stmt, col)) {
    case SQLITE_NULL:
      return "NULL";
    case SQLITE_INTEGER:
      return "i:" + std::to_string(sqlite3_column_int64(stmt, col));
    case SQLITE_FLOAT:
      std::snprintf(buf, sizeof(buf), "f:%.17g",
                    sqlite3_column_double(stmt, col));
      return buf;
    case SQLITE_TEXT: {
      auto ptr = reinterpret_cast<const char*>(sqlite3_column_text(stmt, col));
      return "t:'" + std::string(ptr, sqlite3_column_bytes(stmt, col)) + "'";
    }
    default: {
      auto ptr = static_cast<const unsigned char*>(
        sqlite3_column_blob(stmt, col));
      std::string out = "b:";
      for (int i = 0; i < sqlite3_column_bytes(stmt, col); ++i) {
        std::snprintf(buf, sizeof(buf), "%02x", ptr[i]);
        out += buf;
      }
      return out;
    }
  }
}

std::string dump_query(sqlite3* db, const std::string& sql,
                       bool skip_version) {
  return dump_rows(db, sql, skip_version, "");
}

std::string dump_table(sqlite3* db, const std::string& table,
                       const std::string& order_by, bool skip_version) {
  return dump_rows(db,
                   "SELECT * FROM \"" + table + "\" ORDER BY \"" + order_by
                     + "\"",
                   skip_version, table + ": ");
}

} // namespace eventactors::test
