// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "model/model.hpp"

#include "eventactors/error.hpp"
#include "model/definitions.hpp"

namespace eventactors {

caf::expected<std::shared_ptr<model>> model::build(app definitions) {
  // Its changes, validations, hooks and keys stayed on the node that
  // described it: running it would write different events and records.
  if (definitions.from_description())
    return make_error(errc::invalid_definition,
                      "the app was rebuilt from an app description (no "
                      "changes, validations, hooks or keys): it serves "
                      "display and routing only and cannot run");
  auto result = std::make_shared<model>();
  result->app_ = std::move(definitions);
  if (auto err = detail::resolve_and_validate(result->app_))
    return err;
  auto& a = result->app_;
  for (auto& res : a.resources()) {
    auto info = std::make_unique<resource_info>();
    info->def = &res;
    if (auto ev = res.events())
      info->log = a.find_log(ev->event_log());
    result->resources_.emplace(res.name(), std::move(info));
  }
  // Foreign keys: belongs_to attributes of the resource itself, and the
  // attributes other resources' has_one / has_many / many_to_many point at.
  for (auto& res : a.resources()) {
    for (auto& rel : res.relationships()) {
      auto& o = rel.options;
      switch (rel.kind) {
        case relationship_kind::belongs_to:
          result->resources_[res.name()]->foreign_keys.insert(
            o.source_attribute);
          break;
        case relationship_kind::has_one:
        case relationship_kind::has_many:
          if (auto i = result->resources_.find(rel.destination);
              i != result->resources_.end())
            i->second->foreign_keys.insert(o.destination_attribute);
          break;
        case relationship_kind::many_to_many:
          if (auto i = result->resources_.find(o.through);
              i != result->resources_.end()) {
            i->second->foreign_keys.insert(o.source_attribute_on_join);
            i->second->foreign_keys.insert(o.destination_attribute_on_join);
          }
          break;
      }
    }
  }
  return result;
}

const resource_info* model::find(std::string_view name) const {
  auto i = resources_.find(name);
  return i != resources_.end() ? i->second.get() : nullptr;
}

const event_log* model::find_log(std::string_view name) const {
  if (name.empty())
    return app_.logs().empty() ? nullptr : &app_.logs().front();
  return app_.find_log(name);
}

std::vector<std::string> model::tracked_by(std::string_view log) const {
  std::vector<std::string> result;
  for (auto& res : app_.resources())
    if (auto ev = res.events(); ev && ev->event_log() == log)
      result.push_back(res.name());
  return result;
}

} // namespace eventactors
