// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "engine/action_run.hpp"

#include <algorithm>
#include <exception>

#include "detail/text.hpp"
#include "engine/hook_contexts.hpp"
#include "eventactors/error.hpp"

namespace eventactors {

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

caf::error wrap_hook_error(caf::error err, const std::string& where,
                           const char* kind, const std::string& change) {
  if (err.category() == caf::atom("evact"))
    return err;
  return make_error(errc::hook_failed, where + ": " + kind + " hook "
                                         + detail::quoted(change)
                                         + " failed: " + render(err));
}

// -- reads and writes of the unit --------------------------------------------

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

// -- the action and its transaction hooks ------------------------------------

caf::expected<record> action_run::operator()() {
  if (auto err = prepare())
    return err;
  auto& cs = *cs_;
  unit_context ctx{ex_, call_.actor, depth_};
  auto& hooks = cs.registered_hooks();
  if (auto err = run_before_transaction(ctx, cs))
    return err;
  next_fn body = [&](changeset& c) -> caf::expected<record> {
    return around(hooks.around_action, 0, c,
                  [this](changeset& inner) { return perform(inner); });
  };
  caf::expected<record> result{caf::error{}};
  if (hooks.around_transaction.empty()) {
    result = body(cs);
  } else if (depth_ == ex_.depth() && ex_.may_commit_inline()) {
    std::optional<record> committed;
    result = around_commit(cs, body, committed);
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

caf::error action_run::run_before_transaction(unit_context& ctx,
                                              changeset& cs) {
  auto& hooks = cs.registered_hooks();
  for (size_t i = 0; i < hooks.before_transaction.size(); ++i) {
    auto h = hooks.before_transaction[i];
    if (auto err = h.fn(ctx, cs))
      return wrap_hook_error(std::move(err), where(), "before_transaction",
                             h.change);
  }
  return {};
}

caf::expected<record>
action_run::around_commit(changeset& cs, const next_fn& body,
                          std::optional<record>& committed) {
  // The innermost step of a top-level around_transaction commits, so
  // the hook wraps the real transaction.
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
  caf::expected<record> result{caf::error{}};
  std::string failure;
  try {
    result = around(cs.registered_hooks().around_transaction, 0, cs,
                    commit_step);
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
  return result;
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
                        where() + ": around hook " + detail::quoted(hook.change)
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
                      where() + ": around hook " + detail::quoted(hook.change)
                        + " returned without calling next");
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

} // namespace eventactors
