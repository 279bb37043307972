// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace eventactors {

/// A point in time, UTC, with microsecond precision: the resolution of
/// event timestamps and datetime attributes.
using timestamp
  = std::chrono::time_point<std::chrono::system_clock,
                            std::chrono::microseconds>;

/// Returns the current time, truncated to microseconds.
timestamp now_utc() noexcept;

/// Formats `x` as ISO 8601 UTC with exactly six fractional digits, e.g.
/// `2026-11-27T02:52:00.123456Z`. The fixed width makes the text sort in
/// time order, which storage relies on.
std::string format_timestamp(timestamp x);

/// Parses an ISO 8601 date-time with a `Z` or `+HH:MM` offset and up to nine
/// fractional digits (truncated to microseconds). Returns `nullopt` for
/// anything else, including out-of-range fields.
std::optional<timestamp> parse_timestamp(std::string_view str);

/// What `check_timestamp` finds.
enum class timestamp_check {
  valid,        ///< `parse_timestamp` takes it.
  malformed,    ///< Not an ISO 8601 date-time with a time zone.
  out_of_range, ///< Well-formed, but outside the years 0000 to 9999 (UTC).
};

/// Tells why `parse_timestamp` refuses `str`, for an error message.
timestamp_check check_timestamp(std::string_view str);

/// Days since 1970-01-01 in the proleptic Gregorian calendar.
using date = std::chrono::sys_days;

/// Formats `x` as `YYYY-MM-DD`.
std::string format_date(date x);

/// Parses `YYYY-MM-DD`; returns `nullopt` for invalid dates.
std::optional<date> parse_date(std::string_view str);

} // namespace eventactors
