// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "eventactors/action_kind.hpp"
#include "eventactors/actor.hpp"
#include "eventactors/call.hpp"
#include "eventactors/environment.hpp"
#include "eventactors/error.hpp"
#include "eventactors/json.hpp"
#include "eventactors/record.hpp"

namespace eventactors {

class action;
class changeset;
class resource;

/// How a nested call made by a hook picks its actor.
enum class actor_mode : uint8_t {
  /// Use the call's actor when set, else the acting actor of the hook's
  /// action (hooks pass the actor on).
  inherit,
  /// Use the call's actor exactly as given, possibly none.
  as_given,
};

/// What hooks see of the runtime: they can run other actions. A hook that
/// runs inside the action's unit (changes, before_action, after_action,
/// around_action, before_transaction) makes the nested action part of that
/// unit: it commits with the parent, after it, or not at all. An
/// after_transaction hook runs after the commit; actions it runs are units
/// of their own.
///
/// Valid only during the hook call that received it; not thread-safe.
class hook_context {
public:
  virtual ~hook_context();

  /// Runs another action. Metadata is not inherited: the nested event gets
  /// `c.metadata` (`{}` unless set).
  virtual caf::expected<record> run(call c, actor_mode mode
                                           = actor_mode::inherit)
    = 0;

  /// Returns the record of `resource` with primary key `id` as this hook's
  /// action sees it (including the unit's uncommitted writes).
  virtual caf::expected<record> get(std::string_view resource,
                                    const json::value& id)
    = 0;

  /// Returns the records of `resource` whose `attribute` equals `value`,
  /// ordered by primary key, as this hook's action sees them.
  virtual caf::expected<std::vector<record>>
  find(std::string_view resource, std::string_view attribute,
       const json::value& value)
    = 0;

  /// The acting actor of the action this hook belongs to.
  virtual const std::optional<eventactors::actor>& actor() const noexcept = 0;

  /// The clock and id generators of the runtime.
  virtual const environment& env() const noexcept = 0;

  /// True while replaying events (issue: hooks only run in replay when the
  /// events section allows their change).
  virtual bool replaying() const noexcept = 0;
};

/// Runs before the write, inside the unit; may modify the changeset. An
/// error aborts the action and nothing is written.
using before_hook = std::function<caf::error(hook_context&, changeset&)>;

/// Runs after the write, inside the unit: actions it runs commit together
/// with this one. May modify the record returned to the caller (not the
/// stored one). An error aborts the whole unit.
using after_action_hook
  = std::function<caf::error(hook_context&, const changeset&, record&)>;

/// Continues an around hook: runs the rest of the action.
using next_fn = std::function<caf::expected<record>(changeset&)>;

/// Wraps the rest of the action (around_action) or the whole transaction
/// (around_transaction). Must call `next` at most once and return its
/// result, or an error.
using around_hook = std::function<caf::expected<record>(
  hook_context&, changeset&, const next_fn& next)>;

/// Runs after the unit committed (or failed), outside it, with the outcome.
/// The place for side effects that must happen once. An error is reported
/// to the caller as `errc::post_commit_failure`; it cannot undo the commit.
using after_transaction_hook = std::function<caf::error(
  hook_context&, const changeset&, const caf::expected<record>& outcome)>;

/// A predicate on a changeset, for conditional changes and validations.
using condition = std::function<bool(const changeset&)>;

/// A named function that transforms a changeset: reads the current record
/// and the arguments, sets attributes, adds errors, registers hooks.
///
/// Hooks registered by a change are tagged with the change's name; the
/// events section's `allowed_change_modules` names the changes whose hooks
/// still run during replay.
class change {
public:
  using function_type = std::function<void(changeset&)>;

  /// A change named `name` (for `allowed_change_modules` and messages) that
  /// runs `fn` on the changeset.
  change(std::string name, function_type fn);

  /// Returns a copy that applies only where `cond` holds.
  change where(condition cond) const;

  /// Returns a copy named `name`: the hooks it registers are tagged with
  /// the new name (what `allowed_change_modules` refers to).
  change renamed(std::string name) const;

  const std::string& name() const noexcept {
    return name_;
  }

  /// Applies the change when its condition holds.
  void apply(changeset& cs) const;

private:
  std::string name_;
  function_type fn_;
  condition where_;
};

/// A named precondition on a changeset. Produces at most one field error;
/// a custom message replaces the check's own.
class validation {
public:
  using function_type
    = std::function<std::optional<field_error>(const changeset&)>;

  /// A validation named `name`; `fn` returns the field error, or nullopt
  /// when the changeset passes.
  validation(std::string name, function_type fn);

  /// Returns a copy whose failures carry `msg` instead of the default.
  validation with_message(std::string msg) const;

  /// Returns a copy that runs only where `cond` holds.
  validation where(condition cond) const;

  const std::string& name() const noexcept {
    return name_;
  }

