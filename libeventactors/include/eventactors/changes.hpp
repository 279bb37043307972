// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eventactors/changeset.hpp"
#include "eventactors/resource.hpp"

/// Built-in changes: `action.change(changes::set_attribute("confirmed_at",
/// value_source::now()))`.
namespace eventactors::changes {

/// Sets `attribute` to `value` (a constant or a generator such as
/// `value_source::now()`).
change set_attribute(std::string attribute, value_source value);

/// Copies argument `argument` into `attribute` when the argument has a
/// value.
change set_from_argument(std::string attribute, std::string argument);

/// Sets `to` to a slug of attribute `from` (ASCII letters lowercased; every
/// other character outside `[a-z0-9]` becomes one `-`), when the action
/// sets `from` and does not set `to` itself. An update that sets `from`
/// therefore replaces the slug.
change slugify(std::string from, std::string to);

/// Adds `by` to integer attribute `attribute` (null counts as 0).
change increment(std::string attribute, int64_t by = 1);

} // namespace eventactors::changes

/// Built-in conditions for conditional changes and validations.
namespace eventactors::conditions {

/// Holds when the action sets `attribute`.
condition changing(std::string attribute);

/// Holds when the caller's input has key `key` with a non-null value.
condition input_present(std::string key);

/// Holds when argument `argument` has a non-null value.
condition argument_present(std::string argument);

/// Holds when attribute `attribute` will have a non-null value.
condition attribute_present(std::string attribute);

/// Holds when attribute `attribute` will equal `value`.
condition attribute_equals(std::string attribute, json::value value);

/// Holds when `cond` does not.
condition negate(condition cond);

} // namespace eventactors::conditions

/// Built-in validations: `action.validate(validations::string_length("name",
/// 2, 100))`. Each checks the value the attribute will have (or the
/// argument), produces an error on that field, and can carry a custom
/// message (`with_message`).
namespace eventactors::validations {

/// The attribute or argument is present (not null, not an empty string).
validation present(std::string field);

/// The attribute or argument is null.
validation absent(std::string field);

/// A string's length in characters (UTF-8 code points) is within bounds;
/// a bound of -1 is open.
validation string_length(std::string field, int64_t min, int64_t max = -1);

/// A string contains a match of the regular expression `pattern`, in RE2
/// syntax (linear-time matching; no backreferences or lookaround). An
/// invalid pattern fails every check, naming the problem.
validation match(std::string field, std::string pattern);

/// The value is one of `values`.
validation one_of(std::string field, std::vector<json::value> values);

/// A number lies within [min, max].
validation numeric_range(std::string field, double min, double max);

/// Two fields (attributes or arguments) are equal, e.g. a password and its
/// confirmation; the error is on `confirmation`.
validation confirm(std::string field, std::string confirmation);

/// The attribute equals `value`.
validation attribute_equals(std::string attribute, json::value value);

/// The attribute does not equal `value`.
validation attribute_does_not_equal(std::string attribute, json::value value);

} // namespace eventactors::validations
