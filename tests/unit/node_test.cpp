// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Nodes and remote clients in one process, over loopback (issue 13):
// serving, the remote service interface, roles, limits, hostile bytes,
// graceful stop and reconnection. Tests with separate processes and TLS
// are in node_process_test.cpp and node_tls_test.cpp.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_actor.hpp>

#include <catch2/catch.hpp>

#include "eventactors/all.hpp"
#include "eventactors/node.hpp"
#include "eventactors/remote.hpp"
#include "net/codec.hpp"
#include "net/credentials.hpp"
#include "net/frame.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;
using namespace std::chrono_literals;

namespace {

app counter_app() {
  app a;
  a.add(event_log{"events"}).record_id_type(record_id_kind::string);
  auto& c = a.add(resource{"Counter"});
  c.primary_key("id", key_kind::string)
    .attribute("value", types::integer(),
               {.allow_nil = false, .default_value = 0});
  c.events("events");
  c.create("create").accept({"id"});
  c.update("increment").change(changes::increment("value"));
  return a;
}

struct served {
  temp_dir dir;
  std::unique_ptr<runtime> rt;
  std::unique_ptr<node> nd;

  explicit served(node_options opts = {}) {
    auto started = runtime::start(counter_app(), {.path = dir.file("n.db")});
    REQUIRE(started);
    rt = std::move(*started);
    opts.plaintext = true;
    auto n = node::start(*rt, opts);
    REQUIRE(n);
    nd = std::move(*n);
  }

  connect_options client(std::string user = {}, std::string secret = {}) {
    connect_options opts;
    opts.port = nd->port();
    opts.plaintext = true;
    opts.user = std::move(user);
    opts.secret = std::move(secret);
    opts.call_timeout = 20s;
    return opts;
  }
};

std::unique_ptr<remote_node> connect_ok(connect_options opts) {
  auto r = remote_node::connect(std::move(opts));
  REQUIRE(r);
  return std::move(*r);
}

/// A raw TCP client: sends bytes, reads what comes back until the peer
/// closes or `limit` passes.
struct raw_client {
  int fd = -1;

  explicit raw_client(uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
            == 0);
  }

  ~raw_client() {
    if (fd >= 0)
      ::close(fd);
  }

  void send(const std::vector<char>& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      auto n = ::send(fd, bytes.data() + done, bytes.size() - done,
                      MSG_NOSIGNAL);
      if (n <= 0)
        return; // The node may close early; the reply tells.
      done += static_cast<size_t>(n);
    }
  }

  /// Reads until the connection closes or `limit`; returns the bytes and
  /// whether the peer closed.
  std::pair<std::vector<char>, bool> read_all(std::chrono::milliseconds limit
                                              = 10s) {
    std::vector<char> got;
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return {got, false};
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        return {got, false};
      char buf[4096];
      auto n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0)
        return {got, true};
      got.insert(got.end(), buf, buf + n);
    }
  }
};

/// The error in the first failure frame of `bytes`.
caf::error first_failure(caf::actor_system& sys, const std::vector<char>& bytes) {
  net::frame_reader reader;
  reader.feed(bytes.data(), bytes.size());
  net::frame f;
  while (reader.next(f) == net::frame_reader::status::frame)
    if (f.kind == net::frame_kind::failure)
      return net::decode_error(sys, f.body);
  FAIL("no failure frame among " << bytes.size() << " bytes");
  return {};
}

std::vector<char> hello_frame(caf::actor_system& sys, std::string user = {},
                              std::string secret = {}) {
  net::hello h;
  h.user = std::move(user);
  h.secret = std::move(secret);
  std::vector<char> out;
  net::append_frame(out, net::frame_kind::hello, 0, net::encode(sys, h));
  return out;
}

/// Counts events through any service: the same code for both kinds.
size_t count_events(service& s) {
  auto page = s.events(event_filter{.limit = 10000});
  REQUIRE(page);
  return page->events.size();
}

} // namespace

