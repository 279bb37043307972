// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "replay_coordinator.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "eventactors/error.hpp"
#include "replay/fork.hpp"

namespace eventactors {

namespace {

struct coordinator_state {
  static inline const char* name = "eventactors.replay";

  std::shared_ptr<const model> m;
  const runtime_options* opts = nullptr;
  std::shared_ptr<replay_gate> gate;
  event_log_actor log;
  bool busy = false;
};

using pointer = replay_actor::stateful_pointer<coordinator_state>;

/// Forwards progress to whoever asked (when it is an actor).
progress_fn progress_to(const caf::actor& requester) {
  if (!requester)
    return {};
  return [requester](const replay_progress& p) {
    caf::anon_send(requester, replay_atom_v, p);
  };
}

replay_actor::behavior_type coordinator_impl(pointer self,
                                             std::shared_ptr<const model> m,
                                             const runtime_options* opts,
                                             std::shared_ptr<replay_gate> gate,
                                             event_log_actor log) {
  auto& st = self->state;
  st.m = std::move(m);
  st.opts = opts;
  st.gate = std::move(gate);
  st.log = std::move(log);
  return {
    [self](replay_atom, replay_request& req) -> caf::result<replay_summary> {
      auto& st = self->state;
      // Before make_response_promise, which takes the sender over.
      auto requester = caf::actor_cast<caf::actor>(self->current_sender());
      if (!st.log)
        return make_error(errc::storage_failure,
                          "replay: the runtime is read-only "
                          "(runtime_options.read_only); nothing was "
                          "written");
      if (st.busy)
        return make_error(errc::replay_in_progress,
                          "a replay is running already");
      // Stop new actions, and make units built before now stale, before
      // the log actor starts: it commits what it accepted first.
      st.busy = true;
      st.gate->active = true;
      ++st.gate->epoch;
      auto rp = self->make_response_promise<replay_summary>();
      auto done = [self] {
        self->state.busy = false;
        self->state.gate->active = false;
      };
      self
        ->request(st.log, caf::infinite, replay_atom_v, std::move(req),
                  requester)
        .then(
          [rp, done](replay_summary& summary) mutable {
            done();
            rp.deliver(std::move(summary));
          },
          [rp, done](caf::error& err) mutable {
            done();
            rp.deliver(std::move(err));
          });
      return rp;
    },
    [self](fork_atom, replay_request& req,
           std::string& path) -> caf::result<replay_summary> {
      auto& st = self->state;
      auto requester = caf::actor_cast<caf::actor>(self->current_sender());
      return fork_database(st.m, *st.opts, st.opts->path, req, path,
                           progress_to(requester));
    },
    [self](verify_atom, std::string& log,
           uint32_t max_differences) -> caf::result<verify_report> {
      auto& st = self->state;
      auto requester = caf::actor_cast<caf::actor>(self->current_sender());
      return verify_database(st.m, *st.opts, st.opts->path, log,
                             max_differences, progress_to(requester));
    },
  };
}

} // namespace

replay_actor spawn_replay_coordinator(caf::actor_system& sys,
                                      std::shared_ptr<const model> m,
                                      const runtime_options* opts,
                                      std::shared_ptr<replay_gate> gate,
                                      event_log_actor log) {
  return sys.spawn<caf::detached>(coordinator_impl, std::move(m), opts,
                                  std::move(gate), std::move(log));
}

} // namespace eventactors
