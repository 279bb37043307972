// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "write/replay_gate.hpp"

#include <string>

#include "eventactors/error.hpp"

namespace eventactors {

caf::error replay_gate::admit(std::string_view what) const {
  if (!active_.load())
    return caf::none;
  std::string text;
  if (!what.empty()) {
    text = what;
    text += ": ";
  }
  text += "a replay is in progress; retry when it is done";
  return make_error(errc::replay_in_progress, std::move(text));
}

caf::error replay_gate::admit(std::string_view resource,
                              std::string_view action) const {
  if (!active_.load())
    return caf::none;
  std::string what{resource};
  what += '.';
  what += action;
  return admit(what);
}

caf::error replay_gate::check(uint64_t epoch) const {
  if (epoch == epoch_.load())
    return caf::none;
  return make_error(errc::replay_in_progress,
                    "a replay ran while this action was prepared");
}

bool replay_gate::begin() noexcept {
  bool expected = false;
  if (!active_.compare_exchange_strong(expected, true))
    return false;
  // After `active`: a unit whose epoch was read before `begin` either saw
  // the gate closed or is refused by `check` when written.
  ++epoch_;
  return true;
}

void replay_gate::end() noexcept {
  active_.store(false);
}

} // namespace eventactors
