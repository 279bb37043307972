// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "event_log_actor.hpp"

#include <optional>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "detail/log.hpp"
#include "eventactors/error.hpp"

namespace eventactors {

namespace {

struct event_log_state {
  static inline const char* name = "eventactors.event_log";

  std::optional<writer> db;
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

event_log_actor::behavior_type event_log_impl(pointer self, writer w,
                                              uint32_t max_batch) {
  self->state.db.emplace(std::move(w));
  self->state.max_batch = max_batch == 0 ? 1 : max_batch;
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // Commit what was accepted before stopping: its callers wait for it.
    self->state.flush();
    self->quit(msg.reason);
  });
  return {
    [self](append_atom, unit& u) -> caf::result<unit_receipt> {
      auto& st = self->state;
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

event_log_actor spawn_event_log(caf::actor_system& sys, writer w,
                                uint32_t max_batch) {
  return sys.spawn<caf::detached>(event_log_impl, std::move(w), max_batch);
}

} // namespace eventactors
