// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "actors/service.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "base/json_text.hpp"
#include "eventactors/description.hpp"
#include "eventactors/runtime.hpp"

namespace eventactors {

namespace {

template <class T>
caf::result<T> to_result(caf::expected<T> x) {
  if (x)
    return std::move(*x);
  return std::move(x.error());
}

} // namespace

caf::behavior sync_worker(caf::event_based_actor*, runtime* rt) {
  return {
    [rt](run_atom, call& c) -> caf::result<record> {
      return to_result(rt->run(std::move(c)));
    },
    [rt](get_atom, const std::string& resource,
         const std::string& id) -> caf::result<record> {
      json::value key;
      if (auto failed = json_io::parse_stored(id, key))
        return make_error(errc::invalid_input,
                          "the record id is not JSON: "
                            + failed->ec.message());
      return to_result(rt->get(resource, key));
    },
    [rt](list_atom, const std::string& resource,
         const list_options& opts) -> caf::result<std::vector<record>> {
      return to_result(rt->list(resource, opts));
    },
    [rt](events_atom, const event_filter& filter) -> caf::result<event_page> {
      return to_result(rt->events(filter));
    },
    [rt](stats_atom, const std::string& log) -> caf::result<log_stats> {
      return to_result(rt->stats(log));
    },
    [rt](describe_atom) -> caf::result<std::string> {
      return to_json_text(describe(rt->definitions()));
    },
    [rt](append_atom, new_event& ev) -> caf::result<std::string> {
      auto id = rt->append(std::move(ev));
      if (!id)
        return std::move(id.error());
      return to_json_text(*id);
    },
    [rt](replay_atom, replay_request& req) -> caf::result<replay_summary> {
      return to_result(rt->replay(std::move(req)));
    },
    [rt](fork_atom, replay_request& req,
         std::string& path) -> caf::result<replay_summary> {
      return to_result(rt->fork(std::move(req), std::move(path)));
    },
    [rt](verify_atom, std::string& log,
         uint32_t max) -> caf::result<verify_report> {
      return to_result(rt->verify(std::move(log), max));
    },
  };
}

namespace {

struct front_state {
  action_actor dispatcher;
  std::vector<caf::actor> queries;
  caf::actor admin;
  size_t next = 0;

  const caf::actor& query_worker() {
    return queries[next++ % queries.size()];
  }

  static inline const char* name = "eventactors.service";
};

service_actor::behavior_type
front(service_actor::stateful_pointer<front_state> self, action_actor dispatcher,
      std::vector<caf::actor> queries, caf::actor admin) {
  self->state.dispatcher = std::move(dispatcher);
  self->state.queries = std::move(queries);
  self->state.admin = std::move(admin);
  return {
    [self](run_atom, call& c) {
      return self->delegate(self->state.dispatcher, run_atom_v, std::move(c));
    },
    [self](run_batch_atom, batch_call& c) {
      return self->delegate(self->state.dispatcher, run_batch_atom_v,
                            std::move(c));
    },
    [self](get_atom, std::string& resource,
           std::string& id) -> caf::result<record> {
      self->delegate(self->state.query_worker(), get_atom_v,
                     std::move(resource), std::move(id));
      return caf::delegated<record>{};
    },
    [self](list_atom, std::string& resource,
           list_options opts) -> caf::result<std::vector<record>> {
      self->delegate(self->state.query_worker(), list_atom_v,
                     std::move(resource), opts);
      return caf::delegated<std::vector<record>>{};
    },
    [self](events_atom, event_filter& filter) -> caf::result<event_page> {
      self->delegate(self->state.query_worker(), events_atom_v,
                     std::move(filter));
      return caf::delegated<event_page>{};
    },
    [self](stats_atom, std::string& log) -> caf::result<log_stats> {
      self->delegate(self->state.query_worker(), stats_atom_v,
                     std::move(log));
      return caf::delegated<log_stats>{};
    },
    [self](describe_atom) -> caf::result<std::string> {
      self->delegate(self->state.query_worker(), describe_atom_v);
      return caf::delegated<std::string>{};
    },
    [self](append_atom, new_event& ev) -> caf::result<std::string> {
      self->delegate(self->state.admin, append_atom_v, std::move(ev));
      return caf::delegated<std::string>{};
    },
    [self](replay_atom, replay_request& req) -> caf::result<replay_summary> {
      self->delegate(self->state.admin, replay_atom_v, std::move(req));
      return caf::delegated<replay_summary>{};
    },
    [self](fork_atom, replay_request& req,
           std::string& path) -> caf::result<replay_summary> {
      self->delegate(self->state.admin, fork_atom_v, std::move(req),
                     std::move(path));
      return caf::delegated<replay_summary>{};
    },
    [self](verify_atom, std::string& log,
           uint32_t max) -> caf::result<verify_report> {
      self->delegate(self->state.admin, verify_atom_v, std::move(log), max);
      return caf::delegated<verify_report>{};
    },
  };
}

} // namespace

service::~service() = default;

caf::expected<record> service::run(std::string resource, std::string action,
                                   json::object input) {
  return run(call{std::move(resource), std::move(action), std::move(input)});
}

service_actors spawn_service(caf::actor_system& sys, runtime& rt,
                             action_actor dispatcher, size_t queries) {
  service_actors result;
  std::vector<caf::actor> query_workers;
  for (size_t i = 0; i < std::max<size_t>(queries, 1); ++i)
    query_workers.push_back(sys.spawn<caf::detached>(sync_worker, &rt));
  auto admin = sys.spawn<caf::detached>(sync_worker, &rt);
  result.workers = query_workers;
  result.workers.push_back(admin);
  result.front = sys.spawn(front, std::move(dispatcher),
                           std::move(query_workers), std::move(admin));
  return result;
}

} // namespace eventactors
