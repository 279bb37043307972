// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eventactors/changeset.hpp"
#include "eventactors/environment.hpp"
#include "eventactors/json.hpp"
#include "eventactors/types.hpp"

namespace eventactors {

class app;

namespace detail {
void resolve(app& a);
} // namespace detail

/// A value, or a function computing one when the action runs: attribute
/// defaults and update defaults.
class value_source {
public:
  using generator = std::function<json::value(const environment&)>;

  /// A constant value.
  value_source(json::value constant);
  /// A constant string.
  value_source(const char* constant);
  /// A constant string.
  value_source(std::string constant);
  /// A constant integer.
  value_source(int constant);
  /// A constant integer.
  value_source(int64_t constant);
  /// A constant number.
  value_source(double constant);
  /// A constant boolean.
  value_source(bool constant);
  /// A value computed by `fn` when the action runs.
  value_source(generator fn);

  /// The current time of the runtime's clock.
  static value_source now();

  /// A new random UUID (version 4).
  static value_source uuid_v4();

  /// A new time-ordered UUID (version 7).
  static value_source uuid_v7();

  /// Returns the value: the constant, or the generator's result.
  json::value produce(const environment& env) const;

  /// The constant; null for a value computed when the action runs.
  const json::value* constant() const noexcept {
    return fn_ ? nullptr : &constant_;
  }

private:
  json::value constant_;
  generator fn_;
};

/// Per-attribute options.
struct attribute_options {
  /// Whether the attribute may be null.
  bool allow_nil = true;
  /// The value a create sets when the input does not.
  std::optional<value_source> default_value = std::nullopt;
  /// A value every update sets unless it sets the attribute itself, e.g. an
  /// update timestamp.
  std::optional<value_source> update_default = std::nullopt;
  /// Secret: stored as null in event data unless the log is encrypted.
  bool sensitive = false;
  /// Whether actions may accept the attribute as input.
  bool writable = true;
  /// Names the attribute had before (oldest first or in any order): at
  /// start, a column under one of them is renamed to the attribute's name
  /// (`ALTER TABLE ... RENAME COLUMN`), and replay reads old events' values
  /// under those names as this attribute's. See docs/migrations.md.
  std::vector<std::string> renamed_from = {};
};

/// A typed attribute of a resource: one column of its table.
struct attribute {
  std::string name;
  attribute_type type;
  attribute_options options;
};

/// Per-argument options.
struct argument_options {
  /// A required argument must be supplied (and non-null) unless it has a
  /// default.
  bool required = false;
  /// The value used when the caller supplies none. Defaults are not part of
  /// the event's data.
  std::optional<value_source> default_value = std::nullopt;
  /// Secret: stored as null in event data unless the log is encrypted.
  bool sensitive = false;
};

/// A typed action input that is not an attribute.
struct argument {
  std::string name;
  attribute_type type;
  argument_options options;
};

/// How a resource's primary key is generated.
enum class key_kind : uint8_t {
  uuid_v4, ///< Random UUID (the default).
  uuid_v7, ///< Time-ordered UUID: faster inserts on large tables.
  integer, ///< Auto-increment integer, assigned by the runtime.
  string,  ///< Text supplied by the caller on create.
};

/// Returns the name of `x`, e.g. `"uuid_v4"`.
std::string to_string(key_kind x);

/// A named set of attributes whose values are unique among the records.
struct identity {
  std::string name;
  std::vector<std::string> attributes;
};

/// The kinds of relationships between resources.
enum class relationship_kind : uint8_t {
  belongs_to,
  has_one,
  has_many,
  many_to_many,
};

/// Returns the name of `x`, e.g. `"belongs_to"`.
std::string to_string(relationship_kind x);

/// Options of a relationship. Unset names take the conventional default.
struct relationship_options {
  /// belongs_to: the foreign-key attribute on this resource (default
  /// `<name>_id`). has_one / has_many: this resource's key the destination's
  /// foreign key refers to (default: the primary key).
  std::string source_attribute = {};
  /// has_one / has_many: the foreign-key attribute on the destination
  /// (required). belongs_to: the destination's key (default: its primary
  /// key).
  std::string destination_attribute = {};
  /// many_to_many: the join resource.
  std::string through = {};
  /// many_to_many: the join's attribute referring to this resource.
  std::string source_attribute_on_join = {};
  /// many_to_many: the join's attribute referring to the destination.
  std::string destination_attribute_on_join = {};
  /// belongs_to: whether the foreign key may be null.
  bool allow_nil = true;
};

/// A relationship to another resource.
struct relationship {
  std::string name;
  relationship_kind kind;
  std::string destination;
  relationship_options options;
};

/// How a relationship argument manages related records (nested
/// relationship management). Each related write is its own action with its
/// own event, after the parent's, in the same unit.
enum class manage_mode : uint8_t {
  /// Create every item (has_one / has_many).
  create,
  /// Items with the destination's primary key update that record, items
  /// without create one, and related records missing from the list are
  /// destroyed (has_one / has_many).
  direct_control,
  /// Link existing destination records by primary key, keeping links not
  /// listed (many_to_many: creates join records).
  append,
  /// Link the listed records and unlink the ones not listed (many_to_many:
  /// creates and destroys join records).
  append_and_remove,
};

/// Returns the name of `x`, e.g. `"direct_control"`.
std::string to_string(manage_mode x);

/// Options of a managed relationship argument.
struct manage_options {
  manage_mode mode = manage_mode::direct_control;
  /// The destination's (or join's, for many_to_many) action that creates.
  std::string create_action = "create";
  /// The destination's action that updates (direct_control).
  std::string update_action = "update";
  /// The destination's (or join's) action that destroys.
  std::string destroy_action = "destroy";
};

/// An action argument managing a relationship.
struct managed_relationship {
  std::string argument;
  std::string relationship;
  manage_options options;
};

/// A named create, update or destroy action of a resource.
///
/// Built by `resource::create`, `update` and `destroy`; the builder
/// functions return `*this` for chaining.
class action {
public:
  action(std::string name, action_kind kind);

