// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The cluster client (issue 13, docs/nodes.md "Cluster client"): two nodes
// in this process serving two apps over loopback, and one client that
// sends each call to the node serving its resource or event log.

#include "eventactors/cluster.hpp"

#include <atomic>
#include <chrono>
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
#include "net/routes.hpp"
#include "support/cli.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

/// The stock of a shop: items by SKU, taken one at a time.
app stock_app(std::string log = "stock_events") {
  app a;
  a.add(event_log{log}).record_id_type(record_id_kind::string);
  auto& item = a.add(resource{"Stock.Item"});
  item.primary_key("sku", key_kind::string)
    .attribute("count", types::integer(), {.default_value = 0});
  item.events(log);
  item.create("add").accept({"sku", "count"});
  item.update("take")
    .change(changes::increment("count", -1))
    .validate(validations::numeric_range("count", 0, 1e9)
                .with_message("out of stock"));
  return a;
}

/// The orders of the shop.
app orders_app(std::string log = "order_events") {
  app a;
  a.add(event_log{log});
  auto& order = a.add(resource{"Shop.Order"});
  order.attribute("sku", types::string(), {.allow_nil = false});
  order.events(log);
  order.create("place").accept({"sku"});
  return a;
}

/// A runtime on a fresh database, served by a node on a free port.
struct served {
  std::unique_ptr<runtime> rt;
  std::unique_ptr<node> nd;

  served(app defs, const std::string& db, node_options opts = {}) {
    auto started = runtime::start(std::move(defs), {.path = db});
    REQUIRE(started);
    rt = std::move(*started);
    restart(opts);
  }

  void restart(node_options opts = {}) {
    opts.plaintext = true;
    auto n = node::start(*rt, opts);
    REQUIRE(n);
    nd = std::move(*n);
  }

  connect_options client() const {
    connect_options opts;
    opts.port = nd->port();
    opts.plaintext = true;
    opts.call_timeout = 20s;
    opts.reconnect_delay = 20ms;
    opts.max_reconnect_delay = 100ms;
    return opts;
  }

  size_t events() const {
    auto page = rt->events(event_filter{.limit = 10000});
    REQUIRE(page);
    return page->events.size();
  }
};

/// The orders node (first) and the stock node (second).
struct shop {
  temp_dir dir;
  served orders{orders_app(), dir.file("orders.db"), {.name = "orders"}};
  served stock{stock_app(), dir.file("stock.db"), {.name = "stock"}};

  std::unique_ptr<cluster> connect() {
    auto c = cluster::connect({orders.client(), stock.client()});
    REQUIRE(c);
    return std::move(*c);
  }
};

/// Asks `svc` and returns the error, if any.
template <class Reply, class... Ts>
caf::error ask(caf::scoped_actor& self, const service_actor& svc, Ts... xs) {
  caf::error err;
  self->request(svc, 30s, std::move(xs)...)
    .receive([](Reply&) {}, [&](caf::error& x) { err = std::move(x); });
  return err;
}

call take(const std::string& sku) {
  return call{"Stock.Item", "take", {}, json::string{sku}};
}

} // namespace

