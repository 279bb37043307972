// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <string>

namespace eventactors {

/// The kinds of actions. Every action of a resource is one of these, and
/// every event records the kind of the action that wrote it.
enum class action_kind : uint8_t { create, update, destroy };

/// Returns `"create"`, `"update"` or `"destroy"`.
std::string to_string(action_kind x);

} // namespace eventactors
