// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace eventactors {

/// Dynamic values (inputs, attribute values, event data, metadata) are
/// Boost.JSON values inside a process.
namespace json = boost::json;

/// Returns `x` as compact JSON text, the form values take wherever the
/// runtime writes them as text (storage, event payloads, messages, the
/// command line). Numbers read back exactly: integers print in full and
/// doubles in the shortest form that parses back to the same bits, always
/// with a `.` or an exponent so that a double stays a double (`2.5`,
/// `2.0`, `-0.0`, `2.5e-300`, `1e22`). NaN and infinities, which JSON
/// cannot hold, print as `NaN`, `Infinity` and `-Infinity`. Strings and
/// keys are escaped as `boost::json::serialize` escapes them.
std::string to_json_text(const json::value& x);

/// Like `to_json_text` for an object.
std::string to_json_text(const json::object& x);

} // namespace eventactors
