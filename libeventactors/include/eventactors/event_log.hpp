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

#include "eventactors/encryption.hpp"

namespace eventactors {

/// How event ids are generated.
enum class event_id_kind : uint8_t {
  integer, ///< Auto-increment integer (the default).
  uuid_v7, ///< Time-ordered UUID, generated in commit order.
};

/// The type of the `record_id` column.
enum class record_id_kind : uint8_t { uuid, integer, string };

/// The type of an actor column.
enum class actor_key_kind : uint8_t { uuid, integer, string };

/// Returns `"integer"` or `"uuid_v7"`.
std::string to_string(event_id_kind x);

/// Returns `"uuid"`, `"integer"` or `"string"`.
std::string to_string(record_id_kind x);

/// Returns `"uuid"`, `"integer"` or `"string"`.
std::string to_string(actor_key_kind x);

/// One actor column of the event log: which actor type it attributes and
/// how its key is stored.
struct actor_column {
  /// Column name, e.g. `user_id`.
  std::string name;
  /// Actor type whose key lands here, e.g. `Accounts.User`.
  std::string actor_type;
  actor_key_kind type = actor_key_kind::uuid;
  bool allow_nil = true;
  /// Names the column had before (see `actor_column_options`).
  std::vector<std::string> renamed_from = {};
};

/// Options of `event_log::persist_actor_primary_key`.
struct actor_column_options {
  actor_key_kind type = actor_key_kind::uuid;
  bool allow_nil = true;
  /// Names the column had before: at start, a column under one of them is
  /// renamed to this one (`ALTER TABLE ... RENAME COLUMN`), so the
  /// attribution of old events is kept. See docs/migrations.md.
  std::vector<std::string> renamed_from = {};
};

/// One target of a replay override.
struct replay_route {
  std::string resource;
  std::string action;
};

/// Routes replayed events of a resource and action, at the listed
/// versions, to other actions (on the same or other resources).
struct replay_override {
  /// The event's resource and action names as stored (they need not exist
  /// in the code anymore).
  std::string resource;
  std::string action;
  std::vector<int32_t> versions;
  std::vector<replay_route> route_to;
};

/// Deletes records before a replay. Runs inside the replay's transaction.
class clear_context {
public:
  virtual ~clear_context();

  /// Deletes every record of `resource`.
  [[nodiscard]] virtual caf::error clear(std::string_view resource) = 0;

  /// The resources that write to this event log.
  virtual std::vector<std::string> tracked_resources() const = 0;
};

/// The clear-records-for-replay callback.
using clear_fn = std::function<caf::error(clear_context&)>;

/// Which event fields query interfaces expose.
enum class public_fields_mode : uint8_t { none, all, listed };

/// The definition of an event log: one table of events in the database.
///
/// A plain value built before the runtime starts; `app` checks it when
/// registered.
class event_log {
public:
  /// Starts an event log whose table is `name` (e.g. `events`).
  explicit event_log(std::string name);

  // -- builder ----------------------------------------------------------------

  /// Sets how event ids are generated (default: auto-increment integer).
  event_log& primary_key_type(event_id_kind x);

  /// Sets the type of the `record_id` column (default: uuid).
  event_log& record_id_type(record_id_kind x);

  /// Adds a column `column` storing the primary key of actors of type
  /// `actor_type`. With more than one column, all must allow nil.
  event_log& persist_actor_primary_key(std::string column,
                                       std::string actor_type,
                                       actor_column_options opts = {});

  /// Declares that the actor column `column` was removed on purpose: at
  /// start it is dropped with the attribution it holds (`ALTER TABLE ...
  /// DROP COLUMN`). Without this (or a rename), a column that the log does
  /// not define but that still holds actor keys stops the start.
  event_log& drop_actor_column(std::string column);

  /// Sets the clear-records-for-replay callback. The default clears every
  /// resource that writes to this log.
  event_log& clear_records_for_replay(clear_fn fn);

  /// Configures no clear callback: replay refuses to run (for logs used as
  /// audit trails only).
  event_log& no_clear_records_for_replay();

  /// Exposes these event fields (built-in fields or actor columns).
  event_log& public_fields(std::vector<std::string> fields);

