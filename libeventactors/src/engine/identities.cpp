// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "engine/action_run.hpp"

#include <algorithm>
#include <cctype>

#include "detail/text.hpp"
#include "eventactors/error.hpp"

namespace eventactors {

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
        what += (what.empty() ? "" : ", ") + a + " "
                + detail::show(values.at(a), 80);
      return make_error(errc::conflict, def.name() + ": identity " + id.name
                                          + ": a record with " + what
                                          + " already exists");
    }
  }
  return {};
}

} // namespace eventactors
