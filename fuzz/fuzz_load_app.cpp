// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Fuzz target: JSON app definitions.
//
// The input is the text of an app definition (docs/json.md). It goes
// through `parse_json` (comments, trailing commas, duplicate keys, depth
// limit) and `load_app` with the built-in library (every change,
// validation and hook factory, conditions, types, the mapping of
// validation errors back to JSON paths). A definition that loads must
// validate, and a runtime is then started on it (on a fresh scratch file,
// on one actor system shared by the session): model building, schema
// creation from the definition's names and types, and a clean stop. Set
// EVENTACTORS_FUZZ_LOAD_START=0 to stop after loading, and
// EVENTACTORS_FUZZ_VERBOSE=1 to print every error. Encrypted logs find keys
// in the key file "keys/events" (relative paths resolve against the scratch
// directory) and in EVENTACTORS_KEYS, both written at start-up.
//
// Errors are the expected outcome for most inputs; findings are crashes,
// sanitizer reports, uncaught exceptions, leaks, timeouts, and a definition
// that `load_app` returns but `app::validate` refuses.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "support.hpp"

using namespace eventactors;
using namespace eventactors::fuzz;

namespace {

struct session {
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<json_library> lib;
  bool start = true;
  bool print_outcomes = false;
  /// EVENTACTORS_FUZZ_VERBOSE=1: print every error (to review seeds and
  /// reproducers by hand).
  bool verbose = false;
  std::map<std::string, uint64_t> outcomes;
  /// Distinct start failures (first line), to review by hand.
  std::set<std::string> start_failures;
};

session* self = nullptr;

void at_exit() {
  if (!self)
    return;
  if (self->print_outcomes) {
    std::fprintf(stderr, "fuzz_load_app outcomes:\n");
    for (auto& [what, n] : self->outcomes)
      std::fprintf(stderr, "  %-28s %llu\n", what.c_str(),
                   static_cast<unsigned long long>(n));
    std::fprintf(stderr, "distinct start failures of loaded apps:\n");
    for (auto& what : self->start_failures)
      std::fprintf(stderr, "  %s\n", what.c_str());
  }
  // The actor system is not destroyed: CAF 0.17 crashes when an actor
  // system is destroyed during exit (static destruction). `self` is never
  // deleted, so it stays reachable and LeakSanitizer does not report it.
}

std::string code_of(const caf::error& err) {
  if (err.category() == caf::atom("evact"))
    return to_string(static_cast<errc>(err.code()));
  return "other";
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  self = new session;
  self->start = env_number("EVENTACTORS_FUZZ_LOAD_START", 1) != 0;
  self->print_outcomes = env_number("EVENTACTORS_FUZZ_STATS", 0) != 0;
  self->verbose = env_number("EVENTACTORS_FUZZ_VERBOSE", 0) != 0;
  self->lib = std::make_unique<json_library>(
    json_library::builtins(scratch_dir()));
  // Keys for encrypted logs: the key file of the seeds
  // ({"provider": "key_file", "path": "keys/events"}, relative to the
  // scratch directory) and the default variable of the env provider.
  std::filesystem::create_directories(scratch_dir() + "/keys");
  std::ofstream{scratch_dir() + "/keys/events"}
    << "# fuzz keys\nk1 " << std::string(64, 'a') << "\nk2 "
    << std::string(64, '0') << "\n";
  // Key files others may read are refused.
  std::filesystem::permissions(scratch_dir() + "/keys/events",
                               std::filesystem::perms::owner_read
                                 | std::filesystem::perms::owner_write);
  ::setenv("EVENTACTORS_KEYS", ("k1:" + std::string(64, 'b')).c_str(), 0);
  if (self->start) {
    self->cfg = std::make_unique<caf::actor_system_config>();
    init(*self->cfg);
    self->cfg->set("scheduler.max-threads", size_t{2});
    self->cfg->set("logger.verbosity", caf::atom("quiet"));
    self->sys = std::make_unique<caf::actor_system>(*self->cfg);
  }
  std::atexit(at_exit);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto doc = parse_json(text, "app.json");
  if (!doc) {
    ++self->outcomes["parse: " + code_of(doc.error())];
    if (self->verbose)
      std::fprintf(stderr, "parse: %s\n", render(doc.error()).c_str());
    return 0;
  }
  auto loaded = load_app(*doc, *self->lib);
  if (!loaded) {
    ++self->outcomes["load: " + code_of(loaded.error())];
    if (self->verbose)
      std::fprintf(stderr, "load: %s\n", render(loaded.error()).c_str());
    // Every error names what was wrong.
    if (message(loaded.error()).empty())
      finding("load_app failed without a message");
    return 0;
  }
  ++self->outcomes["load: ok"];
  if (self->verbose)
    std::fprintf(stderr, "load: ok\n");
  if (auto err = loaded->validate())
    finding("load_app returned an app that app::validate refuses: "
            + render(err));
  if (!self->start)
    return 0;
  auto path = scratch_file("load");
  auto opts = fuzz_options(path);
  opts.cache_kib = 256;
  {
    auto rt = runtime::start(*self->sys, std::move(*loaded), opts);
    if (!rt) {
      ++self->outcomes["start: " + code_of(rt.error())];
      if (is_timeout(rt.error()))
        finding("runtime::start timed out: " + render(rt.error()));
      auto msg = render(rt.error());
      if (self->verbose)
        std::fprintf(stderr, "start: %s\n", msg.c_str());
      if (self->print_outcomes && self->start_failures.size() < 200)
        self->start_failures.insert(msg.substr(0, msg.find('\n')).substr(0, 240));
    } else {
      ++self->outcomes["start: ok"];
      if (self->verbose)
        std::fprintf(stderr, "start: ok\n");
      (*rt)->stop();
    }
  }
  remove_db(path);
  return 0;
}
