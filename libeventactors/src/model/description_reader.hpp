// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "eventactors/app.hpp"
#include "eventactors/error.hpp"
#include "eventactors/json.hpp"

namespace eventactors::detail {

/// Rebuilds the app of one app description (`app_from_description`),
/// collecting every problem with its JSON path. The document comes from
/// another process: every value is checked before use, and nesting and
/// size are bounded before anything recurses into it. Its parts live in
/// description_reader.cpp (the document, JSON access, types, defaults) and
/// description_parts.cpp (event logs, resources, actions, and mapping
/// `app::validate` errors back to JSON paths).
class description_reader {
public:
  explicit description_reader(const json::object& doc) : doc_(doc) {
    // nop
  }

  caf::expected<app> run();

private:
  // -- errors (description_reader.cpp) ----------------------------------------

  void fail(const std::string& path, std::string what);

  caf::expected<app> result();

  /// Checks `format`, nesting and size; false when reading stops there.
  bool check_document();

  // -- JSON access (description_reader.cpp) -----------------------------------

  /// The value at `key`; null (and a problem) when missing.
  const json::value* need(const json::object& o, const std::string& path,
                          std::string_view key);

  const json::object* object_at(const json::value& x, const std::string& path);

  const json::array* array_field(const json::object& o, const std::string& path,
                                 std::string_view key);

  std::optional<std::string> string_field(const json::object& o,
                                          const std::string& path,
                                          std::string_view key);

  /// Reads a string or null into `out`; false on a problem.
  bool nullable_string(const json::object& o, const std::string& path,
                       std::string_view key, std::optional<std::string>& out);

  std::optional<bool> bool_field(const json::object& o, const std::string& path,
                                 std::string_view key);

  std::optional<std::vector<std::string>> names_field(const json::object& o,
                                                      const std::string& path,
                                                      std::string_view key);

  /// One of `values`, spelled as `to_string` spells it.
  template<class Enum>
  std::optional<Enum> enum_field(const json::object& o, const std::string& path,
                                 std::string_view key,
                                 std::initializer_list<Enum> values) {
    auto str = string_field(o, path, key);
    if (!str)
      return std::nullopt;
    std::string list;
    for (auto x : values) {
      if (*str == to_string(x))
        return x;
      list += (list.empty() ? "\"" : ", \"") + to_string(x) + "\"";
    }
    bad_enum(o, path, key, list);
    return std::nullopt;
  }

  void bad_enum(const json::object& o, const std::string& path,
                std::string_view key, const std::string& list);

  // -- types and defaults (description_reader.cpp) ----------------------------

  std::optional<attribute_type> type_at(const json::value& x,
                                        const std::string& path);

  std::optional<attribute_type> object_type_at(const json::value& x,
                                               const std::string& path);

  /// Reads the default at `key` into `out`; false on a problem.
  bool default_at(const json::object& o, const std::string& path,
                  std::string_view key, std::optional<value_source>& out);

  // -- event logs (description_parts.cpp) -------------------------------------

  void log_at(const json::value& x, const std::string& path);

  void actor_columns_at(event_log& log, const json::object& o,
                        const std::string& path);

  /// Checks that each log lists exactly the resources writing to it.
  void check_log_resources();

  // -- resources (description_parts.cpp) --------------------------------------

  void resource_at(const json::value& x, const std::string& path);

  bool primary_key_at(resource& res, const json::object& o,
                      const std::string& path);

  std::optional<attribute> attribute_at(const json::value& x,
                                        const std::string& path);

  void attributes_at(resource& res, const json::object& o,
                     const std::string& path);

  void identities_at(resource& res, const json::object& o,
                     const std::string& path);

  void relationship_at(resource& res, const json::value& x,
                       const std::string& path);

  // -- actions (description_parts.cpp) ----------------------------------------

  /// The actions and, when the resource writes to a log, its events
  /// section.
  void actions_at(resource& res, const json::object& o,
                  const std::string& path);

  void action_at(resource& res, const json::value& x, const std::string& path,
                 bool logged, std::vector<std::string>& untracked,
                 std::map<std::string, int32_t>& versions);

  void argument_at(action& act, const json::value& x, const std::string& apath,
                   const std::string& path);

  void manage_at(action& act, const json::value& x, const std::string& apath,
                 const std::string& path);

  // -- mapping definition errors to JSON paths (description_parts.cpp) -------

  void map(std::string definition_path, std::string json_path) {
    paths_.emplace_back(std::move(definition_path), std::move(json_path));
  }

  void translate(const caf::error& err);

  const json::object& doc_;
  app app_;
  std::vector<field_error> errors_;
  /// Problems beyond the ones listed.
  size_t more_ = 0;
  /// Definition paths (as `app::validate` names them) and their JSON paths.
  std::vector<std::pair<std::string, std::string>> paths_;
  /// Each log's `resources`, with its path.
  std::vector<std::pair<std::string, std::vector<std::string>>> log_resources_;
};

/// `path.key`, or `key` at the root.
std::string at_key(const std::string& path, std::string_view key);

/// `path[i]`.
std::string at_index(const std::string& path, size_t i);

/// The key provider of an encrypted log of a described app: the keys stay
/// on the node, so it refuses every request.
std::shared_ptr<key_provider> no_keys();

/// Sets `app::from_description`.
void mark_from_description(app& a);

} // namespace eventactors::detail
