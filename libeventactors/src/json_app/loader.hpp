// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <exception>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "eventactors/app.hpp"
#include "eventactors/error.hpp"
#include "eventactors/json.hpp"
#include "eventactors/json_app.hpp"
#include "json_app/common.hpp"

namespace eventactors::json_app {

/// Builds an app from a JSON document, collecting every problem with its
/// JSON path. One loader per document; its parts live in loader.cpp (the
/// document, JSON access, types, mapping `app::validate` errors back to JSON
/// paths), event_logs.cpp, resources.cpp and actions.cpp.
class loader {
public:
  loader(const json::value& doc, const json_library& lib)
    : doc_(doc), lib_(lib) {
    // nop
  }

  caf::expected<app> run();

private:
  // -- errors (loader.cpp) ----------------------------------------------------

  void fail(const std::string& path, std::string what);

  caf::expected<app> result();

  static std::string join(const std::string& path, std::string_view key);

  // -- JSON access (loader.cpp) -----------------------------------------------

  const json::object* object(const json::value& x, const std::string& path);

  void keys(const json::object& o, const std::string& path,
            std::initializer_list<const char*> allowed);

  const json::array* array_field(const json::object& o,
                                 const std::string& path, std::string_view key,
                                 bool required);

  std::optional<std::string> string_field(const json::object& o,
                                          const std::string& path,
                                          const char* key, bool required);

  std::optional<bool> bool_field(const json::object& o,
                                 const std::string& path, const char* key);

  std::vector<std::string> strings(const json::object& o,
                                   const std::string& path,
                                   std::string_view key);

  /// A name or an array of names (e.g. `renamed_from`).
  std::vector<std::string> names_field(const json::object& o,
                                       const std::string& path,
                                       std::string_view key);

  template <class Enum>
  std::optional<Enum>
  enum_field(const json::object& o, const std::string& path, const char* key,
             std::initializer_list<std::pair<const char*, Enum>> values) {
    auto str = string_field(o, path, key, false);
    if (!str)
      return std::nullopt;
    for (auto& [name, value] : values)
      if (*str == name)
        return value;
    std::string list;
    for (auto& [name, value] : values)
      list += (list.empty() ? "" : ", ") + in_quotes(name);
    fail(join(path, key),
         "expected one of " + list + ", got " + in_quotes(*str));
    return std::nullopt;
  }

  // -- types (loader.cpp) -----------------------------------------------------

  std::optional<attribute_type> type_at(const json::value& x,
                                        const std::string& path);

  /// The required `type` of an attribute, argument or object field.
  std::optional<attribute_type> type_field(const json::object& o,
                                           const std::string& path);

  // -- event logs (event_logs.cpp) --------------------------------------------

  void event_log_at(const json::value& x, const std::string& path);

  void actor_columns_at(event_log& log, const json::object& o,
                        const std::string& path);

  void clear_records_at(event_log& log, const json::value& x,
                        const std::string& path);

  void replay_override_at(event_log& log, const json::value& x,
                          const std::string& path);

  void encryption_at(event_log& log, const json::value& x,
                     const std::string& path);

  // -- resources (resources.cpp) ----------------------------------------------

  void resource_at(const json::value& x, const std::string& path);

  void primary_key_at(resource& res, const json::value& x,
                      const std::string& path);

  void timestamps_at(resource& res, const json::value& x,
                     const std::string& path);

  void identities_at(resource& res, const json::object& o,
                     const std::string& path);

  void resource_changes_at(resource& res, const json::object& o,
                           const std::string& path);

  void attribute_at(resource& res, const json::value& x,
                    const std::string& path);

  void relationship_at(resource& res, const json::value& x,
                       const std::string& path);

  void events_at(resource& res, const json::value& x,
                 const std::string& path);

  // -- actions and steps (actions.cpp) ----------------------------------------

  void action_at(resource& res, const json::value& x,
                 const std::string& path);

  void argument_at(action& act, const json::value& x, const std::string& apath,
                   const std::string& path);

  void manage_at(action& act, const json::value& x, const std::string& apath,
                 const std::string& path);

  void step_at(action& act, const json::value& x, const std::string& path);

  void validation_step_at(action& act, const json::object& o,
                          const std::string& path);

  void hook_step_at(action& act, const json::object& o,
                    const std::string& path);

  /// Builds a change from a step object ({"change": name, ...}).
  std::optional<change> step_change(const json::object& step,
                                    const std::string& path);

  template <class Factory>
  auto call_factory(const Factory& factory, const json::object& spec,
                    const std::string& path)
    -> std::optional<typename decltype(factory(spec))::value_type> {
    try {
      auto made = factory(spec);
      if (!made) {
        fail(path, message(made.error()));
        return std::nullopt;
      }
      return std::move(*made);
    } catch (const std::exception& e) {
      fail(path, std::string{"the factory threw: "} + e.what());
      return std::nullopt;
    }
  }

  std::optional<condition> condition_at(const json::value& x,
                                        const std::string& path);

  // -- mapping definition errors to JSON paths (loader.cpp) -------------------

  void map(std::string cpp, std::string json_path);

  /// Returns the JSON value at a path like `resources[2].actions[0].accept`.
  const json::value* at(const std::string& path) const;

  /// Turns the definition paths of `app::validate` errors into JSON paths,
  /// and points at the array element a quoted name refers to.
  void translate(const caf::error& err);

  const json::value& doc_;
  const json_library& lib_;
  app app_;
  std::vector<field_error> errors_;
  std::vector<std::pair<std::string, std::string>> paths_;
  std::vector<std::pair<std::string, std::string>> pending_checks_;
};

} // namespace eventactors::json_app
