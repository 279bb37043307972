// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/parse_options.hpp>
#include <boost/system/error_code.hpp>

#include "eventactors/json.hpp"

// Exact JSON text: Boost.JSON 1.81 reads some decimal numbers one unit in
// the last place off (its conversion is not correctly rounded) and prints
// doubles in a form of its own (`2.5E0`). Every place where a value turns
// into text or back goes through these functions instead, so that a double
// keeps its bits from the text a user typed to every value read back.
namespace eventactors::json_io {

/// Why `parse` failed.
struct parse_failure {
  /// A `boost::json::error` code.
  boost::system::error_code ec;
  /// The byte offset in the text where the problem was found.
  std::size_t offset = 0;
  /// With `refuse_duplicate_keys`: the key given twice in one object.
  std::string duplicate_key;
};

/// Parses one JSON document (only white space may follow it) like
/// `boost::json::parse` with `opts`, except that numbers with a fraction or
/// an exponent, and integers beyond 64 bits, become the correctly rounded
/// double of their text (`std::from_chars`). A number too large for a
/// double becomes an infinity, one too small a zero of its sign. With
/// `refuse_duplicate_keys`, an object giving one key twice is an error.
std::optional<parse_failure> parse(std::string_view text,
                                   const boost::json::parse_options& opts,
                                   bool refuse_duplicate_keys,
                                   json::value& out);

/// Parse options for JSON the runtime wrote itself: deeper than any input
/// it accepts (64 levels), so what was written can always be read back.
boost::json::parse_options stored_options();

/// Parses JSON text the runtime wrote itself (`stored_options`).
std::optional<parse_failure> parse_stored(std::string_view text,
                                          json::value& out);

/// Appends `x` to `out` as `to_json_text` renders it.
void write(std::string& out, const json::value& x);

/// Appends the shortest text that reads back as `x` (see `to_json_text`).
void write_double(std::string& out, double x);

/// Whether `x` and `y` are the same value: same kinds, doubles with the
/// same bits (so `-0.0` differs from `0.0`), objects with the same keys
/// (in any order) holding identical values.
bool identical(const json::value& x, const json::value& y) noexcept;

} // namespace eventactors::json_io
