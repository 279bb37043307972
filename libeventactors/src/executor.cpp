// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "executor.hpp"

#include <pthread.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>

#include <boost/json/serialize.hpp>

#include "storage/codec.hpp"
#include "detail/log.hpp"
#include "eventactors/error.hpp"
#include "eventactors/resource.hpp"
#include "uuid.hpp"

namespace eventactors {

namespace {

/// Stack kept free below the deepest nested action, room for SQLite and
/// the hooks of the last level: 512 KiB, or a quarter of a smaller stack.
constexpr uintptr_t stack_reserve_max = 512 * 1024;

struct stack_bounds {
  uintptr_t low = 0;
  uintptr_t reserve = stack_reserve_max;
};

/// Whether this thread's stack below the caller's frame is down to the
/// reserve (stacks grow down on every platform we build for).
bool stack_nearly_used_up() noexcept {
  thread_local const stack_bounds bounds = [] {
    stack_bounds result;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
      return result;
    void* addr = nullptr;
    size_t size = 0;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
      result.low = reinterpret_cast<uintptr_t>(addr);
      result.reserve = std::min<uintptr_t>(stack_reserve_max, size / 4);
    }
    pthread_attr_destroy(&attr);
    return result;
  }();
  if (bounds.low == 0)
    return false;
  // The frame address, not a local's: under ASan locals may live on a
  // fake stack in the heap.
  auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  return here < bounds.low + bounds.reserve;
}

const json::value null_value;

std::string quoted(std::string_view x) {
  std::string result = "\"";
  result += x;
  result += '"';
  return result;
}

std::string show(const json::value& x) {
  auto str = to_json_text(x);
  if (str.size() > 80) {
    str.resize(77);
    str += "...";
  }
  return str;
}

std::string overlay_key(std::string_view resource, const json::value& id) {
  std::string key{resource};
  key += '\x1f';
  key += json::serialize(id);
  return key;
}

caf::error invalid(const std::string& where, std::vector<field_error> errs) {
  auto& first = errs.front();
  auto msg = where + ": ";
  if (!first.field.empty())
    msg += first.field + ": ";
  msg += first.message;
  if (errs.size() > 1)
    msg += " (and " + std::to_string(errs.size() - 1) + " more)";
  return make_error(errc::invalid_input, std::move(msg), std::move(errs));
}

/// Hook errors of our category pass through (e.g. a nested action's
/// invalid input); anything else is wrapped so the message names the hook.
caf::error wrap_hook_error(caf::error err, const std::string& where,
                           const char* kind, const std::string& change) {
  if (err.category() == caf::atom("evact"))
    return err;
  return make_error(errc::hook_failed, where + ": " + kind + " hook "
                                         + quoted(change)
                                         + " failed: " + render(err));
}

json::value cast_key(const attribute& pk, const json::value& id,
                     std::optional<std::string>& err) {
  json::value out;
  err = pk.type.cast(id, out);
  return out;
}

/// Adds the actor's column to `cols` per the event log's configuration.
caf::error actor_columns(const resource_info& res, const actor& who,
                         json::object& cols) {
  auto& log = *res.log;
  if (who.type.empty())
    return make_error(errc::invalid_input, "actor: type must not be empty");
  if (who.id.is_null())
    return make_error(errc::invalid_input,
                      "actor " + who.type + ": id must not be null");
  auto col = log.column_for(who.type);
  if (!col) {
    if (log.strict_actors())
      return make_error(errc::unknown_actor_type,
                        "event log " + log.name()
                          + " has no column for actor type "
                          + quoted(who.type));
    return {};
  }
  json::value key;
  std::optional<std::string> err;
  switch (col->type) {
    case actor_key_kind::uuid:
      err = types::uuid().cast(who.id, key);
      break;
    case actor_key_kind::integer:
      err = types::integer().cast(who.id, key);
      break;
    case actor_key_kind::string:
      if (who.id.is_string())
        err = types::string().cast(who.id, key);
      else if (who.id.is_int64() || who.id.is_uint64())
        key = json::string{json::serialize(who.id)};
      else
        err = "expected a string, got " + show(who.id);
      break;
  }
  if (err)
    return make_error(errc::invalid_input,
                      "actor " + who.type + ": id: " + *err);
  cols.emplace(col->name, std::move(key));
  return {};
}

} // namespace

std::optional<std::string> check_json(const json::value& x,
                                      std::size_t max_bytes,
                                      std::size_t& bytes, int max_depth) {
  if (max_depth < 0)
    return std::string{"nested too deeply"};
  switch (x.kind()) {
    case json::kind::string:
      bytes += x.get_string().size() + 2;
      break;
    case json::kind::array:
      bytes += 2;
      for (auto& elem : x.get_array()) {
        if (auto err = check_json(elem, max_bytes, bytes, max_depth - 1))
          return err;
        ++bytes;
      }
      break;
    case json::kind::object:
      bytes += 2;
      for (auto& kvp : x.get_object()) {
        bytes += kvp.key().size() + 4;
        if (auto err = check_json(kvp.value(), max_bytes, bytes,
                                  max_depth - 1))
          return err;
      }
      break;
    default:
      bytes += 8;
      break;
  }
  if (bytes > max_bytes)
    return "larger than " + std::to_string(max_bytes) + " bytes";
  return std::nullopt;
}

// -- implementation state -------------------------------------------------------

struct overlay_entry {
  /// Null when the record was deleted in this unit.
  std::optional<json::object> values;
  int64_t version = 1;
};

struct deferred_hooks {
  std::unique_ptr<changeset> cs;
  std::optional<eventactors::actor> who;
  caf::expected<record> result{caf::error{}};
  /// Index of the action's own op in the unit, or -1.
  std::ptrdiff_t op = -1;
  uint32_t depth = 0;
};

