// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// A remote call without an answer fails with `timeout` at its own deadline
// (connect_options::call_timeout), whatever other calls are under way, and
// the connection serves the next calls (docs/nodes.md).

#include <csignal>
#include <future>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "eventactors/error.hpp"
#include "eventactors/remote.hpp"
#include "support/child.hpp"
#include "support/cli.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

/// `eventactors serve` on a fresh database of the quickstart app.
struct stoppable_node {
  temp_dir dir;
  std::unique_ptr<child_process> proc;
  std::string address;

  stoppable_node() {
    proc = std::make_unique<child_process>(std::vector<std::string>{
      cli_path, "--app", config_file("quickstart.json"), "--db",
      dir.file("node.db"), "serve", "--listen", "127.0.0.1:0",
      "--plaintext"});
    REQUIRE(proc->started());
    auto line = proc->read_line(60s);
    INFO("stderr: " << proc->err());
    REQUIRE(line);
    REQUIRE(line->rfind("listening on ", 0) == 0);
    address = line->substr(std::string{"listening on "}.size());
  }
};

call create_user(const std::string& name) {
  return call{"Accounts.User", "create",
              {{"email", name + "@example.com"}, {"name", name}}};
}

/// Runs `c` on another thread; its result and how long it took.
std::future<std::pair<caf::expected<record>, clock_type::duration>>
run_async(remote_node& remote, call c) {
  return std::async(std::launch::async, [&remote, c]() mutable {
    auto t0 = clock_type::now();
    auto r = remote.run(std::move(c));
    return std::make_pair(std::move(r), clock_type::now() - t0);
  });
}

} // namespace

TEST_CASE("a remote call without an answer times out at its own deadline",
          "[node]") {
  stoppable_node n;
  connect_options opts;
  REQUIRE_FALSE(parse_address(n.address, opts));
  opts.plaintext = true;
  opts.call_timeout = 600ms;
  auto remote = remote_node::connect(opts);
  REQUIRE(remote);
  REQUIRE((*remote)->run(create_user("ada")));
  // The node stops answering (it keeps its connection).
  n.proc->signal(SIGSTOP);
  auto first = run_async(**remote, create_user("bob"));
  // A second call with a later deadline: it must not fail with the first.
  std::this_thread::sleep_for(300ms);
  auto second = run_async(**remote, create_user("cy"));
  REQUIRE(first.wait_for(30s) == std::future_status::ready);
  REQUIRE(second.wait_for(30s) == std::future_status::ready);
  auto [r1, d1] = first.get();
  auto [r2, d2] = second.get();
  n.proc->signal(SIGCONT);
  REQUIRE_FALSE(r1);
  CHECK(is(r1.error(), errc::timeout));
  REQUIRE_FALSE(r2);
  CHECK(is(r2.error(), errc::timeout));
  CHECK(message(r2.error()).find("within 600 ms") != std::string::npos);
  CHECK(d1 >= 600ms);
  CHECK(d2 >= 600ms);
  // Each at its deadline (generous bounds for a busy or sanitized run).
  CHECK(d1 < 10s);
  CHECK(d2 < 10s);
  // The node answers again; the late answers of the timed-out calls are
  // dropped, and the next call gets its own.
  auto next = (*remote)->run(create_user("dan"));
  REQUIRE(next);
  CHECK(next->get("name") == json::value("dan"));
}
