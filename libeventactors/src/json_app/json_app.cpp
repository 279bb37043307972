// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/json_app.hpp"

#include <fstream>

#include "eventactors/error.hpp"
#include "json_app/loader.hpp"
#include "base/json_text.hpp"

namespace eventactors {

// -- json_library ------------------------------------------------------------

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

// -- loading definitions -----------------------------------------------------

caf::expected<app> load_app(const json::value& doc, const json_library& lib) {
  json_app::loader ld{doc, lib};
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
