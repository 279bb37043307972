// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/record.hpp"

namespace eventactors {

namespace {

const json::value& null_value() {
  static const json::value null;
  return null;
}

} // namespace

const json::value& record::get(std::string_view name) const noexcept {
  if (auto ptr = values.if_contains(name))
    return *ptr;
  return null_value();
}

std::string_view record::get_string(std::string_view name) const noexcept {
  if (auto ptr = values.if_contains(name); ptr && ptr->is_string())
    return ptr->get_string();
  return {};
}

bool record::is_null(std::string_view name) const noexcept {
  return get(name).is_null();
}

} // namespace eventactors