  const std::string& name() const noexcept {
    return name_;
  }

  action_kind kind() const noexcept {
    return kind_;
  }

  // -- builder ----------------------------------------------------------------

  /// Accepts these attributes as input.
  action& accept(std::vector<std::string> attributes);

  /// Declares an argument.
  action& argument(std::string name, attribute_type type,
                   argument_options opts = {});

  /// Adds a change. Changes and validations run in the order they were
  /// added, after the resource's own changes for this kind of action.
  action& change(eventactors::change c);

  /// Adds a validation (run in order with the changes, see `change`).
  action& validate(eventactors::validation v);

  /// Makes a create an upsert on `identity`: when a record with the same
  /// identity values exists, the action updates it instead. The event
  /// still logs as a create of this action, with the existing record's id.
  action& upsert(std::string identity);

  /// Makes a destroy soft: it runs its changes and updates the record
  /// instead of deleting it.
  action& soft(bool value = true);

  /// Silently drops input keys that are neither accepted attributes nor
  /// arguments (they are left out of the event data). By default such keys
  /// are an error naming the key.
  action& skip_unknown_inputs(bool value = true);

  /// Manages a relationship through an argument (see `manage_mode`).
  action& manage_relationship(std::string argument, std::string relationship,
                              manage_options opts = {});

  /// Adds a before_action hook, registered by a change named `name` (the
  /// name `allowed_change_modules` refers to).
  action& before_action(std::string name, before_hook fn);

  /// Adds an after_action hook (see `before_action`).
  action& after_action(std::string name, after_action_hook fn);

  /// Adds an around_action hook (see `before_action`).
  action& around_action(std::string name, around_hook fn);

  /// Adds a before_transaction hook (see `before_action`).
  action& before_transaction(std::string name, before_hook fn);

  /// Adds an after_transaction hook (see `before_action`).
  action& after_transaction(std::string name, after_transaction_hook fn);

  /// Adds an around_transaction hook (see `before_action`).
  action& around_transaction(std::string name, around_hook fn);

  // -- observers --------------------------------------------------------------

  const std::vector<std::string>& accepted() const noexcept {
    return accept_;
  }

  bool accepts(std::string_view attribute) const noexcept;

  const std::vector<eventactors::argument>& arguments() const noexcept {
    return arguments_;
  }

  /// Returns the argument named `name`, or null.
  const eventactors::argument* find_argument(std::string_view name) const;

  const std::vector<eventactors::change>& changes() const noexcept {
    return changes_;
  }

  const std::vector<eventactors::validation>& validations() const noexcept {
    return validations_;
  }

  /// One step of an action: a change or a validation.
  struct step {
    const eventactors::change* change = nullptr;
    const eventactors::validation* validation = nullptr;
  };

  /// The changes and validations in the order they were added.
  std::vector<step> steps() const;

  const std::optional<std::string>& upsert_identity() const noexcept {
    return upsert_identity_;
  }

  bool is_soft() const noexcept {
    return soft_;
  }

