// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "engine/executor.hpp"

#include <algorithm>
#include <exception>
#include <set>

#include <boost/json/serialize.hpp>

#include "detail/log.hpp"
#include "detail/text.hpp"
#include "engine/action_run.hpp"
#include "engine/hook_contexts.hpp"
#include "engine/replay_environment.hpp"
#include "engine/unit_state.hpp"
#include "eventactors/error.hpp"

namespace eventactors {

std::string overlay_key(std::string_view resource, const json::value& id) {
  std::string key{resource};
  key += '\x1f';
  key += json::serialize(id);
  return key;
}

json::value cast_key(const attribute& pk, const json::value& id,
                     std::optional<std::string>& err) {
  json::value out;
  err = pk.type.cast(id, out);
  return out;
}

// -- execution ---------------------------------------------------------------

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

std::optional<size_t> execution::stamp_op(size_t which) const {
  if (which >= impl_->tops.size() || impl_->tops[which] < 0)
    return std::nullopt;
  return static_cast<size_t>(impl_->tops[which]);
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
                             + detail::quoted(h.change) + " failed"
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

} // namespace eventactors
