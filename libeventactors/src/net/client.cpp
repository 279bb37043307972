// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "net/client.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/message.hpp>

#include "eventactors/error.hpp"
#include "net/codec.hpp"
#include "net/frame.hpp"

namespace eventactors::net {

namespace {

using caf::io::connection_handle;
using clock_type = std::chrono::steady_clock;

constexpr size_t read_chunk = 64 * 1024;

struct pending_call {
  std::function<void(caf::message&)> on_reply;
  std::function<void(caf::error)> on_error;
  /// When the call fails with `timeout`.
  clock_type::time_point deadline;
};

struct client_state {
  std::shared_ptr<const connect_options> opts;
  std::shared_ptr<const tls_context> tls_ctx;
  std::optional<connection_handle> hdl;
  /// With TLS: the session of the current connection.
  std::optional<tls_session> tls;
  frame_reader reader;
  bool welcomed = false;
  uint64_t next_id = 1;
  /// By id. Every call waits as long, so the deadlines grow with the ids.
  std::map<uint64_t, pending_call> pending;
  /// Whether a `timeout_atom` is on its way: one timer for all calls, set
  /// for the first deadline (a timer per call costs the clock thread a
  /// wake-up per call).
  bool timer_set = false;
  /// `connect_atom` requests waiting for the welcome.
  std::vector<caf::response_promise> waiting;
  /// Backoff after failed attempts.
  clock_type::time_point next_attempt;
  std::chrono::milliseconds delay{0};

  std::string where() const {
    return opts->host + ":" + std::to_string(opts->port);
  }

  static inline const char* name = "eventactors.client";
};

using client_broker = caf::io::stateful_broker<client_state>;

void write_raw(client_broker* self, const std::vector<char>& bytes) {
  if (bytes.empty() || !self->state.hdl)
    return;
  self->write(*self->state.hdl, bytes.size(), bytes.data());
  self->flush(*self->state.hdl);
}

/// Sends a frame; with TLS through the session (queued there until the
/// handshake is done). Returns the session's error, if any.
caf::error write_frame(client_broker* self, frame_kind kind, uint64_t id,
                       std::string_view body) {
  std::vector<char> plain;
  append_frame(plain, kind, id, body);
  if (!self->state.tls) {
    write_raw(self, plain);
    return {};
  }
  std::vector<char> out;
  auto err = self->state.tls->send(plain.data(), plain.size(), out);
  write_raw(self, out);
  return err;
}

/// Fails every call under way and every waiting connect with `err`, and
/// forgets the connection.
void drop(client_broker* self, const caf::error& err) {
  auto& st = self->state;
  if (st.hdl) {
    if (st.tls) {
      std::vector<char> out;
      st.tls->close(out);
      write_raw(self, out);
    }
    self->close(*st.hdl);
    st.hdl.reset();
  }
  st.tls.reset();
  st.welcomed = false;
  auto pending = std::move(st.pending);
  st.pending.clear();
  for (auto& [id, p] : pending)
    p.on_error(err);
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  for (auto& rp : waiting)
    rp.deliver(err);
}

caf::error lost(client_broker* self, const std::string& why) {
  return make_error(errc::node_down,
                    "lost the connection to " + self->state.where() + " ("
                      + why + "); a call under way may have committed");
}

/// Makes sure a connection exists (or fails with `node_down`).
caf::error ensure_connected(client_broker* self) {
  auto& st = self->state;
  if (st.hdl)
    return {};
  auto now = clock_type::now();
  if (now < st.next_attempt) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      st.next_attempt - now);
    return make_error(errc::node_down,
                      "no connection to " + st.where() + "; next attempt in "
                        + std::to_string(left.count()) + " ms");
  }
  auto hdl = self->add_tcp_scribe(st.opts->host, st.opts->port);
  if (!hdl) {
    st.delay = st.delay.count() == 0
                 ? st.opts->reconnect_delay
                 : std::min(st.delay * 2, st.opts->max_reconnect_delay);
    st.next_attempt = now + st.delay;
    return make_error(errc::node_down,
                      "cannot connect to " + st.where() + ": "
                        + self->system().render(hdl.error()));
  }
  st.hdl = *hdl;
  st.reader = frame_reader{};
  self->configure_read(*hdl, caf::io::receive_policy::at_most(read_chunk));
  if (st.tls_ctx) {
    auto session = tls_session::make(*st.tls_ctx);
    if (!session) {
      self->close(*hdl);
      st.hdl.reset();
      return std::move(session.error());
    }
    st.tls = std::move(*session);
    std::vector<char> out;
    auto err = st.tls->start(out);
    write_raw(self, out);
    if (err) {
      drop(self, err);
      return err;
    }
  }
  hello h;
  h.user = st.opts->user;
  h.secret = st.opts->secret;
  h.client = st.opts->client;
  if (auto err = write_frame(self, frame_kind::hello, 0,
                             encode(self->system(), h))) {
    drop(self, err);
    return err;
  }
  return {};
}

