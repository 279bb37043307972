// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Roles and hostile peers at a node, seen from a raw client on loopback
// (issue 13, section 3): every request kind under every role, every frame
// kind at every stage where it is not allowed, messages that name actor
// handles, CAF's own remote actor protocol (BASP) against the node port,
// and a client that floods the node without reading its answers.
// node_test.cpp covers the remote client's view of roles and the first
// hostile bytes (an oversized frame, garbage, a request before the hello,
// wrong types, another protocol version).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_actor.hpp>

#include <catch2/catch.hpp>

#include "eventactors/all.hpp"
#include "eventactors/node.hpp"
#include "eventactors/remote.hpp"
#include "eventactors/service.hpp"
#include "net/codec.hpp"
#include "net/credentials.hpp"
#include "net/frame.hpp"
#include "net/server.hpp"
#include "support/child.hpp"
#include "support/cli.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

app roles_app() {
  app a;
  a.add(event_log{"events"}).record_id_type(record_id_kind::string);
  auto& c = a.add(resource{"Counter"});
  c.primary_key("id", key_kind::string)
    .attribute("value", types::integer(),
               {.allow_nil = false, .default_value = 0});
  c.events("events");
  c.create("create").accept({"id"});
  c.update("increment").change(changes::increment("value"));
  // A record whose every answer is large: for the flood.
  auto& d = a.add(resource{"Doc"});
  d.primary_key("id", key_kind::string)
    .attribute("text", types::string())
    .attribute("touches", types::integer(),
               {.allow_nil = false, .default_value = 0});
  d.events("events");
  d.create("create").accept({"id", "text"});
  d.update("touch").change(changes::increment("touches"));
  return a;
}

