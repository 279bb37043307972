// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "actors/event_log_actor.hpp"

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

namespace eventactors {

namespace {

struct event_log_state {
  static inline const char* name = "eventactors.event_log";

  std::shared_ptr<write_pipeline> pipeline;
  uint32_t max_batch = 256;
  bool flush_scheduled = false;
  /// Units received since the last flush, with their callers.
  std::vector<std::pair<caf::typed_response_promise<unit_receipt>, unit>>
    pending;

  /// Commits the pending units (sharing commits with synchronous callers)
  /// and answers their callers.
  size_t flush() {
    if (pending.empty())
      return 0;
    std::vector<unit*> units;
    units.reserve(pending.size());
    for (auto& [rp, u] : pending)
      units.push_back(&u);
    // Their epochs were checked on arrival; a replay that began since
    // waits for this flush (replay_atom).
    auto results = pipeline->commit(std::move(units), std::nullopt, true);
    for (size_t i = 0; i < pending.size(); ++i) {
      auto& rp = pending[i].first;
      if (results[i])
        rp.deliver(std::move(*results[i]));
      else
        rp.deliver(std::move(results[i].error()));
    }
    auto n = pending.size();
    pending.clear();
    return n;
  }
};

using pointer = event_log_actor::stateful_pointer<event_log_state>;

event_log_actor::behavior_type
event_log_impl(pointer self, const runtime_options* opts,
               std::shared_ptr<write_pipeline> pipeline) {
  auto& st = self->state;
  st.pipeline = std::move(pipeline);
  st.max_batch = opts->max_batch == 0 ? 1 : opts->max_batch;
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // Commit what was accepted before stopping: its callers wait for it.
    self->state.flush();
    self->quit(msg.reason);
  });
  return {
    [self](append_atom, unit& u) -> caf::result<unit_receipt> {
      auto& st = self->state;
      if (auto err = st.pipeline->gate().check(u.epoch))
        return err;
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
    [self](replay_atom) -> uint64_t {
      // What was accepted before the replay commits first.
      return self->state.flush();
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
                                const runtime_options* opts,
                                std::shared_ptr<write_pipeline> pipeline) {
  return sys.spawn<caf::detached>(event_log_impl, opts, std::move(pipeline));
}

} // namespace eventactors
