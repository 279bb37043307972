// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/detail/inspect.hpp"

#include "eventactors/error.hpp"
#include "base/json_text.hpp"

namespace eventactors::detail {

json_text json_text::of(const json::value& x) {
  return {to_json_text(x)};
}

json_text json_text::of(const json::object& x) {
  return {to_json_text(x)};
}

caf::error json_text::load(json::value& x) const {
  json::value val;
  if (auto failed = json_io::parse_stored(text, val))
    return make_error(errc::invalid_input,
                      "malformed JSON in message: " + failed->ec.message());
  x = std::move(val);
  return {};
}

caf::error json_text::load(json::object& x) const {
  json::value val;
  if (auto err = load(val))
    return err;
  if (!val.is_object())
    return make_error(errc::invalid_input,
                      "expected a JSON object in message");
  x = std::move(val.get_object());
  return {};
}

} // namespace eventactors::detail
