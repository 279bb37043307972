// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "write/pipeline.hpp"

#include <boost/json/serialize.hpp>

#include "eventactors/error.hpp"
#include "storage/writer.hpp"

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

bool lost_generated_key(execution& ex, const caf::error& err) {
  if (ex.lost_generated_key())
    return true;
  if (is(err, errc::concurrent_modification))
    for (auto& op : ex.pending().ops)
      if (op.generated_key)
        return true;
  return false;
}

write_pipeline::write_pipeline(std::shared_ptr<const model> m,
                               const runtime_options* opts,
                               std::unique_ptr<write_queue> queue,
                               std::shared_ptr<replay_gate> gate)
  : model_(std::move(m)), opts_(opts), queue_(std::move(queue)),
    gate_(std::move(gate)) {
  // nop
}

write_pipeline::~write_pipeline() {
  close();
}

// -- the retry policy -----------------------------------------------------------

std::optional<caf::error>
write_pipeline::after_failure(const caf::error& err,
                              const eventactors::call& c,
                              uint32_t made) const {
  if (!retryable(err, *model_, c))
    return err;
  // A replay that runs now refuses the next attempt anyway: report it as
  // it is instead of trying.
  if (gate_->active() && is(err, errc::replay_in_progress))
    return err;
  if (made > opts_->max_retries)
    return gave_up(c, made);
  return std::nullopt;
}

caf::error write_pipeline::gave_up(const eventactors::call& c,
                                   uint32_t made) const {
  return make_error(errc::concurrent_modification,
                    c.resource + "." + c.action + ": gave up after "
                      + std::to_string(made)
                      + " attempts; the record kept changing concurrently");
}

std::optional<std::string>
write_pipeline::turn_key(const eventactors::call& c) const {
  if (c.record_id.is_null())
    return std::nullopt;
  auto res = model_->find(c.resource);
  if (!res)
    return std::nullopt;
  auto pk = res->def->find_attribute(res->def->primary_key());
  json::value key;
  if (pk->type.cast(c.record_id, key))
    return std::nullopt;
  return record_turns::key(c.resource, json::serialize(key));
}

// -- committing units -----------------------------------------------------------

std::vector<caf::expected<unit_receipt>>
write_pipeline::commit(std::vector<unit*> units, deadline_t deadline,
                       bool epoch_checked) {
  return queue_->submit(std::move(units), deadline, epoch_checked);
}

caf::expected<unit_receipt> write_pipeline::commit(unit& u,
                                                   deadline_t deadline) {
  // The unit keeps the epoch its execution started in: taking the current
  // one here would let a unit whose reads predate a replay through.
  if (auto err = gate_->admit())
    return err;
  return queue_->submit(u, deadline);
}

// -- running actions ------------------------------------------------------------

executor write_pipeline::wire(const executor& base, deadline_t deadline) {
  executor ex = base;
  ex.commit = [this, deadline](unit& u) { return commit(u, deadline); };
  attempt_options nested;
  nested.deadline = deadline;
  ex.run_unit = [this, nested](executor& e, const eventactors::call& c,
                               uint32_t depth) {
    return run_unit(e, c, depth, nested);
  };
  return ex;
}

struct write_pipeline::attempt {
  caf::expected<record> result{caf::error{}};
  /// Set when the attempt failed in a way the policy may retry: the error,
  /// with the attempt's after_transaction hooks not run.
  std::optional<caf::error> retry;
  /// The attempt lost an integer key it generated to another process.
  bool lost_key = false;
};

caf::expected<record> write_pipeline::run_locked(
  execution& unit_ex, executor& ex, const executor& base,
  const eventactors::call& c, const idempotency_claim* idem,
  std::optional<caf::expected<unit_receipt>>& receipt) {
  // The write lock first: from here until the commit no other process
  // writes, and `begin` refreshed the key counters. The action's inline
  // commits (around_transaction) happen inside the locked section too.
  caf::expected<record> rec{caf::error{}};
  caf::error failure;
  auto ran = queue_->exclusive([&](writer& w) {
    if ((failure = gate_->admit()))
      return;
    if ((failure = w.begin()))
      return;
    commit_fn inside = [&w, this](unit& u) -> caf::expected<unit_receipt> {
      if (auto err = gate_->check(u.epoch))
        return err;
      if (auto err = w.begin())
        return err;
      auto r = w.apply(u);
      if (!r) {
        w.rollback();
        return r;
      }
      if (auto err = w.commit())
        return err;
      return r;
    };
    ex.commit = inside;
    rec = unit_ex.run(c);
    if (rec && !unit_ex.committed()) {
      if (idem)
        remember(unit_ex, *idem, c.resource, c.action,
                 idempotency::encode(*rec, unit_ex.stamp_op()));
      receipt = inside(unit_ex.pending());
    }
  });
  // After the locked section, its hooks commit the usual way again.
  ex.commit = base.commit;
  if (!ran)
    failure = make_error(errc::runtime_stopped, "the runtime was stopped");
  if (failure)
    return failure;
  return rec;
}

