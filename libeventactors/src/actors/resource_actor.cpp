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

void start(pointer self, job j) {
  auto& st = self->state;
  if (st.stopping) {
    j.reply(stopped_error());
    return;
  }
  // Calls on the same record run one after another, in arrival order, with
  // the synchronous callers' calls on it.
  j.key = st.pipeline->turn_key(j.c);
  if (j.key) {
    auto& turns = st.pipeline->turns();
    j.ticket = turns.next_ticket();
    auto me = caf::actor_cast<caf::weak_actor_ptr>(self);
    auto ticket = j.ticket;
    auto granted = [me, ticket] {
      if (auto hdl = me.lock())
        caf::anon_send(caf::actor_cast<resource_actor>(hdl),
                       turn_granted{ticket});
    };
    if (!turns.take(*j.key, j.ticket, std::move(granted))) {
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

void run_atomic_batch(pointer self, batch_call b,
                      std::function<void(batch_result)> done,
                      uint32_t attempt) {
  auto& st = self->state;
  auto n = b.items.size();
  auto& gate = st.pipeline->gate();
  auto epoch = gate.epoch();
  if (auto err = gate.admit(b.resource, b.action)) {
    fail_all(n, done, std::move(err));
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
        auto final = st.stopping
                       ? std::optional<caf::error>{err}
                       : st.pipeline->after_failure(
                         err, call{b.resource, b.action}, attempt + 1);
        if (!final) {
          run_atomic_batch(self, std::move(b), std::move(done), attempt + 1);
          return;
        }
        ex->finish(*final);
        fail_all(b.items.size(), done, std::move(*final));
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