TEST_CASE("a cluster sends actions and queries to the node serving the "
          "resource",
          "[node][cluster]") {
  shop s;
  auto c = s.connect();
  CHECK(c->size() == 2);
  CHECK(c->node(0).node_name() == "orders");
  CHECK(c->node_of("Stock.Item") == &c->node(1));
  CHECK(c->node_of("Nope") == nullptr);
  service& svc = *c;
  auto added = svc.run("Stock.Item", "add", {{"sku", "mug"}, {"count", 2}});
  REQUIRE(added);
  auto placed = svc.run("Shop.Order", "place", {{"sku", "mug"}});
  REQUIRE(placed);
  REQUIRE(svc.run(take("mug")));
  // Each record is on its own node only.
  CHECK(s.stock.rt->get("Stock.Item", json::string{"mug"})->get("count")
        == json::value(1));
  CHECK(s.orders.rt->list("Shop.Order")->size() == 1);
  CHECK(s.stock.events() == 2);
  CHECK(s.orders.events() == 1);
  // Reads give what the owning node gives.
  CHECK(*svc.get("Stock.Item", json::string{"mug"})
        == *s.stock.rt->get("Stock.Item", json::string{"mug"}));
  CHECK(*svc.get("Shop.Order", placed->id)
        == *s.orders.rt->get("Shop.Order", placed->id));
  CHECK(*svc.list("Shop.Order") == *s.orders.rt->list("Shop.Order"));
  CHECK(*svc.list("Stock.Item") == *s.stock.rt->list("Stock.Item"));
  // A batch runs on the one node serving its resource.
  batch_call b{"Stock.Item", "add"};
  b.items = {{{{"sku", "cup"}}, nullptr}, {{{"sku", "jug"}}, nullptr}};
  b.atomic = true;
  auto results = svc.run_batch(b);
  REQUIRE(results.size() == 2);
  CHECK(results[0]);
  CHECK(results[1]);
  CHECK(s.stock.rt->list("Stock.Item")->size() == 3);
  CHECK(s.orders.events() == 1);
}

TEST_CASE("a cluster sends event and administration requests to the node "
          "serving the log",
          "[node][cluster]") {
  shop s;
  auto c = s.connect();
  REQUIRE(c->run("Stock.Item", "add", {{"sku", "mug"}, {"count", 1}}));
  REQUIRE(c->run("Shop.Order", "place", {{"sku", "mug"}}));
  REQUIRE(c->run("Shop.Order", "place", {{"sku", "mug"}}));
  SECTION("events, by log or by resource") {
    auto orders = c->events({.log = "order_events"});
    REQUIRE(orders);
    CHECK(orders->events == s.orders.rt->events({})->events);
    CHECK(orders->events.size() == 2);
    auto stock = c->events({.resource = "Stock.Item"});
    REQUIRE(stock);
    CHECK(stock->events == s.stock.rt->events({})->events);
    CHECK(stock->events.size() == 1);
  }
  SECTION("stats") {
    CHECK(c->stats("order_events")->events == 2);
    CHECK(c->stats("stock_events")->events == 1);
  }
  SECTION("append") {
    new_event ev{.resource = "Stock.Item",
                 .action = "add",
                 .record_id = "vase",
                 .data = {{"sku", "vase"}, {"count", 3}}};
    auto id = c->append(ev);
    REQUIRE(id);
    CHECK(s.stock.events() == 2);
    ev.log = "order_events";
    ev.resource = "Shop.Order";
    ev.record_id = "018f3c1e-7a2b-4c3d-8e9f-0a1b2c3d4e5f";
    ev.data = {{"sku", "vase"}};
    REQUIRE(c->append(ev));
    CHECK(s.orders.events() == 3);
    CHECK(s.stock.events() == 2);
  }
  SECTION("verify, replay and fork") {
    auto report = c->verify("stock_events");
    REQUIRE(report);
    CHECK(report->ok());
    CHECK(report->records == 1);
    auto replayed = c->replay({.log = "order_events"});
    REQUIRE(replayed);
    CHECK(replayed->events == 2);
    auto forked = c->fork({.log = "stock_events"}, s.dir.file("fork.db"));
    REQUIRE(forked);
    CHECK(forked->events == 1);
  }
}

