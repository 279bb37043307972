// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "engine/hook_contexts.hpp"

#include "detail/text.hpp"
#include "engine/unit_state.hpp"
#include "eventactors/error.hpp"

namespace eventactors {

// -- unit_context ------------------------------------------------------------

caf::expected<record> unit_context::run(call c, actor_mode mode) {
  if (mode == actor_mode::inherit && !c.actor)
    c.actor = who_;
  // After an around_transaction hook's `next` committed the unit, an
  // action the hook runs can only be a unit of its own.
  if (ex_.committed())
    return execution::run_unit(ex_.env(), c, depth_ + 1);
  return ex_.run_nested(c, json::object{}, depth_ + 1);
}

caf::expected<record> unit_context::get(std::string_view resource,
                                        const json::value& id) {
  auto res = ex_.env().defs->find(resource);
  if (!res)
    return make_error(errc::unknown_resource,
                      "no resource " + detail::quoted(resource));
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
                        + res->def->primary_key() + " "
                        + detail::show(id, 80));
  return reader::to_record(*res, std::move(**found));
}

caf::expected<std::vector<record>>
unit_context::find(std::string_view resource, std::string_view attribute,
                   const json::value& value) {
  auto res = ex_.env().defs->find(resource);
  if (!res)
    return make_error(errc::unknown_resource,
                      "no resource " + detail::quoted(resource));
  auto rows = ex_.lookup_by(*res, attribute, value);
  if (!rows)
    return std::move(rows.error());
  std::vector<record> result;
  for (auto& row : *rows)
    result.push_back(reader::to_record(*res, stored_record{row, 0}));
  return result;
}

const environment& unit_context::env() const noexcept {
  if (auto renv = ex_.replay_environment())
    return *renv;
  return ex_.env().options->env;
}

// -- post_commit_context -----------------------------------------------------

caf::expected<record> post_commit_context::run(call c, actor_mode mode) {
  if (mode == actor_mode::inherit && !c.actor)
    c.actor = who_;
  return execution::run_unit(ex_, c, depth_ + 1);
}

caf::expected<record> post_commit_context::get(std::string_view resource,
                                               const json::value& id) {
  // After the commit: a fresh unit sees exactly the committed state.
  execution fresh{ex_, depth_};
  unit_context ctx{fresh, who_, depth_};
  return ctx.get(resource, id);
}

caf::expected<std::vector<record>>
post_commit_context::find(std::string_view resource,
                          std::string_view attribute,
                          const json::value& value) {
  execution fresh{ex_, depth_};
  unit_context ctx{fresh, who_, depth_};
  return ctx.find(resource, attribute, value);
}

} // namespace eventactors
