// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "storage/sqlite/format.hpp"

#include <string>
#include <vector>

#include <sqlite3.h>

#include "eventactors/error.hpp"
#include "storage/sqlite/codec.hpp"
#include "storage/sqlite/schema.hpp"
#include "storage/sqlite/statement.hpp"

namespace eventactors::schema {

caf::expected<int64_t> pragma_int(sqlite3* db, const char* pragma) {
  auto stmt = sqlite::statement::prepare(db, pragma, false);
  if (!stmt)
    return std::move(stmt.error());
  auto row = stmt->step();
  if (!row)
    return std::move(row.error());
  if (!*row)
    return int64_t{0};
  return stmt->column_int(0);
}

caf::error check_format(sqlite3* db, const std::string& where) {
  auto version = pragma_int(db, "PRAGMA user_version");
  if (!version)
    return make_error(errc::storage_failure,
                      "cannot read " + where + ": " + message(version.error()));
  auto app_id = pragma_int(db, "PRAGMA application_id");
  if (!app_id)
    return std::move(app_id.error());
  if (*app_id != 0 && *app_id != application_id)
    return make_error(errc::schema_mismatch,
                      where + " belongs to another application "
                              "(application_id "
                        + std::to_string(*app_id) + ")");
  if (*app_id == 0) {
    // Not stamped: a new (empty) file, which becomes ours, or another
    // program's database, which must stay untouched.
    auto stmt = sqlite::statement::prepare(
      db,
      "SELECT name FROM sqlite_schema WHERE substr(name, 1, 7) != 'sqlite_' "
      "ORDER BY name LIMIT 4",
      false);
    if (!stmt)
      return make_error(errc::storage_failure, "cannot read " + where + ": "
                                                 + message(stmt.error()));
    std::vector<std::string> names;
    for (;;) {
      auto row = stmt->step();
      if (!row)
        return make_error(errc::storage_failure,
                          "cannot read " + where + ": "
                            + message(row.error()));
      if (!*row)
        break;
      names.emplace_back(stmt->column_text(0));
    }
    if (!names.empty()) {
      std::string list;
      for (size_t i = 0; i < names.size() && i < 3; ++i)
        list += (i > 0 ? ", " : "") + names[i];
      if (names.size() > 3)
        list += ", ...";
      return make_error(errc::schema_mismatch,
                        where + " is not an eventactors log: it holds "
                                "tables or indexes ("
                          + list
                          + ") but not the eventactors application id "
                            "(PRAGMA application_id is 0); it was left "
                            "unchanged");
    }
  }
  if (*version > format_version)
    return make_error(errc::schema_mismatch,
                      where + " was written by a newer libeventactors "
                              "(storage format "
                        + std::to_string(*version) + "; this build knows "
                        + std::to_string(format_version) + ")");
  return {};
}

/// Steps through every row `sql` yields; a read error names `what`.
/// With `optional`, a statement SQLite cannot plan (an index of another
/// application with a collation or condition the probe does not repeat) is
/// skipped.
namespace {

caf::error read_all(sqlite3* db, const std::string& sql,
                    const std::string& what, bool optional = false) {
  auto stmt = sqlite::statement::prepare(db, sql, false);
  if (!stmt) {
    if (optional && sqlite3_errcode(db) == SQLITE_ERROR)
      return {};
    return make_error(errc::storage_failure,
                      "cannot read " + what + ": " + message(stmt.error()));
  }
  for (;;) {
    auto row = stmt->step();
    if (!row)
      return make_error(errc::storage_failure,
                        "cannot read " + what + ": " + message(row.error()));
    if (!*row)
      return {};
  }
}

} // namespace

/// Reads the first and the last entry of every table and index in the file.
/// That walks each b-tree from its root down to both ends: a damaged root
/// or schema page, the usual result of a file overwritten or cut short,
/// is found at start-up instead of by the first action that touches it.
/// It is no full check (PRAGMA integrity_check reads every page), but its
/// cost does not grow with the file.
caf::error probe_btrees(sqlite3* db) {
  struct btree {
    std::string type;
    std::string name;
    std::string table;
    bool plain_index = false;
  };
  std::vector<btree> trees;
  {
    auto stmt = sqlite::statement::prepare(
      db,
      "SELECT type, name, tbl_name, sql IS NULL OR sql NOT LIKE '% WHERE %' "
      "FROM sqlite_schema WHERE type IN ('table', 'index') AND rootpage > 0 "
      "AND (type = 'index' OR sql NOT LIKE '%WITHOUT ROWID%')",
      false);
    if (!stmt)
      return make_error(errc::storage_failure,
                        "cannot read the schema: " + message(stmt.error()));
    for (;;) {
      auto row = stmt->step();
      if (!row)
        return make_error(errc::storage_failure,
                          "cannot read the schema: " + message(row.error()));
      if (!*row)
        break;
      trees.push_back({std::string{stmt->column_text(0)},
                       std::string{stmt->column_text(1)},
                       std::string{stmt->column_text(2)},
                       stmt->column_int(3) != 0});
    }
  }
  for (auto& t : trees) {
    auto what = t.type + " " + t.name;
    if (t.type == "table") {
      for (auto dir : {"ASC", "DESC"})
        if (auto err = read_all(db, "SELECT * FROM " + codec::quote(t.name)
                                      + " ORDER BY rowid " + dir + " LIMIT 1",
                                what))
          return err;
      continue;
    }
    if (!t.plain_index)
      continue;
    // An index is walked by ordering on its first column through it.
    auto stmt = sqlite::statement::prepare(
      db, "SELECT name FROM pragma_index_info(" + codec::quote(t.name)
            + ") WHERE seqno = 0",
      false);
    if (!stmt)
      return make_error(errc::storage_failure,
                        "cannot read " + what + ": " + message(stmt.error()));
    auto row = stmt->step();
    if (!row)
      return make_error(errc::storage_failure,
                        "cannot read " + what + ": " + message(row.error()));
    if (!*row || stmt->is_null(0))
      continue; // an index on an expression
    auto col = codec::quote(std::string{stmt->column_text(0)});
    for (auto dir : {"ASC", "DESC"})
      if (auto err = read_all(db, "SELECT " + col + " FROM "
                                    + codec::quote(t.table) + " INDEXED BY "
                                    + codec::quote(t.name) + " ORDER BY "
                                    + col + " " + dir + " LIMIT 1",
                              what, true))
        return err;
  }
  return {};
}

} // namespace eventactors::schema
