// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "eventactors/environment.hpp"
#include "model/model.hpp"
#include "storage/sqlite/checkpointer.hpp"
#include "storage/sqlite/database.hpp"
#include "storage/sqlite/statement.hpp"
#include "storage/sqlite/statement_cache.hpp"
#include "storage/writer.hpp"
#include "storage/unit.hpp"
#include "base/uuid.hpp"

namespace eventactors::sqlite {

/// The SQLite writer: the write connection (`BEGIN IMMEDIATE`, a savepoint
/// per unit, statements prepared once), and the background checkpointer
/// attached to it, if any.
///
/// Not thread-safe: one owner at a time (the write queue).
class writer : public eventactors::writer {
public:
  /// Detaches and stops the checkpointer, then closes the connection.
  ~writer() override;

  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  /// Opens the write connection to `path` and migrates the schema; with
  /// `checkpoint_pages`, starts a checkpointer with that threshold and
  /// attaches it. Refuses, untouched, a non-empty file that is not ours.
  /// UUID v7 event ids take their time from `env`'s clock and their random
  /// bits from its UUID generator, and continue after the largest stored
  /// id.
  static caf::expected<std::unique_ptr<writer>>
  open(std::shared_ptr<const model> m, const std::string& path,
       const open_options& opts, environment env,
       uint32_t checkpoint_pages = 0);

  // -- eventactors::writer ----------------------------------------------------

  bool in_transaction() const noexcept override {
    return open_;
  }

  [[nodiscard]] caf::error begin() override;

  [[nodiscard]] caf::error commit() override;

  void rollback() noexcept override;

  caf::expected<unit_receipt> apply(const unit& u) override;

  caf::expected<unit_receipt> apply_unguarded(const unit& u) override;

  std::unique_ptr<eventactors::reader> transaction_reader() override;

  [[nodiscard]] caf::error clear(const resource_info& res) override;

  caf::expected<uint64_t> copy_events(eventactors::reader& src,
                                      const event_log& log,
                                      const event_filter& f) override;

  [[nodiscard]] caf::error
  make_self_contained(std::string_view who) override;

  // -- SQLite specifics -------------------------------------------------------

  /// The write connection (for tests).
  sqlite3* get() const noexcept {
    return db_.get();
  }

private:
  writer(std::shared_ptr<const model> m, database db, std::string path,
         environment env);

  /// Checks each encrypted log's current key against the file, and makes
  /// new UUID v7 event ids sort after every stored one.
  caf::error prepare_logs();

  /// Returns the next UUID v7 event id.
  std::string next_event_id();

  caf::expected<statement*> prepare(const std::string& sql);

  /// Returns the statement inserting a record of `res` (every attribute,
  /// then version 1), preparing it on first use.
  caf::expected<statement*> insert_statement(const resource_info& res);

  /// Runs a statement without parameters or results through the statement
  /// cache (transaction control runs for every unit: parsing it each time
  /// would cost more than the rest of a small unit).
  caf::error run(const std::string& sql);

  caf::error apply_op(const write_op& op, json::value& event_id);

  /// Stores a unit's idempotency entry with the unit's receipt, inside its
  /// savepoint, after deleting a few expired entries. Fails with
  /// `errc::conflict` when another call committed the key meanwhile (and
  /// it has not expired). (idempotency.cpp)
  caf::error write_idempotency(const idempotency_entry& e,
                               const unit_receipt& receipt);

  caf::error write_record(const resource_info& res, const write_op& op);

  caf::expected<json::value> write_event(const write_op& op);

  /// Seals the three `payloads` of `op`'s event (id `id`) with the current
  /// key of `log`, bound to the event; returns the key's id.
  caf::expected<std::string>
  seal_payloads(const event_log& log, const write_op& op,
                const json::value& id, std::string_view type,
                std::string_view at, std::string (&payloads)[3]);

  /// The id AUTOINCREMENT would give the next event of `log`.
  caf::expected<int64_t> next_integer_id(const event_log& log);

  /// The INSERT of an event of `log`, built on first use.
  const std::string& event_insert_sql(const event_log& log);

  /// Raises the integer key counters above the keys other connections
  /// committed, when `PRAGMA data_version` says one did. Inside the write
  /// transaction.
  caf::error refresh_keys();

  /// Raises the key counters and floors above the largest keys of the
  /// tables and the largest record ids of events in `top` (by resource).
  caf::error
  raise_key_counters(const std::map<std::string, int64_t, std::less<>>& top);

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
  database db_;
  std::string path_;
  /// Declared after the connection: it closes its own first, so that the
  /// writer's is the last (the last connection to close removes the WAL).
  std::unique_ptr<checkpointer> ckpt_;
  statement_cache cache_;
  /// Per resource, the statement inserting a record (most writes do):
  /// kept apart from the cache, whose lookup would hash its text.
  std::unordered_map<const resource_info*, statement> insert_;
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

} // namespace eventactors::sqlite
