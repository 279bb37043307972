// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "args.hpp"

#include <algorithm>

#include <caf/expected.hpp>

#include "eventactors/actor.hpp"
#include "eventactors/error.hpp"
#include "eventactors/event_log.hpp"
#include "eventactors/json_app.hpp"
#include "eventactors/types.hpp"

#include "output.hpp"

namespace eventactors::cli {

caf::expected<actor> parse_actor(const std::string& spec) {
  auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size())
    return make_error(errc::invalid_input,
                      "--actor: expected TYPE:ID, e.g. SystemActor:nightly-"
                      "sync, got \"" + spec + "\"");
  return actor{spec.substr(0, colon), json::string{spec.substr(colon + 1)}};
}

caf::expected<json::object> parse_object(const std::string& text,
                                         const std::string& what) {
  auto doc = parse_json(text, what);
  if (!doc)
    return std::move(doc.error());
  if (!doc->is_object())
    return make_error(errc::invalid_input,
                      what + ": expected a JSON object, got "
                        + clip(to_json_text(*doc), 40));
  return std::move(doc->get_object());
}

caf::expected<timestamp> parse_time(const std::string& text,
                                    const std::string& what) {
  if (auto t = parse_timestamp(text))
    return *t;
  if (check_timestamp(text) == timestamp_check::out_of_range)
    return make_error(errc::invalid_input,
                      what + ": \"" + text
                        + "\" lies outside the years 0000 to 9999 (UTC)");
  return make_error(errc::invalid_input,
                    what + ": expected an ISO 8601 date-time with a time "
                           "zone, e.g. 2026-11-27T10:00:00Z, got \""
                      + text + "\"");
}

bool all_digits(const std::string& x) {
  return !x.empty() && std::all_of(x.begin(), x.end(), [](char ch) {
    return ch >= '0' && ch <= '9';
  });
}

namespace {

/// Whether `x` is a positive integer in plain digits (no sign, no spaces,
/// no leading zero) that fits 64 bits.
bool plain_positive_integer(const std::string& x) {
  return all_digits(x) && x.size() < 19 && x.front() != '0';
}

} // namespace

bool event_id_shaped(const std::string& x) {
  json::value id;
  return plain_positive_integer(x)
         || !types::uuid().cast(json::value(json::string{x}), id);
}

caf::expected<json::value> event_id_arg(const event_log& log,
                                        const std::string& x,
                                        const char* opt) {
  if (log.id_kind() == event_id_kind::uuid_v7) {
    json::value id;
    if (!types::uuid().cast(json::value(json::string{x}), id))
      return id;
    return make_error(errc::invalid_input,
                      std::string{opt} + ": expected an event id (a UUID), "
                                         "got \""
                        + x + "\"");
  }
  if (plain_positive_integer(x))
    return json::value(std::stoll(x));
  return make_error(errc::invalid_input,
                    std::string{opt} + ": expected an event id (a "
                                       "positive integer), got \""
                      + x + "\"");
}

} // namespace eventactors::cli