struct execution::impl {
  std::map<std::string, overlay_entry> overlay;
  /// Undo log of overlay changes: the key and its previous entry.
  std::vector<std::pair<std::string, std::optional<overlay_entry>>> undo;
  std::vector<deferred_hooks> deferred;
  /// Per successful `run`: the index of the top-level action's op.
  std::vector<std::ptrdiff_t> tops;
  /// Records read from storage by this execution (what the overlay does
  /// not hold): an action reads its record more than once (replay to tell
  /// creates from upserts, then the action to load it), and reads inside
  /// one unit see one state.
  std::map<std::string, std::optional<stored_record>> reads;
  /// While a replayed event runs: what its action, the actions its hooks
  /// run and the hooks themselves see as "now" and new ids (the event's
  /// time, ids derived from the event), never the runtime's generators.
  std::optional<environment> replay_env;
};

namespace {

/// The hook context of hooks that run inside the unit.
class unit_context : public hook_context {
public:
  unit_context(execution& ex, const std::optional<eventactors::actor>& who,
               uint32_t depth)
    : ex_(ex), who_(who), depth_(depth) {
    // nop
  }

  caf::expected<record> run(call c, actor_mode mode) override {
    if (mode == actor_mode::inherit && !c.actor)
      c.actor = who_;
    // After an around_transaction hook's `next` committed the unit, an
    // action the hook runs can only be a unit of its own.
    if (ex_.committed())
      return execution::run_unit(ex_.env(), c, depth_ + 1);
    return ex_.run_nested(c, json::object{}, depth_ + 1);
  }

  caf::expected<record> get(std::string_view resource,
                            const json::value& id) override {
    auto res = ex_.env().defs->find(resource);
    if (!res)
      return make_error(errc::unknown_resource,
                        "no resource " + quoted(resource));
    std::optional<std::string> err;
    auto key = cast_key(*res->def->find_attribute(res->def->primary_key()),
                        id, err);
    if (err)
      return make_error(errc::invalid_input,
                        res->def->name() + ": id: " + *err);
    auto found = ex_.lookup(*res, key);
    if (!found)
      return std::move(found.error());
    if (!*found)
      return make_error(errc::not_found,
                        res->def->name() + ": no record with "
                          + res->def->primary_key() + " " + show(id));
    return reader::to_record(*res, std::move(**found));
  }

  caf::expected<std::vector<record>> find(std::string_view resource,
                                          std::string_view attribute,
                                          const json::value& value) override {
    auto res = ex_.env().defs->find(resource);
    if (!res)
      return make_error(errc::unknown_resource,
                        "no resource " + quoted(resource));
    auto rows = ex_.lookup_by(*res, attribute, value);
    if (!rows)
      return std::move(rows.error());
    std::vector<record> result;
    for (auto& row : *rows)
      result.push_back(reader::to_record(*res, stored_record{row, 0}));
    return result;
  }

  const std::optional<eventactors::actor>& actor() const noexcept override {
    return who_;
  }

  const environment& env() const noexcept override {
    if (auto renv = ex_.replay_environment())
      return *renv;
    return ex_.env().options->env;
  }

  bool replaying() const noexcept override {
    return ex_.replaying();
  }

private:
  execution& ex_;
  const std::optional<eventactors::actor>& who_;
  uint32_t depth_;
};

/// The hook context of after_transaction hooks: each action they run is a
/// unit of its own, committed before `run` returns.
class post_commit_context : public hook_context {
public:
  post_commit_context(executor& ex,
                      const std::optional<eventactors::actor>& who,
                      uint32_t depth)
    : ex_(ex), who_(who), depth_(depth) {
    // nop
  }

  caf::expected<record> run(call c, actor_mode mode) override {
    if (mode == actor_mode::inherit && !c.actor)
      c.actor = who_;
    return execution::run_unit(ex_, c, depth_ + 1);
  }

  caf::expected<record> get(std::string_view resource,
                            const json::value& id) override {
    // After the commit: a fresh unit sees exactly the committed state.
    execution fresh{ex_, depth_};
    unit_context ctx{fresh, who_, depth_};
    return ctx.get(resource, id);
  }

  caf::expected<std::vector<record>> find(std::string_view resource,
                                          std::string_view attribute,
                                          const json::value& value) override {
    execution fresh{ex_, depth_};
    unit_context ctx{fresh, who_, depth_};
    return ctx.find(resource, attribute, value);
  }

  const std::optional<eventactors::actor>& actor() const noexcept override {
    return who_;
  }

  const environment& env() const noexcept override {
    return ex_.options->env;
  }

  bool replaying() const noexcept override {
    return ex_.replaying;
  }

private:
  executor& ex_;
  const std::optional<eventactors::actor>& who_;
  uint32_t depth_;
};

} // namespace

// -- the action pipeline --------------------------------------------------------

/// Runs one action inside an execution. Holds the per-action state the
/// steps share.
class action_run {
public:
  action_run(execution& ex, execution::impl& st, unit& u, const call& c,
             const json::object& forced, uint32_t depth,
             const replay_spec* spec)
    : ex_(ex), st_(st), unit_(u), call_(c), forced_(forced), depth_(depth),
      opts_(*ex.env().options), model_(*ex.env().defs), replay_(spec) {
    // nop
  }

  caf::expected<record> operator()();

private:
  caf::expected<std::optional<overlay_entry>> load(const resource_info& res,
                                                   const json::value& id);

  caf::expected<std::vector<json::object>>
  children(const resource_info& res, const std::string& attribute,
           const json::value& value);

  caf::error prepare();

  caf::expected<record> perform(changeset& cs);

  caf::expected<record> around(const std::vector<tagged_hook<around_hook>>&,
                               size_t index, changeset& cs,
                               const next_fn& last);

  caf::expected<std::optional<json::value>>
  find_identity(const identity& id, const json::object& values,
                const json::value& self);

  caf::error check_identities(const json::object& values,
                              const json::value& self,
                              const std::set<std::string>* only);

  caf::error manage(const managed_relationship& m, const record& parent);

  void put_overlay(const std::string& key, overlay_entry entry);

  /// Whether the action's events are encrypted: sensitive inputs are then
  /// kept (sealed) instead of stored as null.
  bool sealed_log() const noexcept {
    return res_->log && res_->log->encrypted();
  }

  /// Keeps the changeset for the after_transaction hooks, which run once
  /// the unit's outcome is known.
  void push_deferred(caf::expected<record> outcome);

