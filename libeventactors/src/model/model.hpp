// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "eventactors/app.hpp"

namespace eventactors {

/// What the runtime knows about one resource, precomputed from the
/// definitions.
struct resource_info {
  const resource* def = nullptr;
  /// The event log it writes to; null for untracked resources.
  const event_log* log = nullptr;
  /// Attributes that hold foreign keys of relationships (always captured
  /// in changed attributes).
  std::set<std::string, std::less<>> foreign_keys;
  /// The next auto-increment primary key (integer keys only).
  mutable std::atomic<int64_t> next_id{1};

  /// Returns whether action `name` writes events.
  bool tracks(std::string_view name) const {
    return log && def->events()->tracks(name);
  }
};

/// The resolved, validated definitions of a runtime. Immutable after
/// `build` except for the id counters; shared by every actor.
class model {
public:
  /// Resolves and validates `definitions`.
  static caf::expected<std::shared_ptr<model>> build(app definitions);

  const app& definitions() const noexcept {
    return app_;
  }

  /// Returns the resource named `name`, or null.
  const resource_info* find(std::string_view name) const;

  /// Returns the event log named `name`, or null. An empty name selects
  /// the first log.
  const event_log* find_log(std::string_view name) const;

  const std::map<std::string, std::unique_ptr<resource_info>, std::less<>>&
  resources() const noexcept {
    return resources_;
  }

  /// The resources writing to log `name`, in definition order.
  std::vector<std::string> tracked_by(std::string_view log) const;

private:
  app app_;
  std::map<std::string, std::unique_ptr<resource_info>, std::less<>>
    resources_;
};

} // namespace eventactors
