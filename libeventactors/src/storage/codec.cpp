// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "storage/codec.hpp"

#include <chrono>
#include <cmath>

#include "eventactors/error.hpp"
#include "base/json_text.hpp"
#include "base/utf8.hpp"

namespace eventactors::codec {

boost::json::parse_options stored_json_options() {
  return json_io::stored_options();
}

namespace {

std::optional<std::string> check_value(const json::value& x,
                                       const std::string& path);

std::optional<std::string> check_members(const json::object& x,
                                         const std::string& path) {
  for (auto& kvp : x) {
    auto sub = path.empty() ? std::string{kvp.key()}
                            : path + "." + std::string{kvp.key()};
    if (!utf8::valid(kvp.key()))
      return sub + ": invalid UTF-8 in a key";
    if (auto err = check_value(kvp.value(), sub))
      return err;
  }
  return std::nullopt;
}

std::optional<std::string> check_value(const json::value& x,
                                       const std::string& path) {
  auto at = [&](std::string what) {
    return path.empty() ? what : path + ": " + what;
  };
  switch (x.kind()) {
    case json::kind::string:
      if (!utf8::valid(x.get_string()))
        return at("invalid UTF-8 in a string");
      return std::nullopt;
    case json::kind::double_:
      if (!std::isfinite(x.get_double()))
        return at("not a finite number");
      return std::nullopt;
    case json::kind::array: {
      auto& xs = x.get_array();
      for (size_t i = 0; i < xs.size(); ++i)
        if (auto err = check_value(xs[i], path + "[" + std::to_string(i) + "]"))
          return err;
      return std::nullopt;
    }
    case json::kind::object:
      return check_members(x.get_object(), path);
    default:
      return std::nullopt;
  }
}

} // namespace

std::optional<std::string> check_storable(const json::value& x) {
  return check_value(x, {});
}

std::optional<std::string> check_storable(const json::object& x) {
  return check_members(x, {});
}

bool storable(timestamp x) noexcept {
  using namespace std::chrono;
  return x >= sys_days{year{0} / 1 / 1} && x < sys_days{year{10000} / 1 / 1};
}

std::string to_text(const json::object& x) {
  return to_json_text(x);
}

caf::error parse_object(std::string_view text, std::string_view what,
                        json::object& out) {
  json::value val;
  if (json_io::parse_stored(text, val) || !val.is_object())
    return make_error(errc::storage_failure,
                      "malformed JSON object in " + std::string{what});
  out = std::move(val.get_object());
  return {};
}

} // namespace eventactors::codec