  bool skips_unknown_inputs() const noexcept {
    return skip_unknown_;
  }

  const std::vector<managed_relationship>& managed() const noexcept {
    return managed_;
  }

private:
  std::string name_;
  action_kind kind_;
  std::vector<std::string> accept_;
  std::vector<eventactors::argument> arguments_;
  std::vector<eventactors::change> changes_;
  std::vector<eventactors::validation> validations_;
  /// Declaration order: false for a change, true for a validation.
  std::vector<bool> order_;
  std::optional<std::string> upsert_identity_;
  bool soft_ = false;
  bool skip_unknown_ = false;
  std::vector<managed_relationship> managed_;
};

/// How replay treats the attributes an event changed beyond its input.
enum class replay_strategy : uint8_t {
  /// Force them onto the record after the target action's changes ran.
  force_change,
  /// Merge them into the input (a changed value wins), so they pass
  /// through accepted attributes and arguments.
  as_arguments,
};

/// Returns `"force_change"` or `"as_arguments"`.
std::string to_string(replay_strategy x);

/// The events section of a resource: which event log it writes to and how
/// its actions are tracked.
class events_config {
public:
  explicit events_config(std::string event_log);

  /// Tracks only these actions (exclusive with `ignore_actions`).
  events_config& only_actions(std::vector<std::string> names);

  /// Tracks every action except these (exclusive with `only_actions`).
  /// Ignored actions never write events but can be replay targets.
  events_config& ignore_actions(std::vector<std::string> names);

  /// Sets the version stamped on new events of an action (default 1).
  events_config& current_action_versions(std::map<std::string, int32_t> x);

  /// Names, per action, the changes whose hooks still run during replay.
  events_config&
  allowed_change_modules(std::map<std::string, std::vector<std::string>> x);

  /// The attribute whose value becomes `occurred_at` of create events.
  events_config& create_timestamp(std::string attribute);

  /// The attribute whose value becomes `occurred_at` of update events (and
  /// of upserts that updated).
  events_config& update_timestamp(std::string attribute);

  /// Sets the replay strategy per action (default `force_change`).
  events_config& replay_non_input_attribute_changes(
    std::map<std::string, replay_strategy> x);

  // -- observers --------------------------------------------------------------

  const std::string& event_log() const noexcept {
    return event_log_;
  }

  const std::optional<std::vector<std::string>>& only() const noexcept {
    return only_;
  }

  const std::optional<std::vector<std::string>>& ignored() const noexcept {
    return ignore_;
  }

  const std::map<std::string, int32_t>& versions() const noexcept {
    return versions_;
  }

  const std::map<std::string, std::vector<std::string>>&
  allowed_changes() const noexcept {
    return allowed_changes_;
  }

  const std::optional<std::string>& create_timestamp() const noexcept {
    return create_timestamp_;
  }

  const std::optional<std::string>& update_timestamp() const noexcept {
    return update_timestamp_;
  }

  const std::map<std::string, replay_strategy>& strategies() const noexcept {
    return strategies_;
  }

  /// Returns whether action `name` writes events.
  bool tracks(std::string_view name) const;

  /// Returns the version of action `name`.
  int32_t version_of(std::string_view name) const;

  /// Returns the replay strategy of action `name`.
  replay_strategy strategy_of(std::string_view name) const;

private:
  std::string event_log_;
  std::optional<std::vector<std::string>> only_;
  std::optional<std::vector<std::string>> ignore_;
  std::map<std::string, int32_t> versions_;
  std::map<std::string, std::vector<std::string>> allowed_changes_;
  std::optional<std::string> create_timestamp_;
  std::optional<std::string> update_timestamp_;
  std::map<std::string, replay_strategy> strategies_;
};

/// The definition of a resource: a record type with typed attributes, a
/// primary key, identities, relationships, and named actions.
///
/// A plain value built before the runtime starts; `app` checks it when
/// registered and the runtime never changes it. References returned by the
/// builder stay valid while the resource lives.
class resource {
public:
  /// Starts a resource named `name` (e.g. `Accounts.User`) with a UUID v4
  /// primary key `id`.
  explicit resource(std::string name);

  // -- builder ----------------------------------------------------------------

  /// Sets the primary key attribute and how it is generated. A writable key
  /// may be supplied by the caller on create.
  resource& primary_key(std::string name, key_kind kind = key_kind::uuid_v4,
                        bool writable = true);

  /// Adds an attribute.
  resource& attribute(std::string name, attribute_type type,
                      attribute_options opts = {});

