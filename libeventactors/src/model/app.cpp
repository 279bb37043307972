// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/app.hpp"

#include <string_view>

#include "model/definitions.hpp"

namespace eventactors {

event_log& app::add(event_log log) {
  return logs_.emplace_back(std::move(log));
}

resource& app::add(resource res) {
  return resources_.emplace_back(std::move(res));
}

const event_log* app::find_log(std::string_view name) const {
  for (auto& x : logs_)
    if (x.name() == name)
      return &x;
  return nullptr;
}

const resource* app::find_resource(std::string_view name) const {
  for (auto& x : resources_)
    if (x.name() == name)
      return &x;
  return nullptr;
}

event_log* app::find_log(std::string_view name) {
  for (auto& x : logs_)
    if (x.name() == name)
      return &x;
  return nullptr;
}

resource* app::find_resource(std::string_view name) {
  for (auto& x : resources_)
    if (x.name() == name)
      return &x;
  return nullptr;
}

caf::error app::validate() const {
  auto copy = *this;
  return detail::resolve_and_validate(copy);
}

namespace detail {

void mark_from_description(app& a) {
  a.from_description_ = true;
}

} // namespace detail

} // namespace eventactors