TEST_CASE("a remote node gives the records and events a local runtime "
          "gives", "[node]") {
  // Without workers every request goes through the runtime's actors; with
  // them an idle worker runs actions and reads with the synchronous API.
  auto workers = GENERATE(size_t{0}, size_t{4});
  CAPTURE(workers);
  served n{node_options{.workers = workers}};
  auto remote = connect_ok(n.client());
  CHECK(remote->role() == "admin");
  CHECK(remote->node_name() == n.nd->address());
  CHECK(remote->definitions().find_resource("Counter") != nullptr);

  service& local = *n.rt;
  service& far = *remote;
  auto a = far.run("Counter", "create", {{"id", "a"}});
  REQUIRE(a);
  CHECK(a->get("id") == json::value("a"));
  auto inc = far.run(call{"Counter", "increment", {}, json::string{"a"}});
  REQUIRE(inc);
  CHECK(inc->get("value") == json::value(1));
  CHECK(local.get("Counter", json::string{"a"})->get("value") == json::value(1));
  CHECK(far.get("Counter", json::string{"a"})->get("value") == json::value(1));
  CHECK(count_events(local) == 2);
  CHECK(count_events(far) == 2);
  auto local_page = local.events({});
  auto far_page = far.events({});
  REQUIRE(local_page);
  REQUIRE(far_page);
  CHECK(local_page->events == far_page->events);
  CHECK(*local.list("Counter") == *far.list("Counter"));
  auto st = far.stats();
  REQUIRE(st);
  CHECK(st->events == 2);
  // Errors cross with their code and fields.
  auto missing = far.get("Counter", json::string{"nope"});
  REQUIRE_FALSE(missing);
  CHECK(is(missing.error(), errc::not_found));
  auto bad = far.run("Nope", "create", {});
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), errc::unknown_resource));
  // Administration.
  auto replayed = far.replay();
  REQUIRE(replayed);
  CHECK(local.get("Counter", json::string{"a"})->get("value") == json::value(1));
  auto report = far.verify();
  REQUIRE(report);
  CHECK(report->differences.empty());
  // Batches.
  batch_call b{"Counter", "create", {{{{"id", "b"}}, nullptr}, {{{"id", "a"}}, nullptr}}};
  auto results = far.run_batch(b);
  REQUIRE(results.size() == 2);
  CHECK(results[0]);
  REQUIRE_FALSE(results[1]);
  CHECK(is(results[1].error(), errc::conflict));
}

TEST_CASE("a remote node answers requests from actors", "[node]") {
  // The callers' actor system is declared first so that it outlives the
  // client, whose threads run the callers when answers arrive (nodes.md).
  caf::actor_system_config cfg;
  init(cfg);
  caf::actor_system sys{cfg};
  served n;
  auto remote = connect_ok(n.client());
  REQUIRE(remote->run("Counter", "create", {{"id", "c"}}));
  std::atomic<int> done{0};
  auto svc = remote->async();
  constexpr int callers = 16;
  for (int i = 0; i < callers; ++i)
    sys.spawn([&, svc](caf::event_based_actor* self) {
      self->request(svc, 30s, run_atom_v,
                    call{"Counter", "increment", {}, json::string{"c"}})
        .then([&](const record&) { ++done; },
              [&](caf::error&) { done += 1000; });
    });
  sys.await_all_actors_done();
  CHECK(done == callers);
  CHECK(remote->get("Counter", json::string{"c"})->get("value")
        == json::value(callers));
}

TEST_CASE("no lost updates through one remote client", "[node]") {
  // One worker: the increments under way at once take both paths, the
  // worker's synchronous call and the runtime's actors, on one record.
  auto workers = GENERATE(size_t{1}, size_t{4});
  CAPTURE(workers);
  served n{node_options{.workers = workers}};
  auto remote = connect_ok(n.client());
  REQUIRE(remote->run("Counter", "create", {{"id", "hot"}}));
  constexpr int threads = 8;
  constexpr int each = 25;
  std::vector<std::thread> ts;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < each; ++i)
        if (!remote->run(call{"Counter", "increment", {}, json::string{"hot"}}))
          ++failures;
    });
  for (auto& t : ts)
    t.join();
  CHECK(failures == 0);
  CHECK(n.rt->get("Counter", json::string{"hot"})->get("value")
        == json::value(threads * each));
  CHECK(count_events(*n.rt) == 1 + threads * each);
}

