// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "eventactors/call.hpp"
#include "eventactors/changeset.hpp"
#include "eventactors/record.hpp"
#include "eventactors/options.hpp"
#include "eventactors/time.hpp"
#include "model/model.hpp"
#include "storage/reader.hpp"
#include "storage/unit.hpp"

namespace eventactors {

/// Commits a unit and waits for the outcome. Used where a commit must
/// happen before the code goes on: inside around_transaction hooks, and
/// for actions run by after_transaction hooks.
using commit_fn = std::function<caf::expected<unit_receipt>(unit&)>;

struct executor;

/// Runs an action as a unit of its own, to completion (commit and
/// after_transaction hooks): what after_transaction hooks do when they run
/// actions. The write pipeline provides it, with its retry policy.
using run_unit_fn = std::function<caf::expected<record>(
  executor& ex, const call& c, uint32_t depth)>;

/// How an action runs when replay applies an event to it.
struct replay_spec {
  /// The event's changed attributes, with the primary key added when they
  /// lack it; what `changeset::replay_changed_attributes` shows.
  json::object changed;
  /// Force the changed attributes after the changes ran (force_change), or
  /// they were merged into the input already (as_arguments).
  bool force = true;
  /// A create event replayed onto an upsert target whose record exists:
  /// runs as an update with the event's input and no changes.
  bool upsert_update = false;
  /// The event's `occurred_at`: what "now" reads while the event replays.
  timestamp occurred_at;
  /// Derived from the event's id: seeds the UUIDs a replayed step asks for
  /// (a default added after the event was written, say), so that replay
  /// never asks the runtime's generators and gives the same ids each time.
  uint64_t seed = 0;
  /// The event was written by the action it replays through (not routed to
  /// another by an override): its changed attributes hold what this
  /// action's own defaults produced.
  bool own_event = true;
};

/// What an execution needs from its surroundings. One per thread (actor):
/// the reader is not shared.
struct executor {
  std::shared_ptr<const eventactors::model> defs;
  const runtime_options* options = nullptr;
  reader* db = nullptr;
  commit_fn commit;
  /// Unset: `execution::run_unit` makes one attempt and commits through
  /// `commit` (replay, whose units join its transaction).
  run_unit_fn run_unit;
  /// Set for replay: no action writes an event, relationship management is
  /// off, and only hooks of allowed changes run.
  bool replaying = false;
};

/// Builds one unit: runs an action (casting its input, applying defaults,
/// changes, validations and the hooks inside the transaction, and the
/// actions those hooks run), collecting the writes in order. Reads see the
/// unit's own pending writes.
///
/// Thread-safety: one execution belongs to one thread.
class execution {
public:
  explicit execution(executor& ex, uint32_t depth = 0);

  ~execution();

  execution(const execution&) = delete;
  execution& operator=(const execution&) = delete;

  /// Runs `c` as the unit's action. On error nothing of it stays in the
  /// unit.
  caf::expected<record> run(const call& c);

  /// Runs `c` inside the unit as an action started by a hook or by
  /// relationship management, with `forced` attributes set directly.
  caf::expected<record> run_nested(const call& c, const json::object& forced,
                                   uint32_t depth);

  /// Applies a replayed event: runs `c` (whose input is the event's data,
  /// filtered to what the action takes) in replay mode with `forced`
  /// attributes (the primary key of creates). Writes no event; skips
  /// relationship management and every hook not registered by a change
  /// the events section allows for the action.
  caf::expected<record> run_replay(const call& c, const json::object& forced,
                                   const replay_spec& spec);

  /// True for executions that apply replayed events: no action in them
  /// writes an event.
  bool replaying() const noexcept {
    return ex_.replaying;
  }

  /// While a replayed event runs: the environment its actions and hooks
  /// see (the event's time, ids derived from it); null otherwise.
  const environment* replay_environment() const noexcept;

  /// The writes to commit.
  unit& pending() noexcept {
    return unit_;
  }

  /// True when an around_transaction hook already committed the unit.
  bool committed() const noexcept {
    return receipt_.has_value();
  }

  /// The receipt of a unit an around_transaction hook committed.
  const unit_receipt& receipt() const noexcept {
    return *receipt_;
  }

  /// Records that the unit was committed inline.
  void mark_committed(unit_receipt receipt) {
    receipt_ = std::move(receipt);
  }

  /// Whether a top-level around_transaction hook may commit the unit
  /// inside its `next` (not in atomic batches, whose items share a unit).
  bool may_commit_inline() const noexcept {
    return inline_commit_;
  }

  void may_commit_inline(bool value) noexcept {
    inline_commit_ = value;
  }

  /// Whether an action of the unit found that another process had taken
  /// the integer key this process generated for it.
  bool lost_generated_key() const noexcept {
    return lost_key_;
  }

  void lost_generated_key(bool value) noexcept {
    lost_key_ = value;
  }

  /// A point in the unit to roll back to.
  struct checkpoint_t {
    size_t ops;
    size_t undo;
    size_t deferred;
  };

  checkpoint_t checkpoint() const noexcept;

  /// Takes back everything added since `point` (no-op once committed);
  /// after_transaction hooks of the actions taken back see `err`.
  void rollback(const checkpoint_t& point, const caf::error& err);

  /// Fills the committed event id into `rec`, the result of the `which`th
  /// successful `run` of this execution.
  void stamp(record& rec, const unit_receipt& receipt,
             size_t which = 0) const;

  /// The op whose event id `stamp` fills into the result of the `which`th
  /// successful `run`; none when that action wrote no event.
  std::optional<size_t> stamp_op(size_t which = 0) const;

  /// Runs the after_transaction hooks of every action in the unit with the
  /// outcome (the commit's receipt, or the error that failed the unit).
  /// Returns an `errc::post_commit_failure` error when a hook failed after
  /// a successful commit.
  caf::error finish(const caf::expected<unit_receipt>& outcome);

  // -- used by hook contexts --------------------------------------------------

  /// Returns the record of `res` with key `id` as this unit sees it: its
  /// own pending writes first, then the database.
  caf::expected<std::optional<stored_record>> lookup(const resource_info& res,
                                                     const json::value& id);

  /// Returns the records of `res` whose `attribute` equals `value` as this
  /// unit sees them.
  caf::expected<std::vector<json::object>>
  lookup_by(const resource_info& res, std::string_view attribute,
            const json::value& value);

  executor& env() noexcept {
    return ex_;
  }

  /// The depth of the unit's top-level actions.
  uint32_t depth() const noexcept {
    return depth_;
  }

  /// Runs a new unit to completion (commit and after_transaction hooks):
  /// what after_transaction hooks do when they run actions. Goes through
  /// `ex.run_unit` when set.
  static caf::expected<record> run_unit(executor& ex, const call& c,
                                        uint32_t depth);

  struct impl;

private:
  executor& ex_;
  uint32_t depth_;
  std::unique_ptr<impl> impl_;
  caf::error thrown(const call& c, const std::string& what) const;

  caf::expected<record> run_step(const call& c, const json::object& forced,
                                 uint32_t depth, const replay_spec* spec);

  unit unit_;
  std::optional<unit_receipt> receipt_;
  bool inline_commit_ = true;
  bool lost_key_ = false;
};


} // namespace eventactors
