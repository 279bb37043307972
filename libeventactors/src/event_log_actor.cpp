// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "event_log_actor.hpp"

#include <optional>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "detail/log.hpp"
#include "eventactors/error.hpp"
#include "replayer.hpp"

namespace eventactors {

namespace {

struct event_log_state {
  static inline const char* name = "eventactors.event_log";

  std::optional<writer> db;
  std::shared_ptr<const model> m;
  const runtime_options* opts = nullptr;
  std::shared_ptr<replay_gate> gate;
  uint32_t max_batch = 256;
  bool flush_scheduled = false;
  std::vector<std::pair<caf::typed_response_promise<unit_receipt>,
                        unit_receipt>>
    pending;

  /// Commits the open transaction and answers every unit in it.
  void flush() {
    if (pending.empty()) {
      db->rollback(); // nothing to keep (an empty or abandoned transaction)
      return;
    }
    auto err = db->commit();
    SPDLOG_LOGGER_DEBUG(&detail::log(), "commit units={} ok={}",
                        pending.size(), !err);
    for (auto& [rp, receipt] : pending) {
      if (err)
        rp.deliver(err);
      else
        rp.deliver(std::move(receipt));
    }
    pending.clear();
  }

  /// Fails every pending unit: their transaction is gone.
  void fail_pending(const caf::error& err) {
    for (auto& [rp, receipt] : pending)
      rp.deliver(make_error(errc::storage_failure,
                            "the commit shared with another action failed: "
                              + message(err)));
    pending.clear();
  }

  ~event_log_state() {
    // Normally the exit handler committed already; anything left was never
    // acknowledged and its callers learn that the actor is gone.
    if (db)
      db->rollback();
  }
};

using pointer = event_log_actor::stateful_pointer<event_log_state>;

event_log_actor::behavior_type
event_log_impl(pointer self, std::shared_ptr<const model> m,
               const runtime_options* opts, std::shared_ptr<replay_gate> gate,
               writer w) {
  auto& st = self->state;
  st.db.emplace(std::move(w));
  st.m = std::move(m);
  st.opts = opts;
  st.gate = std::move(gate);
  st.max_batch = opts->max_batch == 0 ? 1 : opts->max_batch;
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // Commit what was accepted before stopping: its callers wait for it.
    self->state.flush();
    self->quit(msg.reason);
  });
  return {
    [self](append_atom, unit& u) -> caf::result<unit_receipt> {
      auto& st = self->state;
      if (u.epoch != st.gate->epoch.load())
        return make_error(errc::replay_in_progress,
                          "a replay ran while this action was prepared");
      caf::expected<unit_receipt> receipt{caf::error{}};
      try {
        receipt = st.db->apply(u);
      } catch (const std::exception& e) {
        // E.g. bad_alloc: the open transaction is in an unknown state, so
        // it and every unit in it fail; the actor keeps serving.
        st.db->rollback();
        auto err = make_error(errc::storage_failure,
                              std::string{"append failed: "} + e.what());
        st.fail_pending(err);
        return err;
      }
      if (!receipt) {
        if (!st.db->in_transaction() && !st.pending.empty())
          st.fail_pending(receipt.error());
        return std::move(receipt.error());
      }
      auto rp = self->make_response_promise<unit_receipt>();
      st.pending.emplace_back(rp, std::move(*receipt));
      if (st.pending.size() >= st.max_batch) {
        st.flush();
      } else if (!st.flush_scheduled) {
        // Commit once the units already waiting in the mailbox are in.
        st.flush_scheduled = true;
        self->send(self, commit_atom_v);
      }
      return rp;
    },
    [self](replay_atom, replay_request& req,
           caf::actor& progress_to) -> caf::result<replay_summary> {
      auto& st = self->state;
      // What was accepted before the replay commits first.
      st.flush();
      replayer rp{st.m, *st.opts, *st.db};
      try {
        return rp.run(req, [&](const replay_progress& p) {
          if (progress_to)
            caf::anon_send(progress_to, replay_atom_v, p);
        });
      } catch (const std::exception& e) {
        st.db->rollback();
        return make_error(errc::replay_failed,
                          std::string{"replay failed: "} + e.what());
      }
    },
    [self](commit_atom) {
      auto& st = self->state;
      st.flush_scheduled = false;
      try {
        st.flush();
      } catch (const std::exception& e) {
        st.db->rollback();
        st.fail_pending(make_error(errc::storage_failure,
                                   std::string{"commit failed: "}
                                     + e.what()));
      }
    },
  };
}

} // namespace

event_log_actor spawn_event_log(caf::actor_system& sys,
                                std::shared_ptr<const model> m,
                                const runtime_options* opts,
                                std::shared_ptr<replay_gate> gate, writer w) {
  return sys.spawn<caf::detached>(event_log_impl, std::move(m), opts,
                                  std::move(gate), std::move(w));
}

} // namespace eventactors
