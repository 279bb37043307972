// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Rebuilding an app from its description (description.cpp writes it): the
// document, JSON access, types and defaults. The parts of the app are
// description_parts.cpp.

#include "model/description_reader.hpp"

#include "detail/text.hpp"
#include "eventactors/description.hpp"

namespace eventactors {

namespace detail {

namespace {

constexpr size_t max_depth = 64;
constexpr size_t max_values = 1'000'000;
constexpr size_t max_logs = 1024;
constexpr size_t max_resources = 4096;
/// Problems listed in the field errors; the others are only counted.
constexpr size_t max_errors = 100;

std::string shown(const json::value& x) {
  return show(x, 60);
}

/// Bounds a document before anything recurses into it: counts its values
/// and finds a value nested deeper than `max_depth`.
class size_check {
public:
  /// Returns the path of the first value nested too deep below `x` (at
  /// `path`, `depth` levels down), or nullopt. Stops counting past
  /// `max_values`.
  std::optional<std::string> deep(const json::value& x, const std::string& path,
                                  size_t depth) {
    if (++values_ > max_values)
      return std::nullopt;
    if (depth > max_depth)
      return path;
    if (auto o = x.if_object()) {
      for (auto& kvp : *o) {
        if (auto p = deep(kvp.value(), at_key(path, kvp.key()), depth + 1))
          return p;
        if (too_many())
          return std::nullopt;
      }
    } else if (auto a = x.if_array()) {
      for (size_t i = 0; i < a->size(); ++i) {
        if (auto p = deep((*a)[i], at_index(path, i), depth + 1))
          return p;
        if (too_many())
          return std::nullopt;
      }
    }
    return std::nullopt;
  }

  bool too_many() const noexcept {
    return values_ > max_values;
  }

private:
  size_t values_ = 0;
};

/// A default computed on the node: the described app never runs it.
value_source placeholder() {
  return value_source{
    value_source::generator{[](const environment&) { return json::value{}; }}};
}

class no_keys_provider : public key_provider {
public:
  caf::expected<std::string> current_key_id() override {
    return refuse();
  }

  caf::expected<encryption_key> key(std::string_view) override {
    return refuse();
  }

