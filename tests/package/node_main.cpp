// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The package consumer of eventactors::net: serves a runtime as a node on a
// loopback port, connects to it and runs one action through the client.

#include <filesystem>
#include <iostream>
#include <string>

#include <unistd.h>

#include "eventactors/app.hpp"
#include "eventactors/error.hpp"
#include "eventactors/event_log.hpp"
#include "eventactors/node.hpp"
#include "eventactors/remote.hpp"
#include "eventactors/resource.hpp"
#include "eventactors/runtime.hpp"
#include "eventactors/types.hpp"

using namespace eventactors;
namespace fs = std::filesystem;

namespace {

int fail(const std::string& what) {
  std::cerr << "consumer_net: " << what << '\n';
  return 1;
}

int run(const std::string& path) {
  app a;
  a.add(event_log{"events"});
  auto& user = a.add(resource{"Accounts.User"});
  user.attribute("email", types::string(), {.allow_nil = false});
  user.events("events");
  user.create("create").accept({"email"});

  auto rt = runtime::start(a, {.path = path});
  if (!rt)
    return fail(render(rt.error()));
  auto nd = node::start(**rt, {.plaintext = true});
  if (!nd)
    return fail(render(nd.error()));
  auto client = remote_node::connect({.port = (*nd)->port(),
                                      .plaintext = true});
  if (!client)
    return fail(render(client.error()));
  service& svc = **client;
  auto rec = svc.run("Accounts.User", "create",
                     {{"email", "jane@example.com"}});
  if (!rec)
    return fail(render(rec.error()));
  auto page = (*rt)->events({.resource = "Accounts.User"});
  if (!page)
    return fail(render(page.error()));
  if (page->events.size() != 1 || page->events.front().id != rec->event_id)
    return fail("the remote call's event is not in the node's log");
  client->reset();
  (*nd)->stop();
  std::cout << "consumer_net: 1 event through node " << (*nd)->address()
            << '\n';
  return 0;
}

} // namespace

int main() {
  auto path = fs::temp_directory_path()
              / ("eventactors-consumer-net-" + std::to_string(::getpid())
                 + ".db");
  int rc = run(path.string());
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    fs::remove(path.string() + suffix, ec);
  }
  return rc;
}
