// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "actors/resource_actor.hpp"

#include <deque>
#include <functional>
#include <map>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/exit_reason.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "detail/log.hpp"
#include "eventactors/error.hpp"
#include "engine/executor.hpp"
#include "write/idempotency.hpp"

namespace eventactors {

namespace {

using reply_fn = std::function<void(caf::expected<record>)>;

/// One call waiting for its turn or being executed.
struct job {
  call c;
  reply_fn reply;
  /// The turn of the call's record (none: the call takes no turn).
  std::optional<std::string> key;
  record_turns::ticket ticket = 0;
  /// The call's idempotency key and its turn (none: the call has no key).
  std::optional<idempotency_claim> idem;
};

/// Work waiting for a turn other than a call's record turn (an idempotency
/// key's): what to do when it comes, and how to answer if the actor stops
/// first.
struct parked {
  std::string turn;
  std::function<void()> resume;
  std::function<void(caf::error)> fail;
};

struct resource_state {
  static inline const char* name = "eventactors.resource";

  std::shared_ptr<const model> m;
  const runtime_options* opts = nullptr;
  std::unique_ptr<reader> db;
  event_log_actor log;
  std::shared_ptr<write_pipeline> pipeline;
  /// Wired to the pipeline: inline commits and actions run by hooks.
  executor ex;
  /// Calls waiting for their record's turn, by ticket.
  std::map<record_turns::ticket, job> waiting;
  /// Calls and batches waiting for their idempotency key's turn, by ticket.
  std::map<record_turns::ticket, parked> parked_work;
  /// Units sent to the event log actor and not answered yet.
  size_t in_flight = 0;
  /// Set when the runtime stops: new calls fail, the actor quits once the
  /// units in flight are answered.
  std::optional<caf::error> stopping;
};

using pointer = resource_actor::stateful_pointer<resource_state>;

caf::error stopped_error() {
  return make_error(errc::runtime_stopped, "the runtime is stopping");
}

/// Quits once stopping and nothing is in flight anymore.
void maybe_quit(pointer self) {
  auto& st = self->state;
  if (st.stopping && st.in_flight == 0)
    self->quit(*st.stopping);
}

/// Gives the job's record turn to the next call (once its unit committed or
/// failed for good, before its after_transaction hooks run).
void done(pointer self, job& j) {
  if (j.key)
    self->state.pipeline->turns().release(*j.key, j.ticket);
  j.key.reset();
  // The key's turn too: the next call with the key finds the commit.
  if (j.idem && j.idem->ticket != 0) {
    self->state.pipeline->turns().release(j.idem->turn, j.idem->ticket);
    j.idem->ticket = 0;
  }
}

/// Tells this actor, with a message, that ticket `t` got its turn.
record_turns::grant_fn grant(pointer self, record_turns::ticket t) {
  auto me = caf::actor_cast<caf::weak_actor_ptr>(self);
  return [me, t] {
    if (auto hdl = me.lock())
      caf::anon_send(caf::actor_cast<resource_actor>(hdl), turn_granted{t});
  };
}

/// Runs `resume` once ticket `t` holds `turn` (now, when it is free);
/// `fail` answers instead when the actor stops first.
void with_turn(pointer self, const std::string& turn, record_turns::ticket t,
               std::function<void()> resume,
               std::function<void(caf::error)> fail) {
  auto& st = self->state;
  if (st.pipeline->turns().take(turn, t, grant(self, t))) {
    resume();
    return;
  }
  st.parked_work.emplace(t, parked{turn, std::move(resume), std::move(fail)});
}

/// Answers a job whose unit committed: after_transaction hooks, then the
/// record (or the hooks' error).
void answer(pointer self, job& j, execution& ex, caf::expected<record>& rec,
            const unit_receipt& receipt) {
  ex.stamp(*rec, receipt);
  done(self, j);
  if (auto err = ex.finish(receipt))
    j.reply(std::move(err));
  else
    j.reply(std::move(rec));
}

/// After the first attempt failed with `err`: runs the next attempts on
/// this thread through the pipeline's retry policy (this actor blocks for
/// them; retries are rare, since the record's turn keeps other calls of
/// this process away), or answers with the error.
void retry_or_fail(pointer self, job& j, execution& ex, caf::error err) {
  auto& st = self->state;
  auto final = st.stopping ? std::optional<caf::error>{err}
                           : st.pipeline->after_failure(err, j.c, 1);
  if (final) {
    done(self, j);
    ex.finish(*final);
    j.reply(std::move(*final));
    return;
  }
  SPDLOG_LOGGER_DEBUG(&detail::log(), "retry resource={} action={}",
                      j.c.resource, j.c.action);
  write_pipeline::attempt_options opts;
  opts.made = 1;
  // A unit that lost a key it generated runs its next attempt locked.
  opts.locked_first = lost_generated_key(ex, err);
  opts.settled = [self, &j] { done(self, j); };
  opts.idempotency = j.idem ? &*j.idem : nullptr;
  j.reply(st.pipeline->run_unit(st.ex, j.c, 0, opts));
}

/// Runs a job that holds its turn (or needs none). Returns true when its
/// unit is on its way to the event log actor, false when it completed (and
/// replied) already.
bool execute(pointer self, job& j) {
  auto& st = self->state;
  auto& gate = st.pipeline->gate();
  auto epoch = gate.epoch();
  if (auto err = gate.admit(j.c.resource, j.c.action)) {
    j.reply(std::move(err));
    return false;
  }
  auto ex = std::make_shared<execution>(st.ex);
  ex->pending().epoch = epoch;
  // A key is stored with the result: the unit commits after the action.
  if (j.idem)
    ex->may_commit_inline(false);
  auto rec = ex->run(j.c);
  if (ex->committed()) {
    // An around_transaction hook committed the unit inside the action.
    done(self, j);
    auto err = ex->finish(ex->receipt());
    if (rec && err)
      j.reply(std::move(err));
    else
      j.reply(std::move(rec));
    return false;
  }
  if (!rec) {
    // An inline commit (around_transaction) found the record changed.
    if (is(rec.error(), errc::concurrent_modification)) {
      retry_or_fail(self, j, *ex, rec.error());
      return false;
    }
    done(self, j);
    ex->finish(rec.error());
    j.reply(std::move(rec));
    return false;
  }
  if (j.idem)
    st.pipeline->remember(*ex, *j.idem, j.c.resource, j.c.action,
                          idempotency::encode(*rec, ex->stamp_op()));
  if (st.in_flight == 0 && self->mailbox().empty()) {
    // Nothing else to do meanwhile: commit on this thread instead of
    // handing the unit to the event log actor and waiting for its answer
    // (two hand-overs between threads, each about as long as a commit in
    // NORMAL mode). Under load the mailbox is not empty and units go to
    // the event log actor, which commits them together.
    auto receipt = st.pipeline->commit(ex->pending());
    if (receipt)
      answer(self, j, *ex, rec, *receipt);
    else
      retry_or_fail(self, j, *ex, receipt.error());
    return false;
  }
  ++st.in_flight;
  self
    ->request(st.log, caf::infinite, append_atom_v,
              std::move(ex->pending()))
    .then(
      [self, ex, j, rec](unit_receipt& receipt) mutable {
        --self->state.in_flight;
        answer(self, j, *ex, rec, receipt);
        done(self, j);
        maybe_quit(self);
      },
      [self, ex, j](caf::error& err) mutable {
        --self->state.in_flight;
        retry_or_fail(self, j, *ex, err);
        done(self, j);
        maybe_quit(self);
      });
  return true;
}

/// Runs a job whose turn came.
void run(pointer self, job& j) {
  if (self->state.stopping)
    j.reply(stopped_error());
  else if (execute(self, j))
    return; // in flight; its completion ends it
  done(self, j);
}

void start(pointer self, job j);

/// For a call with an idempotency key: takes the key's turn (the job waits
/// parked until it comes), then looks the key up and answers a committed
/// one with its stored result. Returns true when the call is to run.
bool keyed_ready(pointer self, job& j) {
  auto& st = self->state;
  if (!j.idem) {
    auto k = idempotency::claim(j.c);
    if (!k) {
      j.reply(std::move(k.error()));
      return false;
    }
    k->ticket = st.pipeline->turns().next_ticket();
    j.idem = std::move(*k);
    auto turn = j.idem->turn;
    auto t = j.idem->ticket;
    auto reply = j.reply;
    with_turn(
      self, turn, t, [self, j]() mutable { start(self, std::move(j)); },
      [reply](caf::error err) { reply(std::move(err)); });
    return false;
  }
  if (j.idem->recalled)
    return true;
  j.idem->recalled = true;
  auto found = st.pipeline->recall(*st.db, *j.idem);
  if (!found || *found) {
    done(self, j);
    if (!found)
      j.reply(std::move(found.error()));
    else
      j.reply(idempotency::decode_record(**found));
    return false;
  }
  // A key another process committed meanwhile fails the unit with a
  // conflict: that call's result stands.
  auto reply = std::move(j.reply);
  j.reply = [self, reply, k = *j.idem](caf::expected<record> x) {
    if (!x && is(x.error(), errc::conflict)) {
      auto& st = self->state;
      if (auto again = st.pipeline->recall(*st.db, k); again && *again) {
        reply(idempotency::decode_record(**again));
        return;
      }
    }
    reply(std::move(x));
  };
  return true;
}

void start(pointer self, job j) {
  auto& st = self->state;
  if (st.stopping) {
    done(self, j);
    j.reply(stopped_error());
    return;
  }
  if (j.c.idempotency_key && !keyed_ready(self, j))
    return;
  // Calls on the same record run one after another, in arrival order, with
  // the synchronous callers' calls on it.
  j.key = st.pipeline->turn_key(j.c);
  if (j.key) {
    auto& turns = st.pipeline->turns();
    j.ticket = turns.next_ticket();
    if (!turns.take(*j.key, j.ticket, grant(self, j.ticket))) {
      st.waiting.emplace(j.ticket, std::move(j));
      return;
    }
  }
  run(self, j);
}

/// Collects the results of a batch's items and replies once all arrived.
struct batch_collector {
  batch_result result;
  size_t remaining = 0;
  std::function<void(batch_result)> done;

