// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/time.hpp"

#include <cstdio>

namespace eventactors {

namespace {

using namespace std::chrono;

bool read_digits(std::string_view str, size_t pos, size_t n, int& out) {
  if (pos + n > str.size())
    return false;
  int value = 0;
  for (size_t i = 0; i < n; ++i) {
    auto c = str[pos + i];
    if (c < '0' || c > '9')
      return false;
    value = value * 10 + (c - '0');
  }
  out = value;
  return true;
}

std::optional<year_month_day> read_ymd(std::string_view str) {
  int y = 0, m = 0, d = 0;
  if (str.size() < 10 || !read_digits(str, 0, 4, y) || str[4] != '-'
      || !read_digits(str, 5, 2, m) || str[7] != '-'
      || !read_digits(str, 8, 2, d))
    return std::nullopt;
  auto ymd = year{y} / month{static_cast<unsigned>(m)}
             / day{static_cast<unsigned>(d)};
  if (!ymd.ok())
    return std::nullopt;
  return ymd;
}

} // namespace

timestamp now_utc() noexcept {
  return time_point_cast<microseconds>(system_clock::now());
}

namespace {

/// Writes `value` as exactly `width` decimal digits ending before `end`.
void put_digits(char* end, int width, int64_t value) {
  for (int i = 0; i < width; ++i) {
    *--end = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

} // namespace

std::string format_timestamp(timestamp x) {
  // Runs for every event written and replayed: no printf.
  auto days = floor<std::chrono::days>(x);
  year_month_day ymd{days};
  hh_mm_ss<microseconds> tod{x - days};
  auto y = static_cast<int>(ymd.year());
  if (y < 0 || y > 9999) {
    char buf[48];
    std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", y,
                  static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()),
                  static_cast<int>(tod.hours().count()),
                  static_cast<int>(tod.minutes().count()),
                  static_cast<int>(tod.seconds().count()),
                  static_cast<int>(tod.subseconds().count()));
    return buf;
  }
  std::string out = "0000-00-00T00:00:00.000000Z";
  auto p = out.data();
  put_digits(p + 4, 4, y);
  put_digits(p + 7, 2, static_cast<unsigned>(ymd.month()));
  put_digits(p + 10, 2, static_cast<unsigned>(ymd.day()));
  put_digits(p + 13, 2, tod.hours().count());
  put_digits(p + 16, 2, tod.minutes().count());
  put_digits(p + 19, 2, tod.seconds().count());
  put_digits(p + 26, 6, tod.subseconds().count());
  return out;
}

namespace {

/// parse_timestamp; sets `out_of_range` when `str` is well-formed but its
/// UTC time lies outside the years 0000 to 9999.
std::optional<timestamp> parse_timestamp_impl(std::string_view str,
                                              bool& out_of_range) {
  // YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)
  auto ymd = read_ymd(str);
  if (!ymd || str.size() < 20 || (str[10] != 'T' && str[10] != 't'
                                  && str[10] != ' '))
    return std::nullopt;
  int hh = 0, mm = 0, ss = 0;
  if (!read_digits(str, 11, 2, hh) || str[13] != ':'
      || !read_digits(str, 14, 2, mm) || str[16] != ':'
      || !read_digits(str, 17, 2, ss))
    return std::nullopt;
  if (hh > 23 || mm > 59 || ss > 59)
    return std::nullopt;
  size_t pos = 19;
  int64_t micros = 0;
  if (pos < str.size() && str[pos] == '.') {
    ++pos;
    size_t digits = 0;
    while (pos < str.size() && str[pos] >= '0' && str[pos] <= '9') {
      if (digits < 6)
        micros = micros * 10 + (str[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9)
      return std::nullopt;
    for (auto i = digits; i < 6; ++i)
      micros *= 10;
  }
  int offset_minutes = 0;
  if (pos >= str.size())
    return std::nullopt;
  if (str[pos] == 'Z' || str[pos] == 'z') {
    ++pos;
  } else if (str[pos] == '+' || str[pos] == '-') {
    int oh = 0, om = 0;
    if (!read_digits(str, pos + 1, 2, oh) || pos + 3 >= str.size()
        || str[pos + 3] != ':' || !read_digits(str, pos + 4, 2, om)
        || oh > 23 || om > 59)
      return std::nullopt;
    offset_minutes = (oh * 60 + om) * (str[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != str.size())
    return std::nullopt;
  auto t = sys_days{*ymd} + hours{hh} + minutes{mm} + seconds{ss}
           + microseconds{micros} - minutes{offset_minutes};
  // The offset may push the time out of the years 0000 to 9999, which
  // format_timestamp writes in fixed width (storage sorts the text).
  if (t < sys_days{year{0} / 1 / 1} || t >= sys_days{year{10000} / 1 / 1}) {
    out_of_range = true;
    return std::nullopt;
  }
  return time_point_cast<microseconds>(t);
}

} // namespace

std::optional<timestamp> parse_timestamp(std::string_view str) {
  bool out_of_range = false;
  return parse_timestamp_impl(str, out_of_range);
}

timestamp_check check_timestamp(std::string_view str) {
  bool out_of_range = false;
  if (parse_timestamp_impl(str, out_of_range))
    return timestamp_check::valid;
  return out_of_range ? timestamp_check::out_of_range
                      : timestamp_check::malformed;
}

std::string format_date(date x) {
  year_month_day ymd{x};
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u",
                static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

std::optional<date> parse_date(std::string_view str) {
  if (str.size() != 10)
    return std::nullopt;
  auto ymd = read_ymd(str);
  if (!ymd)
    return std::nullopt;
  return sys_days{*ymd};
}

} // namespace eventactors
