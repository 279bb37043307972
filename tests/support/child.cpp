// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "support/child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

extern char** environ;

namespace eventactors::test {

using clock_type = std::chrono::steady_clock;

child_process::child_process(const std::vector<std::string>& argv) {
  int out[2];
  int err[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    return;
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ)
      == 0)
    pid_ = pid;
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  out_ = out[0];
  err_fd_ = err[0];
  ::fcntl(err_fd_, F_SETFL, O_NONBLOCK);
}

child_process::~child_process() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (out_ >= 0)
    ::close(out_);
  if (err_fd_ >= 0)
    ::close(err_fd_);
}

std::optional<std::string> child_process::read_line(
  std::chrono::milliseconds limit) {
  auto deadline = clock_type::now() + limit;
  for (;;) {
    auto nl = buf_.find('\n');
    if (nl != std::string::npos) {
      auto line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - clock_type::now());
    if (left.count() <= 0 || out_ < 0)
      return std::nullopt;
    pollfd p{out_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return std::nullopt;
    char chunk[4096];
    auto n = ::read(out_, chunk, sizeof(chunk));
    if (n <= 0)
      return std::nullopt;
    buf_.append(chunk, static_cast<size_t>(n));
  }
}

void child_process::signal(int sig) {
  if (pid_ > 0 && !exited_)
    ::kill(pid_, sig);
}

void child_process::drain_err() {
  char chunk[4096];
  for (;;) {
    auto n = ::read(err_fd_, chunk, sizeof(chunk));
    if (n <= 0)
      return;
    err_.append(chunk, static_cast<size_t>(n));
  }
}

std::optional<int> child_process::wait(std::chrono::milliseconds limit) {
  if (pid_ <= 0)
    return std::nullopt;
  auto deadline = clock_type::now() + limit;
  for (;;) {
    drain_err();
    int status = 0;
    auto r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      drain_err();
      if (WIFSIGNALED(status)) {
        signal_ = WTERMSIG(status);
        return -1;
      }
      return WEXITSTATUS(status);
    }
    if (clock_type::now() >= deadline)
      return std::nullopt;
    // Polls the child's exit; bounded by `limit`.
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

} // namespace eventactors::test
