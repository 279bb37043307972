// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "replay/replayer.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include <boost/json/serialize.hpp>

#include "detail/log.hpp"
#include "eventactors/error.hpp"
#include "detail/text.hpp"
#include "engine/executor.hpp"
#include "replay/cut.hpp"
#include "storage/reader.hpp"
#include "base/uuid.hpp"

namespace eventactors {

namespace {

/// Whether an attribute of `def` names former names (`renamed_from`).
bool has_renames(const resource& def) {
  return std::any_of(def.attributes().begin(), def.attributes().end(),
                     [](const attribute& x) {
                       return !x.options.renamed_from.empty();
                     });
}

/// Moves the values stored under an attribute's former names to its name,
/// unless the object has that name already.
void rename_keys(const resource& def, json::object& xs) {
  for (auto& attr : def.attributes())
    for (auto& old : attr.options.renamed_from) {
      auto i = xs.find(old);
      if (i == xs.end())
        continue;
      if (!xs.contains(attr.name))
        xs[attr.name] = std::move(i->value());
      xs.erase(old);
    }
}

using detail::show;

/// A seed derived from an event id (an integer, or a UUID's text): the same
/// event always seeds the same ids.
uint64_t event_seed(const json::value& id) {
  uint64_t h = 0xcbf29ce484222325ULL; // FNV-1a
  auto feed = [&h](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ULL;
  };
  if (id.is_string()) {
    for (char c : id.get_string())
      feed(static_cast<unsigned char>(c));
  } else if (id.is_int64()) {
    auto v = static_cast<uint64_t>(id.get_int64());
    for (int i = 0; i < 8; ++i)
      feed(static_cast<unsigned char>(v >> (8 * i)));
  }
  return h;
}

/// The clear callback's view: deletes records inside the replay's
/// transaction.
class clear_records : public clear_context {
public:
  clear_records(const model& m, writer& w, const event_log& log)
    : model_(m), writer_(w), log_(log) {
    // nop
  }

  caf::error clear(std::string_view resource) override {
    auto res = model_.find(resource);
    if (!res)
      return make_error(errc::unknown_resource,
                        "clear_records_for_replay: no resource \""
                          + std::string{resource} + "\"");
    return writer_.clear(*res);
  }

  std::vector<std::string> tracked_resources() const override {
    return model_.tracked_by(log_.name());
  }

private:
  const model& model_;
  writer& writer_;
  const event_log& log_;
};

std::string override_label(const replay_override& ov) {
  std::string label = ov.resource + "." + ov.action + " v";
  for (size_t i = 0; i < ov.versions.size(); ++i) {
    if (i > 0)
      label += ',';
    label += std::to_string(ov.versions[i]);
  }
  return label;
}

bool kind_matches(action_kind event_type, const action& target) {
  return event_type == target.kind();
}

} // namespace

// -- the replay run -------------------------------------------------------------

struct replayer::impl {
  const model& m;
  const runtime_options& opts;
  writer& w;
  const event_log& log;
  /// Reads through the writer: sees the replay's own writes.
  std::unique_ptr<reader> rd;
  executor ex;
  replay_summary summary;

  impl(std::shared_ptr<const model> defs, const runtime_options& o,
       writer& wr, const event_log& l)
    : m(*defs), opts(o), w(wr), log(l),
      rd(wr.transaction_reader()) {
    ex.defs = std::move(defs);
    ex.options = &opts;
    ex.db = rd.get();
    ex.replaying = true;
    // Actions that allowed after_transaction hooks run become part of the
    // replay's transaction.
    ex.commit = [this](unit& u) { return w.apply(u); };
  }

  caf::error fail(const event& ev, const std::string& target,
                  const caf::error& cause) {
    auto msg = "event " + show(ev.id) + " (" + ev.resource + "." + ev.action
               + " v" + std::to_string(ev.version) + ", record "
               + show(ev.record_id) + ")";
    if (!target.empty() && target != ev.resource + "." + ev.action)
      msg += " routed to " + target;
    msg += ": " + render(cause);
    return make_error(errc::replay_failed, std::move(msg),
                      field_errors(cause));
  }

