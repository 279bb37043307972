// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/node.hpp"

#include <arpa/inet.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "eventactors/description.hpp"
#include "eventactors/error.hpp"
#include "eventactors/init.hpp"
#include "eventactors/runtime.hpp"
#include "eventactors/service.hpp"
#include "actors/service.hpp"
#include "net/server.hpp"

namespace eventactors {

namespace {

bool is_loopback(const std::string& host) {
  if (host == "localhost")
    return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

caf::error check(const node_options& opts) {
  if (!opts.tls && !opts.plaintext)
    return make_error(errc::network_failure,
                      "a node needs TLS certificates, or plaintext asked "
                      "for explicitly");
  if (opts.tls && opts.plaintext)
    return make_error(errc::network_failure,
                      "a node speaks either TLS or plaintext, not both");
  if (opts.plaintext && !opts.plaintext_on_any_address
      && !is_loopback(opts.host))
    return make_error(errc::network_failure,
                      "plaintext on " + opts.host
                        + " is refused: it is not a loopback address (use "
                          "TLS, or allow plaintext on any address "
                          "explicitly)");
  if (opts.max_frame_bytes < 1024 || opts.max_in_flight == 0
      || opts.max_connections == 0)
    return make_error(errc::invalid_input,
                      "node limits: max_frame_bytes must be at least 1024, "
                      "max_in_flight and max_connections at least 1");
  return {};
}

} // namespace

std::string hash_secret(std::string_view secret) {
  return net::hash_secret(secret);
}

struct node::impl {
  node_options opts;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor broker;
  /// The server's workers (`server_config::workers`).
  std::vector<caf::actor> workers;
  uint16_t port = 0;
  bool stopped = false;

  void stop() {
    if (stopped || !sys)
      return;
    stopped = true;
    caf::scoped_actor self{*sys};
    if (broker) {
      // Drain: requests under way are answered, new ones refused.
      self->request(broker, opts.drain_timeout, caf::close_atom_v)
        .receive([] {}, [](caf::error&) {});
      self->send_exit(broker, caf::exit_reason::user_shutdown);
      self->wait_for(broker);
      broker = nullptr;
    }
    // A worker may still run a request the drain did not wait for; it uses
    // the runtime, which outlives the node: wait for it.
    for (auto& w : workers)
      self->send_exit(w, caf::exit_reason::user_shutdown);
    for (auto& w : workers)
      self->wait_for(w);
    workers.clear();
  }

  ~impl() {
    stop();
  }
};

node::node(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {
  // nop
}

node::~node() {
  if (impl_)
    impl_->stop();
}

caf::expected<std::unique_ptr<node>> node::start(runtime& rt,
                                                 node_options opts) {
  if (auto err = check(opts))
    return err;
  auto cfg = std::make_shared<net::server_config>();
  if (opts.tls) {
    auto ctx = net::tls_context::make(net::tls_side::server,
                                      {opts.tls->cert, opts.tls->key,
                                       opts.tls->ca});
    if (!ctx)
      return std::move(ctx.error());
    cfg->tls = std::make_shared<const net::tls_context>(std::move(*ctx));
  }
  if (!opts.users_file.empty()) {
    auto users = net::user_table::load(opts.users_file);
    if (!users)
      return std::move(users.error());
    cfg->users = std::move(*users);
  }
  auto d = std::make_unique<impl>();
  d->opts = opts;
  init(d->cfg);
  d->cfg.load<caf::io::middleman>();
  d->cfg.set("scheduler.max-threads", size_t{2});
  d->cfg.set("scheduler.policy", caf::atom("sharing"));
  d->cfg.set("logger.verbosity", caf::atom("quiet"));
  d->sys = std::make_unique<caf::actor_system>(d->cfg);
  cfg->opts = opts;
  cfg->name = opts.name;
  cfg->service = service_of(rt);
  if (!cfg->service)
    return make_error(errc::runtime_stopped, "the runtime stopped");
  cfg->description = to_json_text(describe(rt.definitions()));
  for (size_t i = 0; i < opts.workers; ++i)
    cfg->workers.push_back(d->sys->spawn<caf::detached>(sync_worker, &rt));
  d->workers = cfg->workers;
  auto started = net::spawn_server(*d->sys, cfg);
  if (!started) {
    // `d` stops the workers; this copy of their handles would outlive it.
    cfg->workers.clear();
    return std::move(started.error());
  }
  d->broker = started->first;
  d->port = started->second;
  return std::unique_ptr<node>{new node(std::move(d))};
}

uint16_t node::port() const noexcept {
  return impl_->port;
}

std::string node::address() const {
  auto& host = impl_->opts.host;
  if (host.find(':') != std::string::npos)
    return "[" + host + "]:" + std::to_string(impl_->port);
  return host + ":" + std::to_string(impl_->port);
}

void node::stop() {
  impl_->stop();
}

} // namespace eventactors
