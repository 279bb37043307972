// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "net/server.hpp"

#include <map>
#include <set>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/message.hpp>
#include <caf/scoped_actor.hpp>

#include "eventactors/error.hpp"
#include "detail/log.hpp"
#include "net/codec.hpp"
#include "net/frame.hpp"

namespace eventactors::net {

namespace {

using caf::io::connection_handle;

/// Bytes read from a socket at once.
constexpr size_t read_chunk = 64 * 1024;

struct connection {
  connection(size_t max_frame, uint64_t serial)
    : reader(max_frame), serial(serial) {
    // nop
  }
  frame_reader reader;
  /// Tells this connection from an earlier one with the same handle: CAF
  /// names a connection by its socket, and a new connection may get the
  /// socket of one closed a moment ago. Answers and timers of the earlier
  /// one must not reach it.
  uint64_t serial;
  /// With TLS: the session that all bytes of the connection go through.
  std::optional<tls_session> tls;
  bool authenticated = false;
  role r = role::reader;
  std::string user;
  /// The ids of the requests relayed and not yet answered.
  std::set<uint64_t> in_flight;
  /// Bytes written to the connection that its socket has not taken yet.
  size_t unsent = 0;
  /// Taking requests stopped: too many in flight, or too many bytes of
  /// answers the client has not read. The connection is still read (see
  /// `pace`).
  bool paused = false;
};

struct server_state {
  std::shared_ptr<const server_config> cfg;
  std::map<connection_handle, connection> conns;
  std::optional<caf::io::accept_handle> acceptor;
  bool stopping = false;
  size_t in_flight = 0;
  /// Answered once the last request under way is answered.
  std::vector<caf::response_promise> drained;
  /// The node's name in welcomes.
  std::string node_name;
  /// Per worker of `cfg->workers`: whether it runs a request.
  std::vector<bool> busy;
  /// The serial of the next connection.
  uint64_t next_serial = 1;

