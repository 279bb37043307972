// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "eventactors/error.hpp"
#include "eventactors/json.hpp"
#include "eventactors/resource.hpp"

/// Helpers every part of the JSON app loader shares: quoting and showing
/// values in messages, refusing unknown keys, and reading a value source.
namespace eventactors::json_app {

/// `x` in double quotes.
std::string in_quotes(std::string_view x);

/// `x` as JSON text, cut at 60 characters.
std::string show(const json::value& x);

/// Fails a factory with a message (the loader adds the path).
template <class T>
caf::expected<T> bad(std::string msg) {
  return make_error(errc::invalid_definition, std::move(msg));
}

/// Explains the first key of `spec` not in `keys`, or returns nullopt.
std::optional<std::string> only_keys(const json::object& spec,
                                     std::initializer_list<const char*> keys);

/// Like the above, for a list built at run time.
std::optional<std::string> only_keys(const json::object& spec,
                                     const std::vector<const char*>& keys);

/// Reads a value, or `{"generate": "now" | "uuid_v4" | "uuid_v7"}`, into
/// `out`; returns what is wrong with `x` otherwise.
std::optional<std::string> value_param(const json::value& x,
                                       std::optional<value_source>& out);

} // namespace eventactors::json_app