  std::string where() const {
    return res_->def->name() + "." + act_->name();
  }

  /// Drops the hooks that must not run during replay: all but those
  /// registered by changes the events section allows for the action.
  void filter_replay_hooks();

  /// While replaying an event this action wrote: the value the event
  /// recorded for `attribute` (in its changed attributes), if any.
  const json::value* replayed(std::string_view attribute) const {
    return replay_ && replay_->own_event
             ? replay_->changed.if_contains(attribute)
             : nullptr;
  }

  execution& ex_;
  execution::impl& st_;
  unit& unit_;
  const call& call_;
  const json::object& forced_;
  uint32_t depth_;
  const runtime_options& opts_;
  const model& model_;
  /// Set when replay applies an event to this action.
  const replay_spec* replay_;
  /// The kind the action runs as (an upsert replayed onto an existing
  /// record runs as an update).
  action_kind kind_ = action_kind::create;

  const resource_info* res_ = nullptr;
  const action* act_ = nullptr;
  std::unique_ptr<changeset> cs_;
  std::optional<overlay_entry> original_;
  json::value record_id_;
  json::object actor_cols_;
  json::object data_;
  /// Attributes set by create defaults (not by input or changes).
  json::object defaulted_;
  /// The runtime's environment with the clock read once: every "now" of
  /// one action (defaults, changes, occurred_at) is the same instant.
  environment env_;
  /// The index of this action's own write in the unit.
  std::ptrdiff_t own_op_ = -1;
  /// The integer key this process generated for the created record.
  std::optional<int64_t> generated_key_;

  friend class execution;
};

namespace {

/// SplitMix64: spreads a counter into well-mixed bits.
uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// The environment of a replayed event: "now" is the event's time, and the
/// UUIDs come from a sequence seeded by the event, so that each replay
/// derives the same ones in the same order.
environment make_replay_environment(timestamp at, uint64_t seed) {
  struct state {
    timestamp at;
    uint64_t seed;
    uint64_t n = 0;
    uuid::v7_sequence v7;
  };
  auto st = std::make_shared<state>();
  st->at = at;
  st->seed = seed;
  auto next = [st](bool v7) {
    auto n = st->n++;
    auto r1 = mix64(st->seed ^ mix64(2 * n));
    auto r2 = mix64(st->seed ^ mix64(2 * n + 1));
    if (!v7)
      return uuid::format(uuid::v4_from(r1, r2));
    return uuid::format(st->v7.next(st->at, r1, r2));
  };
  environment env;
  env.clock = [at] { return at; };
  env.uuid_v4 = [next] { return next(false); };
  env.uuid_v7 = [next] { return next(true); };
  return env;
}

} // namespace

caf::expected<std::optional<overlay_entry>>
action_run::load(const resource_info& res, const json::value& id) {
  auto found = ex_.lookup(res, id);
  if (!found)
    return std::move(found.error());
  if (!*found)
    return std::optional<overlay_entry>{};
  return std::optional<overlay_entry>{
    overlay_entry{std::move((*found)->values), (*found)->version}};
}

caf::expected<std::vector<json::object>>
action_run::children(const resource_info& res, const std::string& attribute,
                     const json::value& value) {
  return ex_.lookup_by(res, attribute, value);
}

void action_run::put_overlay(const std::string& key, overlay_entry entry) {
  std::optional<overlay_entry> prev;
  if (auto i = st_.overlay.find(key); i != st_.overlay.end())
    prev = std::move(i->second);
  st_.undo.emplace_back(key, std::move(prev));
  st_.overlay[key] = std::move(entry);
}

