// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "json_app/common.hpp"

#include <algorithm>

#include "detail/text.hpp"

namespace eventactors::json_app {

namespace {

std::optional<std::string> only_keys(const json::object& spec,
                                     const char* const* first,
                                     const char* const* last) {
  for (auto& kvp : spec) {
    bool known = std::any_of(first, last,
                             [&](const char* k) { return kvp.key() == k; });
    if (!known) {
      std::string list;
      for (auto k = first; k != last; ++k)
        list += (list.empty() ? "" : ", ") + std::string{*k};
      return "unknown key " + in_quotes(kvp.key()) + " (expected: "
             + (list.empty() ? std::string{"none"} : list) + ")";
    }
  }
  return std::nullopt;
}

} // namespace

std::string in_quotes(std::string_view x) {
  return detail::quoted(x);
}

std::string show(const json::value& x) {
  return detail::show(x, 60);
}

std::optional<std::string> only_keys(const json::object& spec,
                                     std::initializer_list<const char*> keys) {
  return only_keys(spec, keys.begin(), keys.end());
}

std::optional<std::string> only_keys(const json::object& spec,
                                     const std::vector<const char*>& keys) {
  return only_keys(spec, keys.data(), keys.data() + keys.size());
}

std::optional<std::string> value_param(const json::value& x,
                                       std::optional<value_source>& out) {
  if (x.is_object() && x.get_object().size() == 1
      && x.get_object().contains("generate")) {
    auto& gen = x.get_object().at("generate");
    if (gen == "now")
      out = value_source::now();
    else if (gen == "uuid_v4")
      out = value_source::uuid_v4();
    else if (gen == "uuid_v7")
      out = value_source::uuid_v7();
    else
      return "generate: expected \"now\", \"uuid_v4\" or \"uuid_v7\", got "
             + show(gen);
    return std::nullopt;
  }
  out = value_source{x};
  return std::nullopt;
}

} // namespace eventactors::json_app