  static inline const char* name = "eventactors.node";
};

using server_broker = caf::io::stateful_broker<server_state>;

/// Writes bytes the session (if any) produced or that need no session.
void write_raw(server_broker* self, connection_handle hdl,
               const std::vector<char>& bytes) {
  if (bytes.empty())
    return;
  if (auto i = self->state.conns.find(hdl); i != self->state.conns.end())
    i->second.unsent += bytes.size();
  self->write(hdl, bytes.size(), bytes.data());
  self->flush(hdl);
}

void send_frame(server_broker* self, connection_handle hdl, frame_kind kind,
                uint64_t id, std::string_view body) {
  std::vector<char> plain;
  append_frame(plain, kind, id, body);
  auto i = self->state.conns.find(hdl);
  if (i == self->state.conns.end() || !i->second.tls)
    return write_raw(self, hdl, plain);
  std::vector<char> out;
  // A failing session has nothing to say to its peer: the connection is
  // closed by whoever sees the error on receive.
  if (!i->second.tls->send(plain.data(), plain.size(), out))
    write_raw(self, hdl, out);
}

/// Closes a connection: with TLS, says close_notify first.
void close_connection(server_broker* self, connection_handle hdl) {
  auto i = self->state.conns.find(hdl);
  if (i != self->state.conns.end() && i->second.tls) {
    std::vector<char> out;
    i->second.tls->close(out);
    write_raw(self, hdl, out);
  }
  self->state.conns.erase(hdl);
  self->close(hdl);
}

void send_failure(server_broker* self, connection_handle hdl, uint64_t id,
                  const caf::error& err) {
  send_frame(self, hdl, frame_kind::failure, id,
             encode(self->system(), err));
}

/// Answers with an error for the whole connection and closes it.
void refuse(server_broker* self, connection_handle hdl, errc code,
            std::string why) {
  SPDLOG_LOGGER_DEBUG(&detail::log(), "node: closing a connection: {}", why);
  send_failure(self, hdl, 0, make_error(code, std::move(why)));
  close_connection(self, hdl);
}

void finish_drain(server_broker* self) {
  if (self->state.in_flight != 0)
    return;
  for (auto& rp : self->state.drained)
    rp.deliver(caf::unit);
  self->state.drained.clear();
}

void take_frames(server_broker* self, connection_handle hdl);

/// Stops taking the requests of a connection with `max_in_flight` of them
/// under way or more than `max_frame_bytes` of answers its client has not
/// read (so that a client that sends without reading costs bounded
/// memory); takes them again once both are down to half. The connection is
/// still read meanwhile, and closed (`on_data`) once more than
/// `max_frame_bytes` of requests wait. It is never taken out of CAF's
/// event loop (`halt`): CAF 0.17 then never releases a connection that its
/// peer closes meanwhile (its socket and buffers stay until the node
/// stops; test "clients that vanish while the node pauses them leave
/// nothing behind").
void pace(server_broker* self, connection_handle hdl, connection& c) {
  auto& opts = self->state.cfg->opts;
  if (!c.paused
      && (c.in_flight.size() >= opts.max_in_flight
          || c.unsent > opts.max_frame_bytes)) {
    c.paused = true;
  } else if (c.paused && c.in_flight.size() <= opts.max_in_flight / 2
             && c.unsent <= opts.max_frame_bytes / 2) {
    c.paused = false;
    take_frames(self, hdl);
  }
}

/// The connection `hdl` if it is still the one numbered `serial`.
connection* find(server_broker* self, connection_handle hdl,
                 uint64_t serial) {
  auto i = self->state.conns.find(hdl);
  if (i == self->state.conns.end() || i->second.serial != serial)
    return nullptr;
  return &i->second;
}

/// Counts an answered request of connection `serial`.
void settle(server_broker* self, connection_handle hdl, uint64_t serial,
            uint64_t id) {
  --self->state.in_flight;
  if (auto c = find(self, hdl, serial)) {
    c->in_flight.erase(id);
    pace(self, hdl, *c);
  }
  if (self->state.stopping)
    finish_drain(self);
}

/// The worker to take a request of `request`'s kind: an idle one of
/// `cfg->workers` for an action or a read; none (-1) when all are busy or
/// for the other requests, which go to the service actor.
int pick_worker(server_broker* self, const caf::message& request) {
  auto& st = self->state;
  if (!request.match_element<run_atom>(0)
      && required_role(request) != role::reader)
    return -1;
  for (size_t i = 0; i < st.busy.size(); ++i)
    if (!st.busy[i])
      return static_cast<int>(i);
  return -1;
}

/// Sends `request` to a worker, or to the service actor, and the answer to
/// the client. An idle worker answers an action or a read on its own
/// thread with the runtime's synchronous API, which runs the action on
/// that thread: a lone caller's call then wakes one thread on the node
/// instead of the service's chain of actors (docs/performance.md, "Remote
/// calls"). Under load the service's actors take the rest and commit them
/// in groups.
template <class Reply>
void relay(server_broker* self, connection_handle hdl, uint64_t id,
           caf::message request) {
  auto serial = self->state.conns.at(hdl).serial;
  auto k = pick_worker(self, request);
  caf::actor dest;
  if (k >= 0) {
    self->state.busy[k] = true;
    dest = self->state.cfg->workers[k];
  } else {
    dest = caf::actor_cast<caf::actor>(self->state.cfg->service);
  }
  self->request(dest, caf::infinite, std::move(request))
    .then(
      [=](Reply& reply) {
        if (k >= 0)
          self->state.busy[k] = false;
        if (find(self, hdl, serial)) {
          if (auto body = encode(self->system(), caf::make_message(
                                                   std::move(reply))))
            send_frame(self, hdl, frame_kind::response, id, *body);
          else
            send_failure(self, hdl, id, body.error());
        }
        settle(self, hdl, serial, id);
      },
      [=](caf::error& err) {
        if (k >= 0)
          self->state.busy[k] = false;
        if (find(self, hdl, serial))
          send_failure(self, hdl, id, err);
        settle(self, hdl, serial, id);
      });
}

/// Relays `request` with the reply type its interface declares; false for
/// a message that is no request of `service_actor`.
bool dispatch(server_broker* self, connection_handle hdl, uint64_t id,
              caf::message& request) {
  auto& m = request;
  if (m.match_elements<run_atom, call>())
    relay<record>(self, hdl, id, std::move(m));
  else if (m.match_elements<run_batch_atom, batch_call>())
    relay<batch_result>(self, hdl, id, std::move(m));
  else if (m.match_elements<get_atom, std::string, std::string>())
    relay<record>(self, hdl, id, std::move(m));
  else if (m.match_elements<list_atom, std::string, list_options>())
    relay<std::vector<record>>(self, hdl, id, std::move(m));
  else if (m.match_elements<events_atom, event_filter>())
    relay<event_page>(self, hdl, id, std::move(m));
  else if (m.match_elements<stats_atom, std::string>())
    relay<log_stats>(self, hdl, id, std::move(m));
  else if (m.match_elements<describe_atom>())
    relay<std::string>(self, hdl, id, std::move(m));
  else if (m.match_elements<append_atom, new_event>())
    relay<std::string>(self, hdl, id, std::move(m));
  else if (m.match_elements<replay_atom, replay_request>())
    relay<replay_summary>(self, hdl, id, std::move(m));
  else if (m.match_elements<fork_atom, replay_request, std::string>())
    relay<replay_summary>(self, hdl, id, std::move(m));
  else if (m.match_elements<verify_atom, std::string, uint32_t>())
    relay<verify_report>(self, hdl, id, std::move(m));
  else
    return false;
  return true;
}

void on_hello(server_broker* self, connection_handle hdl, connection& c,
              const frame& f) {
  auto& cfg = *self->state.cfg;
  auto h = decode_hello(self->system(), f.body);
  if (!h)
    return refuse(self, hdl, errc::protocol_error, message(h.error()));
  if (h->version != protocol_version)
    return refuse(self, hdl, errc::protocol_error,
                  "the client speaks protocol version "
                    + std::to_string(h->version) + ", this node "
                    + std::to_string(protocol_version));
  if (cfg.users) {
    auto r = cfg.users->authenticate(h->user, h->secret);
    if (!r)
      return refuse(self, hdl, errc::authentication_failed,
                    "unknown user or wrong secret");
    c.r = *r;
  } else {
    c.r = role::admin;
  }
  c.authenticated = true;
  c.user = h->user;
  welcome w;
  w.node = self->state.node_name;
  w.role = std::string{to_string(c.r)};
  w.description = cfg.description;
  send_frame(self, hdl, frame_kind::welcome, f.id,
             encode(self->system(), w));
}

void on_request(server_broker* self, connection_handle hdl, connection& c,
                const frame& f) {
  if (self->state.stopping)
    return send_failure(self, hdl, f.id,
                        make_error(errc::node_stopping,
                                   "the node is stopping"));
  auto request = decode_message(self->system(), f.body);
  if (!request)
    return refuse(self, hdl, errc::protocol_error, message(request.error()));
  auto needed = required_role(*request);
  if (!needed)
    return refuse(self, hdl, errc::protocol_error,
                  "not a request of this protocol (a message of "
                    + std::to_string(request->size()) + " elements)");
  // Failures with id 0 are for the connection; an id names one answer.
  if (f.id == 0)
    return refuse(self, hdl, errc::protocol_error,
                  "request id 0 is reserved for the connection");
  if (c.in_flight.count(f.id) > 0)
    return refuse(self, hdl, errc::protocol_error,
                  "request id " + std::to_string(f.id)
                    + " is already in flight");
  if (*needed > c.r)
    return send_failure(self, hdl, f.id,
                        make_error(errc::not_authorized,
                                   "the request "
                                     + caf::to_string(
                                       request->get_as<caf::atom_value>(0))
                                     + " needs the "
                                     + std::string{to_string(*needed)}
                                     + " role; the client is a "
                                     + std::string{to_string(c.r)}));
  c.in_flight.insert(f.id);
  ++self->state.in_flight;
  auto size = request->size();
  if (!dispatch(self, hdl, f.id, *request)) {
    settle(self, hdl, c.serial, f.id);
    return refuse(self, hdl, errc::protocol_error,
                  "not a request of this protocol (a message of "
                    + std::to_string(size) + " elements)");
  }
  pace(self, hdl, c);
}

void on_data(server_broker* self, caf::io::new_data_msg& msg) {
  auto i = self->state.conns.find(msg.handle);
  if (i == self->state.conns.end())
    return;
  auto hdl = msg.handle;
  auto& conn = i->second;
  if (conn.tls) {
    std::vector<char> plain;
    std::vector<char> out;
    auto err = conn.tls->receive(msg.buf.data(), msg.buf.size(), plain, out);
    write_raw(self, hdl, out);
    if (err) {
      // Refused during the handshake (no, a self-signed, a foreign or an
      // expired certificate) or bytes that are not TLS: nothing of the
      // peer was read as a request.
      SPDLOG_LOGGER_DEBUG(&detail::log(), "node: TLS: {}", message(err));
      self->state.conns.erase(hdl);
      self->close(hdl);
      return;
    }
    if (conn.tls->peer_closed()) {
      close_connection(self, hdl);
      return;
    }
    conn.reader.feed(plain.data(), plain.size());
  } else {
    conn.reader.feed(msg.buf.data(), msg.buf.size());
  }
  if (conn.paused
      && conn.reader.buffered() > self->state.cfg->opts.max_frame_bytes)
    return refuse(self, hdl, errc::overloaded,
                  "the client sent more than "
                    + std::to_string(self->state.cfg->opts.max_frame_bytes)
                    + " bytes of requests while the node waited for it to "
                      "read its answers or for its requests under way");
  take_frames(self, hdl);
}

/// Handles the frames a connection's reader holds, until they run out or
/// the connection is paused (`pace`), which keeps the rest for later.
void take_frames(server_broker* self, connection_handle hdl) {
  for (;;) {
    // `refuse` erases the connection: look it up again each time.
    auto j = self->state.conns.find(hdl);
    if (j == self->state.conns.end() || j->second.paused)
      return;
    auto& c = j->second;
    frame f;
    auto st = c.reader.next(f);
    if (st == frame_reader::status::incomplete)
      return;
    if (st == frame_reader::status::malformed)
      return refuse(self, hdl, errc::protocol_error, c.reader.problem());
    if (!c.authenticated) {
      if (f.kind != frame_kind::hello)
        return refuse(self, hdl, errc::protocol_error,
                      "a connection must start with a hello");
      on_hello(self, hdl, c, f);
    } else if (f.kind == frame_kind::request) {
      on_request(self, hdl, c, f);
    } else if (f.kind == frame_kind::hello) {
      return refuse(self, hdl, errc::protocol_error,
                    "a second hello on one connection");
    } else {
      return refuse(self, hdl, errc::protocol_error,
                    "a client sends only hello and request frames");
    }
  }
}

caf::behavior server(server_broker* self,
                     std::shared_ptr<const server_config> cfg) {
  self->state.cfg = std::move(cfg);
  self->state.busy.assign(self->state.cfg->workers.size(), false);
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // Tell the clients why their connection closes.
    std::vector<connection_handle> hdls;
    for (auto& entry : self->state.conns)
      hdls.push_back(entry.first);
    for (auto hdl : hdls) {
      send_frame(self, hdl, frame_kind::goodbye, 0, {});
      close_connection(self, hdl);
    }
    self->quit(msg.reason);
  });
  return {
    [self](caf::open_atom) -> caf::result<uint16_t> {
      auto& opts = self->state.cfg->opts;
      // SO_REUSEADDR: a restarted node may bind its port while connections
      // of its predecessor linger in TIME_WAIT; a listening socket on the
      // port still makes the bind fail.
      auto res = self->add_tcp_doorman(opts.port, opts.host.c_str(), true);
      if (!res)
        return make_error(errc::network_failure,
                          "cannot listen on " + opts.host + ":"
                            + std::to_string(opts.port) + ": "
                            + self->system().render(res.error()));
      self->state.acceptor = res->first;
      // The name is only known now that the port is.
      auto& cfg = *self->state.cfg;
      self->state.node_name = cfg.name.empty() ? opts.host + ":"
                                              + std::to_string(res->second)
                                          : cfg.name;
      return res->second;
    },
    [self](const caf::io::new_connection_msg& msg) {
      auto& st = self->state;
      // Without TLS the refusal is said; with TLS it could only be said
      // after a handshake, which a refused peer does not get.
      if (st.stopping || st.conns.size() >= st.cfg->opts.max_connections) {
        if (!st.cfg->tls)
          send_failure(self, msg.handle, 0,
                       st.stopping
                         ? make_error(errc::node_stopping,
                                      "the node is stopping")
                         : make_error(errc::overloaded,
                                      "the node has too many connections"));
        self->close(msg.handle);
        return;
      }
      auto serial = st.next_serial++;
      connection conn{st.cfg->opts.max_frame_bytes, serial};
      if (st.cfg->tls) {
        auto session = tls_session::make(*st.cfg->tls);
        if (!session) {
          SPDLOG_LOGGER_DEBUG(&detail::log(), "node: TLS: {}", message(session.error()));
          self->close(msg.handle);
          return;
        }
        conn.tls = std::move(*session);
      }
      st.conns.emplace(msg.handle, std::move(conn));
      self->configure_read(msg.handle,
                           caf::io::receive_policy::at_most(read_chunk));
      // Tells how many bytes of answers the socket has not taken (`pace`).
      self->ack_writes(msg.handle, true);
      self->delayed_send(self, st.cfg->opts.hello_timeout,
                         caf::timeout_atom_v, msg.handle, serial);
    },
    [self](caf::io::new_data_msg& msg) { on_data(self, msg); },
    [self](const caf::io::data_transferred_msg& msg) {
      auto i = self->state.conns.find(msg.handle);
      if (i == self->state.conns.end())
        return;
      i->second.unsent = msg.remaining;
      pace(self, msg.handle, i->second);
    },
    [self](caf::timeout_atom, connection_handle hdl, uint64_t serial) {
      auto c = find(self, hdl, serial);
      if (c != nullptr && !c->authenticated)
        refuse(self, hdl, errc::protocol_error,
               "no hello within the time limit");
    },
    [self](const caf::io::connection_closed_msg& msg) {
      self->state.conns.erase(msg.handle);
    },
    [self](const caf::io::acceptor_closed_msg&) {
      // nop
    },
    [self](caf::close_atom) -> caf::result<void> {
      // Graceful stop: no new connections; answer what is under way.
      auto& st = self->state;
      st.stopping = true;
      if (st.acceptor) {
        self->close(*st.acceptor);
        st.acceptor.reset();
      }
      if (st.in_flight == 0)
        return caf::unit;
      auto rp = self->make_response_promise();
      st.drained.push_back(rp);
      return caf::delegated<void>{};
    },
  };
}

} // namespace

