// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/types.hpp"

#include <set>

#include <catch2/catch.hpp>

#include "eventactors/error.hpp"
#include "eventactors/time.hpp"
#include "base/utf8.hpp"
#include "base/uuid.hpp"

using namespace eventactors;

namespace {

json::value cast_ok(const attribute_type& t, json::value in) {
  json::value out;
  auto err = t.cast(in, out);
  INFO("cast error: " << (err ? *err : std::string{"none"}));
  REQUIRE(!err);
  return out;
}

std::string cast_err(const attribute_type& t, json::value in) {
  json::value out;
  auto err = t.cast(in, out);
  REQUIRE(err);
  return *err;
}

} // namespace

TEST_CASE("every errc renders with a distinct name", "[error]") {
  std::set<std::string> names;
  for (int i = 0; i <= static_cast<int>(errc::decryption_failed); ++i) {
    auto name = to_string(static_cast<errc>(i));
    CHECK(name.find("errc(") == std::string::npos);
    CHECK(names.insert(name).second);
  }
  auto err = make_error(errc::invalid_input, "User.create: x: bad",
                        {{"x", "bad"}});
  CHECK(render(err) == "invalid_input: User.create: x: bad");
  CHECK(message(err) == "User.create: x: bad");
  CHECK(field_errors(err) == std::vector<field_error>{{"x", "bad"}});
  CHECK(is(err, errc::invalid_input));
  CHECK_FALSE(is(err, errc::conflict));
}

TEST_CASE("timestamps format with six fractional digits and parse back",
          "[time]") {
  auto t = parse_timestamp("2026-11-27T02:52:00.123456Z");
  REQUIRE(t);
  CHECK(format_timestamp(*t) == "2026-11-27T02:52:00.123456Z");
  CHECK(format_timestamp(*parse_timestamp("2026-01-02T03:04:05Z"))
        == "2026-01-02T03:04:05.000000Z");
  // Offsets convert to UTC; extra digits truncate to microseconds.
  CHECK(format_timestamp(*parse_timestamp("2026-01-02T03:04:05.5+01:30"))
        == "2026-01-02T01:34:05.500000Z");
  CHECK(format_timestamp(*parse_timestamp("2026-01-02T03:04:05.123456789Z"))
        == "2026-01-02T03:04:05.123456Z");
  for (auto bad : {"", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                   "2026-01-01T24:00:00Z", "2026-01-01T00:00:00",
                   "2026-01-01 00:00", "yesterday", "2026-01-01T00:00:00.Z",
                   "2026-01-01T00:00:00Zjunk", "2026-01-01T00:00:00+25:00"})
    CHECK_FALSE(parse_timestamp(bad));
  CHECK(format_date(*parse_date("2024-02-29")) == "2024-02-29");
  CHECK_FALSE(parse_date("2023-02-29"));
  CHECK_FALSE(parse_date("2023-2-1"));
}

TEST_CASE("UUIDs: v4 and v7 have their version bits, v7 increase",
          "[uuid]") {
  auto v4 = uuid::format(uuid::random_v4());
  CHECK(v4.size() == 36);
  CHECK(v4[14] == '4');
  uuid::v7_sequence seq;
  auto t = now_utc();
  std::string prev;
  for (int i = 0; i < 5000; ++i) {
    auto x = uuid::format(seq.next(t, static_cast<uint64_t>(i) * 7919, i));
    CHECK(x[14] == '7');
    CHECK(x > prev);
    prev = x;
  }
  CHECK(uuid::canonical("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11")
        == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  CHECK_FALSE(uuid::canonical("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1"));
  CHECK_FALSE(uuid::canonical("a0eebc99x9c0b-4ef8-bb6d-6bb9bd380a11"));
  CHECK_FALSE(uuid::canonical("g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
}

TEST_CASE("casting input to attribute types", "[types]") {
  CHECK(cast_ok(types::integer(), 42) == 42);
  CHECK(cast_ok(types::integer(), "42") == 42);
  CHECK(cast_ok(types::integer(), 3.0) == 3);
  CHECK(cast_err(types::integer(), "abc") == "expected an integer, got \"abc\"");
  CHECK(cast_err(types::integer(), 3.5).find("integer") != std::string::npos);
  CHECK(cast_err(types::integer(), json::value(18446744073709551615ull))
          .find("out of range")
        != std::string::npos);
  CHECK(cast_ok(types::boolean(), true) == true);
  CHECK(cast_ok(types::boolean(), "false") == false);
  CHECK(cast_err(types::boolean(), 3.5) == "expected a boolean, got 3.5");
  CHECK(cast_err(types::string(), 5) == "expected a string, got 5");
  CHECK(cast_err(types::string(), json::string{"\xC3\x28"})
        == "invalid UTF-8 in string");
  CHECK(cast_ok(types::floating(), 2) == 2.0);
  CHECK(cast_err(types::floating(), std::numeric_limits<double>::infinity())
        == "expected a finite number");
  CHECK(cast_ok(types::uuid(), "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11")
        == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  CHECK(cast_err(types::uuid(), "nope").find("UUID") != std::string::npos);
  CHECK(cast_ok(types::utc_datetime(), "2026-01-01T00:00:00+02:00")
        == "2025-12-31T22:00:00.000000Z");
  CHECK(cast_err(types::utc_datetime(), "2026-01-01").find("date-time")
        != std::string::npos);
  CHECK(cast_ok(types::date(), "2026-01-01") == "2026-01-01");
  CHECK(cast_err(types::map(), json::array{}) == "expected an object, got []");
  CHECK(cast_ok(types::array(types::integer()), json::array{1, "2"})
        == json::array{1, 2});
  CHECK(cast_err(types::array(types::integer()), json::array{1, "x"})
        == "[1]: expected an integer, got \"x\"");
  auto addr = types::object({{"street", types::string(), false},
                             {"zip", types::string()}});
  CHECK(cast_ok(addr, json::object{{"street", "Main"}})
        == json::object{{"street", "Main"}, {"zip", nullptr}});
  CHECK(cast_err(addr, json::object{{"zip", "1"}}) == "street: is required");
  CHECK(cast_err(addr, json::object{{"street", "a"}, {"x", 1}})
        == "unknown field \"x\"");
  CHECK(cast_ok(types::string(), nullptr).is_null());
  CHECK(types::array(types::string()).name() == "array<string>");
}

TEST_CASE("UTF-8 validation", "[types]") {
  CHECK(utf8::valid("plain"));
  CHECK(utf8::valid("\xE2\x82\xAC"));          // euro sign
  CHECK_FALSE(utf8::valid("\xC0\xAF"));         // overlong
  CHECK_FALSE(utf8::valid("\xED\xA0\x80"));     // surrogate
  CHECK_FALSE(utf8::valid("\xF4\x90\x80\x80")); // above U+10FFFF
  CHECK_FALSE(utf8::valid("\xE2\x82"));         // truncated
  CHECK(utf8::length("h\xC3\xA9llo") == 5);
}
