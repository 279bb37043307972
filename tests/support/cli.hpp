// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// Running the `eventactors` tool from tests: its path, the shipped configs,
// one run with its output, and the lines of an output.

#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "support/process.hpp"

namespace eventactors::test {

/// The tool built with the tests.
inline const std::string cli_path = EVENTACTORS_CLI;

/// A file of the source tree's config/ folder.
inline std::string config_file(const std::string& name) {
  return std::string{EVENTACTORS_SOURCE_DIR} + "/config/" + name;
}

/// One run of the tool.
struct cli_result {
  std::string cmd;
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// The command line and what it printed, for failure messages.
inline std::string show(const cli_result& r) {
  std::ostringstream s;
  s << "$ " << r.cmd << "\nexit code: " << r.exit_code << "\n-- stdout:\n"
    << r.out << "-- stderr:\n"
    << r.err;
  return s.str();
}

/// Runs `eventactors args...` with `input` on stdin, in `cwd` if given;
/// bounded by `run_process`'s timeout. Requires that it ended by itself.
inline cli_result run_cli(const std::vector<std::string>& args,
                          const std::string& input = {},
                          const std::string& cwd = {}) {
  std::vector<std::string> argv{cli_path};
  argv.insert(argv.end(), args.begin(), args.end());
  cli_result r;
  r.cmd = "eventactors";
  for (auto& a : args)
    r.cmd += a.find_first_of(" \"{") == std::string::npos ? " " + a
                                                          : " '" + a + "'";
  process_options opts;
  opts.input = input;
  opts.cwd = cwd;
  auto p = run_process(argv, opts);
  r.exit_code = p.exit_code;
  r.out = std::move(p.out);
  r.err = std::move(p.err);
  INFO(show(r));
  REQUIRE_FALSE(p.timed_out);
  REQUIRE(p.signal == 0);
  return r;
}

/// The lines of a program's output, without their newlines.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line))
    result.push_back(line);
  return result;
}

} // namespace eventactors::test

// `r` is evaluated once: it may be a run of the tool.
#define REQUIRE_EXIT(r, code)                                                  \
  do {                                                                         \
    const eventactors::test::cli_result& cli_result_ = (r);                    \
    INFO(show(cli_result_));                                                   \
    REQUIRE(cli_result_.exit_code == (code));                                  \
  } while (false)
