// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <caf/expected.hpp>

#include "eventactors/event.hpp"
#include "eventactors/options.hpp"
#include "model/model.hpp"
#include "storage/unit.hpp"

namespace eventactors {

/// Builds the unit that appends `ev` on its own (`runtime::append`): checks
/// the log, the record id and actor keys against their types, the sizes
/// against `opts`' limits, and that every value can be stored and read
/// back. Errors name the field at fault (`errc::invalid_input`,
/// `errc::input_too_large`).
caf::expected<unit> append_unit(const model& m, const runtime_options& opts,
                                new_event ev);

} // namespace eventactors
