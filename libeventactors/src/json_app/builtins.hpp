// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <filesystem>
#include <memory>
#include <variant>
#include <vector>

#include <caf/expected.hpp>

#include "eventactors/changeset.hpp"
#include "eventactors/encryption.hpp"
#include "json_app/params.hpp"

/// The built-in changes, validations, hooks and key providers of JSON app
/// definitions as one table: a row per built-in names it, lists its
/// parameters and builds it from parameters `check_params` accepted.
/// `json_library::builtins` registers every row.
namespace eventactors::json_app {

/// What a built-in is, i.e. which key of a step (or of an event log's
/// `encryption`) names it.
enum class builtin_kind {
  change,       ///< `{"change": name, ...}`
  validation,   ///< `{"validate": name, ...}`
  hook,         ///< `{"hook": name, ...}`: a change registering a hook
  key_provider, ///< `"encryption": {"provider": name, ...}`
};

/// What built-ins see besides their parameters.
struct builtin_env {
  /// Where relative outbox and key file paths resolve (empty: the working
  /// directory).
  std::filesystem::path base_dir;
};

/// Builds a `T` from checked parameters.
template <class T>
using builtin_maker = caf::expected<T> (*)(const params&, const builtin_env&);

/// One row of the table.
struct builtin {
  builtin_kind kind;
  const char* name;
  std::vector<param_spec> params;
  /// `builtin_maker<change>` for changes and hooks.
  std::variant<builtin_maker<change>, builtin_maker<validation>,
               builtin_maker<std::shared_ptr<key_provider>>>
    make;
};

/// Every built-in, one row each.
const std::vector<builtin>& builtin_table();

/// The `call_action` hook: runs another action before or after this one.
caf::expected<change> make_call_action(const params& xs, const builtin_env&);

/// The `outbox` hook: appends a line to a file after the action or after
/// the transaction.
caf::expected<change> make_outbox(const params& xs, const builtin_env& env);

} // namespace eventactors::json_app