/// A node with a users file of one user per role.
struct roles_node {
  temp_dir dir;
  std::unique_ptr<runtime> rt;
  std::unique_ptr<node> nd;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  explicit roles_node(node_options opts = {}) {
    auto users = dir.file("users");
    {
      std::ofstream out{users};
      out << "# name role hash\n"
          << "reader reader " << net::hash_secret("reader-secret", 1000)
          << "\nwriter writer " << net::hash_secret("writer-secret", 1000)
          << "\nadmin admin " << net::hash_secret("admin-secret", 1000)
          << "\n";
    }
    auto started = runtime::start(roles_app(), {.path = dir.file("n.db")});
    REQUIRE(started);
    rt = std::move(*started);
    REQUIRE(rt->run("Counter", "create", {{"id", "c"}}));
    opts.plaintext = true;
    opts.users_file = users;
    auto n = node::start(*rt, opts);
    REQUIRE(n);
    nd = std::move(*n);
    init(cfg);
    cfg.load<caf::io::middleman>();
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  std::unique_ptr<remote_node> client(const std::string& user) {
    connect_options opts;
    opts.port = nd->port();
    opts.plaintext = true;
    opts.user = user;
    opts.secret = user + "-secret";
    opts.call_timeout = 20s;
    auto r = remote_node::connect(std::move(opts));
    REQUIRE(r);
    return std::move(*r);
  }

  size_t events() {
    auto st = rt->stats();
    REQUIRE(st);
    return st->events;
  }

  std::string body(const caf::message& msg) {
    auto b = net::encode(*sys, msg);
    REQUIRE(b);
    return *b;
  }

  /// Makes the record "big" of 200 KB; returns the body of a request for it.
  std::string big_doc_get() {
    REQUIRE(rt->run("Doc", "create", {{"id", "big"},
                                      {"text", std::string(200 * 1024, 'x')}}));
    return body(caf::make_message(get_atom_v, std::string{"Doc"},
                                  std::string{"\"big\""}));
  }
};

/// A received frame, copied out of the reader's buffer.
struct got_frame {
  net::frame_kind kind;
  uint64_t id;
  std::string body;
};

/// A raw client on a plain POSIX socket: writes whatever bytes a test
/// makes, reads frames; every wait bounded.
class wire {
public:
  /// Connects to the node; `rcvbuf` > 0 shrinks the receive buffer (before
  /// connecting, so that the advertised window stays small).
  explicit wire(uint16_t port, int rcvbuf = 0) : reader_(size_t{1} << 30) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    if (rcvbuf > 0)
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
            == 0);
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  }

  ~wire() {
    ::close(fd_);
  }

  wire(const wire&) = delete;
  wire& operator=(const wire&) = delete;

  /// Writes all of `bytes` unless the peer goes away or `limit` passes;
  /// returns whether all were written.
  bool send(const std::vector<char>& bytes,
            std::chrono::milliseconds limit = 10s) {
    auto deadline = clock_type::now() + limit;
    size_t done = 0;
    while (done < bytes.size()) {
      auto n = ::send(fd_, bytes.data() + done, bytes.size() - done,
                      MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        return false; // The node closed: what it said tells why.
      if (!wait_for(POLLOUT, deadline))
        return false;
    }
    return true;
  }

  void send_frame(net::frame_kind kind, uint64_t id, std::string_view body) {
    std::vector<char> out;
    net::append_frame(out, kind, id, body);
    send(out);
  }

  void hello(caf::actor_system& sys, const std::string& user) {
    net::hello h;
    h.user = user;
    h.secret = user + "-secret";
    h.client = "node_roles_test";
    send_frame(net::frame_kind::hello, 0, net::encode(sys, h));
    auto w = next();
    REQUIRE(w);
    REQUIRE(w->kind == net::frame_kind::welcome);
    auto welcome = net::decode_welcome(sys, w->body);
    REQUIRE(welcome);
    REQUIRE(welcome->role == user);
  }

  /// Half-closes: the node sees the end of the stream.
  void finish() {
    ::shutdown(fd_, SHUT_WR);
  }

  /// The next frame; nothing when the node closed or `limit` passed.
  std::optional<got_frame> next(std::chrono::milliseconds limit = 10s) {
    auto deadline = clock_type::now() + limit;
    for (;;) {
      net::frame f;
      auto st = reader_.next(f);
      REQUIRE(st != net::frame_reader::status::malformed);
      if (st == net::frame_reader::status::frame)
        return got_frame{f.kind, f.id, std::string{f.body}};
      if (closed_ || !fill(deadline))
        return std::nullopt;
    }
  }

  /// Reads until the node closes or `limit` passes; the frames read.
  std::vector<got_frame> drain(std::chrono::milliseconds limit = 10s) {
    std::vector<got_frame> out;
    auto deadline = clock_type::now() + limit;
    while (auto f = next(std::chrono::duration_cast<std::chrono::milliseconds>(
             deadline - clock_type::now())))
      out.push_back(std::move(*f));
    return out;
  }

  bool closed() const noexcept {
    return closed_;
  }

private:
  bool wait_for(short events, clock_type::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - clock_type::now());
    if (left.count() <= 0)
      return false;
    pollfd p{fd_, events, 0};
    return ::poll(&p, 1, static_cast<int>(left.count())) > 0;
  }

  /// Reads what is there; false when nothing came before the deadline.
  bool fill(clock_type::time_point deadline) {
    if (!wait_for(POLLIN, deadline))
      return false;
    char buf[65536];
    auto n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return true;
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    reader_.feed(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  net::frame_reader reader_;
  bool closed_ = false;
};

/// A frame with any length field and kind byte.
std::vector<char> raw_frame(uint32_t length, uint8_t kind, uint64_t id,
                            std::string_view body) {
  std::vector<char> out;
  for (int i = 3; i >= 0; --i)
    out.push_back(static_cast<char>((length >> (8 * i)) & 0xFF));
  out.push_back(static_cast<char>(kind));
  for (int i = 7; i >= 0; --i)
    out.push_back(static_cast<char>((id >> (8 * i)) & 0xFF));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::vector<char> frame_bytes(uint8_t kind, uint64_t id,
                              std::string_view body) {
  return raw_frame(static_cast<uint32_t>(net::frame_overhead + body.size()),
                   kind, id, body);
}

caf::error error_of(caf::actor_system& sys, const got_frame& f) {
  REQUIRE(f.kind == net::frame_kind::failure);
  return net::decode_error(sys, f.body);
}

// -- every request kind of the protocol ---------------------------------------

/// One request kind of `service_actor`: a message with its argument types,
/// default values, and a test that a message has those types.
struct request_kind {
  caf::message blank;
  std::function<bool(const caf::message&)> matches;
};

template <class... Ins, class Out>
void add_kind(std::vector<request_kind>& out,
              caf::typed_mpi<caf::detail::type_list<Ins...>, Out>*) {
  out.push_back({caf::make_message(Ins{}...), [](const caf::message& m) {
                   return m.size() == sizeof...(Ins)
                          && m.match_elements<Ins...>();
                 }});
}

/// Every request kind the protocol has: the signatures of `service_actor`,
/// which the node serves.
template <class... Sigs>
std::vector<request_kind> kinds_of(caf::detail::type_list<Sigs...>) {
  std::vector<request_kind> out;
  (add_kind(out, static_cast<Sigs*>(nullptr)), ...);
  return out;
}

/// What this test expects of a request kind: the role it needs, and a
/// request that would write (or leave a trace) if it ran.
struct kind_case {
  std::string name;
  net::role needs;
  caf::message sample;
};

std::vector<kind_case> kind_cases(const std::string& fork_path) {
  using net::role;
  auto bump = call{"Counter", "increment", {}, json::string{"c"}};
  return {
    {"run", role::writer, caf::make_message(run_atom_v, bump)},
    {"run_batch", role::writer,
     caf::make_message(run_batch_atom_v,
                       batch_call{"Counter",
                                  "increment",
                                  {{{}, json::string{"c"}}}})},
    {"get", role::reader,
     caf::make_message(get_atom_v, std::string{"Counter"},
                       std::string{"\"c\""})},
    {"list", role::reader,
     caf::make_message(list_atom_v, std::string{"Counter"}, list_options{})},
    {"events", role::reader, caf::make_message(events_atom_v, event_filter{})},
    {"stats", role::reader, caf::make_message(stats_atom_v, std::string{})},
    {"describe", role::reader, caf::make_message(describe_atom_v)},
    {"append", role::admin,
     caf::make_message(append_atom_v,
                       new_event{.resource = "Counter",
                                 .action = "create",
                                 .record_id = "appended"})},
    // The replay would create the record "ghost" from an event appended
    // without its record (see below).
    {"replay", role::admin, caf::make_message(replay_atom_v, replay_request{})},
    {"fork", role::admin,
     caf::make_message(fork_atom_v, replay_request{}, fork_path)},
    {"verify", role::admin,
     caf::make_message(verify_atom_v, std::string{}, uint32_t{10})},
  };
}

/// What a refused request must leave as it was.
struct trace {
  size_t events = 0;
  std::vector<record> counters;
  bool forked = false;

  friend bool operator==(const trace&, const trace&) = default;
};

trace trace_of(roles_node& n, const std::string& fork_path) {
  trace t;
  t.events = n.events();
  auto list = n.rt->list("Counter");
  REQUIRE(list);
  t.counters = std::move(*list);
  t.forked = std::filesystem::exists(fork_path);
  return t;
}

} // namespace

TEST_CASE("every request kind of the protocol has a role, and the node "
          "serves it to that role and above only",
          "[node][roles]") {
  roles_node n;
  auto fork_path = n.dir.file("fork.db");
  // An event without its record: only a replay makes the record.
  REQUIRE(n.rt->append(new_event{.resource = "Counter",
                                 .action = "create",
                                 .record_id = "ghost"}));
  auto cases = kind_cases(fork_path);
  auto kinds = kinds_of(service_actor::signatures{});
  REQUIRE(kinds.size() >= cases.size());
  // Each kind of the protocol has exactly one case here, and the node's
  // own mapping gives it the role this test expects. A kind added to
  // `service_actor` without a case or a role mapping fails here.
  std::vector<const kind_case*> plan;
  for (auto& k : kinds) {
    INFO("request kind " << caf::to_string(k.blank));
    const kind_case* found = nullptr;
    for (auto& c : cases)
      if (k.matches(c.sample)) {
        CHECK(found == nullptr);
        found = &c;
      }
    REQUIRE(found != nullptr);
    auto mapped = net::required_role(k.blank);
    CHECK(mapped.has_value());
    CHECK(mapped == found->needs);
    CHECK(net::required_role(found->sample) == found->needs);
    plan.push_back(found);
  }
  CHECK(plan.size() == cases.size());

  uint64_t id = 100;
  for (auto who : {net::role::reader, net::role::writer, net::role::admin}) {
    auto user = std::string{net::to_string(who)};
    wire w{n.nd->port()};
    w.hello(*n.sys, user);
    for (auto* c : plan) {
      INFO(user << " sends " << c->name);
      auto before = trace_of(n, fork_path);
      w.send_frame(net::frame_kind::request, ++id, n.body(c->sample));
      auto reply = w.next();
      REQUIRE(reply);
      CHECK(reply->id == id);
      if (who >= c->needs) {
        // Served: each sample is a valid request.
        if (reply->kind == net::frame_kind::failure)
          FAIL_CHECK("refused: " << render(error_of(*n.sys, *reply)));
        CHECK(reply->kind == net::frame_kind::response);
        CHECK(net::decode_message(*n.sys, reply->body));
      } else {
        auto err = error_of(*n.sys, *reply);
        CHECK(is(err, errc::not_authorized));
        CHECK(message(err)
              == "the request " + c->name + " needs the "
                   + std::string{net::to_string(c->needs)}
                   + " role; the client is a " + user);
        // Nothing ran: no event, no record, no fork.
        CHECK(trace_of(n, fork_path) == before);
      }
    }
    // A refusal keeps the connection: it still answers.
    w.send_frame(net::frame_kind::request, ++id,
                 n.body(caf::make_message(describe_atom_v)));
    auto last = w.next();
    REQUIRE(last);
    CHECK(last->kind == net::frame_kind::response);
  }
  // The admin's replay made the ghost; its fork wrote the file.
  CHECK(n.rt->get("Counter", json::string{"ghost"}));
  CHECK(std::filesystem::exists(fork_path));
}

// -- frames a client may not send ---------------------------------------------

namespace {

/// Bytes a client may not send, and what the node must say before it
/// closes the connection.
struct hostile_case {
  std::string name;
  /// Sends a writer's hello first (so that a request would be served).
  bool welcomed = false;
  std::vector<char> bytes;
  /// Half-closes after the bytes: the frame stays incomplete for good.
  bool truncated = false;
  /// A text the connection's failure (`protocol_error`) contains; nothing:
  /// the node may close without a word.
  std::optional<std::string> says;
};

/// Sends `c` on a fresh connection and checks that the node refused it:
/// answered with no response, said what `c.says` expects, closed the
/// connection, wrote nothing and went on serving `good`.
void expect_refused(roles_node& n, remote_node& good, const hostile_case& c) {
  INFO("case: " << c.name);
  auto before = n.events();
  wire w{n.nd->port()};
  if (c.welcomed)
    w.hello(*n.sys, "writer");
  w.send(c.bytes);
  if (c.truncated)
    w.finish();
  auto frames = w.drain(15s);
  CHECK(w.closed());
  for (auto& f : frames) {
    CHECK(f.kind == net::frame_kind::failure);
    CHECK(f.id == 0);
  }
  if (c.says) {
    REQUIRE(frames.size() == 1);
    auto err = error_of(*n.sys, frames.back());
    CHECK(is(err, errc::protocol_error));
    CHECK_THAT(message(err), Catch::Contains(*c.says));
  }
  CHECK(n.events() == before);
  auto still = good.get("Counter", json::string{"c"});
  CHECK(still);
}

} // namespace

TEST_CASE("frames a client may not send close its connection, write "
          "nothing and leave the node serving others",
          "[node][roles]") {
  roles_node n{node_options{.max_frame_bytes = 4096, .hello_timeout = 5s}};
  auto good = n.client("writer");
  auto& sys = *n.sys;
  auto bump = n.body(caf::make_message(
    run_atom_v, call{"Counter", "increment", {}, json::string{"c"}}));
  net::hello h;
  h.user = "writer";
  h.secret = "writer-secret";
  auto hello_body = net::encode(sys, h);
  std::vector<hostile_case> cases;
  // Every kind byte at each stage where it is not allowed: before the
  // hello only a hello, after it only requests. Each carries a write.
  for (unsigned k : {0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 127u, 255u}) {
    auto kind = static_cast<net::frame_kind>(k);
    auto known = net::valid(kind);
    for (bool welcomed : {false, true}) {
      auto allowed = welcomed ? net::frame_kind::request
                              : net::frame_kind::hello;
      if (known && kind == allowed)
        continue;
      std::string says;
      if (!known)
        says = "unknown frame kind " + std::to_string(k);
      else if (!welcomed)
        says = "a connection must start with a hello";
      else if (kind == net::frame_kind::hello)
        says = "a second hello";
      else
        says = "a client sends only hello and request frames";
      auto body = kind == net::frame_kind::hello ? hello_body : bump;
      cases.push_back({"kind " + std::to_string(k)
                         + (welcomed ? " after the welcome"
                                     : " before the hello"),
                       welcomed, frame_bytes(static_cast<uint8_t>(k), 7, body),
                       false, says});
    }
  }
  // Lengths the header cannot have, or beyond the limit.
  for (bool welcomed : {false, true}) {
    auto when = std::string{welcomed ? " after the welcome"
                                     : " before the hello"};
    cases.push_back({"a length of 0" + when, welcomed,
                     raw_frame(0, 3, 1, {}), false,
                     "a frame of 0 bytes is shorter than its header"});
    cases.push_back({"a length of 8" + when, welcomed,
                     raw_frame(8, 3, 1, {}), false,
                     "a frame of 8 bytes is shorter than its header"});
    cases.push_back({"a length of 2^32-1" + when, welcomed,
                     raw_frame(0xFFFFFFFF, 3, 1, {}), false,
                     "a frame of 4294967295 bytes exceeds the limit of 4096 "
                     "bytes"});
    cases.push_back({"one byte over the limit" + when, welcomed,
                     raw_frame(4097, 3, 1, {}), false,
                     "a frame of 4097 bytes exceeds the limit of 4096 bytes"});
  }
  // Bodies that are not what their kind needs.
  cases.push_back({"an empty hello", false, frame_bytes(1, 0, {}), false,
                   "cannot decode a hello"});
  cases.push_back({"a hello of garbage", false,
                   frame_bytes(1, 0, "\x01\xff\xff\xff\xff\xff\xff"), false,
                   "cannot decode a hello"});
  cases.push_back({"a hello with bytes left over", false,
                   frame_bytes(1, 0, hello_body + "x"), false,
                   "1 bytes left over"});
  cases.push_back({"an empty request", true, frame_bytes(3, 1, {}), false,
                   ""});
  cases.push_back({"a request with bytes left over", true,
                   frame_bytes(3, 1, bump + "x"), false, "1 bytes left over"});
  cases.push_back({"a request of no elements", true,
                   frame_bytes(3, 1, n.body(caf::message{})), false,
                   "not a request of this protocol"});
  cases.push_back({"a request of an unknown atom", true,
                   frame_bytes(3, 1,
                               n.body(caf::make_message(
                                 caf::atom("delete"), std::string{"Counter"}))),
                   false, "not a request of this protocol"});
  // Request ids: 0 names the connection; an id in flight is taken.
  cases.push_back({"a request with id 0", true, frame_bytes(3, 0, bump), false,
                   "request id 0"});
  {
    auto get = n.body(caf::make_message(get_atom_v, std::string{"Counter"},
                                        std::string{"\"c\""}));
    // One write: the get is still in flight when the node reads the run.
    auto bytes = frame_bytes(3, 5, get);
    auto again = frame_bytes(3, 5, bump);
    bytes.insert(bytes.end(), again.begin(), again.end());
    cases.push_back({"a request id reused while in flight", true, bytes,
                     false, "request id 5 is already in flight"});
  }
  // Frames cut short: the node sees the end of the stream mid-frame.
  {
    auto req = frame_bytes(3, 9, bump);
    cases.push_back({"two bytes of a length", false, {'\0', '\0'}, true,
                     std::nullopt});
    auto hello = frame_bytes(1, 0, hello_body);
    cases.push_back({"a hello cut short", false,
                     std::vector<char>(hello.begin(), hello.begin() + 20),
                     true, std::nullopt});
    req.pop_back();
    cases.push_back({"a request missing its last byte", true, req, true,
                     std::nullopt});
  }
  for (auto& c : cases)
    expect_refused(n, *good, c);
  CHECK(good->run(call{"Counter", "increment", {}, json::string{"c"}}));
}

TEST_CASE("requests that name actor handles are refused: a client cannot "
          "address an actor of the node's process",
          "[node][roles]") {
  roles_node n{node_options{.hello_timeout = 5s}};
  auto good = n.client("writer");
  auto& sys = *n.sys;
  std::atomic<int> reached{0};
  // Actors that count whatever reaches them.
  std::vector<caf::actor> traps;
  for (int i = 0; i < 64; ++i)
    traps.push_back(sys.spawn([&reached](caf::event_based_actor* self) {
      self->set_default_handler(
        [&reached](caf::scheduled_actor*,
                   caf::message_view&) -> caf::result<caf::message> {
          ++reached;
          return caf::message{};
        });
      return caf::behavior{[](caf::ok_atom) {}};
    }));
  // The actor that runs every request of the runtime: the one to reach.
  auto svc = caf::actor_cast<caf::actor>(service_of(*n.rt));
  REQUIRE(svc);
  auto bump = call{"Counter", "increment", {}, json::string{"c"}};
  std::vector<std::pair<std::string, caf::message>> named;
  for (auto& [who, h] : std::vector<std::pair<std::string, caf::actor>>{
         {"the service actor", svc}, {"a null handle", caf::actor{}}}) {
    named.emplace_back(who + ", then a request",
                       caf::make_message(h, run_atom_v, bump));
    named.emplace_back("a request, then " + who,
                       caf::make_message(run_atom_v, bump, h));
    named.emplace_back(who + " alone", caf::make_message(h));
    named.emplace_back(who + " in place of the call",
                       caf::make_message(run_atom_v, h));
    named.emplace_back("an exit message for " + who,
                       caf::make_message(caf::exit_msg{
                         h.address(), caf::exit_reason::kill}));
    named.emplace_back("the address of " + who + ", then a request",
                       caf::make_message(h.address(), run_atom_v, bump));
  }
  for (auto& t : traps)
    named.emplace_back("trap " + std::to_string(t.id()) + ", then a request",
                       caf::make_message(t, run_atom_v, bump));
  for (auto& [what, msg] : named) {
    hostile_case c;
    c.name = what;
    c.welcomed = true;
    auto body = net::encode(sys, msg);
    REQUIRE(body);
    c.bytes = frame_bytes(3, 1, *body);
    c.says = "";
    expect_refused(n, *good, c);
  }
  CHECK(reached == 0);
  // The service actor lives on.
  CHECK(good->run(bump));
  for (auto& t : traps)
    caf::anon_send_exit(t, caf::exit_reason::user_shutdown);
}

// -- CAF's remote actor protocol ----------------------------------------------

namespace {

/// Tries CAF's remote actor handshake (BASP) at `port`, waiting at most
/// `limit`; the actor it got, or why not.
caf::expected<caf::strong_actor_ptr>
basp_connect(caf::actor_system& sys, uint16_t port,
             std::chrono::milliseconds limit) {
  caf::expected<caf::strong_actor_ptr> got = caf::strong_actor_ptr{};
  caf::scoped_actor self{sys};
  self
    ->request(sys.middleman().actor_handle(), limit, caf::connect_atom_v,
              std::string{"127.0.0.1"}, port)
    .receive(
      [&](const caf::node_id&, caf::strong_actor_ptr& ptr,
          const std::set<std::string>&) { got = std::move(ptr); },
      [&](caf::error& err) { got = std::move(err); });
  return got;
}

/// The local ports of the sockets in `/proc/net/FILE` that `inodes` holds,
/// in state `state` (hex, e.g. "0A" for LISTEN; empty for any).
std::set<uint16_t> ports_in(const std::string& file,
                            const std::set<std::string>& inodes,
                            const std::string& state) {
  std::set<uint16_t> out;
  std::ifstream in{"/proc/net/" + file};
  std::string line;
  std::getline(in, line); // the header
  while (std::getline(in, line)) {
    std::istringstream s{line};
    std::string slot, local, remote, st, queues, timer, retr, uid, timeout,
      inode;
    s >> slot >> local >> remote >> st >> queues >> timer >> retr >> uid
      >> timeout >> inode;
    if (inodes.count(inode) == 0 || (!state.empty() && st != state))
      continue;
    auto colon = local.rfind(':');
    out.insert(static_cast<uint16_t>(
      std::stoul(local.substr(colon + 1), nullptr, 16)));
  }
  return out;
}

/// The inodes of the sockets process `pid` has open.
std::set<std::string> socket_inodes(pid_t pid) {
  std::set<std::string> out;
  auto dir = "/proc/" + std::to_string(pid) + "/fd";
  for (auto& entry : std::filesystem::directory_iterator{dir}) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(entry.path(), ec).string();
    if (!ec && target.rfind("socket:[", 0) == 0)
      out.insert(target.substr(8, target.size() - 9));
  }
  return out;
}

} // namespace