caf::error action_run::prepare() {
  res_ = model_.find(call_.resource);
  if (!res_)
    return make_error(errc::unknown_resource,
                      "no resource " + quoted(call_.resource));
  auto& def = *res_->def;
  act_ = def.find_action(call_.action);
  if (!act_) {
    std::string known;
    for (auto& a : def.actions())
      known += (known.empty() ? "" : ", ") + a.name();
    return make_error(errc::unknown_action,
                      def.name() + " has no action " + quoted(call_.action)
                        + " (actions: " + known + ")");
  }
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
  if (depth_ == 0) {
    std::size_t bytes = 0;
    // On error only: the key whose value nests too deeply, to name it.
    auto deep_key = [](const json::object& x) {
      for (auto& kvp : x) {
        std::size_t ignored = 0;
        if (check_json(kvp.value(), std::numeric_limits<std::size_t>::max(),
                       ignored, 63))
          return std::string{kvp.key()} + ": ";
      }
      return std::string{};
    };
    if (auto err = check_json(call_.input, opts_.max_input_bytes, bytes))
      return make_error(errc::input_too_large,
                        where() + ": input " + deep_key(call_.input) + *err
                          + " (max_input_bytes)");
    if (auto err = check_json(call_.metadata, opts_.max_input_bytes, bytes))
      return make_error(errc::input_too_large,
                        where() + ": input and metadata "
                          + deep_key(call_.metadata) + *err
                          + " (max_input_bytes)");
  }
  // Metadata is stored as given: it must read back.
  if (auto err = codec::check_storable(call_.metadata))
    return invalid(where(), {{"metadata", *err}});
  if (call_.actor && res_->log)
    if (auto err = actor_columns(*res_, *call_.actor, actor_cols_))
      return err;
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
  kind_ = replay_ && replay_->upsert_update ? action_kind::update
                                            : act_->kind();
  auto kind = kind_;
  auto& pk = *def.find_attribute(def.primary_key());
  // The record to change.
  if (kind != action_kind::create) {
    if (call_.record_id.is_null())
      return make_error(errc::invalid_input,
                        where() + ": a record id is required");
    std::optional<std::string> err;
    record_id_ = cast_key(pk, call_.record_id, err);
    if (err)
      return make_error(errc::invalid_input,
                        where() + ": record id: " + *err);
    auto orig = load(*res_, record_id_);
    if (!orig)
      return std::move(orig.error());
    if (!*orig)
      return make_error(errc::not_found,
                        def.name() + ": no record with " + def.primary_key()
                          + " " + show(record_id_));
    original_ = std::move(**orig);
  } else if (!call_.record_id.is_null()) {
    return make_error(errc::invalid_input,
                      where() + ": a record id is only taken by update and "
                                "destroy actions");
  }
  // Cast the input.
  std::vector<field_error> errs;
  json::object changes;
  json::object args;
  json::object input;
  for (auto& kvp : call_.input) {
    auto key = kvp.key();
    if (act_->accepts(key)) {
      auto attr = def.find_attribute(key);
      json::value val;
      // A partial nested object on an update is merged into the current
      // one: fields not given keep their values.
      const json::value* given = &kvp.value();
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
        errs.push_back({std::string{key}, *err});
        continue;
      }
      if (val.is_null() && !attr->options.allow_nil) {
        errs.push_back({std::string{key}, "must not be null"});
        continue;
      }
      data_[key] = attr->options.sensitive && !sealed_log() ? json::value{}
                                                              : val;
      changes[key] = std::move(val);
      input[key] = kvp.value();
    } else if (auto arg = act_->find_argument(key)) {
      json::value val;
      if (auto err = arg->type.cast(kvp.value(), val)) {
        errs.push_back({std::string{key}, *err});
        continue;
      }
      data_[key] = arg->options.sensitive && !sealed_log() ? json::value{}
                                                             : val;
      args[key] = std::move(val);
      input[key] = kvp.value();
    } else if (!act_->skips_unknown_inputs() && !replay_) {
      std::string known;
      for (auto& a : act_->accepted())
        known += (known.empty() ? "" : ", ") + a;
      for (auto& a : act_->arguments())
        known += (known.empty() ? "" : ", ") + a.name;
      errs.push_back({std::string{key},
                      "unknown input (accepted: "
                        + (known.empty() ? std::string{"none"} : known)
                        + ")"});
    }
  }
  for (auto& arg : act_->arguments()) {
    auto ptr = args.if_contains(arg.name);
    if ((!ptr || ptr->is_null()) && arg.options.default_value) {
      json::value val;
      auto produced = arg.options.default_value->produce(env_);
      if (auto err = arg.type.cast(produced, val))
        errs.push_back({arg.name, "default: " + *err});
      else
        args[arg.name] = std::move(val);
      ptr = args.if_contains(arg.name);
    }
    if (arg.options.required && (!ptr || ptr->is_null()))
      errs.push_back({arg.name, "is required"});
  }
  if (!errs.empty())
    return invalid(where(), std::move(errs));
  cs_ = std::make_unique<changeset>(def, *act_);
  std::optional<json::object> orig_values;
  if (original_)
    orig_values = *original_->values;
  cs_->init(env_, call_.actor, std::move(orig_values), std::move(input),
            std::move(args));
  for (auto& kvp : changes)
    cs_->put(kvp.key(), std::move(kvp.value()));
  // Primary key and defaults.
  if (kind == action_kind::create) {
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
    for (auto& attr : def.attributes()) {
      if (attr.name == pk_name || cs_->changing(attr.name)
          || forced_.contains(attr.name) || !attr.options.default_value)
        continue;
      if (auto captured = replayed(attr.name)) {
        // The value the live default produced, as the event recorded it.
        cs_->put(attr.name, *captured);
        continue;
      }
      json::value val;
      if (auto err = attr.type.cast(
            attr.options.default_value->produce(env_), val))
        return invalid(where(), {{attr.name, "default: " + *err}});
      defaulted_[attr.name] = val;
      cs_->put(attr.name, std::move(val));
    }
  } else if (kind == action_kind::update || act_->is_soft()) {
    for (auto& attr : def.attributes()) {
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
  }
  for (auto& kvp : forced_)
    cs_->put(kvp.key(), kvp.value());
  if (replay_)
    cs_->set_replay(replay_->changed);
  // Changes and validations, in declaration order (an upsert replayed as an
  // update has none, like AshEvents' derived replay update).
  if (!replay_ || !replay_->upsert_update) {
    for (auto& [c, kinds] : def.resource_changes())
      if (std::find(kinds.begin(), kinds.end(), kind) != kinds.end())
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
  if (ex_.replaying())
    filter_replay_hooks();
  if (!cs_->errors().empty())
    return invalid(where(), cs_->errors());
  return {};
}

caf::expected<std::optional<json::value>>
action_run::find_identity(const identity& id, const json::object& values,
                          const json::value& self) {
  auto& def = *res_->def;
  auto& pk = def.primary_key();
  auto same_values = [&](const json::object& row) {
    for (auto& a : id.attributes) {
      auto& x = row.at(a);
      auto& y = values.at(a);
      if (def.find_attribute(a)->type.kind() == type_kind::ci_string
          && x.is_string() && y.is_string()) {
        auto& xs = x.get_string();
        auto& ys = y.get_string();
        auto lower_eq = [](char l, char r) {
          return std::tolower(static_cast<unsigned char>(l))
                 == std::tolower(static_cast<unsigned char>(r));
        };
        if (xs.size() != ys.size()
            || !std::equal(xs.begin(), xs.end(), ys.begin(), lower_eq))
          return false;
      } else if (x != y) {
        return false;
      }
    }
    return true;
  };
  // This unit's pending writes first, then the database (skipping rows this
  // unit changed: the overlay has their current values).
  auto prefix = def.name() + '\x1f';
  for (auto& [key, entry] : st_.overlay) {
    if (!entry.values || key.compare(0, prefix.size(), prefix) != 0)
      continue;
    auto& key_value = entry.values->at(pk);
    if (key_value != self && same_values(*entry.values))
      return std::optional<json::value>{key_value};
  }
  auto found = ex_.env().db->find_identity(*res_, id, values, self);
  if (!found)
    return std::move(found.error());
  if (*found) {
    auto& key_value = (*found)->values.at(pk);
    if (!st_.overlay.count(overlay_key(def.name(), key_value)))
      return std::optional<json::value>{key_value};
  }
  return std::optional<json::value>{};
}

caf::error action_run::check_identities(const json::object& values,
                                        const json::value& self,
                                        const std::set<std::string>* only) {
  auto& def = *res_->def;
  for (auto& id : def.identities()) {
    if (only) {
      bool touched = false;
      for (auto& a : id.attributes)
        touched = touched || only->count(a) > 0;
      if (!touched)
        continue;
    }
    bool complete = true;
    for (auto& a : id.attributes) {
      auto ptr = values.if_contains(a);
      complete = complete && ptr && !ptr->is_null();
    }
    if (!complete)
      continue;
    auto found = find_identity(id, values, self);
    if (!found)
      return std::move(found.error());
    if (*found) {
      std::string what;
      for (auto& a : id.attributes)
        what += (what.empty() ? "" : ", ") + a + " " + show(values.at(a));
      return make_error(errc::conflict, def.name() + ": identity " + id.name
                                          + ": a record with " + what
                                          + " already exists");
    }
  }
  return {};
}

caf::expected<record> action_run::around(
  const std::vector<tagged_hook<around_hook>>& hooks, size_t index,
  changeset& cs, const next_fn& last) {
  if (index >= hooks.size())
    return last(cs);
  // Copy: the hook may register more hooks and grow the vector.
  auto hook = hooks[index];
  unit_context ctx{ex_, call_.actor, depth_};
  bool called = false;
  next_fn next = [&](changeset& inner) -> caf::expected<record> {
    if (called)
      return make_error(errc::hook_failed,
                        where() + ": around hook " + quoted(hook.change)
                          + " called next more than once");
    called = true;
    // A failed `next` leaves nothing in the unit, even when the hook goes
    // on and returns a record.
    auto point = ex_.checkpoint();
    auto result = around(hooks, index + 1, inner, last);
    if (!result)
      ex_.rollback(point, result.error());
    return result;
  };
  auto result = hook.fn(ctx, cs, next);
  if (!result)
    return wrap_hook_error(std::move(result.error()), where(), "around",
                           hook.change);
  if (!called)
    return make_error(errc::hook_failed,
                      where() + ": around hook " + quoted(hook.change)
                        + " returned without calling next");
  return result;
}

caf::expected<record> action_run::perform(changeset& cs) {
  auto& def = *res_->def;
  auto kind = kind_;
  unit_context ctx{ex_, call_.actor, depth_};
  // By index, with a copy: a hook may register further hooks.
  for (size_t i = 0; i < cs.registered_hooks().before_action.size(); ++i) {
    auto h = cs.registered_hooks().before_action[i];
    if (auto err = h.fn(ctx, cs))
      return wrap_hook_error(std::move(err), where(), "before_action",
                             h.change);
  }
  if (!cs.errors().empty())
    return invalid(where(), cs.errors());
  auto& pk = def.primary_key();
  write_op op;
  op.resource = def.name();
  json::object record_values;
  json::object written; // what the action set, for changed_attributes
  std::vector<field_error> errs;
  if (kind == action_kind::create) {
    json::object values;
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
    if (existing) {
      // Upsert onto the existing record: write what the input and the
      // changes set and the update defaults, as an update would; keep the
      // key and leave the create defaults to new records.
      record_id_ = existing->values->at(pk);
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
      record_values = *existing->values;
      for (auto& kvp : update)
        record_values[kvp.key()] = kvp.value();
      std::set<std::string> touched;
      for (auto& kvp : update)
        touched.emplace(kvp.key());
      if (auto err = check_identities(record_values, record_id_, &touched))
        return err;
      written = update;
      op.kind = write_kind::update;
      op.values = std::move(update);
      op.expected_version = existing->version;
      op.record_id = record_id_;
      put_overlay(overlay_key(def.name(), record_id_),
                  overlay_entry{record_values, existing->version + 1});
    } else {
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
                            + show(record_id_)
                            + " was taken by another process");
      }
      if (*clash)
        return make_error(errc::conflict,
                          def.name() + ": a record with " + pk + " "
                            + show(record_id_) + " already exists");
      if (auto err = check_identities(values, record_id_, nullptr))
        return err;
      for (auto& kvp : cs.changes())
        written[kvp.key()] = kvp.value();
      record_values = values;
      op.kind = write_kind::insert;
      op.values = std::move(values);
      op.record_id = record_id_;
      op.generated_key = generated;
      put_overlay(key, overlay_entry{record_values, 1});
    }
  } else if (kind == action_kind::update || act_->is_soft()) {
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
    record_values = orig;
    for (auto& kvp : diff)
      record_values[kvp.key()] = kvp.value();
    std::set<std::string> touched;
    for (auto& kvp : diff)
      touched.emplace(kvp.key());
    if (auto err = check_identities(record_values, record_id_, &touched))
      return err;
    written = diff;
    // Foreign keys an update sets count as changed even when unchanged.
    for (auto& kvp : cs.changes())
      if (res_->foreign_keys.count(kvp.key()))
        written[kvp.key()] = kvp.value();
    op.kind = write_kind::update;
    op.values = std::move(diff);
    op.expected_version = original_->version;
    op.record_id = record_id_;
    put_overlay(overlay_key(def.name(), record_id_),
                overlay_entry{record_values, original_->version + 1});
  } else {
    record_values = *original_->values;
    op.kind = write_kind::remove;
    op.expected_version = original_->version;
    op.record_id = record_id_;
    put_overlay(overlay_key(def.name(), record_id_),
                overlay_entry{std::nullopt, original_->version + 1});
  }
  // The event (none while replaying).
  if (res_->tracks(act_->name()) && !ex_.replaying()) {
    auto& ev_cfg = *def.events();
    event_draft ev;
    ev.log = res_->log->name();
    ev.action = act_->name();
    ev.action_type = kind;
    ev.actors = actor_cols_;
    ev.data = data_;
    ev.metadata = call_.metadata;
    ev.version = ev_cfg.version_of(act_->name());
    auto& input = cs.input();
    for (auto& kvp : written) {
      auto key = kvp.key();
      if (!input.contains(key) || res_->foreign_keys.count(key))
        ev.changed_attributes[key] = kvp.value();
    }
    // occurred_at: the configured timestamp attribute, else the clock.
    auto read_ts = [&](const std::optional<std::string>& attr) {
      std::optional<timestamp> result;
      if (attr)
        if (auto ptr = record_values.if_contains(*attr);
            ptr && ptr->is_string())
          result = parse_timestamp(ptr->get_string());
      return result;
    };
    std::optional<timestamp> at;
    if (kind == action_kind::create && act_->upsert_identity()) {
      // An upsert reads the written row: its update timestamp when that is
      // strictly later than its create timestamp, else the create one.
      auto created = read_ts(ev_cfg.create_timestamp());
      auto updated = read_ts(ev_cfg.update_timestamp());
      at = updated && (!created || *updated > *created) ? updated : created;
    } else if (kind == action_kind::create) {
      at = read_ts(ev_cfg.create_timestamp());
    } else if (kind == action_kind::update) {
      // The timestamp this update set; a stale value it left alone does
      // not date the event.
      if (auto& attr = ev_cfg.update_timestamp())
        if (auto ptr = cs.changes().if_contains(*attr); ptr && ptr->is_string())
          at = parse_timestamp(ptr->get_string());
    }
    ev.occurred_at = at ? *at : env_.clock();
    op.event = std::move(ev);
  }
  unit_.ops.push_back(std::move(op));
  auto op_index = static_cast<std::ptrdiff_t>(unit_.ops.size()) - 1;
  own_op_ = op_index;
  if (depth_ == ex_.depth() && !st_.tops.empty() && st_.tops.back() < 0)
    st_.tops.back() = op_index;
  record rec;
  rec.resource = def.name();
  rec.id = record_id_;
  rec.values = std::move(record_values);
  // Relationship management (not in replay: the related records come back
  // from their own events), then the after_action hooks.
  if (!ex_.replaying())
    for (auto& m : act_->managed())
      if (auto err = manage(m, rec))
        return err;
  for (size_t i = 0; i < cs.registered_hooks().after_action.size(); ++i) {
    auto h = cs.registered_hooks().after_action[i];
    if (auto err = h.fn(ctx, cs, rec))
      return wrap_hook_error(std::move(err), where(), "after_action",
                             h.change);
  }
  return rec;
}

