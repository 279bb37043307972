// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "engine/executor.hpp"
#include "engine/unit_state.hpp"
#include "eventactors/changeset.hpp"
#include "eventactors/environment.hpp"
#include "eventactors/resource.hpp"

namespace eventactors {

class unit_context;

/// An `errc::invalid_input` error for the action at `where`, naming the
/// first of `errs` and counting the others.
caf::error invalid(const std::string& where, std::vector<field_error> errs);

/// Hook errors of our category pass through (e.g. a nested action's
/// invalid input); anything else is wrapped so the message names the hook.
caf::error wrap_hook_error(caf::error err, const std::string& where,
                           const char* kind, const std::string& change);

/// Adds the actor's column to `cols` per the event log's configuration.
caf::error actor_columns(const resource_info& res, const actor& who,
                         json::object& cols);

/// The action's input after casting: what `prepare` hands the changeset.
struct action_input {
  /// Accepted attributes, cast to their types.
  json::object changes;
  /// Arguments, cast to their types, with their defaults.
  json::object args;
  /// The accepted attributes and arguments as given.
  json::object input;
  /// What failed to cast, per input.
  std::vector<field_error> errs;
};

/// The write an action makes, before it joins the unit.
struct staged_write {
  write_op op;
  /// The record as the action leaves it (its last values when destroyed).
  json::object values;
  /// What the action set, for the event's changed attributes.
  json::object written;
};

/// Runs one action inside an execution. Holds the per-action state the
/// steps share.
///
/// The steps, in order: `prepare` (prepare.cpp) finds the action, casts
/// its input, applies defaults and runs the changes and validations;
/// the transaction hooks wrap `perform` (perform.cpp), which writes the
/// record into the unit, captures the event (event_capture.cpp), manages
/// relationships (relationships.cpp) and runs the action hooks. Identities
/// are checked against the unit and the database (identities.cpp).
class action_run {
public:
  action_run(execution& ex, execution::impl& st, unit& u, const call& c,
             const json::object& forced, uint32_t depth,
             const replay_spec* spec)
    : ex_(ex), st_(st), unit_(u), call_(c), forced_(forced), depth_(depth),
      opts_(*ex.env().options), model_(*ex.env().defs), replay_(spec) {
    // nop
  }

  caf::expected<record> operator()();

private:
  // -- reads and writes of the unit (action_run.cpp) --------------------------

  caf::expected<std::optional<overlay_entry>> load(const resource_info& res,
                                                   const json::value& id);

  caf::expected<std::vector<json::object>>
  children(const resource_info& res, const std::string& attribute,
           const json::value& value);

  void put_overlay(const std::string& key, overlay_entry entry);

  // -- transaction hooks (action_run.cpp) ------------------------------------

  caf::error run_before_transaction(unit_context& ctx, changeset& cs);

  /// Runs the around_transaction hooks of a top-level action around `body`
  /// and the commit of the unit; sets `committed` once the unit committed.
  caf::expected<record> around_commit(changeset& cs, const next_fn& body,
                                      std::optional<record>& committed);

  caf::expected<record> around(const std::vector<tagged_hook<around_hook>>&,
                               size_t index, changeset& cs,
                               const next_fn& last);

  /// Keeps the changeset for the after_transaction hooks, which run once
  /// the unit's outcome is known.
  void push_deferred(caf::expected<record> outcome);

  /// Drops the hooks that must not run during replay: all but those
  /// registered by changes the events section allows for the action.
  void filter_replay_hooks();

  // -- input, defaults and changes (prepare.cpp) -----------------------------

  caf::error prepare();

  /// Finds the resource and the action.
  caf::error resolve();

  /// Refuses actions nested deeper than the hooks may nest them.
  caf::error check_nesting();

  /// Checks the call's size, metadata and actor.
  caf::error check_call();

  /// Chooses what "now" and new ids read for this action.
  void select_environment();

  /// Loads the record an update or destroy changes.
  caf::error load_original();

  void cast_inputs(action_input& in);

  void cast_attribute(json::string_view key, const json::value& given,
                      action_input& in);

  void cast_argument(const argument& arg, json::string_view key,
                     const json::value& given, action_input& in);

  /// The error of an input the action neither accepts nor takes.
  std::string unknown_input() const;

