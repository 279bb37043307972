// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The loader's actions: arguments, managed relationships and steps (changes,
// validations and hooks from the library, with their conditions).

#include "json_app/loader.hpp"

#include "eventactors/changes.hpp"
#include "eventactors/resource.hpp"

namespace eventactors::json_app {

void loader::action_at(resource& res, const json::value& x,
                       const std::string& path) {
  auto o = object(x, path);
  if (!o)
    return;
  keys(*o, path,
       {"name", "kind", "accept", "arguments", "steps", "upsert", "soft",
        "skip_unknown_inputs", "manage_relationships"});
  auto name = string_field(*o, path, "name", true);
  auto kind = enum_field<action_kind>(*o, path, "kind",
                                      {{"create", action_kind::create},
                                       {"update", action_kind::update},
                                       {"destroy", action_kind::destroy}});
  if (!o->contains("kind"))
    fail(path + ".kind", "is required");
  if (!name || !kind)
    return;
  auto& act = *kind == action_kind::create   ? res.create(*name)
              : *kind == action_kind::update ? res.update(*name)
                                             : res.destroy(*name);
  auto apath = res.name() + ".actions." + *name;
  map(apath, path);
  act.accept(strings(*o, path, "accept"));
  if (auto args = array_field(*o, path, "arguments", false))
    for (size_t i = 0; i < args->size(); ++i)
      argument_at(act, (*args)[i], apath,
                  path + ".arguments[" + std::to_string(i) + "]");
  if (auto steps = array_field(*o, path, "steps", false))
    for (size_t i = 0; i < steps->size(); ++i)
      step_at(act, (*steps)[i], path + ".steps[" + std::to_string(i) + "]");
  if (auto ups = string_field(*o, path, "upsert", false))
    act.upsert(*ups);
  if (auto soft = bool_field(*o, path, "soft"))
    act.soft(*soft);
  if (auto skip = bool_field(*o, path, "skip_unknown_inputs"))
    act.skip_unknown_inputs(*skip);
  if (auto ms = array_field(*o, path, "manage_relationships", false))
    for (size_t i = 0; i < ms->size(); ++i)
      manage_at(act, (*ms)[i], apath,
                path + ".manage_relationships[" + std::to_string(i) + "]");
}

void loader::argument_at(action& act, const json::value& x,
                         const std::string& apath, const std::string& path) {
  auto g = object(x, path);
  if (!g)
    return;
  keys(*g, path, {"name", "type", "required", "default", "sensitive"});
  auto gname = string_field(*g, path, "name", true);
  auto type = type_field(*g, path);
  argument_options opts;
  if (auto r = bool_field(*g, path, "required"))
    opts.required = *r;
  if (auto s = bool_field(*g, path, "sensitive"))
    opts.sensitive = *s;
  if (auto d = g->if_contains("default"))
    if (auto err = value_param(*d, opts.default_value))
      fail(path + ".default", *err);
  if (gname && type) {
    act.argument(*gname, *type, std::move(opts));
    map(apath + ".arguments." + *gname, path);
  }
}

void loader::manage_at(action& act, const json::value& x,
                       const std::string& apath, const std::string& path) {
  auto m = object(x, path);
  if (!m)
    return;
  keys(*m, path,
       {"argument", "relationship", "mode", "create_action",
        "update_action", "destroy_action"});
  auto arg = string_field(*m, path, "argument", true);
  auto rel = string_field(*m, path, "relationship", true);
  manage_options opts;
  if (auto mode = enum_field<manage_mode>(
        *m, path, "mode",
        {{"create", manage_mode::create},
         {"direct_control", manage_mode::direct_control},
         {"append", manage_mode::append},
         {"append_and_remove", manage_mode::append_and_remove}}))
    opts.mode = *mode;
  if (auto a = string_field(*m, path, "create_action", false))
    opts.create_action = *a;
  if (auto a = string_field(*m, path, "update_action", false))
    opts.update_action = *a;
  if (auto a = string_field(*m, path, "destroy_action", false))
    opts.destroy_action = *a;
  if (arg && rel) {
    act.manage_relationship(*arg, *rel, opts);
    map(apath + ".manage_relationship " + *arg, path);
  }
}

void loader::step_at(action& act, const json::value& x,
                     const std::string& path) {
  auto o = object(x, path);
  if (!o)
    return;
  auto kinds = int{o->contains("change")} + int{o->contains("validate")}
               + int{o->contains("hook")};
  if (kinds != 1) {
    fail(path, "a step has exactly one of \"change\", \"validate\" or "
               "\"hook\"");
    return;
  }
  if (o->contains("change")) {
    if (auto c = step_change(*o, path))
      act.change(std::move(*c));
    return;
  }
  if (o->contains("validate"))
    validation_step_at(act, *o, path);
  else
    hook_step_at(act, *o, path);
}

void loader::validation_step_at(action& act, const json::object& o,
                                const std::string& path) {
  auto kind = string_field(o, path, "validate", true);
  if (!kind)
    return;
  auto factory = lib_.find_validation(*kind);
  if (!factory) {
    fail(path + ".validate", "unknown validation " + in_quotes(*kind));
    return;
  }
  auto spec = o;
  auto custom_name = string_field(o, path, "name", false);
  auto msg = string_field(o, path, "message", false);
  std::optional<condition> where;
  if (auto w = o.if_contains("where"))
    where = condition_at(*w, path + ".where");
  for (auto k : {"validate", "name", "message", "where"})
    spec.erase(k);
  auto made = call_factory(*factory, spec, path);
  if (!made)
    return;
  auto v = std::move(*made);
  if (custom_name)
    v = validation{*custom_name, [inner = v](const changeset& cs) {
                     return inner.check(cs);
                   }};
  if (msg)
    v = v.with_message(*msg);
  if (where && *where)
    v = v.where(*where);
  act.validate(std::move(v));
}

void loader::hook_step_at(action& act, const json::object& o,
                          const std::string& path) {
  auto kind = string_field(o, path, "hook", true);
  if (!kind)
    return;
  auto factory = lib_.find_hook(*kind);
  if (!factory) {
    fail(path + ".hook", "unknown hook " + in_quotes(*kind));
    return;
  }
  // Hooks are named: allowed_change_modules refers to them.
  auto name = string_field(o, path, "name", true);
  auto spec = o;
  std::optional<condition> where;
  if (auto w = o.if_contains("where"))
    where = condition_at(*w, path + ".where");
  for (auto k : {"hook", "name", "where"})
    spec.erase(k);
  auto made = call_factory(*factory, spec, path);
  if (!made || !name)
    return;
  auto c = made->renamed(*name);
  if (where && *where)
    c = c.where(*where);
  act.change(std::move(c));
}

std::optional<change> loader::step_change(const json::object& step,
                                          const std::string& path) {
  auto kind = string_field(step, path, "change", true);
  if (!kind)
    return std::nullopt;
  auto factory = lib_.find_change(*kind);
  if (!factory) {
    fail(path + ".change", "unknown change " + in_quotes(*kind));
    return std::nullopt;
  }
  auto spec = step;
  auto custom_name = string_field(step, path, "name", false);
  std::optional<condition> where;
  if (auto w = step.if_contains("where"))
    where = condition_at(*w, path + ".where");
  for (auto k : {"change", "name", "where"})
    spec.erase(k);
  auto made = call_factory(*factory, spec, path);
  if (!made)
    return std::nullopt;
  auto result = std::move(*made);
  if (custom_name)
    result = result.renamed(*custom_name);
  if (where && *where)
    result = result.where(*where);
  return result;
}

std::optional<condition> loader::condition_at(const json::value& x,
                                              const std::string& path) {
  auto o = object(x, path);
  if (!o)
    return std::nullopt;
  if (o->size() != 1) {
    fail(path, "expected exactly one condition, e.g. {\"input_present\": "
               "\"key\"}");
    return std::nullopt;
  }
  auto& kvp = *o->begin();
  auto key = kvp.key();
  auto& val = kvp.value();
  auto name_of = [&]() -> std::optional<std::string> {
    if (!val.is_string()) {
      fail(join(path, key), "expected a name");
      return std::nullopt;
    }
    return std::string{val.get_string()};
  };
  if (key == "input_present") {
    if (auto n = name_of())
      return conditions::input_present(*n);
  } else if (key == "changing") {
    if (auto n = name_of())
      return conditions::changing(*n);
  } else if (key == "argument_present") {
    if (auto n = name_of())
      return conditions::argument_present(*n);
  } else if (key == "attribute_present") {
    if (auto n = name_of())
      return conditions::attribute_present(*n);
  } else if (key == "attribute_equals") {
    auto p = object(val, join(path, key));
    if (!p)
      return std::nullopt;
    keys(*p, join(path, key), {"attribute", "value"});
    auto attr = string_field(*p, join(path, key), "attribute", true);
    auto v = p->if_contains("value");
    if (!v)
      fail(join(path, key) + ".value", "is required");
    if (attr && v)
      return conditions::attribute_equals(*attr, *v);
  } else if (key == "not") {
    if (auto inner = condition_at(val, join(path, key)))
      return conditions::negate(*inner);
  } else if (key == "all" || key == "any") {
    if (!val.is_array()) {
      fail(join(path, key), "expected an array of conditions");
      return std::nullopt;
    }
    std::vector<condition> xs;
    auto& arr = val.get_array();
    for (size_t i = 0; i < arr.size(); ++i)
      if (auto c = condition_at(arr[i], join(path, key) + "["
                                          + std::to_string(i) + "]"))
        xs.push_back(*c);
    bool all = key == "all";
    return condition{[xs, all](const changeset& cs) {
      for (auto& c : xs)
        if (c(cs) != all)
          return !all;
      return all;
    }};
  } else {
    fail(path, "unknown condition " + in_quotes(key)
                 + " (input_present, changing, argument_present, "
                   "attribute_present, attribute_equals, not, all, any)");
  }
  return std::nullopt;
}

} // namespace eventactors::json_app