  /// Returns the field error, or `nullopt` when the changeset passes or the
  /// condition does not hold.
  std::optional<field_error> check(const changeset& cs) const;

private:
  std::string name_;
  function_type fn_;
  std::optional<std::string> message_;
  condition where_;
};

/// A hook as registered on a changeset, with the change that registered it.
template <class F>
struct tagged_hook {
  std::string change;
  F fn;
};

/// The pending write of one action, as changes, validations and hooks see
/// it: the record before (for updates and destroys), the attributes being
/// set, the cast arguments, and the errors so far.
///
/// Created by the runtime for each action; not thread-safe.
class changeset {
public:
  changeset(const eventactors::resource& res, const eventactors::action& act);

  // -- what is being done -----------------------------------------------------

  const eventactors::resource& resource() const noexcept {
    return *resource_;
  }

  const eventactors::action& action() const noexcept {
    return *action_;
  }

  action_kind kind() const noexcept;

  /// The acting actor, if any.
  const std::optional<eventactors::actor>& actor() const noexcept {
    return actor_;
  }

  /// The clock and id generators of the runtime.
  const environment& env() const noexcept {
    return env_;
  }

  /// True while replaying an event.
  bool replaying() const noexcept {
    return replaying_;
  }

  /// The replayed event's changed attributes; empty outside replay.
  const json::object& replay_changed_attributes() const noexcept {
    return replay_changed_;
  }

  // -- record state -----------------------------------------------------------

  /// The record before the action; null for creates.
  const json::object* original() const noexcept {
    return original_ ? &*original_ : nullptr;
  }

  /// Returns the value attribute `name` will have: the new value when it
  /// is being changed, else the original, else null.
  const json::value& attribute(std::string_view name) const noexcept;

  /// Returns whether the action sets attribute `name`.
  bool changing(std::string_view name) const noexcept;

  /// The attributes the action sets, in storage form.
  const json::object& changes() const noexcept {
    return changes_;
  }

  /// Sets attribute `name`, cast to its type. A value that fails to cast,
  /// or an unknown attribute, becomes a field error.
  void set_attribute(std::string_view name, json::value value);

  /// Returns the cast argument `name` (supplied or defaulted), or null.
  const json::value& argument(std::string_view name) const noexcept;

  /// Returns whether argument `name` has a value (supplied or defaulted).
  bool has_argument(std::string_view name) const noexcept;

  /// The cast arguments, supplied or defaulted.
  const json::object& arguments() const noexcept {
    return arguments_;
  }

  /// The caller's input as given (after dropping skipped unknown keys).
  const json::object& input() const noexcept {
    return input_;
  }

  // -- errors -----------------------------------------------------------------

  /// Records an error; the action fails with all errors once the changes
  /// and validations ran.
  void add_error(std::string field, std::string message);

  /// The errors added so far.
  const std::vector<field_error>& errors() const noexcept {
    return errors_;
  }

  // -- hooks ------------------------------------------------------------------
  // Register hooks of the running change (tagged with its name); see
  // docs/architecture.md for when each kind runs.

  /// Runs just before the write, inside the unit.
  void before_action(before_hook fn);

  /// Runs after the write, inside the unit.
  void after_action(after_action_hook fn);

  /// Wraps before_action, the write and after_action.
  void around_action(around_hook fn);

  /// Runs before the unit's writes.
  void before_transaction(before_hook fn);

  /// Runs after the commit (or the failure), outside the unit.
  void after_transaction(after_transaction_hook fn);

  /// Wraps the rest; on a top-level action, `next` commits.
  void around_transaction(around_hook fn);

  // -- internal state (used by the runtime; not for changes) -----------------

  /// @private
  struct hooks {
    std::vector<tagged_hook<before_hook>> before_action;
    std::vector<tagged_hook<after_action_hook>> after_action;
    std::vector<tagged_hook<around_hook>> around_action;
    std::vector<tagged_hook<before_hook>> before_transaction;
    std::vector<tagged_hook<after_transaction_hook>> after_transaction;
    std::vector<tagged_hook<around_hook>> around_transaction;
  };

  /// @private
  hooks& registered_hooks() noexcept {
    return hooks_;
  }

  /// @private
  const hooks& registered_hooks() const noexcept {
    return hooks_;
  }

  /// @private Sets the name hooks registered from now on are tagged with.
  void current_change(std::string name) {
    current_change_ = std::move(name);
  }

  /// @private
  void init(environment env, std::optional<eventactors::actor> who,
            std::optional<json::object> original, json::object input,
            json::object arguments);

  /// @private
  void set_replay(json::object changed_attributes);

  /// @private Sets an attribute without casting (already in storage form).
  void put(std::string_view name, json::value value);

  /// @private Removes an attribute from the changes.
  void erase(std::string_view name);

private:
  const eventactors::resource* resource_;
  const eventactors::action* action_;
  environment env_;
  std::optional<eventactors::actor> actor_;
  std::optional<json::object> original_;
  json::object changes_;
  json::object arguments_;
  json::object input_;
  std::vector<field_error> errors_;
  hooks hooks_;
  std::string current_change_;
  bool replaying_ = false;
  json::object replay_changed_;
};

} // namespace eventactors
