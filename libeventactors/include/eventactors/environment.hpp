// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "eventactors/time.hpp"

namespace eventactors {

/// The clock and id generators an application runs with. Injectable, so
/// tests and simulations are reproducible (`deterministic`).
///
/// Thread-safety: the functions are called from several actor threads at
/// once and must be safe for that; the factories here are.
struct environment {
  /// Returns the current time (UTC, microseconds).
  std::function<timestamp()> clock;
  /// Returns a new random UUID (version 4) as canonical lowercase text.
  std::function<std::string()> uuid_v4;
  /// Returns a new time-ordered UUID (version 7) as canonical lowercase text.
  /// Successive calls return increasing values.
  std::function<std::string()> uuid_v7;

  /// The real clock, and UUIDs whose random bits come from the operating
  /// system's CSPRNG (getrandom(2), fetched 4 KiB at a time per thread and
  /// never shared with a child process after fork): unpredictable, unlike
  /// those of `deterministic`.
  static environment system();

  /// A reproducible environment: the clock starts at `start` and advances
  /// by `step` on every reading; UUIDs come from a generator seeded with
  /// `seed`.
  static environment deterministic(uint64_t seed, timestamp start,
                                   std::chrono::microseconds step
                                   = std::chrono::microseconds{1000});
};

} // namespace eventactors
