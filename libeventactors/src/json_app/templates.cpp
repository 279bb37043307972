// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "json_app/templates.hpp"

#include <cctype>

namespace eventactors::json_app {

namespace {

/// Resolves `$record.x`, `$argument.x`, `$input.x`, `$actor.type`,
/// `$actor.id`; `$$` escapes a dollar sign.
json::value lookup(std::string_view ref, const template_scope& scope) {
  auto dot = ref.find('.');
  if (dot == std::string_view::npos)
    return nullptr;
  auto kind = ref.substr(0, dot);
  auto name = ref.substr(dot + 1);
  if (kind == "record") {
    if (scope.record)
      if (auto ptr = scope.record->if_contains(name))
        return *ptr;
    if (scope.cs)
      return scope.cs->attribute(name);
    return nullptr;
  }
  if (kind == "argument" && scope.cs)
    return scope.cs->argument(name);
  if (kind == "input" && scope.cs)
    if (auto ptr = scope.cs->input().if_contains(name))
      return *ptr;
  if (kind == "actor" && scope.who && *scope.who) {
    if (name == "type")
      return json::string{(*scope.who)->type};
    if (name == "id")
      return (*scope.who)->id;
  }
  return nullptr;
}

bool is_reference(std::string_view str) {
  for (auto prefix : {"$record.", "$argument.", "$input.", "$actor."})
    if (str.rfind(prefix, 0) == 0)
      return true;
  return false;
}
} // namespace

/// Replaces whole-string references in a JSON template (keeping types).
json::value render(const json::value& tpl, const template_scope& scope) {
  switch (tpl.kind()) {
    case json::kind::string: {
      auto& str = tpl.get_string();
      if (is_reference(str))
        return lookup(std::string_view{str}.substr(1), scope);
      if (str.starts_with("$$"))
        return json::string{std::string_view{str}.substr(1)};
      return tpl;
    }
    case json::kind::object: {
      json::object result;
      for (auto& kvp : tpl.get_object())
        result[kvp.key()] = render(kvp.value(), scope);
      return result;
    }
    case json::kind::array: {
      json::array result;
      for (auto& x : tpl.get_array())
        result.push_back(render(x, scope));
      return result;
    }
    default:
      return tpl;
  }
}

/// Interpolates references inside a text (values as text).
std::string interpolate(std::string_view text, const template_scope& scope) {
  std::string result;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '$') {
      result += '$';
      i += 2;
      continue;
    }
    if (text[i] == '$' && is_reference(text.substr(i))) {
      auto end = text.find('.', i) + 1;
      while (end < text.size()
             && (std::isalnum(static_cast<unsigned char>(text[end]))
                 || text[end] == '_'))
        ++end;
      auto val = lookup(text.substr(i + 1, end - i - 1), scope);
      if (val.is_string())
        result += val.get_string();
      else if (!val.is_null())
        result += to_json_text(val);
      i = end;
      continue;
    }
    result += text[i++];
  }
  return result;
}

} // namespace eventactors::json_app
