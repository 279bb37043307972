// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "json_app/params.hpp"

#include <algorithm>

#include "eventactors/error.hpp"
#include "json_app/common.hpp"

namespace eventactors::json_app {

namespace {

/// The kind's own complaint about `x`, or nullopt when `x` fits the kind.
std::optional<std::string> complaint(const param_spec& p,
                                     const json::value& x) {
  switch (p.kind) {
    case param_kind::text:
      if (!x.is_string() || x.get_string().empty())
        return ": expected a non-empty string";
      return std::nullopt;
    case param_kind::integer:
      if (!x.is_int64())
        return ": expected an integer, got " + show(x);
      return std::nullopt;
    case param_kind::number:
      if (!x.is_int64() && !x.is_uint64() && !x.is_double())
        return ": expected a number, got " + show(x);
      return std::nullopt;
    case param_kind::list:
      if (!x.is_array() || x.get_array().empty())
        return ": expected a non-empty array";
      return std::nullopt;
    case param_kind::object:
      if (!x.is_object())
        return ": expected an object";
      return std::nullopt;
    case param_kind::choice: {
      if (!x.is_string())
        return ": expected a string";
      auto& str = x.get_string();
      if (std::any_of(p.choices.begin(), p.choices.end(),
                      [&](const char* c) { return str == c; }))
        return std::nullopt;
      std::string list;
      for (auto c : p.choices)
        list += (list.empty() ? "" : ", ") + std::string{c};
      return ": expected one of " + list + ", got " + in_quotes(str);
    }
    case param_kind::any:
    case param_kind::source:
      return std::nullopt; // sources are checked while they are read
  }
  return std::nullopt;
}

/// Numbers are stored as doubles, everything else as given.
json::value normalized(const param_spec& p, const json::value& x) {
  if (p.kind != param_kind::number || x.is_double())
    return x;
  if (x.is_int64())
    return static_cast<double>(x.get_int64());
  return static_cast<double>(x.get_uint64());
}

} // namespace

param_spec required(const char* name, param_kind kind) {
  return param_spec{name, kind};
}

param_spec optional(const char* name, param_kind kind, json::value fallback) {
  param_spec result{name, kind};
  result.required = false;
  result.fallback = std::move(fallback);
  return result;
}

param_spec choice(const char* name, std::vector<const char*> choices,
                  const char* fallback) {
  auto result = optional(name, param_kind::choice, fallback);
  result.choices = std::move(choices);
  return result;
}

std::string params::text(std::string_view name) const {
  return std::string{value(name).get_string()};
}

int64_t params::integer(std::string_view name) const {
  return value(name).get_int64();
}

double params::number(std::string_view name) const {
  return value(name).get_double();
}

const json::value& params::value(std::string_view name) const {
  return values_.find(name)->second;
}

const value_source& params::source(std::string_view name) const {
  return sources_.find(name)->second;
}

caf::expected<params> check_params(const json::object& spec,
                                   const std::vector<param_spec>& xs) {
  std::vector<const char*> names;
  for (auto& p : xs)
    names.push_back(p.name);
  if (auto err = only_keys(spec, names))
    return bad<params>(*err);
  params result;
  for (auto& p : xs) {
    auto ptr = spec.if_contains(p.name);
    if (!ptr) {
      if (p.required)
        return bad<params>(p.name + std::string{p.missing});
      result.values_.emplace(p.name, p.fallback);
      continue;
    }
    auto what = complaint(p, *ptr);
    std::optional<value_source> src;
    if (!what && p.kind == param_kind::source)
      if (auto err = value_param(*ptr, src))
        what = ": " + *err;
    if (what)
      return bad<params>(p.name + (p.invalid ? std::string{p.invalid} : *what));
    if (src)
      result.sources_.emplace(p.name, std::move(*src));
    else
      result.values_.emplace(p.name, normalized(p, *ptr));
  }
  return result;
}

} // namespace eventactors::json_app