void submit(client_broker* self, caf::message request, pending_call call) {
  if (auto err = ensure_connected(self))
    return call.on_error(std::move(err));
  auto body = encode(self->system(), request);
  if (!body)
    return call.on_error(std::move(body.error()));
  auto& st = self->state;
  auto id = st.next_id++;
  call.deadline = clock_type::now() + st.opts->call_timeout;
  st.pending.emplace(id, std::move(call));
  if (auto err = write_frame(self, frame_kind::request, id, *body))
    return drop(self, err);
  if (!st.timer_set) {
    st.timer_set = true;
    self->delayed_send(self, st.opts->call_timeout, caf::timeout_atom_v);
  }
}

/// Fails the calls whose deadline passed; sets the timer for the next one.
void expire(client_broker* self) {
  auto& st = self->state;
  st.timer_set = false;
  auto now = clock_type::now();
  while (!st.pending.empty() && st.pending.begin()->second.deadline <= now) {
    auto call = std::move(st.pending.begin()->second);
    st.pending.erase(st.pending.begin());
    call.on_error(make_error(
      errc::timeout, "no answer from " + st.where() + " within "
                       + std::to_string(st.opts->call_timeout.count())
                       + " ms; the call may have committed"));
  }
  if (st.pending.empty())
    return;
  st.timer_set = true;
  auto left = st.pending.begin()->second.deadline - now;
  self->delayed_send(self,
                     std::chrono::duration_cast<std::chrono::microseconds>(
                       left),
                     caf::timeout_atom_v);
}

template <class Reply, class... Ts>
caf::result<Reply> forward(client_broker* self, Ts&&... xs) {
  auto rp = self->make_response_promise();
  pending_call call;
  call.on_reply = [rp](caf::message& reply) mutable {
    if (reply.match_elements<Reply>())
      rp.deliver(std::move(reply.get_mutable_as<Reply>(0)));
    else
      rp.deliver(make_error(errc::protocol_error,
                            "the node answered with a reply of other "
                            "types"));
  };
  call.on_error = [rp](caf::error err) mutable { rp.deliver(std::move(err)); };
  submit(self, caf::make_message(std::forward<Ts>(xs)...), std::move(call));
  return caf::delegated<Reply>{};
}

void on_frame(client_broker* self, const frame& f) {
  auto& st = self->state;
  auto& sys = self->system();
  switch (f.kind) {
    case frame_kind::welcome: {
      auto w = decode_welcome(sys, f.body);
      if (!w)
        return drop(self, w.error());
      st.welcomed = true;
      st.delay = std::chrono::milliseconds{0};
      auto waiting = std::move(st.waiting);
      st.waiting.clear();
      for (auto& rp : waiting)
        rp.deliver(w->node, w->role, w->description);
      return;
    }
    case frame_kind::response:
    case frame_kind::failure: {
      if (f.kind == frame_kind::failure && f.id == 0) {
        // About the connection: e.g. authentication failed.
        return drop(self, decode_error(sys, f.body));
      }
      auto i = st.pending.find(f.id);
      if (i == st.pending.end())
        return; // Timed out before.
      auto call = std::move(i->second);
      st.pending.erase(i);
      if (f.kind == frame_kind::failure) {
        return call.on_error(decode_error(sys, f.body));
      }
      auto reply = decode_message(sys, f.body);
      if (!reply)
        return call.on_error(std::move(reply.error()));
      return call.on_reply(*reply);
    }
    case frame_kind::goodbye:
      return drop(self, lost(self, "the node stopped"));
    default:
      return drop(self, make_error(errc::protocol_error,
                                   "the node sent a client's frame"));
  }
}