  void apply_argument_defaults(action_input& in);

  void start_changeset(action_input in);

  /// Gives a created record its primary key unless the input, a change or
  /// replay did.
  caf::error assign_key();

  caf::error apply_create_defaults();

  caf::error apply_update_defaults();

  /// Runs the forced attributes, the changes and validations, and replay's
  /// recorded values, in that order.
  void run_changes();

  // -- the write (perform.cpp) -----------------------------------------------

  caf::expected<record> perform(changeset& cs);

  caf::error run_before_action(unit_context& ctx, changeset& cs);

  caf::error run_after_action(unit_context& ctx, changeset& cs, record& rec);

  caf::error stage_create(changeset& cs, staged_write& w);

  /// A create onto the record its upsert identity found.
  caf::error stage_upsert(changeset& cs, const overlay_entry& existing,
                          staged_write& w);

  caf::error stage_insert(changeset& cs, json::object values,
                          staged_write& w);

  caf::error stage_update(changeset& cs, staged_write& w);

  void stage_destroy(staged_write& w);

  /// Adds the write to the unit; returns the record the action produced.
  record push_write(staged_write w);

  // -- the event (event_capture.cpp) -----------------------------------------

  event_draft capture_event(const changeset& cs, const staged_write& w) const;

  /// The configured timestamp attribute the event is dated by, else the
  /// action's clock.
  timestamp occurred_at(const changeset& cs,
                        const json::object& values) const;

  // -- identities (identities.cpp) -------------------------------------------

  caf::expected<std::optional<json::value>>
  find_identity(const identity& id, const json::object& values,
                const json::value& self);

  caf::error check_identities(const json::object& values,
                              const json::value& self,
                              const std::set<std::string>* only);

  // -- relationships (relationships.cpp) -------------------------------------

  caf::error manage(const managed_relationship& m, const record& parent);

  /// The objects the argument of a managed relationship holds.
  caf::expected<std::vector<const json::object*>>
  managed_items(const std::string& argument, const json::value& arg);

  /// Runs `action` of `resource` as a nested action of this one.
  caf::error run_managed(const std::string& resource,
                         const std::string& action, json::object input,
                         json::value id, json::object forced);

  caf::error manage_children(const managed_relationship& m,
                             const relationship& rel,
                             const std::vector<const json::object*>& items,
                             const json::value& parent_key);

  caf::error manage_links(const managed_relationship& m,
                          const relationship& rel,
                          const std::vector<const json::object*>& items,
                          const json::value& parent_key);

  // -- state -----------------------------------------------------------------

  /// Whether the action's events are encrypted: sensitive inputs are then
  /// kept (sealed) instead of stored as null.
  bool sealed_log() const noexcept {
    return res_->log && res_->log->encrypted();
  }

  std::string where() const {
    return res_->def->name() + "." + act_->name();
  }

  /// While replaying an event this action wrote: the value the event
  /// recorded for `attribute` (in its changed attributes), if any.
  const json::value* replayed(std::string_view attribute) const {
    return replay_ && replay_->own_event
             ? replay_->changed.if_contains(attribute)
             : nullptr;
  }

  execution& ex_;
  execution::impl& st_;
  unit& unit_;
  const call& call_;
  const json::object& forced_;
  uint32_t depth_;
  const runtime_options& opts_;
  const model& model_;
  /// Set when replay applies an event to this action.
  const replay_spec* replay_;
  /// The kind the action runs as (an upsert replayed onto an existing
  /// record runs as an update).
  action_kind kind_ = action_kind::create;

  const resource_info* res_ = nullptr;
  const action* act_ = nullptr;
  std::unique_ptr<changeset> cs_;
  std::optional<overlay_entry> original_;
  json::value record_id_;
  json::object actor_cols_;
  json::object data_;
  /// Attributes set by create defaults (not by input or changes).
  json::object defaulted_;
  /// The runtime's environment with the clock read once: every "now" of
  /// one action (defaults, changes, occurred_at) is the same instant.
  environment env_;
  /// The index of this action's own write in the unit.
  std::ptrdiff_t own_op_ = -1;
  /// The integer key this process generated for the created record.
  std::optional<int64_t> generated_key_;

  friend class execution;
};

} // namespace eventactors
