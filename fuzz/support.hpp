// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Shared by the fuzz targets: the fixed app they run against, scratch
// files, and the way a target reports a finding.

#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "eventactors/all.hpp"

namespace eventactors::fuzz {

/// The fixed, rich app of the cast and event-row targets (see support.cpp):
///
/// - event logs `events` (integer ids, UUID record ids, actor columns
///   `user_id` and `system_actor`, a replay override), `events_v7` (UUID v7
///   ids, integer record ids, integer actor column `operator_id`) and
///   `events_str` (integer ids, string record ids, string actor column
///   `who`);
/// - `Shop.Customer` (UUID v4 key): every attribute type, arrays of scalars,
///   of objects and of arrays, nested objects two levels deep, a map,
///   defaults, timestamps, two identities, arguments (sensitive, required,
///   defaulted), built-in and conditional changes and validations, an
///   upsert, a soft destroy, has_many `notes` managed from create and
///   update;
/// - `Shop.Note` (UUID v7 key, belongs_to Customer);
/// - `Shop.Order` (integer key) on `events_v7`;
/// - `Shop.Tag` (string key) on `events_str`.
app make_app();

/// The actions the cast target calls, by index (see fuzz_cast_input.cpp).
struct action_ref {
  const char* resource;
  const char* action;
  /// Update or destroy: needs a record to act on.
  bool needs_record;
};

extern const action_ref fuzz_actions[];
extern const size_t num_actions;

/// A valid create input for a base record of `resource`, unique per `n`.
json::object base_input(std::string_view resource, uint64_t n);

/// A fresh scratch directory, removed at exit. Honors TMPDIR.
const std::string& scratch_dir();

/// Returns a new file path inside `scratch_dir()` (not created).
std::string scratch_file(std::string_view stem);

/// Removes a database file with its -wal and -shm files.
void remove_db(const std::string& path);

/// Runtime options for fuzzing: a database at `path`, NORMAL sync (no
/// fsync per commit), a deterministic-enough environment, short timeouts.
runtime_options fuzz_options(std::string path);

/// Starts a runtime of `make_app()` on `path` or aborts.
std::unique_ptr<runtime> start_or_die(const std::string& path,
                                      runtime_options opts);

/// Reports a finding: prints `what` and aborts, so that libFuzzer saves the
/// input as a crash. Only for broken promises of the library, never for
/// errors it is allowed to return.
[[noreturn]] void finding(const std::string& what);

/// Deep equality of JSON values where doubles may differ by a few ulps
/// (Boost.JSON 1.81 does not promise exact double round trips through
/// text).
bool same_json(const json::value& x, const json::value& y);

/// Renders an error for messages.
std::string describe(const caf::error& err);

/// Whether `err` is the runtime saying it is overloaded or timed out: never
/// acceptable in a single-threaded fuzz run, so a finding.
bool is_timeout(const caf::error& err);

/// Reads an environment variable as a number (fallback when unset).
uint64_t env_number(const char* name, uint64_t fallback);

} // namespace eventactors::fuzz
