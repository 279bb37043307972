// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <spdlog/spdlog.h>

namespace eventactors::detail {

/// Returns the library's logger: a null sink until `set_logger`.
spdlog::logger& log();

} // namespace eventactors::detail
