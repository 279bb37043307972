// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

#include "eventactors/all.hpp"

namespace eventactors::test {

// -- JSON values --------------------------------------------------------------

/// Returns `x` as JSON text.
std::string show(const json::value& x);

// -- running actions and reading a runtime ------------------------------------

/// Runs `c` on `rt`, which must succeed; fails the test with
/// `Resource.action failed: ...` otherwise.
record must_run(runtime& rt, call c);

/// Every event `f` selects, oldest first; fails the test when reading
/// fails.
std::vector<event> events_where(runtime& rt, event_filter f = {});

/// Every record of `resource`; fails the test when listing fails.
std::vector<record> all_records(runtime& rt, const std::string& resource);

/// The record of `resource` with `id`, or nullopt when there is none; fails
/// the test on any other error.
std::optional<record> find_record(runtime& rt, const std::string& resource,
                                  const json::value& id);

// -- records ------------------------------------------------------------------

/// Records of `xs` whose attribute `field` equals `value`.
std::vector<record> with(const std::vector<record>& xs, std::string_view field,
                         const json::value& value);

/// The string values of `field` of `xs`, sorted.
std::vector<std::string> sorted_strings(const std::vector<record>& xs,
                                        std::string_view field);

/// The ids of `xs` as JSON text, sorted: comparable whatever the key type.
std::vector<std::string> sorted_ids(const std::vector<record>& xs);

/// The ids `xs` as JSON text, sorted.
std::vector<std::string> sorted_ids(const std::vector<json::value>& xs);

/// Parses the date-time attribute `field` of `rec`; fails the test when it
/// is not a valid timestamp.
timestamp timestamp_of(const record& rec, std::string_view field);

// -- events -------------------------------------------------------------------

/// The events of `xs` for which `pred` holds, in order.
template <class Pred>
std::vector<event> select(const std::vector<event>& xs, Pred pred) {
  std::vector<event> result;
  for (auto& x : xs)
    if (pred(x))
      result.push_back(x);
  return result;
}

/// "Resource.action" of every event, in order.
std::vector<std::string> actions_of(const std::vector<event>& evs);

// -- errors -------------------------------------------------------------------

/// Whether `err` has a field error for `field`.
bool has_field_error(const caf::error& err, std::string_view field);

/// The rendered error followed by its field errors, one a line: for
/// failure messages.
std::string describe(const caf::error& err);

} // namespace eventactors::test
