// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Rebuilding an app from its description: the event logs, resources and
// actions, and mapping `app::validate` errors back to JSON paths.

#include "model/description_reader.hpp"

#include "detail/text.hpp"

namespace eventactors::detail {

// -- event logs ---------------------------------------------------------------

void description_reader::log_at(const json::value& x, const std::string& path) {
  auto o = object_at(x, path);
  if (!o)
    return;
  auto name = string_field(*o, path, "name");
  auto id = enum_field(*o, path, "primary_key_type",
                       {event_id_kind::integer, event_id_kind::uuid_v7});
  auto rid = enum_field(
    *o, path, "record_id_type",
    {record_id_kind::uuid, record_id_kind::integer, record_id_kind::string});
  auto listed = names_field(*o, path, "resources");
  auto strict = bool_field(*o, path, "strict_actor_types");
  auto encrypted = bool_field(*o, path, "encrypted");
  auto plaintext = bool_field(*o, path, "allow_plaintext_sensitive");
  if (!name)
    return;
  auto& log = app_.add(event_log{*name});
  map("event_log " + *name, path);
  if (listed)
    log_resources_.emplace_back(path + ".resources", std::move(*listed));
  if (id)
    log.primary_key_type(*id);
  if (rid)
    log.record_id_type(*rid);
  actor_columns_at(log, *o, path);
  if (auto pf = need(*o, path, "public_fields")) {
    if (*pf == "all")
      log.all_fields_public();
    else if (pf->is_array()) {
      if (auto names = names_field(*o, path, "public_fields"))
        log.public_fields(std::move(*names));
    } else if (*pf != "none")
      fail(path + ".public_fields",
           "expected \"none\", \"all\" or an array of field names, got "
             + show(*pf, 60));
  }
  if (strict)
    log.strict_actor_types(*strict);
  if (encrypted && *encrypted)
    log.encrypt_with(no_keys());
  if (plaintext)
    log.allow_plaintext_sensitive(*plaintext);
}

void description_reader::actor_columns_at(event_log& log, const json::object& o,
                                          const std::string& path) {
  auto cols = array_field(o, path, "actor_columns");
  if (!cols)
    return;
  for (size_t i = 0; i < cols->size(); ++i) {
    auto cpath = at_index(path + ".actor_columns", i);
    auto c = object_at((*cols)[i], cpath);
    if (!c)
      continue;
    auto column = string_field(*c, cpath, "column");
    auto type = string_field(*c, cpath, "actor_type");
    auto kind = enum_field(
      *c, cpath, "type",
      {actor_key_kind::uuid, actor_key_kind::integer, actor_key_kind::string});
    auto nil = bool_field(*c, cpath, "allow_nil");
    auto former = names_field(*c, cpath, "renamed_from");
    if (!column || !type || !kind || !nil || !former)
      continue;
    log.persist_actor_primary_key(*column, *type,
                                  {*kind, *nil, std::move(*former)});
    map("event_log " + log.name() + ".persist_actor_primary_key " + *column,
        cpath);
  }
}

void description_reader::check_log_resources() {
  for (size_t i = 0; i < app_.logs().size() && i < log_resources_.size(); ++i) {
    auto& log = app_.logs()[i];
    auto& [path, listed] = log_resources_[i];
    std::vector<std::string> writing;
    for (auto& res : app_.resources())
      if (auto ev = res.events(); ev && ev->event_log() == log.name())
        writing.push_back(res.name());
    if (listed != writing)
      fail(path, "lists other resources than those whose event_log is "
                   + quoted(log.name()));
  }
}

// -- resources ----------------------------------------------------------------

void description_reader::resource_at(const json::value& x,
                                     const std::string& path) {
  auto o = object_at(x, path);
  if (!o)
    return;
  auto name = string_field(*o, path, "name");
  auto table = string_field(*o, path, "table");
  if (!name)
    return;
  auto& res = app_.add(resource{*name});
  map(*name, path);
  if (table)
    res.table(*table);
  if (primary_key_at(res, *o, path))
    attributes_at(res, *o, path);
  identities_at(res, *o, path);
  if (auto rels = array_field(*o, path, "relationships"))
    for (size_t i = 0; i < rels->size(); ++i)
      relationship_at(res, (*rels)[i], at_index(path + ".relationships", i));
  actions_at(res, *o, path);
}

bool description_reader::primary_key_at(resource& res, const json::object& o,
                                        const std::string& path) {
  auto pk = need(o, path, "primary_key");
  auto p = pk ? object_at(*pk, path + ".primary_key") : nullptr;
  if (!p)
    return false;
  auto ppath = path + ".primary_key";
  auto name = string_field(*p, ppath, "name");
  auto kind = enum_field(*p, ppath, "type",
                         {key_kind::uuid_v4, key_kind::uuid_v7,
                          key_kind::integer, key_kind::string});
  auto writable = bool_field(*p, ppath, "writable");
  if (!name || !kind || !writable)
    return false;
  res.primary_key(*name, *kind, *writable);
  return true;
}

/// The attributes; the first is the primary key, set by `primary_key_at`,
/// which the description must repeat as it is.
void description_reader::attributes_at(resource& res, const json::object& o,
                                       const std::string& path) {
  auto attrs = array_field(o, path, "attributes");
  if (!attrs)
    return;
  // A copy: adding attributes moves the vector's elements.
  auto key = res.attributes().front();
  for (size_t i = 0; i < attrs->size(); ++i) {
    auto apath = at_index(path + ".attributes", i);
    auto attr = attribute_at((*attrs)[i], apath);
    if (!attr)
      continue;
    if (i > 0) {
      map(res.name() + ".attributes." + attr->name, apath);
      res.attribute(std::move(attr->name), std::move(attr->type),
                    std::move(attr->options));
      continue;
    }
    auto& opts = attr->options;
    if (attr->name != key.name || attr->type.name() != key.type.name()
        || opts.allow_nil || opts.writable != key.options.writable
        || opts.sensitive || opts.default_value || opts.update_default
        || !opts.renamed_from.empty())
      fail(apath, "expected the primary key " + quoted(key.name) + " ("
                    + key.type.name()
                    + ", not nil, writable as primary_key "
                      "says, not sensitive, no default, no former names)");
    map(res.name() + ".attributes." + key.name, apath);
  }
  if (attrs->empty())
    fail(path + ".attributes", "expected the primary key first, got []");
}

std::optional<attribute> description_reader::attribute_at(
  const json::value& x, const std::string& path) {
  auto o = object_at(x, path);
  if (!o)
    return std::nullopt;
  attribute result;
  auto name = string_field(*o, path, "name");
  auto t = need(*o, path, "type");
  auto type = t ? type_at(*t, path + ".type") : std::nullopt;
  auto nil = bool_field(*o, path, "allow_nil");
  auto writable = bool_field(*o, path, "writable");
  auto sensitive = bool_field(*o, path, "sensitive");
  auto& opts = result.options;
  auto defaults = default_at(*o, path, "default", opts.default_value);
  defaults &= default_at(*o, path, "update_default", opts.update_default);
  auto former = names_field(*o, path, "renamed_from");
  if (!name || !type || !nil || !writable || !sensitive || !defaults || !former)
    return std::nullopt;
  result.name = std::move(*name);
  result.type = std::move(*type);
  opts.allow_nil = *nil;
  opts.writable = *writable;
  opts.sensitive = *sensitive;
  opts.renamed_from = std::move(*former);
  return result;
}

void description_reader::identities_at(resource& res, const json::object& o,
                                       const std::string& path) {
  auto ids = array_field(o, path, "identities");
  if (!ids)
    return;
  for (size_t i = 0; i < ids->size(); ++i) {
    auto ipath = at_index(path + ".identities", i);
    auto id = object_at((*ids)[i], ipath);
    if (!id)
      continue;
    auto name = string_field(*id, ipath, "name");
    auto attrs = names_field(*id, ipath, "attributes");
    if (!name || !attrs)
      continue;
    res.identity(*name, std::move(*attrs));
    map(res.name() + ".identities." + *name, ipath);
  }
}

void description_reader::relationship_at(resource& res, const json::value& x,
                                         const std::string& path) {
  auto o = object_at(x, path);
  if (!o)
    return;
  auto name = string_field(*o, path, "name");
  auto kind = enum_field(
    *o, path, "kind",
    {relationship_kind::belongs_to, relationship_kind::has_one,
     relationship_kind::has_many, relationship_kind::many_to_many});
  auto dest = string_field(*o, path, "destination");
  relationship_options opts;
  bool ok = true;
  for (auto [key, out] :
       {std::pair{"source_attribute", &opts.source_attribute},
        std::pair{"destination_attribute", &opts.destination_attribute},
        std::pair{"through", &opts.through},
        std::pair{"source_attribute_on_join", &opts.source_attribute_on_join},
        std::pair{"destination_attribute_on_join",
                  &opts.destination_attribute_on_join}}) {
    auto str = string_field(*o, path, key);
    ok &= str.has_value();
    *out = str.value_or("");
  }
  auto nil = bool_field(*o, path, "allow_nil");
  if (!name || !kind || !dest || !ok || !nil)
    return;
  opts.allow_nil = *nil;
  res.relationship(*kind, *name, *dest, std::move(opts));
  map(res.name() + ".relationships." + *name, path);
}

// -- actions ------------------------------------------------------------------

void description_reader::actions_at(resource& res, const json::object& o,
                                    const std::string& path) {
  std::optional<std::string> log;
  bool log_ok = nullable_string(o, path, "event_log", log);
  auto acts = array_field(o, path, "actions");
  std::vector<std::string> untracked;
  std::map<std::string, int32_t> versions;
  if (acts)
    for (size_t i = 0; i < acts->size(); ++i)
      action_at(res, (*acts)[i], at_index(path + ".actions", i),
                log.has_value() || !log_ok, untracked, versions);
  if (!log)
    return;
  auto& ev = res.events(*log);
  map(res.name() + ".events", path + ".event_log");
  if (!untracked.empty())
    ev.ignore_actions(std::move(untracked));
  if (!versions.empty())
    ev.current_action_versions(std::move(versions));
}

void description_reader::action_at(resource& res, const json::value& x,
                                   const std::string& path, bool logged,
                                   std::vector<std::string>& untracked,
                                   std::map<std::string, int32_t>& versions) {
  auto o = object_at(x, path);
  if (!o)
    return;
  auto name = string_field(*o, path, "name");
  auto kind = enum_field(
    *o, path, "kind",
    {action_kind::create, action_kind::update, action_kind::destroy});
  auto accept = names_field(*o, path, "accept");
  std::optional<std::string> upsert;
  bool upsert_ok = nullable_string(*o, path, "upsert", upsert);
  auto soft = bool_field(*o, path, "soft");
  auto skip = bool_field(*o, path, "skip_unknown_inputs");
  auto tracked = bool_field(*o, path, "tracked");
  std::optional<int32_t> version;
  if (auto v = need(*o, path, "version")) {
    if (v->is_int64() && v->get_int64() >= 1 && v->get_int64() <= INT32_MAX)
      version = static_cast<int32_t>(v->get_int64());
    else
      fail(path + ".version",
           "expected a positive integer, got " + show(*v, 60));
  }
  if (tracked && *tracked && !logged)
    fail(path + ".tracked", "true, but the resource writes to no event log");
  if (!name || !kind)
    return;
  auto& act = *kind == action_kind::create   ? res.create(*name)
              : *kind == action_kind::update ? res.update(*name)
                                             : res.destroy(*name);
  auto apath = res.name() + ".actions." + *name;
  map(apath, path);
  map(res.name() + ".events.current_action_versions." + *name,
      path + ".version");
  if (accept)
    act.accept(std::move(*accept));
  if (upsert_ok && upsert)
    act.upsert(*upsert);
  if (soft)
    act.soft(*soft);
  if (skip)
    act.skip_unknown_inputs(*skip);
  if (tracked && !*tracked)
    untracked.push_back(*name);
  if (version && *version != 1)
    versions[*name] = *version;
  if (auto args = array_field(*o, path, "arguments"))
    for (size_t i = 0; i < args->size(); ++i)
      argument_at(act, (*args)[i], apath, at_index(path + ".arguments", i));
  if (auto ms = array_field(*o, path, "manage_relationships"))
    for (size_t i = 0; i < ms->size(); ++i)
      manage_at(act, (*ms)[i], apath,
                at_index(path + ".manage_relationships", i));
}

void description_reader::argument_at(action& act, const json::value& x,
                                     const std::string& apath,
                                     const std::string& path) {
  auto o = object_at(x, path);
  if (!o)
    return;
  auto name = string_field(*o, path, "name");
  auto t = need(*o, path, "type");
  auto type = t ? type_at(*t, path + ".type") : std::nullopt;
  auto required = bool_field(*o, path, "required");
  auto sensitive = bool_field(*o, path, "sensitive");
  argument_options opts;
  auto defaults = default_at(*o, path, "default", opts.default_value);
  if (!name || !type || !required || !sensitive || !defaults)
    return;
  opts.required = *required;
  opts.sensitive = *sensitive;
  act.argument(*name, *type, std::move(opts));
  map(apath + ".arguments." + *name, path);
}

void description_reader::manage_at(action& act, const json::value& x,
                                   const std::string& apath,
                                   const std::string& path) {
  auto o = object_at(x, path);
  if (!o)
    return;
  auto arg = string_field(*o, path, "argument");
  auto rel = string_field(*o, path, "relationship");
  auto mode = enum_field(*o, path, "mode",
                         {manage_mode::create, manage_mode::direct_control,
                          manage_mode::append, manage_mode::append_and_remove});
  auto create = string_field(*o, path, "create_action");
  auto update = string_field(*o, path, "update_action");
  auto destroy = string_field(*o, path, "destroy_action");
  if (!arg || !rel || !mode || !create || !update || !destroy)
    return;
  act.manage_relationship(
    *arg, *rel,
    {*mode, std::move(*create), std::move(*update), std::move(*destroy)});
  map(apath + ".manage_relationship " + *arg, path);
}

// -- mapping definition errors to JSON paths ----------------------------------

/// Turns the definition paths of `app::validate` errors into JSON paths:
/// the longest known definition path that starts the error's path is
/// replaced with its JSON path.
void description_reader::translate(const caf::error& err) {
  if (!err)
    return;
  auto list = field_errors(err);
  if (list.empty())
    list.push_back({"", message(err)});
  for (auto& fe : list) {
    const std::pair<std::string, std::string>* best = nullptr;
    for (auto& entry : paths_) {
      auto& def = entry.first;
      if (best && def.size() <= best->first.size())
        continue;
      if (fe.field.compare(0, def.size(), def) == 0
          && (fe.field.size() == def.size() || fe.field[def.size()] == '.'
              || fe.field[def.size()] == ' '))
        best = &entry;
    }
    if (best)
      fail(best->second + fe.field.substr(best->first.size()), fe.message);
    else
      fail(fe.field, fe.message);
  }
}

} // namespace eventactors::detail
