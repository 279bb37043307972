// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "storage/sqlite/schema.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <vector>

#include <sqlite3.h>

#include "storage/sqlite/codec.hpp"
#include "eventactors/error.hpp"
#include "model/model.hpp"
#include "storage/sqlite/database.hpp"
#include "storage/sqlite/format.hpp"
#include "storage/sqlite/statement.hpp"
#include "storage/sqlite/transaction.hpp"

namespace eventactors::schema {

namespace {

/// A column as the file has it.
struct column_info {
  std::string type;
  bool not_null = false;
  bool has_default = false;
  bool primary_key = false;
};

/// Returns the columns of `table`; empty when the table does not exist.
caf::expected<std::map<std::string, column_info>>
table_columns(sqlite3* db, const std::string& table) {
  auto stmt = sqlite::statement::prepare(
    db, "PRAGMA table_info(" + codec::quote(table) + ")", false);
  if (!stmt)
    return std::move(stmt.error());
  std::map<std::string, column_info> result;
  for (;;) {
    auto row = stmt->step();
    if (!row)
      return std::move(row.error());
    if (!*row)
      break;
    result.emplace(std::string{stmt->column_text(1)},
                   column_info{std::string{stmt->column_text(2)},
                               stmt->column_int(3) != 0,
                               !stmt->is_null(4), stmt->column_int(5) != 0});
  }
  return result;
}

/// Returns the indexes of `table` with their columns.
caf::expected<std::map<std::string, std::vector<std::string>>>
table_indexes(sqlite3* db, const std::string& table) {
  std::map<std::string, std::vector<std::string>> result;
  auto list = sqlite::statement::prepare(
    db, "PRAGMA index_list(" + codec::quote(table) + ")", false);
  if (!list)
    return std::move(list.error());
  std::vector<std::string> names;
  for (;;) {
    auto row = list->step();
    if (!row)
      return std::move(row.error());
    if (!*row)
      break;
    names.emplace_back(list->column_text(1));
  }
  for (auto& name : names) {
    auto info = sqlite::statement::prepare(
      db, "PRAGMA index_info(" + codec::quote(name) + ")", false);
    if (!info)
      return std::move(info.error());
    auto& cols = result[name];
    for (;;) {
      auto row = info->step();
      if (!row)
        return std::move(row.error());
      if (!*row)
        break;
      cols.emplace_back(info->column_text(2));
    }
  }
  return result;
}

/// The first word of a declared column type ("TEXT COLLATE NOCASE" is
/// TEXT).
std::string base_type(std::string_view declared) {
  auto space = declared.find(' ');
  std::string result{declared.substr(0, space)};
  for (auto& c : result)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return result;
}

std::string key_column_type(record_id_kind k) {
  return k == record_id_kind::integer ? "INTEGER" : "TEXT";
}

std::string actor_column_type(actor_key_kind k) {
  return k == actor_key_kind::integer ? "INTEGER" : "TEXT";
}

/// Whether column `col` of `table` holds any value other than null.
caf::expected<bool> holds_data(sqlite3* db, const std::string& table,
                               const std::string& col) {
  auto stmt = sqlite::statement::prepare(
    db,
    "SELECT 1 FROM " + codec::quote(table) + " WHERE " + codec::quote(col)
      + " IS NOT NULL LIMIT 1",
    false);
  if (!stmt)
    return std::move(stmt.error());
  auto row = stmt->step();
  if (!row)
    return std::move(row.error());
  return *row;
}

/// Runs one schema change, or, when only checking (a read-only start),
/// reports what the file lacks: reading it would need a migration.
caf::error change(sqlite3* db, bool apply, const std::string& sql,
                  const std::string& lacks) {
  if (apply)
    return sqlite::exec(db, sql);
  return make_error(errc::schema_mismatch,
                    lacks + "; the file needs a migration, which a "
                            "read-only start does not do (start a "
                            "writable runtime, e.g. a writing command, "
                            "once)");
}

bool contains(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

/// The columns of an event log table that are not actor columns.
bool builtin_log_column(const std::string& name) {
  static const std::set<std::string> names{
    "id",   "resource", "record_id", "action",      "action_type",
    "data", "changed_attributes",    "metadata",    "version",
    "occurred_at",      "key_id"};
  return names.count(name) != 0;
}

/// What the file holds for a column the definitions no longer define:
/// dropped on request, renamed to the definition that names it as a former
/// name, kept when it holds no data, and an error otherwise. `owner` names
/// the table for errors ("resource X: table t", "event log events").
/// `target` is the name `col` was renamed to, if any. Updates `cols`.
caf::error migrate_former(sqlite3* db, bool apply, const std::string& owner,
                          const std::string& table,
                          std::map<std::string, column_info>& cols,
                          const std::string& col, bool dropped,
                          const std::string* target, const char* what,
                          const char* drop_how, const char* rename_how) {
  auto qtable = codec::quote(table);
  if (dropped) {
    // Nothing reads the column, so a read-only start leaves it.
    if (apply) {
      if (auto err = sqlite::exec(db, "ALTER TABLE " + qtable
                                        + " DROP COLUMN " + codec::quote(col)))
        return make_error(errc::schema_mismatch,
                          owner + ": cannot drop the column " + col
                            + " of table " + table + ": " + message(err));
      cols.erase(col);
    }
    return {};
  }
  if (target && !cols.count(*target)) {
    if (auto err = change(db, apply,
                          "ALTER TABLE " + qtable + " RENAME COLUMN "
                            + codec::quote(col) + " TO "
                            + codec::quote(*target),
                          owner + ": table " + table + " has the column "
                            + col + ", which the definition renames to "
                            + *target))
      return err;
    auto info = cols[col];
    cols.erase(col);
    cols.emplace(*target, std::move(info));
    return {};
  }
  auto data = holds_data(db, table, col);
  if (!data)
    return std::move(data.error());
  if (!*data)
    return {};
  if (target)
    return make_error(errc::schema_mismatch,
                      owner + ": table " + table + " has both the column "
                        + col + ", which holds " + what
                        + ", and the column " + *target
                        + " it was renamed to; merge them by hand or "
                          "declare "
                        + col + " dropped (" + drop_how + ")");
  return make_error(errc::schema_mismatch,
                    owner + ": table " + table + " has the column " + col
                      + ", which holds " + what
                      + " but which the definition does not define; if it "
                        "was renamed, list "
                      + col + " in renamed_from of " + rename_how
                      + "; if it was removed, declare it dropped ("
                      + drop_how + "), which deletes its data");
}

/// Creates the indexes of an event log that are missing.
caf::error create_log_indexes(sqlite3* db, const event_log& log) {
  auto table = codec::quote(log.name());
  auto prefix = log.name() + ".";
  if (auto err = sqlite::exec(db, "CREATE INDEX IF NOT EXISTS "
                         + codec::quote(prefix + "resource_record_id")
                         + " ON " + table + " (resource, record_id)"))
    return err;
  return sqlite::exec(db, "CREATE INDEX IF NOT EXISTS "
                            + codec::quote(prefix + "occurred_at") + " ON "
                            + table + " (occurred_at)");
}

/// The CREATE TABLE statement of an event log.
std::string create_log_sql(const event_log& log) {
  std::string sql = "CREATE TABLE " + codec::quote(log.name()) + " (";
  if (log.id_kind() == event_id_kind::integer)
    sql += "id INTEGER PRIMARY KEY AUTOINCREMENT";
  else
    sql += "id TEXT PRIMARY KEY NOT NULL";
  sql += ", resource TEXT NOT NULL";
  sql += ", record_id " + key_column_type(log.record_id()) + " NOT NULL";
  sql += ", action TEXT NOT NULL";
  sql += ", action_type TEXT NOT NULL CHECK (action_type IN "
         "('create', 'update', 'destroy'))";
  for (auto& col : log.actor_columns()) {
    sql += ", " + codec::quote(col.name) + " " + actor_column_type(col.type);
    if (!col.allow_nil)
      sql += " NOT NULL";
  }
  sql += ", data TEXT NOT NULL DEFAULT '{}'";
  sql += ", changed_attributes TEXT NOT NULL DEFAULT '{}'";
  sql += ", metadata TEXT NOT NULL DEFAULT '{}'";
  sql += ", version INTEGER NOT NULL DEFAULT 1";
  sql += ", occurred_at TEXT NOT NULL";
  // The key an encrypted event's payloads were sealed with; null for
  // plain-text events.
  sql += ", key_id TEXT)";
  return sql;
}

caf::error migrate_log(sqlite3* db, const event_log& log, bool apply) {
  auto cols = table_columns(db, log.name());
  if (!cols)
    return std::move(cols.error());
  auto table = codec::quote(log.name());
  auto owner = "event log " + log.name();
  if (cols->empty()) {
    if (!apply)
      return change(db, apply, {},
                    owner + ": the database has no table " + log.name());
    if (auto err = sqlite::exec(db, create_log_sql(log)))
      return err;
  } else {
    auto& id_type = (*cols)["id"].type;
    auto want = log.id_kind() == event_id_kind::integer ? "INTEGER" : "TEXT";
    if (id_type != want)
      return make_error(errc::schema_mismatch,
                        "event log " + log.name() + ": the stored id column "
                        "is " + id_type + " but the definition asks for "
                          + to_string(log.id_kind()) + " ids");
    // Columns the log does not define (anymore): renamed or dropped
    // actor columns, or attribution that would be hidden.
    std::vector<std::string> undefined;
    for (auto& [name, col] : *cols)
      if (!builtin_log_column(name) && !log.column_named(name))
        undefined.push_back(name);
    for (auto& name : undefined) {
      const std::string* target = nullptr;
      for (auto& col : log.actor_columns())
        if (contains(col.renamed_from, name))
          target = &col.name;
      if (auto err = migrate_former(
            db, apply, owner, log.name(), *cols, name,
            contains(log.dropped_actor_columns(), name), target,
            "actor keys (the attribution of events)",
            "drop_actor_column, or \"dropped_actor_columns\" in JSON",
            "the new actor column"))
        return err;
    }
    // An actor column stored with another type than its keys.
    for (auto& col : log.actor_columns()) {
      auto i = cols->find(col.name);
      if (i == cols->end())
        continue;
      auto stored = base_type(i->second.type);
      auto wanted = actor_column_type(col.type);
      if (stored != wanted)
        return make_error(errc::schema_mismatch,
                          owner + ": the actor column " + col.name
                            + " of table " + log.name() + " is " + stored
                            + " but the definition asks for "
                            + to_string(col.type) + " keys (" + wanted
                            + "); migrate the column by hand or rename it");
    }
    for (auto& col : log.actor_columns())
      if (!cols->count(col.name))
        if (auto err = change(db, apply,
                              "ALTER TABLE " + table + " ADD COLUMN "
                                + codec::quote(col.name) + " "
                                + actor_column_type(col.type),
                              owner + ": table " + log.name()
                                + " has no actor column " + col.name))
          return err;
    if (!cols->count("key_id"))
      if (auto err = change(db, apply,
                            "ALTER TABLE " + table
                              + " ADD COLUMN key_id TEXT",
                            owner + ": table " + log.name()
                              + " has no column key_id"))
        return err;
  }
  if (!apply)
    return {};
  return create_log_indexes(db, log);
}

using columns = std::map<std::string, column_info>;

/// Creates the table of a resource that has none.
caf::error create_resource_table(sqlite3* db, const resource& res) {
  auto table = codec::quote(res.table());
  std::string sql = "CREATE TABLE " + table + " (";
  bool first = true;
  for (auto& attr : res.attributes()) {
    if (!first)
      sql += ", ";
    first = false;
    sql += codec::quote(attr.name) + " " + codec::column_type(attr.type);
    if (attr.name == res.primary_key())
      sql += " PRIMARY KEY";
    if (!attr.options.allow_nil)
      sql += " NOT NULL";
  }
  sql += ", " + std::string{version_column} + " INTEGER NOT NULL DEFAULT 1)";
  if (auto err = sqlite::exec(db, sql))
    return err;
  return {};
}

/// Columns no attribute defines (anymore): renamed or dropped attributes,
/// or data a replay would lose. A column to drop loses our indexes on it
/// first (SQLite refuses to drop an indexed column); the identities and
/// foreign keys of the definitions never include it. Renames show in `cols`
/// afterwards.
caf::error migrate_undefined_columns(sqlite3* db, const resource& res,
                                     columns& cols,
                                     const std::string& owner, bool apply) {
  std::vector<std::string> undefined;
  for (auto& [name, col] : cols)
    if (name != version_column && !res.find_attribute(name))
      undefined.push_back(name);
  for (auto& name : undefined) {
    bool dropped = contains(res.dropped_attributes(), name);
    if (dropped && apply) {
      auto indexes = table_indexes(db, res.table());
      if (!indexes)
        return std::move(indexes.error());
      for (auto& [index, on] : *indexes)
        if ((index.rfind(res.table() + ".identity.", 0) == 0
             || index.rfind(res.table() + ".fk.", 0) == 0)
            && contains(on, name))
          if (auto err = sqlite::exec(db, "DROP INDEX "
                                            + codec::quote(index)))
            return err;
    }
    const std::string* target = nullptr;
    for (auto& attr : res.attributes())
      if (contains(attr.options.renamed_from, name))
        target = &attr.name;
    if (auto err = migrate_former(
          db, apply, owner, res.table(), cols, name, dropped, target,
          "data", "drop_attribute, or \"dropped_attributes\" in JSON",
          "the new attribute"))
      return err;
  }
  return {};
}

/// The columns a migration cannot fix: a missing primary key, a column of
/// another type than its attribute, a leftover column that may not be null.
caf::error check_resource_columns(const resource& res, const columns& cols,
                                  bool apply) {
  if (!cols.count(res.primary_key()))
    return make_error(errc::schema_mismatch,
                      "table " + res.table() + " of " + res.name()
                        + " has no primary key column "
                        + res.primary_key());
  // A column stored with another type than the attribute's cannot be
  // migrated automatically.
  for (auto& attr : res.attributes()) {
    auto i = cols.find(attr.name);
    if (i == cols.end())
      continue;
    auto stored = base_type(i->second.type);
    auto wanted = base_type(codec::column_type(attr.type));
    if (stored != wanted)
      return make_error(errc::schema_mismatch,
                        res.name() + "." + attr.name + ": the column in "
                          "table " + res.table() + " is " + stored
                          + " but the attribute is a "
                          + attr.type.name() + " (" + wanted
                          + "); migrate the table by hand or rename the "
                            "attribute");
  }
  // A column no attribute defines anymore and that holds no data stays,
  // but one that may not be null would make every insert fail.
  if (apply)
    for (auto& [name, col] : cols)
      if (name != version_column && !res.find_attribute(name)
          && col.not_null && !col.has_default && !col.primary_key)
        return make_error(errc::schema_mismatch,
                          res.name() + ": table " + res.table()
                            + " has the column " + name
                            + ", which no attribute defines anymore and "
                              "which may not be null, so no record could "
                              "be inserted; declare it dropped ("
                              "drop_attribute, or \"dropped_attributes\" "
                              "in JSON: the start then runs ALTER TABLE "
                            + res.table() + " DROP COLUMN " + name
                            + ") or define the attribute again");
  return {};
}

/// New attributes become new (nullable) columns; the runtime enforces
/// allow_nil for new writes.
caf::error add_resource_columns(sqlite3* db, const resource& res,
                                const columns& cols, const std::string& owner,
                                bool apply) {
  auto table = codec::quote(res.table());
  for (auto& attr : res.attributes())
    if (!cols.count(attr.name))
      if (auto err = change(db, apply,
                            "ALTER TABLE " + table + " ADD COLUMN "
                              + codec::quote(attr.name) + " "
                              + codec::column_type(attr.type),
                            owner + ": table " + res.table()
                              + " has no column " + attr.name))
        return err;
  if (!cols.count(version_column))
    if (auto err = change(db, apply,
                          "ALTER TABLE " + table + " ADD COLUMN "
                            + std::string{version_column}
                            + " INTEGER NOT NULL DEFAULT 1",
                          owner + ": table " + res.table()
                            + " has no column " + version_column))
      return err;
  return {};
}

/// Makes a resource's identity and foreign-key indexes those of the
/// definitions.
caf::error sync_resource_indexes(sqlite3* db, const resource_info& info) {
  auto& res = *info.def;
  auto table = codec::quote(res.table());
  // Index names contain a dot, which identifiers cannot: the names of two
  // resources' indexes never collide. Identity indexes that the definitions
  // no longer have, or whose columns changed, are dropped (and recreated).
  auto indexes = table_indexes(db, res.table());
  if (!indexes)
    return std::move(indexes.error());
  auto identity_prefix = res.table() + ".identity.";
  auto fk_prefix = res.table() + ".fk.";
  std::map<std::string, std::vector<std::string>> wanted;
  for (auto& id : res.identities())
    wanted[identity_prefix + id.name] = id.attributes;
  for (auto& fk : info.foreign_keys)
    wanted[fk_prefix + fk] = {fk};
  for (auto& [name, cols] : *indexes) {
    bool ours = name.rfind(identity_prefix, 0) == 0
                || name.rfind(fk_prefix, 0) == 0;
    if (!ours)
      continue;
    auto i = wanted.find(name);
    if (i == wanted.end() || i->second != cols)
      if (auto err = sqlite::exec(db, "DROP INDEX " + codec::quote(name)))
        return err;
  }
  for (auto& id : res.identities()) {
    std::string sql = "CREATE UNIQUE INDEX IF NOT EXISTS "
                      + codec::quote(identity_prefix + id.name) + " ON "
                      + table + " (";
    for (size_t i = 0; i < id.attributes.size(); ++i) {
      if (i > 0)
        sql += ", ";
      sql += codec::quote(id.attributes[i]);
    }
    sql += ")";
    if (auto err = sqlite::exec(db, sql))
      return make_error(errc::schema_mismatch,
                        res.name() + ": cannot create the unique index of "
                        "identity " + id.name + ": " + message(err));
  }
  for (auto& fk : info.foreign_keys)
    if (auto err = sqlite::exec(db, "CREATE INDEX IF NOT EXISTS "
                                      + codec::quote(fk_prefix + fk) + " ON "
                                      + table + " (" + codec::quote(fk)
                                      + ")"))
      return err;
  return {};
}

caf::error migrate_resource(sqlite3* db, const resource_info& info,
                            bool apply) {
  auto& res = *info.def;
  auto cols = table_columns(db, res.table());
  if (!cols)
    return std::move(cols.error());
  auto owner = "resource " + res.name();
  if (cols->empty()) {
    if (!apply)
      return change(db, apply, {},
                    owner + ": the database has no table " + res.table());
    if (auto err = create_resource_table(db, res))
      return err;
  } else {
    if (auto err = migrate_undefined_columns(db, res, *cols, owner, apply))
      return err;
    if (auto err = check_resource_columns(res, *cols, apply))
      return err;
    if (auto err = add_resource_columns(db, res, *cols, owner, apply))
      return err;
  }
  if (!apply)
    return {};
  return sync_resource_indexes(db, info);
}

/// Brings the framework's own tables from any older format to
/// `format_version` (the definitions' tables are migrated apart). Each step
/// creates only what is missing, so a step runs again harmlessly.
caf::error migrate_formats(sqlite3* db) {
  // Format 2: the idempotency keys of committed calls, written in the
  // transaction of the call's events (a new, empty table for older files).
  if (auto err = sqlite::exec(db, "CREATE TABLE IF NOT EXISTS "
                                  "eventactors_idempotency (key TEXT PRIMARY "
                                  "KEY NOT NULL, resource TEXT NOT NULL, "
                                  "action TEXT NOT NULL, request_hash TEXT "
                                  "NOT NULL, result TEXT NOT NULL, event_ids "
                                  "TEXT NOT NULL DEFAULT '[]', committed_at "
                                  "TEXT NOT NULL)"))
    return err;
  return sqlite::exec(db, "CREATE INDEX IF NOT EXISTS "
                          "\"eventactors_idempotency.committed_at\" ON "
                          "eventactors_idempotency (committed_at)");
}

} // namespace

caf::error check(sqlite3* db, const std::string& path) {
  return check_format(db, path);
}

caf::error check_matches(sqlite3* db, const model& m) {
  if (auto err = check_format(db, "the database"))
    return err;
  auto app_id = pragma_int(db, "PRAGMA application_id");
  if (!app_id)
    return std::move(app_id.error());
  if (*app_id != application_id)
    return make_error(errc::schema_mismatch,
                      "the database is empty: no runtime has created its "
                      "tables yet");
  if (auto err = probe_btrees(db))
    return err;
  // One read transaction: the checks see one state of the file.
  auto tx = sqlite::transaction::begin_read(db);
  if (!tx)
    return std::move(tx.error());
  for (auto& log : m.definitions().logs())
    if (auto err = migrate_log(db, log, false))
      return err;
  for (auto& res : m.definitions().resources())
    if (auto err = migrate_resource(db, *m.find(res.name()), false))
      return err;
  return {};
}

caf::error migrate(sqlite3* db, const model& m) {
  if (auto err = check_format(db, "the database"))
    return err;
  if (auto err = probe_btrees(db))
    return err;
  auto tx = sqlite::transaction::begin(db);
  if (!tx)
    return std::move(tx.error());
  if (auto err = sqlite::exec(db, "CREATE TABLE IF NOT EXISTS "
                                  "eventactors_meta (key TEXT PRIMARY KEY, "
                                  "value TEXT NOT NULL)"))
    return err;
  // Per encrypted log and key id, the key's check value (a fixed text
  // sealed with it): a wrong key under a known id is refused before it
  // writes anything. Only writers create it; readers never need it.
  if (auto err = sqlite::exec(db, "CREATE TABLE IF NOT EXISTS "
                                  "eventactors_key_checks (log TEXT NOT "
                                  "NULL, key_id TEXT NOT NULL, check_value "
                                  "BLOB NOT NULL, PRIMARY KEY (log, key_id))"))
    return err;
  if (auto err = migrate_formats(db))
    return err;
  for (auto& log : m.definitions().logs())
    if (auto err = migrate_log(db, log, true))
      return err;
  for (auto& res : m.definitions().resources())
    if (auto err = migrate_resource(db, *m.find(res.name()), true))
      return err;
  if (auto err = sqlite::exec(db, "PRAGMA user_version="
                                    + std::to_string(format_version)
                                    + "; PRAGMA application_id="
                                    + std::to_string(application_id)))
    return err;
  return tx->commit();
}

} // namespace eventactors::schema
