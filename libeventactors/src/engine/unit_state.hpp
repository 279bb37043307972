// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/executor.hpp"
#include "eventactors/environment.hpp"
#include "eventactors/resource.hpp"

namespace eventactors {

/// A record as the unit under construction sees it after its own writes.
struct overlay_entry {
  /// Null when the record was deleted in this unit.
  std::optional<json::object> values;
  int64_t version = 1;
};

/// An action whose after_transaction hooks run once the unit's outcome is
/// known: its changeset and its own outcome.
struct deferred_hooks {
  std::unique_ptr<changeset> cs;
  std::optional<eventactors::actor> who;
  caf::expected<record> result{caf::error{}};
  /// Index of the action's own op in the unit, or -1.
  std::ptrdiff_t op = -1;
  uint32_t depth = 0;
};

/// The state of one execution: the unit's pending writes as records (the
/// overlay, with its undo log), the reads it made, and the hooks to run
/// after the commit.
struct execution::impl {
  std::map<std::string, overlay_entry> overlay;
  /// Undo log of overlay changes: the key and its previous entry.
  std::vector<std::pair<std::string, std::optional<overlay_entry>>> undo;
  std::vector<deferred_hooks> deferred;
  /// Per successful `run`: the index of the top-level action's op.
  std::vector<std::ptrdiff_t> tops;
  /// Records read from storage by this execution (what the overlay does
  /// not hold): an action reads its record more than once (replay to tell
  /// creates from upserts, then the action to load it), and reads inside
  /// one unit see one state.
  std::map<std::string, std::optional<stored_record>> reads;
  /// While a replayed event runs: what its action, the actions its hooks
  /// run and the hooks themselves see as "now" and new ids (the event's
  /// time, ids derived from the event), never the runtime's generators.
  std::optional<environment> replay_env;
};

/// The key of the record of `resource` with primary key `id` in the
/// overlay and in the reads.
std::string overlay_key(std::string_view resource, const json::value& id);

/// Casts `id` to the type of the primary key `pk`; sets `err` when it does
/// not fit.
json::value cast_key(const attribute& pk, const json::value& id,
                     std::optional<std::string>& err);

} // namespace eventactors
