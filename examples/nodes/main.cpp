// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Two node processes and a client (docs/nodes.md).
//
// The program starts itself twice as a node: one serves a catalog of
// products, the other the orders. The client connects to both and uses
// them through `eventactors::service&`, the interface a local runtime has
// too: `place_order` below is the same code for both, and moving the shop
// from embedded to remote is the one line that makes the object. Then it
// stops both nodes with SIGTERM, as an operator would.
//
// Usage: eventactors_example_nodes DIR        (the demo; DIR for the files)
//        eventactors_example_nodes serve APP DB   (one node; internal)

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eventactors/all.hpp"
#include "eventactors/node.hpp"
#include "eventactors/remote.hpp"

extern char** environ;

using namespace eventactors;

namespace {

app catalog_app() {
  app a;
  a.add(event_log{"catalog_events"}).record_id_type(record_id_kind::string);
  auto& p = a.add(resource{"Catalog.Product"});
  p.primary_key("sku", key_kind::string)
    .attribute("title", types::string(), {.allow_nil = false})
    .attribute("stock", types::integer(), {.default_value = 0});
  p.events("catalog_events");
  p.create("add").accept({"sku", "title", "stock"});
  p.update("take")
    .change(changes::increment("stock", -1))
    .validate(validations::numeric_range("stock", 0, 1e9)
                .with_message("out of stock"));
  return a;
}

app orders_app() {
  app a;
  a.add(event_log{"order_events"});
  auto& o = a.add(resource{"Shop.Order"});
  o.attribute("sku", types::string(), {.allow_nil = false})
    .attribute("customer", types::string(), {.allow_nil = false});
  o.events("order_events");
  o.create("place").accept({"sku", "customer"});
  return a;
}

// -- a node process -----------------------------------------------------------

int serve(const std::string& which, const std::string& db) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  // --(rst-serve-begin)--
  auto rt = runtime::start(which == "catalog" ? catalog_app() : orders_app(),
                           {.path = db});
  if (!rt) {
    std::cerr << which << ": " << render(rt.error()) << '\n';
    return 1;
  }
  auto nd = node::start(**rt, {.plaintext = true});
  if (!nd) {
    std::cerr << which << ": " << render(nd.error()) << '\n';
    return 1;
  }
  std::printf("listening on %s\n", (*nd)->address().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  (*nd)->stop();
  // --(rst-serve-end)--
  return 0;
}

// -- the client -----------------------------------------------------------------

/// A node process started by the demo.
struct child {
  pid_t pid = -1;
  int out = -1;
  std::string address;
};

child start_node(const char* self, const std::string& which,
                 const std::string& db) {
  child c;
  int fds[2];
  if (pipe(fds) != 0)
    return c;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<std::string> args{self, "serve", which, db};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  if (posix_spawn(&c.pid, self, &actions, nullptr, argv.data(), environ) != 0)
    c.pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  c.out = fds[0];
  // The node's first line names its address; wait at most 60 s for it.
  std::string line;
  char ch;
  pollfd p{c.out, POLLIN, 0};
  while (poll(&p, 1, 60000) > 0 && read(c.out, &ch, 1) == 1 && ch != '\n')
    line += ch;
  const std::string prefix = "listening on ";
  if (line.rfind(prefix, 0) == 0)
    c.address = line.substr(prefix.size());
  return c;
}

bool stop_node(child& c) {
  if (c.pid <= 0)
    return false;
  kill(c.pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 600; ++i) { // At most 60 s.
    if (waitpid(c.pid, &status, WNOHANG) == c.pid)
      return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    usleep(100000);
  }
  kill(c.pid, SIGKILL);
  waitpid(c.pid, &status, 0);
  return false;
}

std::unique_ptr<remote_node> connect_to(const std::string& address) {
  // --(rst-connect-begin)--
  connect_options co;
  if (auto err = parse_address(address, co)) {
    std::cerr << render(err) << '\n';
    return nullptr;
  }
  co.plaintext = true;
  auto node = remote_node::connect(co);
  if (!node) {
    std::cerr << "connect " << address << ": " << render(node.error()) << '\n';
    return nullptr;
  }
  // --(rst-connect-end)--
  return std::move(*node);
}

/// The shop's logic, written once against `service&`: embedded or remote
/// is decided where the objects are made.
caf::expected<record> place_order(service& catalog, service& orders,
                                  const std::string& sku,
                                  const std::string& customer) {
  auto taken = catalog.run(call{"Catalog.Product", "take", {},
                                json::string{sku}});
  if (!taken)
    return taken;
  // Not atomic across nodes: the stock is taken even if this call fails.
  return orders.run("Shop.Order", "place", {{"sku", sku},
                                            {"customer", customer}});
}

int demo(const char* self, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  for (auto name : {"catalog.db", "orders.db"})
    for (auto suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(dir / (std::string{name} + suffix));
  auto catalog_node = start_node(self, "catalog", (dir / "catalog.db").string());
  auto orders_node = start_node(self, "orders", (dir / "orders.db").string());
  int rc = 1;
  if (!catalog_node.address.empty() && !orders_node.address.empty()) {
    std::cout << "catalog node at " << catalog_node.address << '\n'
              << "orders node at " << orders_node.address << '\n';
    // The one line that differs from the embedded shop, where these would
    // be `runtime::start(catalog_app(), ...)`.
    auto catalog = connect_to(catalog_node.address);
    auto orders = connect_to(orders_node.address);
    if (catalog && orders) {
      catalog->run("Catalog.Product", "add",
                   {{"sku", "mug"}, {"title", "Mug"}, {"stock", 2}});
      for (auto customer : {"ada", "bob", "cy"}) {
        auto placed = place_order(*catalog, *orders, "mug", customer);
        if (placed)
          std::cout << "order for " << customer << ": placed\n";
        else
          std::cout << "order for " << customer << ": " << render(placed.error())
                    << '\n';
      }
      auto mug = catalog->get("Catalog.Product", json::string{"mug"});
      auto placed = orders->list("Shop.Order");
      if (mug && placed) {
        std::cout << "stock of mug = " << to_json_text(mug->get("stock"))
                  << "\norders = " << placed->size() << '\n';
        rc = 0;
      }
    }
  }
  auto a = stop_node(catalog_node);
  auto b = stop_node(orders_node);
  std::cout << "nodes stopped: " << (a && b ? "cleanly" : "with errors")
            << '\n';
  return a && b ? rc : 1;
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string{argv[1]} == "serve")
    return serve(argv[2], argv[3]);
  auto dir = argc > 1 ? std::filesystem::path{argv[1]}
                      : std::filesystem::temp_directory_path() / "nodes-demo";
  return demo(argv[0], dir);
}