  /// Applies `ev`; may move its data and changed attributes out (the
  /// caller drops the event afterwards).
  caf::error apply(event& ev) {
    // The first override matching resource, action and version routes the
    // event; otherwise it goes to its own action.
    const replay_override* ov = nullptr;
    for (auto& x : log.overrides())
      if (x.resource == ev.resource && x.action == ev.action
          && std::find(x.versions.begin(), x.versions.end(), ev.version)
               != x.versions.end()) {
        ov = &x;
        break;
      }
    std::vector<replay_route> targets;
    if (ov) {
      targets = ov->route_to;
      ++summary.overrides_used[override_label(*ov)];
    } else {
      auto res = m.find(ev.resource);
      if (!res)
        return fail(ev, {},
                    make_error(errc::unknown_resource,
                               "resource " + ev.resource
                                 + " no longer exists and no replay "
                                   "override routes its events"));
      if (!res->def->find_action(ev.action))
        return fail(ev, {},
                    make_error(errc::unknown_action,
                               ev.resource + " has no action " + ev.action
                                 + " anymore and no replay override routes "
                                   "version "
                                 + std::to_string(ev.version)
                                 + " of it"));
      targets.push_back({ev.resource, ev.action});
    }
    for (size_t i = 0; i < targets.size(); ++i)
      if (auto err = apply_to(ev, targets[i], i + 1 == targets.size()))
        return err;
    return {};
  }