caf::error action_run::manage(const managed_relationship& m,
                              const record& parent) {
  auto& cs = *cs_;
  if (!cs.has_argument(m.argument))
    return {};
  auto& def = *res_->def;
  auto& rel = *def.find_relationship(m.relationship);
  auto& arg = cs.argument(m.argument);
  std::vector<const json::object*> items;
  if (arg.is_object()) {
    items.push_back(&arg.get_object());
  } else if (arg.is_array()) {
    for (auto& x : arg.get_array()) {
      if (!x.is_object())
        return invalid(where(), {{m.argument, "expected objects"}});
      items.push_back(&x.get_object());
    }
  } else {
    return invalid(where(), {{m.argument, "expected an object or an array "
                                          "of objects"}});
  }
  auto nested = [&](const std::string& resource, const std::string& action,
                    json::object input, json::value id,
                    json::object forced) -> caf::error {
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
  };
  auto& o = rel.options;
  auto& parent_key = parent.values.at(o.source_attribute);
  if (rel.kind == relationship_kind::has_one
      || rel.kind == relationship_kind::has_many) {
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
                           "no " + dest->def->name() + " with " + dest_pk
                             + " " + show(*id) + " belongs to this "
                             + def.name()}});
        kept.insert(json::serialize(*id));
        json::object input = item;
        input.erase(dest_pk);
        if (auto err = nested(dest->def->name(), m.options.update_action,
                              std::move(input), *id, {}))
          return err;
      } else {
        if (auto err = nested(dest->def->name(), m.options.create_action,
                              item, {}, fk))
          return err;
      }
    }
    if (m.options.mode == manage_mode::direct_control)
      for (auto& x : existing)
        if (!kept.count(json::serialize(x.at(dest_pk))))
          if (auto err = nested(dest->def->name(), m.options.destroy_action,
                                {}, x.at(dest_pk), {}))
            return err;
    return {};
  }
  // many_to_many: link destination records through the join resource.
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
                                        + dest_pk + " " + show(key)}});
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
    if (auto err = nested(join->def->name(), m.options.create_action, {}, {},
                          std::move(forced)))
      return err;
  }
  if (m.options.mode == manage_mode::append_and_remove)
    for (auto& x : *links)
      if (!wanted.count(json::serialize(x.at(o.destination_attribute_on_join))))
        if (auto err = nested(join->def->name(), m.options.destroy_action, {},
                              x.at(join_pk), {}))
          return err;
  return {};
}

