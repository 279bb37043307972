// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

namespace eventactors::detail {

/// The value of the hexadecimal digit `c` (either case), or -1.
constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace eventactors::detail
