// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/init.hpp"

#include <caf/actor_system_config.hpp>

#include "eventactors/error.hpp"
#include "eventactors/type_ids.hpp"

namespace eventactors {

void init(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::eventactors>();
  cfg.add_error_category(caf::atom("evact"),
                         [](uint8_t code, caf::atom_value category,
                            const caf::message& ctx) {
                           return render(caf::error{code, category, ctx});
                         });
}

} // namespace eventactors
