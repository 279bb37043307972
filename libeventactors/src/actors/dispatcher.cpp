// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "actors/dispatcher.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "eventactors/error.hpp"

namespace eventactors {

caf::error read_only_error(std::string_view what) {
  return make_error(errc::storage_failure,
                    std::string{what}
                      + ": the runtime is read-only "
                        "(runtime_options.read_only); nothing was written");
}

namespace {

caf::error stopped_error() {
  return make_error(errc::runtime_stopped, "the runtime was stopped");
}

using dispatcher_actor = action_actor;

struct dispatcher_state {
  static inline const char* name = "eventactors.dispatcher";
  std::map<std::string, resource_actor, std::less<>> resources;
  /// Set by `runtime::stop`: calls then fail with runtime_stopped instead of
  /// CAF's "receiver down".
  std::shared_ptr<std::atomic<bool>> stopped;
  /// Set for a read-only runtime: every action fails.
  bool read_only = false;
};

dispatcher_actor::behavior_type
dispatcher_impl(dispatcher_actor::stateful_pointer<dispatcher_state> self,
                std::map<std::string, resource_actor, std::less<>> xs,
                std::shared_ptr<std::atomic<bool>> stopped, bool read_only) {
  self->state.resources = std::move(xs);
  self->state.stopped = std::move(stopped);
  self->state.read_only = read_only;
  return {
    [self](run_atom, call& c) -> caf::result<record> {
      if (*self->state.stopped)
        return stopped_error();
      if (self->state.read_only)
        return read_only_error(c.resource + "." + c.action);
      auto i = self->state.resources.find(c.resource);
      if (i == self->state.resources.end())
        return make_error(errc::unknown_resource,
                          "no resource \"" + c.resource + "\"");
      auto target = caf::actor_cast<action_actor>(i->second);
      return self->delegate(target, run_atom_v, std::move(c));
    },
    [self](run_batch_atom, batch_call& b) -> caf::result<batch_result> {
      if (*self->state.stopped)
        return stopped_error();
      if (self->state.read_only)
        return read_only_error(b.resource + "." + b.action);
      auto i = self->state.resources.find(b.resource);
      if (i == self->state.resources.end())
        return make_error(errc::unknown_resource,
                          "no resource \"" + b.resource + "\"");
      auto target = caf::actor_cast<action_actor>(i->second);
      return self->delegate(target, run_batch_atom_v, std::move(b));
    },
  };
}

} // namespace

action_actor spawn_dispatcher(
  caf::actor_system& sys,
  std::map<std::string, resource_actor, std::less<>> resources,
  std::shared_ptr<std::atomic<bool>> stopped, bool read_only) {
  return sys.spawn(dispatcher_impl, std::move(resources), std::move(stopped),
                   read_only);
}

} // namespace eventactors
