// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "engine/limits.hpp"

#include <pthread.h>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "eventactors/error.hpp"

namespace eventactors {

namespace {

/// Stack kept free below the deepest nested action, room for SQLite and
/// the hooks of the last level: 512 KiB, or a quarter of a smaller stack.
constexpr uintptr_t stack_reserve_max = 512 * 1024;

struct stack_bounds {
  uintptr_t low = 0;
  uintptr_t reserve = stack_reserve_max;
};

/// On error only: the key of `x` whose value nests too deeply, to name it.
std::string deep_key(const json::object& x) {
  for (auto& kvp : x) {
    std::size_t ignored = 0;
    if (check_json(kvp.value(), std::numeric_limits<std::size_t>::max(),
                   ignored, 63))
      return std::string{kvp.key()} + ": ";
  }
  return std::string{};
}

} // namespace

std::optional<std::string> check_json(const json::value& x,
                                      std::size_t max_bytes,
                                      std::size_t& bytes, int max_depth) {
  if (max_depth < 0)
    return std::string{"nested too deeply"};
  switch (x.kind()) {
    case json::kind::string:
      bytes += x.get_string().size() + 2;
      break;
    case json::kind::array:
      bytes += 2;
      for (auto& elem : x.get_array()) {
        if (auto err = check_json(elem, max_bytes, bytes, max_depth - 1))
          return err;
        ++bytes;
      }
      break;
    case json::kind::object:
      bytes += 2;
      for (auto& kvp : x.get_object()) {
        bytes += kvp.key().size() + 4;
        if (auto err = check_json(kvp.value(), max_bytes, bytes,
                                  max_depth - 1))
          return err;
      }
      break;
    default:
      bytes += 8;
      break;
  }
  if (bytes > max_bytes)
    return "larger than " + std::to_string(max_bytes) + " bytes";
  return std::nullopt;
}

caf::error check_input_size(const call& c, std::size_t max_bytes,
                            const std::string& where) {
  std::size_t bytes = 0;
  if (auto err = check_json(c.input, max_bytes, bytes))
    return make_error(errc::input_too_large,
                      where + ": input " + deep_key(c.input) + *err
                        + " (max_input_bytes)");
  if (auto err = check_json(c.metadata, max_bytes, bytes))
    return make_error(errc::input_too_large,
                      where + ": input and metadata " + deep_key(c.metadata)
                        + *err + " (max_input_bytes)");
  return {};
}

// Stacks grow down on every platform we build for.
bool stack_nearly_used_up() noexcept {
  thread_local const stack_bounds bounds = [] {
    stack_bounds result;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
      return result;
    void* addr = nullptr;
    size_t size = 0;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
      result.low = reinterpret_cast<uintptr_t>(addr);
      result.reserve = std::min<uintptr_t>(stack_reserve_max, size / 4);
    }
    pthread_attr_destroy(&attr);
    return result;
  }();
  if (bounds.low == 0)
    return false;
  // The frame address, not a local's: under ASan locals may live on a
  // fake stack in the heap.
  auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  return here < bounds.low + bounds.reserve;
}

} // namespace eventactors
