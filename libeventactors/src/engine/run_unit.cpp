// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "engine/executor.hpp"

#include <optional>

#include "eventactors/error.hpp"

namespace eventactors {

bool retryable(const caf::error& err, const model& m, const call& c) {
  // A unit built before a replay started reads stale state: run it again
  // (the replay gate then refuses it while the replay runs).
  if (is(err, errc::concurrent_modification)
      || is(err, errc::replay_in_progress))
    return true;
  if (!is(err, errc::conflict))
    return false;
  auto res = m.find(c.resource);
  auto act = res ? res->def->find_action(c.action) : nullptr;
  return act && act->upsert_identity().has_value();
}

caf::expected<record> execution::run_unit(executor& ex, const call& c,
                                          uint32_t depth) {
  auto attempts = ex.max_retries.value_or(ex.options->max_retries) + 1;
  // Set once the unit lost a generated integer key to another process:
  // the next attempts run with the write lock held, so that the key they
  // take is free when they commit (without it, a process could lose every
  // race to one that commits back to back).
  bool lock_next = false;
  for (uint32_t i = 0; i < attempts; ++i) {
    // The epoch before the gate: a replay starting in between refuses the
    // unit when it is written.
    uint64_t epoch = ex.gate ? ex.gate->epoch.load() : 0;
    if (ex.gate && ex.gate->active)
      return make_error(errc::replay_in_progress,
                        c.resource + "." + c.action
                          + ": a replay is in progress; retry when it is "
                            "done");
    bool locked = lock_next && ex.locked;
    // A locked attempt commits inside the locked section (also what an
    // around_transaction hook commits inline); afterwards, its hooks
    // commit the usual way again.
    std::optional<executor> locked_ex;
    if (locked) {
      locked_ex.emplace(ex);
      // Units that hooks run inside the locked section never ask for the
      // lock again: this thread holds it, and waiting for it would wait on
      // itself.
      locked_ex->locked = nullptr;
    }
    execution unit_ex{locked ? *locked_ex : ex, depth};
    unit_ex.pending().epoch = epoch;
    caf::expected<record> rec{caf::error{}};
    std::optional<caf::expected<unit_receipt>> submitted;
    auto attempt = [&](const commit_fn& commit) {
      locked_ex->commit = commit;
      rec = unit_ex.run(c);
      if (rec && !unit_ex.committed())
        submitted = commit(unit_ex.pending());
    };
    if (locked) {
      if (auto err = ex.locked(attempt))
        rec = std::move(err);
      locked_ex->commit = ex.commit;
    } else {
      rec = unit_ex.run(c);
    }
    if (unit_ex.lost_generated_key())
      lock_next = true;
    if (unit_ex.committed()) {
      auto err = unit_ex.finish(unit_ex.receipt());
      if (rec && err)
        return err;
      return rec;
    }
    if (!rec) {
      if (is(rec.error(), errc::concurrent_modification))
        continue;
      unit_ex.finish(rec.error());
      return rec;
    }
    auto receipt = submitted ? std::move(*submitted)
                             : ex.commit(unit_ex.pending());
    if (!receipt) {
      if (is(receipt.error(), errc::concurrent_modification))
        for (auto& op : unit_ex.pending().ops)
          if (op.generated_key)
            lock_next = true;
      if (retryable(receipt.error(), *ex.defs, c)
          && !is(receipt.error(), errc::replay_in_progress))
        continue;
      unit_ex.finish(receipt.error());
      return std::move(receipt.error());
    }
    unit_ex.stamp(*rec, *receipt);
    if (auto err = unit_ex.finish(*receipt))
      return err;
    return rec;
  }
  return make_error(errc::concurrent_modification,
                    c.resource + "." + c.action + ": gave up after "
                      + std::to_string(attempts)
                      + " attempts; the record kept changing concurrently");
}

} // namespace eventactors
