// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "eventactors/app.hpp"
#include "eventactors/json_app.hpp"

/// The `eventactors` command-line tool, as a library: a C++ application
/// gets the same commands over its own resources by calling `cli::run` from
/// its `main` (like Django's manage.py):
///
/// ```cpp
/// int main(int argc, char** argv) {
///   return eventactors::cli::run(argc, argv, {.name = "shopctl",
///                                             .definitions = make_app()});
/// }
/// ```
namespace eventactors::cli {

/// What a program built on the command line provides.
struct options {
  /// The program name shown in help and errors.
  std::string name = "eventactors";
  /// The application's own definitions; with them, `--app` is optional.
  std::optional<app> definitions = std::nullopt;
  /// Builds the library for `--app` files (default: the built-ins). Called
  /// with the directory of the database, against which relative outbox
  /// files resolve. The built-in `key_file` provider is then replaced by
  /// one resolving against the definition file's directory (a provider of
  /// the program's own under that name is kept).
  std::function<json_library(const std::filesystem::path& base_dir)> library
    = nullptr;
};

/// Runs the command line `argv` and returns the process exit code: 0 on
/// success, 1 when an action, check or replay failed, 2 on bad usage (bad
/// options, an invalid app definition, malformed JSON arguments).
int run(int argc, char** argv, options opts = {});

} // namespace eventactors::cli
