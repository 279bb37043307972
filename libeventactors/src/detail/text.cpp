// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "detail/text.hpp"

namespace eventactors::detail {

std::string show(const json::value& x, std::size_t width) {
  auto str = to_json_text(x);
  if (width > 3 && str.size() > width) {
    str.resize(width - 3);
    str += "...";
  }
  return str;
}

std::string quoted(std::string_view x) {
  std::string result = "\"";
  result += x;
  result += '"';
  return result;
}

} // namespace eventactors::detail
