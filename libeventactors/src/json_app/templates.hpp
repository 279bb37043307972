// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "eventactors/actor.hpp"
#include "eventactors/changeset.hpp"
#include "eventactors/json.hpp"

/// The templates of JSON hooks: `$record.x`, `$argument.x`, `$input.x`,
/// `$actor.type` and `$actor.id` refer to what the hook sees; `$$` escapes
/// a dollar sign.
namespace eventactors::json_app {

/// What a hook's templates can refer to.
struct template_scope {
  const json::object* record = nullptr;
  const changeset* cs = nullptr;
  const std::optional<actor>* who = nullptr;
};

/// Replaces whole-string references in a JSON template (keeping types).
json::value render(const json::value& tpl, const template_scope& scope);

/// Interpolates references inside a text (values as text).
std::string interpolate(std::string_view text, const template_scope& scope);

} // namespace eventactors::json_app
