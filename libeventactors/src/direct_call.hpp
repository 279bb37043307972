// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <array>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "eventactors/call.hpp"
#include "eventactors/record.hpp"
#include "engine/executor.hpp"
#include "replay_gate.hpp"
#include "write_queue.hpp"

namespace eventactors {

/// The key calls on `c`'s record take turns by: its primary key, cast and
/// serialized; none for calls without a record id (creates and upserts,
/// which rely on optimistic checks) or with one that does not cast (the
/// action reports it).
std::optional<std::string> record_key(const model& m, const call& c);

/// Turns for calls on one record that run on the caller's thread: a lock
/// per record key, striped over a fixed number of mutexes (keys sharing a
/// stripe take turns too).
class record_locks {
public:
  using lock_type = std::unique_lock<std::timed_mutex>;

  /// Locks the stripe of record `key` of `resource` (see `record_key`),
  /// waiting at most until `deadline` (then the lock does not own it).
  lock_type
  lock(std::string_view resource, const std::string& key,
       std::optional<std::chrono::steady_clock::time_point> deadline
       = std::nullopt);

private:
  std::array<std::timed_mutex, 64> stripes_;
};

/// Runs `c` on the calling thread with `ex`'s definitions and reader and
/// commits its unit through `q`, again on fresh reads when a concurrent
/// write changed a record it read (up to the runtime's `max_retries` more
/// times). Fails
/// with `replay_in_progress` while a replay runs. With a deadline, a unit
/// still waiting for the writer then fails with `timeout` (nothing
/// written).
caf::expected<record>
run_direct(const executor& ex, const call& c, write_queue& q,
           const replay_gate& gate,
           std::optional<std::chrono::steady_clock::time_point> deadline
           = std::nullopt,
           std::optional<uint32_t> max_retries = std::nullopt);

/// The commit function of an executor whose actions commit through `q`
/// at once (around_transaction hooks, actions run by after_transaction
/// hooks). Units keep the epoch set when their execution started.
commit_fn direct_commit(std::shared_ptr<write_queue> q,
                        std::shared_ptr<replay_gate> gate);

} // namespace eventactors
