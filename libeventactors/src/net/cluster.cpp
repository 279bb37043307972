// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/cluster.hpp"

#include <thread>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "eventactors/description.hpp"
#include "eventactors/error.hpp"
#include "eventactors/init.hpp"
#include "net/routes.hpp"

namespace eventactors {

namespace {

/// `HOST:PORT`, as `parse_address` reads it.
std::string address_of(const connect_options& opts) {
  auto host = opts.host.find(':') == std::string::npos ? opts.host
                                                       : "[" + opts.host + "]";
  return host + ":" + std::to_string(opts.port);
}

/// `err` with `prefix` before its message; errors of other categories
/// (CAF's, when a node did not answer) become `node_down`.
caf::error with_context(const caf::error& err, const std::string& prefix) {
  if (err.category() != caf::atom("evact"))
    return make_error(errc::node_down, prefix + ": " + message(err));
  return make_error(static_cast<errc>(err.code()), prefix + ": " + message(err),
                    field_errors(err));
}

/// Connects to every node at once; fails with the first failure, in the
/// order given.
caf::expected<std::vector<std::unique_ptr<remote_node>>>
connect_all(std::vector<connect_options> opts) {
  using result = caf::expected<std::unique_ptr<remote_node>>;
  std::vector<result> got;
  std::vector<std::string> where;
  for (auto& x : opts) {
    got.emplace_back(make_error(errc::node_down, "not tried"));
    where.push_back(address_of(x));
  }
  std::vector<std::thread> threads;
  for (size_t i = 0; i < opts.size(); ++i)
    threads.emplace_back(
      [&got, &opts, i] { got[i] = remote_node::connect(std::move(opts[i])); });
  for (auto& t : threads)
    t.join();
  std::vector<std::unique_ptr<remote_node>> nodes;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!got[i])
      return with_context(got[i].error(), "cluster: node " + where[i]);
    nodes.push_back(std::move(*got[i]));
  }
  return nodes;
}

/// Every node's event logs and resources in one app. Not validated as a
/// whole: the nodes' apps were valid each, and two of them may use the
/// same table names in their own databases.
app merge(const std::vector<std::unique_ptr<remote_node>>& nodes) {
  app result;
  for (auto& n : nodes) {
    for (auto& log : n->definitions().logs())
      result.add(log);
    for (auto& res : n->definitions().resources())
      result.add(res);
  }
  detail::mark_from_description(result);
  return result;
}

// -- the routing actor --------------------------------------------------------

struct router_state {
  std::shared_ptr<const net::routes> table;
  std::vector<service_actor> nodes;
  std::string description;

  static inline const char* name = "eventactors.cluster";
};

using router_pointer = service_actor::stateful_pointer<router_state>;

/// Hands the request to node `i`, whose answer goes to the requester.
template <class Reply, class... Ts>
caf::result<Reply> forward(router_pointer self, caf::expected<size_t> i,
                           Ts&&... xs) {
  if (!i)
    return std::move(i.error());
  self->delegate(self->state.nodes[*i], std::forward<Ts>(xs)...);
  return caf::delegated<Reply>{};
}

service_actor::behavior_type
router(router_pointer self, std::shared_ptr<const net::routes> table,
       std::vector<service_actor> nodes, std::string description) {
  self->state.table = std::move(table);
  self->state.nodes = std::move(nodes);
  self->state.description = std::move(description);
  auto& t = *self->state.table;
  return {
    [self, &t](run_atom a, call& c) {
      auto i = t.by_resource(c.resource, "run");
      return forward<record>(self, i, a, std::move(c));
    },
    [self, &t](run_batch_atom a, batch_call& c) {
      auto i = t.by_resource(c.resource, "run_batch");
      return forward<batch_result>(self, i, a, std::move(c));
    },
    [self, &t](get_atom a, std::string& resource, std::string& id) {
      auto i = t.by_resource(resource, "get");
      return forward<record>(self, i, a, std::move(resource), std::move(id));
    },
    [self, &t](list_atom a, std::string& resource, list_options opts) {
      auto i = t.by_resource(resource, "list");
      return forward<std::vector<record>>(self, i, a, std::move(resource),
                                          opts);
    },
    [self, &t](events_atom a, event_filter& f) {
      auto i = t.by_log(f.log, f.resource, "events");
      return forward<event_page>(self, i, a, std::move(f));
    },
    [self, &t](stats_atom a, std::string& log) {
      auto i = t.by_log(log, std::nullopt, "stats");
      return forward<log_stats>(self, i, a, std::move(log));
    },
    [self](describe_atom) -> caf::result<std::string> {
      return self->state.description;
    },
    [self, &t](append_atom a, new_event& ev) {
      auto i = t.by_log(ev.log, ev.resource, "append");
      return forward<std::string>(self, i, a, std::move(ev));
    },
    [self, &t](replay_atom a, replay_request& req) {
      auto i = t.by_log(req.log, std::nullopt, "replay");
      return forward<replay_summary>(self, i, a, std::move(req));
    },
    [self, &t](fork_atom a, replay_request& req, std::string& path) {
      auto i = t.by_log(req.log, std::nullopt, "fork");
      return forward<replay_summary>(self, i, a, std::move(req),
                                     std::move(path));
    },
    [self, &t](verify_atom a, std::string& log, uint32_t max) {
      auto i = t.by_log(log, std::nullopt, "verify");
      return forward<verify_report>(self, i, a, std::move(log), max);
    },
  };
}

} // namespace

