// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "eventactors/event.hpp"
#include "eventactors/options.hpp"
#include "eventactors/json.hpp"
#include "model/model.hpp"
#include "sqlite/database.hpp"
#include "sqlite/statement.hpp"
#include "sqlite/statement_cache.hpp"

namespace eventactors {

/// A record as stored, with its version (for optimistic concurrency).
struct stored_record {
  json::object values;
  int64_t version = 1;
};

/// Reads records and events on a connection of its own. Every read is its
/// own short read transaction, so it sees the latest commit.
///
/// Not thread-safe: one owner (an actor or a thread) at a time.
class reader {
public:
  reader(reader&&) noexcept = default;
  reader& operator=(reader&&) noexcept = default;

  /// Opens a read connection to `path`.
  static caf::expected<reader> open(std::shared_ptr<const model> m,
                                    const std::string& path,
                                    sqlite::open_options opts);

  /// Opens a reader on a connection owned elsewhere (the writer's), which
  /// then also sees its uncommitted writes.
  static reader borrow(std::shared_ptr<const model> m, sqlite3* db);

  /// Returns the record of `res` with primary key `id`, if any.
  caf::expected<std::optional<stored_record>> get(const resource_info& res,
                                                  const json::value& id);

  /// Returns a record whose identity attributes equal `values` (other than
  /// the record with key `exclude`), if any.
  caf::expected<std::optional<stored_record>>
  find_identity(const resource_info& res, const identity& id,
                const json::object& values, const json::value& exclude);

  /// Returns the records of `res` whose `attribute` equals `value`, by
  /// primary key, at most `limit`.
  caf::expected<std::vector<stored_record>>
  find_by(const resource_info& res, std::string_view attribute,
          const json::value& value, uint32_t limit);

  /// Returns records of `res` by primary key.
  caf::expected<std::vector<stored_record>>
  list(const resource_info& res, uint64_t offset, uint32_t limit);

  /// Returns one page of events of `log`.
  caf::expected<event_page> events(const event_log& log,
                                   const event_filter& f);

  /// Counts the events of `log` per action, actor and day.
  caf::expected<log_stats> stats(const event_log& log);

  /// Returns the largest integer primary key of `res` (0 when empty).
  caf::expected<int64_t> max_key(const resource_info& res);

  /// Returns the largest integer primary key `res` ever had: in its table
  /// or as the record id of one of its events (0 when none).
  caf::expected<int64_t> max_key_ever(const resource_info& res);

  /// Builds a record from a stored row.
  static record to_record(const resource_info& res, stored_record x);

private:
  reader(std::shared_ptr<const model> m, sqlite::database db, sqlite3* raw);

  caf::expected<sqlite::statement*> prepare(const std::string& sql);

  caf::expected<stored_record> read_row(const resource_info& res,
                                        const sqlite::statement& stmt);

  caf::expected<std::vector<stored_record>>
  read_rows(const resource_info& res, sqlite::statement& stmt);

  std::string select_columns(const resource& res) const;

  std::shared_ptr<const model> model_;
  sqlite::database db_; // empty when borrowed
  sqlite3* raw_ = nullptr;
  sqlite::statement_cache cache_;
};

/// Sets every integer-key resource's key counter above the largest key it
/// ever had, so generated keys never collide with records of the log.
caf::error sync_key_counters(const model& m, reader& rd);

/// Reads one event row selected with `event_columns(log)`.
caf::expected<event> read_event(const event_log& log,
                                const sqlite::statement& stmt);

/// The select list matching `read_event`.
std::string event_columns(const event_log& log);

/// The payload columns of an encrypted log that are stored sealed, in the
/// order events are selected and inserted.
inline constexpr const char* sealed_columns[] = {"data", "changed_attributes",
                                                 "metadata"};

/// The columns of an event that its sealed payloads are bound to.
struct sealed_fields {
  std::string_view resource;
  const json::value& record_id;
  std::string_view action;
  std::string_view action_type;
  const json::object& actors;
  int32_t version;
  std::string_view occurred_at;
  std::string_view key_id;
};

/// What an encrypted payload is bound to (its additional authenticated
/// data): the log, the event's id, the field, and every other column of the
/// event, each length-prefixed. A sealed value moved to another event or
/// field, or an event whose other columns were edited, fails to open.
std::string sealing_context(const event_log& log, const json::value& event_id,
                            std::string_view field, const sealed_fields& ev);

} // namespace eventactors
