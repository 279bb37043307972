// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <caf/error.hpp>

#include "eventactors/app.hpp"

namespace eventactors::detail {

/// Completes the definitions: adds the foreign-key attributes of
/// belongs_to relationships that were not declared and fills in default
/// relationship keys.
void resolve(app& a);

/// Resolves `a`, then checks every definition rule. Returns an
/// `errc::invalid_definition` error listing each problem with its path.
caf::error resolve_and_validate(app& a);

} // namespace eventactors::detail