caf::behavior client(client_broker* self,
                     std::shared_ptr<const connect_options> opts,
                     std::shared_ptr<const tls_context> tls) {
  self->state.opts = std::move(opts);
  self->state.tls_ctx = std::move(tls);
  return {
    [self](caf::connect_atom) -> caf::result<std::string, std::string,
                                             std::string> {
      if (auto err = ensure_connected(self))
        return err;
      auto rp = self->make_response_promise();
      self->state.waiting.push_back(rp);
      return caf::delegated<std::string, std::string, std::string>{};
    },
    [self](caf::io::new_data_msg& msg) {
      auto& st = self->state;
      if (!st.hdl || *st.hdl != msg.handle)
        return;
      if (st.tls) {
        std::vector<char> plain;
        std::vector<char> out;
        auto err = st.tls->receive(msg.buf.data(), msg.buf.size(), plain,
                                   out);
        write_raw(self, out);
        if (err)
          return drop(self, err);
        st.reader.feed(plain.data(), plain.size());
      } else {
        st.reader.feed(msg.buf.data(), msg.buf.size());
      }
      frame f;
      for (;;) {
        if (!st.hdl)
          return;
        auto status = st.reader.next(f);
        if (status == frame_reader::status::incomplete)
          return;
        if (status == frame_reader::status::malformed)
          return drop(self, make_error(errc::protocol_error,
                                       "from " + st.where() + ": "
                                         + st.reader.problem()));
        on_frame(self, f);
      }
    },
    [self](const caf::io::connection_closed_msg& msg) {
      if (self->state.hdl && *self->state.hdl == msg.handle) {
        self->state.hdl.reset();
        drop(self, lost(self, "closed by the peer"));
      }
    },
    [self](caf::timeout_atom) { expire(self); },
    [self](run_atom a, call& c) {
      return forward<record>(self, a, std::move(c));
    },
    [self](run_batch_atom a, batch_call& c) {
      return forward<batch_result>(self, a, std::move(c));
    },
    [self](get_atom a, std::string& resource, std::string& id) {
      return forward<record>(self, a, std::move(resource), std::move(id));
    },
    [self](list_atom a, std::string& resource, list_options o) {
      return forward<std::vector<record>>(self, a, std::move(resource), o);
    },
    [self](events_atom a, event_filter& f) {
      return forward<event_page>(self, a, std::move(f));
    },
    [self](stats_atom a, std::string& log) {
      return forward<log_stats>(self, a, std::move(log));
    },
    [self](describe_atom a) { return forward<std::string>(self, a); },
    [self](append_atom a, new_event& ev) {
      return forward<std::string>(self, a, std::move(ev));
    },
    [self](replay_atom a, replay_request& req) {
      return forward<replay_summary>(self, a, std::move(req));
    },
    [self](fork_atom a, replay_request& req, std::string& path) {
      return forward<replay_summary>(self, a, std::move(req),
                                     std::move(path));
    },
    [self](verify_atom a, std::string& log, uint32_t max) {
      return forward<verify_report>(self, a, std::move(log), max);
    },
  };
}

} // namespace

caf::actor spawn_client(caf::actor_system& sys,
                        std::shared_ptr<const connect_options> opts,
                        std::shared_ptr<const tls_context> tls) {
  return sys.middleman().spawn_broker(client, std::move(opts),
                                      std::move(tls));
}

} // namespace eventactors::net