// -- cluster ------------------------------------------------------------------

struct cluster::impl {
  // Declared first, destroyed last: the table and the router refer to them.
  std::vector<std::unique_ptr<remote_node>> nodes;
  std::shared_ptr<const net::routes> table;
  app definitions;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  service_actor router;

  template <class F>
  auto at(caf::expected<size_t> i, F f) -> decltype(f(*nodes.front())) {
    if (!i)
      return std::move(i.error());
    return f(*nodes[*i]);
  }

  ~impl() {
    if (router) {
      caf::scoped_actor self{*sys};
      self->send_exit(router, caf::exit_reason::user_shutdown);
      self->wait_for(router);
    }
  }
};

cluster::cluster(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {
  // nop
}

cluster::~cluster() = default;

caf::expected<std::unique_ptr<cluster>>
cluster::connect(std::vector<connect_options> nodes) {
  if (nodes.empty())
    return make_error(errc::invalid_input, "cluster: no nodes given");
  std::vector<std::string> where;
  for (auto& x : nodes)
    where.push_back(address_of(x));
  auto connected = connect_all(std::move(nodes));
  if (!connected)
    return std::move(connected.error());
  auto d = std::make_unique<impl>();
  d->nodes = std::move(*connected);
  std::vector<net::route_node> known;
  for (size_t i = 0; i < d->nodes.size(); ++i) {
    auto& n = *d->nodes[i];
    auto label = n.node_name() == where[i]
                   ? where[i]
                   : n.node_name() + " (" + where[i] + ")";
    known.push_back({std::move(label), &n.definitions()});
  }
  auto table = net::routes::make(std::move(known));
  if (!table)
    return std::move(table.error());
  d->table = std::make_shared<const net::routes>(std::move(*table));
  d->definitions = merge(d->nodes);
  init(d->cfg);
  d->cfg.set("scheduler.max-threads", size_t{1});
  d->cfg.set("logger.verbosity", caf::atom("quiet"));
  d->sys = std::make_unique<caf::actor_system>(d->cfg);
  std::vector<service_actor> handles;
  for (auto& n : d->nodes)
    handles.push_back(n->async());
  d->router = d->sys->spawn(router, d->table, std::move(handles),
                            to_json_text(describe(d->definitions)));
  return std::unique_ptr<cluster>{new cluster(std::move(d))};
}

caf::expected<record> cluster::run(call c) {
  return impl_->at(impl_->table->by_resource(c.resource, "run"),
                   [&](remote_node& n) { return n.run(std::move(c)); });
}

std::vector<caf::expected<record>> cluster::run_batch(batch_call c) {
  auto i = impl_->table->by_resource(c.resource, "run_batch");
  if (!i)
    return std::vector<caf::expected<record>>(c.items.size(), i.error());
  return impl_->nodes[*i]->run_batch(std::move(c));
}

caf::expected<json::value> cluster::append(new_event ev) {
  return impl_->at(impl_->table->by_log(ev.log, ev.resource, "append"),
                   [&](remote_node& n) { return n.append(std::move(ev)); });
}

caf::expected<replay_summary> cluster::replay(replay_request req,
                                              const progress_fn& progress) {
  return impl_->at(impl_->table->by_log(req.log, std::nullopt, "replay"),
                   [&](remote_node& n) {
                     return n.replay(std::move(req), progress);
                   });
}

caf::expected<replay_summary> cluster::fork(replay_request req,
                                            std::string path,
                                            const progress_fn& progress) {
  return impl_->at(impl_->table->by_log(req.log, std::nullopt, "fork"),
                   [&](remote_node& n) {
                     return n.fork(std::move(req), std::move(path), progress);
                   });
}

caf::expected<verify_report> cluster::verify(std::string log,
                                             uint32_t max_differences,
                                             const progress_fn& progress) {
  return impl_->at(impl_->table->by_log(log, std::nullopt, "verify"),
                   [&](remote_node& n) {
                     return n.verify(std::move(log), max_differences,
                                     progress);
                   });
}

caf::expected<record> cluster::get(std::string_view resource,
                                   const json::value& id) {
  return impl_->at(impl_->table->by_resource(resource, "get"),
                   [&](remote_node& n) { return n.get(resource, id); });
}

caf::expected<std::vector<record>> cluster::list(std::string_view resource,
                                                 list_options opts) {
  return impl_->at(impl_->table->by_resource(resource, "list"),
                   [&](remote_node& n) { return n.list(resource, opts); });
}

caf::expected<event_page> cluster::events(const event_filter& filter) {
  return impl_->at(impl_->table->by_log(filter.log, filter.resource, "events"),
                   [&](remote_node& n) { return n.events(filter); });
}

caf::expected<log_stats> cluster::stats(std::string log) {
  return impl_->at(impl_->table->by_log(log, std::nullopt, "stats"),
                   [&](remote_node& n) { return n.stats(std::move(log)); });
}

const app& cluster::definitions() const noexcept {
  return impl_->definitions;
}

service_actor cluster::async() {
  return impl_->router;
}

size_t cluster::size() const noexcept {
  return impl_->nodes.size();
}

remote_node& cluster::node(size_t i) {
  return *impl_->nodes[i];
}

remote_node* cluster::node_of(std::string_view resource) {
  auto i = impl_->table->by_resource(resource, "node_of");
  return i ? impl_->nodes[*i].get() : nullptr;
}

} // namespace eventactors