TEST_CASE("a cluster refuses a request naming no event log when several "
          "nodes serve logs",
          "[node][cluster]") {
  shop s;
  auto c = s.connect();
  auto check = [](const caf::error& err, const char* what) {
    INFO(render(err));
    CHECK(is(err, errc::invalid_input));
    CHECK_THAT(message(err), Contains(what) && Contains("name the event log")
                               && Contains("orders (127.0.0.1:")
                               && Contains("\"order_events\"")
                               && Contains("stock (127.0.0.1:")
                               && Contains("\"stock_events\""));
  };
  check(c->events({}).error(), "events");
  check(c->stats().error(), "stats");
  check(c->verify().error(), "verify");
  check(c->replay().error(), "replay");
  check(c->fork({}, s.dir.file("f.db")).error(), "fork");
  check(c->append({.resource = "Old.Thing", .action = "x", .record_id = 1})
          .error(),
        "append");
  auto unknown = c->events({.log = "nope"});
  REQUIRE_FALSE(unknown);
  CHECK(is(unknown.error(), errc::invalid_input));
  CHECK_THAT(message(unknown.error()), Contains("no event log \"nope\""));
  CHECK(s.orders.events() == 0);
  CHECK(s.stock.events() == 0);
  // With one node, the request goes to it, as to a remote node.
  auto one = cluster::connect({s.stock.client()});
  REQUIRE(one);
  CHECK((*one)->stats()->events == 0);
}

TEST_CASE("a cluster names an unknown resource and sends it to no node",
          "[node][cluster]") {
  shop s;
  auto c = s.connect();
  auto check = [](const caf::error& err, const char* what) {
    INFO(render(err));
    CHECK(is(err, errc::unknown_resource));
    CHECK_THAT(message(err), Contains(std::string{what} + ": no resource "
                                                          "\"Shop.Nope\"")
                               && Contains("orders (127.0.0.1:"));
  };
  check(c->run("Shop.Nope", "create").error(), "run");
  check(c->get("Shop.Nope", 1).error(), "get");
  check(c->list("Shop.Nope").error(), "list");
  auto batch = c->run_batch({"Shop.Nope", "create", {{{}, nullptr}}});
  REQUIRE(batch.size() == 1);
  REQUIRE_FALSE(batch[0]);
  check(batch[0].error(), "run_batch");
  CHECK(s.orders.events() == 0);
  CHECK(s.stock.events() == 0);
}

TEST_CASE("a batch runs on one node: an atomic batch that fails writes "
          "nothing anywhere",
          "[node][cluster]") {
  // A batch names one resource, so it never spans nodes; atomic, it
  // commits or fails as a whole on its node.
  shop s;
  auto c = s.connect();
  REQUIRE(c->run("Stock.Item", "add", {{"sku", "mug"}, {"count", 1}}));
  batch_call b{"Stock.Item", "take"};
  b.items = {{{}, json::string{"mug"}}, {{}, json::string{"mug"}}};
  b.atomic = true;
  auto results = c->run_batch(b);
  REQUIRE(results.size() == 2);
  CHECK_FALSE(results[0]);
  CHECK_FALSE(results[1]);
  CHECK(s.stock.rt->get("Stock.Item", json::string{"mug"})->get("count")
        == json::value(1));
  CHECK(s.stock.events() == 1);
  CHECK(s.orders.events() == 0);
}

TEST_CASE("two nodes serving the same resource or event log are refused at "
          "connect time",
          "[node][cluster]") {
  temp_dir dir;
  served a{stock_app("a_events"), dir.file("a.db"), {.name = "a"}};
  SECTION("the same resource") {
    served b{stock_app("b_events"), dir.file("b.db"), {.name = "b"}};
    auto c = cluster::connect({a.client(), b.client()});
    REQUIRE_FALSE(c);
    INFO(render(c.error()));
    CHECK(is(c.error(), errc::invalid_definition));
    CHECK_THAT(message(c.error()),
               Contains("resource \"Stock.Item\" is served by two nodes, a "
                        "(127.0.0.1:"
                        + std::to_string(a.nd->port()) + ") and b (127.0.0.1:"
                        + std::to_string(b.nd->port()) + ")"));
  }
  SECTION("the same event log") {
    served b{orders_app("a_events"), dir.file("b.db"), {.name = "b"}};
    auto c = cluster::connect({a.client(), b.client()});
    REQUIRE_FALSE(c);
    INFO(render(c.error()));
    CHECK(is(c.error(), errc::invalid_definition));
    CHECK_THAT(message(c.error()),
               Contains("event log \"a_events\" is served by two nodes, a ")
                 && Contains(") and b ("));
  }
}

