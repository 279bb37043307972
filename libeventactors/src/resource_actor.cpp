// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "resource_actor.hpp"

#include <deque>
#include <functional>
#include <map>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "detail/log.hpp"
#include "eventactors/error.hpp"
#include "direct_call.hpp"
#include "executor.hpp"

namespace eventactors {

namespace {

using reply_fn = std::function<void(caf::expected<record>)>;

/// One call waiting for or being executed.
struct job {
  call c;
  reply_fn reply;
  uint32_t attempt = 0;
};

struct resource_state {
  static inline const char* name = "eventactors.resource";

  std::shared_ptr<const model> m;
  const runtime_options* opts = nullptr;
  std::unique_ptr<reader> db;
  event_log_actor log;
  std::shared_ptr<write_queue> queue;
  std::shared_ptr<record_locks> locks;
  std::shared_ptr<replay_gate> gate;
  executor ex;
  /// Records with work in flight, and the calls waiting for them.
  std::map<std::string, std::deque<job>> busy;
  /// Units sent to the event log actor and not answered yet.
  size_t in_flight = 0;
  /// Set when the runtime stops: new calls fail, the actor quits once the
  /// units in flight are answered.
  std::optional<caf::error> stopping;
};

using pointer = resource_actor::stateful_pointer<resource_state>;

bool execute(pointer self, job& j, const std::optional<std::string>& key);

caf::error stopped_error() {
  return make_error(errc::runtime_stopped, "the runtime is stopping");
}

/// Quits once stopping and nothing is in flight anymore.
void maybe_quit(pointer self) {
  auto& st = self->state;
  if (st.stopping && st.in_flight == 0)
    self->quit(*st.stopping);
}

/// Starts the next waiting call of `key`, or frees the key.
void release(pointer self, const std::optional<std::string>& key) {
  if (!key)
    return;
  auto& st = self->state;
  for (;;) {
    auto i = st.busy.find(*key);
    if (i == st.busy.end())
      return;
    if (i->second.empty()) {
      st.busy.erase(i);
      return;
    }
    auto next = std::move(i->second.front());
    i->second.pop_front();
    if (st.stopping) {
      next.reply(stopped_error());
      continue;
    }
    if (execute(self, next, key))
      return; // in flight; its completion releases the key again
  }
}

/// Answers a job whose unit committed: after_transaction hooks, then the
/// record (or the hooks' error).
void answer(job& j, execution& ex, caf::expected<record>& rec,
            const unit_receipt& receipt) {
  ex.stamp(*rec, receipt);
  if (auto err = ex.finish(receipt))
    j.reply(std::move(err));
  else
    j.reply(std::move(rec));
}

/// After a failed write: true when the job should run again on fresh
/// reads; otherwise answers it with the error (or with a give-up error
/// after `max_retries`).
bool retry_or_fail(const resource_state& st, job& j, execution& ex,
                   caf::error err) {
  if (retryable(err, *st.m, j.c) && !st.stopping) {
    if (j.attempt < st.opts->max_retries) {
      ++j.attempt;
      return true;
    }
    err = make_error(errc::concurrent_modification,
                     j.c.resource + "." + j.c.action + ": gave up after "
                       + std::to_string(j.attempt + 1)
                       + " attempts; the record kept changing");
  }
  ex.finish(err);
  j.reply(std::move(err));
  return false;
}

/// Runs a job. Returns true when it is waiting for its commit, false when
/// it completed (and replied) already.
bool execute(pointer self, job& j, const std::optional<std::string>& key) {
  auto& st = self->state;
  auto epoch = st.gate->epoch.load();
  if (st.gate->active) {
    j.reply(make_error(errc::replay_in_progress,
                       j.c.resource + "." + j.c.action
                         + ": a replay is in progress; retry when it is "
                           "done"));
    return false;
  }
  if (j.attempt >= 2) {
    // This call lost to concurrent writes twice, e.g. to synchronous
    // callers looping on its record, which run on their own threads and
    // never queue here, or (a create) to other processes taking the key it
    // generated. Take the record's turn with them and commit directly
    // (where a retry after a lost key runs with the write lock held): this
    // actor blocks for one commit, but the call cannot starve.
    record_locks::lock_type turn;
    if (key)
      turn = st.locks->lock(j.c.resource, *key);
    j.reply(run_direct(st.ex, j.c, *st.queue, *st.gate));
    return false;
  }
  auto ex = std::make_shared<execution>(st.ex);
  ex->pending().epoch = epoch;
  auto rec = ex->run(j.c);
  if (ex->committed()) {
    // An around_transaction hook committed the unit inside the action.
    auto err = ex->finish(ex->receipt());
    if (rec && err)
      j.reply(std::move(err));
    else
      j.reply(std::move(rec));
    return false;
  }
  if (!rec) {
    // An inline commit (around_transaction) found the record changed.
    if (is(rec.error(), errc::concurrent_modification)
        && j.attempt < st.opts->max_retries && !st.stopping) {
      ++j.attempt;
      return execute(self, j, key);
    }
    ex->finish(rec.error());
    j.reply(std::move(rec));
    return false;
  }
  if (st.in_flight == 0 && self->mailbox().empty()) {
    // Nothing else to do meanwhile: commit on this thread instead of
    // handing the unit to the event log actor and waiting for its answer
    // (two hand-overs between threads, each about as long as a commit in
    // NORMAL mode). Under load the mailbox is not empty and units go to
    // the event log actor, which commits them together.
    auto receipt = st.queue->submit(ex->pending());
    if (receipt) {
      answer(j, *ex, rec, *receipt);
      return false;
    }
    if (retry_or_fail(st, j, *ex, std::move(receipt.error())))
      return execute(self, j, key);
    return false;
  }
  ++st.in_flight;
  self
    ->request(st.log, caf::infinite, append_atom_v,
              std::move(ex->pending()))
    .then(
      [self, ex, j, key, rec](unit_receipt& receipt) mutable {
        --self->state.in_flight;
        answer(j, *ex, rec, receipt);
        release(self, key);
        maybe_quit(self);
      },
      [self, ex, j, key](caf::error& err) mutable {
        auto& st = self->state;
        --st.in_flight;
        if (retry_or_fail(st, j, *ex, std::move(err))) {
          SPDLOG_LOGGER_DEBUG(&detail::log(),
                              "retry resource={} action={} attempt={}",
                              j.c.resource, j.c.action, j.attempt);
          if (!execute(self, j, key))
            release(self, key);
          maybe_quit(self);
          return;
        }
        release(self, key);
        maybe_quit(self);
      });
  return true;
}

void start(pointer self, job j) {
  auto& st = self->state;
  if (st.stopping) {
    j.reply(stopped_error());
    return;
  }
  // Calls on the same record run one after another, in arrival order.
  auto key = record_key(*st.m, j.c);
  if (key) {
    auto [i, added] = st.busy.try_emplace(*key);
    if (!added) {
      i->second.push_back(std::move(j));
      return;
    }
  }
  if (!execute(self, j, key))
    release(self, key);
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

void run_atomic_batch(pointer self, batch_call b,
                      std::function<void(batch_result)> done,
                      uint32_t attempt) {
  auto& st = self->state;
  auto n = b.items.size();
  auto epoch = st.gate->epoch.load();
  if (st.gate->active) {
    fail_all(n, done,
             make_error(errc::replay_in_progress,
                        b.resource + "." + b.action
                          + ": a replay is in progress; retry when it is "
                            "done"));
    return;
  }
  auto ex = std::make_shared<execution>(st.ex);
  // The items share one unit: no item may commit it on its own.
  ex->may_commit_inline(false);
  std::vector<record> records;
  records.reserve(n);
  auto copy = b;
  for (size_t i = 0; i < n; ++i) {
    auto rec = ex->run(item_call(copy, copy.items[i]));
    if (!rec) {
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
    records.push_back(std::move(*rec));
  }
  ++st.in_flight;
  ex->pending().epoch = epoch;
  self
    ->request(st.log, caf::infinite, append_atom_v,
              std::move(ex->pending()))
    .then(
      [self, ex, records, done](unit_receipt& receipt) mutable {
        --self->state.in_flight;
        batch_result result;
        for (size_t i = 0; i < records.size(); ++i)
          ex->stamp(records[i], receipt, i);
        auto err = ex->finish(receipt);
        result.errors.resize(records.size());
        if (err)
          result.errors.assign(records.size(), err);
        result.records = std::move(records);
        done(std::move(result));
        maybe_quit(self);
      },
      [self, ex, b, done, attempt](caf::error& err) mutable {
        auto& st = self->state;
        --st.in_flight;
        if (!st.stopping && retryable(err, *st.m, call{b.resource, b.action})
            && attempt < st.opts->max_retries) {
          run_atomic_batch(self, std::move(b), std::move(done), attempt + 1);
          return;
        }
        ex->finish(err);
        fail_all(b.items.size(), done, std::move(err));
        maybe_quit(self);
      });
}

void run_batch(pointer self, batch_call b,
               std::function<void(batch_result)> done) {
  auto n = b.items.size();
  if (self->state.stopping) {
    fail_all(n, done, stopped_error());
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
              const runtime_options* opts, std::shared_ptr<replay_gate> gate,
              std::unique_ptr<reader> db, event_log_actor log,
              std::shared_ptr<write_queue> q,
              std::shared_ptr<record_locks> locks) {
  auto& st = self->state;
  st.queue = q;
  st.locks = std::move(locks);
  st.m = std::move(m);
  st.opts = opts;
  st.gate = std::move(gate);
  st.db = std::move(db);
  st.log = log;
  st.ex.defs = st.m;
  st.ex.options = opts;
  st.ex.db = st.db.get();
  st.ex.gate = st.gate.get();
  // Blocking commit for around_transaction hooks and for actions that
  // after_transaction hooks run, through the write queue directly. This
  // actor is detached, so waiting here stalls only this resource.
  st.ex.commit = direct_commit(std::move(q), st.gate);
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // Answer the calls that wait for a record; let the units in flight
    // finish (their callers wait for them), then quit.
    auto& st = self->state;
    st.stopping = msg.reason;
    for (auto& [key, queue] : st.busy) {
      for (auto& j : queue)
        j.reply(stopped_error());
      queue.clear();
    }
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
  };
}

} // namespace

resource_actor spawn_resource_actor(caf::actor_system& sys,
                                    std::shared_ptr<const model> m,
                                    const runtime_options* opts,
                                    std::shared_ptr<replay_gate> gate,
                                    std::unique_ptr<reader> db,
                                    event_log_actor log,
                                    std::shared_ptr<write_queue> q,
                                    std::shared_ptr<record_locks> locks) {
  return sys.spawn<caf::detached>(resource_impl, std::move(m), opts,
                                  std::move(gate), std::move(db),
                                  std::move(log), std::move(q),
                                  std::move(locks));
}

} // namespace eventactors