caf::expected<record> action_run::operator()() {
  if (auto err = prepare())
    return err;
  auto& cs = *cs_;
  unit_context ctx{ex_, call_.actor, depth_};
  auto& hooks = cs.registered_hooks();
  for (size_t i = 0; i < hooks.before_transaction.size(); ++i) {
    auto h = hooks.before_transaction[i];
    if (auto err = h.fn(ctx, cs))
      return wrap_hook_error(std::move(err), where(), "before_transaction",
                             h.change);
  }
  next_fn body = [&](changeset& c) -> caf::expected<record> {
    return around(hooks.around_action, 0, c,
                  [this](changeset& inner) { return perform(inner); });
  };
  caf::expected<record> result{caf::error{}};
  if (hooks.around_transaction.empty()) {
    result = body(cs);
  } else if (depth_ == ex_.depth() && ex_.may_commit_inline()) {
    // The innermost step of a top-level around_transaction commits, so
    // the hook wraps the real transaction.
    std::optional<record> committed;
    next_fn commit_step = [&](changeset& c) -> caf::expected<record> {
      auto rec = body(c);
      if (!rec)
        return rec;
      auto receipt = ex_.env().commit(unit_);
      if (!receipt)
        return std::move(receipt.error());
      ex_.stamp(*rec, *receipt);
      ex_.mark_committed(std::move(*receipt));
      committed = *rec;
      return rec;
    };
    std::string failure;
    try {
      result = around(hooks.around_transaction, 0, cs, commit_step);
      if (!result)
        failure = render(result.error());
    } catch (const std::exception& e) {
      if (!committed)
        throw;
      failure = std::string{"threw: "} + e.what();
    } catch (...) {
      if (!committed)
        throw;
      failure = "threw an unknown exception";
    }
    if (committed && !failure.empty()) {
      result = make_error(errc::post_commit_failure,
                          where() + ": committed, but an around_transaction "
                                    "hook then failed: "
                            + failure);
    }
    if (committed && !hooks.after_transaction.empty()) {
      // The commit stands: after_transaction hooks see the record.
      push_deferred(*committed);
      return result;
    }
  } else {
    // Nested actions share the parent's transaction.
    result = around(hooks.around_transaction, 0, cs, body);
  }
  if (!hooks.after_transaction.empty())
    push_deferred(result);
  return result;
}