TEST_CASE("a cluster fails to connect when a node cannot be reached, "
          "naming it",
          "[node][cluster]") {
  shop s;
  auto gone = s.stock.client();
  s.stock.nd->stop();
  auto c = cluster::connect({s.orders.client(), gone});
  REQUIRE_FALSE(c);
  INFO(render(c.error()));
  CHECK(is(c.error(), errc::node_down));
  CHECK_THAT(message(c.error()),
             Contains("node 127.0.0.1:" + std::to_string(gone.port)));
  auto none = cluster::connect({});
  REQUIRE_FALSE(none);
  CHECK(is(none.error(), errc::invalid_input));
}

TEST_CASE("while one node is down, its calls fail with node_down and the "
          "other node's succeed",
          "[node][cluster]") {
  shop s;
  auto c = s.connect();
  REQUIRE(c->run("Stock.Item", "add", {{"sku", "mug"}, {"count", 5}}));
  auto port = s.stock.nd->port();
  s.stock.nd->stop();
  auto down = c->run(take("mug"));
  REQUIRE_FALSE(down);
  CHECK(is(down.error(), errc::node_down));
  auto down_get = c->get("Stock.Item", json::string{"mug"});
  REQUIRE_FALSE(down_get);
  CHECK(is(down_get.error(), errc::node_down));
  REQUIRE(c->run("Shop.Order", "place", {{"sku", "mug"}}));
  CHECK(c->list("Shop.Order")->size() == 1);
  CHECK(c->stats("order_events")->events == 1);
  // The node back on its port: the cluster reaches it again by itself.
  s.stock.restart({.port = port});
  caf::expected<record> back = make_error(errc::node_down, "not yet");
  for (int i = 0; i < 200 && !back; ++i) {
    back = c->run(take("mug"));
    if (!back) {
      CHECK(is(back.error(), errc::node_down));
      std::this_thread::sleep_for(20ms); // Waits out the backoff only.
    }
  }
  REQUIRE(back);
  CHECK(back->get("count") == json::value(4));
}

TEST_CASE("a cluster's definitions hold every node's resources and logs",
          "[node][cluster]") {
  shop s;
  auto c = s.connect();
  auto& defs = c->definitions();
  CHECK(defs.from_description());
  REQUIRE(defs.logs().size() == 2);
  CHECK(defs.logs()[0].name() == "order_events");
  CHECK(defs.logs()[1].name() == "stock_events");
  REQUIRE(defs.resources().size() == 2);
  CHECK(defs.find_resource("Shop.Order") != nullptr);
  CHECK(defs.find_resource("Stock.Item")->find_action("take") != nullptr);
}

TEST_CASE("a cluster's actor routes requests from actors", "[node][cluster]") {
  // The callers' actor system is declared first so that it outlives the
  // cluster, whose threads run the callers when answers arrive (nodes.md).
  caf::actor_system_config cfg;
  init(cfg);
  caf::actor_system sys{cfg};
  shop s;
  auto c = s.connect();
  REQUIRE(c->run("Stock.Item", "add", {{"sku", "mug"}, {"count", 100}}));
  auto svc = c->async();
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
  constexpr int callers = 8;
  for (int i = 0; i < callers; ++i)
    sys.spawn([&, svc](caf::event_based_actor* self) {
      auto ok = [&](const record&) { ++done; };
      auto bad = [&](caf::error&) { ++failed; };
      self->request(svc, 30s, run_atom_v, take("mug")).then(ok, bad);
      self->request(svc, 30s, run_atom_v,
                    call{"Shop.Order", "place", {{"sku", "mug"}}})
        .then(ok, bad);
    });
  sys.await_all_actors_done();
  CHECK(done == 2 * callers);
  CHECK(failed == 0);
  CHECK(s.stock.rt->get("Stock.Item", json::string{"mug"})->get("count")
        == json::value(100 - callers));
  CHECK(s.orders.events() == callers);
  caf::scoped_actor self{sys};
  CHECK_FALSE(ask<event_page>(self, svc, events_atom_v,
                              event_filter{.log = "stock_events"}));
  CHECK_FALSE(ask<record>(self, svc, get_atom_v, std::string{"Stock.Item"},
                          std::string{"\"mug\""}));
  CHECK_FALSE(ask<log_stats>(self, svc, stats_atom_v,
                             std::string{"order_events"}));
  auto unknown = ask<std::vector<record>>(self, svc, list_atom_v,
                                          std::string{"Nope"}, list_options{});
  CHECK(is(unknown, errc::unknown_resource));
  auto unnamed = ask<event_page>(self, svc, events_atom_v, event_filter{});
  CHECK(is(unnamed, errc::invalid_input));
  std::string description;
  self->request(svc, 30s, describe_atom_v)
    .receive([&](std::string& x) { description = std::move(x); },
             [](caf::error&) {});
  CHECK_THAT(description,
             Contains("\"Shop.Order\"") && Contains("\"Stock.Item\""));
}

