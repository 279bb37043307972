// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "json_app/loader.hpp"

namespace eventactors::json_app {

caf::expected<app> loader::run() {
  auto root = object(doc_, "");
  if (!root)
    return result();
  keys(*root, "", {"event_logs", "resources"});
  if (auto logs = array_field(*root, "", "event_logs", false))
    for (size_t i = 0; i < logs->size(); ++i)
      event_log_at((*logs)[i], "event_logs[" + std::to_string(i) + "]");
  if (auto res = array_field(*root, "", "resources", false))
    for (size_t i = 0; i < res->size(); ++i)
      resource_at((*res)[i], "resources[" + std::to_string(i) + "]");
  if (errors_.empty())
    translate(app_.validate());
  return result();
}

// -- errors ---------------------------------------------------------------

void loader::fail(const std::string& path, std::string what) {
  errors_.push_back(field_error{path, std::move(what)});
}

caf::expected<app> loader::result() {
  if (errors_.empty())
    return std::move(app_);
  auto& first = errors_.front();
  auto msg = (first.field.empty() ? std::string{"(root)"} : first.field)
             + ": " + first.message;
  if (errors_.size() > 1)
    msg += " (and " + std::to_string(errors_.size() - 1) + " more)";
  return make_error(errc::invalid_definition, std::move(msg), errors_);
}

std::string loader::join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string{key} : path + "." + std::string{key};
}

// -- JSON access ----------------------------------------------------------

const json::object* loader::object(const json::value& x,
                                   const std::string& path) {
  if (!x.is_object()) {
    fail(path.empty() ? "(root)" : path, "expected an object, got " + show(x));
    return nullptr;
  }
  return &x.get_object();
}

void loader::keys(const json::object& o, const std::string& path,
                  std::initializer_list<const char*> allowed) {
  if (auto err = only_keys(o, allowed))
    fail(path.empty() ? "(root)" : path, *err);
}

const json::array* loader::array_field(const json::object& o,
                                       const std::string& path,
                                       std::string_view key, bool required) {
  auto ptr = o.if_contains(key);
  if (!ptr) {
    if (required)
      fail(join(path, key), "is required");
    return nullptr;
  }
  if (!ptr->is_array()) {
    fail(join(path, key), "expected an array, got " + show(*ptr));
    return nullptr;
  }
  return &ptr->get_array();
}

std::optional<std::string> loader::string_field(const json::object& o,
                                                const std::string& path,
                                                const char* key,
                                                bool required) {
  auto ptr = o.if_contains(key);
  if (!ptr) {
    if (required)
      fail(join(path, key), "is required");
    return std::nullopt;
  }
  if (!ptr->is_string()) {
    fail(join(path, key), "expected a string, got " + show(*ptr));
    return std::nullopt;
  }
  return std::string{ptr->get_string()};
}

std::optional<bool> loader::bool_field(const json::object& o,
                                       const std::string& path,
                                       const char* key) {
  auto ptr = o.if_contains(key);
  if (!ptr)
    return std::nullopt;
  if (!ptr->is_bool()) {
    fail(join(path, key), "expected true or false, got " + show(*ptr));
    return std::nullopt;
  }
  return ptr->get_bool();
}

std::vector<std::string> loader::strings(const json::object& o,
                                         const std::string& path,
                                         std::string_view key) {
  std::vector<std::string> result;
  auto xs = array_field(o, path, key, false);
  if (!xs)
    return result;
  for (size_t i = 0; i < xs->size(); ++i) {
    auto& x = (*xs)[i];
    if (!x.is_string())
      fail(join(path, key) + "[" + std::to_string(i) + "]",
           "expected a string, got " + show(x));
    else
      result.emplace_back(x.get_string());
  }
  return result;
}

std::vector<std::string> loader::names_field(const json::object& o,
                                             const std::string& path,
                                             std::string_view key) {
  auto ptr = o.if_contains(key);
  if (ptr && ptr->is_string())
    return {std::string{ptr->get_string()}};
  return strings(o, path, key);
}

// -- types ----------------------------------------------------------------

