// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <deque>
#include <string>
#include <string_view>

#include <caf/error.hpp>

#include "eventactors/event_log.hpp"
#include "eventactors/resource.hpp"

namespace eventactors {

class app;

namespace detail {
void mark_from_description(app& a);
} // namespace detail

/// The definitions of an application: event logs and resources.
///
/// Build it, then hand it to `runtime::start`, which validates it
/// (`validate`) and refuses to start with an invalid definition.
class app {
public:
  /// Adds an event log; returns it for further building.
  event_log& add(event_log log);

  /// Adds a resource; returns it for further building.
  resource& add(resource res);

  const std::deque<event_log>& logs() const noexcept {
    return logs_;
  }

  const std::deque<resource>& resources() const noexcept {
    return resources_;
  }

  std::deque<resource>& resources() noexcept {
    return resources_;
  }

  /// Returns the event log named `name`, or null.
  const event_log* find_log(std::string_view name) const;

  /// Returns the resource named `name`, or null.
  const resource* find_resource(std::string_view name) const;

  event_log* find_log(std::string_view name);

  resource* find_resource(std::string_view name);

  /// Checks every rule of the definitions; returns an
  /// `errc::invalid_definition` error naming the resource, action or option
  /// at fault, or an empty error.
  [[nodiscard]] caf::error validate() const;

  /// Whether the app was rebuilt from an app description
  /// (`app_from_description`): it has the shape of the definitions but no
  /// changes, validations, hooks or keys, and serves display and routing
  /// only. `runtime::start` refuses it.
  bool from_description() const noexcept {
    return from_description_;
  }

private:
  friend void detail::mark_from_description(app& a);

  bool from_description_ = false;
  std::deque<event_log> logs_;
  std::deque<resource> resources_;
};

} // namespace eventactors