TEST_CASE("roles limit what a client may ask", "[node]") {
  temp_dir users_dir;
  auto users = users_dir.file("users");
  {
    std::ofstream out{users};
    out << "reader reader " << net::hash_secret("r-secret", 1000) << "\n"
        << "writer writer " << net::hash_secret("w-secret", 1000) << "\n"
        << "admin admin " << net::hash_secret("a-secret", 1000) << "\n";
  }
  served n{node_options{.users_file = users}};
  auto reader = connect_ok(n.client("reader", "r-secret"));
  auto writer = connect_ok(n.client("writer", "w-secret"));
  auto admin = connect_ok(n.client("admin", "a-secret"));
  CHECK(reader->role() == "reader");
  CHECK(writer->role() == "writer");

  auto refused = reader->run("Counter", "create", {{"id", "x"}});
  REQUIRE_FALSE(refused);
  CHECK(is(refused.error(), errc::not_authorized));
  CHECK(message(refused.error())
        == "the request run needs the writer role; the client is a reader");
  CHECK(writer->run("Counter", "create", {{"id", "x"}}));
  CHECK(reader->get("Counter", json::string{"x"}));
  auto no_replay = writer->replay();
  REQUIRE_FALSE(no_replay);
  CHECK(is(no_replay.error(), errc::not_authorized));
  auto no_append = writer->append(new_event{.resource = "Counter",
                                            .action = "create",
                                            .record_id = "y"});
  REQUIRE_FALSE(no_append);
  CHECK(is(no_append.error(), errc::not_authorized));
  CHECK(admin->replay());
  // Nothing was written by the refused calls.
  CHECK(count_events(*n.rt) == 1);

  auto wrong = remote_node::connect(n.client("reader", "w-secret"));
  REQUIRE_FALSE(wrong);
  CHECK(is(wrong.error(), errc::authentication_failed));
  auto nobody = remote_node::connect(n.client("mallory", "r-secret"));
  REQUIRE_FALSE(nobody);
  CHECK(is(nobody.error(), errc::authentication_failed));
  CHECK(message(nobody.error()) == message(wrong.error()));
}

TEST_CASE("a node refuses plaintext off loopback and a port in use",
          "[node]") {
  temp_dir dir;
  auto rt = runtime::start(counter_app(), {.path = dir.file("p.db")});
  REQUIRE(rt);
  auto off = node::start(**rt, {.host = "0.0.0.0", .plaintext = true});
  REQUIRE_FALSE(off);
  CHECK(is(off.error(), errc::network_failure));
  CHECK_THAT(message(off.error()), Catch::Contains("not a loopback address"));
  auto none = node::start(**rt, {});
  REQUIRE_FALSE(none);
  CHECK(is(none.error(), errc::network_failure));
  auto first = node::start(**rt, {.plaintext = true});
  REQUIRE(first);
  auto second = node::start(**rt, {.port = (*first)->port(), .plaintext = true});
  REQUIRE_FALSE(second);
  CHECK(is(second.error(), errc::network_failure));
  CHECK_THAT(message(second.error()),
             Catch::Contains("127.0.0.1:" + std::to_string((*first)->port())));
}

TEST_CASE("hostile bytes close that connection; the node serves others",
          "[node]") {
  served n{node_options{.max_frame_bytes = 4096}};
  auto good = connect_ok(n.client());
  caf::actor_system_config cfg;
  init(cfg);
  caf::actor_system sys{cfg};

  SECTION("an oversized frame") {
    raw_client raw{n.nd->port()};
    auto bytes = hello_frame(sys);
    std::vector<char> big;
    net::append_frame(big, net::frame_kind::request, 1,
                      std::string(100000, 'x'));
    bytes.insert(bytes.end(), big.begin(), big.end());
    raw.send(bytes);
    auto [got, closed] = raw.read_all();
    CHECK(closed);
    auto err = first_failure(sys, got);
    CHECK(is(err, errc::protocol_error));
    CHECK(message(err)
          == "a frame of 100009 bytes exceeds the limit of 4096 bytes");
  }
  SECTION("a request before the hello") {
    raw_client raw{n.nd->port()};
    std::vector<char> bytes;
    net::append_frame(bytes, net::frame_kind::request, 1, "x");
    raw.send(bytes);
    auto [got, closed] = raw.read_all();
    CHECK(closed);
    CHECK(message(first_failure(sys, got))
          == "a connection must start with a hello");
  }
  SECTION("garbage") {
    raw_client raw{n.nd->port()};
    raw.send(std::vector<char>(64, '\xff'));
    auto [got, closed] = raw.read_all();
    CHECK(closed);
    CHECK(is(first_failure(sys, got), errc::protocol_error));
  }
  SECTION("a request of the wrong types") {
    raw_client raw{n.nd->port()};
    auto bytes = hello_frame(sys);
    auto body = net::encode(sys, caf::make_message(run_atom_v,
                                                   std::string{"x"}));
    REQUIRE(body);
    net::append_frame(bytes, net::frame_kind::request, 7, *body);
    raw.send(bytes);
    auto [got, closed] = raw.read_all();
    CHECK(closed);
    CHECK_THAT(message(first_failure(sys, got)),
               Catch::StartsWith("not a request of this protocol"));
  }
  SECTION("a wrong protocol version") {
    raw_client raw{n.nd->port()};
    net::hello h;
    h.version = 99;
    std::vector<char> bytes;
    net::append_frame(bytes, net::frame_kind::hello, 0, net::encode(sys, h));
    raw.send(bytes);
    auto [got, closed] = raw.read_all();
    CHECK(closed);
    CHECK(message(first_failure(sys, got))
          == "the client speaks protocol version 99, this node 1");
  }
  // The well-behaved client never noticed.
  CHECK(good->run("Counter", "create", {{"id", "ok"}}));
}

