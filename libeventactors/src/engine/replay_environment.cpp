// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "engine/replay_environment.hpp"

#include <memory>

#include "base/uuid.hpp"

namespace eventactors {

namespace {

/// SplitMix64: spreads a counter into well-mixed bits.
uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

} // namespace

environment make_replay_environment(timestamp at, uint64_t seed) {
  struct state {
    timestamp at;
    uint64_t seed;
    uint64_t n = 0;
    uuid::v7_sequence v7;
  };
  auto st = std::make_shared<state>();
  st->at = at;
  st->seed = seed;
  auto next = [st](bool v7) {
    auto n = st->n++;
    auto r1 = mix64(st->seed ^ mix64(2 * n));
    auto r2 = mix64(st->seed ^ mix64(2 * n + 1));
    if (!v7)
      return uuid::format(uuid::v4_from(r1, r2));
    return uuid::format(st->v7.next(st->at, r1, r2));
  };
  environment env;
  env.clock = [at] { return at; };
  env.uuid_v4 = [next] { return next(false); };
  env.uuid_v7 = [next] { return next(true); };
  return env;
}

} // namespace eventactors
