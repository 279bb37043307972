// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "engine/action_run.hpp"

#include <algorithm>
#include <set>

#include <boost/json/serialize.hpp>

#include "detail/text.hpp"
#include "eventactors/error.hpp"

namespace eventactors {

caf::error action_run::manage(const managed_relationship& m,
                              const record& parent) {
  auto& cs = *cs_;
  if (!cs.has_argument(m.argument))
    return {};
  auto& rel = *res_->def->find_relationship(m.relationship);
  auto items = managed_items(m.argument, cs.argument(m.argument));
  if (!items)
    return std::move(items.error());
  auto& parent_key = parent.values.at(rel.options.source_attribute);
  if (rel.kind == relationship_kind::has_one
      || rel.kind == relationship_kind::has_many)
    return manage_children(m, rel, *items, parent_key);
  return manage_links(m, rel, *items, parent_key);
}

caf::expected<std::vector<const json::object*>>
action_run::managed_items(const std::string& argument,
                          const json::value& arg) {
  std::vector<const json::object*> items;
  if (arg.is_object()) {
    items.push_back(&arg.get_object());
  } else if (arg.is_array()) {
    for (auto& x : arg.get_array()) {
      if (!x.is_object())
        return invalid(where(), {{argument, "expected objects"}});
      items.push_back(&x.get_object());
    }
  } else {
    return invalid(where(), {{argument, "expected an object or an array "
                                        "of objects"}});
  }
  return items;
}

caf::error action_run::run_managed(const std::string& resource,
                                   const std::string& action,
                                   json::object input, json::value id,
                                   json::object forced) {
  call c;
  c.resource = resource;
  c.action = action;
  c.input = std::move(input);
  c.record_id = std::move(id);
  c.actor = call_.actor;
  auto result = ex_.run_nested(c, forced, depth_ + 1);
  if (!result)
    return std::move(result.error());
  return {};
}

caf::error
action_run::manage_children(const managed_relationship& m,
                            const relationship& rel,
                            const std::vector<const json::object*>& items,
                            const json::value& parent_key) {
  auto& def = *res_->def;
  auto& o = rel.options;
  auto dest = model_.find(rel.destination);
  auto& dest_pk = dest->def->primary_key();
  if (rel.kind == relationship_kind::has_one && items.size() > 1)
    return invalid(where(), {{m.argument, "a has_one relationship takes "
                                          "one object"}});
  json::object fk;
  fk[o.destination_attribute] = parent_key;
  std::vector<json::object> existing;
  if (m.options.mode == manage_mode::direct_control) {
    auto kids = children(*dest, o.destination_attribute, parent_key);
    if (!kids)
      return std::move(kids.error());
    existing = std::move(*kids);
  }
  std::set<std::string> kept;
  for (size_t i = 0; i < items.size(); ++i) {
    auto& item = *items[i];
    auto id = item.if_contains(dest_pk);
    if (m.options.mode == manage_mode::direct_control && id
        && !id->is_null()) {
      auto match = std::find_if(existing.begin(), existing.end(),
                                [&](const json::object& x) {
                                  return x.at(dest_pk) == *id;
                                });
      if (match == existing.end())
        return invalid(where(),
                       {{m.argument + "[" + std::to_string(i) + "]",
                         "no " + dest->def->name() + " with " + dest_pk + " "
                           + detail::show(*id, 80) + " belongs to this "
                           + def.name()}});
      kept.insert(json::serialize(*id));
      json::object input = item;
      input.erase(dest_pk);
      if (auto err = run_managed(dest->def->name(), m.options.update_action,
                                 std::move(input), *id, {}))
        return err;
    } else {
      if (auto err = run_managed(dest->def->name(), m.options.create_action,
                                 item, {}, fk))
        return err;
    }
  }
  if (m.options.mode == manage_mode::direct_control)
    for (auto& x : existing)
      if (!kept.count(json::serialize(x.at(dest_pk))))
        if (auto err = run_managed(dest->def->name(),
                                   m.options.destroy_action, {},
                                   x.at(dest_pk), {}))
          return err;
  return {};
}

caf::error
action_run::manage_links(const managed_relationship& m,
                         const relationship& rel,
                         const std::vector<const json::object*>& items,
                         const json::value& parent_key) {
  // many_to_many: link destination records through the join resource.
  auto& o = rel.options;
  auto dest = model_.find(rel.destination);
  auto join = model_.find(o.through);
  auto& dest_pk = dest->def->primary_key();
  auto& join_pk = join->def->primary_key();
  auto links = children(*join, o.source_attribute_on_join, parent_key);
  if (!links)
    return std::move(links.error());
  std::set<std::string> wanted;
  for (size_t i = 0; i < items.size(); ++i) {
    auto id = items[i]->if_contains(dest_pk);
    auto path = m.argument + "[" + std::to_string(i) + "]";
    if (!id || id->is_null())
      return invalid(where(), {{path, "needs the " + dest_pk + " of a "
                                        + dest->def->name()}});
    std::optional<std::string> err;
    auto key = cast_key(*dest->def->find_attribute(dest_pk), *id, err);
    if (err)
      return invalid(where(), {{path, dest_pk + ": " + *err}});
    auto target = load(*dest, key);
    if (!target)
      return std::move(target.error());
    if (!*target)
      return invalid(where(), {{path, "no " + dest->def->name() + " with "
                                        + dest_pk + " "
                                        + detail::show(key, 80)}});
    auto text = json::serialize(key);
    if (!wanted.insert(text).second)
      continue;
    bool linked = std::any_of(links->begin(), links->end(),
                              [&](const json::object& x) {
                                return x.at(o.destination_attribute_on_join)
                                       == key;
                              });
    if (linked)
      continue;
    json::object forced;
    forced[o.source_attribute_on_join] = parent_key;
    forced[o.destination_attribute_on_join] = key;
    if (auto err = run_managed(join->def->name(), m.options.create_action,
                               {}, {}, std::move(forced)))
      return err;
  }
  if (m.options.mode == manage_mode::append_and_remove)
    for (auto& x : *links)
      if (!wanted.count(json::serialize(x.at(o.destination_attribute_on_join))))
        if (auto err = run_managed(join->def->name(),
                                   m.options.destroy_action, {},
                                   x.at(join_pk), {}))
          return err;
  return {};
}

} // namespace eventactors
