// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Replay memory benchmark: builds a log of N events, then replays it in a
// fresh process and reports that process's peak RSS and the replay rate.
// Peak RSS must not grow with the log (replay streams events in chunks).
//
// Usage:
//   eventactors_bench_replay_memory [--quick] [DIR]
//     runs 100k and 1M events (10k and 100k with --quick) and prints a table
//   eventactors_bench_replay_memory generate DB N
//   eventactors_bench_replay_memory replay DB

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "eventactors/all.hpp"

using namespace eventactors;

namespace {

/// Orders with line items: creates, updates and some destroys, ~200 bytes
/// of data per event, metadata and an actor.
app bench_app() {
  app a;
  a.add(event_log{"events"})
    .persist_actor_primary_key("system_actor", "SystemActor",
                               {.type = actor_key_kind::string});
  auto& r = a.add(resource{"Shop.Order"});
  r.primary_key("id", key_kind::uuid_v7)
    .attribute("customer", types::string(), {.allow_nil = false})
    .attribute("note", types::string())
    .attribute("items", types::integer(), {.default_value = 0})
    .attribute("status", types::string(), {.default_value = "open"})
    .timestamps();
  r.events("events")
    .create_timestamp("created_at")
    .update_timestamp("updated_at");
  r.create("create").accept({"customer", "note"});
  r.update("add_item").change(changes::increment("items"));
  r.update("annotate").accept({"note"});
  r.destroy("destroy");
  return a;
}

long peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

int generate(const std::string& db, uint64_t n) {
  auto rt = runtime::start(bench_app(),
                           {.path = db, .synchronous = sync_mode::normal});
  if (!rt) {
    std::fprintf(stderr, "start: %s\n", render(rt.error()).c_str());
    return 1;
  }
  // Batches of creates, then updates of the created orders.
  const std::string note(150, 'n');
  uint64_t written = 0;
  std::vector<json::value> ids;
  while (written < n) {
    batch_call b{"Shop.Order", "create"};
    b.actor = actor{"SystemActor", "bench"};
    b.metadata = {{"source", "bench"}, {"request_id", "req-42"}};
    for (int i = 0; i < 500 && written + b.items.size() < n / 4 + 1; ++i)
      b.items.push_back(
        {{{"customer", "customer-" + std::to_string(written + i)},
          {"note", note}},
         nullptr});
    if (b.items.empty())
      break;
    for (auto& r : (*rt)->run_batch(b)) {
      if (!r) {
        std::fprintf(stderr, "create: %s\n", render(r.error()).c_str());
        return 1;
      }
      ids.push_back(r->id);
      ++written;
    }
  }
  size_t next = 0;
  while (written < n) {
    batch_call b{"Shop.Order", written % 3 == 0 ? "annotate" : "add_item"};
    b.actor = actor{"SystemActor", "bench"};
    for (int i = 0; i < 500 && written + b.items.size() < n; ++i) {
      batch_item item;
      item.record_id = ids[next++ % ids.size()];
      if (b.action == "annotate")
        item.input = {{"note", note}};
      b.items.push_back(std::move(item));
    }
    for (auto& r : (*rt)->run_batch(b)) {
      if (!r) {
        std::fprintf(stderr, "update: %s\n", render(r.error()).c_str());
        return 1;
      }
      ++written;
    }
  }
  return 0;
}

int replay(const std::string& db) {
  auto rt = runtime::start(bench_app(),
                           {.path = db, .synchronous = sync_mode::normal});
  if (!rt) {
    std::fprintf(stderr, "start: %s\n", render(rt.error()).c_str());
    return 1;
  }
  auto before = peak_rss_kib();
  auto t0 = std::chrono::steady_clock::now();
  auto summary = (*rt)->replay();
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                            - t0)
                .count();
  if (!summary) {
    std::fprintf(stderr, "replay: %s\n", render(summary.error()).c_str());
    return 1;
  }
  // One line for the driver: events, seconds, peak RSS before and after.
  std::printf("%llu %.3f %ld %ld\n",
              static_cast<unsigned long long>(summary->events), secs, before,
              peak_rss_kib());
  return 0;
}

/// Runs this program with `args` and returns its stdout.
std::string run_self(const char* self, const std::vector<std::string>& args) {
  std::string cmd = self;
  for (auto& a : args)
    cmd += " '" + a + "'";
  std::string out;
  if (auto pipe = popen(cmd.c_str(), "r")) {
    char buf[512];
    while (fgets(buf, sizeof(buf), pipe))
      out += buf;
    if (pclose(pipe) != 0)
      return {};
  }
  return out;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 3 && args[0] == "generate")
    return generate(args[1], std::stoull(args[2]));
  if (args.size() == 2 && args[0] == "replay")
    return replay(args[1]);
  bool quick = !args.empty() && args[0] == "--quick";
  if (quick)
    args.erase(args.begin());
  auto dir = args.empty() ? std::filesystem::temp_directory_path().string()
                          : args[0];
  std::vector<uint64_t> sizes = quick ? std::vector<uint64_t>{10'000, 100'000}
                                      : std::vector<uint64_t>{100'000,
                                                              1'000'000};
  std::printf("%-10s %-10s %-12s %-16s %-16s\n", "events", "seconds",
              "events/s", "rss before KiB", "peak rss KiB");
  for (auto n : sizes) {
    auto db = dir + "/eventactors-bench-replay-" + std::to_string(n) + ".db";
    for (auto suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(db + suffix);
    if (run_self(argv[0], {"generate", db, std::to_string(n)}).empty()
        && !std::filesystem::exists(db)) {
      std::fprintf(stderr, "generating %llu events failed\n",
                   static_cast<unsigned long long>(n));
      return 1;
    }
    auto line = run_self(argv[0], {"replay", db});
    unsigned long long events = 0;
    double secs = 0;
    long before = 0;
    long peak = 0;
    if (std::sscanf(line.c_str(), "%llu %lf %ld %ld", &events, &secs, &before,
                    &peak)
        != 4) {
      std::fprintf(stderr, "replay of %llu events failed\n",
                   static_cast<unsigned long long>(n));
      return 1;
    }
    std::printf("%-10llu %-10.2f %-12.0f %-16ld %-16ld\n", events, secs,
                events / secs, before, peak);
    for (auto suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(db + suffix);
  }
  return 0;
}
