// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "eventactors/json.hpp"
#include "eventactors/resource.hpp"

/// The parameters of a built-in step: what the built-ins table declares for
/// each one, and the one routine that checks a step's JSON against it.
namespace eventactors::json_app {

/// The JSON a parameter takes.
enum class param_kind {
  text,    ///< A non-empty string.
  integer, ///< An integer (int64).
  number,  ///< Any number, read as a double.
  list,    ///< A non-empty array.
  object,  ///< An object.
  any,     ///< Any value, null included.
  source,  ///< A value, or `{"generate": "now" | "uuid_v4" | "uuid_v7"}`.
  choice,  ///< One of the strings in `choices`.
};

/// One parameter of a built-in: its name, kind, whether it is required,
/// and the value it has when it is optional and absent.
struct param_spec {
  const char* name;
  param_kind kind;
  bool required = true;
  /// The value of an optional parameter the step leaves out.
  json::value fallback = nullptr;
  /// The strings a `choice` accepts, in the order messages list them.
  std::vector<const char*> choices = {};
  /// Follows the name when a required parameter is missing.
  const char* missing = " is required";
  /// Follows the name when the value is wrong, instead of the kind's
  /// own complaint.
  const char* invalid = nullptr;

  /// Returns a copy whose complaint about a missing value is `suffix`.
  param_spec if_missing(const char* suffix) const {
    auto result = *this;
    result.missing = suffix;
    return result;
  }

  /// Returns a copy whose complaint about a wrong value is `suffix`.
  param_spec if_invalid(const char* suffix) const {
    auto result = *this;
    result.invalid = suffix;
    return result;
  }
};

/// A required parameter.
param_spec required(const char* name, param_kind kind);

/// An optional parameter that is `fallback` when absent.
param_spec optional(const char* name, param_kind kind, json::value fallback);

/// An optional `choice` among `choices`, `fallback` when absent.
param_spec choice(const char* name, std::vector<const char*> choices,
                  const char* fallback);

/// A step's parameters after `check_params` accepted them, with the
/// defaults of those it left out.
class params {
public:
  /// A `text` or `choice` parameter.
  std::string text(std::string_view name) const;

  /// An `integer` parameter.
  int64_t integer(std::string_view name) const;

  /// A `number` parameter.
  double number(std::string_view name) const;

  /// A parameter as JSON (`list`, `object`, `any`).
  const json::value& value(std::string_view name) const;

  /// A `source` parameter.
  const value_source& source(std::string_view name) const;

private:
  friend caf::expected<params>
  check_params(const json::object& spec, const std::vector<param_spec>& xs);

  std::map<std::string, json::value, std::less<>> values_;
  std::map<std::string, value_source, std::less<>> sources_;
};

/// Checks `spec` (a step without its kind, name, message and condition)
/// against the parameters `xs`, in order: no key but theirs, then each
/// parameter. The error names the first thing wrong, e.g. `min: expected an
/// integer, got "1"` (the loader adds the JSON path).
caf::expected<params> check_params(const json::object& spec,
                                   const std::vector<param_spec>& xs);

} // namespace eventactors::json_app