std::optional<role> required_role(const caf::message& m) {
  if (m.empty())
    return std::nullopt;
  if (m.match_element<run_atom>(0) || m.match_element<run_batch_atom>(0))
    return role::writer;
  if (m.match_element<get_atom>(0) || m.match_element<list_atom>(0)
      || m.match_element<events_atom>(0) || m.match_element<stats_atom>(0)
      || m.match_element<describe_atom>(0))
    return role::reader;
  if (m.match_element<append_atom>(0) || m.match_element<replay_atom>(0)
      || m.match_element<fork_atom>(0) || m.match_element<verify_atom>(0))
    return role::admin;
  return std::nullopt;
}

caf::expected<std::pair<caf::actor, uint16_t>>
spawn_server(caf::actor_system& sys,
             std::shared_ptr<const server_config> cfg) {
  auto broker = sys.middleman().spawn_broker(server, std::move(cfg));
  caf::scoped_actor self{sys};
  caf::expected<uint16_t> port = uint16_t{0};
  self->request(broker, caf::infinite, caf::open_atom_v)
    .receive([&](uint16_t p) { port = p; },
             [&](caf::error& err) { port = std::move(err); });
  if (!port) {
    self->send_exit(broker, caf::exit_reason::user_shutdown);
    return std::move(port.error());
  }
  return std::pair{broker, *port};
}

} // namespace eventactors::net
