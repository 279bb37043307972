// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "eventactors/time.hpp"

namespace eventactors::uuid {

using bytes = std::array<uint8_t, 16>;

/// Returns a random version 4 UUID, from the operating system's CSPRNG
/// (thread-safe; a forked child never repeats its parent's).
bytes random_v4();

/// Builds a version 4 UUID from 128 random bits.
bytes v4_from(uint64_t hi, uint64_t lo);

/// Generates version 7 UUIDs that increase strictly, even within one
/// millisecond (a 12-bit counter in `rand_a`, RFC 9562 method 1). Not
/// thread-safe.
class v7_sequence {
public:
  bytes next(timestamp now, uint64_t r1, uint64_t r2);

  /// Continues after `last`: every later id sorts after it, even when the
  /// clock reads earlier (after a restart on another clock, say).
  void resume_after(const bytes& last);

private:
  uint64_t last_ms_ = 0;
  uint16_t counter_ = 0;
};

/// Returns the next version 7 UUID of a process-wide sequence, its random
/// bits from the operating system's CSPRNG (thread-safe).
bytes next_v7(timestamp now);

/// Formats as canonical lowercase text with dashes.
std::string format(const bytes& x);

/// Parses the 36-character form with dashes, in any case.
std::optional<bytes> parse(std::string_view str);

/// Returns the canonical text of a UUID given as text, or `nullopt`.
std::optional<std::string> canonical(std::string_view str);

} // namespace eventactors::uuid