write_pipeline::attempt
write_pipeline::run_once(const executor& base, const eventactors::call& c,
                         uint32_t depth, const attempt_options& opts,
                         bool locked) {
  attempt out;
  // The epoch before the gate: a replay starting in between refuses the
  // unit when it is written.
  auto epoch = gate_->epoch();
  if (auto err = gate_->admit(c.resource, c.action)) {
    out.result = std::move(err);
    return out;
  }
  executor ex = base;
  if (locked) {
    // Units that hooks run inside the locked section never ask for the lock
    // again: this thread holds it, and waiting for it would wait on itself.
    attempt_options inner = opts;
    inner.may_lock = false;
    inner.locked_first = false;
    inner.settled = nullptr;
    inner.idempotency = nullptr;
    ex.run_unit = [this, inner](executor& e, const eventactors::call& x,
                                uint32_t d) {
      return run_unit(e, x, d, inner);
    };
  }
  execution unit_ex{ex, depth};
  unit_ex.pending().epoch = epoch;
  auto idem = opts.idempotency;
  // The key is stored with the unit's result, known only once the action
  // returned: no around_transaction hook may commit the unit before.
  if (idem)
    unit_ex.may_commit_inline(false);
  std::optional<caf::expected<unit_receipt>> receipt;
  auto rec = locked ? run_locked(unit_ex, ex, base, c, idem, receipt)
                    : unit_ex.run(c);
  out.lost_key = unit_ex.lost_generated_key();
  if (!unit_ex.committed() && rec && !receipt) {
    if (idem)
      remember(unit_ex, *idem, c.resource, c.action,
               idempotency::encode(*rec, unit_ex.stamp_op()));
    receipt = ex.commit(unit_ex.pending());
  }
  conclude(out, unit_ex, std::move(rec), std::move(receipt), c, opts);
  return out;
}

void write_pipeline::conclude(
  attempt& out, execution& unit_ex, caf::expected<record> rec,
  std::optional<caf::expected<unit_receipt>> receipt,
  const eventactors::call& c, const attempt_options& opts) {
  // Settled: the record's turn passes on before after_transaction hooks.
  auto settle = [&opts] {
    if (opts.settled)
      opts.settled();
  };
  if (unit_ex.committed()) {
    // An around_transaction hook committed the unit inside the action.
    settle();
    auto err = unit_ex.finish(unit_ex.receipt());
    out.result = rec && err ? caf::expected<record>{std::move(err)}
                            : std::move(rec);
    return;
  }
  if (!rec) {
    if (is(rec.error(), errc::concurrent_modification)) {
      out.retry = rec.error();
      return;
    }
    settle();
    unit_ex.finish(rec.error());
    out.result = std::move(rec);
    return;
  }
  if (!*receipt) {
    auto& err = receipt->error();
    out.lost_key = lost_generated_key(unit_ex, err);
    if (retryable(err, *model_, c) && !gate_->active()) {
      out.retry = std::move(err);
      return;
    }
    settle();
    unit_ex.finish(err);
    out.result = std::move(err);
    return;
  }
  unit_ex.stamp(*rec, **receipt);
  settle();
  if (auto err = unit_ex.finish(**receipt))
    out.result = std::move(err);
  else
    out.result = std::move(rec);
}

