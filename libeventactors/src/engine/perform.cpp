// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "engine/action_run.hpp"

#include <set>

#include "detail/text.hpp"
#include "engine/hook_contexts.hpp"
#include "eventactors/error.hpp"

namespace eventactors {

caf::expected<record> action_run::perform(changeset& cs) {
  unit_context ctx{ex_, call_.actor, depth_};
  if (auto err = run_before_action(ctx, cs))
    return err;
  if (!cs.errors().empty())
    return invalid(where(), cs.errors());
  staged_write w;
  w.op.resource = res_->def->name();
  if (kind_ == action_kind::create) {
    if (auto err = stage_create(cs, w))
      return err;
  } else if (kind_ == action_kind::update || act_->is_soft()) {
    if (auto err = stage_update(cs, w))
      return err;
  } else {
    stage_destroy(w);
  }
  // The event (none while replaying).
  if (res_->tracks(act_->name()) && !ex_.replaying())
    w.op.event = capture_event(cs, w);
  auto rec = push_write(std::move(w));
  // Relationship management (not in replay: the related records come back
  // from their own events), then the after_action hooks.
  if (!ex_.replaying())
    for (auto& m : act_->managed())
      if (auto err = manage(m, rec))
        return err;
  if (auto err = run_after_action(ctx, cs, rec))
    return err;
  return rec;
}

caf::error action_run::run_before_action(unit_context& ctx, changeset& cs) {
  // By index, with a copy: a hook may register further hooks.
  for (size_t i = 0; i < cs.registered_hooks().before_action.size(); ++i) {
    auto h = cs.registered_hooks().before_action[i];
    if (auto err = h.fn(ctx, cs))
      return wrap_hook_error(std::move(err), where(), "before_action",
                             h.change);
  }
  return {};
}

caf::error action_run::run_after_action(unit_context& ctx, changeset& cs,
                                        record& rec) {
  for (size_t i = 0; i < cs.registered_hooks().after_action.size(); ++i) {
    auto h = cs.registered_hooks().after_action[i];
    if (auto err = h.fn(ctx, cs, rec))
      return wrap_hook_error(std::move(err), where(), "after_action",
                             h.change);
  }
  return {};
}

// -- create ------------------------------------------------------------------

caf::error action_run::stage_create(changeset& cs, staged_write& w) {
  auto& def = *res_->def;
  json::object values;
  std::vector<field_error> errs;
  for (auto& attr : def.attributes()) {
    auto& val = cs.attribute(attr.name);
    if (val.is_null() && !attr.options.allow_nil)
      errs.push_back({attr.name, "is required"});
    values[attr.name] = val;
  }
  if (!errs.empty())
    return invalid(where(), std::move(errs));
  std::optional<overlay_entry> existing;
  if (auto& ident = act_->upsert_identity(); ident && !ex_.replaying()) {
    auto found = find_identity(*def.find_identity(*ident), values,
                               json::value{});
    if (!found)
      return std::move(found.error());
    if (*found) {
      auto got = load(*res_, **found);
      if (!got)
        return std::move(got.error());
      existing = std::move(*got);
    }
  }
  if (existing)
    return stage_upsert(cs, *existing, w);
  return stage_insert(cs, std::move(values), w);
}

caf::error action_run::stage_upsert(changeset& cs,
                                    const overlay_entry& existing,
                                    staged_write& w) {
  // Upsert onto the existing record: write what the input and the
  // changes set and the update defaults, as an update would; keep the
  // key and leave the create defaults to new records.
  auto& def = *res_->def;
  auto& pk = def.primary_key();
  record_id_ = existing.values->at(pk);
  json::object update;
  for (auto& kvp : cs.changes()) {
    auto key = kvp.key();
    if (key == pk)
      continue;
    if (auto d = defaulted_.if_contains(key); d && *d == kvp.value())
      continue;
    update[key] = kvp.value();
  }
  for (auto& attr : def.attributes()) {
    if (attr.name == pk || !attr.options.update_default
        || update.contains(attr.name))
      continue;
    json::value val;
    if (auto err = attr.type.cast(
          attr.options.update_default->produce(env_), val))
      return invalid(where(), {{attr.name, "update_default: " + *err}});
    update[attr.name] = std::move(val);
  }
  w.values = *existing.values;
  for (auto& kvp : update)
    w.values[kvp.key()] = kvp.value();
  std::set<std::string> touched;
  for (auto& kvp : update)
    touched.emplace(kvp.key());
  if (auto err = check_identities(w.values, record_id_, &touched))
    return err;
  w.written = update;
  w.op.kind = write_kind::update;
  w.op.values = std::move(update);
  w.op.expected_version = existing.version;
  w.op.record_id = record_id_;
  put_overlay(overlay_key(def.name(), record_id_),
              overlay_entry{w.values, existing.version + 1});
  return {};
}

caf::error action_run::stage_insert(changeset& cs, json::object values,
                                    staged_write& w) {
  auto& def = *res_->def;
  auto& pk = def.primary_key();
  record_id_ = values.at(pk);
  // Still the generated key (no change replaced it)?
  bool generated = generated_key_ && record_id_.is_int64()
                   && record_id_.get_int64() == *generated_key_;
  auto key = overlay_key(def.name(), record_id_);
  auto clash = load(*res_, record_id_);
  if (!clash)
    return std::move(clash.error());
  if (*clash && generated) {
    // Another process (sharing the file) took the key since this
    // process last saw the file: run again with a fresh key.
    ex_.lost_generated_key(true);
    return make_error(errc::concurrent_modification,
                      def.name() + ": the generated " + pk + " "
                        + detail::show(record_id_, 80)
                        + " was taken by another process");
  }
  if (*clash)
    return make_error(errc::conflict,
                      def.name() + ": a record with " + pk + " "
                        + detail::show(record_id_, 80) + " already exists");
  if (auto err = check_identities(values, record_id_, nullptr))
    return err;
  for (auto& kvp : cs.changes())
    w.written[kvp.key()] = kvp.value();
  w.values = values;
  w.op.kind = write_kind::insert;
  w.op.values = std::move(values);
  w.op.record_id = record_id_;
  w.op.generated_key = generated;
  put_overlay(key, overlay_entry{w.values, 1});
  return {};
}

// -- update and destroy ------------------------------------------------------

caf::error action_run::stage_update(changeset& cs, staged_write& w) {
  auto& def = *res_->def;
  auto& pk = def.primary_key();
  std::vector<field_error> errs;
  json::object diff;
  auto& orig = *original_->values;
  for (auto& kvp : cs.changes()) {
    auto key = kvp.key();
    if (key == pk && kvp.value() != orig.at(pk)) {
      errs.push_back({std::string{key}, "the primary key cannot change"});
      continue;
    }
    auto attr = def.find_attribute(key);
    if (kvp.value().is_null() && !attr->options.allow_nil) {
      errs.push_back({std::string{key}, "is required"});
      continue;
    }
    if (auto cur = orig.if_contains(key); cur && *cur == kvp.value())
      continue;
    diff[key] = kvp.value();
  }
  if (!errs.empty())
    return invalid(where(), std::move(errs));
  w.values = orig;
  for (auto& kvp : diff)
    w.values[kvp.key()] = kvp.value();
  std::set<std::string> touched;
  for (auto& kvp : diff)
    touched.emplace(kvp.key());
  if (auto err = check_identities(w.values, record_id_, &touched))
    return err;
  w.written = diff;
  // Foreign keys an update sets count as changed even when unchanged.
  for (auto& kvp : cs.changes())
    if (res_->foreign_keys.count(kvp.key()))
      w.written[kvp.key()] = kvp.value();
  w.op.kind = write_kind::update;
  w.op.values = std::move(diff);
  w.op.expected_version = original_->version;
  w.op.record_id = record_id_;
  put_overlay(overlay_key(def.name(), record_id_),
              overlay_entry{w.values, original_->version + 1});
  return {};
}

void action_run::stage_destroy(staged_write& w) {
  w.values = *original_->values;
  w.op.kind = write_kind::remove;
  w.op.expected_version = original_->version;
  w.op.record_id = record_id_;
  put_overlay(overlay_key(res_->def->name(), record_id_),
              overlay_entry{std::nullopt, original_->version + 1});
}

// -- into the unit -----------------------------------------------------------

record action_run::push_write(staged_write w) {
  unit_.ops.push_back(std::move(w.op));
  auto op_index = static_cast<std::ptrdiff_t>(unit_.ops.size()) - 1;
  own_op_ = op_index;
  if (depth_ == ex_.depth() && !st_.tops.empty() && st_.tops.back() < 0)
    st_.tops.back() = op_index;
  record rec;
  rec.resource = res_->def->name();
  rec.id = record_id_;
  rec.values = std::move(w.values);
  return rec;
}

} // namespace eventactors
