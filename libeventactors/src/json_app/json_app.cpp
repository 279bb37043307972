// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/json_app.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "eventactors/changes.hpp"
#include "eventactors/error.hpp"
#include "eventactors/resource.hpp"
#include "json_text.hpp"
#include "regex.hpp"

namespace eventactors {

namespace {

std::string in_quotes(std::string_view x) {
  std::string result = "\"";
  result += x;
  result += '"';
  return result;
}

std::string show(const json::value& x) {
  auto str = to_json_text(x);
  if (str.size() > 60) {
    str.resize(57);
    str += "...";
  }
  return str;
}

/// Fails a factory with a message (the loader adds the path).
template <class T>
caf::expected<T> bad(std::string msg) {
  return make_error(errc::invalid_definition, std::move(msg));
}

// -- reading step parameters ------------------------------------------------------

/// Checks that `spec` has only `allowed` keys.
std::optional<std::string> only_keys(const json::object& spec,
                                     std::initializer_list<const char*> keys) {
  for (auto& kvp : spec) {
    bool known = std::any_of(keys.begin(), keys.end(), [&](const char* k) {
      return kvp.key() == k;
    });
    if (!known) {
      std::string list;
      for (auto k : keys)
        list += (list.empty() ? "" : ", ") + std::string{k};
      return "unknown key " + in_quotes(kvp.key()) + " (expected: "
             + (list.empty() ? std::string{"none"} : list) + ")";
    }
  }
  return std::nullopt;
}

std::optional<std::string> string_param(const json::object& spec,
                                        const char* key, std::string& out) {
  auto ptr = spec.if_contains(key);
  if (!ptr)
    return std::string{key} + " is required";
  if (!ptr->is_string() || ptr->get_string().empty())
    return std::string{key} + ": expected a non-empty string";
  out = std::string{ptr->get_string()};
  return std::nullopt;
}

std::optional<std::string> number_param(const json::object& spec,
                                        const char* key, double& out,
                                        bool required) {
  auto ptr = spec.if_contains(key);
  if (!ptr) {
    if (required)
      return std::string{key} + " is required";
    return std::nullopt;
  }
  if (ptr->is_int64())
    out = static_cast<double>(ptr->get_int64());
  else if (ptr->is_uint64())
    out = static_cast<double>(ptr->get_uint64());
  else if (ptr->is_double())
    out = ptr->get_double();
  else
    return std::string{key} + ": expected a number, got " + show(*ptr);
  return std::nullopt;
}

std::optional<std::string> int_param(const json::object& spec,
                                     const char* key, int64_t& out,
                                     bool required) {
  auto ptr = spec.if_contains(key);
  if (!ptr) {
    if (required)
      return std::string{key} + " is required";
    return std::nullopt;
  }
  if (!ptr->is_int64())
    return std::string{key} + ": expected an integer, got " + show(*ptr);
  out = ptr->get_int64();
  return std::nullopt;
}

/// A value, or `{"generate": "now" | "uuid_v4" | "uuid_v7"}`.
std::optional<std::string> value_param(const json::value& x,
                                       std::optional<value_source>& out) {
  if (x.is_object() && x.get_object().size() == 1
      && x.get_object().contains("generate")) {
    auto& gen = x.get_object().at("generate");
    if (gen == "now")
      out = value_source::now();
    else if (gen == "uuid_v4")
      out = value_source::uuid_v4();
    else if (gen == "uuid_v7")
      out = value_source::uuid_v7();
    else
      return "generate: expected \"now\", \"uuid_v4\" or \"uuid_v7\", got "
             + show(gen);
    return std::nullopt;
  }
  out = value_source{x};
  return std::nullopt;
}

// -- templates ----------------------------------------------------------------------

/// What a hook's templates can refer to.
struct template_scope {
  const json::object* record = nullptr;
  const changeset* cs = nullptr;
  const std::optional<actor>* who = nullptr;
};

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

// -- built-in hooks ------------------------------------------------------------

/// Parses a hook's `on`, restricted to `allowed`.
std::optional<std::string> hook_point(const json::object& spec,
                                      std::string& on, const char* fallback,
                                      std::initializer_list<const char*> ok) {
  on = fallback;
  if (auto ptr = spec.if_contains("on")) {
    if (!ptr->is_string())
      return "on: expected a string";
    on = std::string{ptr->get_string()};
  }
  if (std::none_of(ok.begin(), ok.end(),
                   [&](const char* x) { return on == x; })) {
    std::string list;
    for (auto x : ok)
      list += (list.empty() ? "" : ", ") + std::string{x};
    return "on: expected one of " + list + ", got " + in_quotes(on);
  }
  return std::nullopt;
}

caf::expected<change> call_action_hook(const json::object& spec) {
  if (auto err = only_keys(spec, {"on", "resource", "action", "input",
                                  "record_id", "metadata", "actor"}))
    return bad<change>(*err);
  std::string on;
  if (auto err = hook_point(spec, on, "after_action",
                            {"before_action", "after_action",
                             "after_transaction"}))
    return bad<change>(*err);
  std::string resource;
  std::string action;
  if (auto err = string_param(spec, "resource", resource))
    return bad<change>(*err);
  if (auto err = string_param(spec, "action", action))
    return bad<change>(*err);
  json::value input = json::object{};
  if (auto ptr = spec.if_contains("input")) {
    if (!ptr->is_object())
      return bad<change>("input: expected an object");
    input = *ptr;
  }
  json::value record_id;
  if (auto ptr = spec.if_contains("record_id"))
    record_id = *ptr;
  json::object metadata;
  if (auto ptr = spec.if_contains("metadata")) {
    if (!ptr->is_object())
      return bad<change>("metadata: expected an object");
    metadata = ptr->get_object();
  }
  auto mode = actor_mode::inherit;
  if (auto ptr = spec.if_contains("actor")) {
    if (*ptr == "none")
      mode = actor_mode::as_given;
    else if (*ptr != "inherit")
      return bad<change>("actor: expected \"inherit\" or \"none\"");
  }
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
  change::function_type fn;
  if (on == "before_action") {
    fn = [run](changeset& cs) {
      cs.before_action([run](hook_context& ctx, changeset& cs) {
        return run(ctx, template_scope{nullptr, &cs, &ctx.actor()});
      });
    };
  } else if (on == "after_action") {
    fn = [run](changeset& cs) {
      cs.after_action([run](hook_context& ctx, const changeset& cs,
                            record& rec) {
        return run(ctx, template_scope{&rec.values, &cs, &ctx.actor()});
      });
    };
  } else {
    fn = [run](changeset& cs) {
      cs.after_transaction([run](hook_context& ctx, const changeset& cs,
                                 const caf::expected<record>& outcome)
                             -> caf::error {
        if (!outcome)
          return {}; // nothing committed: nothing to follow up
        return run(ctx, template_scope{&outcome->values, &cs, &ctx.actor()});
      });
    };
  }
  return change{"call_action", std::move(fn)};
}

std::mutex& outbox_mutex() {
  static std::mutex mtx;
  return mtx;
}

caf::expected<change> outbox_hook(const json::object& spec,
                                  const std::filesystem::path& base) {
  if (auto err = only_keys(spec, {"on", "file", "line"}))
    return bad<change>(*err);
  std::string on;
  if (auto err = hook_point(spec, on, "after_transaction",
                            {"after_action", "after_transaction"}))
    return bad<change>(*err);
  std::string file;
  std::string line;
  if (auto err = string_param(spec, "file", file))
    return bad<change>(*err);
  if (auto err = string_param(spec, "line", line))
    return bad<change>(*err);
  std::filesystem::path path{file};
  if (path.is_relative() && !base.empty())
    path = base / path;
  auto append = [path, line](const template_scope& scope) -> caf::error {
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
  change::function_type fn;
  if (on == "after_action") {
    fn = [append](changeset& cs) {
      cs.after_action([append](hook_context& ctx, const changeset& cs,
                               record& rec) {
        return append(template_scope{&rec.values, &cs, &ctx.actor()});
      });
    };
  } else {
    fn = [append](changeset& cs) {
      cs.after_transaction([append](hook_context& ctx, const changeset& cs,
                                    const caf::expected<record>& outcome)
                             -> caf::error {
        if (!outcome)
          return {};
        return append(template_scope{&outcome->values, &cs, &ctx.actor()});
      });
    };
  }
  return change{"outbox", std::move(fn)};
}

} // namespace

// -- json_library -------------------------------------------------------------------

json_library& json_library::add_change(std::string name, change_factory fn) {
  changes_[std::move(name)] = std::move(fn);
  return *this;
}

json_library& json_library::add_validation(std::string name,
                                           validation_factory fn) {
  validations_[std::move(name)] = std::move(fn);
  return *this;
}

json_library& json_library::add_hook(std::string name, hook_factory fn) {
  hooks_[std::move(name)] = std::move(fn);
  return *this;
}

json_library& json_library::add_key_provider(std::string name,
                                             key_provider_factory fn) {
  key_providers_[std::move(name)] = std::move(fn);
  return *this;
}

const json_library::key_provider_factory*
json_library::find_key_provider(const std::string& name) const {
  auto i = key_providers_.find(name);
  return i != key_providers_.end() ? &i->second : nullptr;
}

const json_library::change_factory*
json_library::find_change(const std::string& name) const {
  auto i = changes_.find(name);
  return i != changes_.end() ? &i->second : nullptr;
}

const json_library::validation_factory*
json_library::find_validation(const std::string& name) const {
  auto i = validations_.find(name);
  return i != validations_.end() ? &i->second : nullptr;
}

const json_library::hook_factory*
json_library::find_hook(const std::string& name) const {
  auto i = hooks_.find(name);
  return i != hooks_.end() ? &i->second : nullptr;
}

json_library json_library::builtins(std::filesystem::path base_dir) {
  json_library lib;
  // Changes.
  lib.add_change("set_attribute", [](const json::object& spec)
                                    -> caf::expected<change> {
    if (auto err = only_keys(spec, {"attribute", "value"}))
      return bad<change>(*err);
    std::string attr;
    if (auto err = string_param(spec, "attribute", attr))
      return bad<change>(*err);
    auto ptr = spec.if_contains("value");
    if (!ptr)
      return bad<change>("value is required (null clears the attribute)");
    std::optional<value_source> value;
    if (auto err = value_param(*ptr, value))
      return bad<change>("value: " + *err);
    return changes::set_attribute(attr, *value);
  });
  lib.add_change("set_from_argument", [](const json::object& spec)
                                        -> caf::expected<change> {
    if (auto err = only_keys(spec, {"attribute", "argument"}))
      return bad<change>(*err);
    std::string attr;
    std::string arg;
    if (auto err = string_param(spec, "attribute", attr))
      return bad<change>(*err);
    if (auto err = string_param(spec, "argument", arg))
      return bad<change>(*err);
    return changes::set_from_argument(attr, arg);
  });
  lib.add_change("slugify",
                 [](const json::object& spec) -> caf::expected<change> {
                   if (auto err = only_keys(spec, {"from", "to"}))
                     return bad<change>(*err);
                   std::string from;
                   std::string to;
                   if (auto err = string_param(spec, "from", from))
                     return bad<change>(*err);
                   if (auto err = string_param(spec, "to", to))
                     return bad<change>(*err);
                   return changes::slugify(from, to);
                 });
  lib.add_change("increment",
                 [](const json::object& spec) -> caf::expected<change> {
                   if (auto err = only_keys(spec, {"attribute", "by"}))
                     return bad<change>(*err);
                   std::string attr;
                   int64_t by = 1;
                   if (auto err = string_param(spec, "attribute", attr))
                     return bad<change>(*err);
                   if (auto err = int_param(spec, "by", by, false))
                     return bad<change>(*err);
                   return changes::increment(attr, by);
                 });
  // Validations.
  auto one_field = [](auto make) {
    return [make](const json::object& spec) -> caf::expected<validation> {
      if (auto err = only_keys(spec, {"field"}))
        return bad<validation>(*err);
      std::string field;
      if (auto err = string_param(spec, "field", field))
        return bad<validation>(*err);
      return make(field);
    };
  };
  lib.add_validation("present", one_field(validations::present));
  lib.add_validation("required", one_field(validations::present));
  lib.add_validation("absent", one_field(validations::absent));
  lib.add_validation("string_length", [](const json::object& spec)
                                        -> caf::expected<validation> {
    if (auto err = only_keys(spec, {"field", "min", "max"}))
      return bad<validation>(*err);
    std::string field;
    int64_t min = -1;
    int64_t max = -1;
    if (auto err = string_param(spec, "field", field))
      return bad<validation>(*err);
    if (auto err = int_param(spec, "min", min, false))
      return bad<validation>(*err);
    if (auto err = int_param(spec, "max", max, false))
      return bad<validation>(*err);
    if (min < 0 && max < 0)
      return bad<validation>("give min, max or both");
    if (min >= 0 && max >= 0 && min > max)
      return bad<validation>("min is larger than max");
    return validations::string_length(field, min, max);
  });
  lib.add_validation("match", [](const json::object& spec)
                                -> caf::expected<validation> {
    if (auto err = only_keys(spec, {"field", "pattern"}))
      return bad<validation>(*err);
    std::string field;
    std::string pattern;
    if (auto err = string_param(spec, "field", field))
      return bad<validation>(*err);
    if (auto err = string_param(spec, "pattern", pattern))
      return bad<validation>(*err);
    // RE2 syntax (linear-time matching): backreferences and lookaround,
    // which need backtracking, are refused here, at load time.
    if (regex probe{pattern}; !probe.ok())
      return bad<validation>("pattern: not a valid regular expression (RE2 "
                             "syntax): " + probe.error());
    return validations::match(field, pattern);
  });
  lib.add_validation("one_of", [](const json::object& spec)
                                 -> caf::expected<validation> {
    if (auto err = only_keys(spec, {"field", "values"}))
      return bad<validation>(*err);
    std::string field;
    if (auto err = string_param(spec, "field", field))
      return bad<validation>(*err);
    auto ptr = spec.if_contains("values");
    if (!ptr || !ptr->is_array() || ptr->get_array().empty())
      return bad<validation>("values: expected a non-empty array");
    std::vector<json::value> values(ptr->get_array().begin(),
                                    ptr->get_array().end());
    return validations::one_of(field, std::move(values));
  });
  lib.add_validation("numeric_range", [](const json::object& spec)
                                        -> caf::expected<validation> {
    if (auto err = only_keys(spec, {"field", "min", "max"}))
      return bad<validation>(*err);
    std::string field;
    double min = 0;
    double max = 0;
    if (auto err = string_param(spec, "field", field))
      return bad<validation>(*err);
    if (auto err = number_param(spec, "min", min, true))
      return bad<validation>(*err);
    if (auto err = number_param(spec, "max", max, true))
      return bad<validation>(*err);
    if (min > max)
      return bad<validation>("min is larger than max");
    return validations::numeric_range(field, min, max);
  });
  lib.add_validation("confirm", [](const json::object& spec)
                                  -> caf::expected<validation> {
    if (auto err = only_keys(spec, {"field", "confirmation"}))
      return bad<validation>(*err);
    std::string field;
    std::string confirmation;
    if (auto err = string_param(spec, "field", field))
      return bad<validation>(*err);
    if (auto err = string_param(spec, "confirmation", confirmation))
      return bad<validation>(*err);
    return validations::confirm(field, confirmation);
  });
  auto equals = [](bool negate) {
    return [negate](const json::object& spec) -> caf::expected<validation> {
      if (auto err = only_keys(spec, {"attribute", "value"}))
        return bad<validation>(*err);
      std::string attr;
      if (auto err = string_param(spec, "attribute", attr))
        return bad<validation>(*err);
      auto ptr = spec.if_contains("value");
      if (!ptr)
        return bad<validation>("value is required");
      return negate ? validations::attribute_does_not_equal(attr, *ptr)
                    : validations::attribute_equals(attr, *ptr);
    };
  };
  lib.add_validation("attribute_equals", equals(false));
  lib.add_validation("attribute_does_not_equal", equals(true));
  // Hooks.
  lib.add_hook("call_action", call_action_hook);
  lib.add_hook("outbox", [base_dir](const json::object& spec) {
    return outbox_hook(spec, base_dir);
  });
  // Key providers.
  using provider_ptr = std::shared_ptr<key_provider>;
  lib.add_key_provider("key_file", [base_dir](const json::object& spec)
                                     -> caf::expected<provider_ptr> {
    if (auto err = only_keys(spec, {"path"}))
      return bad<provider_ptr>(*err);
    std::string file;
    if (auto err = string_param(spec, "path", file))
      return bad<provider_ptr>(*err);
    std::filesystem::path path{file};
    if (path.is_relative() && !base_dir.empty())
      path = base_dir / path;
    return key_file_provider(path.string());
  });
  lib.add_key_provider("env", [](const json::object& spec)
                                -> caf::expected<provider_ptr> {
    if (auto err = only_keys(spec, {"variable"}))
      return bad<provider_ptr>(*err);
    std::string variable;
    if (auto err = string_param(spec, "variable", variable))
      return bad<provider_ptr>(*err);
    return env_key_provider(variable);
  });
  return lib;
}

// -- the loader ---------------------------------------------------------------------

namespace {

/// Builds an app from a JSON document, collecting every problem with its
/// JSON path.
class loader {
public:
  loader(const json::value& doc, const json_library& lib)
    : doc_(doc), lib_(lib) {
    // nop
  }

