// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include <caf/error.hpp>

namespace eventactors {

/// Whether a replay runs, and the replay epoch units are built in. Owned by
/// the write pipeline; the one place that decides whether work waits for a
/// replay.
///
/// While a replay runs, new work is refused (`admit`). Every replay bumps
/// the epoch before it starts, so a unit built before (whose reads predate
/// the replay) is refused when it is written (`check`).
///
/// Thread-safety: every member function is thread-safe.
class replay_gate {
public:
  /// Returns `errc::replay_in_progress` naming `what` (e.g. "Item.create";
  /// empty: nothing) while a replay runs, no error otherwise.
  caf::error admit(std::string_view what = {}) const;

  /// `admit` for an action, named "resource.action"; builds the name only
  /// when refusing (this runs for every action).
  caf::error admit(std::string_view resource, std::string_view action) const;

  /// The epoch units built now belong to.
  uint64_t epoch() const noexcept {
    return epoch_.load();
  }

  /// Returns `errc::replay_in_progress` when a replay started after a unit
  /// of `epoch` began to be built.
  caf::error check(uint64_t epoch) const;

  /// Starts a replay: refuses new work from now on and makes every unit
  /// built before stale. Returns false (and changes nothing) while another
  /// replay runs.
  bool begin() noexcept;

  /// Ends the replay `begin` started.
  void end() noexcept;

  bool active() const noexcept {
    return active_.load();
  }

private:
  std::atomic<bool> active_{false};
  std::atomic<uint64_t> epoch_{0};
};

} // namespace eventactors
