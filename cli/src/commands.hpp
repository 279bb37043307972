// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// The subcommands, one function each, called by `cli::run` once the command
// line is parsed. Each returns the failure that ends the program, if any.
//
// commands_run.cpp     run, batch: running actions
// commands_read.cpp    get, list, events, history, stats: reading
// commands_replay.cpp  replay (and forks), verify: rebuilding from the log
// commands_demo.cpp    demo: the quickstart scenario on a new database
// commands_serve.cpp   serve: the database as a network node

#include <cstdint>
#include <optional>
#include <string>

#include "output.hpp"
#include "session.hpp"

namespace eventactors::cli {

// -- running actions ----------------------------------------------------------

struct run_args {
  std::string resource;
  std::string action;
  std::string input;
  std::string id;
  std::string actor;
  std::string metadata;
  std::optional<std::string> idempotency_key;
};

std::optional<failure> cmd_run(session& s, const common& c,
                               const run_args& a);

/// Sets `any_failed` when an action of the batch failed.
std::optional<failure> cmd_batch(session& s, const common& c,
                                 bool& any_failed);

// -- reading ------------------------------------------------------------------

/// A record named on the command line.
struct record_args {
  std::string resource;
  std::string id;
};

struct list_args {
  std::string resource;
  uint32_t limit = 1000;
  uint64_t offset = 0;
};

struct events_args {
  std::string resource;
  std::string record_id;
  std::string action;
  std::string actor;
  std::string from_id;
  std::string to_id;
  std::string since;
  std::string until;
  bool newest_first = false;
  uint32_t limit = 100;
};

std::optional<failure> cmd_get(session& s, const common& c,
                               const record_args& a);

std::optional<failure> cmd_list(session& s, const common& c,
                                const list_args& a);

std::optional<failure> cmd_events(session& s, const common& c,
                                  const events_args& a);

std::optional<failure> cmd_history(session& s, const common& c,
                                   const record_args& a);

std::optional<failure> cmd_stats(session& s, const common& c);

// -- rebuilding from the log --------------------------------------------------

struct replay_args {
  std::string last_id;
  std::string point;
  std::string into;
};

std::optional<failure> cmd_replay(session& s, const common& c,
                                  const replay_args& a);

/// Sets `differs` when the replayed records differ from the live ones.
std::optional<failure> cmd_verify(session& s, const common& c,
                                  uint32_t max_differences, bool& differs);

// -- serving ------------------------------------------------------------------

struct serve_args {
  std::string listen;
  std::string users;
  bool plaintext_anywhere = false;
};

/// Serves until SIGINT or SIGTERM, then stops gracefully.
std::optional<failure> cmd_serve(session& s, const common& c,
                                 const serve_args& a);

/// Reads a secret from the first line of standard input and prints its
/// hash for a users file.
std::optional<failure> cmd_hash_secret();

// -- the demo -----------------------------------------------------------------

/// Runs the quickstart scenario on the new database file `db` (a fresh
/// temp directory when empty).
std::optional<failure> cmd_demo(std::string db);

} // namespace eventactors::cli
