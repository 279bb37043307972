// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "actors/replay_coordinator.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "eventactors/error.hpp"
#include "replay/fork.hpp"
#include "replay/replayer.hpp"

namespace eventactors {

namespace {

/// Runs one replay on a thread of its own, then quits.
using replay_worker = caf::typed_actor<
  caf::replies_to<replay_atom, replay_request, caf::actor>::with<
    replay_summary>>;

/// Forwards progress to whoever asked (when it is an actor).
progress_fn progress_to(const caf::actor& requester) {
  if (!requester)
    return {};
  return [requester](const replay_progress& p) {
    caf::anon_send(requester, replay_atom_v, p);
  };
}

/// Replays with the pipeline's writer to itself, in one transaction.
caf::expected<replay_summary> run_replay(std::shared_ptr<const model> m,
                                         const runtime_options& opts,
                                         write_pipeline& pipeline,
                                         const replay_request& req,
                                         const progress_fn& progress) {
  caf::expected<replay_summary> result{caf::error{}};
  auto ran = pipeline.exclusive([&](writer& w) {
    replayer rp{m, opts, w};
    try {
      result = rp.run(req, progress);
    } catch (const std::exception& e) {
      w.rollback();
      result = make_error(errc::replay_failed,
                          std::string{"replay failed: "} + e.what());
    }
  });
  if (!ran)
    return make_error(errc::runtime_stopped, "the runtime was stopped");
  return result;
}

replay_worker::behavior_type
worker_impl(replay_worker::pointer self, std::shared_ptr<const model> m,
            const runtime_options* opts,
            std::shared_ptr<write_pipeline> pipeline) {
  return {
    [=](replay_atom, replay_request& req,
        caf::actor& requester) -> caf::result<replay_summary> {
      self->quit();
      return run_replay(m, *opts, *pipeline, req, progress_to(requester));
    },
  };
}

struct replay_coordinator_state {
  static inline const char* name = "eventactors.replay_coordinator";

  std::shared_ptr<const model> m;
  const runtime_options* opts = nullptr;
  std::shared_ptr<write_pipeline> pipeline;
  event_log_actor log;
};

using pointer = replay_actor::stateful_pointer<replay_coordinator_state>;

caf::result<replay_summary> replay(pointer self, replay_request& req) {
  auto& st = self->state;
  // Before make_response_promise, which takes the sender over.
  auto requester = caf::actor_cast<caf::actor>(self->current_sender());
  if (!st.pipeline)
    return make_error(errc::storage_failure,
                      "replay: the runtime is read-only "
                      "(runtime_options.read_only); nothing was written");
  // Stop new actions, and make units built before now stale, before the
  // event log actor commits what it accepted.
  if (!st.pipeline->gate().begin())
    return make_error(errc::replay_in_progress,
                      "a replay is running already");
  auto rp = self->make_response_promise<replay_summary>();
  auto finish = [self, rp](caf::expected<replay_summary> x) mutable {
    self->state.pipeline->gate().end();
    if (x)
      rp.deliver(std::move(*x));
    else
      rp.deliver(std::move(x.error()));
  };
  self->request(st.log, caf::infinite, replay_atom_v)
    .then(
      [self, req, requester, finish](uint64_t) mutable {
        auto& st = self->state;
        auto worker = self->spawn<caf::detached>(worker_impl, st.m, st.opts,
                                                 st.pipeline);
        self->request(worker, caf::infinite, replay_atom_v, std::move(req),
                      requester)
          .then([finish](replay_summary& x) mutable { finish(std::move(x)); },
                [finish](caf::error& err) mutable { finish(std::move(err)); });
      },
      [finish](caf::error& err) mutable { finish(std::move(err)); });
  return rp;
}

replay_actor::behavior_type
coordinator_impl(pointer self, std::shared_ptr<const model> m,
                 const runtime_options* opts,
                 std::shared_ptr<write_pipeline> pipeline,
                 event_log_actor log) {
  auto& st = self->state;
  st.m = std::move(m);
  st.opts = opts;
  st.pipeline = std::move(pipeline);
  st.log = std::move(log);
  return {
    [self](replay_atom, replay_request& req) -> caf::result<replay_summary> {
      return replay(self, req);
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
                                      std::shared_ptr<write_pipeline> pipeline,
                                      event_log_actor log) {
  return sys.spawn<caf::detached>(coordinator_impl, std::move(m), opts,
                                  std::move(pipeline), std::move(log));
}

} // namespace eventactors
