// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// The write half of the storage seam; storage/reader.hpp states what every
// backend promises.

#include <cstdint>
#include <memory>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "eventactors/event.hpp"
#include "storage/reader.hpp"
#include "storage/unit.hpp"

namespace eventactors {

/// Applies units to a store: the only writer of its store in this process.
/// Wraps each unit in a savepoint inside a longer transaction, so that many
/// units share one commit (group commit) while a failing unit takes only
/// itself back.
///
/// Not thread-safe: one owner at a time (the write queue).
class writer {
public:
  virtual ~writer();

  /// Returns whether a transaction is open.
  virtual bool in_transaction() const noexcept = 0;

  /// Starts a transaction that excludes other writers. When another
  /// process committed since this writer last looked, raises the integer
  /// key counters above every key committed since. A no-op when one is
  /// open.
  [[nodiscard]] virtual caf::error begin() = 0;

  /// Commits the open transaction (a no-op without one); durable when it
  /// returns success. On failure, the transaction is rolled back.
  [[nodiscard]] virtual caf::error commit() = 0;

  /// Rolls the open transaction back, if any.
  virtual void rollback() noexcept = 0;

  /// Applies `u` inside the open transaction (beginning one if needed),
  /// all ops or none. Returns the ids of the events written, per op.
  virtual caf::expected<unit_receipt> apply(const unit& u) = 0;

  /// Applies `u` inside the open transaction without a savepoint of its
  /// own: on error, some of its ops may stay written, and the caller must
  /// roll the whole transaction back (replay does: it commits everything
  /// or nothing).
  virtual caf::expected<unit_receipt> apply_unguarded(const unit& u) = 0;

  // -- replay and copies ------------------------------------------------------

  /// Returns a reader that reads through this writer, seeing the writes of
  /// its open transaction. @pre it is destroyed before the writer.
  virtual std::unique_ptr<reader> transaction_reader() = 0;

  /// Deletes every record of `res` inside the open transaction (replay's
  /// clear step).
  [[nodiscard]] virtual caf::error clear(const resource_info& res) = 0;

  /// Copies the events of `log` that `f` selects from `src` (a reader of
  /// the same backend, ideally a snapshot) into this store, in id order,
  /// as stored (sealed payloads stay sealed), in one transaction of its
  /// own. Returns how many it copied.
  virtual caf::expected<uint64_t>
  copy_events(reader& src, const event_log& log, const event_filter& f) = 0;

  /// Makes the store stand on its own, so that it can be moved or copied
  /// as a whole (SQLite: leaves WAL mode). `who` prefixes errors.
  [[nodiscard]] virtual caf::error make_self_contained(std::string_view who)
    = 0;
};

/// Begins a transaction on a writer now and rolls it back on destruction
/// unless committed.
class write_transaction {
public:
  write_transaction(write_transaction&& other) noexcept;
  write_transaction& operator=(write_transaction&&) = delete;
  ~write_transaction();

  static caf::expected<write_transaction> begin(writer& w);

  [[nodiscard]] caf::error commit();

  /// Rolls back now; a no-op when already finished.
  void rollback() noexcept;

private:
  explicit write_transaction(writer* w) noexcept : w_(w) {
    // nop
  }

  writer* w_;
};

} // namespace eventactors
