// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The loader's event logs: ids, actor columns, clearing for replay, public
// fields, encryption and replay overrides.

#include "json_app/loader.hpp"

#include <cstdint>

#include "eventactors/event_log.hpp"

namespace eventactors::json_app {

void loader::event_log_at(const json::value& x, const std::string& path) {
  auto o = object(x, path);
  if (!o)
    return;
  keys(*o, path,
       {"name", "primary_key_type", "record_id_type",
        "persist_actor_primary_key", "clear_records_for_replay",
        "public_fields", "strict_actor_types", "replay_overrides",
        "encryption", "allow_plaintext_sensitive",
        "accept_plaintext_events", "dropped_actor_columns"});
  auto name = string_field(*o, path, "name", true);
  if (!name)
    return;
  auto& log = app_.add(event_log{*name});
  map("event_log " + *name, path);
  if (auto k = enum_field<event_id_kind>(
        *o, path, "primary_key_type",
        {{"integer", event_id_kind::integer},
         {"uuid_v7", event_id_kind::uuid_v7}}))
    log.primary_key_type(*k);
  if (auto k = enum_field<record_id_kind>(
        *o, path, "record_id_type",
        {{"uuid", record_id_kind::uuid},
         {"integer", record_id_kind::integer},
         {"string", record_id_kind::string}}))
    log.record_id_type(*k);
  actor_columns_at(log, *o, path);
  for (auto& dropped : strings(*o, path, "dropped_actor_columns"))
    log.drop_actor_column(dropped);
  map("event_log " + *name + ".dropped_actor_columns",
      path + ".dropped_actor_columns");
  if (auto clear = o->if_contains("clear_records_for_replay"))
    clear_records_at(log, *clear, path + ".clear_records_for_replay");
  if (auto pf = o->if_contains("public_fields")) {
    if (*pf == "all")
      log.all_fields_public();
    else if (pf->is_array())
      log.public_fields(strings(*o, path, "public_fields"));
    else
      fail(path + ".public_fields",
           "expected \"all\" or an array of field names");
  }
  if (auto strict = bool_field(*o, path, "strict_actor_types"))
    log.strict_actor_types(*strict);
  if (auto allow = bool_field(*o, path, "allow_plaintext_sensitive"))
    log.allow_plaintext_sensitive(*allow);
  if (auto accept = bool_field(*o, path, "accept_plaintext_events"))
    log.accept_plaintext_events(*accept);
  if (auto enc = o->if_contains("encryption"))
    encryption_at(log, *enc, path + ".encryption");
  if (auto ovs = array_field(*o, path, "replay_overrides", false))
    for (size_t i = 0; i < ovs->size(); ++i)
      replay_override_at(log, (*ovs)[i],
                         path + ".replay_overrides[" + std::to_string(i)
                           + "]");
}

/// The event log's `persist_actor_primary_key` columns.
void loader::actor_columns_at(event_log& log, const json::object& o,
                              const std::string& path) {
  auto cols = array_field(o, path, "persist_actor_primary_key", false);
  if (!cols)
    return;
  for (size_t i = 0; i < cols->size(); ++i) {
    auto cpath = path + ".persist_actor_primary_key[" + std::to_string(i)
                 + "]";
    auto c = object((*cols)[i], cpath);
    if (!c)
      continue;
    keys(*c, cpath,
         {"column", "actor_type", "type", "allow_nil", "renamed_from"});
    auto column = string_field(*c, cpath, "column", true);
    auto type = string_field(*c, cpath, "actor_type", true);
    auto kind = enum_field<actor_key_kind>(
      *c, cpath, "type",
      {{"uuid", actor_key_kind::uuid},
       {"integer", actor_key_kind::integer},
       {"string", actor_key_kind::string}});
    auto nil = bool_field(*c, cpath, "allow_nil");
    auto former = names_field(*c, cpath, "renamed_from");
    if (column && type) {
      log.persist_actor_primary_key(
        *column, *type,
        {kind.value_or(actor_key_kind::uuid), nil.value_or(true),
         std::move(former)});
      map("event_log " + log.name() + ".persist_actor_primary_key "
            + *column,
          cpath);
    }
  }
}

/// `clear_records_for_replay`: `"all_tracked"`, `"none"` or
/// `{"resources": [...]}` (checked once every resource is known).
void loader::clear_records_at(event_log& log, const json::value& x,
                              const std::string& path) {
  if (x == "all_tracked") {
    // the default
  } else if (x == "none") {
    log.no_clear_records_for_replay();
  } else if (x.is_object()) {
    auto& c = x.get_object();
    keys(c, path, {"resources"});
    auto names = strings(c, path, "resources");
    log.clear_records_for_replay([names](clear_context& ctx) {
      for (auto& n : names)
        if (auto err = ctx.clear(n))
          return err;
      return caf::error{};
    });
    for (size_t i = 0; i < names.size(); ++i)
      pending_checks_.push_back(
        {path + ".resources[" + std::to_string(i) + "]", names[i]});
  } else {
    fail(path, "expected \"all_tracked\", \"none\" or {\"resources\": "
               "[...]}, got "
                 + show(x));
  }
}

/// One entry of `replay_overrides`.
void loader::replay_override_at(event_log& log, const json::value& x,
                                const std::string& path) {
  auto ov = object(x, path);
  if (!ov)
    return;
  keys(*ov, path, {"resource", "action", "versions", "route_to"});
  auto res = string_field(*ov, path, "resource", true);
  auto act = string_field(*ov, path, "action", true);
  std::vector<int32_t> versions;
  if (auto vs = array_field(*ov, path, "versions", true))
    for (size_t k = 0; k < vs->size(); ++k) {
      auto& v = (*vs)[k];
      if (!v.is_int64() || v.get_int64() < 1 || v.get_int64() > INT32_MAX)
        fail(path + ".versions[" + std::to_string(k) + "]",
             "expected a positive integer, got " + show(v));
      else
        versions.push_back(static_cast<int32_t>(v.get_int64()));
    }
  std::vector<replay_route> routes;
  if (auto rs = array_field(*ov, path, "route_to", true))
    for (size_t k = 0; k < rs->size(); ++k) {
      auto rpath = path + ".route_to[" + std::to_string(k) + "]";
      auto r = object((*rs)[k], rpath);
      if (!r)
        continue;
      keys(*r, rpath, {"resource", "action"});
      auto rres = string_field(*r, rpath, "resource", true);
      auto ract = string_field(*r, rpath, "action", true);
      if (rres && ract)
        routes.push_back({*rres, *ract});
    }
  if (res && act) {
    log.replay_override(*res, *act, versions, routes);
    auto index = path.substr(path.rfind('['));
    map("event_log " + log.name() + ".replay_overrides" + index + " ("
          + *res + ", " + *act + ")",
        path);
  }
}

void loader::encryption_at(event_log& log, const json::value& x,
                           const std::string& path) {
  auto o = object(x, path);
  if (!o)
    return;
  auto kind = string_field(*o, path, "provider", true);
  if (!kind)
    return;
  auto factory = lib_.find_key_provider(*kind);
  if (!factory) {
    fail(path + ".provider", "unknown key provider " + in_quotes(*kind));
    return;
  }
  auto spec = *o;
  spec.erase("provider");
  auto provider = (*factory)(spec);
  if (!provider)
    fail(path, message(provider.error()));
  else if (!*provider)
    fail(path, "key provider " + in_quotes(*kind) + " returned nothing");
  else
    log.encrypt_with(std::move(*provider));
}

} // namespace eventactors::json_app