  caf::expected<app> run() {
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

private:
  // -- errors -----------------------------------------------------------------

  void fail(const std::string& path, std::string what) {
    errors_.push_back(field_error{path, std::move(what)});
  }

  caf::expected<app> result() {
    if (errors_.empty())
      return std::move(app_);
    auto& first = errors_.front();
    auto msg = (first.field.empty() ? std::string{"(root)"} : first.field)
               + ": " + first.message;
    if (errors_.size() > 1)
      msg += " (and " + std::to_string(errors_.size() - 1) + " more)";
    return make_error(errc::invalid_definition, std::move(msg), errors_);
  }

  static std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string{key} : path + "." + std::string{key};
  }

  // -- JSON access --------------------------------------------------------------

  const json::object* object(const json::value& x, const std::string& path) {
    if (!x.is_object()) {
      fail(path.empty() ? "(root)" : path, "expected an object, got " + show(x));
      return nullptr;
    }
    return &x.get_object();
  }

  void keys(const json::object& o, const std::string& path,
            std::initializer_list<const char*> allowed) {
    if (auto err = only_keys(o, allowed))
      fail(path.empty() ? "(root)" : path, *err);
  }

  const json::array* array_field(const json::object& o,
                                 const std::string& path, std::string_view key,
                                 bool required) {
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

  std::optional<std::string> string_field(const json::object& o,
                                          const std::string& path,
                                          const char* key, bool required) {
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

  std::optional<bool> bool_field(const json::object& o,
                                 const std::string& path, const char* key) {
    auto ptr = o.if_contains(key);
    if (!ptr)
      return std::nullopt;
    if (!ptr->is_bool()) {
      fail(join(path, key), "expected true or false, got " + show(*ptr));
      return std::nullopt;
    }
    return ptr->get_bool();
  }

  std::vector<std::string> strings(const json::object& o,
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

  /// A name or an array of names (e.g. `renamed_from`).
  std::vector<std::string> names_field(const json::object& o,
                                       const std::string& path,
                                       std::string_view key) {
    auto ptr = o.if_contains(key);
    if (ptr && ptr->is_string())
      return {std::string{ptr->get_string()}};
    return strings(o, path, key);
  }

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
    fail(join(path, key), "expected one of " + list + ", got " + in_quotes(*str));
    return std::nullopt;
  }

  // -- types --------------------------------------------------------------------

  std::optional<attribute_type> type_at(const json::value& x,
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

  /// The required `type` of an attribute, argument or object field.
  std::optional<attribute_type> type_field(const json::object& o,
                                           const std::string& path) {
    auto ptr = o.if_contains("type");
    if (!ptr) {
      fail(path + ".type", "is required");
      return std::nullopt;
    }
    return type_at(*ptr, path + ".type");
  }

  // -- event logs -----------------------------------------------------------------

  void event_log_at(const json::value& x, const std::string& path) {
    auto o = object(x, path);
    if (!o)
      return;
    keys(*o, path,
         {"name", "primary_key_type", "record_id_type",
          "persist_actor_primary_key", "clear_records_for_replay",
          "public_fields", "strict_actor_types", "replay_overrides",
          "encryption", "allow_plaintext_sensitive",
          "accept_plaintext_events", "dropped_actor_columns"});
    auto name = string_field(*o, path, "name", true);
    if (!name)
      return;
    auto& log = app_.add(event_log{*name});
    map("event_log " + *name, path);
    if (auto k = enum_field<event_id_kind>(
          *o, path, "primary_key_type",
          {{"integer", event_id_kind::integer},
           {"uuid_v7", event_id_kind::uuid_v7}}))
      log.primary_key_type(*k);
    if (auto k = enum_field<record_id_kind>(
          *o, path, "record_id_type",
          {{"uuid", record_id_kind::uuid},
           {"integer", record_id_kind::integer},
           {"string", record_id_kind::string}}))
      log.record_id_type(*k);
    if (auto cols = array_field(*o, path, "persist_actor_primary_key", false))
      for (size_t i = 0; i < cols->size(); ++i) {
        auto cpath = path + ".persist_actor_primary_key["
                     + std::to_string(i) + "]";
        auto c = object((*cols)[i], cpath);
        if (!c)
          continue;
        keys(*c, cpath,
             {"column", "actor_type", "type", "allow_nil", "renamed_from"});
        auto column = string_field(*c, cpath, "column", true);
        auto type = string_field(*c, cpath, "actor_type", true);
        auto kind = enum_field<actor_key_kind>(
          *c, cpath, "type",
          {{"uuid", actor_key_kind::uuid},
           {"integer", actor_key_kind::integer},
           {"string", actor_key_kind::string}});
        auto nil = bool_field(*c, cpath, "allow_nil");
        auto former = names_field(*c, cpath, "renamed_from");
        if (column && type) {
          log.persist_actor_primary_key(
            *column, *type,
            {kind.value_or(actor_key_kind::uuid), nil.value_or(true),
             std::move(former)});
          map("event_log " + *name + ".persist_actor_primary_key " + *column,
              cpath);
        }
      }
    for (auto& dropped : strings(*o, path, "dropped_actor_columns"))
      log.drop_actor_column(dropped);
    map("event_log " + *name + ".dropped_actor_columns",
        path + ".dropped_actor_columns");
    if (auto clear = o->if_contains("clear_records_for_replay")) {
      auto cpath = path + ".clear_records_for_replay";
      if (*clear == "all_tracked") {
        // the default
      } else if (*clear == "none") {
        log.no_clear_records_for_replay();
      } else if (clear->is_object()) {
        auto& c = clear->get_object();
        keys(c, cpath, {"resources"});
        auto names = strings(c, cpath, "resources");
        log.clear_records_for_replay([names](clear_context& ctx) {
          for (auto& n : names)
            if (auto err = ctx.clear(n))
              return err;
          return caf::error{};
        });
        for (size_t i = 0; i < names.size(); ++i)
          pending_checks_.push_back(
            {cpath + ".resources[" + std::to_string(i) + "]", names[i]});
      } else {
        fail(cpath, "expected \"all_tracked\", \"none\" or {\"resources\": "
                    "[...]}, got "
                      + show(*clear));
      }
    }
    if (auto pf = o->if_contains("public_fields")) {
      if (*pf == "all")
        log.all_fields_public();
      else if (pf->is_array())
        log.public_fields(strings(*o, path, "public_fields"));
      else
        fail(path + ".public_fields",
             "expected \"all\" or an array of field names");
    }
    if (auto strict = bool_field(*o, path, "strict_actor_types"))
      log.strict_actor_types(*strict);
    if (auto allow = bool_field(*o, path, "allow_plaintext_sensitive"))
      log.allow_plaintext_sensitive(*allow);
    if (auto accept = bool_field(*o, path, "accept_plaintext_events"))
      log.accept_plaintext_events(*accept);
    if (auto enc = o->if_contains("encryption"))
      encryption_at(log, *enc, path + ".encryption");
    if (auto ovs = array_field(*o, path, "replay_overrides", false))
      for (size_t i = 0; i < ovs->size(); ++i) {
        auto opath = path + ".replay_overrides[" + std::to_string(i) + "]";
        auto ov = object((*ovs)[i], opath);
        if (!ov)
          continue;
        keys(*ov, opath, {"resource", "action", "versions", "route_to"});
        auto res = string_field(*ov, opath, "resource", true);
        auto act = string_field(*ov, opath, "action", true);
        std::vector<int32_t> versions;
        if (auto vs = array_field(*ov, opath, "versions", true))
          for (size_t k = 0; k < vs->size(); ++k) {
            auto& v = (*vs)[k];
            if (!v.is_int64() || v.get_int64() < 1
                || v.get_int64() > INT32_MAX)
              fail(opath + ".versions[" + std::to_string(k) + "]",
                   "expected a positive integer, got " + show(v));
            else
              versions.push_back(static_cast<int32_t>(v.get_int64()));
          }
        std::vector<replay_route> routes;
        if (auto rs = array_field(*ov, opath, "route_to", true))
          for (size_t k = 0; k < rs->size(); ++k) {
            auto rpath = opath + ".route_to[" + std::to_string(k) + "]";
            auto r = object((*rs)[k], rpath);
            if (!r)
              continue;
            keys(*r, rpath, {"resource", "action"});
            auto rres = string_field(*r, rpath, "resource", true);
            auto ract = string_field(*r, rpath, "action", true);
            if (rres && ract)
              routes.push_back({*rres, *ract});
          }
        if (res && act) {
          log.replay_override(*res, *act, versions, routes);
          map("event_log " + *name + ".replay_overrides["
                + std::to_string(i) + "] (" + *res + ", " + *act + ")",
              opath);
        }
      }
  }

  void encryption_at(event_log& log, const json::value& x,
                     const std::string& path) {
    auto o = object(x, path);
    if (!o)
      return;
    auto kind = string_field(*o, path, "provider", true);
    if (!kind)
      return;
    auto factory = lib_.find_key_provider(*kind);
    if (!factory) {
      fail(path + ".provider", "unknown key provider " + in_quotes(*kind));
      return;
    }
    auto spec = *o;
    spec.erase("provider");
    auto provider = (*factory)(spec);
    if (!provider)
      fail(path, message(provider.error()));
    else if (!*provider)
      fail(path, "key provider " + in_quotes(*kind) + " returned nothing");
    else
      log.encrypt_with(std::move(*provider));
  }

  // -- resources ------------------------------------------------------------------

  void resource_at(const json::value& x, const std::string& path) {
    auto o = object(x, path);
    if (!o)
      return;
    keys(*o, path,
         {"name", "table", "primary_key", "attributes", "timestamps",
          "identities", "relationships", "changes", "actions", "events",
          "dropped_attributes"});
    auto name = string_field(*o, path, "name", true);
    if (!name)
      return;
    auto& res = app_.add(resource{*name});
    map(*name, path);
    if (auto table = string_field(*o, path, "table", false))
      res.table(*table);
    if (auto pk = o->if_contains("primary_key")) {
      auto ppath = path + ".primary_key";
      if (auto p = object(*pk, ppath)) {
        keys(*p, ppath, {"name", "type", "writable"});
        auto pname = string_field(*p, ppath, "name", false);
        auto kind = enum_field<key_kind>(*p, ppath, "type",
                                         {{"uuid_v4", key_kind::uuid_v4},
                                          {"uuid_v7", key_kind::uuid_v7},
                                          {"integer", key_kind::integer},
                                          {"string", key_kind::string}});
        auto writable = bool_field(*p, ppath, "writable");
        res.primary_key(pname.value_or("id"), kind.value_or(key_kind::uuid_v4),
                        writable.value_or(true));
      }
    }
    if (auto attrs = array_field(*o, path, "attributes", false))
      for (size_t i = 0; i < attrs->size(); ++i)
        attribute_at(res, (*attrs)[i],
                     path + ".attributes[" + std::to_string(i) + "]");
    for (auto& dropped : strings(*o, path, "dropped_attributes"))
      res.drop_attribute(dropped);
    map(*name + ".dropped_attributes", path + ".dropped_attributes");
    if (auto ts = o->if_contains("timestamps")) {
      auto tpath = path + ".timestamps";
      if (*ts == true) {
        res.timestamps();
      } else if (ts->is_object()) {
        auto& t = ts->get_object();
        keys(t, tpath, {"created", "updated"});
        auto created = string_field(t, tpath, "created", false);
        auto updated = string_field(t, tpath, "updated", false);
        res.timestamps(created.value_or("created_at"),
                       updated.value_or("updated_at"));
      } else if (*ts != false) {
        fail(tpath, "expected true, false or {\"created\": name, "
                    "\"updated\": name}");
      }
    }
    if (auto ids = array_field(*o, path, "identities", false))
      for (size_t i = 0; i < ids->size(); ++i) {
        auto ipath = path + ".identities[" + std::to_string(i) + "]";
        auto id = object((*ids)[i], ipath);
        if (!id)
          continue;
        keys(*id, ipath, {"name", "attributes"});
        auto iname = string_field(*id, ipath, "name", true);
        auto attrs = strings(*id, ipath, "attributes");
        if (iname) {
          res.identity(*iname, attrs);
          map(*name + ".identities." + *iname, ipath);
        }
      }
    if (auto rels = array_field(*o, path, "relationships", false))
      for (size_t i = 0; i < rels->size(); ++i)
        relationship_at(res, (*rels)[i],
                        path + ".relationships[" + std::to_string(i) + "]");
    if (auto chs = array_field(*o, path, "changes", false))
      for (size_t i = 0; i < chs->size(); ++i) {
        auto cpath = path + ".changes[" + std::to_string(i) + "]";
        auto c = object((*chs)[i], cpath);
        if (!c)
          continue;
        std::vector<action_kind> on;
        auto kinds = strings(*c, cpath, "on");
        for (size_t k = 0; k < kinds.size(); ++k) {
          if (kinds[k] == "create")
            on.push_back(action_kind::create);
          else if (kinds[k] == "update")
            on.push_back(action_kind::update);
          else if (kinds[k] == "destroy")
            on.push_back(action_kind::destroy);
          else
            fail(cpath + ".on[" + std::to_string(k) + "]",
                 "expected \"create\", \"update\" or \"destroy\"");
        }
        if (!c->contains("on"))
          fail(cpath + ".on", "is required: the kinds of actions it runs in");
        if (!c->contains("change")) {
          fail(cpath, "a resource-level entry needs \"change\" (validations "
                      "and hooks belong to actions)");
          continue;
        }
        json::object rest = *c;
        rest.erase("on");
        if (auto ch = step_change(rest, cpath))
          res.change(std::move(*ch), on);
      }
    if (auto acts = array_field(*o, path, "actions", false))
      for (size_t i = 0; i < acts->size(); ++i)
        action_at(res, (*acts)[i],
                  path + ".actions[" + std::to_string(i) + "]");
    if (auto ev = o->if_contains("events"))
      events_at(res, *ev, path + ".events");
  }

  void attribute_at(resource& res, const json::value& x,
                    const std::string& path) {
    auto o = object(x, path);
    if (!o)
      return;
    keys(*o, path,
         {"name", "type", "allow_nil", "default", "update_default",
          "sensitive", "writable", "renamed_from"});
    auto name = string_field(*o, path, "name", true);
    auto type = type_field(*o, path);
    attribute_options opts;
    opts.renamed_from = names_field(*o, path, "renamed_from");
    if (auto nil = bool_field(*o, path, "allow_nil"))
      opts.allow_nil = *nil;
    if (auto s = bool_field(*o, path, "sensitive"))
      opts.sensitive = *s;
    if (auto w = bool_field(*o, path, "writable"))
      opts.writable = *w;
    if (auto d = o->if_contains("default"))
      if (auto err = value_param(*d, opts.default_value))
        fail(path + ".default", *err);
    if (auto d = o->if_contains("update_default"))
      if (auto err = value_param(*d, opts.update_default))
        fail(path + ".update_default", *err);
    if (name && type) {
      res.attribute(*name, *type, std::move(opts));
      map(res.name() + ".attributes." + *name, path);
    }
  }

  void relationship_at(resource& res, const json::value& x,
                       const std::string& path) {
    auto o = object(x, path);
    if (!o)
      return;
    keys(*o, path,
         {"name", "kind", "destination", "source_attribute",
          "destination_attribute", "through", "source_attribute_on_join",
          "destination_attribute_on_join", "allow_nil"});
    auto name = string_field(*o, path, "name", true);
    auto kind = enum_field<relationship_kind>(
      *o, path, "kind",
      {{"belongs_to", relationship_kind::belongs_to},
       {"has_one", relationship_kind::has_one},
       {"has_many", relationship_kind::has_many},
       {"many_to_many", relationship_kind::many_to_many}});
    if (!o->contains("kind"))
      fail(path + ".kind", "is required");
    auto dest = string_field(*o, path, "destination", true);
    relationship_options opts;
    opts.source_attribute
      = string_field(*o, path, "source_attribute", false).value_or("");
    opts.destination_attribute
      = string_field(*o, path, "destination_attribute", false).value_or("");
    opts.through = string_field(*o, path, "through", false).value_or("");
    opts.source_attribute_on_join
      = string_field(*o, path, "source_attribute_on_join", false)
          .value_or("");
    opts.destination_attribute_on_join
      = string_field(*o, path, "destination_attribute_on_join", false)
          .value_or("");
    if (auto nil = bool_field(*o, path, "allow_nil"))
      opts.allow_nil = *nil;
    if (!name || !kind || !dest)
      return;
    switch (*kind) {
      case relationship_kind::belongs_to:
        res.belongs_to(*name, *dest, opts);
        break;
      case relationship_kind::has_one:
        res.has_one(*name, *dest, opts);
        break;
      case relationship_kind::has_many:
        res.has_many(*name, *dest, opts);
        break;
      case relationship_kind::many_to_many:
        res.many_to_many(*name, *dest, opts);
        break;
    }
    map(res.name() + ".relationships." + *name, path);
  }

  /// Builds a change from a step object ({"change": name, ...}).
  std::optional<change> step_change(const json::object& step,
                                    const std::string& path) {
    auto kind = string_field(step, path, "change", true);
    if (!kind)
      return std::nullopt;
    auto factory = lib_.find_change(*kind);
    if (!factory) {
      fail(path + ".change", "unknown change " + in_quotes(*kind));
      return std::nullopt;
    }
    auto spec = step;
    auto custom_name = string_field(step, path, "name", false);
    std::optional<condition> where;
    if (auto w = step.if_contains("where"))
      where = condition_at(*w, path + ".where");
    for (auto k : {"change", "name", "where"})
      spec.erase(k);
    auto made = call_factory(*factory, spec, path);
    if (!made)
      return std::nullopt;
    auto result = std::move(*made);
    if (custom_name)
      result = result.renamed(*custom_name);
    if (where && *where)
      result = result.where(*where);
    return result;
  }

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
                                        const std::string& path) {
    auto o = object(x, path);
    if (!o)
      return std::nullopt;
    if (o->size() != 1) {
      fail(path, "expected exactly one condition, e.g. {\"input_present\": "
                 "\"key\"}");
      return std::nullopt;
    }
    auto& kvp = *o->begin();
    auto key = kvp.key();
    auto& val = kvp.value();
    auto name_of = [&]() -> std::optional<std::string> {
      if (!val.is_string()) {
        fail(join(path, key), "expected a name");
        return std::nullopt;
      }
      return std::string{val.get_string()};
    };
    if (key == "input_present") {
      if (auto n = name_of())
        return conditions::input_present(*n);
    } else if (key == "changing") {
      if (auto n = name_of())
        return conditions::changing(*n);
    } else if (key == "argument_present") {
      if (auto n = name_of())
        return conditions::argument_present(*n);
    } else if (key == "attribute_present") {
      if (auto n = name_of())
        return conditions::attribute_present(*n);
    } else if (key == "attribute_equals") {
      auto p = object(val, join(path, key));
      if (!p)
        return std::nullopt;
      keys(*p, join(path, key), {"attribute", "value"});
      auto attr = string_field(*p, join(path, key), "attribute", true);
      auto v = p->if_contains("value");
      if (!v)
        fail(join(path, key) + ".value", "is required");
      if (attr && v)
        return conditions::attribute_equals(*attr, *v);
    } else if (key == "not") {
      if (auto inner = condition_at(val, join(path, key)))
        return conditions::negate(*inner);
    } else if (key == "all" || key == "any") {
      if (!val.is_array()) {
        fail(join(path, key), "expected an array of conditions");
        return std::nullopt;
      }
      std::vector<condition> xs;
      auto& arr = val.get_array();
      for (size_t i = 0; i < arr.size(); ++i)
        if (auto c = condition_at(arr[i], join(path, key) + "["
                                            + std::to_string(i) + "]"))
          xs.push_back(*c);
      bool all = key == "all";
      return condition{[xs, all](const changeset& cs) {
        for (auto& c : xs)
          if (c(cs) != all)
            return !all;
        return all;
      }};
    } else {
      fail(path, "unknown condition " + in_quotes(key)
                   + " (input_present, changing, argument_present, "
                     "attribute_present, attribute_equals, not, all, any)");
    }
    return std::nullopt;
  }

  void action_at(resource& res, const json::value& x,
                 const std::string& path) {
    auto o = object(x, path);
    if (!o)
      return;
    keys(*o, path,
         {"name", "kind", "accept", "arguments", "steps", "upsert", "soft",
          "skip_unknown_inputs", "manage_relationships"});
    auto name = string_field(*o, path, "name", true);
    auto kind = enum_field<action_kind>(*o, path, "kind",
                                        {{"create", action_kind::create},
                                         {"update", action_kind::update},
                                         {"destroy", action_kind::destroy}});
    if (!o->contains("kind"))
      fail(path + ".kind", "is required");
    if (!name || !kind)
      return;
    auto& act = *kind == action_kind::create   ? res.create(*name)
                : *kind == action_kind::update ? res.update(*name)
                                               : res.destroy(*name);
    auto apath = res.name() + ".actions." + *name;
    map(apath, path);
    act.accept(strings(*o, path, "accept"));
    if (auto args = array_field(*o, path, "arguments", false))
      for (size_t i = 0; i < args->size(); ++i) {
        auto gpath = path + ".arguments[" + std::to_string(i) + "]";
        auto g = object((*args)[i], gpath);
        if (!g)
          continue;
        keys(*g, gpath, {"name", "type", "required", "default", "sensitive"});
        auto gname = string_field(*g, gpath, "name", true);
        auto type = type_field(*g, gpath);
        argument_options opts;
        if (auto r = bool_field(*g, gpath, "required"))
          opts.required = *r;
        if (auto s = bool_field(*g, gpath, "sensitive"))
          opts.sensitive = *s;
        if (auto d = g->if_contains("default"))
          if (auto err = value_param(*d, opts.default_value))
            fail(gpath + ".default", *err);
        if (gname && type) {
          act.argument(*gname, *type, std::move(opts));
          map(apath + ".arguments." + *gname, gpath);
        }
      }
    if (auto steps = array_field(*o, path, "steps", false))
      for (size_t i = 0; i < steps->size(); ++i)
        step_at(act, (*steps)[i], path + ".steps[" + std::to_string(i) + "]");
    if (auto ups = string_field(*o, path, "upsert", false))
      act.upsert(*ups);
    if (auto soft = bool_field(*o, path, "soft"))
      act.soft(*soft);
    if (auto skip = bool_field(*o, path, "skip_unknown_inputs"))
      act.skip_unknown_inputs(*skip);
    if (auto ms = array_field(*o, path, "manage_relationships", false))
      for (size_t i = 0; i < ms->size(); ++i) {
        auto mpath = path + ".manage_relationships[" + std::to_string(i)
                     + "]";
        auto m = object((*ms)[i], mpath);
        if (!m)
          continue;
        keys(*m, mpath,
             {"argument", "relationship", "mode", "create_action",
              "update_action", "destroy_action"});
        auto arg = string_field(*m, mpath, "argument", true);
        auto rel = string_field(*m, mpath, "relationship", true);
        manage_options opts;
        if (auto mode = enum_field<manage_mode>(
              *m, mpath, "mode",
              {{"create", manage_mode::create},
               {"direct_control", manage_mode::direct_control},
               {"append", manage_mode::append},
               {"append_and_remove", manage_mode::append_and_remove}}))
          opts.mode = *mode;
        if (auto a = string_field(*m, mpath, "create_action", false))
          opts.create_action = *a;
        if (auto a = string_field(*m, mpath, "update_action", false))
          opts.update_action = *a;
        if (auto a = string_field(*m, mpath, "destroy_action", false))
          opts.destroy_action = *a;
        if (arg && rel) {
          act.manage_relationship(*arg, *rel, opts);
          map(apath + ".manage_relationship " + *arg, mpath);
        }
      }
  }

  void step_at(action& act, const json::value& x, const std::string& path) {
    auto o = object(x, path);
    if (!o)
      return;
    auto kinds = int{o->contains("change")} + int{o->contains("validate")}
                 + int{o->contains("hook")};
    if (kinds != 1) {
      fail(path, "a step has exactly one of \"change\", \"validate\" or "
                 "\"hook\"");
      return;
    }
    if (o->contains("change")) {
      if (auto c = step_change(*o, path))
        act.change(std::move(*c));
      return;
    }
    if (o->contains("validate")) {
      auto kind = string_field(*o, path, "validate", true);
      if (!kind)
        return;
      auto factory = lib_.find_validation(*kind);
      if (!factory) {
        fail(path + ".validate", "unknown validation " + in_quotes(*kind));
        return;
      }
      auto spec = *o;
      auto custom_name = string_field(*o, path, "name", false);
      auto msg = string_field(*o, path, "message", false);
      std::optional<condition> where;
      if (auto w = o->if_contains("where"))
        where = condition_at(*w, path + ".where");
      for (auto k : {"validate", "name", "message", "where"})
        spec.erase(k);
      auto made = call_factory(*factory, spec, path);
      if (!made)
        return;
      auto v = std::move(*made);
      if (custom_name)
        v = validation{*custom_name, [inner = v](const changeset& cs) {
                         return inner.check(cs);
                       }};
      if (msg)
        v = v.with_message(*msg);
      if (where && *where)
        v = v.where(*where);
      act.validate(std::move(v));
      return;
    }
    auto kind = string_field(*o, path, "hook", true);
    if (!kind)
      return;
    auto factory = lib_.find_hook(*kind);
    if (!factory) {
      fail(path + ".hook", "unknown hook " + in_quotes(*kind));
      return;
    }
    // Hooks are named: allowed_change_modules refers to them.
    auto name = string_field(*o, path, "name", true);
    auto spec = *o;
    std::optional<condition> where;
    if (auto w = o->if_contains("where"))
      where = condition_at(*w, path + ".where");
    for (auto k : {"hook", "name", "where"})
      spec.erase(k);
    auto made = call_factory(*factory, spec, path);
    if (!made || !name)
      return;
    auto c = made->renamed(*name);
    if (where && *where)
      c = c.where(*where);
    act.change(std::move(c));
  }

  void events_at(resource& res, const json::value& x,
                 const std::string& path) {
    auto o = object(x, path);
    if (!o)
      return;
    keys(*o, path,
         {"event_log", "only_actions", "ignore_actions",
          "current_action_versions", "allowed_change_modules",
          "create_timestamp", "update_timestamp",
          "replay_non_input_attribute_changes"});
    auto log = string_field(*o, path, "event_log", true);
    if (!log)
      return;
    auto& ev = res.events(*log);
    map(res.name() + ".events", path);
    if (o->contains("only_actions"))
      ev.only_actions(strings(*o, path, "only_actions"));
    if (o->contains("ignore_actions"))
      ev.ignore_actions(strings(*o, path, "ignore_actions"));
    if (auto v = o->if_contains("current_action_versions")) {
      auto vpath = path + ".current_action_versions";
      if (auto vo = object(*v, vpath)) {
        std::map<std::string, int32_t> versions;
        for (auto& kvp : *vo) {
          auto& n = kvp.value();
          if (!n.is_int64() || n.get_int64() > INT32_MAX
              || n.get_int64() < INT32_MIN)
            fail(join(vpath, kvp.key()), "expected an integer, got "
                                           + show(n));
          else
            versions[std::string{kvp.key()}]
              = static_cast<int32_t>(n.get_int64());
        }
        ev.current_action_versions(versions);
      }
    }
    if (auto a = o->if_contains("allowed_change_modules")) {
      auto apath = path + ".allowed_change_modules";
      if (auto ao = object(*a, apath)) {
        std::map<std::string, std::vector<std::string>> allowed;
        for (auto& kvp : *ao)
          allowed[std::string{kvp.key()}] = strings(*ao, apath, kvp.key());
        ev.allowed_change_modules(allowed);
      }
    }
    if (auto t = string_field(*o, path, "create_timestamp", false))
      ev.create_timestamp(*t);
    if (auto t = string_field(*o, path, "update_timestamp", false))
      ev.update_timestamp(*t);
    if (auto s = o->if_contains("replay_non_input_attribute_changes")) {
      auto spath = path + ".replay_non_input_attribute_changes";
      if (auto so = object(*s, spath)) {
        std::map<std::string, replay_strategy> strategies;
        for (auto& kvp : *so) {
          if (kvp.value() == "force_change")
            strategies[std::string{kvp.key()}] = replay_strategy::force_change;
          else if (kvp.value() == "as_arguments")
            strategies[std::string{kvp.key()}] = replay_strategy::as_arguments;
          else
            fail(join(spath, kvp.key()),
                 "expected \"force_change\" or \"as_arguments\", got "
                   + show(kvp.value()));
        }
        ev.replay_non_input_attribute_changes(strategies);
      }
    }
  }

  // -- mapping definition errors to JSON paths ------------------------------------

  void map(std::string cpp, std::string json_path) {
    paths_.emplace_back(std::move(cpp), std::move(json_path));
  }

  /// Returns the JSON value at a path like `resources[2].actions[0].accept`.
  const json::value* at(const std::string& path) const {
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
  /// and points at the array element a quoted name refers to.
  void translate(const caf::error& err) {
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

  const json::value& doc_;
  const json_library& lib_;
  app app_;
  std::vector<field_error> errors_;
  std::vector<std::pair<std::string, std::string>> paths_;
  std::vector<std::pair<std::string, std::string>> pending_checks_;
};

} // namespace

caf::expected<app> load_app(const json::value& doc, const json_library& lib) {
  loader ld{doc, lib};
  return ld.run();
}

namespace {

/// "line:column" of byte `offset` in `text`.
std::string position(std::string_view text, size_t offset) {
  size_t line = 1;
  size_t col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

} // namespace

caf::expected<json::value> parse_json(std::string_view text,
                                      const std::string& what) {
  // Definitions are written by people: comments (// and /* */) and
  // trailing commas are allowed.
  json::parse_options opts;
  opts.allow_comments = true;
  opts.allow_trailing_commas = true;
  opts.max_depth = 64;
  // Numbers are read exactly (correctly rounded doubles), and a key given
  // twice in one object is refused: which one was meant?
  json::value result;
  if (auto failed = json_io::parse(text, opts, true, result)) {
    if (!failed->duplicate_key.empty())
      return make_error(errc::invalid_input,
                        what + ":" + position(text, failed->offset)
                          + ": duplicate key \"" + failed->duplicate_key
                          + "\"");
    return make_error(errc::invalid_input,
                      what + ":" + position(text, failed->offset)
                        + ": invalid JSON: " + failed->ec.message());
  }
  return result;
}

caf::expected<app> load_app_file(const std::string& path,
                                 const json_library& lib) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_error(errc::invalid_input,
                      "cannot read app definition " + path);
  // Read in bounded memory: a device or a runaway file (--app /dev/zero)
  // is refused at the limit instead of filling memory.
  constexpr std::size_t max_bytes = std::size_t{16} << 20;
  std::string text;
  char chunk[65536];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes)
      return make_error(errc::invalid_input,
                        "app definition " + path
                          + " is larger than 16 MiB");
  }
  if (in.bad())
    return make_error(errc::invalid_input,
                      "cannot read app definition " + path);
  auto doc = parse_json(text, path);
  if (!doc)
    return std::move(doc.error());
  auto result = load_app(*doc, lib);
  if (!result)
    return make_error(errc::invalid_definition,
                      path + ": " + message(result.error()),
                      field_errors(result.error()));
  return result;
}

caf::expected<app> load_app_file(const std::string& path) {
  auto base = std::filesystem::path{path}.parent_path();
  return load_app_file(path, json_library::builtins(base));
}

} // namespace eventactors
