// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "json_app/builtins.hpp"

#include <fstream>
#include <functional>
#include <mutex>

#include "eventactors/error.hpp"
#include "json_app/templates.hpp"

namespace eventactors::json_app {

namespace {

/// What a hook does once its templates can be resolved.
using hook_body
  = std::function<caf::error(hook_context& ctx, const template_scope& scope)>;

/// A change registering `body` at the hook point `on` (`before_action`,
/// `after_action` or `after_transaction`). After a failed transaction,
/// nothing was committed and nothing is followed up.
change::function_type at_hook_point(const std::string& on, hook_body body) {
  if (on == "before_action")
    return [body](changeset& cs) {
      cs.before_action([body](hook_context& ctx, changeset& cs) {
        return body(ctx, template_scope{nullptr, &cs, &ctx.actor()});
      });
    };
  if (on == "after_action")
    return [body](changeset& cs) {
      cs.after_action([body](hook_context& ctx, const changeset& cs,
                             record& rec) {
        return body(ctx, template_scope{&rec.values, &cs, &ctx.actor()});
      });
    };
  return [body](changeset& cs) {
    cs.after_transaction([body](hook_context& ctx, const changeset& cs,
                                const caf::expected<record>& outcome)
                           -> caf::error {
      if (!outcome)
        return {};
      return body(ctx, template_scope{&outcome->values, &cs, &ctx.actor()});
    });
  };
}

std::mutex& outbox_mutex() {
  static std::mutex mtx;
  return mtx;
}

} // namespace

caf::expected<change> make_call_action(const params& xs, const builtin_env&) {
  auto resource = xs.text("resource");
  auto action = xs.text("action");
  auto input = xs.value("input");
  auto record_id = xs.value("record_id");
  auto metadata = xs.value("metadata").get_object();
  auto mode = xs.text("actor") == "none" ? actor_mode::as_given
                                         : actor_mode::inherit;
  auto build = [=](const template_scope& scope) {
    call c;
    c.resource = resource;
    c.action = action;
    auto in = render(input, scope);
    if (in.is_object())
      c.input = std::move(in.get_object());
    c.record_id = render(record_id, scope);
    c.metadata = metadata;
    return c;
  };
  auto run = [build, mode](hook_context& ctx,
                           const template_scope& scope) -> caf::error {
    auto result = ctx.run(build(scope), mode);
    if (!result)
      return result.error();
    return {};
  };
  return change{"call_action", at_hook_point(xs.text("on"), std::move(run))};
}

caf::expected<change> make_outbox(const params& xs, const builtin_env& env) {
  std::filesystem::path path{xs.text("file")};
  if (path.is_relative() && !env.base_dir.empty())
    path = env.base_dir / path;
  auto append = [path, line = xs.text("line")](
                  hook_context&, const template_scope& scope) -> caf::error {
    auto text = interpolate(line, scope);
    std::lock_guard<std::mutex> guard{outbox_mutex()};
    std::ofstream out{path, std::ios::app};
    out << text << '\n';
    out.flush();
    if (!out)
      return make_error(errc::hook_failed,
                        "outbox: cannot append to " + path.string());
    return {};
  };
  return change{"outbox", at_hook_point(xs.text("on"), std::move(append))};
}

} // namespace eventactors::json_app
