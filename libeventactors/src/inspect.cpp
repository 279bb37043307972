// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/detail/inspect.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "codec.hpp"
#include "eventactors/error.hpp"

namespace eventactors::detail {

using codec::stored_json_options;

json_text json_text::of(const json::value& x) {
  return {json::serialize(x)};
}

json_text json_text::of(const json::object& x) {
  return {json::serialize(x)};
}

caf::error json_text::load(json::value& x) const {
  boost::system::error_code ec;
  auto val = json::parse(text, ec, {}, stored_json_options());
  if (ec)
    return make_error(errc::invalid_input,
                      "malformed JSON in message: " + ec.message());
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
