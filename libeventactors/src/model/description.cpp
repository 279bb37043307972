// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Writing the app description. Reading it back is description_reader.cpp.

#include "eventactors/description.hpp"

#include <string>
#include <vector>

#include "model/definitions.hpp"

namespace eventactors {

namespace {

json::array names_json(const std::vector<std::string>& xs) {
  json::array result;
  result.reserve(xs.size());
  for (auto& x : xs)
    result.emplace_back(x);
  return result;
}

/// A type in the spelling of JSON app definitions (docs/json.md, Types).
json::value type_json(const attribute_type& t) {
  switch (t.kind()) {
    case type_kind::array:
      return json::object{
        {"array", t.element() ? type_json(*t.element()) : json::value{}}};
    case type_kind::object: {
      json::array fields;
      for (auto& f : t.fields())
        fields.emplace_back(
          json::object{{"name", f.name},
                       {"type", f.type ? type_json(*f.type) : json::value{}},
                       {"allow_nil", f.allow_nil}});
      return json::object{{"object", std::move(fields)}};
    }
    default:
      return json::string{to_string(t.kind())};
  }
}

/// null (no default), `{"value": constant}`, `{"computed": true}` (computed
/// when the action runs) or `{"hidden": true}` (the default of a sensitive
/// attribute or argument, not disclosed).
json::value default_json(const std::optional<value_source>& src,
                         bool sensitive) {
  if (!src)
    return nullptr;
  if (sensitive)
    return json::object{{"hidden", true}};
  if (auto constant = src->constant())
    return json::object{{"value", *constant}};
  return json::object{{"computed", true}};
}

json::object attribute_json(const attribute& x) {
  auto& o = x.options;
  return json::object{
    {"name", x.name},
    {"type", type_json(x.type)},
    {"allow_nil", o.allow_nil},
    {"writable", o.writable},
    {"sensitive", o.sensitive},
    {"default", default_json(o.default_value, o.sensitive)},
    {"update_default", default_json(o.update_default, o.sensitive)},
    {"renamed_from", names_json(o.renamed_from)},
  };
}

json::object relationship_json(const relationship& x) {
  auto& o = x.options;
  return json::object{
    {"name", x.name},
    {"kind", to_string(x.kind)},
    {"destination", x.destination},
    {"source_attribute", o.source_attribute},
    {"destination_attribute", o.destination_attribute},
    {"through", o.through},
    {"source_attribute_on_join", o.source_attribute_on_join},
    {"destination_attribute_on_join", o.destination_attribute_on_join},
    {"allow_nil", o.allow_nil},
  };
}

json::object action_json(const action& act, const events_config* ev) {
  json::array args;
  for (auto& g : act.arguments())
    args.emplace_back(json::object{
      {"name", g.name},
      {"type", type_json(g.type)},
      {"required", g.options.required},
      {"sensitive", g.options.sensitive},
      {"default", default_json(g.options.default_value, g.options.sensitive)},
    });
  json::array managed;
  for (auto& m : act.managed())
    managed.emplace_back(json::object{
      {"argument", m.argument},
      {"relationship", m.relationship},
      {"mode", to_string(m.options.mode)},
      {"create_action", m.options.create_action},
      {"update_action", m.options.update_action},
      {"destroy_action", m.options.destroy_action},
    });
  json::value upsert;
  if (act.upsert_identity())
    upsert = json::string{*act.upsert_identity()};
  return json::object{
    {"name", act.name()},
    {"kind", to_string(act.kind())},
    {"accept", names_json(act.accepted())},
    {"arguments", std::move(args)},
    {"upsert", std::move(upsert)},
    {"soft", act.is_soft()},
    {"skip_unknown_inputs", act.skips_unknown_inputs()},
    {"manage_relationships", std::move(managed)},
    {"tracked", ev != nullptr && ev->tracks(act.name())},
    {"version", ev != nullptr ? ev->version_of(act.name()) : 1},
  };
}

json::object resource_json(const resource& res) {
  json::array attrs;
  for (auto& x : res.attributes())
    attrs.emplace_back(attribute_json(x));
  json::array ids;
  for (auto& x : res.identities())
    ids.emplace_back(
      json::object{{"name", x.name}, {"attributes", names_json(x.attributes)}});
  json::array rels;
  for (auto& x : res.relationships())
    rels.emplace_back(relationship_json(x));
  auto ev = res.events();
  json::array acts;
  for (auto& x : res.actions())
    acts.emplace_back(action_json(x, ev));
  auto pk = res.find_attribute(res.primary_key());
  return json::object{
    {"name", res.name()},
    {"table", res.table()},
    {"primary_key",
     json::object{{"name", res.primary_key()},
                  {"type", to_string(res.key())},
                  {"writable", pk == nullptr || pk->options.writable}}},
    {"attributes", std::move(attrs)},
    {"identities", std::move(ids)},
    {"relationships", std::move(rels)},
    {"event_log",
     ev ? json::value(json::string{ev->event_log()}) : json::value()},
    {"actions", std::move(acts)},
  };
}

json::value public_fields_json(const event_log& log) {
  switch (log.public_mode()) {
    case public_fields_mode::none:
      return json::string{"none"};
    case public_fields_mode::all:
      return json::string{"all"};
    case public_fields_mode::listed:
      break;
  }
  return names_json(log.public_field_names());
}

json::object log_json(const app& a, const event_log& log) {
  json::array resources;
  for (auto& res : a.resources())
    if (auto ev = res.events(); ev && ev->event_log() == log.name())
      resources.emplace_back(res.name());
  json::array columns;
  for (auto& c : log.actor_columns())
    columns.emplace_back(json::object{
      {"column", c.name},
      {"actor_type", c.actor_type},
      {"type", to_string(c.type)},
      {"allow_nil", c.allow_nil},
      {"renamed_from", names_json(c.renamed_from)},
    });
  return json::object{
    {"name", log.name()},
    {"primary_key_type", to_string(log.id_kind())},
    {"record_id_type", to_string(log.record_id())},
    {"resources", std::move(resources)},
    {"public_fields", public_fields_json(log)},
    {"actor_columns", std::move(columns)},
    {"strict_actor_types", log.strict_actors()},
    {"encrypted", log.encrypted()},
    {"allow_plaintext_sensitive", log.plaintext_sensitive_allowed()},
  };
}

} // namespace

json::object describe(const app& a) {
  // Described as the runtime runs it: with the foreign-key attributes and
  // relationship keys that resolving fills in.
  auto resolved = a;
  detail::resolve(resolved);
  json::array logs;
  for (auto& log : resolved.logs())
    logs.emplace_back(log_json(resolved, log));
  json::array resources;
  for (auto& res : resolved.resources())
    resources.emplace_back(resource_json(res));
  return json::object{
    {"format", description_format},
    {"event_logs", std::move(logs)},
    {"resources", std::move(resources)},
  };
}

} // namespace eventactors