  void set(size_t i, caf::expected<record> x) {
    if (x)
      result.records[i] = std::move(*x);
    else
      result.errors[i] = std::move(x.error());
    if (--remaining == 0)
      done(std::move(result));
  }
};

call item_call(const batch_call& b, batch_item& item) {
  call c;
  c.resource = b.resource;
  c.action = b.action;
  c.input = std::move(item.input);
  c.record_id = std::move(item.record_id);
  c.actor = b.actor;
  c.metadata = b.metadata;
  return c;
}

/// Answers every item of a batch with `err`.
void fail_all(size_t n, const std::function<void(batch_result)>& done,
              caf::error err) {
  batch_result result;
  result.records.resize(n);
  result.errors.assign(n, err);
  done(std::move(result));
}

using batch_done = std::function<void(batch_result)>;

/// Commits the unit of a batch's items that ran in `ex` (records[i] is
/// item i's result when errors[i] is empty; `which[i]` counts the runs
/// before it), then answers.
void commit_batch(pointer self, batch_call b, batch_done done,
                  uint32_t attempt, std::shared_ptr<idempotency_claim> idem,
                  std::shared_ptr<execution> ex, batch_result result,
                  std::vector<size_t> which);

/// Runs the items of a batch into one unit and commits it: an atomic batch
/// (any failing item fails all), or, with an idempotency key `idem`, a
/// batch whose failing items are taken out while the others commit
/// together with the key.
void run_atomic_batch(pointer self, batch_call b, batch_done done,
                      uint32_t attempt,
                      std::shared_ptr<idempotency_claim> idem = nullptr) {
  auto& st = self->state;
  auto n = b.items.size();
  auto& gate = st.pipeline->gate();
  auto epoch = gate.epoch();
  if (auto err = gate.admit(b.resource, b.action)) {
    fail_all(n, done, std::move(err));
    return;
  }
  auto per_item = idem && !b.atomic;
  auto ex = std::make_shared<execution>(st.ex);
  // The items share one unit: no item may commit it on its own.
  ex->may_commit_inline(false);
  batch_result result;
  result.records.resize(n);
  result.errors.resize(n);
  std::vector<size_t> which(n, 0);
  size_t ran = 0;
  auto copy = b;
  for (size_t i = 0; i < n; ++i) {
    auto rec = ex->run(item_call(copy, copy.items[i]));
    if (rec) {
      which[i] = ran++;
      result.records[i] = std::move(*rec);
      continue;
    }
    if (per_item) {
      // Taken back out of the unit; the other items go on.
      result.errors[i] = std::move(rec.error());
      continue;
    }
    ex->finish(rec.error());
    auto err = make_error(static_cast<errc>(rec.error().code()),
                          "batch item " + std::to_string(i) + ": "
                            + message(rec.error()),
                          field_errors(rec.error()));
    if (rec.error().category() != caf::atom("evact"))
      err = rec.error();
    fail_all(n, done, std::move(err));
    return;
  }
  if (per_item && ran == 0) {
    // Nothing to write: nothing is stored, and a retry runs again.
    ex->finish(result.errors.front());
    done(std::move(result));
    return;
  }
  ex->pending().epoch = epoch;
  if (idem) {
    std::vector<idempotency::stored_item> items(n);
    for (size_t i = 0; i < n; ++i) {
      if (result.errors[i]) {
        items[i].err = result.errors[i];
        continue;
      }
      items[i].rec = result.records[i];
      items[i].op = ex->stamp_op(which[i]);
    }
    st.pipeline->remember(*ex, *idem, b.resource, b.action,
                          idempotency::encode(items));
  }
  commit_batch(self, std::move(b), std::move(done), attempt, std::move(idem),
               std::move(ex), std::move(result), std::move(which));
}

void commit_batch(pointer self, batch_call b, batch_done done,
                  uint32_t attempt, std::shared_ptr<idempotency_claim> idem,
                  std::shared_ptr<execution> ex, batch_result result,
                  std::vector<size_t> which) {
  auto& st = self->state;
  ++st.in_flight;
  self
    ->request(st.log, caf::infinite, append_atom_v,
              std::move(ex->pending()))
    .then(
      [self, ex, result, which, done](unit_receipt& receipt) mutable {
        --self->state.in_flight;
        for (size_t i = 0; i < result.records.size(); ++i)
          if (!result.errors[i])
            ex->stamp(result.records[i], receipt, which[i]);
        if (auto err = ex->finish(receipt))
          for (auto& e : result.errors)
            if (!e)
              e = err;
        done(std::move(result));
        maybe_quit(self);
      },
      [self, ex, b, done, attempt, idem](caf::error& err) mutable {
        auto& st = self->state;
        --st.in_flight;
        auto final = st.stopping
                       ? std::optional<caf::error>{err}
                       : st.pipeline->after_failure(
                         err, call{b.resource, b.action}, attempt + 1);
        if (!final) {
          run_atomic_batch(self, std::move(b), std::move(done), attempt + 1,
                           std::move(idem));
          return;
        }
        ex->finish(*final);
        fail_all(b.items.size(), done, std::move(*final));
        maybe_quit(self);
      });
}

/// A batch with an idempotency key: takes the key's turn, answers a
/// committed key with its stored result, or runs the batch in one unit
/// that stores the key.
void run_keyed_batch(pointer self, batch_call b, batch_done done) {
  auto n = b.items.size();
  auto k = idempotency::claim(b);
  if (!k) {
    fail_all(n, done, std::move(k.error()));
    return;
  }
  auto& st = self->state;
  k->ticket = st.pipeline->turns().next_ticket();
  auto idem = std::make_shared<idempotency_claim>(std::move(*k));
  auto resume = [self, b, done, idem, n]() mutable {
    auto& st = self->state;
    auto pipeline = st.pipeline;
    // The key's turn passes on once the batch settled.
    auto settle = [self, pipeline, idem, done](batch_result r) {
      pipeline->turns().release(idem->turn, idem->ticket);
      // A key another process committed meanwhile: its result stands.
      if (!r.errors.empty() && is(r.errors.front(), errc::conflict))
        if (auto again = pipeline->recall(*self->state.db, *idem);
            again && *again)
          if (auto stored = idempotency::decode_batch(**again))
            r = std::move(*stored);
      done(std::move(r));
    };
    if (st.stopping) {
      fail_all(n, settle, stopped_error());
      return;
    }
    auto found = pipeline->recall(*st.db, *idem);
    if (!found) {
      fail_all(n, settle, std::move(found.error()));
      return;
    }
    if (*found) {
      auto stored = idempotency::decode_batch(**found);
      if (!stored)
        fail_all(n, settle, std::move(stored.error()));
      else
        settle(std::move(*stored));
      return;
    }
    if (n == 0) {
      settle(batch_result{});
      return;
    }
    run_atomic_batch(self, std::move(b), std::move(settle), 0, idem);
  };
  auto turn = idem->turn;
  with_turn(self, turn, idem->ticket, std::move(resume),
            [n, done](caf::error err) { fail_all(n, done, std::move(err)); });
}

void run_batch(pointer self, batch_call b,
               std::function<void(batch_result)> done) {
  auto n = b.items.size();
  if (self->state.stopping) {
    fail_all(n, done, stopped_error());
    return;
  }
  if (b.idempotency_key) {
    run_keyed_batch(self, std::move(b), std::move(done));
    return;
  }
  if (n == 0) {
    done(batch_result{});
    return;
  }
  if (b.atomic) {
    run_atomic_batch(self, std::move(b), std::move(done), 0);
    return;
  }
  auto collector = std::make_shared<batch_collector>();
  collector->result.records.resize(n);
  collector->result.errors.resize(n);
  collector->remaining = n;
  collector->done = std::move(done);
  for (size_t i = 0; i < n; ++i) {
    job j;
    j.c = item_call(b, b.items[i]);
    j.reply = [collector, i](caf::expected<record> x) {
      collector->set(i, std::move(x));
    };
    start(self, std::move(j));
  }
}

resource_actor::behavior_type
resource_impl(pointer self, std::shared_ptr<const model> m,
              const runtime_options* opts, std::unique_ptr<reader> db,
              event_log_actor log, std::shared_ptr<write_pipeline> pipeline) {
  auto& st = self->state;
  st.pipeline = std::move(pipeline);
  st.m = std::move(m);
  st.opts = opts;
  st.db = std::move(db);
  st.log = log;
  executor base;
  base.defs = st.m;
  base.options = opts;
  base.db = st.db.get();
  // Blocking commits for around_transaction hooks and for actions that
  // after_transaction hooks run go through the pipeline directly. This
  // actor is detached, so waiting here stalls only this resource.
  st.ex = st.pipeline->wire(base);
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // Answer the calls that wait for their turn; let the units in flight
    // finish (their callers wait for them), then quit.
    auto& st = self->state;
    st.stopping = msg.reason;
    for (auto& [ticket, j] : st.waiting) {
      done(self, j);
      j.reply(stopped_error());
    }
    st.waiting.clear();
    for (auto& [ticket, p] : st.parked_work) {
      st.pipeline->turns().release(p.turn, ticket);
      p.fail(stopped_error());
    }
    st.parked_work.clear();
    maybe_quit(self);
  });
  return {
    [self](run_atom, call& c) -> caf::result<record> {
      auto rp = self->make_response_promise<record>();
      job j;
      j.c = std::move(c);
      j.reply = [rp](caf::expected<record> x) mutable {
        if (x)
          rp.deliver(std::move(*x));
        else
          rp.deliver(std::move(x.error()));
      };
      start(self, std::move(j));
      return rp;
    },
    [self](run_batch_atom, batch_call& b) -> caf::result<batch_result> {
      auto rp = self->make_response_promise<batch_result>();
      run_batch(self, std::move(b),
                [rp](batch_result x) mutable { rp.deliver(std::move(x)); });
      return rp;
    },
    [self](run_atom, call& c, record_slot& slot) {
      job j;
      j.c = std::move(c);
      j.reply = [slot](caf::expected<record> x) { slot->set(std::move(x)); };
      start(self, std::move(j));
    },
    [self](run_batch_atom, batch_call& b, batch_slot& slot) {
      run_batch(self, std::move(b),
                [slot](batch_result x) { slot->set(std::move(x)); });
    },
    [self](turn_granted& t) {
      // Ignored once stopping: the exit handler passed the turn on.
      auto& st = self->state;
      if (auto p = st.parked_work.find(t.ticket);
          p != st.parked_work.end()) {
        auto resume = std::move(p->second.resume);
        st.parked_work.erase(p);
        resume();
        return;
      }
      auto i = self->state.waiting.find(t.ticket);
      if (i == self->state.waiting.end())
        return;
      auto j = std::move(i->second);
      self->state.waiting.erase(i);
      run(self, j);
    },
  };
}

} // namespace

resource_actor spawn_resource_actor(caf::actor_system& sys,
                                    std::shared_ptr<const model> m,
                                    const runtime_options* opts,
                                    std::unique_ptr<reader> db,
                                    event_log_actor log,
                                    std::shared_ptr<write_pipeline> pipeline) {
  return sys.spawn<caf::detached>(resource_impl, std::move(m), opts,
                                  std::move(db), std::move(log),
                                  std::move(pipeline));
}

} // namespace eventactors
