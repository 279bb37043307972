// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/environment.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <random>

#include "base/uuid.hpp"

namespace eventactors {

environment environment::system() {
  environment env;
  env.clock = [] { return now_utc(); };
  env.uuid_v4 = [] { return uuid::format(uuid::random_v4()); };
  env.uuid_v7 = [] { return uuid::format(uuid::next_v7(now_utc())); };
  return env;
}

environment environment::deterministic(uint64_t seed, timestamp start,
                                       std::chrono::microseconds step) {
  struct state {
    std::mutex mtx;
    std::mt19937_64 rng;
    timestamp now;
    std::chrono::microseconds step;
    uuid::v7_sequence v7;
  };
  auto st = std::make_shared<state>();
  st->rng.seed(seed);
  st->now = start;
  st->step = step;
  environment env;
  env.clock = [st] {
    std::lock_guard<std::mutex> guard{st->mtx};
    auto result = st->now;
    st->now += st->step;
    return result;
  };
  env.uuid_v4 = [st] {
    std::lock_guard<std::mutex> guard{st->mtx};
    auto hi = st->rng();
    auto lo = st->rng();
    return uuid::format(uuid::v4_from(hi, lo));
  };
  env.uuid_v7 = [st] {
    std::lock_guard<std::mutex> guard{st->mtx};
    auto r1 = st->rng();
    auto r2 = st->rng();
    return uuid::format(st->v7.next(st->now, r1, r2));
  };
  return env;
}

} // namespace eventactors
