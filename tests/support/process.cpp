// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace eventactors::test {

namespace {

[[noreturn]] void fail(const std::string& what, int err = errno) {
  throw std::runtime_error("run_process: " + what + ": "
                           + std::strerror(err));
}

/// Closes a file descriptor once.
struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    reset();
  }
  void reset() {
    if (fd >= 0)
      ::close(fd);
    fd = -1;
  }
};

/// A descriptor that becomes readable when the child exits, or -1 when the
/// kernel has no pidfd_open.
int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  auto fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd >= 0)
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
#else
  (void) pid;
  return -1;
#endif
}

} // namespace

process_result run_process(const std::vector<std::string>& argv,
                           const process_options& opts) {
  if (argv.empty())
    throw std::runtime_error("run_process: no program");
  // stdin is one end of a socket pair, so that writing to a child that
  // exited early gives EPIPE (MSG_NOSIGNAL) instead of SIGPIPE.
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    fail("socketpair");
  fd_guard in_parent{sv[0]};
  fd_guard in_child{sv[1]};
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    fail("pipe2");
  fd_guard out_parent{out[0]};
  fd_guard out_child{out[1]};
  int err[2];
  if (::pipe2(err, O_CLOEXEC) != 0)
    fail("pipe2");
  fd_guard err_parent{err[0]};
  fd_guard err_child{err[1]};

  posix_spawn_file_actions_t actions;
  if (int rc = ::posix_spawn_file_actions_init(&actions); rc != 0)
    fail("posix_spawn_file_actions_init", rc);
  struct actions_guard {
    posix_spawn_file_actions_t* a;
    ~actions_guard() {
      ::posix_spawn_file_actions_destroy(a);
    }
  } actions_cleanup{&actions};
  // dup2 clears FD_CLOEXEC on the targets; every other descriptor of ours
  // is close-on-exec.
  ::posix_spawn_file_actions_adddup2(&actions, in_child.fd, STDIN_FILENO);
  ::posix_spawn_file_actions_adddup2(&actions, out_child.fd, STDOUT_FILENO);
  ::posix_spawn_file_actions_adddup2(&actions, err_child.fd, STDERR_FILENO);
  if (!opts.cwd.empty())
    if (int rc = ::posix_spawn_file_actions_addchdir_np(&actions,
                                                         opts.cwd.c_str());
        rc != 0)
      fail("posix_spawn_file_actions_addchdir_np", rc);

  // Default signal dispositions and an empty signal mask in the child.
  posix_spawnattr_t attr;
  if (int rc = ::posix_spawnattr_init(&attr); rc != 0)
    fail("posix_spawnattr_init", rc);
  struct attr_guard {
    posix_spawnattr_t* a;
    ~attr_guard() {
      ::posix_spawnattr_destroy(a);
    }
  } attr_cleanup{&attr};
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setsigdefault(&attr, &all);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK
                                      | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, &attr,
                             args.data(), environ);
      rc != 0)
    fail("posix_spawn " + argv[0], rc);
  in_child.reset();
  out_child.reset();
  err_child.reset();

  fd_guard pidfd{open_pidfd(pid)};
  process_result result;
  auto deadline = std::chrono::steady_clock::now() + opts.timeout;
  size_t written = 0;
  if (opts.input.empty())
    in_parent.reset(); // EOF right away
  else
    ::fcntl(in_parent.fd, F_SETFL, O_NONBLOCK);
  bool exited = false;
  int status = 0;
  char buf[65536];
  auto drain = [&](fd_guard& fd, std::string& into) {
    for (;;) {
      auto n = ::read(fd.fd, buf, sizeof buf);
      if (n > 0) {
        into.append(buf, static_cast<size_t>(n));
        return;
      }
      if (n < 0 && errno == EINTR)
        continue;
      fd.reset(); // EOF or error
      return;
    }
  };
  // Until both output pipes are closed and the child has exited.
  while (out_parent.fd >= 0 || err_parent.fd >= 0 || !exited) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
    if (left <= 0) {
      ::kill(pid, SIGKILL);
      result.timed_out = true;
      break;
    }
    if (out_parent.fd < 0 && err_parent.fd < 0 && pidfd.fd < 0) {
      // No pidfd: the outputs are closed, the child exits now or soon.
      break;
    }
    pollfd fds[4];
    nfds_t n = 0;
    auto add = [&](int fd, short events) {
      fds[n].fd = fd;
      fds[n].events = events;
      fds[n].revents = 0;
      return fd >= 0 ? static_cast<int>(n++) : -1;
    };
    int i_out = add(out_parent.fd, POLLIN);
    int i_err = add(err_parent.fd, POLLIN);
    int i_in = add(in_parent.fd, POLLOUT);
    int i_pid = exited ? -1 : add(pidfd.fd, POLLIN);
    auto rc = ::poll(fds, n, static_cast<int>(std::min<long long>(left, 1 << 30)));
    if (rc < 0) {
      if (errno == EINTR)
        continue;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      fail("poll");
    }
    if (i_out >= 0 && fds[i_out].revents != 0)
      drain(out_parent, result.out);
    if (i_err >= 0 && fds[i_err].revents != 0)
      drain(err_parent, result.err);
    if (i_in >= 0 && fds[i_in].revents != 0) {
      if ((fds[i_in].revents & (POLLERR | POLLHUP)) != 0) {
        in_parent.reset();
      } else {
        auto k = ::send(in_parent.fd, opts.input.data() + written,
                        opts.input.size() - written,
                        MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k > 0)
          written += static_cast<size_t>(k);
        else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK
                 && errno != EINTR)
          in_parent.reset(); // the child closed its stdin
        if (written == opts.input.size())
          in_parent.reset();
      }
    }
    if (i_pid >= 0 && fds[i_pid].revents != 0) {
      if (::waitpid(pid, &status, WNOHANG) == pid)
        exited = true;
    }
  }
  in_parent.reset();
  out_parent.reset();
  err_parent.reset();
  if (!exited) {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      // retry
    }
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = -1;
    result.signal = WTERMSIG(status);
  }
  return result;
}

} // namespace eventactors::test
