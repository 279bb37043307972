// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "json_app/builtins.hpp"

#include "eventactors/changes.hpp"
#include "eventactors/json_app.hpp"
#include "json_app/common.hpp"
#include "base/regex.hpp"

namespace eventactors::json_app {

namespace {

using provider_ptr = std::shared_ptr<key_provider>;

constexpr auto text = param_kind::text;
constexpr auto integer = param_kind::integer;
constexpr auto number = param_kind::number;

/// The built-in validations of one field, e.g. `{"validate": "present",
/// "field": "email"}`.
template <validation (*Make)(std::string)>
caf::expected<validation> one_field(const params& xs, const builtin_env&) {
  return Make(xs.text("field"));
}

/// `attribute_equals` and `attribute_does_not_equal`.
template <validation (*Make)(std::string, json::value)>
caf::expected<validation> compare(const params& xs, const builtin_env&) {
  return Make(xs.text("attribute"), xs.value("value"));
}

std::vector<builtin> change_rows() {
  using kind = builtin_kind;
  return {
    {kind::change, "set_attribute",
     {required("attribute", text),
      required("value", param_kind::source)
        .if_missing(" is required (null clears the attribute)")},
     [](const params& xs, const builtin_env&) -> caf::expected<change> {
       return changes::set_attribute(xs.text("attribute"), xs.source("value"));
     }},
    {kind::change, "set_from_argument",
     {required("attribute", text), required("argument", text)},
     [](const params& xs, const builtin_env&) -> caf::expected<change> {
       return changes::set_from_argument(xs.text("attribute"),
                                         xs.text("argument"));
     }},
    {kind::change, "slugify", {required("from", text), required("to", text)},
     [](const params& xs, const builtin_env&) -> caf::expected<change> {
       return changes::slugify(xs.text("from"), xs.text("to"));
     }},
    {kind::change, "increment",
     {required("attribute", text), optional("by", integer, 1)},
     [](const params& xs, const builtin_env&) -> caf::expected<change> {
       return changes::increment(xs.text("attribute"), xs.integer("by"));
     }},
  };
}

caf::expected<validation> make_string_length(const params& xs,
                                              const builtin_env&) {
  auto min = xs.integer("min");
  auto max = xs.integer("max");
  if (min < 0 && max < 0)
    return bad<validation>("give min, max or both");
  if (min >= 0 && max >= 0 && min > max)
    return bad<validation>("min is larger than max");
  return validations::string_length(xs.text("field"), min, max);
}

caf::expected<validation> make_match(const params& xs, const builtin_env&) {
  auto pattern = xs.text("pattern");
  // RE2 syntax (linear-time matching): backreferences and lookaround,
  // which need backtracking, are refused here, at load time.
  if (regex probe{pattern}; !probe.ok())
    return bad<validation>("pattern: not a valid regular expression (RE2 "
                           "syntax): " + probe.error());
  return validations::match(xs.text("field"), pattern);
}

caf::expected<validation> make_numeric_range(const params& xs,
                                              const builtin_env&) {
  auto min = xs.number("min");
  auto max = xs.number("max");
  if (min > max)
    return bad<validation>("min is larger than max");
  return validations::numeric_range(xs.text("field"), min, max);
}

std::vector<builtin> validation_rows() {
  using kind = builtin_kind;
  auto field = required("field", text);
  return {
    {kind::validation, "present", {field}, one_field<validations::present>},
    {kind::validation, "required", {field}, one_field<validations::present>},
    {kind::validation, "absent", {field}, one_field<validations::absent>},
    {kind::validation, "string_length",
     {field, optional("min", integer, -1), optional("max", integer, -1)},
     make_string_length},
    {kind::validation, "match", {field, required("pattern", text)},
     make_match},
    {kind::validation, "one_of",
     {field, required("values", param_kind::list)
               .if_missing(": expected a non-empty array")},
     [](const params& xs, const builtin_env&) -> caf::expected<validation> {
       auto& values = xs.value("values").get_array();
       return validations::one_of(
         xs.text("field"), std::vector<json::value>(values.begin(),
                                                    values.end()));
     }},
    {kind::validation, "numeric_range",
     {field, required("min", number), required("max", number)},
     make_numeric_range},
    {kind::validation, "confirm", {field, required("confirmation", text)},
     [](const params& xs, const builtin_env&) -> caf::expected<validation> {
       return validations::confirm(xs.text("field"),
                                   xs.text("confirmation"));
     }},
    {kind::validation, "attribute_equals",
     {required("attribute", text), required("value", param_kind::any)},
     compare<validations::attribute_equals>},
    {kind::validation, "attribute_does_not_equal",
     {required("attribute", text), required("value", param_kind::any)},
     compare<validations::attribute_does_not_equal>},
  };
}

std::vector<builtin> hook_rows() {
  using kind = builtin_kind;
  return {
    {kind::hook, "call_action",
     {choice("on", {"before_action", "after_action", "after_transaction"},
             "after_action"),
      required("resource", text), required("action", text),
      optional("input", param_kind::object, json::object{}),
      optional("record_id", param_kind::any, nullptr),
      optional("metadata", param_kind::object, json::object{}),
      choice("actor", {"inherit", "none"}, "inherit")
        .if_invalid(": expected \"inherit\" or \"none\"")},
     make_call_action},
    {kind::hook, "outbox",
     {choice("on", {"after_action", "after_transaction"},
             "after_transaction"),
      required("file", text), required("line", text)},
     make_outbox},
  };
}

std::vector<builtin> key_provider_rows() {
  using kind = builtin_kind;
  return {
    {kind::key_provider, "key_file", {required("path", text)},
     [](const params& xs,
        const builtin_env& env) -> caf::expected<provider_ptr> {
       std::filesystem::path path{xs.text("path")};
       if (path.is_relative() && !env.base_dir.empty())
         path = env.base_dir / path;
       return key_file_provider(path.string());
     }},
    {kind::key_provider, "env", {required("variable", text)},
     [](const params& xs, const builtin_env&) -> caf::expected<provider_ptr> {
       return env_key_provider(xs.text("variable"));
     }},
  };
}

std::vector<builtin> all_builtins() {
  auto result = change_rows();
  for (auto part : {validation_rows(), hook_rows(), key_provider_rows()})
    result.insert(result.end(), part.begin(), part.end());
  return result;
}

/// Wraps a row as the factory `json_library` keeps: check, then build.
template <class T>
std::function<caf::expected<T>(const json::object&)>
factory(const builtin& row, const builtin_env& env) {
  auto make = std::get<builtin_maker<T>>(row.make);
  return [&row, make, env](const json::object& spec) -> caf::expected<T> {
    auto xs = check_params(spec, row.params);
    if (!xs)
      return std::move(xs.error());
    return make(*xs, env);
  };
}

} // namespace

const std::vector<builtin>& builtin_table() {
  static const std::vector<builtin> table = all_builtins();
  return table;
}

} // namespace eventactors::json_app

namespace eventactors {

json_library json_library::builtins(std::filesystem::path base_dir) {
  using namespace json_app;
  json_library lib;
  builtin_env env{std::move(base_dir)};
  for (auto& row : builtin_table()) {
    switch (row.kind) {
      case builtin_kind::change:
        lib.add_change(row.name, factory<change>(row, env));
        break;
      case builtin_kind::validation:
        lib.add_validation(row.name, factory<validation>(row, env));
        break;
      case builtin_kind::hook:
        lib.add_hook(row.name, factory<change>(row, env));
        break;
      case builtin_kind::key_provider:
        lib.add_key_provider(row.name,
                             factory<std::shared_ptr<key_provider>>(row, env));
        break;
    }
  }
  return lib;
}

} // namespace eventactors
