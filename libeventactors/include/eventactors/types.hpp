// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eventactors/json.hpp"

namespace eventactors {

/// The kinds of values an attribute or argument can hold.
enum class type_kind : uint8_t {
  string,      ///< UTF-8 text.
  ci_string,   ///< Text compared case-insensitively (ASCII), stored as given.
  integer,     ///< 64-bit signed integer.
  floating,    ///< 64-bit IEEE float; NaN and infinities are rejected.
  boolean,     ///< true or false.
  uuid,        ///< A UUID, stored as canonical lowercase text.
  utc_datetime, ///< UTC date-time with microseconds, stored as ISO 8601.
  date,        ///< A calendar date, stored as `YYYY-MM-DD`.
  map,         ///< Any JSON object.
  array,       ///< A JSON array whose elements share one type.
  object,      ///< A nested value object with named, typed fields.
};

/// Returns the name of `x`, e.g. `"utc_datetime"`.
std::string to_string(type_kind x);

class attribute_type;

/// One field of a nested value object (`types::object`).
struct object_field {
  std::string name;
  std::shared_ptr<const attribute_type> type;
  bool allow_nil = true;
};

/// The type of an attribute or argument. A small value type; copies share
/// their element and field descriptions.
class attribute_type {
public:
  attribute_type() = default;

  explicit attribute_type(type_kind kind) : kind_(kind) {
    // nop
  }

  type_kind kind() const noexcept {
    return kind_;
  }

  /// The element type of an array; null for other kinds.
  const attribute_type* element() const noexcept {
    return element_.get();
  }

  /// The fields of a nested value object; empty for other kinds.
  const std::vector<object_field>& fields() const noexcept;

  /// Returns a readable name, e.g. `array<string>` or `object{street,city}`.
  std::string name() const;

  /// Casts `input` (a caller-supplied JSON value) to this type's storage
  /// form. Returns an explanation on failure, e.g.
  /// `expected an integer, got "abc"`. Null is returned as null; callers
  /// check `allow_nil` themselves.
  [[nodiscard]] std::optional<std::string> cast(const json::value& input,
                                                json::value& out) const;

  // -- factories (see namespace `types`) --------------------------------------

  static attribute_type make_array(attribute_type element);

  static attribute_type make_object(std::vector<object_field> fields);

private:
  type_kind kind_ = type_kind::string;
  std::shared_ptr<const attribute_type> element_;
  std::shared_ptr<const std::vector<object_field>> fields_;
};

/// Factories for attribute types: `types::string()`, `types::array(
/// types::integer())`, `types::object({{"street", types::string()}})`.
namespace types {

attribute_type string();
attribute_type ci_string();
attribute_type integer();
attribute_type floating();
attribute_type boolean();
attribute_type uuid();
attribute_type utc_datetime();
attribute_type date();
attribute_type map();
attribute_type array(attribute_type element);

/// Describes one field of `types::object`.
struct field {
  std::string name;
  attribute_type type;
  bool allow_nil = true;
};

attribute_type object(std::vector<field> fields);

} // namespace types

} // namespace eventactors
