// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace eventactors {

/// Turns of the actions on one record: the one mechanism that keeps calls
/// on a record in the order they were accepted, whoever makes them.
///
/// A turn belongs to one ticket at a time; the others wait in arrival
/// order (first in, first out). A synchronous caller waits on its own
/// thread (`wait`); a resource actor never blocks: it queues a ticket with
/// a function that tells it when the turn is its (`take`), and goes on with
/// other records meanwhile. Both kinds of caller share one queue per
/// record, so neither can starve the other.
///
/// Calls without a record id (creates, upserts) take no turn: they rely on
/// the storage's optimistic checks and the pipeline's retries.
///
/// Thread-safety: every member function is thread-safe. The functions given
/// to `take` run on the thread that hands the turn over, without a lock.
class record_turns {
public:
  using ticket = uint64_t;

  /// Called once, when a waiting ticket gets the turn.
  using grant_fn = std::function<void()>;

  using clock = std::chrono::steady_clock;

  /// Returns the key of a record's turn.
  static std::string key(std::string_view resource, std::string_view record);

  /// Returns a ticket no other caller holds.
  ticket next_ticket();

  /// Takes the turn of `key` for `t` when it is free and returns true
  /// (`granted` is not called); otherwise queues `t` and returns false:
  /// `granted` runs once the turn is `t`'s.
  bool take(const std::string& key, ticket t, grant_fn granted);

  /// Waits for the turn of `key` on this thread until `deadline`. Returns
  /// the ticket holding the turn, or none when the deadline passed (then
  /// nothing is queued anymore).
  std::optional<ticket> wait(const std::string& key,
                             std::optional<clock::time_point> deadline);

  /// Gives up the turn `t` holds, or its place in the queue, and hands the
  /// turn to the next ticket waiting.
  void release(const std::string& key, ticket t);

  /// Records with a turn taken or waited for (for tests).
  size_t size();

  /// Tickets holding or waiting for the turn of `key` (for tests).
  size_t tickets(const std::string& key);

private:
  struct waiter {
    ticket id;
    grant_fn granted;
  };

  std::mutex mtx_;
  ticket next_ = 0;
  /// Per key: the ticket holding the turn first, then the ones waiting.
  std::unordered_map<std::string, std::deque<waiter>> queues_;
};

} // namespace eventactors
