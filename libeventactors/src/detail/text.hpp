// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "eventactors/json.hpp"

namespace eventactors::detail {

/// Returns `x` as JSON text for an error message. With a `width` (not 0),
/// a longer text is cut to its first `width - 3` characters and "...", so
/// that the message stays `width` characters at most.
std::string show(const json::value& x, std::size_t width = 0);

/// Returns `x` in double quotes, the way messages name what was wrong.
std::string quoted(std::string_view x);

} // namespace eventactors::detail
