// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <memory>

namespace spdlog {
class logger;
} // namespace spdlog

namespace eventactors {

/// Sets the logger libeventactors writes to. Until called, log messages are
/// discarded. Call before starting a runtime; spdlog's global state stays
/// the application's.
void set_logger(std::shared_ptr<spdlog::logger> logger);

} // namespace eventactors
