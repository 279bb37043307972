// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "engine/action_run.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "storage/codec.hpp"
#include "detail/text.hpp"
#include "engine/limits.hpp"
#include "eventactors/error.hpp"

namespace eventactors {

caf::error action_run::prepare() {
  if (auto err = resolve())
    return err;
  if (auto err = check_nesting())
    return err;
  if (auto err = check_call())
    return err;
  select_environment();
  kind_ = replay_ && replay_->upsert_update ? action_kind::update
                                            : act_->kind();
  if (auto err = load_original())
    return err;
  action_input in;
  cast_inputs(in);
  apply_argument_defaults(in);
  if (!in.errs.empty())
    return invalid(where(), std::move(in.errs));
  start_changeset(std::move(in));
  if (kind_ == action_kind::create) {
    if (auto err = assign_key())
      return err;
    if (auto err = apply_create_defaults())
      return err;
  } else if (kind_ == action_kind::update || act_->is_soft()) {
    if (auto err = apply_update_defaults())
      return err;
  }
  run_changes();
  if (ex_.replaying())
    filter_replay_hooks();
  if (!cs_->errors().empty())
    return invalid(where(), cs_->errors());
  return {};
}

// -- the call ----------------------------------------------------------------

caf::error action_run::resolve() {
  res_ = model_.find(call_.resource);
  if (!res_)
    return make_error(errc::unknown_resource,
                      "no resource " + detail::quoted(call_.resource));
  auto& def = *res_->def;
  act_ = def.find_action(call_.action);
  if (!act_) {
    std::string known;
    for (auto& a : def.actions())
      known += (known.empty() ? "" : ", ") + a.name();
    return make_error(errc::unknown_action,
                      def.name() + " has no action "
                        + detail::quoted(call_.action) + " (actions: " + known
                        + ")");
  }
  return {};
}

caf::error action_run::check_nesting() {
  if (depth_ > opts_.max_hook_depth)
    return make_error(errc::depth_exceeded,
                      where() + ": hooks nested actions deeper than "
                        + std::to_string(opts_.max_hook_depth)
                        + " levels (max_hook_depth)");
  // Nested actions run on this thread's stack. Whatever max_hook_depth
  // allows, a thread with a small stack (or a build whose frames are big)
  // gets an error instead of a stack overflow.
  if (depth_ > 0 && stack_nearly_used_up())
    return make_error(errc::depth_exceeded,
                      where() + ": hooks nested actions "
                        + std::to_string(depth_)
                        + " levels deep and the thread's stack is nearly "
                          "used up (max_hook_depth is "
                        + std::to_string(opts_.max_hook_depth) + ")");
  return {};
}

caf::error action_run::check_call() {
  if (depth_ == 0)
    if (auto err = check_input_size(call_, opts_.max_input_bytes, where()))
      return err;
  // Metadata is stored as given: it must read back.
  if (auto err = codec::check_storable(call_.metadata))
    return invalid(where(), {{"metadata", *err}});
  if (call_.actor && res_->log)
    if (auto err = actor_columns(*res_, *call_.actor, actor_cols_))
      return err;
  return {};
}

void action_run::select_environment() {
  if (auto renv = ex_.replay_environment()) {
    // Replay never asks the runtime's clock or id generators: a value the
    // live action generated comes from the event; what a step still asks
    // for (and what the actions its hooks run ask for) reads the event's
    // time and ids derived from the event.
    env_ = *renv;
  } else {
    env_ = opts_.env;
    env_.clock = [now = opts_.env.clock()] { return now; };
  }
}

caf::error action_run::load_original() {
  auto& def = *res_->def;
  auto& pk = *def.find_attribute(def.primary_key());
  if (kind_ == action_kind::create) {
    if (!call_.record_id.is_null())
      return make_error(errc::invalid_input,
                        where() + ": a record id is only taken by update and "
                                  "destroy actions");
    return {};
  }
  if (call_.record_id.is_null())
    return make_error(errc::invalid_input,
                      where() + ": a record id is required");
  std::optional<std::string> err;
  record_id_ = cast_key(pk, call_.record_id, err);
  if (err)
    return make_error(errc::invalid_input, where() + ": record id: " + *err);
  auto orig = load(*res_, record_id_);
  if (!orig)
    return std::move(orig.error());
  if (!*orig)
    return make_error(errc::not_found,
                      def.name() + ": no record with " + def.primary_key()
                        + " " + detail::show(record_id_, 80));
  original_ = std::move(**orig);
  return {};
}

// -- casting the input -------------------------------------------------------

void action_run::cast_inputs(action_input& in) {
  for (auto& kvp : call_.input) {
    auto key = kvp.key();
    if (act_->accepts(key))
      cast_attribute(key, kvp.value(), in);
    else if (auto arg = act_->find_argument(key))
      cast_argument(*arg, key, kvp.value(), in);
    else if (!act_->skips_unknown_inputs() && !replay_)
      in.errs.push_back({std::string{key}, unknown_input()});
  }
}

void action_run::cast_attribute(json::string_view key,
                                const json::value& given_value,
                                action_input& in) {
  auto attr = res_->def->find_attribute(key);
  json::value val;
  // A partial nested object on an update is merged into the current
  // one: fields not given keep their values.
  const json::value* given = &given_value;
  json::value merged;
  if (original_ && attr->type.kind() == type_kind::object
      && given->is_object()) {
    if (auto cur = original_->values->if_contains(key);
        cur && cur->is_object()) {
      merged = *cur;
      for (auto& field : given->get_object())
        merged.get_object()[field.key()] = field.value();
      given = &merged;
    }
  }
  if (auto err = attr->type.cast(*given, val)) {
    in.errs.push_back({std::string{key}, *err});
    return;
  }
  if (val.is_null() && !attr->options.allow_nil) {
    in.errs.push_back({std::string{key}, "must not be null"});
    return;
  }
  data_[key] = attr->options.sensitive && !sealed_log() ? json::value{} : val;
  in.changes[key] = std::move(val);
  in.input[key] = given_value;
}

void action_run::cast_argument(const argument& arg, json::string_view key,
                               const json::value& given, action_input& in) {
  json::value val;
  if (auto err = arg.type.cast(given, val)) {
    in.errs.push_back({std::string{key}, *err});
    return;
  }
  data_[key] = arg.options.sensitive && !sealed_log() ? json::value{} : val;
  in.args[key] = std::move(val);
  in.input[key] = given;
}

std::string action_run::unknown_input() const {
  std::string known;
  for (auto& a : act_->accepted())
    known += (known.empty() ? "" : ", ") + a;
  for (auto& a : act_->arguments())
    known += (known.empty() ? "" : ", ") + a.name;
  return "unknown input (accepted: "
         + (known.empty() ? std::string{"none"} : known) + ")";
}

void action_run::apply_argument_defaults(action_input& in) {
  auto& args = in.args;
  for (auto& arg : act_->arguments()) {
    auto ptr = args.if_contains(arg.name);
    if ((!ptr || ptr->is_null()) && arg.options.default_value) {
      json::value val;
      auto produced = arg.options.default_value->produce(env_);
      if (auto err = arg.type.cast(produced, val))
        in.errs.push_back({arg.name, "default: " + *err});
      else
        args[arg.name] = std::move(val);
      ptr = args.if_contains(arg.name);
    }
    if (arg.options.required && (!ptr || ptr->is_null()))
      in.errs.push_back({arg.name, "is required"});
  }
}

// -- the changeset -----------------------------------------------------------

void action_run::start_changeset(action_input in) {
  cs_ = std::make_unique<changeset>(*res_->def, *act_);
  std::optional<json::object> orig_values;
  if (original_)
    orig_values = *original_->values;
  cs_->init(env_, call_.actor, std::move(orig_values), std::move(in.input),
            std::move(in.args));
  for (auto& kvp : in.changes)
    cs_->put(kvp.key(), std::move(kvp.value()));
}

caf::error action_run::assign_key() {
  auto& def = *res_->def;
  auto& pk_name = def.primary_key();
  if (!cs_->changing(pk_name) && !forced_.contains(pk_name)) {
    switch (def.key()) {
      case key_kind::uuid_v4:
        cs_->put(pk_name, json::string{env_.uuid_v4()});
        break;
      case key_kind::uuid_v7:
        cs_->put(pk_name, json::string{env_.uuid_v7()});
        break;
      case key_kind::integer:
        generated_key_ = res_->next_id.fetch_add(1);
        cs_->put(pk_name, *generated_key_);
        break;
      case key_kind::string:
        return invalid(where(), {{pk_name, "is required (string primary "
                                           "keys are supplied by the "
                                           "caller)"}});
    }
  } else if (def.key() == key_kind::integer) {
    // A key chosen by the caller (or a replayed one): generated keys
    // continue above it.
    auto& given = cs_->changing(pk_name) ? cs_->attribute(pk_name)
                                         : forced_.at(pk_name);
    if (given.is_int64()
        && given.get_int64() < std::numeric_limits<int64_t>::max()) {
      auto next = given.get_int64() + 1;
      auto cur = res_->next_id.load();
      while (cur < next && !res_->next_id.compare_exchange_weak(cur, next))
        ; // cur reloaded by compare_exchange_weak
    }
  }
  return {};
}

caf::error action_run::apply_create_defaults() {
  auto& def = *res_->def;
  for (auto& attr : def.attributes()) {
    if (attr.name == def.primary_key() || cs_->changing(attr.name)
        || forced_.contains(attr.name) || !attr.options.default_value)
      continue;
    if (auto captured = replayed(attr.name)) {
      // The value the live default produced, as the event recorded it.
      cs_->put(attr.name, *captured);
      continue;
    }
    json::value val;
    if (auto err = attr.type.cast(attr.options.default_value->produce(env_),
                                  val))
      return invalid(where(), {{attr.name, "default: " + *err}});
    defaulted_[attr.name] = val;
    cs_->put(attr.name, std::move(val));
  }
  return {};
}

caf::error action_run::apply_update_defaults() {
  for (auto& attr : res_->def->attributes()) {
    if (cs_->changing(attr.name) || forced_.contains(attr.name)
        || !attr.options.update_default)
      continue;
    if (replay_ && replay_->own_event) {
      // Live, an update default that changed the value is in the event;
      // one the event lacks left the value as it was.
      if (auto captured = replayed(attr.name))
        cs_->put(attr.name, *captured);
      continue;
    }
    json::value val;
    if (auto err = attr.type.cast(
          attr.options.update_default->produce(env_), val))
      return invalid(where(), {{attr.name, "update_default: " + *err}});
    cs_->put(attr.name, std::move(val));
  }
  return {};
}

void action_run::run_changes() {
  auto& def = *res_->def;
  for (auto& kvp : forced_)
    cs_->put(kvp.key(), kvp.value());
  if (replay_)
    cs_->set_replay(replay_->changed);
  // Changes and validations, in declaration order (an upsert replayed as an
  // update has none, like AshEvents' derived replay update).
  if (!replay_ || !replay_->upsert_update) {
    for (auto& [c, kinds] : def.resource_changes())
      if (std::find(kinds.begin(), kinds.end(), kind_) != kinds.end())
        c.apply(*cs_);
    for (auto& step : act_->steps()) {
      if (step.change) {
        step.change->apply(*cs_);
      } else if (auto err = step.validation->check(*cs_)) {
        cs_->add_error(err->field, err->message);
      }
    }
  }
  if (replay_ && (replay_->force || replay_->upsert_update)) {
    // Last: the values the live action computed, as the event recorded
    // them (the primary key is already in place).
    for (auto& kvp : replay_->changed)
      if (kvp.key() != def.primary_key() && def.find_attribute(kvp.key()))
        cs_->set_attribute(kvp.key(), kvp.value());
  }
}

} // namespace eventactors
