// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/changes.hpp"

#include <cmath>
#include <cstdint>

#include <boost/json/serialize.hpp>

#include "detail/text.hpp"
#include "base/regex.hpp"
#include "base/utf8.hpp"

namespace eventactors {

namespace {

/// Returns the value a validation checks: the argument when the action has
/// one of that name, else the attribute.
const json::value& field_value(const changeset& cs, std::string_view name) {
  if (cs.action().find_argument(name))
    return cs.argument(name);
  return cs.attribute(name);
}

bool is_number(const json::value& x) {
  return x.is_int64() || x.is_uint64() || x.is_double();
}

double as_double(const json::value& x) {
  if (x.is_int64())
    return static_cast<double>(x.get_int64());
  if (x.is_uint64())
    return static_cast<double>(x.get_uint64());
  return x.get_double();
}

} // namespace

namespace changes {

change set_attribute(std::string attribute, value_source value) {
  auto name = "set_attribute(" + attribute + ")";
  return change{std::move(name),
                [attribute = std::move(attribute),
                 value = std::move(value)](changeset& cs) {
                  cs.set_attribute(attribute, value.produce(cs.env()));
                }};
}

change set_from_argument(std::string attribute, std::string argument) {
  auto name = "set_from_argument(" + attribute + ")";
  return change{std::move(name),
                [attribute = std::move(attribute),
                 argument = std::move(argument)](changeset& cs) {
                  if (cs.has_argument(argument))
                    cs.set_attribute(attribute, cs.argument(argument));
                }};
}

change slugify(std::string from, std::string to) {
  auto name = "slugify(" + from + "," + to + ")";
  return change{std::move(name),
                [from = std::move(from), to = std::move(to)](changeset& cs) {
                  if (!cs.changing(from) || cs.changing(to))
                    return;
                  auto& src = cs.attribute(from);
                  if (!src.is_string())
                    return;
                  // One '-' per character (code point) outside [a-z0-9]
                  // after lowercasing ASCII letters.
                  std::string slug;
                  for (auto c : src.get_string()) {
                    auto uc = static_cast<unsigned char>(c);
                    if ((uc & 0xC0) == 0x80)
                      continue; // a continuation byte of the same character
                    if (uc >= 'A' && uc <= 'Z')
                      slug += static_cast<char>(uc - 'A' + 'a');
                    else if ((uc >= 'a' && uc <= 'z')
                             || (uc >= '0' && uc <= '9'))
                      slug += c;
                    else
                      slug += '-';
                  }
                  cs.set_attribute(to, json::string{slug});
                }};
}

change increment(std::string attribute, int64_t by) {
  auto name = "increment(" + attribute + ")";
  return change{std::move(name),
                [attribute = std::move(attribute), by](changeset& cs) {
                  auto& current = cs.attribute(attribute);
                  int64_t value = 0;
                  if (current.is_int64())
                    value = current.get_int64();
                  else if (!current.is_null()) {
                    cs.add_error(attribute, "is not an integer");
                    return;
                  }
                  if ((by > 0 && value > INT64_MAX - by)
                      || (by < 0 && value < INT64_MIN - by)) {
                    cs.add_error(attribute, "would overflow a 64-bit "
                                            "integer");
                    return;
                  }
                  cs.set_attribute(attribute, value + by);
                }};
}

} // namespace changes

namespace conditions {

condition changing(std::string attribute) {
  return [attribute = std::move(attribute)](const changeset& cs) {
    return cs.changing(attribute);
  };
}

condition input_present(std::string key) {
  return [key = std::move(key)](const changeset& cs) {
    auto ptr = cs.input().if_contains(key);
    return ptr && !ptr->is_null();
  };
}

condition argument_present(std::string argument) {
  return [argument = std::move(argument)](const changeset& cs) {
    return cs.has_argument(argument);
  };
}

condition attribute_present(std::string attribute) {
  return [attribute = std::move(attribute)](const changeset& cs) {
    return !cs.attribute(attribute).is_null();
  };
}

condition attribute_equals(std::string attribute, json::value value) {
  return [attribute = std::move(attribute),
          value = std::move(value)](const changeset& cs) {
    return cs.attribute(attribute) == value;
  };
}

condition negate(condition cond) {
  return [cond = std::move(cond)](const changeset& cs) { return !cond(cs); };
}

} // namespace conditions

namespace validations {

validation present(std::string field) {
  auto name = "present(" + field + ")";
  return validation{std::move(name),
                    [field = std::move(field)](const changeset& cs)
                      -> std::optional<field_error> {
                      auto& x = field_value(cs, field);
                      if (x.is_null()
                          || (x.is_string() && x.get_string().empty()))
                        return field_error{field, "is required"};
                      return std::nullopt;
                    }};
}

validation absent(std::string field) {
  auto name = "absent(" + field + ")";
  return validation{std::move(name),
                    [field = std::move(field)](const changeset& cs)
                      -> std::optional<field_error> {
                      if (!field_value(cs, field).is_null())
                        return field_error{field, "must be absent"};
                      return std::nullopt;
                    }};
}

validation string_length(std::string field, int64_t min, int64_t max) {
  auto name = "string_length(" + field + ")";
  return validation{
    std::move(name),
    [field = std::move(field), min,
     max](const changeset& cs) -> std::optional<field_error> {
      auto& x = field_value(cs, field);
      if (x.is_null())
        return std::nullopt;
      if (!x.is_string())
        return field_error{field, "must be a string"};
      auto len = static_cast<int64_t>(utf8::length(x.get_string()));
      if ((min >= 0 && len < min) || (max >= 0 && len > max)) {
        std::string msg;
        if (min >= 0 && max >= 0)
          msg = "length must be between " + std::to_string(min) + " and "
                + std::to_string(max);
        else if (min >= 0)
          msg = "length must be at least " + std::to_string(min);
        else
          msg = "length must be at most " + std::to_string(max);
        return field_error{field, std::move(msg)};
      }
      return std::nullopt;
    }};
}

validation match(std::string field, std::string pattern) {
  auto name = "match(" + field + ")";
  // Compile once; an invalid pattern fails every check with a clear error
  // (app definitions refuse it when they load).
  auto re = std::make_shared<const regex>(pattern);
  return validation{
    std::move(name),
    [field = std::move(field), pattern = std::move(pattern),
     re](const changeset& cs) -> std::optional<field_error> {
      auto& x = field_value(cs, field);
      if (x.is_null())
        return std::nullopt;
      if (!re->ok())
        return field_error{field, "invalid pattern " + pattern + ": "
                                    + re->error()};
      if (!x.is_string())
        return field_error{field, "must be a string"};
      auto& str = x.get_string();
      if (!re->search({str.data(), str.size()}))
        return field_error{field, "must match " + pattern};
      return std::nullopt;
    }};
}

validation one_of(std::string field, std::vector<json::value> values) {
  auto name = "one_of(" + field + ")";
  return validation{
    std::move(name),
    [field = std::move(field),
     values = std::move(values)](const changeset& cs)
      -> std::optional<field_error> {
      auto& x = field_value(cs, field);
      if (x.is_null())
        return std::nullopt;
      for (auto& v : values)
        if (v == x)
          return std::nullopt;
      std::string msg = "must be one of ";
      for (size_t i = 0; i < values.size(); ++i) {
        if (i > 0)
          msg += ", ";
        msg += detail::show(values[i]);
      }
      return field_error{field, std::move(msg)};
    }};
}

validation numeric_range(std::string field, double min, double max) {
  auto name = "numeric_range(" + field + ")";
  return validation{
    std::move(name),
    [field = std::move(field), min,
     max](const changeset& cs) -> std::optional<field_error> {
      auto& x = field_value(cs, field);
      if (x.is_null())
        return std::nullopt;
      if (!is_number(x))
        return field_error{field, "must be a number"};
      auto d = as_double(x);
      if (d < min || d > max) {
        auto fmt = [](double v) {
          auto str = to_json_text(json::value(v));
          if (std::trunc(v) == v && std::abs(v) < 1e15)
            str = std::to_string(static_cast<int64_t>(v));
          return str;
        };
        return field_error{field, "must be between " + fmt(min) + " and "
                                    + fmt(max)};
      }
      return std::nullopt;
    }};
}

validation confirm(std::string field, std::string confirmation) {
  auto name = "confirm(" + field + "," + confirmation + ")";
  return validation{
    std::move(name),
    [field = std::move(field),
     confirmation = std::move(confirmation)](const changeset& cs)
      -> std::optional<field_error> {
      if (field_value(cs, field) != field_value(cs, confirmation))
        return field_error{confirmation, "does not match " + field};
      return std::nullopt;
    }};
}

validation attribute_equals(std::string attribute, json::value value) {
  auto name = "attribute_equals(" + attribute + ")";
  return validation{
    std::move(name),
    [attribute = std::move(attribute),
     value = std::move(value)](const changeset& cs)
      -> std::optional<field_error> {
      if (cs.attribute(attribute) != value)
        return field_error{attribute,
                           "must equal " + detail::show(value)};
      return std::nullopt;
    }};
}

validation attribute_does_not_equal(std::string attribute,
                                    json::value value) {
  auto name = "attribute_does_not_equal(" + attribute + ")";
  return validation{
    std::move(name),
    [attribute = std::move(attribute),
     value = std::move(value)](const changeset& cs)
      -> std::optional<field_error> {
      if (cs.attribute(attribute) == value)
        return field_error{attribute,
                           "must not equal " + detail::show(value)};
      return std::nullopt;
    }};
}

} // namespace validations

} // namespace eventactors