  std::string describe() const override {
    return "app description (no keys)";
  }

private:
  static caf::error refuse() {
    return make_error(errc::invalid_definition,
                      "the app was rebuilt from an app description: its "
                      "keys stay on the node");
  }
};

} // namespace

std::string at_key(const std::string& path, std::string_view key) {
  return path.empty() ? std::string{key} : path + "." + std::string{key};
}

std::string at_index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::shared_ptr<key_provider> no_keys() {
  return std::make_shared<no_keys_provider>();
}

// -- the document -------------------------------------------------------------

caf::expected<app> description_reader::run() {
  if (!check_document())
    return result();
  auto logs = array_field(doc_, "", "event_logs");
  auto resources = array_field(doc_, "", "resources");
  if (logs && logs->size() > max_logs)
    fail("event_logs", std::to_string(logs->size())
                         + " event logs: a description lists at most "
                         + std::to_string(max_logs));
  if (resources && resources->size() > max_resources)
    fail("resources", std::to_string(resources->size())
                        + " resources: a description lists at most "
                        + std::to_string(max_resources));
  if (!logs || !resources || !errors_.empty())
    return result();
  for (size_t i = 0; i < logs->size(); ++i)
    log_at((*logs)[i], at_index("event_logs", i));
  for (size_t i = 0; i < resources->size(); ++i)
    resource_at((*resources)[i], at_index("resources", i));
  if (errors_.empty())
    check_log_resources();
  // What the walk cannot see (names that refer to nothing, duplicates,
  // kinds that do not fit) the definition rules do.
  if (errors_.empty())
    translate(app_.validate());
  return result();
}

bool description_reader::check_document() {
  // The format first: a newer document may differ in every other way.
  auto fmt = doc_.if_contains("format");
  if (!fmt) {
    fail("format", "is required: this is not an app description");
    return false;
  }
  constexpr auto current = static_cast<uint64_t>(description_format);
  std::optional<uint64_t> version;
  if (fmt->is_int64() && fmt->get_int64() >= 0)
    version = static_cast<uint64_t>(fmt->get_int64());
  else if (fmt->is_uint64())
    version = fmt->get_uint64();
  if (version && *version > current) {
    fail("format", "version " + shown(*fmt)
                     + " is newer than this library reads ("
                     + std::to_string(description_format) + ")");
    return false;
  }
  if (!version || *version != current) {
    fail("format", "expected " + std::to_string(description_format) + ", got "
                     + shown(*fmt));
    return false;
  }
  size_check sizes;
  for (auto& kvp : doc_) {
    if (auto p = sizes.deep(kvp.value(), std::string{kvp.key()}, 2)) {
      fail(*p, "nested deeper than " + std::to_string(max_depth) + " levels");
      return false;
    }
    if (sizes.too_many()) {
      fail("", "more than " + std::to_string(max_values) + " values");
      return false;
    }
  }
  return true;
}

void description_reader::fail(const std::string& path, std::string what) {
  if (errors_.size() < max_errors)
    errors_.push_back(
      field_error{path.empty() ? "(root)" : path, std::move(what)});
  else
    ++more_;
}

caf::expected<app> description_reader::result() {
  if (errors_.empty()) {
    mark_from_description(app_);
    return std::move(app_);
  }
  auto more = errors_.size() - 1 + more_;
  auto msg = errors_.front().field + ": " + errors_.front().message;
  if (more > 0)
    msg += " (and " + std::to_string(more) + " more)";
  return make_error(errc::invalid_input, std::move(msg), std::move(errors_));
}

// -- JSON access --------------------------------------------------------------

const json::value* description_reader::need(const json::object& o,
                                            const std::string& path,
                                            std::string_view key) {
  auto ptr = o.if_contains(key);
  if (!ptr)
    fail(at_key(path, key), "is required");
  return ptr;
}

const json::object* description_reader::object_at(const json::value& x,
                                                  const std::string& path) {
  if (!x.is_object()) {
    fail(path, "expected an object, got " + shown(x));
    return nullptr;
  }
  return &x.get_object();
}

const json::array* description_reader::array_field(const json::object& o,
                                                   const std::string& path,
                                                   std::string_view key) {
  auto ptr = need(o, path, key);
  if (!ptr)
    return nullptr;
  if (!ptr->is_array()) {
    fail(at_key(path, key), "expected an array, got " + shown(*ptr));
    return nullptr;
  }
  return &ptr->get_array();
}

std::optional<std::string> description_reader::string_field(
  const json::object& o, const std::string& path, std::string_view key) {
  auto ptr = need(o, path, key);
  if (!ptr)
    return std::nullopt;
  if (!ptr->is_string()) {
    fail(at_key(path, key), "expected a string, got " + shown(*ptr));
    return std::nullopt;
  }
  return std::string{ptr->get_string()};
}

bool description_reader::nullable_string(const json::object& o,
                                         const std::string& path,
                                         std::string_view key,
                                         std::optional<std::string>& out) {
  auto ptr = need(o, path, key);
  if (!ptr)
    return false;
  if (ptr->is_null())
    return true;
  if (!ptr->is_string()) {
    fail(at_key(path, key), "expected a string or null, got " + shown(*ptr));
    return false;
  }
  out = std::string{ptr->get_string()};
  return true;
}

std::optional<bool> description_reader::bool_field(const json::object& o,
                                                   const std::string& path,
                                                   std::string_view key) {
  auto ptr = need(o, path, key);
  if (!ptr)
    return std::nullopt;
  if (!ptr->is_bool()) {
    fail(at_key(path, key), "expected true or false, got " + shown(*ptr));
    return std::nullopt;
  }
  return ptr->get_bool();
}

std::optional<std::vector<std::string>> description_reader::names_field(
  const json::object& o, const std::string& path, std::string_view key) {
  auto xs = array_field(o, path, key);
  if (!xs)
    return std::nullopt;
  std::vector<std::string> result;
  bool ok = true;
  for (size_t i = 0; i < xs->size(); ++i) {
    if (auto& x = (*xs)[i]; x.is_string()) {
      result.emplace_back(x.get_string());
    } else {
      fail(at_index(at_key(path, key), i),
           "expected a string, got " + shown(x));
      ok = false;
    }
  }
  if (!ok)
    return std::nullopt;
  return result;
}

void description_reader::bad_enum(const json::object& o,
                                  const std::string& path, std::string_view key,
                                  const std::string& list) {
  fail(at_key(path, key),
       "expected one of " + list + ", got " + shown(o.at(key)));
}

// -- types and defaults -------------------------------------------------------

std::optional<attribute_type> description_reader::type_at(
  const json::value& x, const std::string& path) {
  if (x.is_string()) {
    for (auto k : {type_kind::string, type_kind::ci_string, type_kind::integer,
                   type_kind::floating, type_kind::boolean, type_kind::uuid,
                   type_kind::utc_datetime, type_kind::date, type_kind::map})
      if (x.get_string() == to_string(k))
        return attribute_type{k};
    fail(path, "unknown type " + shown(x));
    return std::nullopt;
  }
  if (auto o = x.if_object(); o && o->size() == 1) {
    if (auto elem = o->if_contains("array")) {
      auto inner = type_at(*elem, path + ".array");
      if (!inner)
        return std::nullopt;
      return types::array(*inner);
    }
    if (auto fields = o->if_contains("object"))
      return object_type_at(*fields, path + ".object");
  }
  fail(path, "expected a type name, {\"array\": type} or {\"object\": "
             "[fields]}, got "
               + shown(x));
  return std::nullopt;
}

std::optional<attribute_type> description_reader::object_type_at(
  const json::value& x, const std::string& path) {
  if (!x.is_array()) {
    fail(path, "expected an array of fields, got " + shown(x));
    return std::nullopt;
  }
  std::vector<types::field> fields;
  bool ok = true;
  auto& arr = x.get_array();
  for (size_t i = 0; i < arr.size(); ++i) {
    auto fpath = at_index(path, i);
    auto f = object_at(arr[i], fpath);
    if (!f) {
      ok = false;
      continue;
    }
    auto name = string_field(*f, fpath, "name");
    auto t = need(*f, fpath, "type");
    auto type = t ? type_at(*t, fpath + ".type") : std::nullopt;
    auto nil = bool_field(*f, fpath, "allow_nil");
    if (name && type && nil)
      fields.push_back({std::move(*name), std::move(*type), *nil});
    else
      ok = false;
  }
  if (!ok)
    return std::nullopt;
  return types::object(std::move(fields));
}

bool description_reader::default_at(const json::object& o,
                                    const std::string& path,
                                    std::string_view key,
                                    std::optional<value_source>& out) {
  auto ptr = need(o, path, key);
  if (!ptr)
    return false;
  if (ptr->is_null())
    return true;
  if (auto d = ptr->if_object(); d && d->size() == 1) {
    if (auto v = d->if_contains("value")) {
      out = value_source{*v};
      return true;
    }
    if (*d == json::object{{"computed", true}}
        || *d == json::object{{"hidden", true}}) {
      out = placeholder();
      return true;
    }
  }
  fail(at_key(path, key), "expected null, {\"value\": value}, "
                          "{\"computed\": true} or {\"hidden\": true}, got "
                            + shown(*ptr));
  return false;
}

} // namespace detail

caf::expected<app> app_from_description(const json::object& doc) {
  detail::description_reader rd{doc};
  return rd.run();
}

} // namespace eventactors
