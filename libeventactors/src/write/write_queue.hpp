// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "storage/writer.hpp"
#include "write/replay_gate.hpp"
#include "storage/unit.hpp"

namespace eventactors {

/// The group-commit queue of the write pipeline (see pipeline.hpp): commits
/// units for any thread, many per transaction.
///
/// A thread that submits units while nobody writes becomes the leader: it
/// applies its units and those queued behind it (each in a savepoint of one
/// transaction, up to `max_batch`), commits, and wakes the threads whose
/// units it committed. So a lone synchronous caller commits on its own
/// thread, with no hand-over to another thread (a hand-over costs about as
/// much as a commit in NORMAL mode), and concurrent callers share commits.
/// The event log actor submits the units of asynchronous callers the same
/// way, a mailbox-full at a time. LevelDB's writer queue works this way.
///
/// Units built before the last replay started (their `epoch` is older than
/// the gate's) are refused with `errc::replay_in_progress`.
///
/// Thread-safety: every member function is thread-safe.
class write_queue {
public:
  write_queue(std::unique_ptr<writer> w, std::shared_ptr<replay_gate> gate,
              uint32_t max_batch);

  ~write_queue();

  write_queue(const write_queue&) = delete;
  write_queue& operator=(const write_queue&) = delete;

  /// Applies and commits `units`, each on its own: one result per unit, in
  /// order. Blocks until they committed or failed. With a `deadline`,
  /// units still waiting for a leader then fail with `errc::timeout`
  /// (nothing of them was written); units being written are waited for.
  /// With `epoch_checked`, the caller compared the units' epochs with the
  /// gate when it accepted them, before any replay it has not run yet (the
  /// event log actor): they are not refused for a replay begun since.
  std::vector<caf::expected<unit_receipt>>
  submit(std::vector<unit*> units,
         std::optional<std::chrono::steady_clock::time_point> deadline
         = std::nullopt,
         bool epoch_checked = false);

  /// Shorthand for one unit.
  caf::expected<unit_receipt>
  submit(unit& u, std::optional<std::chrono::steady_clock::time_point>
                    deadline = std::nullopt);

  /// Runs `fn` with the writer to itself, after the units queued before
  /// (replay); a transaction `fn` leaves open is rolled back. Returns false
  /// without running `fn` once closed.
  bool exclusive(const std::function<void(writer&)>& fn);

  /// Requests waiting or being written (for tests).
  size_t waiting();

  /// Whether `close` was called (for tests).
  bool closed();

  /// Fails queued units with `errc::runtime_stopped`, waits for a write in
  /// progress and closes the writer's connection. Later submissions fail
  /// the same way. Idempotent.
  void close();

private:
  struct request;

  /// Applies the units of the requests from the front of the queue on (up
  /// to max_batch units) and commits them. Called with the lock released.
  void write_group(std::vector<request*>& group);

  std::shared_ptr<replay_gate> gate_;
  uint32_t max_batch_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<request*> queue_;
  bool closed_ = false;
  std::unique_ptr<writer> writer_;
};

} // namespace eventactors
