// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/event_log.hpp"

#include <algorithm>

namespace eventactors {

std::string to_string(event_id_kind x) {
  return x == event_id_kind::integer ? "integer" : "uuid_v7";
}

std::string to_string(record_id_kind x) {
  switch (x) {
    case record_id_kind::uuid:
      return "uuid";
    case record_id_kind::integer:
      return "integer";
    case record_id_kind::string:
      return "string";
  }
  return "unknown";
}

std::string to_string(actor_key_kind x) {
  switch (x) {
    case actor_key_kind::uuid:
      return "uuid";
    case actor_key_kind::integer:
      return "integer";
    case actor_key_kind::string:
      return "string";
  }
  return "unknown";
}

clear_context::~clear_context() {
  // nop
}

namespace {

caf::error clear_all_tracked(clear_context& ctx) {
  for (auto& name : ctx.tracked_resources())
    if (auto err = ctx.clear(name))
      return err;
  return {};
}

} // namespace

event_log::event_log(std::string name)
  : name_(std::move(name)), clear_(clear_all_tracked) {
  // nop
}

event_log& event_log::primary_key_type(event_id_kind x) {
  id_kind_ = x;
  return *this;
}

event_log& event_log::record_id_type(record_id_kind x) {
  record_id_kind_ = x;
  return *this;
}

event_log& event_log::persist_actor_primary_key(std::string column,
                                                std::string actor_type,
                                                actor_column_options opts) {
  actor_columns_.push_back(actor_column{std::move(column),
                                        std::move(actor_type), opts.type,
                                        opts.allow_nil,
                                        std::move(opts.renamed_from)});
  return *this;
}

event_log& event_log::drop_actor_column(std::string column) {
  dropped_actor_columns_.push_back(std::move(column));
  return *this;
}

event_log& event_log::clear_records_for_replay(clear_fn fn) {
  clear_ = std::move(fn);
  return *this;
}

event_log& event_log::no_clear_records_for_replay() {
  clear_ = nullptr;
  return *this;
}

event_log& event_log::public_fields(std::vector<std::string> fields) {
  public_mode_ = public_fields_mode::listed;
  public_fields_ = std::move(fields);
  return *this;
}

event_log& event_log::all_fields_public() {
  public_mode_ = public_fields_mode::all;
  public_fields_.clear();
  return *this;
}

event_log& event_log::strict_actor_types(bool value) {
  strict_actors_ = value;
  return *this;
}

event_log& event_log::encrypt_with(std::shared_ptr<key_provider> keys) {
  keys_ = std::move(keys);
  return *this;
}

event_log& event_log::allow_plaintext_sensitive(bool value) {
  plaintext_sensitive_ = value;
  return *this;
}

event_log& event_log::accept_plaintext_events(bool value) {
  plaintext_events_ = value;
  return *this;
}

event_log& event_log::replay_override(std::string resource, std::string action,
                                      std::vector<int32_t> versions,
                                      std::vector<replay_route> route_to) {
  overrides_.push_back(
    eventactors::replay_override{std::move(resource), std::move(action),
                                 std::move(versions), std::move(route_to)});
  return *this;
}

const actor_column* event_log::column_for(std::string_view type) const {
  for (auto& x : actor_columns_)
    if (x.actor_type == type)
      return &x;
  return nullptr;
}

const actor_column* event_log::column_named(std::string_view name) const {
  for (auto& x : actor_columns_)
    if (x.name == name)
      return &x;
  return nullptr;
}

bool event_log::is_public(std::string_view field) const {
  switch (public_mode_) {
    case public_fields_mode::none:
      return false;
    case public_fields_mode::all:
      return true;
    case public_fields_mode::listed:
      return std::find(public_fields_.begin(), public_fields_.end(), field)
             != public_fields_.end();
  }
  return false;
}

const std::vector<std::string>& event_log::builtin_fields() {
  static const std::vector<std::string> fields{
    "id",   "record_id",          "version",  "occurred_at", "resource",
    "action", "action_type",      "data",     "metadata",
    "changed_attributes"};
  return fields;
}

} // namespace eventactors