  /// Adds create and update timestamp attributes (UTC date-times with
  /// microseconds, writable, never null): the first defaults to now on
  /// create, the second to now on create and on every update.
  resource& timestamps(std::string created = "created_at",
                       std::string updated = "updated_at");

  /// Declares that the attribute `name` was removed on purpose: at start
  /// its column is dropped with its data (`ALTER TABLE ... DROP COLUMN`),
  /// and replay ignores old events' values for it. Without this (or a
  /// rename), a column that no attribute defines but that still holds data
  /// stops the start. See docs/migrations.md.
  resource& drop_attribute(std::string name);

  /// Adds a unique identity over `attributes`.
  resource& identity(std::string name, std::vector<std::string> attributes);

  /// Adds a relationship of `kind`: what `belongs_to`, `has_one`,
  /// `has_many` or `many_to_many` adds.
  resource& relationship(relationship_kind kind, std::string name,
                         std::string destination, relationship_options opts);

  /// Adds a belongs_to relationship. Adds the foreign-key attribute (typed
  /// like the destination's primary key) unless it is already defined.
  resource& belongs_to(std::string name, std::string destination,
                       relationship_options opts = {});

  /// Adds a has_one relationship; `opts.destination_attribute` names the
  /// foreign key on the destination.
  resource& has_one(std::string name, std::string destination,
                    relationship_options opts);

  /// Adds a has_many relationship; `opts.destination_attribute` names the
  /// foreign key on the destination.
  resource& has_many(std::string name, std::string destination,
                     relationship_options opts);

  /// Adds a many_to_many relationship through the join resource
  /// `opts.through`.
  resource& many_to_many(std::string name, std::string destination,
                         relationship_options opts);

  /// Adds a change that runs first in every action of the given kinds.
  resource& change(eventactors::change c, std::vector<action_kind> on);

  /// Adds a create action; returns it for further building.
  action& create(std::string name);

  /// Adds an update action; returns it for further building.
  action& update(std::string name);

  /// Adds a destroy action; returns it for further building.
  action& destroy(std::string name);

  /// Tracks the resource's actions in event log `event_log`; returns the
  /// events section for further building. Replaces an existing section.
  events_config& events(std::string event_log);

  // -- observers --------------------------------------------------------------

  const std::string& name() const noexcept {
    return name_;
  }

  const std::string& primary_key() const noexcept {
    return primary_key_;
  }

  key_kind key() const noexcept {
    return key_kind_;
  }

  const std::vector<eventactors::attribute>& attributes() const noexcept {
    return attributes_;
  }

  /// Returns the attribute named `name`, or null.
  const eventactors::attribute* find_attribute(std::string_view name) const;

  /// The attributes declared as removed (`drop_attribute`).
  const std::vector<std::string>& dropped_attributes() const noexcept {
    return dropped_attributes_;
  }

  const std::vector<eventactors::identity>& identities() const noexcept {
    return identities_;
  }

  const eventactors::identity* find_identity(std::string_view name) const;

  const std::vector<eventactors::relationship>&
  relationships() const noexcept {
    return relationships_;
  }

  const eventactors::relationship*
  find_relationship(std::string_view name) const;

  const std::deque<action>& actions() const noexcept {
    return actions_;
  }

  /// Returns the action named `name`, or null.
  const action* find_action(std::string_view name) const;

  const std::vector<std::pair<eventactors::change, std::vector<action_kind>>>&
  resource_changes() const noexcept {
    return resource_changes_;
  }

  /// The events section; null for resources whose actions are not logged.
  const events_config* events() const noexcept {
    return events_ ? &*events_ : nullptr;
  }

  /// The events section, to amend it; null for resources whose actions are
  /// not logged.
  events_config* events() noexcept {
    return events_ ? &*events_ : nullptr;
  }

  /// The table holding the records: the name in snake case with dots as
  /// underscores, e.g. `accounts_user` for `Accounts.User`.
  const std::string& table() const noexcept {
    return table_;
  }

  /// Overrides the table name.
  resource& table(std::string name);

private:
  friend void detail::resolve(app& a);

  std::string name_;
  std::string table_;
  std::string primary_key_ = "id";
  key_kind key_kind_ = key_kind::uuid_v4;
  std::vector<eventactors::attribute> attributes_;
  std::vector<std::string> dropped_attributes_;
  std::vector<eventactors::identity> identities_;
  std::vector<eventactors::relationship> relationships_;
  std::deque<action> actions_;
  std::vector<std::pair<eventactors::change, std::vector<action_kind>>>
    resource_changes_;
  std::optional<events_config> events_;
};

} // namespace eventactors
