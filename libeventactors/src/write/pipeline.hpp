// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "eventactors/call.hpp"
#include "eventactors/options.hpp"
#include "eventactors/record.hpp"
#include "engine/executor.hpp"
#include "model/model.hpp"
#include "storage/unit.hpp"
#include "write/idempotency.hpp"
#include "write/record_turns.hpp"
#include "write/replay_gate.hpp"
#include "write/write_queue.hpp"

namespace eventactors {

class writer;

/// The write pipeline: the one way from the engine to storage. Every write
/// of a runtime passes here: synchronous callers, resource actors (their
/// units go through the event log actor, which batches them, or straight
/// here when they are idle), actions run by hooks, `append`, and replay,
/// which takes the writer to itself.
///
/// What it promises:
///
/// - **Atomic units.** A unit (the writes of one action and of the actions
///   its hooks ran inside the transaction) commits whole or not at all.
/// - **Group commit.** The first thread to arrive while nobody writes leads:
///   it commits its units and everything queued behind it (up to
///   `max_batch`) in one transaction, each unit in a savepoint, and wakes
///   the threads it committed for. A lone synchronous caller commits on its
///   own thread with no hand-over (a hand-over costs about as much as a
///   commit in NORMAL mode); under load, callers share commits. Event ids
///   increase in commit order. (`write_queue`.)
/// - **Per-record turns.** Calls on one record run one after another in the
///   order they were accepted, synchronous callers and resource actors in
///   one queue per record (`record_turns`). Calls without a record id
///   (creates) take no turn; the storage's optimistic version check and key
///   checks catch what turns cannot see (other processes, records changed
///   by hooks), and the retry policy runs the action again on fresh reads.
/// - **One retry policy.** A unit refused because what it read changed
///   (`concurrent_modification`, an upsert that lost a race to insert, a
///   replay that started while it was built) runs again, up to
///   `runtime_options::max_retries` more times, then fails naming the
///   attempts. A unit that lost an integer key it generated to another
///   process runs its next attempt with the database's write lock held, so
///   that the key it takes is free (no starvation between processes).
/// - **The replay gate.** While a replay runs, new work fails at once with
///   `replay_in_progress`; a unit built before the replay began is refused
///   when it is written (its reads predate the replay). Replay itself runs
///   after every unit queued before it (`exclusive`).
/// - **Turns end at the commit.** A call gives up its record's turn once its
///   unit committed or failed for good, before its after_transaction hooks
///   run: the next call on the record goes ahead meanwhile, and the hooks
///   may run actions on the record themselves.
/// - **Deadlines.** A synchronous call waits for its turn and for the writer
///   at most until its deadline, then fails with `timeout` having written
///   nothing.
/// - **Idempotency keys.** A top-level call with a key takes the key's turn
///   before its record's, looks the key up and answers a committed one
///   with the stored result (`recall`), running nothing; otherwise its unit
///   stores the key with its result (`remember`), committed with its
///   events or not at all. Calls without a key pay nothing for it.
///
/// Thread-safety: every member function is thread-safe.
class write_pipeline {
public:
  using clock = std::chrono::steady_clock;

  using deadline_t = std::optional<clock::time_point>;

  /// How `run_unit` runs an action.
  struct attempt_options {
    /// Units waiting for the writer after this fail with `timeout`.
    deadline_t deadline;
    /// Attempts already made elsewhere (the resource actor's first one):
    /// counted in the give-up error, and taken from the retries left.
    uint32_t made = 0;
    /// The attempt before lost a generated integer key: run the first one
    /// here with the write lock held.
    bool locked_first = false;
    /// Whether attempts may take the write lock at all (not inside a locked
    /// attempt: this thread holds it already).
    bool may_lock = true;
    /// Called once the unit's fate is sealed (committed, or failed for
    /// good), before its after_transaction hooks run: gives the record's
    /// turn to the next call, so that the hooks may call actions on the
    /// record themselves.
    std::function<void()> settled;
    /// The call's idempotency key: every attempt's unit stores it with the
    /// result (top-level calls only; never the units hooks run).
    const idempotency_claim* idempotency = nullptr;
  };

  write_pipeline(std::shared_ptr<const model> m, const runtime_options* opts,
                 std::unique_ptr<write_queue> queue,
                 std::shared_ptr<replay_gate> gate);

  ~write_pipeline();

  write_pipeline(const write_pipeline&) = delete;
  write_pipeline& operator=(const write_pipeline&) = delete;

  // -- actions run to completion on the calling thread ------------------------

  /// Runs `c` for a synchronous caller on this thread: takes the record's
  /// turn, runs the action with `base`'s reader, commits, runs the
  /// after_transaction hooks and retries per the policy. Fails with
  /// `timeout` when the turn or the writer is not there by `deadline`.
  /// With an idempotency key, takes the key's turn first and answers a
  /// committed key with its stored result.
  caf::expected<record> call(const executor& base, const call& c,
                             deadline_t deadline);

  // -- idempotency keys -------------------------------------------------------