TEST_CASE("CAF's remote actor handshake at a node fails in bounded time; "
          "the node goes on serving",
          "[node][roles]") {
  roles_node n{node_options{.hello_timeout = 1s}};
  auto good = n.client("reader");
  auto before = n.events();
  auto start = clock_type::now();
  // A BASP client waits for the server's handshake, which a node never
  // sends: the node closes the connection when no hello came in time.
  auto got = basp_connect(*n.sys, n.nd->port(), 30s);
  auto took = clock_type::now() - start;
  REQUIRE_FALSE(got);
  INFO(n.sys->render(got.error()));
  CHECK(got.error() != caf::sec::request_timeout);
  CHECK(took < 20s);
  // The blocking API says the same.
  auto typed = n.sys->middleman().remote_actor<service_actor>("127.0.0.1",
                                                              n.nd->port());
  CHECK_FALSE(typed);
  CHECK(good->get("Counter", json::string{"c"}));
  CHECK(n.events() == before);
}

TEST_CASE("a node process listens on its node port only, which does not "
          "answer CAF's remote actor handshake",
          "[node][roles]") {
  temp_dir dir;
  child_process proc{{cli_path, "--app", config_file("quickstart.json"),
                      "--db", dir.file("node.db"), "serve", "--listen",
                      "127.0.0.1:0", "--plaintext"}};
  REQUIRE(proc.started());
  auto line = proc.read_line(60s);
  INFO("stderr: " << proc.err());
  REQUIRE(line);
  REQUIRE(line->rfind("listening on 127.0.0.1:", 0) == 0);
  auto port = static_cast<uint16_t>(
    std::stoul(line->substr(std::string{"listening on 127.0.0.1:"}.size())));
  auto inodes = socket_inodes(proc.pid());
  std::set<uint16_t> listening;
  for (auto file : {"tcp", "tcp6"})
    listening.merge(ports_in(file, inodes, "0A"));
  CHECK(listening == std::set<uint16_t>{port});
  // Nor does it hold a UDP socket (CAF's BASP over UDP).
  std::set<uint16_t> udp;
  for (auto file : {"udp", "udp6"})
    udp.merge(ports_in(file, inodes, ""));
  CHECK(udp.empty());
  // A BASP server sends its handshake as soon as a client connects; the
  // node says nothing before a hello (and closes after its time limit),
  // so no actor comes back.
  caf::actor_system_config cfg;
  init(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  for (auto p : listening) {
    auto got = basp_connect(sys, p, 3s);
    CHECK_FALSE(got);
  }
  proc.signal(SIGTERM);
  CHECK(proc.wait(30s) == 0);
}

// -- a flood ------------------------------------------------------------------

TEST_CASE("many requests beyond max_in_flight are all answered, in any order",
          "[node][roles]") {
  roles_node n{node_options{.max_in_flight = 4}};
  wire w{n.nd->port()};
  w.hello(*n.sys, "reader");
  constexpr uint64_t count = 1000;
  auto get = n.body(caf::make_message(get_atom_v, std::string{"Counter"},
                                      std::string{"\"c\""}));
  std::vector<char> bytes;
  for (uint64_t i = 1; i <= count; ++i)
    net::append_frame(bytes, net::frame_kind::request, i, get);
  // All sent before reading one answer.
  REQUIRE(w.send(bytes, 30s));
  std::set<uint64_t> answered;
  while (answered.size() < count) {
    auto f = w.next(30s);
    REQUIRE(f);
    REQUIRE(f->kind == net::frame_kind::response);
    CHECK(answered.insert(f->id).second);
  }
  CHECK(*answered.begin() == 1);
  CHECK(*answered.rbegin() == count);
}

TEST_CASE("a client that floods a node without reading is paused, not "
          "buffered for; the node serves others meanwhile",
          "[node][roles]") {
  // Every answer is 200 KB; the node must not queue answers for a client
  // that does not read them without bound.
  roles_node n{node_options{.max_frame_bytes = 256 * 1024,
                            .max_in_flight = 4}};
  REQUIRE(n.rt->run("Doc", "create",
                    {{"id", "big"}, {"text", std::string(200 * 1024, 'x')}}));
  auto good = n.client("reader");
  auto base = n.events();
  constexpr uint64_t count = 160;
  auto touch = n.body(caf::make_message(
    run_atom_v, call{"Doc", "touch", {}, json::string{"big"}}));
  // A small receive window: what the kernels hold stays small against
  // `count` answers of 200 KB.
  wire w{n.nd->port(), 16 * 1024};
  w.hello(*n.sys, "writer");
  std::vector<char> bytes;
  for (uint64_t i = 1; i <= count; ++i)
    net::append_frame(bytes, net::frame_kind::request, i, touch);
  REQUIRE(w.send(bytes, 30s));
  // Wait until the node stops taking requests of the client that does not
  // read (bounded); with unbounded buffering it would run them all.
  auto deadline = clock_type::now() + 30s;
  auto seen = n.events();
  auto stable_since = clock_type::now();
  while (clock_type::now() < deadline
         && clock_type::now() - stable_since < 1500ms) {
    std::this_thread::sleep_for(50ms); // Polls the count; bounded above.
    auto now = n.events();
    if (now != seen) {
      seen = now;
      stable_since = clock_type::now();
    }
  }
  auto ran = seen - base;
  INFO(ran << " of " << count << " requests ran while the client read nothing");
  CHECK(ran < count / 2);
  // Another client is served meanwhile.
  CHECK(good->get("Doc", json::string{"big"}));
  // Once the client reads, every request runs and is answered.
  std::set<uint64_t> answered;
  while (answered.size() < count) {
    auto f = w.next(60s);
    REQUIRE(f);
    REQUIRE(f->kind == net::frame_kind::response);
    CHECK(answered.insert(f->id).second);
  }
  CHECK(n.events() == base + count);
}

namespace {

/// The number of files this process has open.
size_t open_files() {
  size_t n = 0;
  for ([[maybe_unused]] auto& e :
       std::filesystem::directory_iterator{"/proc/self/fd"})
    ++n;
  return n;
}

/// This process's resident set in bytes.
size_t resident_bytes() {
  std::ifstream in{"/proc/self/statm"};
  size_t pages = 0;
  size_t resident = 0;
  in >> pages >> resident;
  return resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

} // namespace

TEST_CASE("clients that vanish while the node pauses them leave nothing "
          "behind",
          "[node][roles][stress]") {
  // Each round: three clients ask for far more 200 KB answers than the
  // node sends to a client that does not read, then close their sockets
  // once the first answer arrived, most while the node has paused them.
  // CAF 0.17 never releases a connection its peer closes while it is out
  // of CAF's event loop, as the node's pausing took it once (server.cpp,
  // `pace`): each leaked one keeps its socket and the answers queued for
  // it, several hundred KB per client.
  // EVENTACTORS_PAUSED_ROUNDS sets the rounds (at least 40, which a leak
  // of 3 sockets a round fails; the long mode: 1000).
#if defined(__SANITIZE_ADDRESS__)
  // Under LeakSanitizer this test's process ended once (2026-12-08) with
  // the server broker unreferenced at exit, held by a CAF scribe of the
  // kind scripts/lsan.supp suppresses: CAF's shutdown with many closing
  // connections, not growth (this test checks growth in the main build).
  // Not run here until that is understood; see the note of issue 13.
  WARN("not run under AddressSanitizer");
  return;
#endif
  auto rounds = std::max<size_t>(
    [] {
      if (auto x = std::getenv("EVENTACTORS_PAUSED_ROUNDS"); x && *x)
        return static_cast<size_t>(std::strtoull(x, nullptr, 10));
      return size_t{40};
    }(),
    40);
  roles_node n{node_options{.max_frame_bytes = 256 * 1024,
                            .max_in_flight = 8}};
  auto get = n.big_doc_get();
  std::vector<char> requests;
  for (uint64_t i = 1; i <= 64; ++i)
    net::append_frame(requests, net::frame_kind::request, i, get);
  auto good = n.client("reader");
  size_t warm = 0;
  size_t warm_files = 0;
  for (size_t round = 0; round < rounds; ++round) {
    if (round == rounds / 4) {
      warm = resident_bytes();
      warm_files = open_files();
    }
    std::vector<std::unique_ptr<wire>> ws;
    for (int k = 0; k < 3; ++k) {
      ws.push_back(std::make_unique<wire>(n.nd->port(), 16 * 1024));
      ws.back()->hello(*n.sys, "reader");
      // The node stops taking them before it took them all.
      ws.back()->send(requests, 200ms);
    }
    for (auto& w : ws) {
      // The first answer: the node is writing answers now.
      auto f = w->next(10s);
      REQUIRE(f);
      CHECK(f->kind == net::frame_kind::response);
    }
    ws.clear();
    // Between rounds the node goes on serving others.
    REQUIRE(good->get("Doc", json::string{"big"}));
  }
  // The node closes each vanished connection once it sees the end of its
  // stream: wait for that (bounded), then count what is left. The slack
  // is for read connections the runtime's pool may open later (a SQLite
  // connection holds up to 3 files); a leak holds 3 sockets per round.
  constexpr size_t slack = 32;
  auto deadline = clock_type::now() + 20s;
  while (open_files() > warm_files + slack && clock_type::now() < deadline)
    std::this_thread::sleep_for(20ms); // Polls the count; bounded above.
  auto files = open_files();
  auto grown = static_cast<double>(resident_bytes())
               - static_cast<double>(warm);
  auto measured = rounds - rounds / 4;
  INFO(rounds << " rounds; over the last " << measured << ", open files "
              << warm_files << " -> " << files << ", resident set +"
              << grown / 1024 << " KiB");
  CHECK(files <= warm_files + slack);
  CHECK(grown < 16.0 * 1024 * 1024 + 64.0 * 1024 * measured);
}

TEST_CASE("a client that goes on sending while it reads no answers is "
          "closed with overloaded once max_frame_bytes of requests wait",
          "[node][roles]") {
  roles_node n{node_options{.max_frame_bytes = 256 * 1024,
                            .max_in_flight = 4}};
  auto get = n.big_doc_get();
  // Twice the 256 KB limit of requests: the node pauses the client at 4
  // requests under way (or 256 KB of unread answers), reads on, and closes
  // it past the limit.
  std::vector<char> requests;
  uint64_t count = 0;
  while (requests.size() < 512 * 1024)
    net::append_frame(requests, net::frame_kind::request, ++count, get);
  wire w{n.nd->port()};
  w.hello(*n.sys, "reader");
  w.send(requests, 20s);
  auto good = n.client("reader");
  CHECK(good->get("Doc", json::string{"big"}));
  // Answers to the first requests, then the refusal, then the end.
  std::optional<got_frame> last;
  size_t answers = 0;
  for (;;) {
    auto f = w.next(30s);
    if (!f)
      break;
    if (f->kind == net::frame_kind::response) {
      ++answers;
      continue;
    }
    last = std::move(f);
  }
  INFO(answers << " answers of " << count << " requests");
  CHECK(answers < count / 2);
  REQUIRE(last);
  CHECK(last->kind == net::frame_kind::failure);
  CHECK(last->id == 0);
  auto err = net::decode_error(*n.sys, last->body);
  CHECK(is(err, errc::overloaded));
  CHECK_THAT(message(err), Catch::Contains("262144 bytes of requests"));
  CHECK(good->get("Doc", json::string{"big"}));
}

TEST_CASE("a connection on the socket of a closed one gets nothing of the "
          "closed one",
          "[node][roles]") {
  // CAF names a connection by its socket, which the next connection may
  // get. Connection A authenticates and closes; B connects on the socket
  // A had (the lowest free one) before A's hello timer fires, and says
  // hello after it fired. A's timer must not refuse B. The waits make the
  // timer fire in that window; they synchronize nothing: B's own timer
  // fires 600 ms after its hello.
  roles_node n{node_options{.hello_timeout = 1000ms}};
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto t0 = clock_type::now();
    {
      wire a{n.nd->port()};
      a.hello(*n.sys, "reader");
    }
    std::this_thread::sleep_until(t0 + 800ms);
    wire b{n.nd->port()};
    std::this_thread::sleep_until(t0 + 1200ms);
    b.hello(*n.sys, "reader");
  }
}
