// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// `eventactors serve` as a real process, and the data commands with
// `--connect` against it: the same output and exit codes as with --db
// (issue 13, docs/nodes.md).

#include <csignal>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "support/child.hpp"
#include "support/cli.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors::test;
using namespace std::chrono_literals;

namespace {

/// A node process on a fresh database of the quickstart app.
struct serving {
  temp_dir dir;
  std::string app = config_file("quickstart.json");
  std::string db = dir.file("node.db");
  std::unique_ptr<child_process> proc;
  std::string address;

  explicit serving(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{cli_path, "--app", app, "--db", db,
                                  "serve", "--listen", "127.0.0.1:0",
                                  "--plaintext"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc = std::make_unique<child_process>(argv);
    REQUIRE(proc->started());
    auto line = proc->read_line(60s);
    INFO("stderr: " << proc->err());
    REQUIRE(line);
    REQUIRE(line->rfind("listening on 127.0.0.1:", 0) == 0);
    address = line->substr(std::string{"listening on "}.size());
  }

  std::vector<std::string> remote(std::vector<std::string> args) const {
    std::vector<std::string> out{"--connect", address, "--plaintext"};
    out.insert(out.end(), args.begin(), args.end());
    return out;
  }

  std::vector<std::string> local(std::vector<std::string> args) const {
    std::vector<std::string> out{"--app", app, "--db", db};
    out.insert(out.end(), args.begin(), args.end());
    return out;
  }
};

} // namespace

TEST_CASE("data commands with --connect print what they print with --db",
          "[node][cli]") {
  serving n;
  auto made = run_cli(n.remote({"run", "Accounts.User", "create",
                                R"({"email":"ada@example.com","name":"Ada"})"}));
  REQUIRE_EXIT(made, 0);
  auto bad = run_cli(n.remote({"run", "Accounts.User", "create",
                               R"({"email":"not an email"})"}));
  auto bad_local = run_cli(n.local({"run", "Accounts.User", "create",
                                    R"({"email":"not an email"})"}));
  CHECK(bad.exit_code == bad_local.exit_code);
  CHECK(bad.err == bad_local.err);
  for (auto args : std::vector<std::vector<std::string>>{
         {"list", "Accounts.User"},
         {"list", "Notifications.EmailNotification"},
         {"events"},
         {"events", "--resource", "Accounts.User", "--newest-first"},
         {"--format", "jsonl", "events"},
         {"get", "Accounts.User", "no-such-id"},
       }) {
    auto far = run_cli(n.remote(args));
    auto near = run_cli(n.local(args));
    INFO(show(far));
    CHECK(far.exit_code == near.exit_code);
    CHECK(far.out == near.out);
    CHECK(far.err == near.err);
  }
  auto st = run_cli(n.remote({"stats"}));
  REQUIRE_EXIT(st, 0);
  CHECK_THAT(st.out, Catch::Contains("events"));
  auto verify = run_cli(n.remote({"verify"}));
  REQUIRE_EXIT(verify, 0);
  auto replay = run_cli(n.remote({"replay"}));
  REQUIRE_EXIT(replay, 0);
}

TEST_CASE("serve stops on SIGTERM with exit code 0", "[node][cli]") {
  serving n;
  REQUIRE_EXIT(run_cli(n.remote({"run", "Accounts.User", "create",
                                 R"({"email":"bo@example.com"})"})),
               0);
  n.proc->signal(SIGTERM);
  auto code = n.proc->wait(60s);
  INFO("stderr: " << n.proc->err());
  REQUIRE(code);
  CHECK(*code == 0);
  // The node is gone: a call fails with node_down and exit code 1.
  auto down = run_cli(n.remote({"list", "Accounts.User"}));
  CHECK(down.exit_code == 1);
  CHECK_THAT(down.err, Catch::Contains("node_down"));
}

TEST_CASE("serve refuses a port in use and plaintext off loopback",
          "[node][cli]") {
  serving n;
  temp_dir dir;
  auto in_use = run_cli({"--app", n.app, "--db", dir.file("x.db"), "serve",
                         "--listen", n.address, "--plaintext"});
  CHECK(in_use.exit_code == 1);
  CHECK_THAT(in_use.err, Catch::Contains("network_failure"));
  CHECK_THAT(in_use.err, Catch::Contains(n.address));
  auto open = run_cli({"--app", n.app, "--db", dir.file("y.db"), "serve",
                       "--listen", "0.0.0.0:0", "--plaintext"});
  CHECK(open.exit_code == 1);
  CHECK_THAT(open.err, Catch::Contains("not a loopback address"));
  auto both = run_cli({"--app", n.app, "--db", dir.file("z.db"),
                       "--connect", n.address, "list", "Accounts.User"});
  CHECK(both.exit_code == 2);
  CHECK_THAT(both.err, Catch::Contains("--connect takes the place of --db"));
}

TEST_CASE("run --idempotency-key and batch lines with a key run once, "
          "locally and with --connect",
          "[node][cli][idempotency]") {
  serving n;
  auto count_events = [&] {
    auto ev = run_cli(n.remote({"--format", "jsonl", "events", "--limit",
                                "0"}));
    REQUIRE_EXIT(ev, 0);
    return lines_of(ev.out).size();
  };
  auto create = std::vector<std::string>{
    "run", "Accounts.User", "create", R"({"email":"ada@example.com"})",
    "--idempotency-key", "signup-ada"};
  auto first = run_cli(n.remote(create));
  REQUIRE_EXIT(first, 0);
  auto before = count_events();
  // A retry gets the original record, and nothing runs again.
  auto again = run_cli(n.remote(create));
  REQUIRE_EXIT(again, 0);
  CHECK(again.out == first.out);
  CHECK(count_events() == before);
  // The same key with another request is a conflict, and runs nothing.
  auto other = create;
  other[3] = R"({"email":"bo@example.com"})";
  auto conflict = run_cli(n.remote(other));
  CHECK(conflict.exit_code == 1);
  CHECK_THAT(conflict.err, Catch::Contains("conflict")
                             && Catch::Contains("signup-ada"));
  CHECK(count_events() == before);
  // An empty key is refused, naming the field.
  auto empty = create;
  empty.back() = "";
  auto refused = run_cli(n.remote(empty));
  CHECK(refused.exit_code != 0);
  CHECK_THAT(refused.err, Catch::Contains("idempotency_key"));
  CHECK(count_events() == before);
  // Batch lines carry their own key; the second line is a retry of the
  // first and answers with the same record.
  std::string lines
    = R"({"resource":"Accounts.User","action":"create","input":{"email":"cy@example.com"},"idempotency_key":"signup-cy"})"
      "\n"
      R"({"resource":"Accounts.User","action":"create","input":{"email":"cy@example.com"},"idempotency_key":"signup-cy"})"
      "\n"
      R"({"resource":"Accounts.User","action":"create","input":{"email":"di@example.com"},"idempotency_key":7})"
      "\n";
  auto batch = run_cli(n.remote({"batch"}), lines);
  INFO(show(batch));
  CHECK(batch.exit_code == 1);
  auto out = lines_of(batch.out);
  REQUIRE(out.size() == 3);
  CHECK(out[0].rfind("line 1: ok Accounts.User ", 0) == 0);
  // Same record id, same event: "line 2: ok ..." repeats line 1's rest.
  CHECK(out[1].substr(6) == out[0].substr(6));
  CHECK_THAT(out[2], Catch::Contains("\"idempotency_key\" must be a string"));
  // Locally the same keys are remembered in the file: stop the node first.
  n.proc->signal(SIGTERM);
  REQUIRE(n.proc->wait(60s) == std::optional<int>{0});
  auto local = run_cli(n.local(create));
  REQUIRE_EXIT(local, 0);
  CHECK(local.out == first.out);
}
