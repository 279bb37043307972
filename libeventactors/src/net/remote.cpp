// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/remote.hpp"

#include <charconv>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_actor.hpp>

#include "base/json_text.hpp"
#include "eventactors/description.hpp"
#include "eventactors/error.hpp"
#include "eventactors/init.hpp"
#include "net/client.hpp"
#include "net/tls.hpp"

namespace eventactors {

struct remote_node::impl {
  std::shared_ptr<const connect_options> opts;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor broker;
  std::string node;
  std::string role;
  std::optional<app> definitions;

  /// How long a synchronous call waits: the broker answers every call
  /// within the call timeout; the margin covers the hand-over.
  caf::duration wait() const {
    return caf::duration{opts->call_timeout + std::chrono::seconds{5}};
  }

  template <class Reply, class... Ts>
  caf::expected<Reply> ask(Ts&&... xs) {
    caf::scoped_actor self{*sys};
    caf::expected<Reply> result = make_error(errc::node_down, "no answer");
    self->request(broker, wait(), std::forward<Ts>(xs)...)
      .receive([&](Reply& x) { result = std::move(x); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  ~impl() {
    if (broker) {
      caf::scoped_actor self{*sys};
      self->send_exit(broker, caf::exit_reason::user_shutdown);
      self->wait_for(broker);
    }
  }
};

caf::error parse_address(std::string_view text, connect_options& opts) {
  auto bad = [&] {
    return make_error(errc::invalid_input,
                      "an address reads HOST:PORT or [IPV6]:PORT, not \""
                        + std::string{text} + "\"");
  };
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return bad();
  auto host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3)
      return bad();
    host = host.substr(1, host.size() - 2);
  }
  auto port_text = text.substr(colon + 1);
  uint16_t port = 0;
  auto [end, ec] = std::from_chars(port_text.data(),
                                   port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size()
      || port_text.empty())
    return bad();
  opts.host = std::string{host};
  opts.port = port;
  return {};
}

remote_node::remote_node(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {
  // nop
}

remote_node::~remote_node() = default;

caf::expected<std::unique_ptr<remote_node>>
remote_node::connect(connect_options opts) {
  if (!opts.tls && !opts.plaintext)
    return make_error(errc::network_failure,
                      "a client needs TLS certificates, or plaintext asked "
                      "for explicitly");
  std::shared_ptr<const net::tls_context> tls;
  if (opts.tls) {
    auto ctx = net::tls_context::make(net::tls_side::client,
                                      {opts.tls->cert, opts.tls->key,
                                       opts.tls->ca});
    if (!ctx)
      return std::move(ctx.error());
    tls = std::make_shared<const net::tls_context>(std::move(*ctx));
  }
  auto d = std::make_unique<impl>();
  d->opts = std::make_shared<const connect_options>(std::move(opts));
  init(d->cfg);
  d->cfg.load<caf::io::middleman>();
  d->cfg.set("scheduler.max-threads", size_t{2});
  d->cfg.set("scheduler.policy", caf::atom("sharing"));
  d->cfg.set("logger.verbosity", caf::atom("quiet"));
  d->sys = std::make_unique<caf::actor_system>(d->cfg);
  d->broker = net::spawn_client(*d->sys, d->opts, std::move(tls));
  caf::scoped_actor self{*d->sys};
  caf::error failed;
  std::string description;
  self->request(d->broker, d->wait(), caf::connect_atom_v)
    .receive(
      [&](std::string& node, std::string& role, std::string& desc) {
        d->node = std::move(node);
        d->role = std::move(role);
        description = std::move(desc);
      },
      [&](caf::error& err) { failed = std::move(err); });
  if (failed)
    return failed;
  json::value doc;
  if (auto bad = json_io::parse_stored(description, doc); bad
                                                          || !doc.is_object())
    return make_error(errc::protocol_error,
                      "the node's app description is not a JSON object");
  auto defs = app_from_description(doc.get_object());
  if (!defs)
    return std::move(defs.error());
  d->definitions = std::move(*defs);
  return std::unique_ptr<remote_node>{new remote_node(std::move(d))};
}

caf::expected<record> remote_node::run(call c) {
  return impl_->ask<record>(run_atom_v, std::move(c));
}

std::vector<caf::expected<record>> remote_node::run_batch(batch_call c) {
  auto n = c.items.size();
  auto res = impl_->ask<batch_result>(run_batch_atom_v, std::move(c));
  std::vector<caf::expected<record>> out;
  if (!res) {
    for (size_t i = 0; i < n; ++i)
      out.emplace_back(res.error());
    return out;
  }
  for (size_t i = 0; i < res->records.size(); ++i) {
    if (i < res->errors.size() && res->errors[i])
      out.emplace_back(res->errors[i]);
    else
      out.emplace_back(std::move(res->records[i]));
  }
  return out;
}

caf::expected<json::value> remote_node::append(new_event ev) {
  auto id = impl_->ask<std::string>(append_atom_v, std::move(ev));
  if (!id)
    return std::move(id.error());
  json::value x;
  if (json_io::parse_stored(*id, x))
    return make_error(errc::protocol_error,
                      "the node answered with an event id that is not JSON");
  return x;
}

caf::expected<replay_summary>
remote_node::replay(replay_request req, const progress_fn&) {
  return impl_->ask<replay_summary>(replay_atom_v, std::move(req));
}

caf::expected<replay_summary>
remote_node::fork(replay_request req, std::string path, const progress_fn&) {
  return impl_->ask<replay_summary>(fork_atom_v, std::move(req),
                                    std::move(path));
}

caf::expected<verify_report>
remote_node::verify(std::string log, uint32_t max_differences,
                    const progress_fn&) {
  return impl_->ask<verify_report>(verify_atom_v, std::move(log),
                                   max_differences);
}

caf::expected<record> remote_node::get(std::string_view resource,
                                       const json::value& id) {
  return impl_->ask<record>(get_atom_v, std::string{resource},
                            to_json_text(id));
}

caf::expected<std::vector<record>>
remote_node::list(std::string_view resource, list_options opts) {
  return impl_->ask<std::vector<record>>(list_atom_v, std::string{resource},
                                         opts);
}

caf::expected<event_page> remote_node::events(const event_filter& filter) {
  return impl_->ask<event_page>(events_atom_v, filter);
}

caf::expected<log_stats> remote_node::stats(std::string log) {
  return impl_->ask<log_stats>(stats_atom_v, std::move(log));
}

const app& remote_node::definitions() const noexcept {
  return *impl_->definitions;
}

service_actor remote_node::async() {
  return caf::actor_cast<service_actor>(impl_->broker);
}

const std::string& remote_node::role() const noexcept {
  return impl_->role;
}

const std::string& remote_node::node_name() const noexcept {
  return impl_->node;
}

} // namespace eventactors
