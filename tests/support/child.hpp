// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// A child process that runs in the background: started, read line by line,
// signalled and waited for, every wait bounded. The destructor kills a
// child that still runs (SIGKILL) and reaps it, so no test leaves one
// behind.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace eventactors::test {

class child_process {
public:
  /// Starts `argv` with stdout and stderr on pipes and stdin on /dev/null.
  explicit child_process(const std::vector<std::string>& argv);

  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Whether the child started.
  bool started() const noexcept {
    return pid_ > 0;
  }

  pid_t pid() const noexcept {
    return pid_;
  }

  /// The next line of its standard output (without the newline), or
  /// nothing when it closed stdout or `limit` passed first.
  std::optional<std::string> read_line(std::chrono::milliseconds limit);

  /// Sends `sig`.
  void signal(int sig);

  /// Waits for the child to exit, at most `limit`; its exit code, or -1
  /// when a signal ended it, or nothing when it still runs.
  std::optional<int> wait(std::chrono::milliseconds limit);

  /// The signal that ended the child (after `wait`), or 0.
  int term_signal() const noexcept {
    return signal_;
  }

  /// Everything it wrote to stderr so far (read when it exited).
  const std::string& err() const noexcept {
    return err_;
  }

private:
  void drain_err();

  pid_t pid_ = -1;
  int out_ = -1;
  int err_fd_ = -1;
  std::string buf_;
  std::string err_;
  bool exited_ = false;
  int signal_ = 0;
};

} // namespace eventactors::test
