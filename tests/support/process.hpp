// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace eventactors::test {

/// How to run a child process.
struct process_options {
  /// Written to the child's stdin, which is then closed (EOF).
  std::string input;
  /// The child's working directory (empty: the caller's).
  std::string cwd;
  /// The child is killed (SIGKILL) when it runs longer than this.
  std::chrono::milliseconds timeout = std::chrono::seconds{60};
};

/// What a child process did.
struct process_result {
  /// The exit status, or -1 when the child was killed by a signal.
  int exit_code = -1;
  /// The signal that ended the child, or 0.
  int signal = 0;
  /// Whether the child ran out of time and was killed.
  bool timed_out = false;
  std::string out;
  std::string err;
};

/// Runs `argv[0]` (a path; no shell, no PATH lookup) with the arguments
/// `argv`, feeding `opts.input` to its stdin and capturing its stdout and
/// stderr separately. Throws `std::runtime_error` when the child cannot be
/// started.
process_result run_process(const std::vector<std::string>& argv,
                           const process_options& opts = {});

} // namespace eventactors::test
