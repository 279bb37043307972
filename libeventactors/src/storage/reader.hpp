// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// The storage seam: everything that speaks SQL (or any other storage
// language) lives under src/storage/, behind the abstract `reader` and
// `writer` (storage/writer.hpp) and the factories of storage/storage.hpp.
// The engine, the write pipeline, the actors and replay build units and
// read records and events through these classes only.
//
// What a backend must promise (the contracts of DESIGN.md):
//
// - Atomic unit apply: `writer::apply` writes all ops of a unit (record
//   changes and their event rows) or none, inside the open transaction;
//   a failing unit takes back only itself, never the transaction's other
//   units. An event exists if and only if its record change does, and a
//   unit's idempotency entry (a committed call's key and result) if and
//   only if the unit's writes do.
// - Ordered: event ids increase in commit order. A backend assigning ids
//   before commit (a sequence shared by several writer processes) must
//   make sure that readers never skip an event that commits later with a
//   smaller id (paging by `after_id` relies on it). Updates and removals
//   with an `expected_version` fail with `errc::concurrent_modification`
//   when the stored version differs: concurrent updates never lose one
//   another.
// - Durable: once `writer::commit` returns success, the transaction
//   survives a crash of the process (and power loss under the durable
//   setting, `sync_mode::full`).
// - Exact: every value reads back bit-identical (doubles including -0.0,
//   int64 limits, microsecond times); encrypted payloads are stored as
//   opaque bytes, sealed to their event (storage/sealing.hpp).
// - Reads never write: readers and snapshots never write, and read-only
//   opens never create, migrate or switch modes of what they open.
// - Refuses what is not its own: a file or schema of another application,
//   of a newer format, or that no longer matches the definitions is
//   refused with `errc::schema_mismatch` and left untouched.
// - Bounded: events and records stream in bounded pages (`events`,
//   `records_after`); nothing loads a whole log or table into memory.
// - Clear errors: failures are `caf::error`s of our category naming the
//   resource, record, event or file at fault; no exception leaves a
//   backend.
//
// Thread-safety: one owner (an actor or a thread) per reader and writer;
// several readers and one writer may work on one store at once.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "eventactors/event.hpp"
#include "eventactors/json.hpp"
#include "eventactors/options.hpp"
#include "eventactors/record.hpp"
#include "model/model.hpp"
#include "storage/unit.hpp"

namespace eventactors {

/// A record as stored, with its version (for optimistic concurrency).
struct stored_record {
  json::object values;
  int64_t version = 1;
};

/// Reads records and events. Every read sees the latest commit (its own
/// short read transaction), except on a snapshot, which sees one state
/// until it is destroyed, and on a writer's transaction reader, which also
/// sees the writer's uncommitted writes.
///
/// Not thread-safe: one owner (an actor or a thread) at a time.
class reader {
public:
  virtual ~reader();

  /// Returns the record of `res` with primary key `id`, if any.
  virtual caf::expected<std::optional<stored_record>>
  get(const resource_info& res, const json::value& id) = 0;

  /// Returns a record whose identity attributes equal `values` (other than
  /// the record with key `exclude`), if any.
  virtual caf::expected<std::optional<stored_record>>
  find_identity(const resource_info& res, const identity& id,
                const json::object& values, const json::value& exclude)
    = 0;

  /// Returns the records of `res` whose `attribute` equals `value`, by
  /// primary key, at most `limit`.
  virtual caf::expected<std::vector<stored_record>>
  find_by(const resource_info& res, std::string_view attribute,
          const json::value& value, uint32_t limit)
    = 0;

  /// Returns records of `res` by primary key.
  virtual caf::expected<std::vector<stored_record>>
  list(const resource_info& res, uint64_t offset, uint32_t limit) = 0;

  /// Returns up to `limit` records of `res` in primary key order whose key
  /// comes after `after` (from the first without it): the records of a
  /// table streamed in bounded pages.
  virtual caf::expected<std::vector<stored_record>>
  records_after(const resource_info& res,
                const std::optional<json::value>& after, uint32_t limit)
    = 0;

  /// Returns one page of events of `log`.
  virtual caf::expected<event_page> events(const event_log& log,
                                           const event_filter& f)
    = 0;

  /// Counts the events of `log` that `f` selects (ignoring its `limit`,
  /// `after_id` and order).
  virtual caf::expected<uint64_t> count_events(const event_log& log,
                                               const event_filter& f)
    = 0;

  /// Counts the events of `log` per action, actor and day.
  virtual caf::expected<log_stats> stats(const event_log& log) = 0;

  /// Returns the largest integer primary key of `res` (0 when empty).
  virtual caf::expected<int64_t> max_key(const resource_info& res) = 0;

  /// Returns the largest integer primary key `res` ever had: in its table
  /// or as the record id of one of its events (0 when none).
  virtual caf::expected<int64_t> max_key_ever(const resource_info& res) = 0;

  /// Returns the stored idempotency entry of `key` (with the event ids of
  /// its unit), expired or not, if any.
  virtual caf::expected<std::optional<idempotency_entry>>
  find_idempotency(std::string_view key) = 0;

  /// Reads the events `f` selects in id order, `f.limit` at a time, and
  /// calls `fn` with each page until the events run out or `fn` fails:
  /// memory stays bounded by the page size, not by the log.
  caf::error
  stream_events(const event_log& log, event_filter f,
                const std::function<caf::error(std::vector<event>&)>& fn);

  /// Builds a record from a stored row.
  static record to_record(const resource_info& res, stored_record x);
};

/// Sets every integer-key resource's key counter above the largest key it
/// ever had, so generated keys never collide with records of the log.
caf::error sync_key_counters(const model& m, reader& rd);

} // namespace eventactors
