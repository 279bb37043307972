// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/expected.hpp>

#include "eventactors/event.hpp"
#include "eventactors/json.hpp"
#include "model/model.hpp"
#include "storage/reader.hpp"
#include "storage/sqlite/database.hpp"
#include "storage/sqlite/statement.hpp"
#include "storage/sqlite/statement_cache.hpp"
#include "storage/sqlite/transaction.hpp"

namespace eventactors::sqlite {

/// The SQLite reader: a read connection of its own (or one borrowed from
/// the writer), with its statements prepared once.
///
/// Not thread-safe: one owner (an actor or a thread) at a time.
class reader : public eventactors::reader {
public:
  ~reader() override;

  /// Opens a read connection to `path`.
  static caf::expected<std::unique_ptr<reader>>
  open(std::shared_ptr<const model> m, const std::string& path,
       open_options opts);

  /// Opens a read connection to `path` that holds one snapshot of the file
  /// (a read transaction) until it is destroyed. Refuses a file that is not
  /// ours.
  static caf::expected<std::unique_ptr<reader>>
  open_snapshot(std::shared_ptr<const model> m, const std::string& path,
                open_options opts);

  /// Opens a reader on a connection owned elsewhere (the writer's), which
  /// then also sees its uncommitted writes.
  static std::unique_ptr<reader> borrow(std::shared_ptr<const model> m,
                                        sqlite3* db);

  // -- eventactors::reader ----------------------------------------------------

  caf::expected<std::optional<stored_record>>
  get(const resource_info& res, const json::value& id) override;

  caf::expected<std::optional<stored_record>>
  find_identity(const resource_info& res, const identity& id,
                const json::object& values,
                const json::value& exclude) override;

  caf::expected<std::vector<stored_record>>
  find_by(const resource_info& res, std::string_view attribute,
          const json::value& value, uint32_t limit) override;

  caf::expected<std::vector<stored_record>>
  list(const resource_info& res, uint64_t offset, uint32_t limit) override;

  caf::expected<std::vector<stored_record>>
  records_after(const resource_info& res,
                const std::optional<json::value>& after,
                uint32_t limit) override;

  caf::expected<event_page> events(const event_log& log,
                                   const event_filter& f) override;

  caf::expected<uint64_t> count_events(const event_log& log,
                                       const event_filter& f) override;

  caf::expected<log_stats> stats(const event_log& log) override;

  caf::expected<int64_t> max_key(const resource_info& res) override;

  caf::expected<int64_t> max_key_ever(const resource_info& res) override;

  caf::expected<std::optional<idempotency_entry>>
  find_idempotency(std::string_view key) override;

  // -- SQLite specifics -------------------------------------------------------

  /// The connection the reader reads on.
  sqlite3* get() const noexcept {
    return raw_;
  }

private:
  reader(std::shared_ptr<const model> m, database db, sqlite3* raw);

  caf::expected<statement*> prepare(const std::string& sql);

  caf::expected<std::vector<stored_record>>
  read_rows(const resource_info& res, statement& stmt);

  std::shared_ptr<const model> model_;
  database db_; // empty when borrowed
  sqlite3* raw_ = nullptr;
  /// The read transaction of a snapshot.
  std::optional<transaction> snapshot_;
  statement_cache cache_;
  /// Per resource, the statement selecting a record by primary key (every
  /// read of an action runs it: kept apart from the cache, whose lookup
  /// would hash its text).
  std::unordered_map<const resource_info*, statement> by_key_;
};

/// The select list of every attribute of `res`, then its version: the
/// columns `read_row` reads.
std::string record_columns(const resource& res);

/// Reads a record row selected with `record_columns`.
caf::expected<stored_record> read_row(const resource_info& res,
                                      const statement& stmt);

/// Reads one event row selected with `event_columns(log)`.
caf::expected<event> read_event(const event_log& log, const statement& stmt);

/// The select list matching `read_event`.
std::string event_columns(const event_log& log);

/// Appends to `sql` (a statement ending in a WHERE clause) the conditions
/// of `f` other than its order and limit, and to `binds` their values.
/// With `paging`, includes `f.after_id`.
[[nodiscard]] caf::error event_conditions(const event_log& log,
                                          const event_filter& f, bool paging,
                                          std::string& sql,
                                          std::vector<json::value>& binds);

} // namespace eventactors::sqlite
