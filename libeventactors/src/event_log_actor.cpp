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
#include "replay/replayer.hpp"

namespace eventactors {

namespace {

struct event_log_state {
  static inline const char* name = "eventactors.event_log";

  std::shared_ptr<write_queue> queue;
  std::shared_ptr<replay_gate> gate;
  std::shared_ptr<const model> m;
  const runtime_options* opts = nullptr;
  uint32_t max_batch = 256;
  bool flush_scheduled = false;
  /// Units received since the last flush, with their callers.
  std::vector<std::pair<caf::typed_response_promise<unit_receipt>, unit>>
    pending;

  /// Commits the pending units (sharing commits with synchronous callers)
  /// and answers their callers.
  void flush() {
    if (pending.empty())
      return;
    std::vector<unit*> units;
    units.reserve(pending.size());
    for (auto& [rp, u] : pending)
      units.push_back(&u);
    // Their epochs were checked on arrival; a replay that began since is
    // run by this actor after this flush.
    auto results = queue->submit(std::move(units), std::nullopt, true);
    for (size_t i = 0; i < pending.size(); ++i) {
      auto& rp = pending[i].first;
      if (results[i])
        rp.deliver(std::move(*results[i]));
      else
        rp.deliver(std::move(results[i].error()));
    }
    pending.clear();
  }
};

using pointer = event_log_actor::stateful_pointer<event_log_state>;

event_log_actor::behavior_type
event_log_impl(pointer self, std::shared_ptr<const model> m,
               const runtime_options* opts, std::shared_ptr<replay_gate> gate,
               std::shared_ptr<write_queue> q) {
  auto& st = self->state;
  st.queue = std::move(q);
  st.gate = std::move(gate);
  st.m = std::move(m);
  st.opts = opts;
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
      auto rp = self->make_response_promise<unit_receipt>();
      st.pending.emplace_back(rp, std::move(u));
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
      caf::expected<replay_summary> result{caf::error{}};
      auto ran = st.queue->exclusive([&](writer& w) {
        replayer rp{st.m, *st.opts, w};
        try {
          result = rp.run(req, [&](const replay_progress& p) {
            if (progress_to)
              caf::anon_send(progress_to, replay_atom_v, p);
          });
        } catch (const std::exception& e) {
          w.rollback();
          result = make_error(errc::replay_failed,
                              std::string{"replay failed: "} + e.what());
        }
      });
      if (!ran)
        return make_error(errc::runtime_stopped, "the runtime was stopped");
      return result;
    },
    [self](commit_atom) {
      auto& st = self->state;
      st.flush_scheduled = false;
      st.flush();
    },
  };
}

} // namespace

event_log_actor spawn_event_log(caf::actor_system& sys,
                                std::shared_ptr<const model> m,
                                const runtime_options* opts,
                                std::shared_ptr<replay_gate> gate,
                                std::shared_ptr<write_queue> q) {
  return sys.spawn<caf::detached>(event_log_impl, std::move(m), opts,
                                  std::move(gate), std::move(q));
}

} // namespace eventactors