std::optional<attribute_type> loader::type_at(const json::value& x,
                                              const std::string& path) {
  if (x.is_string()) {
    auto& name = x.get_string();
    static const std::pair<const char*, type_kind> kinds[] = {
      {"string", type_kind::string},
      {"ci_string", type_kind::ci_string},
      {"integer", type_kind::integer},
      {"float", type_kind::floating},
      {"boolean", type_kind::boolean},
      {"uuid", type_kind::uuid},
      {"utc_datetime", type_kind::utc_datetime},
      {"date", type_kind::date},
      {"map", type_kind::map},
    };
    for (auto& [n, k] : kinds)
      if (name == n)
        return attribute_type{k};
    fail(path, "unknown type " + in_quotes(name)
                 + " (string, ci_string, integer, float, boolean, uuid, "
                   "utc_datetime, date, map, {\"array\": type}, "
                   "{\"object\": [fields]})");
    return std::nullopt;
  }
  if (x.is_object() && x.get_object().size() == 1) {
    auto& o = x.get_object();
    if (auto elem = o.if_contains("array")) {
      auto inner = type_at(*elem, path + ".array");
      if (!inner)
        return std::nullopt;
      return types::array(*inner);
    }
    if (auto fields = o.if_contains("object")) {
      if (!fields->is_array()) {
        fail(path + ".object", "expected an array of fields");
        return std::nullopt;
      }
      std::vector<types::field> xs;
      auto& arr = fields->get_array();
      for (size_t i = 0; i < arr.size(); ++i) {
        auto fpath = path + ".object[" + std::to_string(i) + "]";
        auto f = object(arr[i], fpath);
        if (!f)
          continue;
        keys(*f, fpath, {"name", "type", "allow_nil"});
        auto name = string_field(*f, fpath, "name", true);
        auto t = type_field(*f, fpath);
        auto nil = bool_field(*f, fpath, "allow_nil");
        if (name && t)
          xs.push_back({*name, *t, nil.value_or(true)});
      }
      return types::object(std::move(xs));
    }
  }
  fail(path, "expected a type name, {\"array\": type} or {\"object\": "
             "[fields]}, got "
               + show(x));
  return std::nullopt;
}

std::optional<attribute_type> loader::type_field(const json::object& o,
                                                 const std::string& path) {
  auto ptr = o.if_contains("type");
  if (!ptr) {
    fail(path + ".type", "is required");
    return std::nullopt;
  }
  return type_at(*ptr, path + ".type");
}

// -- mapping definition errors to JSON paths ------------------------------

void loader::map(std::string cpp, std::string json_path) {
  paths_.emplace_back(std::move(cpp), std::move(json_path));
}

const json::value* loader::at(const std::string& path) const {
  const json::value* cur = &doc_;
  size_t i = 0;
  while (i < path.size() && cur) {
    if (path[i] == '.') {
      ++i;
      continue;
    }
    if (path[i] == '[') {
      auto end = path.find(']', i);
      if (end == std::string::npos || !cur->is_array())
        return nullptr;
      auto index = std::stoul(path.substr(i + 1, end - i - 1));
      auto& arr = cur->get_array();
      cur = index < arr.size() ? &arr[index] : nullptr;
      i = end + 1;
      continue;
    }
    auto end = path.find_first_of(".[", i);
    auto key = path.substr(i, end == std::string::npos ? std::string::npos
                                                       : end - i);
    if (!cur->is_object())
      return nullptr;
    cur = cur->get_object().if_contains(key);
    i = end == std::string::npos ? path.size() : end;
  }
  return cur;
}

/// Turns the definition paths of `app::validate` errors into JSON paths,

void loader::translate(const caf::error& err) {
  if (!err)
    return;
  auto list = field_errors(err);
  if (list.empty())
    list.push_back({"", message(err)});
  for (auto& fe : list) {
    std::string best_cpp;
    std::string best_json;
    for (auto& [cpp, js] : paths_) {
      if (cpp.size() <= best_cpp.size())
        continue;
      if (fe.field.compare(0, cpp.size(), cpp) == 0
          && (fe.field.size() == cpp.size() || fe.field[cpp.size()] == '.'
              || fe.field[cpp.size()] == ' ')) {
        best_cpp = cpp;
        best_json = js;
      }
    }
    auto path = fe.field;
    if (!best_cpp.empty())
      path = best_json + path.substr(best_cpp.size());
    // "events.only_actions" and the like are JSON keys already; an action
    // name after "current_action_versions." is a key too.
    if (auto arr = at(path); arr && arr->is_array()) {
      auto q1 = fe.message.find('"');
      auto q2 = q1 == std::string::npos ? q1 : fe.message.find('"', q1 + 1);
      if (q2 != std::string::npos) {
        auto name = fe.message.substr(q1 + 1, q2 - q1 - 1);
        auto& xs = arr->get_array();
        for (size_t i = 0; i < xs.size(); ++i)
          if (xs[i].is_string() && xs[i].get_string() == name) {
            path += "[" + std::to_string(i) + "]";
            break;
          }
      }
    }
    fail(path, fe.message);
  }
  for (auto& [path, name] : pending_checks_)
    if (!app_.find_resource(name))
      fail(path, "no resource " + in_quotes(name));
}

} // namespace eventactors::json_app