TEST_CASE("the routing table refuses no nodes and names owners",
          "[node][cluster]") {
  auto a = stock_app();
  auto b = orders_app();
  auto table = net::routes::make({{"a", &a}, {"b", &b}});
  REQUIRE(table);
  CHECK(*table->by_resource("Stock.Item", "run") == 0);
  CHECK(*table->by_resource("Shop.Order", "run") == 1);
  CHECK(*table->by_log("order_events", std::nullopt, "events") == 1);
  CHECK(*table->by_log("", std::string{"Stock.Item"}, "events") == 0);
  // A log named wins over a resource named.
  CHECK(*table->by_log("stock_events", std::string{"Shop.Order"}, "events")
        == 0);
  CHECK_FALSE(table->by_log("", std::string{"Old.Thing"}, "append"));
  auto none = net::routes::make({});
  REQUIRE_FALSE(none);
  CHECK(is(none.error(), errc::invalid_input));
}

TEST_CASE("several --connect addresses use a cluster",
          "[node][cluster][cli]") {
  shop s;
  auto a = "127.0.0.1:" + std::to_string(s.orders.nd->port());
  auto b = "127.0.0.1:" + std::to_string(s.stock.nd->port());
  auto added = run_cli({"--connect", a + "," + b, "--plaintext", "run",
                        "Stock.Item", "add", R"({"sku":"mug","count":2})"});
  REQUIRE_EXIT(added, 0);
  auto placed = run_cli({"--connect", a, "--connect", b, "--plaintext", "run",
                         "Shop.Order", "place", R"({"sku":"mug"})"});
  REQUIRE_EXIT(placed, 0);
  CHECK(s.stock.events() == 1);
  CHECK(s.orders.events() == 1);
  auto listed = run_cli({"--connect", b + "," + a, "--plaintext", "--format",
                         "jsonl", "list", "Stock.Item"});
  REQUIRE_EXIT(listed, 0);
  CHECK_THAT(listed.out, Contains("\"mug\""));
  auto events = run_cli({"--connect", a + "," + b, "--plaintext", "--log",
                         "order_events", "events"});
  REQUIRE_EXIT(events, 0);
  CHECK_THAT(events.out, Contains("Shop.Order"));
  auto unnamed = run_cli({"--connect", a + "," + b, "--plaintext", "stats"});
  CHECK(unnamed.exit_code != 0);
  CHECK_THAT(unnamed.err, Contains("name the event log"));
  s.stock.nd->stop();
  auto down = run_cli({"--connect", a + "," + b, "--plaintext", "list",
                       "Shop.Order"});
  CHECK(down.exit_code != 0);
  CHECK_THAT(down.err, Contains("node_down") && Contains(b));
  auto bad = run_cli({"--connect", a + ",nonsense", "--plaintext", "list",
                      "Shop.Order"});
  CHECK(bad.exit_code != 0);
  CHECK_THAT(bad.err, Contains("nonsense"));
}
