// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The loader's resources: attributes, keys, timestamps, identities,
// relationships, resource-level changes and the events section.

#include "json_app/loader.hpp"

#include <cstdint>
#include <map>

#include "eventactors/resource.hpp"

namespace eventactors::json_app {

void loader::resource_at(const json::value& x, const std::string& path) {
  auto o = object(x, path);
  if (!o)
    return;
  keys(*o, path,
       {"name", "table", "primary_key", "attributes", "timestamps",
        "identities", "relationships", "changes", "actions", "events",
        "dropped_attributes"});
  auto name = string_field(*o, path, "name", true);
  if (!name)
    return;
  auto& res = app_.add(resource{*name});
  map(*name, path);
  if (auto table = string_field(*o, path, "table", false))
    res.table(*table);
  if (auto pk = o->if_contains("primary_key"))
    primary_key_at(res, *pk, path + ".primary_key");
  if (auto attrs = array_field(*o, path, "attributes", false))
    for (size_t i = 0; i < attrs->size(); ++i)
      attribute_at(res, (*attrs)[i],
                   path + ".attributes[" + std::to_string(i) + "]");
  for (auto& dropped : strings(*o, path, "dropped_attributes"))
    res.drop_attribute(dropped);
  map(*name + ".dropped_attributes", path + ".dropped_attributes");
  if (auto ts = o->if_contains("timestamps"))
    timestamps_at(res, *ts, path + ".timestamps");
  identities_at(res, *o, path);
  if (auto rels = array_field(*o, path, "relationships", false))
    for (size_t i = 0; i < rels->size(); ++i)
      relationship_at(res, (*rels)[i],
                      path + ".relationships[" + std::to_string(i) + "]");
  resource_changes_at(res, *o, path);
  if (auto acts = array_field(*o, path, "actions", false))
    for (size_t i = 0; i < acts->size(); ++i)
      action_at(res, (*acts)[i],
                path + ".actions[" + std::to_string(i) + "]");
  if (auto ev = o->if_contains("events"))
    events_at(res, *ev, path + ".events");
}

void loader::primary_key_at(resource& res, const json::value& x,
                            const std::string& path) {
  auto p = object(x, path);
  if (!p)
    return;
  keys(*p, path, {"name", "type", "writable"});
  auto pname = string_field(*p, path, "name", false);
  auto kind = enum_field<key_kind>(*p, path, "type",
                                   {{"uuid_v4", key_kind::uuid_v4},
                                    {"uuid_v7", key_kind::uuid_v7},
                                    {"integer", key_kind::integer},
                                    {"string", key_kind::string}});
  auto writable = bool_field(*p, path, "writable");
  res.primary_key(pname.value_or("id"), kind.value_or(key_kind::uuid_v4),
                  writable.value_or(true));
}

void loader::timestamps_at(resource& res, const json::value& x,
                           const std::string& path) {
  if (x == true) {
    res.timestamps();
  } else if (x.is_object()) {
    auto& t = x.get_object();
    keys(t, path, {"created", "updated"});
    auto created = string_field(t, path, "created", false);
    auto updated = string_field(t, path, "updated", false);
    res.timestamps(created.value_or("created_at"),
                   updated.value_or("updated_at"));
  } else if (x != false) {
    fail(path, "expected true, false or {\"created\": name, "
               "\"updated\": name}");
  }
}

void loader::identities_at(resource& res, const json::object& o,
                           const std::string& path) {
  auto ids = array_field(o, path, "identities", false);
  if (!ids)
    return;
  for (size_t i = 0; i < ids->size(); ++i) {
    auto ipath = path + ".identities[" + std::to_string(i) + "]";
    auto id = object((*ids)[i], ipath);
    if (!id)
      continue;
    keys(*id, ipath, {"name", "attributes"});
    auto iname = string_field(*id, ipath, "name", true);
    auto attrs = strings(*id, ipath, "attributes");
    if (iname) {
      res.identity(*iname, attrs);
      map(res.name() + ".identities." + *iname, ipath);
    }
  }
}

/// The resource-level `changes`, each with the kinds of actions it runs in.
void loader::resource_changes_at(resource& res, const json::object& o,
                                 const std::string& path) {
  auto chs = array_field(o, path, "changes", false);
  if (!chs)
    return;
  for (size_t i = 0; i < chs->size(); ++i) {
    auto cpath = path + ".changes[" + std::to_string(i) + "]";
    auto c = object((*chs)[i], cpath);
    if (!c)
      continue;
    std::vector<action_kind> on;
    auto kinds = strings(*c, cpath, "on");
    for (size_t k = 0; k < kinds.size(); ++k) {
      if (kinds[k] == "create")
        on.push_back(action_kind::create);
      else if (kinds[k] == "update")
        on.push_back(action_kind::update);
      else if (kinds[k] == "destroy")
        on.push_back(action_kind::destroy);
      else
        fail(cpath + ".on[" + std::to_string(k) + "]",
             "expected \"create\", \"update\" or \"destroy\"");
    }
    if (!c->contains("on"))
      fail(cpath + ".on", "is required: the kinds of actions it runs in");
    if (!c->contains("change")) {
      fail(cpath, "a resource-level entry needs \"change\" (validations "
                  "and hooks belong to actions)");
      continue;
    }
    json::object rest = *c;
    rest.erase("on");
    if (auto ch = step_change(rest, cpath))
      res.change(std::move(*ch), on);
  }
}

void loader::attribute_at(resource& res, const json::value& x,
                          const std::string& path) {
  auto o = object(x, path);
  if (!o)
    return;
  keys(*o, path,
       {"name", "type", "allow_nil", "default", "update_default",
        "sensitive", "writable", "renamed_from"});
  auto name = string_field(*o, path, "name", true);
  auto type = type_field(*o, path);
  attribute_options opts;
  opts.renamed_from = names_field(*o, path, "renamed_from");
  if (auto nil = bool_field(*o, path, "allow_nil"))
    opts.allow_nil = *nil;
  if (auto s = bool_field(*o, path, "sensitive"))
    opts.sensitive = *s;
  if (auto w = bool_field(*o, path, "writable"))
    opts.writable = *w;
  if (auto d = o->if_contains("default"))
    if (auto err = value_param(*d, opts.default_value))
      fail(path + ".default", *err);
  if (auto d = o->if_contains("update_default"))
    if (auto err = value_param(*d, opts.update_default))
      fail(path + ".update_default", *err);
  if (name && type) {
    res.attribute(*name, *type, std::move(opts));
    map(res.name() + ".attributes." + *name, path);
  }
}

void loader::relationship_at(resource& res, const json::value& x,
                             const std::string& path) {
  auto o = object(x, path);
  if (!o)
    return;
  keys(*o, path,
       {"name", "kind", "destination", "source_attribute",
        "destination_attribute", "through", "source_attribute_on_join",
        "destination_attribute_on_join", "allow_nil"});
  auto name = string_field(*o, path, "name", true);
  auto kind = enum_field<relationship_kind>(
    *o, path, "kind",
    {{"belongs_to", relationship_kind::belongs_to},
     {"has_one", relationship_kind::has_one},
     {"has_many", relationship_kind::has_many},
     {"many_to_many", relationship_kind::many_to_many}});
  if (!o->contains("kind"))
    fail(path + ".kind", "is required");
  auto dest = string_field(*o, path, "destination", true);
  relationship_options opts;
  opts.source_attribute
    = string_field(*o, path, "source_attribute", false).value_or("");
  opts.destination_attribute
    = string_field(*o, path, "destination_attribute", false).value_or("");
  opts.through = string_field(*o, path, "through", false).value_or("");
  opts.source_attribute_on_join
    = string_field(*o, path, "source_attribute_on_join", false)
        .value_or("");
  opts.destination_attribute_on_join
    = string_field(*o, path, "destination_attribute_on_join", false)
        .value_or("");
  if (auto nil = bool_field(*o, path, "allow_nil"))
    opts.allow_nil = *nil;
  if (!name || !kind || !dest)
    return;
  res.relationship(*kind, *name, *dest, std::move(opts));
  map(res.name() + ".relationships." + *name, path);
}

void loader::events_at(resource& res, const json::value& x,
                       const std::string& path) {
  auto o = object(x, path);
  if (!o)
    return;
  keys(*o, path,
       {"event_log", "only_actions", "ignore_actions",
        "current_action_versions", "allowed_change_modules",
        "create_timestamp", "update_timestamp",
        "replay_non_input_attribute_changes"});
  auto log = string_field(*o, path, "event_log", true);
  if (!log)
    return;
  auto& ev = res.events(*log);
  map(res.name() + ".events", path);
  if (o->contains("only_actions"))
    ev.only_actions(strings(*o, path, "only_actions"));
  if (o->contains("ignore_actions"))
    ev.ignore_actions(strings(*o, path, "ignore_actions"));
  if (auto v = o->if_contains("current_action_versions")) {
    auto vpath = path + ".current_action_versions";
    if (auto vo = object(*v, vpath)) {
      std::map<std::string, int32_t> versions;
      for (auto& kvp : *vo) {
        auto& n = kvp.value();
        if (!n.is_int64() || n.get_int64() > INT32_MAX
            || n.get_int64() < INT32_MIN)
          fail(join(vpath, kvp.key()), "expected an integer, got "
                                         + show(n));
        else
          versions[std::string{kvp.key()}]
            = static_cast<int32_t>(n.get_int64());
      }
      ev.current_action_versions(versions);
    }
  }
  if (auto a = o->if_contains("allowed_change_modules")) {
    auto apath = path + ".allowed_change_modules";
    if (auto ao = object(*a, apath)) {
      std::map<std::string, std::vector<std::string>> allowed;
      for (auto& kvp : *ao)
        allowed[std::string{kvp.key()}] = strings(*ao, apath, kvp.key());
      ev.allowed_change_modules(allowed);
    }
  }
  if (auto t = string_field(*o, path, "create_timestamp", false))
    ev.create_timestamp(*t);
  if (auto t = string_field(*o, path, "update_timestamp", false))
    ev.update_timestamp(*t);
  if (auto s = o->if_contains("replay_non_input_attribute_changes")) {
    auto spath = path + ".replay_non_input_attribute_changes";
    if (auto so = object(*s, spath)) {
      std::map<std::string, replay_strategy> strategies;
      for (auto& kvp : *so) {
        if (kvp.value() == "force_change")
          strategies[std::string{kvp.key()}] = replay_strategy::force_change;
        else if (kvp.value() == "as_arguments")
          strategies[std::string{kvp.key()}] = replay_strategy::as_arguments;
        else
          fail(join(spath, kvp.key()),
               "expected \"force_change\" or \"as_arguments\", got "
                 + show(kvp.value()));
      }
      ev.replay_non_input_attribute_changes(strategies);
    }
  }
}

} // namespace eventactors::json_app