caf::expected<record> write_pipeline::run_unit(const executor& base,
                                               const eventactors::call& c,
                                               uint32_t depth,
                                               const attempt_options& opts) {
  // Set once the unit lost a generated integer key to another process: the
  // next attempts run with the write lock held, so that the key they take
  // is free when they commit (without it, a process could lose every race
  // to one that commits back to back).
  bool lock_next = opts.locked_first;
  auto made = opts.made;
  for (;;) {
    auto locked = lock_next && opts.may_lock;
    auto a = run_once(base, c, depth, opts, locked);
    ++made;
    if (!a.retry)
      return std::move(a.result);
    if (a.lost_key)
      lock_next = true;
    if (auto final = after_failure(*a.retry, c, made))
      return std::move(*final);
  }
}

caf::expected<record> write_pipeline::call(const executor& base,
                                           const eventactors::call& c,
                                           deadline_t deadline) {
  if (c.idempotency_key)
    return keyed_call(base, c, deadline);
  return run_call(base, c, deadline, nullptr);
}

caf::expected<record> write_pipeline::keyed_call(const executor& base,
                                                 const eventactors::call& c,
                                                 deadline_t deadline) {
  auto k = idempotency::claim(c);
  if (!k)
    return std::move(k.error());
  // One call per key at a time: a second one waits here for the first to
  // settle, then finds its result.
  auto t = turns_.wait(k->turn, deadline);
  if (!t)
    return make_error(errc::timeout,
                      "another call with idempotency key \"" + k->key
                        + "\" was still under way at the call_timeout; "
                          "nothing was written");
  k->ticket = *t;
  auto result = [&]() -> caf::expected<record> {
    auto found = recall(*base.db, *k);
    if (!found)
      return std::move(found.error());
    if (*found)
      return idempotency::decode_record(**found);
    auto rec = run_call(base, c, deadline, &*k);
    if (!rec && is(rec.error(), errc::conflict)) {
      // Another process committed the key meanwhile: its result stands.
      auto again = recall(*base.db, *k);
      if (!again)
        return std::move(again.error());
      if (*again)
        return idempotency::decode_record(**again);
    }
    return rec;
  }();
  turns_.release(k->turn, k->ticket);
  return result;
}

caf::expected<std::optional<idempotency_entry>>
write_pipeline::recall(reader& rd, const idempotency_claim& k) const {
  auto found = rd.find_idempotency(k.key);
  if (!found || !*found)
    return found;
  auto& e = **found;
  // Expired: as if unknown; storing the key again replaces the entry.
  if (e.committed_at < opts_->env.clock() - opts_->idempotency_retention)
    return std::optional<idempotency_entry>{};
  if (e.request_hash != k.hash)
    return make_error(errc::conflict,
                      "idempotency key \"" + k.key
                        + "\" was used for another request (" + e.resource
                        + "." + e.action + ", committed at "
                        + format_timestamp(e.committed_at)
                        + "); a retry must repeat its request exactly");
  return found;
}

void write_pipeline::remember(execution& ex, const idempotency_claim& k,
                              const std::string& resource,
                              const std::string& action,
                              std::string result) const {
  idempotency_entry e;
  e.key = k.key;
  e.resource = resource;
  e.action = action;
  e.request_hash = k.hash;
  e.result = std::move(result);
  e.committed_at = opts_->env.clock();
  e.expired_before = e.committed_at - opts_->idempotency_retention;
  ex.pending().idempotency = std::move(e);
}

caf::expected<record> write_pipeline::run_call(const executor& base,
                                               const eventactors::call& c,
                                               deadline_t deadline,
                                               const idempotency_claim* idem) {
  // Calls on one record take turns with each other and with the resource
  // actor's calls on it.
  std::optional<record_turns::ticket> turn;
  auto key = turn_key(c);
  if (key) {
    turn = turns_.wait(*key, deadline);
    if (!turn)
      return make_error(errc::timeout, "no turn on the record within the "
                                       "call_timeout; nothing was written");
  }
  auto ex = wire(base, deadline);
  attempt_options opts;
  opts.deadline = deadline;
  bool released = !key;
  auto release = [&] {
    if (!released)
      turns_.release(*key, *turn);
    released = true;
  };
  opts.settled = release;
  opts.idempotency = idem;
  auto result = run_unit(ex, c, 0, opts);
  release(); // given up after the last retry
  return result;
}

// -- replay and shutdown --------------------------------------------------------

bool write_pipeline::exclusive(const std::function<void(writer&)>& fn) {
  return queue_->exclusive(fn);
}

void write_pipeline::close() {
  if (queue_)
    queue_->close();
}

} // namespace eventactors
