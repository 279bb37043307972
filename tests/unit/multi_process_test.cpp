// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Several processes on one database file: real `eventactors batch`
// processes, started together, creating records with integer keys the
// runtime assigns.

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include "eventactors/all.hpp"
#include "support/cli.hpp"
#include "support/process.hpp"
#include "support/query.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;

namespace {

/// An integer-key resource whose creates are logged with integer record
/// ids.
constexpr const char* orders_app = R"({
  "event_logs": [{"name": "events", "record_id_type": "integer"}],
  "resources": [{
    "name": "Shop.Order",
    "primary_key": {"type": "integer"},
    "attributes": [{"name": "item", "type": "string"}],
    "actions": [{"name": "create", "kind": "create", "accept": ["item"]}],
    "events": {"event_log": "events"}
  }]
})";

size_t env_size(const char* name, size_t fallback) {
  if (auto x = std::getenv(name); x && *x)
    return static_cast<size_t>(std::strtoull(x, nullptr, 10));
  return fallback;
}

} // namespace

TEST_CASE("processes sharing a file never collide on generated integer "
          "keys: 3 concurrent batch processes x 500 creates, zero errors, "
          "keys 1..1500",
          "[multi_process]") {
  // Fewer under sanitizers (scripts/check-sanitizers.sh sets it).
  const size_t processes = 3;
  const size_t creates = env_size("EVENTACTORS_MULTI_PROCESS_CREATES", 500);
  temp_dir dir;
  auto app = dir.file("orders.json");
  auto db = dir.file("orders.db");
  {
    std::ofstream out{app};
    out << orders_app;
  }
  // The file exists before the processes start: they race on writes, not
  // on creating the schema.
  auto init = run_process({cli_path, "--app", app, "--db", db, "batch"},
                          {.input = "\n"});
  REQUIRE(init.exit_code == 0);
  std::vector<std::string> inputs(processes);
  for (size_t p = 0; p < processes; ++p)
    for (size_t i = 0; i < creates; ++i)
      inputs[p] += R"({"resource": "Shop.Order", "action": "create", )"
                   R"("input": {"item": "p)"
                   + std::to_string(p) + "-" + std::to_string(i) + "\"}}\n";
  std::vector<process_result> results(processes);
  {
    // Started together: each thread spawns its process once all are ready.
    std::mutex mtx;
    std::condition_variable cv;
    size_t ready = 0;
    std::vector<std::thread> threads;
    for (size_t p = 0; p < processes; ++p)
      threads.emplace_back([&, p] {
        {
          std::unique_lock<std::mutex> guard{mtx};
          ++ready;
          cv.notify_all();
          cv.wait(guard, [&] { return ready == processes; });
        }
        results[p] = run_process({cli_path, "--app", app, "--db", db,
                                  "--format", "jsonl", "batch"},
                                 {.input = inputs[p],
                                  .timeout = std::chrono::seconds{240}});
      });
    for (auto& t : threads)
      t.join();
  }
  size_t errors = 0;
  std::vector<std::vector<int64_t>> ids(processes);
  for (size_t p = 0; p < processes; ++p) {
    auto& r = results[p];
    INFO("process " << p << " stderr: " << r.err);
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == 0);
    auto lines = lines_of(r.out);
    CHECK(lines.size() == creates);
    for (auto& line : lines) {
      boost::system::error_code ec;
      auto v = boost::json::parse(line, ec);
      REQUIRE_FALSE(ec);
      auto& o = v.as_object();
      if (!o.at("ok").as_bool()) {
        ++errors;
        if (errors <= 5)
          UNSCOPED_INFO("error: " << line);
        continue;
      }
      ids[p].push_back(o.at("record").as_object().at("id").as_int64());
    }
  }
  CHECK(errors == 0);
  // Unique and dense: exactly 1..N, in the records and in the events.
  std::set<int64_t> all;
  for (auto& xs : ids)
    all.insert(xs.begin(), xs.end());
  auto n = static_cast<int64_t>(processes * creates);
  CHECK(all.size() == processes * creates);
  if (!all.empty()) {
    CHECK(*all.begin() == 1);
    CHECK(*all.rbegin() == n);
  }
  CHECK(count_rows(db, "shop_order") == n);
  CHECK(query_count(db, "SELECT count(DISTINCT id) FROM shop_order "
                        "WHERE id BETWEEN 1 AND "
                          + std::to_string(n))
        == n);
  CHECK(count_rows(db, "events") == n);
  CHECK(query_count(db, "SELECT count(DISTINCT record_id) FROM events WHERE "
                        "record_id BETWEEN 1 AND "
                          + std::to_string(n))
        == n);
  // Each process's own keys increase in its commit order.
  for (auto& xs : ids)
    CHECK(std::is_sorted(xs.begin(), xs.end()));
  // The log still rebuilds the records.
  auto verified = run_process({cli_path, "--app", app, "--db", db, "verify"});
  INFO(verified.out << verified.err);
  CHECK(verified.exit_code == 0);
}
