// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "support/records.hpp"

#include <algorithm>

#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

namespace eventactors::test {

// -- JSON values --------------------------------------------------------------

std::string show(const json::value& x) {
  return json::serialize(x);
}

// -- running actions and reading a runtime ------------------------------------

record must_run(runtime& rt, call c) {
  auto what = c.resource + "." + c.action;
  auto result = rt.run(std::move(c));
  if (!result)
    FAIL(what << " failed: " << render(result.error()));
  return std::move(*result);
}

std::vector<event> events_where(runtime& rt, event_filter f) {
  std::vector<event> result;
  auto err = rt.for_each_event(std::move(f), [&](const event& ev) {
    result.push_back(ev);
    return true;
  });
  if (err)
    FAIL("reading events failed: " << render(err));
  return result;
}

std::vector<record> all_records(runtime& rt, const std::string& resource) {
  auto xs = rt.list(resource, {.limit = 100000});
  if (!xs)
    FAIL("list " << resource << " failed: " << render(xs.error()));
  return std::move(*xs);
}

std::optional<record> find_record(runtime& rt, const std::string& resource,
                                  const json::value& id) {
  auto rec = rt.get(resource, id);
  if (!rec) {
    if (is(rec.error(), errc::not_found))
      return std::nullopt;
    FAIL("get " << resource << " failed: " << render(rec.error()));
  }
  return std::move(*rec);
}

// -- records ------------------------------------------------------------------

std::vector<record> with(const std::vector<record>& xs, std::string_view field,
                         const json::value& value) {
  std::vector<record> result;
  for (auto& x : xs)
    if (x.get(field) == value)
      result.push_back(x);
  return result;
}

std::vector<std::string> sorted_strings(const std::vector<record>& xs,
                                        std::string_view field) {
  std::vector<std::string> result;
  for (auto& x : xs)
    result.emplace_back(x.get_string(field));
  std::sort(result.begin(), result.end());
  return result;
}

std::vector<std::string> sorted_ids(const std::vector<record>& xs) {
  std::vector<std::string> result;
  for (auto& x : xs)
    result.push_back(show(x.id));
  std::sort(result.begin(), result.end());
  return result;
}

std::vector<std::string> sorted_ids(const std::vector<json::value>& xs) {
  std::vector<std::string> result;
  for (auto& x : xs)
    result.push_back(show(x));
  std::sort(result.begin(), result.end());
  return result;
}

timestamp timestamp_of(const record& rec, std::string_view field) {
  auto str = rec.get_string(field);
  INFO(rec.resource << "." << field << " = " << str << " ("
                    << show(rec.get(field)) << ")");
  auto ts = parse_timestamp(str);
  REQUIRE(ts.has_value());
  return *ts;
}

// -- events -------------------------------------------------------------------

std::vector<std::string> actions_of(const std::vector<event>& evs) {
  std::vector<std::string> result;
  for (auto& ev : evs)
    result.push_back(ev.resource + "." + ev.action);
  return result;
}

// -- errors -------------------------------------------------------------------

bool has_field_error(const caf::error& err, std::string_view field) {
  for (auto& fe : field_errors(err))
    if (fe.field == field)
      return true;
  return false;
}

std::string describe(const caf::error& err) {
  auto result = render(err);
  for (auto& fe : field_errors(err))
    result += "\n  field error: " + fe.field + ": " + fe.message;
  return result;
}

} // namespace eventactors::test
