// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "eventactors/environment.hpp"
#include "model/model.hpp"
#include "sqlite/database.hpp"
#include "sqlite/statement.hpp"
#include "sqlite/statement_cache.hpp"
#include "unit.hpp"
#include "uuid.hpp"

namespace eventactors {

/// Applies units to the database: the only writer. Wraps each unit in a
/// savepoint inside a longer transaction, so many units share one commit
/// (group commit) while a failing unit takes only itself back.
///
/// Not thread-safe: owned by the event log actor.
class writer {
public:
  writer(writer&&) noexcept = default;
  writer& operator=(writer&&) noexcept = default;

  /// Opens the write connection to `path` and migrates the schema. UUID v7
  /// event ids take their time from `env`'s clock and their random bits
  /// from its UUID generator, and continue after the largest stored id.
  static caf::expected<writer> open(std::shared_ptr<const model> m,
                                    const std::string& path,
                                    const sqlite::open_options& opts,
                                    environment env);

  /// Returns whether a transaction is open.
  bool in_transaction() const noexcept {
    return open_;
  }

  /// Starts a transaction (`BEGIN IMMEDIATE`). When another connection
  /// (another process) committed since this one last looked, raises the
  /// integer key counters above every key committed since.
  [[nodiscard]] caf::error begin();

  /// Commits the open transaction.
  [[nodiscard]] caf::error commit();

  /// Rolls the open transaction back.
  void rollback() noexcept;

  /// Applies `u` inside the open transaction, all ops or none. Returns the
  /// ids of the events written.
  caf::expected<unit_receipt> apply(const unit& u);

  /// Applies `u` inside the open transaction without a savepoint of its
  /// own: on error, some of its ops may stay written, and the caller must
  /// roll the whole transaction back (replay does: it commits everything
  /// or nothing).
  caf::expected<unit_receipt> apply_unguarded(const unit& u);

  sqlite3* get() const noexcept {
    return db_.get();
  }

private:
  writer(std::shared_ptr<const model> m, sqlite::database db,
         environment env);

  /// Returns the next UUID v7 event id.
  std::string next_event_id();

  caf::expected<sqlite::statement*> prepare(const std::string& sql);

  /// Runs a statement without parameters or results through the statement
  /// cache (transaction control runs for every unit: parsing it each time
  /// would cost more than the rest of a small unit).
  caf::error run(const std::string& sql);

  caf::error apply_op(const write_op& op, json::value& event_id);

  caf::error write_record(const resource_info& res, const write_op& op);

  caf::expected<json::value> write_event(const write_op& op);

  /// Raises the integer key counters above the keys other connections
  /// committed, when `PRAGMA data_version` says one did. Inside the write
  /// transaction.
  caf::error refresh_keys();

  /// Fails an insert whose generated key another process used meanwhile
  /// (with `errc::concurrent_modification`: the action runs again).
  caf::error check_generated_key(const resource_info& res,
                                 const write_op& op);

  /// Checks `key` against the check value the file keeps for `key_id` of
  /// `log`, and stores one when there is none (after checking the key
  /// against an event sealed with it, if any). Inside a write transaction.
  caf::error check_key(const event_log& log, const std::string& key_id,
                       const encryption_key& key);

  std::shared_ptr<const model> model_;
  sqlite::database db_;
  sqlite::statement_cache cache_;
  bool open_ = false;
  environment env_;
  uuid::v7_sequence event_ids_;
  /// The INSERT of each event log, built on first use.
  std::unordered_map<const event_log*, std::string> event_sql_;
  /// `PRAGMA data_version` when this connection last looked.
  std::optional<int64_t> data_version_;
  /// Per event log: the largest rowid looked at for keys.
  std::unordered_map<const event_log*, int64_t> seen_rowid_;
  /// Per integer-key resource: keys below were possibly committed by
  /// another process; a generated key below is checked before it is used.
  std::unordered_map<const resource_info*, int64_t> key_floor_;
  /// Key ids whose key was checked against the file's check value.
  std::set<std::pair<const event_log*, std::string>> checked_keys_;
  /// Key ids checked inside the open transaction: they join `checked_keys_`
  /// when it commits and are forgotten when it (or a unit) rolls back,
  /// since the check value they may have written goes with it.
  std::set<std::pair<const event_log*, std::string>> pending_keys_;
};

} // namespace eventactors
