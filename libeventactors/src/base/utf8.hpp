// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace eventactors::utf8 {

/// Returns whether `str` is well-formed UTF-8 (no overlong forms, no
/// surrogates, nothing above U+10FFFF).
bool valid(std::string_view str) noexcept;

/// Returns `str` fit for a one-line message: control characters become
/// `\n`, `\r`, `\t` or `\xNN`, and so does every byte that is not part of
/// well-formed UTF-8; everything else is kept.
std::string escape(std::string_view str);

/// Returns the number of code points in well-formed UTF-8 `str`.
std::size_t length(std::string_view str) noexcept;

} // namespace eventactors::utf8
