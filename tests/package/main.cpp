// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The package consumer: starts a runtime on a temporary file, runs one
// action and checks the event it logged.

#include <filesystem>
#include <iostream>
#include <string>

#include <unistd.h>

#include "eventactors/app.hpp"
#include "eventactors/error.hpp"
#include "eventactors/event_log.hpp"
#include "eventactors/resource.hpp"
#include "eventactors/runtime.hpp"
#include "eventactors/types.hpp"

using namespace eventactors;
namespace fs = std::filesystem;

namespace {

int fail(const std::string& what) {
  std::cerr << "consumer: " << what << '\n';
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
  auto rec = (*rt)->run("Accounts.User", "create",
                        {{"email", "jane@example.com"}});
  if (!rec)
    return fail(render(rec.error()));
  auto page = (*rt)->events({.resource = "Accounts.User"});
  if (!page)
    return fail(render(page.error()));
  if (page->events.size() != 1)
    return fail("expected 1 event, got " + std::to_string(page->events.size()));
  const auto& ev = page->events.front();
  if (ev.action != "create" || ev.record_id != rec->id
      || ev.id != rec->event_id)
    return fail("the event does not match the record");
  auto email = ev.data.if_contains("email");
  if (!email || !email->is_string() || email->get_string() != "jane@example.com")
    return fail("the event data lacks the email");
  std::cout << "consumer: 1 event, " << ev.resource << ' ' << ev.action
            << " email=" << email->get_string() << '\n';
  return 0;
}

} // namespace

int main() {
  auto path = fs::temp_directory_path()
              / ("eventactors-consumer-" + std::to_string(::getpid()) + ".db");
  int rc = run(path.string());
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    fs::remove(path.string() + suffix, ec);
  }
  return rc;
}