  /// With `last`, the event's payloads may be moved from: no other target
  /// needs them.
  caf::error apply_to(event& ev, const replay_route& route, bool last) {
    auto label = route.resource + "." + route.action;
    auto res = m.find(route.resource);
    auto act = res ? res->def->find_action(route.action) : nullptr;
    if (!act)
      return fail(ev, label,
                  make_error(errc::unknown_action, "no action " + label));
    if (!kind_matches(ev.action_type, *act))
      return fail(ev, label,
                  make_error(errc::replay_failed,
                             "a " + to_string(ev.action_type)
                               + " event cannot be applied to the "
                               + to_string(act->kind()) + " action "
                               + label));
    auto& def = *res->def;
    // Values of attributes renamed since the event was written count under
    // the new names; another target may need the names as stored.
    std::optional<event> copy;
    if (has_renames(def)) {
      if (!last)
        copy = ev;
      auto& target = copy ? *copy : ev;
      rename_keys(def, target.data);
      rename_keys(def, target.changed_attributes);
    }
    auto& src = copy ? *copy : ev;
    auto strategy = def.events() ? def.events()->strategy_of(act->name())
                                 : replay_strategy::force_change;
    // The key: from the changed attributes, else the record id.
    auto& pk_name = def.primary_key();
    json::value raw_key = ev.record_id;
    if (auto ptr = src.changed_attributes.if_contains(pk_name))
      raw_key = *ptr;
    json::value key;
    if (auto err = def.find_attribute(pk_name)->type.cast(raw_key, key))
      return fail(ev, label,
                  make_error(errc::invalid_input, "record id: " + *err));
    replay_spec spec;
    // With force_change the changed attributes are needed here only.
    if (last && strategy == replay_strategy::force_change)
      spec.changed = std::move(src.changed_attributes);
    else
      spec.changed = src.changed_attributes;
    spec.changed[pk_name] = key;
    spec.force = strategy == replay_strategy::force_change;
    spec.occurred_at = ev.occurred_at;
    spec.seed = event_seed(ev.id);
    spec.own_event = route.resource == ev.resource
                     && route.action == ev.action;
    // The input: what the target accepts or takes as arguments, from the
    // data (and, as_arguments, the changed attributes, which win).
    call c;
    c.resource = route.resource;
    c.action = route.action;
    if (act->kind() != action_kind::destroy) {
      auto take = [&](json::object& from, bool move) {
        for (auto& kvp : from)
          if (act->accepts(kvp.key()) || act->find_argument(kvp.key())) {
            if (move)
              c.input[kvp.key()] = std::move(kvp.value());
            else
              c.input[kvp.key()] = kvp.value();
          }
      };
      take(src.data, last);
      if (!spec.force)
        take(src.changed_attributes, false);
    }
    execution exe{ex};
    exe.may_commit_inline(false);
    json::object forced;
    auto existing = exe.lookup(*res, key);
    if (!existing)
      return fail(ev, label, existing.error());
    if (act->kind() == action_kind::create) {
      if (act->upsert_identity() && *existing) {
        // Live, the upsert kept the existing key whatever the input said.
        spec.upsert_update = true;
        c.record_id = key;
        c.input.erase(pk_name);
      } else {
        forced[pk_name] = key;
      }
    } else {
      if (!*existing) {
        SPDLOG_LOGGER_WARN(&detail::log(),
                           "replay: record {} not found when processing "
                           "{} event {}",
                           show(key), to_string(ev.action_type),
                           show(ev.id));
        summary.missing.push_back({ev.id, route.resource, route.action, key});
        return {};
      }
      c.record_id = key;
    }
    auto rec = exe.run_replay(c, forced, spec);
    if (!rec) {
      exe.finish(rec.error());
      return fail(ev, label, rec.error());
    }
    // No savepoint per event: a failed event fails the whole replay,
    // whose transaction rolls back.
    auto receipt = w.apply_unguarded(exe.pending());
    if (!receipt)
      return fail(ev, label, receipt.error());
    if (auto err = exe.finish(*receipt))
      return fail(ev, label, err);
    ++summary.applied[label];
    return {};
  }
};

replayer::replayer(std::shared_ptr<const model> m, const runtime_options& opts,
                   writer& w)
  : model_(std::move(m)), opts_(opts), writer_(w) {
  // nop
}

caf::error replayer::check(const replay_request& req) {
  auto log = model_->find_log(req.log);
  if (!log)
    return make_error(errc::invalid_input,
                      req.log.empty() ? std::string{"replay: no event log "
                                                    "is defined"}
                                      : "replay: no event log \"" + req.log
                                          + "\"");
  auto rd = writer_.transaction_reader();
  return check_cut("replay", *log, req, *rd, true);
}

caf::expected<replay_summary> replayer::run(const replay_request& req,
                                            const progress_fn& progress) {
  auto started = std::chrono::steady_clock::now();
  if (auto err = check(req))
    return err;
  auto& log = *model_->find_log(req.log);
  // The cut's event id normalized to the column's type.
  auto cut = cut_filter(log, req, chunk_size);
  if (!cut)
    return std::move(cut.error());
  if (writer_.in_transaction())
    return make_error(errc::storage_failure,
                      "replay: the writer has a transaction open");
  // Any failure from here on rolls back clear and re-apply alike.
  auto tx = write_transaction::begin(writer_);
  if (!tx)
    return std::move(tx.error());
  impl st{model_, opts_, writer_, log};
  // The total, for progress reports.
  auto total = st.rd->count_events(log, *cut);
  if (!total)
    return std::move(total.error());
  // Clear.
  {
    clear_records ctx{*model_, writer_, log};
    caf::error err;
    try {
      err = log.clear_callback()(ctx);
    } catch (const std::exception& e) {
      err = make_error(errc::hook_failed, e.what());
    }
    if (err)
      return make_error(errc::replay_failed,
                        "clear_records_for_replay of " + log.name()
                          + " failed: " + render(err));
  }
  // Stream the events in id order, one chunk at a time.
  uint64_t applied = 0;
  auto err = st.rd->stream_events(
    log, *cut, [&](std::vector<event>& chunk) -> caf::error {
      for (auto& ev : chunk) {
        if (auto err = st.apply(ev))
          return err;
        ++applied;
      }
      if (progress) {
        auto secs = std::chrono::duration<double>(
                      std::chrono::steady_clock::now() - started)
                      .count();
        progress({applied, *total, secs > 0 ? applied / secs : 0.0});
      }
      return {};
    });
  if (err)
    return err;
  if (auto err = tx->commit())
    return make_error(errc::replay_failed,
                      "replay of " + log.name()
                        + " could not commit: " + render(err));
  // Replay restored integer keys: generated ones continue above them (and
  // above keys of later events, after a replay to a cut).
  if (auto err = sync_key_counters(*model_, *st.rd))
    SPDLOG_LOGGER_WARN(&detail::log(), "replay: key counters: {}",
                       render(err));
  st.summary.events = applied;
  st.summary.duration_us
    = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started)
        .count();
  SPDLOG_LOGGER_INFO(&detail::log(),
                     "replay log={} events={} missing={} duration_us={}",
                     log.name(), applied, st.summary.missing.size(),
                     st.summary.duration_us);
  return std::move(st.summary);
}

} // namespace eventactors
