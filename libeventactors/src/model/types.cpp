// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/types.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include <boost/json/serialize.hpp>

#include "storage/codec.hpp"
#include "detail/text.hpp"
#include "eventactors/time.hpp"
#include "base/utf8.hpp"
#include "base/uuid.hpp"

namespace eventactors {

namespace {

std::string expected(std::string_view what, const json::value& got) {
  std::string result = "expected ";
  result += what;
  result += ", got ";
  result += detail::show(got, 60);
  return result;
}

bool parse_int(std::string_view str, int64_t& out) {
  if (str.empty())
    return false;
  auto first = str.data();
  auto last = str.data() + str.size();
  if (*first == '+')
    ++first;
  auto [ptr, ec] = std::from_chars(first, last, out);
  return ec == std::errc{} && ptr == last;
}

bool parse_double(std::string_view str, double& out) {
  if (str.empty())
    return false;
  auto [ptr, ec] = std::from_chars(str.data(), str.data() + str.size(), out);
  return ec == std::errc{} && ptr == str.data() + str.size();
}

const std::vector<object_field>& no_fields() {
  static const std::vector<object_field> empty;
  return empty;
}

} // namespace

std::string to_string(type_kind x) {
  switch (x) {
    case type_kind::string:
      return "string";
    case type_kind::ci_string:
      return "ci_string";
    case type_kind::integer:
      return "integer";
    case type_kind::floating:
      return "float";
    case type_kind::boolean:
      return "boolean";
    case type_kind::uuid:
      return "uuid";
    case type_kind::utc_datetime:
      return "utc_datetime";
    case type_kind::date:
      return "date";
    case type_kind::map:
      return "map";
    case type_kind::array:
      return "array";
    case type_kind::object:
      return "object";
  }
  return "unknown";
}

const std::vector<object_field>& attribute_type::fields() const noexcept {
  return fields_ ? *fields_ : no_fields();
}

std::string attribute_type::name() const {
  switch (kind_) {
    case type_kind::array:
      return "array<" + (element_ ? element_->name() : std::string{"?"})
             + ">";
    case type_kind::object: {
      std::string result = "object{";
      bool first = true;
      for (auto& f : fields()) {
        if (!first)
          result += ',';
        first = false;
        result += f.name;
      }
      result += '}';
      return result;
    }
    default:
      return to_string(kind_);
  }
}

namespace {

using cast_result = std::optional<std::string>;

cast_result cast_string(const json::value& input, json::value& out) {
  if (!input.is_string())
    return expected("a string", input);
  auto& str = input.get_string();
  if (!utf8::valid(str))
    return std::string{"invalid UTF-8 in string"};
  out = str;
  return std::nullopt;
}

cast_result cast_integer(const json::value& input, json::value& out) {
  if (input.is_int64()) {
    out = input.get_int64();
    return std::nullopt;
  }
  if (input.is_uint64()) {
    if (input.get_uint64()
        > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return std::string{"integer out of range (64-bit signed: "
                         "-9223372036854775808 to "
                         "9223372036854775807)"};
    out = static_cast<int64_t>(input.get_uint64());
    return std::nullopt;
  }
  if (input.is_double()) {
    auto x = input.get_double();
    // (-2^63, 2^63): every integral double in it converts exactly. An
    // integer written in the int64 range parses as one, not as a
    // double; -2^63 as a double may be -2^63 - 1 rounded: refused.
    if (std::isfinite(x) && std::trunc(x) == x
        && x > -9223372036854775808.0 && x < 9223372036854775808.0) {
      out = static_cast<int64_t>(x);
      return std::nullopt;
    }
    if (std::isfinite(x) && std::trunc(x) == x)
      return std::string{"integer out of range (64-bit signed: "
                         "-9223372036854775808 to "
                         "9223372036854775807)"};
    return expected("an integer", input);
  }
  if (input.is_string()) {
    int64_t x = 0;
    if (parse_int(input.get_string(), x)) {
      out = x;
      return std::nullopt;
    }
  }
  return expected("an integer", input);
}

cast_result cast_floating(const json::value& input, json::value& out) {
  double x = 0;
  if (input.is_double())
    x = input.get_double();
  else if (input.is_int64())
    x = static_cast<double>(input.get_int64());
  else if (input.is_uint64())
    x = static_cast<double>(input.get_uint64());
  else if (!input.is_string() || !parse_double(input.get_string(), x))
    return expected("a number", input);
  if (!std::isfinite(x))
    return std::string{"expected a finite number"};
  out = x;
  return std::nullopt;
}

cast_result cast_boolean(const json::value& input, json::value& out) {
  if (input.is_bool()) {
    out = input.get_bool();
    return std::nullopt;
  }
  if (input.is_string()) {
    auto& str = input.get_string();
    if (str == "true" || str == "false") {
      out = str == "true";
      return std::nullopt;
    }
  }
  return expected("a boolean", input);
}

cast_result cast_uuid(const json::value& input, json::value& out) {
  if (input.is_string())
    if (auto str = uuid::canonical(input.get_string())) {
      out = json::string{*str};
      return std::nullopt;
    }
  return expected("a UUID", input);
}

cast_result cast_utc_datetime(const json::value& input, json::value& out) {
  if (input.is_string())
    if (auto ts = parse_timestamp(input.get_string())) {
      out = json::string{format_timestamp(*ts)};
      return std::nullopt;
    }
  if (input.is_string()
      && check_timestamp(input.get_string())
            == timestamp_check::out_of_range)
    return "out of range: " + detail::show(input, 60)
           + " lies outside the years 0000 to 9999 (UTC)";
  return expected("an ISO 8601 date-time with a time zone", input);
}

cast_result cast_date(const json::value& input, json::value& out) {
  if (input.is_string())
    if (auto d = parse_date(input.get_string())) {
      out = json::string{format_date(*d)};
      return std::nullopt;
    }
  return expected("a date (YYYY-MM-DD)", input);
}

cast_result cast_map(const json::value& input, json::value& out) {
  if (!input.is_object())
    return expected("an object", input);
  if (auto err = codec::check_storable(input.get_object()))
    return err;
  out = input;
  return std::nullopt;
}

cast_result cast_array(const attribute_type& type,
                       const json::value& input,
                       json::value& out) {
  if (!input.is_array())
    return expected("an array", input);
  json::array result;
  auto& xs = input.get_array();
  result.reserve(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    json::value elem;
    if (type.element()) {
      if (xs[i].is_null())
        return "[" + std::to_string(i) + "]: must not be null";
      if (auto err = type.element()->cast(xs[i], elem))
        return "[" + std::to_string(i) + "]: " + *err;
    } else {
      elem = xs[i];
    }
    result.push_back(std::move(elem));
  }
  out = std::move(result);
  return std::nullopt;
}

cast_result cast_object(const attribute_type& type,
                        const json::value& input,
                        json::value& out) {
  if (!input.is_object())
    return expected("an object", input);
  auto& obj = input.get_object();
  for (auto& kvp : obj) {
    bool known = false;
    for (auto& f : type.fields())
      if (f.name == kvp.key()) {
        known = true;
        break;
      }
    if (!known)
      return "unknown field \"" + std::string{kvp.key()} + "\"";
  }
  json::object result;
  for (auto& f : type.fields()) {
    auto i = obj.find(f.name);
    json::value val;
    if (i != obj.end() && !i->value().is_null()) {
      if (auto err = f.type->cast(i->value(), val))
        return f.name + ": " + *err;
    }
    if (val.is_null() && !f.allow_nil)
      return f.name + ": is required";
    result[f.name] = std::move(val);
  }
  out = std::move(result);
  return std::nullopt;
}

} // namespace

std::optional<std::string> attribute_type::cast(const json::value& input,
                                                json::value& out) const {
  if (input.is_null()) {
    out = nullptr;
    return std::nullopt;
  }
  switch (kind_) {
    case type_kind::string:
    case type_kind::ci_string:
      return cast_string(input, out);
    case type_kind::integer:
      return cast_integer(input, out);
    case type_kind::floating:
      return cast_floating(input, out);
    case type_kind::boolean:
      return cast_boolean(input, out);
    case type_kind::uuid:
      return cast_uuid(input, out);
    case type_kind::utc_datetime:
      return cast_utc_datetime(input, out);
    case type_kind::date:
      return cast_date(input, out);
    case type_kind::map:
      return cast_map(input, out);
    case type_kind::array:
      return cast_array(*this, input, out);
    case type_kind::object:
      return cast_object(*this, input, out);
  }
  return std::string{"unsupported type"};
}

attribute_type attribute_type::make_array(attribute_type element) {
  attribute_type result{type_kind::array};
  result.element_ = std::make_shared<const attribute_type>(std::move(element));
  return result;
}

attribute_type attribute_type::make_object(std::vector<object_field> fields) {
  attribute_type result{type_kind::object};
  result.fields_
    = std::make_shared<const std::vector<object_field>>(std::move(fields));
  return result;
}

namespace types {

attribute_type string() {
  return attribute_type{type_kind::string};
}

attribute_type ci_string() {
  return attribute_type{type_kind::ci_string};
}

attribute_type integer() {
  return attribute_type{type_kind::integer};
}

attribute_type floating() {
  return attribute_type{type_kind::floating};
}

attribute_type boolean() {
  return attribute_type{type_kind::boolean};
}

attribute_type uuid() {
  return attribute_type{type_kind::uuid};
}

attribute_type utc_datetime() {
  return attribute_type{type_kind::utc_datetime};
}

attribute_type date() {
  return attribute_type{type_kind::date};
}

attribute_type map() {
  return attribute_type{type_kind::map};
}

attribute_type array(attribute_type element) {
  return attribute_type::make_array(std::move(element));
}

attribute_type object(std::vector<field> fields) {
  std::vector<object_field> xs;
  xs.reserve(fields.size());
  for (auto& f : fields)
    xs.push_back(object_field{
      f.name, std::make_shared<const attribute_type>(std::move(f.type)),
      f.allow_nil});
  return attribute_type::make_object(std::move(xs));
}

} // namespace types

} // namespace eventactors