TEST_CASE("a silent connection is closed after the hello time limit",
          "[node]") {
  served n{node_options{.hello_timeout = 200ms}};
  raw_client raw{n.nd->port()};
  auto [got, closed] = raw.read_all(10s);
  CHECK(closed);
  caf::actor_system_config cfg;
  init(cfg);
  caf::actor_system sys{cfg};
  CHECK(message(first_failure(sys, got)) == "no hello within the time limit");
}

TEST_CASE("a stopped node fails calls with node_down; the client "
          "reconnects to its successor by itself", "[node]") {
  temp_dir dir;
  auto path = dir.file("r.db");
  auto rt = runtime::start(counter_app(), {.path = path});
  REQUIRE(rt);
  auto first = node::start(**rt, {.plaintext = true});
  REQUIRE(first);
  auto port = (*first)->port();
  connect_options opts;
  opts.port = port;
  opts.plaintext = true;
  opts.reconnect_delay = 50ms;
  opts.call_timeout = 20s;
  auto remote = connect_ok(opts);
  REQUIRE(remote->run("Counter", "create", {{"id", "k"}}));
  (*first)->stop();
  auto down = remote->get("Counter", json::string{"k"});
  REQUIRE_FALSE(down);
  CHECK(is(down.error(), errc::node_down));
  // A new node on the same port: the next calls reconnect (bounded).
  auto second = node::start(**rt, {.port = port, .plaintext = true});
  REQUIRE(second);
  caf::expected<record> back = make_error(errc::node_down, "not yet");
  for (int i = 0; i < 200 && !back; ++i) {
    back = remote->get("Counter", json::string{"k"});
    if (!back) {
      CHECK(is(back.error(), errc::node_down));
      std::this_thread::sleep_for(20ms); // Waits out the backoff only.
    }
  }
  REQUIRE(back);
  CHECK(back->get("id") == json::value("k"));
}

TEST_CASE("stopping a node answers the calls under way", "[node]") {
  served n;
  auto remote = connect_ok(n.client());
  REQUIRE(remote->run("Counter", "create", {{"id", "s"}}));
  constexpr int threads = 4;
  std::atomic<int> ok{0};
  std::atomic<int> refused{0};
  std::atomic<int> other{0};
  std::vector<std::thread> ts;
  std::atomic<bool> go{false};
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&] {
      while (!go)
        std::this_thread::yield();
      for (int i = 0; i < 50; ++i) {
        auto r = remote->run(call{"Counter", "increment", {}, json::string{"s"}});
        if (r)
          ++ok;
        else if (is(r.error(), errc::node_stopping)
                 || is(r.error(), errc::node_down))
          ++refused;
        else
          ++other;
      }
    });
  go = true;
  std::this_thread::sleep_for(50ms); // Lets some calls start; not a sync.
  n.nd->stop();
  for (auto& t : ts)
    t.join();
  CHECK(other == 0);
  // Every call the client saw succeed is in the record, and no other.
  CHECK(n.rt->get("Counter", json::string{"s"})->get("value")
        == json::value(ok.load()));
  CHECK(ok + refused == threads * 50);
}
