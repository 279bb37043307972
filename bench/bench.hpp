// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// What the parts of the benchmark share: the workload, measurements and
// reporting (bench.cpp), used by the remote part (remote.cpp).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>

#include "eventactors/all.hpp"

namespace bench {

using namespace eventactors;
using clock_type = std::chrono::steady_clock;

/// Latencies in microseconds.
struct latencies {
  std::vector<double> xs;

  double at(double q) {
    if (xs.empty())
      return 0;
    std::sort(xs.begin(), xs.end());
    auto i = static_cast<size_t>(q * static_cast<double>(xs.size() - 1));
    return xs[i];
  }
};

/// One run's figures of a write workload.
struct write_sample {
  double per_second = 0;
  /// CPU time of the whole process (all threads) per action.
  double cpu_us = 0;
  double p50 = 0;
  double p99 = 0;
  double max = 0;
};

/// One reported figure: the median of its runs, with their spread, and
/// the baseline's median where there is one.
struct figure {
  std::string name;
  std::string unit;
  std::vector<double> runs;
  std::vector<double> baseline_runs;
  /// For latencies a smaller figure is better: the ratio is baseline/value
  /// reported as value/baseline ("x times the baseline").
  std::string target;

  static double median(std::vector<double> xs) {
    if (xs.empty())
      return 0;
    std::sort(xs.begin(), xs.end());
    auto n = xs.size();
    return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
  }

  double value() const {
    return median(runs);
  }

  std::optional<double> baseline() const {
    if (baseline_runs.empty())
      return std::nullopt;
    return median(baseline_runs);
  }

  std::optional<double> ratio() const {
    auto b = baseline();
    if (!b || *b == 0)
      return std::nullopt;
    return value() / *b;
  }
};

struct settings {
  bool quick = false;
  int runs = 5;
  std::string json_path;
  std::string dir;
  std::set<std::string> only{"write", "sync", "replay", "keys", "remote"};
  /// The remote part's caller counts (`--callers` sets both lists).
  std::vector<int> remote_callers{1, 64};
  std::vector<int> callers{1, 8, 64, 256};
  std::vector<sync_mode> modes{sync_mode::normal, sync_mode::full};
};


/// Orders: ~200 bytes of data per event, metadata and an actor.
app bench_app(key_kind keys = key_kind::uuid_v7);

/// What one operation of the mix does: 1 in 4 creates, the rest updates
/// (annotate and add_item alike) of a random record of the pool.
enum class op_kind { create, annotate, add_item };

op_kind pick(std::mt19937_64& rng);

call make_call(op_kind k, std::mt19937_64& rng,
               const std::vector<json::value>& ids, int caller, uint64_t n);

/// Records present before the timed part of a write run starts.
constexpr size_t record_pool = 10'000;

/// Creates `pool` records through `rt`, in batches (not timed).
std::vector<json::value> prefill(service& rt, size_t pool = record_pool);

double micros(clock_type::duration d);
double seconds(clock_type::duration d);

/// CPU time (user and system, all threads) of this process so far.
double cpu_seconds();

write_sample summarize(uint64_t ops, clock_type::duration elapsed, double cpu,
                       latencies& lat);

[[noreturn]] void die(const std::string& what);

void remove_db(const std::string& path);

runtime_options options_for(const std::string& path, sync_mode mode);

const char* mode_name(sync_mode m);

std::string fmt_number(double x);

/// The width of the first column of `print_row` and `print_header`.
extern int name_width;

void print_row(const figure& f);

/// The column titles of the rows that follow.
void print_header(const char* ours = "ours",
                  const char* baseline = "raw sqlite");

/// The remote part (remote.cpp).
void bench_remote(const settings& s, const std::string& self,
                  std::vector<figure>& figs);

/// The node process the remote part starts: `node DB MODE TRANSPORT CERTS`.
int node_main(const std::vector<std::string>& args);

// -- caller actors ------------------------------------------------------------

/// Shared by the caller actors of one run; `Handle` is the actor they send
/// their calls to (`action_actor` or `service_actor`).
template <class Handle>
struct caller_context {
  Handle service;
  const std::vector<json::value>* ids = nullptr;
  std::latch* done = nullptr;
  std::atomic<bool> failed{false};
  std::string first_error;
  std::mutex mtx;

  void fail(const std::string& what) {
    std::lock_guard<std::mutex> guard{mtx};
    if (!failed.exchange(true))
      first_error = what;
  }
};

/// One caller: runs `remaining` actions one after another (the next when
/// the last one's record arrived), recording each one's latency.
template <class Handle>
struct caller_state {
  caller_context<Handle>* ctx = nullptr;
  int index = 0;
  uint64_t remaining = 0;
  uint64_t counter = 0;
  std::mt19937_64 rng;
  latencies* out = nullptr;
};

template <class Handle>
void next_call(caf::event_based_actor* self,
               std::shared_ptr<caller_state<Handle>> st) {
  if (st->remaining == 0) {
    st->ctx->done->count_down();
    self->quit();
    return;
  }
  --st->remaining;
  auto n = (static_cast<uint64_t>(st->index) << 32) | st->counter++;
  auto c = make_call(pick(st->rng), st->rng, *st->ctx->ids, st->index, n);
  auto t0 = clock_type::now();
  self->request(st->ctx->service, std::chrono::seconds{120}, run_atom_v,
                std::move(c))
    .then(
      [self, st, t0](const record&) {
        st->out->xs.push_back(micros(clock_type::now() - t0));
        next_call(self, st);
      },
      [self, st](caf::error& err) {
        st->ctx->fail(render(err));
        st->ctx->done->count_down();
        self->quit();
      });
}

/// The behaviour of a caller actor: spawn it with its state.
template <class Handle>
void caller(caf::event_based_actor* self,
            std::shared_ptr<caller_state<Handle>> st) {
  next_call(self, std::move(st));
}

/// The states of `callers` callers sharing `ops` calls, each with its
/// own seed and latencies in `lat` (sized here).
template <class Handle>
std::vector<std::shared_ptr<caller_state<Handle>>>
make_callers(caller_context<Handle>& ctx, int callers, uint64_t ops,
             std::vector<latencies>& lat) {
  lat.assign(static_cast<size_t>(callers), latencies{});
  std::vector<std::shared_ptr<caller_state<Handle>>> states;
  for (int i = 0; i < callers; ++i) {
    auto st = std::make_shared<caller_state<Handle>>();
    st->ctx = &ctx;
    st->index = i;
    st->remaining = ops / static_cast<uint64_t>(callers);
    st->rng.seed(static_cast<uint64_t>(i) * 7919 + 17);
    st->out = &lat[static_cast<size_t>(i)];
    st->out->xs.reserve(st->remaining);
    states.push_back(std::move(st));
  }
  return states;
}

} // namespace bench
