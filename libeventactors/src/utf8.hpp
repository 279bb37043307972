// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstddef>
#include <string_view>

namespace eventactors::utf8 {

/// Returns whether `str` is well-formed UTF-8 (no overlong forms, no
/// surrogates, nothing above U+10FFFF).
bool valid(std::string_view str) noexcept;

/// Returns the number of code points in well-formed UTF-8 `str`.
std::size_t length(std::string_view str) noexcept;

} // namespace eventactors::utf8