void action_run::filter_replay_hooks() {
  std::vector<std::string> allowed;
  if (auto ev = res_->def->events()) {
    auto i = ev->allowed_changes().find(act_->name());
    if (i != ev->allowed_changes().end())
      allowed = i->second;
  }
  auto keep = [&](const auto& h) {
    return std::find(allowed.begin(), allowed.end(), h.change)
           != allowed.end();
  };
  auto filter = [&](auto& xs) {
    xs.erase(std::remove_if(xs.begin(), xs.end(),
                            [&](const auto& h) { return !keep(h); }),
             xs.end());
  };
  auto& hooks = cs_->registered_hooks();
  filter(hooks.before_action);
  filter(hooks.after_action);
  filter(hooks.around_action);
  filter(hooks.before_transaction);
  filter(hooks.after_transaction);
  filter(hooks.around_transaction);
}

void action_run::push_deferred(caf::expected<record> outcome) {
  deferred_hooks d;
  d.who = call_.actor;
  d.op = outcome ? own_op_ : -1;
  d.result = std::move(outcome);
  d.depth = depth_;
  d.cs = std::move(cs_);
  st_.deferred.push_back(std::move(d));
}

// -- execution ------------------------------------------------------------------

execution::execution(executor& ex, uint32_t depth)
  : ex_(ex), depth_(depth), impl_(std::make_unique<impl>()) {
  // nop
}

execution::~execution() {
  // nop
}

caf::expected<std::optional<stored_record>>
execution::lookup(const resource_info& res, const json::value& id) {
  auto key = overlay_key(res.def->name(), id);
  if (auto i = impl_->overlay.find(key); i != impl_->overlay.end()) {
    if (!i->second.values)
      return std::optional<stored_record>{};
    return std::optional<stored_record>{
      stored_record{*i->second.values, i->second.version}};
  }
  if (auto i = impl_->reads.find(key); i != impl_->reads.end())
    return i->second;
  auto found = ex_.db->get(res, id);
  if (found)
    impl_->reads.emplace(std::move(key), *found);
  return found;
}

caf::expected<std::vector<json::object>>
execution::lookup_by(const resource_info& res, std::string_view attribute,
                     const json::value& value) {
  auto rows = ex_.db->find_by(res, attribute, value, 100000);
  if (!rows)
    return std::move(rows.error());
  std::vector<json::object> result;
  std::set<std::string> seen;
  auto prefix = res.def->name() + '\x1f';
  auto& pk = res.def->primary_key();
  auto matches = [&](const json::object& x) {
    auto ptr = x.if_contains(attribute);
    return ptr && *ptr == value;
  };
  for (auto& row : *rows) {
    auto key = overlay_key(res.def->name(), row.values.at(pk));
    seen.insert(key);
    if (auto i = impl_->overlay.find(key); i != impl_->overlay.end()) {
      if (i->second.values && matches(*i->second.values))
        result.push_back(*i->second.values);
    } else {
      result.push_back(std::move(row.values));
    }
  }
  for (auto& [key, entry] : impl_->overlay)
    if (key.compare(0, prefix.size(), prefix) == 0 && !seen.count(key)
        && entry.values && matches(*entry.values))
      result.push_back(*entry.values);
  return result;
}

caf::expected<record> execution::run(const call& c) {
  impl_->tops.push_back(-1);
  auto result = run_nested(c, json::object{}, depth_);
  if (!result)
    impl_->tops.pop_back();
  return result;
}

caf::expected<record> execution::run_nested(const call& c,
                                            const json::object& forced,
                                            uint32_t depth) {
  return run_step(c, forced, depth, nullptr);
}

caf::expected<record> execution::run_replay(const call& c,
                                            const json::object& forced,
                                            const replay_spec& spec) {
  impl_->replay_env = make_replay_environment(spec.occurred_at, spec.seed);
  auto result = run_step(c, forced, depth_, &spec);
  impl_->replay_env.reset();
  return result;
}

const environment* execution::replay_environment() const noexcept {
  return impl_->replay_env ? &*impl_->replay_env : nullptr;
}

caf::expected<record> execution::run_step(const call& c,
                                          const json::object& forced,
                                          uint32_t depth,
                                          const replay_spec* spec) {
  auto point = checkpoint();
  action_run step{*this, *impl_, unit_, c, forced, depth, spec};
  caf::expected<record> result{caf::error{}};
  try {
    result = step();
  } catch (const std::exception& e) {
    result = thrown(c, e.what());
  } catch (...) {
    result = thrown(c, "an unknown exception");
  }
  if (!result && !committed())
    rollback(point, result.error());
  return result;
}

caf::error execution::thrown(const call& c, const std::string& what) const {
  auto where = c.resource + "." + c.action;
  if (committed())
    return make_error(errc::post_commit_failure,
                      where + ": committed, but a hook then threw: " + what);
  return make_error(errc::hook_failed,
                    where + ": a change, validation or hook threw: " + what);
}

execution::checkpoint_t execution::checkpoint() const noexcept {
  return {unit_.ops.size(), impl_->undo.size(), impl_->deferred.size()};
}