  /// Exposes every event field.
  event_log& all_fields_public();

  /// Makes an actor of a type without a column an error naming the type,
  /// instead of leaving every actor column null.
  event_log& strict_actor_types(bool value = true);

  /// Stores the data, metadata and changed attributes of new events
  /// encrypted (AES-256-GCM) with keys from `keys`; reads and replay
  /// decrypt them. Sensitive inputs are then kept (encrypted) in the event
  /// data instead of being stored as null.
  event_log& encrypt_with(std::shared_ptr<key_provider> keys);

  /// Allows resources with sensitive attributes on this log although it is
  /// not encrypted. Risk: values that changes compute for sensitive
  /// attributes (e.g. a password hash) are stored in plain text in the
  /// events' changed attributes, as AshEvents does; anyone who can read the
  /// database file can read them. Without this option such a definition is
  /// refused.
  event_log& allow_plaintext_sensitive(bool value = true);

  /// Lets an encrypted log read events stored without encryption: those
  /// written before the log was encrypted. Without it such an event is a
  /// `decryption_failed` error, since someone who can write the file could
  /// otherwise replace sealed events with plaintext ones.
  event_log& accept_plaintext_events(bool value = true);

  /// Routes replayed events (see `replay_override`).
  event_log& replay_override(std::string resource, std::string action,
                             std::vector<int32_t> versions,
                             std::vector<replay_route> route_to);

  // -- observers --------------------------------------------------------------

  const std::string& name() const noexcept {
    return name_;
  }

  event_id_kind id_kind() const noexcept {
    return id_kind_;
  }

  record_id_kind record_id() const noexcept {
    return record_id_kind_;
  }

  const std::vector<actor_column>& actor_columns() const noexcept {
    return actor_columns_;
  }

  /// Returns the column for actors of type `type`, or null.
  const actor_column* column_for(std::string_view type) const;

  /// Returns the actor column named `name`, or null.
  const actor_column* column_named(std::string_view name) const;

  /// The actor columns declared as removed (`drop_actor_column`).
  const std::vector<std::string>& dropped_actor_columns() const noexcept {
    return dropped_actor_columns_;
  }

  /// The clear callback: null when `no_clear_records_for_replay` was set,
  /// the default (clear every tracked resource) unless another was set.
  const clear_fn& clear_callback() const noexcept {
    return clear_;
  }

  public_fields_mode public_mode() const noexcept {
    return public_mode_;
  }

  const std::vector<std::string>& public_field_names() const noexcept {
    return public_fields_;
  }

  /// Returns whether event field `field` is public.
  bool is_public(std::string_view field) const;

  bool strict_actors() const noexcept {
    return strict_actors_;
  }

  /// The key provider of an encrypted log; null when not encrypted.
  const std::shared_ptr<key_provider>& keys() const noexcept {
    return keys_;
  }

  /// Whether new events are stored encrypted (`encrypt_with`).
  bool encrypted() const noexcept {
    return keys_ != nullptr;
  }

  /// See `allow_plaintext_sensitive`.
  bool plaintext_sensitive_allowed() const noexcept {
    return plaintext_sensitive_;
  }

  /// See `accept_plaintext_events`.
  bool plaintext_events_accepted() const noexcept {
    return plaintext_events_;
  }

  const std::vector<struct replay_override>& overrides() const noexcept {
    return overrides_;
  }

  /// The built-in event fields, e.g. `id`, `resource`, `occurred_at`.
  static const std::vector<std::string>& builtin_fields();

private:
  std::string name_;
  event_id_kind id_kind_ = event_id_kind::integer;
  record_id_kind record_id_kind_ = record_id_kind::uuid;
  std::vector<actor_column> actor_columns_;
  std::vector<std::string> dropped_actor_columns_;
  clear_fn clear_;
  public_fields_mode public_mode_ = public_fields_mode::none;
  std::vector<std::string> public_fields_;
  bool strict_actors_ = false;
  std::shared_ptr<key_provider> keys_;
  bool plaintext_sensitive_ = false;
  bool plaintext_events_ = false;
  std::vector<struct replay_override> overrides_;
};

} // namespace eventactors