  /// Looks up the key of `k` through `rd`: the stored entry when it was
  /// committed within the retention for the same request, none when it is
  /// unknown or expired, `errc::conflict` naming the key when it was
  /// committed for another request.
  caf::expected<std::optional<idempotency_entry>>
  recall(reader& rd, const idempotency_claim& k) const;

  /// Makes the unit of `ex` store the key of `k` with `result` (see
  /// `idempotency::encode`) for `c`'s resource and action.
  void remember(execution& ex, const idempotency_claim& k,
                const std::string& resource, const std::string& action,
                std::string result) const;

  /// Runs `c` as a unit of its own (no turn taken: the caller holds it, or
  /// the action was started by an after_transaction hook), with the retry
  /// policy.
  caf::expected<record> run_unit(const executor& base, const eventactors::call& c,
                                 uint32_t depth, const attempt_options& opts);

  /// Returns `base` wired to this pipeline: inline commits of
  /// around_transaction hooks and actions run by after_transaction hooks go
  /// through it, waiting for the writer at most until `deadline`.
  executor wire(const executor& base, deadline_t deadline = std::nullopt);

  // -- units built elsewhere ---------------------------------------------------

  /// Commits `units` (group commit), one result per unit, in order. Units
  /// built before the current replay epoch are refused, unless
  /// `epoch_checked` says their submitter compared their epochs when it
  /// accepted them, before any replay it lets run after them (the event log
  /// actor).
  std::vector<caf::expected<unit_receipt>>
  commit(std::vector<unit*> units, deadline_t deadline = std::nullopt,
         bool epoch_checked = false);

  /// Commits one unit, refused at once while a replay runs.
  caf::expected<unit_receipt> commit(unit& u,
                                     deadline_t deadline = std::nullopt);

  // -- the parts, for the actors ---------------------------------------------

  replay_gate& gate() noexcept {
    return *gate_;
  }

  record_turns& turns() noexcept {
    return turns_;
  }

  /// The key of the turn calls like `c` take, or none (no record id, or one
  /// that does not cast: the action reports that).
  std::optional<std::string> turn_key(const eventactors::call& c) const;

  /// The retry policy, after attempt number `made` of `c` failed with
  /// `err`: returns none when the action should run again on fresh reads,
  /// otherwise the error to report (`err` itself, or a give-up error once
  /// the retries are used up).
  std::optional<caf::error> after_failure(const caf::error& err,
                                          const eventactors::call& c,
                                          uint32_t made) const;

  /// The error once the policy gave up after `made` attempts.
  caf::error gave_up(const eventactors::call& c, uint32_t made) const;

  // -- replay and shutdown --------------------------------------------------

  /// Runs `fn` with the writer to itself, after every unit queued before;
  /// a transaction `fn` leaves open is rolled back. Returns false without
  /// running `fn` once closed. Replay calls this after `gate().begin()`.
  bool exclusive(const std::function<void(writer&)>& fn);

  /// Fails queued units with `runtime_stopped`, waits for a write under way
  /// and closes the writer. Idempotent.
  void close();

  /// The group-commit queue (for tests).
  write_queue& queue() noexcept {
    return *queue_;
  }

private:
  /// One attempt of `run_unit`.
  struct attempt;

  /// Runs one attempt of `c`; the commit happens inside the write lock when
  /// `locked`.
  attempt run_once(const executor& base, const eventactors::call& c,
                   uint32_t depth, const attempt_options& opts, bool locked);

  /// Runs the action of `unit_ex` and commits its unit (into `receipt`)
  /// with the database's write lock held.
  caf::expected<record>
  run_locked(execution& unit_ex, executor& ex, const executor& base,
             const eventactors::call& c, const idempotency_claim* idem,
             std::optional<caf::expected<unit_receipt>>& receipt);

  /// `call` with the record's turn; `idem` is the claim of a call whose
  /// key's turn this thread holds.
  caf::expected<record> run_call(const executor& base,
                                 const eventactors::call& c,
                                 deadline_t deadline,
                                 const idempotency_claim* idem);

  /// `call` for a call with an idempotency key.
  caf::expected<record> keyed_call(const executor& base,
                                   const eventactors::call& c,
                                   deadline_t deadline);

  /// Turns an attempt's outcome into `out`: a retry, or the final result
  /// after the unit's after_transaction hooks ran.
  void conclude(attempt& out, execution& unit_ex, caf::expected<record> rec,
                std::optional<caf::expected<unit_receipt>> receipt,
                const eventactors::call& c, const attempt_options& opts);

  std::shared_ptr<const model> model_;
  const runtime_options* opts_;
  std::unique_ptr<write_queue> queue_;
  std::shared_ptr<replay_gate> gate_;
  record_turns turns_;
};

/// Returns whether the unit of `ex`, which failed with `err`, lost an
/// integer key it generated to another process: its next attempt then runs
/// with the write lock held.
bool lost_generated_key(execution& ex, const caf::error& err);

/// Returns whether a failed commit may succeed when the action runs again
/// on fresh reads: the record changed since it was read, a replay started
/// while it was built, or an upsert lost a race to insert.
bool retryable(const caf::error& err, const model& m, const call& c);

} // namespace eventactors
