// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <caf/error.hpp>

#include "eventactors/call.hpp"
#include "eventactors/json.hpp"

namespace eventactors {

/// The largest `runtime_options::max_hook_depth`: hooks nest actions on the
/// stack of one thread, and a few thousand levels overflow it.
constexpr uint32_t hook_depth_limit = 1000;

/// Checks a JSON value against size and nesting limits, adding its
/// approximate serialized size to `bytes`. Returns an explanation when a
/// limit is exceeded.
std::optional<std::string> check_json(const json::value& x,
                                      std::size_t max_bytes,
                                      std::size_t& bytes, int max_depth = 64);

/// Checks the input and the metadata of a top-level call, together,
/// against `max_bytes`. Returns an `errc::input_too_large` error that
/// starts with `where` and names the key whose value nests too deeply.
caf::error check_input_size(const call& c, std::size_t max_bytes,
                            const std::string& where);

/// Whether this thread's stack below the caller's frame is down to the
/// reserve kept for SQLite and the hooks of the deepest nested action.
bool stack_nearly_used_up() noexcept;

} // namespace eventactors
