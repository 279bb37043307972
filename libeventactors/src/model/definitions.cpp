// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "model/definitions.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "detail/text.hpp"
#include "eventactors/error.hpp"
#include "storage/limits.hpp"

namespace eventactors {

namespace detail {

namespace {

bool valid_identifier(std::string_view str) {
  if (str.empty() || str.size() > 63)
    return false;
  auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!lower(str[0]))
    return false;
  return std::all_of(str.begin(), str.end(), [&](char c) {
    return lower(c) || digit(c) || c == '_';
  });
}

bool contains(const std::vector<std::string>& xs, std::string_view x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

/// Collects definition errors, each with the path of what is at fault.
class checker {
public:
  void fail(std::string path, std::string what) {
    errors_.push_back(field_error{std::move(path), std::move(what)});
  }

  caf::error result() const {
    if (errors_.empty())
      return {};
    auto msg = errors_.front().field + ": " + errors_.front().message;
    if (errors_.size() > 1)
      msg += " (and " + std::to_string(errors_.size() - 1) + " more)";
    return make_error(errc::invalid_definition, std::move(msg), errors_);
  }

private:
  std::vector<field_error> errors_;
};

using storage::max_columns;
using storage::reserved_table;

std::optional<record_id_kind> record_id_kind_of(key_kind k) {
  switch (k) {
    case key_kind::uuid_v4:
    case key_kind::uuid_v7:
      return record_id_kind::uuid;
    case key_kind::integer:
      return record_id_kind::integer;
    case key_kind::string:
      return record_id_kind::string;
  }
  return std::nullopt;
}

actor_key_kind actor_key_of(key_kind k) {
  switch (k) {
    case key_kind::integer:
      return actor_key_kind::integer;
    case key_kind::string:
      return actor_key_kind::string;
    default:
      return actor_key_kind::uuid;
  }
}

/// Checks the actor columns of `log`; returns their names.
std::set<std::string> check_actor_columns(checker& chk, const app& a,
                                          const event_log& log,
                                          const std::string& path) {
  std::set<std::string> columns;
  std::set<std::string> types;
  for (auto& col : log.actor_columns()) {
    auto cpath = path + ".persist_actor_primary_key " + col.name;
    if (!valid_identifier(col.name))
      chk.fail(cpath, "column name must be a lowercase identifier");
    if (contains(event_log::builtin_fields(), col.name))
      chk.fail(cpath, "column name clashes with the built-in event field "
                        + quoted(col.name));
    if (!columns.insert(col.name).second)
      chk.fail(cpath, "duplicate actor column");
    if (col.actor_type.empty())
      chk.fail(cpath, "actor type must not be empty");
    else if (!types.insert(col.actor_type).second)
      chk.fail(cpath, "actor type " + quoted(col.actor_type)
                        + " already has a column");
    if (auto res = a.find_resource(col.actor_type)) {
      if (actor_key_of(res->key()) != col.type)
        chk.fail(cpath, "column type " + to_string(col.type)
                          + " does not match the primary key of "
                          + res->name() + " (" + to_string(res->key())
                          + ")");
    }
  }
  return columns;
}

/// Checks the former names of actor columns and the dropped columns: each
/// names one column the log does not define anymore, once.
void check_former_columns(checker& chk, const event_log& log,
                          const std::string& path,
                          const std::set<std::string>& columns) {
  std::set<std::string> former;
  auto check_former = [&](const std::string& cpath, const std::string& name) {
    if (!valid_identifier(name))
      chk.fail(cpath, "column name " + quoted(name)
                        + " must be a lowercase identifier");
    else if (contains(event_log::builtin_fields(), name) || name == "key_id")
      chk.fail(cpath, quoted(name) + " is a built-in event field");
    else if (columns.count(name))
      chk.fail(cpath, quoted(name) + " is an actor column of the log");
    else if (!former.insert(name).second)
      chk.fail(cpath, quoted(name) + " is renamed or dropped twice");
  };
  for (auto& col : log.actor_columns())
    for (auto& old : col.renamed_from)
      check_former(path + ".persist_actor_primary_key " + col.name
                     + ".renamed_from",
                   old);
  for (auto& name : log.dropped_actor_columns())
    check_former(path + ".dropped_actor_columns", name);
}

void check_override(checker& chk, const app& a, const event_log& log,
                    const replay_override& ov, const std::string& opath) {
  if (ov.resource.empty() || ov.action.empty())
    chk.fail(opath, "resource and action must not be empty");
  if (ov.versions.empty())
    chk.fail(opath, "versions must not be empty");
  for (auto v : ov.versions)
    if (v < 1)
      chk.fail(opath, "version " + std::to_string(v) + " is not positive");
  if (ov.route_to.empty())
    chk.fail(opath, "route_to must name at least one target");
  for (auto& route : ov.route_to) {
    auto target = a.find_resource(route.resource);
    if (!target)
      chk.fail(opath, "route_to: no resource " + quoted(route.resource));
    else if (!target->find_action(route.action))
      chk.fail(opath, "route_to: resource " + route.resource
                        + " has no action " + quoted(route.action));
    if (route.resource == ov.resource && route.action == ov.action)
      chk.fail(opath, "routes to itself");
  }
  // An override whose every version an earlier one of the same event
  // already routes can never be used (the first match wins).
  bool shadowed = !ov.versions.empty();
  for (auto v : ov.versions) {
    bool routed = false;
    for (auto& other : log.overrides()) {
      if (&other == &ov)
        break;
      if (other.resource == ov.resource && other.action == ov.action
          && std::find(other.versions.begin(), other.versions.end(), v)
               != other.versions.end())
        routed = true;
    }
    shadowed = shadowed && routed;
  }
  if (shadowed)
    chk.fail(opath, "is never used: earlier overrides route every one of "
                    "its versions");
}

void check_log(checker& chk, const app& a, const event_log& log) {
  auto path = "event_log " + log.name();
  if (!valid_identifier(log.name()))
    chk.fail(path, "name must be a lowercase identifier ([a-z][a-z0-9_]*, "
                   "at most 63 characters), got "
                     + quoted(log.name()));
  else if (auto why = reserved_table(log.name()))
    chk.fail(path, "name " + quoted(log.name()) + " " + *why);
  // The built-in fields and key_id (the key of an encrypted event).
  auto fixed_columns = event_log::builtin_fields().size() + 1;
  if (log.actor_columns().size() + fixed_columns > max_columns)
    chk.fail(path, std::to_string(log.actor_columns().size())
                     + " actor columns: an event log has at most "
                     + std::to_string(max_columns - fixed_columns)
                     + " (SQLite's limit of " + std::to_string(max_columns)
                     + " columns per table)");
  auto columns = check_actor_columns(chk, a, log, path);
  check_former_columns(chk, log, path, columns);
  if (log.actor_columns().size() > 1)
    for (auto& col : log.actor_columns())
      if (!col.allow_nil)
        chk.fail(path + ".persist_actor_primary_key " + col.name,
                 "with more than one actor column, all must allow nil");
  if (log.public_mode() == public_fields_mode::listed)
    for (auto& f : log.public_field_names())
      if (!contains(event_log::builtin_fields(), f) && !columns.count(f))
        chk.fail(path + ".public_fields",
                 "unknown event field " + quoted(f));
  size_t index = 0;
  for (auto& ov : log.overrides()) {
    auto opath = path + ".replay_overrides[" + std::to_string(index++) + "] ("
                 + ov.resource + ", " + ov.action + ")";
    check_override(chk, a, log, ov, opath);
  }
}

void check_action_names(checker& chk, const resource& res,
                        const std::string& path,
                        const std::vector<std::string>& names) {
  for (auto& name : names)
    if (!res.find_action(name))
      chk.fail(path, "no action " + quoted(name) + " on " + res.name());
}

bool has_change(const resource& res, const action& act,
                std::string_view name) {
  for (auto& c : act.changes())
    if (c.name() == name)
      return true;
  for (auto& [c, kinds] : res.resource_changes())
    if (c.name() == name
        && std::find(kinds.begin(), kinds.end(), act.kind()) != kinds.end())
      return true;
  for (auto& v : act.validations())
    if (v.name() == name)
      return true;
  return false;
}

void check_events(checker& chk, const app& a, const resource& res,
                  const events_config& ev) {
  auto path = res.name() + ".events";
  auto log = a.find_log(ev.event_log());
  if (!log)
    chk.fail(path, "no event log " + quoted(ev.event_log()));
  if (ev.only() && ev.ignored())
    chk.fail(path, "only_actions and ignore_actions are mutually exclusive");
  if (ev.only())
    check_action_names(chk, res, path + ".only_actions", *ev.only());
  if (ev.ignored())
    check_action_names(chk, res, path + ".ignore_actions", *ev.ignored());
  for (auto& [name, version] : ev.versions()) {
    auto vpath = path + ".current_action_versions." + name;
    if (!res.find_action(name))
      chk.fail(vpath, "no action " + quoted(name) + " on " + res.name());
    else if (!ev.tracks(name))
      chk.fail(vpath, "action " + quoted(name) + " is not tracked");
    if (version < 1)
      chk.fail(vpath, "version " + std::to_string(version)
                        + " is not positive");
  }
  for (auto& [name, changes] : ev.allowed_changes()) {
    auto cpath = path + ".allowed_change_modules." + name;
    auto act = res.find_action(name);
    if (!act) {
      chk.fail(cpath, "no action " + quoted(name) + " on " + res.name());
      continue;
    }
    for (auto& c : changes)
      if (!has_change(res, *act, c))
        chk.fail(cpath, "action " + name + " has no change or validation "
                          + quoted(c));
  }
  auto check_ts = [&](const std::optional<std::string>& attr,
                      const char* option) {
    if (!attr)
      return;
    auto a = res.find_attribute(*attr);
    if (!a)
      chk.fail(path + "." + option, "no attribute " + quoted(*attr));
    else if (a->type.kind() != type_kind::utc_datetime)
      chk.fail(path + "." + option, "attribute " + quoted(*attr)
                                      + " is not a utc_datetime");
  };
  check_ts(ev.create_timestamp(), "create_timestamp");
  check_ts(ev.update_timestamp(), "update_timestamp");
  for (auto& [name, strategy] : ev.strategies())
    if (!res.find_action(name))
      chk.fail(path + ".replay_non_input_attribute_changes." + name,
               "no action " + quoted(name) + " on " + res.name());
  if (log) {
    auto want = record_id_kind_of(res.key());
    if (log->record_id() != record_id_kind::string && want
        && *want != log->record_id())
      chk.fail(path, "the primary key of " + res.name() + " ("
                       + to_string(res.key()) + ") does not fit the record_id "
                       "type of event log " + log->name() + " ("
                       + to_string(log->record_id()) + ")");
    // A sensitive attribute's value lands in changed_attributes whenever a
    // change computes it, and replay needs it there: on a plaintext log that
    // is a secret at rest, so it takes an explicit opt-in.
    if (!log->encrypted() && !log->plaintext_sensitive_allowed())
      for (auto& attr : res.attributes())
        if (attr.options.sensitive)
          chk.fail(res.name() + ".attributes." + attr.name,
                   "sensitive attribute on event log " + log->name()
                     + ", which is not encrypted: encrypt the log "
                       "(encrypt_with) or allow plaintext sensitive values "
                       "(allow_plaintext_sensitive)");
  }
}

void check_default(checker& chk, const std::string& path,
                   const attribute_type& type,
                   const std::optional<value_source>& src,
                   const char* option) {
  if (!src)
    return;
  // Only constants can be checked now; generators run with the action.
  static const environment probe = environment::deterministic(0, {});
  auto value = src->produce(probe);
  json::value out;
  if (auto err = type.cast(value, out))
    chk.fail(path + "." + option, *err);
}

/// Checks the attributes `act` accepts; returns their names.
std::set<std::string> check_accepted(checker& chk, const resource& res,
                                     const action& act,
                                     const std::string& path) {
  std::set<std::string> accepted;
  for (auto& name : act.accepted()) {
    auto attr = res.find_attribute(name);
    if (!attr)
      chk.fail(path + ".accept",
               "no attribute " + quoted(name) + " on " + res.name());
    else if (!attr->options.writable)
      chk.fail(path + ".accept",
               "attribute " + quoted(name) + " is not writable");
    if (!accepted.insert(name).second)
      chk.fail(path + ".accept", "attribute " + quoted(name)
                                   + " is listed twice");
  }
  return accepted;
}

void check_arguments(checker& chk, const action& act, const std::string& path,
                     const std::set<std::string>& accepted) {
  std::set<std::string> args;
  for (auto& arg : act.arguments()) {
    auto apath = path + ".arguments." + arg.name;
    if (!valid_identifier(arg.name))
      chk.fail(apath, "name must be a lowercase identifier");
    if (!args.insert(arg.name).second)
      chk.fail(apath, "duplicate argument");
    if (accepted.count(arg.name))
      chk.fail(apath, "argument has the name of an accepted attribute");
    check_default(chk, apath, arg.type, arg.options.default_value, "default");
  }
}

/// Checks that `r` has an action `name` of `kind`, the `what` of a managed
/// relationship.
void need_action(checker& chk, const std::string& mpath, const resource& r,
                 const std::string& name, action_kind kind,
                 const char* what) {
  auto target = r.find_action(name);
  if (!target)
    chk.fail(mpath, std::string{what} + ": no action " + quoted(name)
                      + " on " + r.name());
  else if (target->kind() != kind)
    chk.fail(mpath, std::string{what} + ": action " + r.name() + "." + name
                      + " is not a " + to_string(kind));
}

/// Checks the actions a managed relationship runs on `dest`.
void check_managed_actions(checker& chk, const app& a,
                           const managed_relationship& m,
                           const relationship& rel, const resource& dest,
                           const std::string& mpath) {
  switch (rel.kind) {
    case relationship_kind::belongs_to:
      chk.fail(mpath, "managing a belongs_to relationship is not "
                      "supported; accept the foreign key instead");
      break;
    case relationship_kind::has_one:
    case relationship_kind::has_many:
      if (m.options.mode == manage_mode::append
          || m.options.mode == manage_mode::append_and_remove) {
        chk.fail(mpath, "mode " + to_string(m.options.mode)
                          + " needs a many_to_many relationship");
        break;
      }
      need_action(chk, mpath, dest, m.options.create_action,
                  action_kind::create, "create_action");
      if (m.options.mode == manage_mode::direct_control) {
        need_action(chk, mpath, dest, m.options.update_action,
                    action_kind::update, "update_action");
        need_action(chk, mpath, dest, m.options.destroy_action,
                    action_kind::destroy, "destroy_action");
      }
      break;
    case relationship_kind::many_to_many: {
      if (m.options.mode != manage_mode::append
          && m.options.mode != manage_mode::append_and_remove) {
        chk.fail(mpath, "a many_to_many relationship supports the modes "
                        "append and append_and_remove");
        break;
      }
      auto join = a.find_resource(rel.options.through);
      if (!join)
        break; // reported with the relationship
      need_action(chk, mpath, *join, m.options.create_action,
                  action_kind::create, "create_action");
      if (m.options.mode == manage_mode::append_and_remove)
        need_action(chk, mpath, *join, m.options.destroy_action,
                    action_kind::destroy, "destroy_action");
      break;
    }
  }
}

void check_managed(checker& chk, const app& a, const resource& res,
                   const action& act, const managed_relationship& m,
                   const std::string& path) {
  auto mpath = path + ".manage_relationship " + m.argument;
  auto arg = act.find_argument(m.argument);
  if (!arg) {
    chk.fail(mpath, "no argument " + quoted(m.argument));
  } else if (arg->type.kind() != type_kind::map
             && !(arg->type.kind() == type_kind::array
                  && arg->type.element()
                  && arg->type.element()->kind() == type_kind::map)) {
    chk.fail(mpath, "argument must be a map or an array of maps");
  }
  auto rel = res.find_relationship(m.relationship);
  if (!rel) {
    chk.fail(mpath, "no relationship " + quoted(m.relationship));
    return;
  }
  auto dest = a.find_resource(rel->destination);
  if (!dest)
    return; // reported with the relationship
  check_managed_actions(chk, a, m, *rel, *dest, mpath);
}

void check_action(checker& chk, const app& a, const resource& res,
                  const action& act) {
  auto path = res.name() + ".actions." + act.name();
  if (!valid_identifier(act.name()))
    chk.fail(path, "name must be a lowercase identifier");
  auto accepted = check_accepted(chk, res, act, path);
  if (act.kind() == action_kind::destroy && !act.is_soft()
      && !act.accepted().empty())
    chk.fail(path + ".accept", "a hard destroy accepts no attributes");
  check_arguments(chk, act, path, accepted);
  if (act.upsert_identity()) {
    if (act.kind() != action_kind::create)
      chk.fail(path + ".upsert", "only create actions can upsert");
    else if (!res.find_identity(*act.upsert_identity()))
      chk.fail(path + ".upsert",
               "no identity " + quoted(*act.upsert_identity()) + " on "
                 + res.name());
  }
  if (act.is_soft() && act.kind() != action_kind::destroy)
    chk.fail(path + ".soft", "only destroy actions can be soft");
  for (auto& c : act.changes())
    if (c.name().empty())
      chk.fail(path + ".changes", "every change needs a name");
  for (auto& v : act.validations())
    if (v.name().empty())
      chk.fail(path + ".validations", "every validation needs a name");
  for (auto& m : act.managed())
    check_managed(chk, a, res, act, m, path);
}

void check_relationship(checker& chk, const app& a, const resource& res,
                        const relationship& rel) {
  auto path = res.name() + ".relationships." + rel.name;
  auto dest = a.find_resource(rel.destination);
  if (!dest) {
    chk.fail(path, "no resource " + quoted(rel.destination));
    return;
  }
  auto& o = rel.options;
  switch (rel.kind) {
    case relationship_kind::belongs_to: {
      auto fk = res.find_attribute(o.source_attribute);
      if (!fk)
        chk.fail(path, "no attribute " + quoted(o.source_attribute));
      else if (!dest->find_attribute(o.destination_attribute))
        chk.fail(path, "no attribute " + quoted(o.destination_attribute)
                         + " on " + dest->name());
      else if (fk->type.kind()
               != dest->find_attribute(o.destination_attribute)->type.kind())
        chk.fail(path, "attribute " + quoted(o.source_attribute)
                         + " is typed unlike " + dest->name() + "."
                         + o.destination_attribute);
      break;
    }
    case relationship_kind::has_one:
    case relationship_kind::has_many:
      if (o.destination_attribute.empty())
        chk.fail(path, "destination_attribute (the foreign key on "
                         + dest->name() + ") is required");
      else if (!dest->find_attribute(o.destination_attribute))
        chk.fail(path, "no attribute " + quoted(o.destination_attribute)
                         + " on " + dest->name());
      if (!res.find_attribute(o.source_attribute))
        chk.fail(path, "no attribute " + quoted(o.source_attribute));
      break;
    case relationship_kind::many_to_many: {
      auto join = a.find_resource(o.through);
      if (!join) {
        chk.fail(path, "through: no resource " + quoted(o.through));
        break;
      }
      if (o.source_attribute_on_join.empty()
          || !join->find_attribute(o.source_attribute_on_join))
        chk.fail(path, "source_attribute_on_join: no attribute "
                         + quoted(o.source_attribute_on_join) + " on "
                         + join->name());
      if (o.destination_attribute_on_join.empty()
          || !join->find_attribute(o.destination_attribute_on_join))
        chk.fail(path, "destination_attribute_on_join: no attribute "
                         + quoted(o.destination_attribute_on_join) + " on "
                         + join->name());
      break;
    }
  }
}

void check_resource(checker& chk, const app& a, const resource& res,
                    std::set<std::string>& tables) {
  auto& path = res.name();
  if (res.name().empty())
    chk.fail("resource", "name must not be empty");
  if (!valid_identifier(res.table()))
    chk.fail(path, "table name " + quoted(res.table())
                     + " must be a lowercase identifier");
  else if (!tables.insert(res.table()).second)
    chk.fail(path, "table " + quoted(res.table()) + " is used twice");
  if (auto why = reserved_table(res.table()))
    chk.fail(path, "table name " + quoted(res.table()) + " " + *why);
  if (res.attributes().size() + 1 > max_columns)
    chk.fail(path, std::to_string(res.attributes().size())
                     + " attributes: a resource has at most "
                     + std::to_string(max_columns - 1)
                     + " (SQLite's limit of " + std::to_string(max_columns)
                     + " columns per table, one of them _version)");
  std::set<std::string> names;
  for (auto& attr : res.attributes()) {
    auto apath = path + ".attributes." + attr.name;
    if (!valid_identifier(attr.name))
      chk.fail(apath, "name must be a lowercase identifier");
    if (!names.insert(attr.name).second)
      chk.fail(apath, "duplicate attribute");
    if (attr.type.kind() == type_kind::array && !attr.type.element())
      chk.fail(apath, "array without element type");
    check_default(chk, apath, attr.type, attr.options.default_value,
                  "default");
    check_default(chk, apath, attr.type, attr.options.update_default,
                  "update_default");
  }
  // Former names and dropped attributes: each names one column no
  // attribute defines anymore, once.
  std::set<std::string> former;
  auto check_former = [&](const std::string& fpath, const std::string& name) {
    if (!valid_identifier(name))
      chk.fail(fpath, "attribute name " + quoted(name)
                        + " must be a lowercase identifier");
    else if (res.find_attribute(name) || name == "_version")
      chk.fail(fpath, quoted(name) + " is an attribute of " + res.name());
    else if (!former.insert(name).second)
      chk.fail(fpath, quoted(name) + " is renamed or dropped twice");
  };
  for (auto& attr : res.attributes())
    for (auto& old : attr.options.renamed_from)
      check_former(path + ".attributes." + attr.name + ".renamed_from", old);
  for (auto& name : res.dropped_attributes())
    check_former(path + ".dropped_attributes", name);
  std::set<std::string> idents;
  for (auto& id : res.identities()) {
    auto ipath = path + ".identities." + id.name;
    if (!idents.insert(id.name).second)
      chk.fail(ipath, "duplicate identity");
    if (id.attributes.empty())
      chk.fail(ipath, "an identity needs at least one attribute");
    for (auto& name : id.attributes)
      if (!res.find_attribute(name))
        chk.fail(ipath, "no attribute " + quoted(name));
  }
  std::set<std::string> rels;
  for (auto& rel : res.relationships()) {
    if (!valid_identifier(rel.name))
      chk.fail(path + ".relationships." + rel.name,
               "name must be a lowercase identifier");
    if (!rels.insert(rel.name).second)
      chk.fail(path + ".relationships." + rel.name,
               "duplicate relationship");
    check_relationship(chk, a, res, rel);
  }
  std::set<std::string> actions;
  for (auto& act : res.actions()) {
    if (!actions.insert(act.name()).second)
      chk.fail(path + ".actions." + act.name(), "duplicate action");
    check_action(chk, a, res, act);
  }
  if (auto ev = res.events())
    check_events(chk, a, res, *ev);
}

} // namespace

void resolve(app& a) {
  for (auto& res : a.resources()) {
    for (auto& rel : res.relationships_) {
      auto dest = a.find_resource(rel.destination);
      auto& o = rel.options;
      switch (rel.kind) {
        case relationship_kind::belongs_to:
          if (o.destination_attribute.empty() && dest)
            o.destination_attribute = dest->primary_key();
          if (!res.find_attribute(o.source_attribute) && dest) {
            auto type = dest->key() == key_kind::integer ? types::integer()
                        : dest->key() == key_kind::string
                          ? types::string()
                          : types::uuid();
            res.attribute(o.source_attribute, std::move(type),
                          {.allow_nil = o.allow_nil});
          }
          break;
        case relationship_kind::has_one:
        case relationship_kind::has_many:
        case relationship_kind::many_to_many:
          if (o.source_attribute.empty())
            o.source_attribute = res.primary_key();
          break;
      }
    }
  }
}

caf::error resolve_and_validate(app& a) {
  resolve(a);
  checker chk;
  std::set<std::string> tables;
  std::set<std::string> log_names;
  for (auto& log : a.logs()) {
    if (!log_names.insert(log.name()).second)
      chk.fail("event_log " + log.name(), "duplicate event log");
    tables.insert(log.name());
    check_log(chk, a, log);
  }
  std::set<std::string> res_names;
  for (auto& res : a.resources()) {
    if (!res_names.insert(res.name()).second)
      chk.fail(res.name(), "duplicate resource " + quoted(res.name()));
    check_resource(chk, a, res, tables);
  }
  return chk.result();
}

} // namespace detail

} // namespace eventactors
