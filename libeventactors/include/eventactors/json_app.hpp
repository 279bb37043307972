// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include <caf/expected.hpp>

#include "eventactors/app.hpp"
#include "eventactors/changeset.hpp"
#include "eventactors/json.hpp"

namespace eventactors {

/// The named changes, validations and hooks JSON app definitions can use.
///
/// A factory turns the step's JSON object (with every key but the step's
/// kind and name) into the C++ building block, or returns an explanation of
/// what is wrong with it (the loader prefixes the JSON path). Hooks are
/// changes that register a hook. C++ applications add their own next to the
/// built-ins:
///
/// ```cpp
/// auto lib = json_library::builtins();
/// lib.add_change("normalize_email", [](const json::object& spec)
///                  -> caf::expected<change> { ... });
/// auto definitions = load_app_file("app.json", lib);
/// ```
class json_library {
public:
  /// Builds a change from a step's parameters.
  using change_factory
    = std::function<caf::expected<change>(const json::object& spec)>;
  /// Builds a validation from a step's parameters.
  using validation_factory
    = std::function<caf::expected<validation>(const json::object& spec)>;
  /// Builds a hook (a change registering it) from a step's parameters.
  using hook_factory
    = std::function<caf::expected<change>(const json::object& spec)>;
  /// Builds the key provider of an encrypted event log from its
  /// `encryption` object.
  using key_provider_factory
    = std::function<caf::expected<std::shared_ptr<key_provider>>(
      const json::object& spec)>;

  /// The built-ins: changes `set_attribute`, `set_from_argument`,
  /// `slugify`, `increment`; validations `present` (alias `required`),
  /// `absent`, `string_length`, `match`, `one_of`, `numeric_range`,
  /// `confirm`, `attribute_equals`, `attribute_does_not_equal`; hooks
  /// `call_action` and `outbox`; key providers `key_file` (`"path"`) and
  /// `env` (`"variable"`). Relative outbox and key file paths are resolved
  /// against `base_dir` (empty: the working directory).
  static json_library builtins(std::filesystem::path base_dir = {});

  /// Adds (or replaces) the change `{"change": name, ...}` builds.
  json_library& add_change(std::string name, change_factory fn);

  /// Adds (or replaces) the validation `{"validate": name, ...}` builds.
  json_library& add_validation(std::string name, validation_factory fn);

  /// Adds (or replaces) the hook `{"hook": name, ...}` builds.
  json_library& add_hook(std::string name, hook_factory fn);

  /// Adds (or replaces) the key provider an event log's
  /// `"encryption": {"provider": name, ...}` builds.
  json_library& add_key_provider(std::string name, key_provider_factory fn);

  /// Returns the factory of change `name`, or null.
  const change_factory* find_change(const std::string& name) const;

  /// Returns the factory of validation `name`, or null.
  const validation_factory* find_validation(const std::string& name) const;

  /// Returns the factory of hook `name`, or null.
  const hook_factory* find_hook(const std::string& name) const;

  /// Returns the factory of key provider `name`, or null.
  const key_provider_factory*
  find_key_provider(const std::string& name) const;

private:
  std::map<std::string, change_factory> changes_;
  std::map<std::string, validation_factory> validations_;
  std::map<std::string, hook_factory> hooks_;
  std::map<std::string, key_provider_factory> key_providers_;
};

/// Builds an app from a JSON definition (see docs/json.md), then validates
/// it like `app::validate`. Errors are `errc::invalid_definition` and name
/// the JSON path at fault, e.g. `resources[2].actions[0].accept[1]: no
/// attribute "emial" on Accounts.User`; every problem found is listed in
/// the field errors.
caf::expected<app> load_app(const json::value& doc,
                            const json_library& lib
                            = json_library::builtins());

/// Reads and parses the JSON file at `path` (a syntax error names line and
/// column; a file larger than 16 MiB is refused), then `load_app`.
/// Relative outbox files resolve against the file's directory unless `lib`
/// says otherwise.
caf::expected<app> load_app_file(const std::string& path);

/// Like `load_app_file`, with a library of the application's own.
caf::expected<app> load_app_file(const std::string& path,
                                 const json_library& lib);

/// Parses JSON text, allowing `//` and `/* */` comments and trailing commas
/// (definitions are written by people); a syntax error is an
/// `errc::invalid_input` error naming `what`, the line and the column.
caf::expected<json::value> parse_json(std::string_view text,
                                      const std::string& what);

} // namespace eventactors