void execution::rollback(const checkpoint_t& point, const caf::error& err) {
  if (committed())
    return;
  unit_.ops.resize(std::min(unit_.ops.size(), point.ops));
  while (impl_->undo.size() > point.undo) {
    auto& [key, prev] = impl_->undo.back();
    if (prev)
      impl_->overlay[key] = std::move(*prev);
    else
      impl_->overlay.erase(key);
    impl_->undo.pop_back();
  }
  // Hooks of actions that were taken back never see a commit, but they
  // still learn the outcome: their action failed.
  for (auto i = point.deferred; i < impl_->deferred.size(); ++i) {
    impl_->deferred[i].op = -1;
    if (impl_->deferred[i].result)
      impl_->deferred[i].result = err;
  }
}

void execution::stamp(record& rec, const unit_receipt& receipt,
                      size_t which) const {
  if (which >= impl_->tops.size())
    return;
  auto i = impl_->tops[which];
  if (i >= 0 && static_cast<size_t>(i) < receipt.event_ids.size())
    rec.event_id = receipt.event_ids[i];
}

caf::error execution::finish(const caf::expected<unit_receipt>& outcome) {
  caf::error first;
  for (auto& d : impl_->deferred) {
    caf::expected<record> result = d.result;
    if (!outcome)
      result = outcome.error();
    else if (result && d.op >= 0
             && static_cast<size_t>(d.op) < outcome->event_ids.size())
      result->event_id = outcome->event_ids[d.op];
    post_commit_context ctx{ex_, d.who, d.depth};
    auto& hooks = d.cs->registered_hooks().after_transaction;
    for (size_t i = 0; i < hooks.size(); ++i) {
      auto h = hooks[i];
      caf::error err;
      try {
        err = h.fn(ctx, *d.cs, result);
      } catch (const std::exception& e) {
        err = make_error(errc::hook_failed, std::string{"threw: "} + e.what());
      } catch (...) {
        err = make_error(errc::hook_failed, "threw");
      }
      if (err && !first) {
        auto where = d.cs->resource().name() + "." + d.cs->action().name();
        first = make_error(errc::post_commit_failure,
                           where + ": after_transaction hook "
                             + quoted(h.change) + " failed"
                             + (outcome ? " (the action was committed)"
                                        : "")
                             + ": " + render(err));
      } else if (err) {
        SPDLOG_LOGGER_WARN(&detail::log(),
                           "after_transaction hook failed: hook={} error={}",
                           h.change, render(err));
      }
    }
  }
  impl_->deferred.clear();
  return first;
}

bool retryable(const caf::error& err, const model& m, const call& c) {
  // A unit built before a replay started reads stale state: run it again
  // (the replay gate then refuses it while the replay runs).
  if (is(err, errc::concurrent_modification)
      || is(err, errc::replay_in_progress))
    return true;
  if (!is(err, errc::conflict))
    return false;
  auto res = m.find(c.resource);
  auto act = res ? res->def->find_action(c.action) : nullptr;
  return act && act->upsert_identity().has_value();
}

caf::expected<record> execution::run_unit(executor& ex, const call& c,
                                          uint32_t depth) {
  auto attempts = ex.max_retries.value_or(ex.options->max_retries) + 1;
  // Set once the unit lost a generated integer key to another process:
  // the next attempts run with the write lock held, so that the key they
  // take is free when they commit (without it, a process could lose every
  // race to one that commits back to back).
  bool lock_next = false;
  for (uint32_t i = 0; i < attempts; ++i) {
    // The epoch before the gate: a replay starting in between refuses the
    // unit when it is written.
    uint64_t epoch = ex.gate ? ex.gate->epoch.load() : 0;
    if (ex.gate && ex.gate->active)
      return make_error(errc::replay_in_progress,
                        c.resource + "." + c.action
                          + ": a replay is in progress; retry when it is "
                            "done");
    bool locked = lock_next && ex.locked;
    // A locked attempt commits inside the locked section (also what an
    // around_transaction hook commits inline); afterwards, its hooks
    // commit the usual way again.
    std::optional<executor> locked_ex;
    if (locked) {
      locked_ex.emplace(ex);
      // Units that hooks run inside the locked section never ask for the
      // lock again: this thread holds it, and waiting for it would wait on
      // itself.
      locked_ex->locked = nullptr;
    }
    execution unit_ex{locked ? *locked_ex : ex, depth};
    unit_ex.pending().epoch = epoch;
    caf::expected<record> rec{caf::error{}};
    std::optional<caf::expected<unit_receipt>> submitted;
    auto attempt = [&](const commit_fn& commit) {
      locked_ex->commit = commit;
      rec = unit_ex.run(c);
      if (rec && !unit_ex.committed())
        submitted = commit(unit_ex.pending());
    };
    if (locked) {
      if (auto err = ex.locked(attempt))
        rec = std::move(err);
      locked_ex->commit = ex.commit;
    } else {
      rec = unit_ex.run(c);
    }
    if (unit_ex.lost_generated_key())
      lock_next = true;
    if (unit_ex.committed()) {
      auto err = unit_ex.finish(unit_ex.receipt());
      if (rec && err)
        return err;
      return rec;
    }
    if (!rec) {
      if (is(rec.error(), errc::concurrent_modification))
        continue;
      unit_ex.finish(rec.error());
      return rec;
    }
    auto receipt = submitted ? std::move(*submitted)
                             : ex.commit(unit_ex.pending());
    if (!receipt) {
      if (is(receipt.error(), errc::concurrent_modification))
        for (auto& op : unit_ex.pending().ops)
          if (op.generated_key)
            lock_next = true;
      if (retryable(receipt.error(), *ex.defs, c)
          && !is(receipt.error(), errc::replay_in_progress))
        continue;
      unit_ex.finish(receipt.error());
      return std::move(receipt.error());
    }
    unit_ex.stamp(*rec, *receipt);
    if (auto err = unit_ex.finish(*receipt))
      return err;
    return rec;
  }
  return make_error(errc::concurrent_modification,
                    c.resource + "." + c.action + ": gave up after "
                      + std::to_string(attempts)
                      + " attempts; the record kept changing concurrently");
}

} // namespace eventactors
