// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Errors name what was wrong: values out of range are called out of range
// (not malformed), definitions SQLite cannot hold are refused when they
// load (not when a runtime starts), and a failed commit says whose it was.

#include "support/faults.hpp"
#include "support/temp_dir.hpp"

#include <string>

#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

#include "eventactors/all.hpp"

using namespace eventactors;
using namespace eventactors::test;
using Catch::Matchers::Contains;

namespace {

std::string cast_error(const attribute_type& t, json::value v) {
  json::value out;
  auto err = t.cast(v, out);
  INFO(json::serialize(v) << " as " << t.name());
  REQUIRE(err);
  return *err;
}

/// A JSON app with one resource; `patch` edits the resource's object.
template <class F>
caf::expected<app> load_with(F patch) {
  json::object res{{"name", "Item"},
                   {"attributes",
                    json::array{json::object{{"name", "title"},
                                             {"type", "string"}}}},
                   {"actions",
                    json::array{json::object{{"name", "create"},
                                             {"kind", "create"},
                                             {"accept", json::array{"title"}}}}},
                   {"events", json::object{{"event_log", "events"}}}};
  json::object log{{"name", "events"}};
  patch(res, log);
  json::object doc{{"event_logs", json::array{log}},
                   {"resources", json::array{res}}};
  return load_app(doc);
}

} // namespace

TEST_CASE("errors: integers beyond 64 bits are out of range, not malformed",
          "[errors]") {
  auto t = types::integer();
  // INT64_MIN - 1 and INT64_MAX + 1 arrive as doubles (or uint64).
  for (auto v : {json::value(-9223372036854775809.0),
                 json::value(9223372036854775808.0),
                 json::value(uint64_t{9223372036854775808ull}),
                 json::value(1e300)}) {
    auto err = cast_error(t, v);
    CHECK_THAT(err, Contains("out of range"));
    CHECK_THAT(err, Contains("-9223372036854775808"));
    CHECK_THAT(err, !Contains("expected"));
  }
  // The limits themselves are integers; the largest doubles inside them too.
  for (auto v : {json::value(INT64_MIN), json::value(INT64_MAX),
                 json::value(-9223372036854774784.0),
                 json::value(9223372036854774784.0)}) {
    json::value out;
    CHECK_FALSE(t.cast(v, out));
    CHECK(out.is_int64());
  }
  CHECK_THAT(cast_error(t, json::value(1.5)), Contains("expected an integer"));
}

TEST_CASE("errors: a well-formed date-time outside the years 0000 to 9999 is "
          "out of range, not malformed",
          "[errors]") {
  auto t = types::utc_datetime();
  for (auto s : {"9999-12-31T23:59:59-01:00", "0000-01-01T00:30:00+01:00"}) {
    auto err = cast_error(t, json::string{s});
    CHECK_THAT(err, Contains("out of range"));
    CHECK_THAT(err, Contains(s));
  }
  CHECK(check_timestamp("9999-12-31T23:59:59-01:00")
        == timestamp_check::out_of_range);
  CHECK(check_timestamp("9999-12-31T23:59:59+01:00")
        == timestamp_check::valid);
  CHECK(check_timestamp("2026-13-01T00:00:00Z") == timestamp_check::malformed);
  CHECK_THAT(cast_error(t, json::string{"yesterday"}),
             Contains("expected an ISO 8601 date-time"));
}

TEST_CASE("errors: tables SQLite or the framework own, and more columns than "
          "SQLite allows, are refused when the definition loads",
          "[errors]") {
  for (auto name : {"sqlite_master", "sqlite_schema", "sqlite_stat1",
                    "eventactors_meta", "eventactors_keys"}) {
    INFO(name);
    auto a = load_with([&](json::object& res, json::object&) {
      res["table"] = name;
    });
    REQUIRE_FALSE(a);
    CHECK(is(a.error(), errc::invalid_definition));
    CHECK_THAT(message(a.error()), Contains(name));
    CHECK_THAT(message(a.error()), Contains("reserved"));
    auto b = load_with([&](json::object&, json::object& log) {
      log["name"] = name;
    });
    REQUIRE_FALSE(b);
    CHECK_THAT(message(b.error()), Contains("reserved"));
  }
  auto many = load_with([](json::object& res, json::object&) {
    json::array attrs;
    for (int i = 0; i < 3000; ++i)
      attrs.push_back(json::object{{"name", "a" + std::to_string(i)},
                                   {"type", "string"}});
    attrs.push_back(json::object{{"name", "title"}, {"type", "string"}});
    res["attributes"] = std::move(attrs);
  });
  REQUIRE_FALSE(many);
  CHECK(is(many.error(), errc::invalid_definition));
  // 3,000, "title" and the primary key "id".
  CHECK_THAT(message(many.error()), Contains("3002 attributes"));
  CHECK_THAT(message(many.error()), Contains("1999"));
  // The primary key counts: "id", 1,997 more and "title" make 1,999
  // attributes, 2,000 columns with _version, which is fine.
  auto most = load_with([](json::object& res, json::object&) {
    json::array attrs;
    for (int i = 0; i < 1997; ++i)
      attrs.push_back(json::object{{"name", "a" + std::to_string(i)},
                                   {"type", "string"}});
    attrs.push_back(json::object{{"name", "title"}, {"type", "string"}});
    res["attributes"] = std::move(attrs);
  });
  INFO((most ? std::string{"ok"} : render(most.error())));
  CHECK(most);
  auto actors = load_with([](json::object&, json::object& log) {
    json::array cols;
    for (int i = 0; i < 2000; ++i)
      cols.push_back(json::object{{"column", "c" + std::to_string(i)},
                                  {"actor_type", "T" + std::to_string(i)},
                                  {"type", "string"}});
    log["persist_actor_primary_key"] = std::move(cols);
  });
  REQUIRE_FALSE(actors);
  CHECK_THAT(message(actors.error()), Contains("2000 actor columns"));
}

TEST_CASE("errors: a lone action that fails to commit on a full disk says "
          "so, without speaking of other actions",
          "[errors][faults]") {
  temp_dir dir;
  auto path = dir.file("full.db");
  disk_quota quota{dir.path().string()};
  app a;
  a.add(event_log{"events"}).record_id_type(record_id_kind::integer);
  auto& item = a.add(resource{"Item"});
  item.primary_key("id", key_kind::integer)
    .attribute("title", types::string());
  item.events("events");
  item.create("create").accept({"title"});
  runtime_options opts;
  opts.path = path;
  opts.checkpoint_pages = 0;
  auto rt = runtime::start(a, opts);
  REQUIRE(rt);
  REQUIRE((*rt)->run("Item", "create", {{"title", "fits"}}));
  quota.limit(0);
  auto res = (*rt)->run("Item", "create",
                        {{"title", std::string(64 * 1024, 'x')}});
  quota.unlimited();
  REQUIRE_FALSE(res);
  INFO(render(res.error()));
  CHECK(is(res.error(), errc::storage_failure));
  CHECK_THAT(message(res.error()), Contains("full"));
  CHECK_THAT(message(res.error()), !Contains("other actions"));
  CHECK(quota.refused() > 0);
}
