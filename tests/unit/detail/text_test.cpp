// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The one show() and quoted() that error messages use for values and names.

#include "detail/text.hpp"

#include <string>

#include <catch2/catch.hpp>

using namespace eventactors;

TEST_CASE("detail::show renders JSON and cuts it at a width", "[text]") {
  using detail::show;
  SECTION("without a width, the whole text") {
    json::value x = json::string(std::string(200, 'a'));
    CHECK(show(x) == to_json_text(x));
    CHECK(show(x).size() == 202);
    CHECK(show(json::value(42)) == "42");
    CHECK(show(json::value(nullptr)) == "null");
  }
  SECTION("a text of at most `width` characters stays whole") {
    // 78 characters with the quotes, 80 exactly, 81.
    json::value fits = json::string(std::string(76, 'b'));
    json::value exact = json::string(std::string(78, 'b'));
    json::value over = json::string(std::string(79, 'b'));
    CHECK(show(fits, 80) == to_json_text(fits));
    CHECK(show(exact, 80) == to_json_text(exact));
    auto cut = show(over, 80);
    CHECK(cut.size() == 80);
    CHECK(cut == "\"" + std::string(76, 'b') + "...");
  }
  SECTION("the widths messages use: 60 and 80") {
    json::object obj;
    for (int i = 0; i < 30; ++i)
      obj["k" + std::to_string(i)] = i;
    json::value x = obj;
    auto full = to_json_text(x);
    REQUIRE(full.size() > 80);
    CHECK(show(x, 60) == full.substr(0, 57) + "...");
    CHECK(show(x, 80) == full.substr(0, 77) + "...");
  }
}

TEST_CASE("detail::quoted puts a name in double quotes", "[text]") {
  CHECK(detail::quoted("create") == "\"create\"");
  CHECK(detail::quoted("") == "\"\"");
  // Names are shown as given, not escaped.
  CHECK(detail::quoted("a\"b") == "\"a\"b\"");
}
