// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "support/faults.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <sqlite3.h>

extern char** environ;

namespace eventactors::test {

namespace {

std::string errno_text(const std::string& what, int err = errno) {
  return what + ": " + std::strerror(err);
}

// -- the quota VFS ------------------------------------------------------------------

struct quota_state {
  sqlite3_vfs* real = nullptr;
  sqlite3_vfs shim{};
  std::string prefix;
  /// Bytes the files may still grow by; negative: no limit.
  std::atomic<int64_t> budget{-1};
  std::atomic<int64_t> refused{0};
  bool active = false;
};

quota_state& quota() {
  static quota_state state;
  return state;
}

struct shim_file {
  sqlite3_file base;
  sqlite3_file* inner;
  bool tracked;
};

constexpr int shim_size = static_cast<int>((sizeof(shim_file) + 15) & ~size_t{15});

sqlite3_file* inner_of(sqlite3_file* f) {
  return reinterpret_cast<shim_file*>(f)->inner;
}

int x_close(sqlite3_file* f) {
  auto in = inner_of(f);
  return in->pMethods ? in->pMethods->xClose(in) : SQLITE_OK;
}

int x_read(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
  auto in = inner_of(f);
  return in->pMethods->xRead(in, buf, amt, off);
}

int x_write(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  auto sf = reinterpret_cast<shim_file*>(f);
  auto in = sf->inner;
  auto& q = quota();
  if (sf->tracked && q.budget.load() >= 0) {
    sqlite3_int64 size = 0;
    if (in->pMethods->xFileSize(in, &size) == SQLITE_OK) {
      int64_t growth = off + amt - size;
      if (growth > 0) {
        auto cur = q.budget.load();
        for (;;) {
          if (cur < 0)
            break; // unlimited meanwhile
          if (cur < growth) {
            ++q.refused;
            return SQLITE_FULL;
          }
          if (q.budget.compare_exchange_weak(cur, cur - growth))
            break;
        }
      }
    }
  }
  return in->pMethods->xWrite(in, buf, amt, off);
}

int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  auto in = inner_of(f);
  return in->pMethods->xTruncate(in, size);
}

int x_sync(sqlite3_file* f, int flags) {
  auto in = inner_of(f);
  return in->pMethods->xSync(in, flags);
}

int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  auto in = inner_of(f);
  return in->pMethods->xFileSize(in, size);
}

int x_lock(sqlite3_file* f, int lock) {
  auto in = inner_of(f);
  return in->pMethods->xLock(in, lock);
}

int x_unlock(sqlite3_file* f, int lock) {
  auto in = inner_of(f);
  return in->pMethods->xUnlock(in, lock);
}

int x_check_reserved_lock(sqlite3_file* f, int* out) {
  auto in = inner_of(f);
  return in->pMethods->xCheckReservedLock(in, out);
}

int x_file_control(sqlite3_file* f, int op, void* arg) {
  auto in = inner_of(f);
  return in->pMethods->xFileControl(in, op, arg);
}

int x_sector_size(sqlite3_file* f) {
  auto in = inner_of(f);
  return in->pMethods->xSectorSize(in);
}

int x_device_characteristics(sqlite3_file* f) {
  auto in = inner_of(f);
  return in->pMethods->xDeviceCharacteristics(in);
}

int x_shm_map(sqlite3_file* f, int pg, int pgsz, int extend,
              void volatile** out) {
  auto in = inner_of(f);
  if (in->pMethods->iVersion < 2 || !in->pMethods->xShmMap)
    return SQLITE_IOERR;
  return in->pMethods->xShmMap(in, pg, pgsz, extend, out);
}

int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  auto in = inner_of(f);
  return in->pMethods->xShmLock(in, offset, n, flags);
}

void x_shm_barrier(sqlite3_file* f) {
  auto in = inner_of(f);
  in->pMethods->xShmBarrier(in);
}

int x_shm_unmap(sqlite3_file* f, int del) {
  auto in = inner_of(f);
  return in->pMethods->xShmUnmap(in, del);
}

int x_fetch(sqlite3_file* f, sqlite3_int64 off, int amt, void** out) {
  auto in = inner_of(f);
  if (in->pMethods->iVersion < 3 || !in->pMethods->xFetch) {
    *out = nullptr;
    return SQLITE_OK;
  }
  return in->pMethods->xFetch(in, off, amt, out);
}

int x_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  auto in = inner_of(f);
  if (in->pMethods->iVersion < 3 || !in->pMethods->xUnfetch)
    return SQLITE_OK;
  return in->pMethods->xUnfetch(in, off, p);
}

const sqlite3_io_methods shim_methods = {
  3,
  x_close,
  x_read,
  x_write,
  x_truncate,
  x_sync,
  x_file_size,
  x_lock,
  x_unlock,
  x_check_reserved_lock,
  x_file_control,
  x_sector_size,
  x_device_characteristics,
  x_shm_map,
  x_shm_lock,
  x_shm_barrier,
  x_shm_unmap,
  x_fetch,
  x_unfetch,
};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags,
           int* out_flags) {
  auto& q = quota();
  auto sf = reinterpret_cast<shim_file*>(f);
  sf->inner = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f)
                                              + shim_size);
  sf->inner->pMethods = nullptr;
  sf->tracked = name != nullptr && !q.prefix.empty()
                && std::string_view{name}.starts_with(q.prefix);
  auto rc = q.real->xOpen(q.real, name, sf->inner, flags, out_flags);
  sf->base.pMethods = sf->inner->pMethods ? &shim_methods : nullptr;
  return rc;
}

// -- the lock holder child ------------------------------------------------------------

constexpr const char* holder_env = "EVENTACTORS_TEST_LOCK_HOLDER";

/// The child: answers commands on stdin, one per line, until EOF.
[[noreturn]] void lock_holder_main(const char* path) {
  sqlite3* db = nullptr;
  auto rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, nullptr);
  if (rc != SQLITE_OK) {
    std::printf("error: cannot open %s: %s\n", path,
                db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    std::fflush(stdout);
    std::_Exit(1);
  }
  sqlite3_busy_timeout(db, 10000);
  char line[256];
  while (std::fgets(line, sizeof line, stdin) != nullptr) {
    std::string cmd{line};
    while (!cmd.empty() && (cmd.back() == '\n' || cmd.back() == '\r'))
      cmd.pop_back();
    const char* sql = nullptr;
    const char* done = nullptr;
    if (cmd == "lock") {
      sql = "BEGIN IMMEDIATE";
      done = "locked";
    } else if (cmd == "unlock") {
      sql = "ROLLBACK";
      done = "unlocked";
    }
    if (sql == nullptr) {
      std::printf("error: unknown command %s\n", cmd.c_str());
    } else if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      std::printf("error: %s: %s\n", sql, sqlite3_errmsg(db));
    } else {
      std::printf("%s\n", done);
    }
    std::fflush(stdout);
  }
  sqlite3_close(db);
  std::_Exit(0);
}

/// Runs the child's loop instead of the tests when this binary was started
/// as a lock holder (before main, so that Catch never runs in the child).
struct lock_holder_entry {
  lock_holder_entry() {
    if (auto path = std::getenv(holder_env))
      lock_holder_main(path);
  }
} lock_holder_entry_instance;

} // namespace

// -- disk_quota ---------------------------------------------------------------------------

disk_quota::disk_quota(std::string prefix) {
  auto& q = quota();
  if (q.active)
    throw std::logic_error("disk_quota: one at a time");
  auto current = sqlite3_vfs_find(nullptr);
  if (current == nullptr)
    throw std::runtime_error("disk_quota: no default VFS");
  if (current != &q.shim) {
    q.real = current;
    q.shim = *current;
    q.shim.szOsFile = shim_size + current->szOsFile;
    q.shim.zName = "eventactors_test_quota";
    q.shim.pNext = nullptr;
    q.shim.xOpen = x_open;
  }
  q.prefix = std::move(prefix);
  q.budget = -1;
  q.refused = 0;
  if (sqlite3_vfs_register(&q.shim, 1) != SQLITE_OK)
    throw std::runtime_error("disk_quota: cannot register the VFS");
  q.active = true;
}

disk_quota::~disk_quota() {
  auto& q = quota();
  q.budget = -1;
  // The previous default again; the shim stays registered (not as the
  // default) for the connections still using it.
  sqlite3_vfs_register(q.real, 1);
  q.active = false;
}

void disk_quota::limit(int64_t n) {
  quota().budget = n < 0 ? 0 : n;
}

void disk_quota::unlimited() {
  quota().budget = -1;
}

int64_t disk_quota::refused() const {
  return quota().refused.load();
}

// -- tmpfs_mount ----------------------------------------------------------------------

tmpfs_mount::tmpfs_mount(std::string dir, uint64_t bytes)
  : dir_(std::move(dir)) {
  auto opts = "size=" + std::to_string(bytes) + ",mode=0700";
  if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
              opts.c_str())
      != 0) {
    error_ = errno_text("mount tmpfs on " + dir_);
    return;
  }
  mounted_ = true;
}

tmpfs_mount::~tmpfs_mount() {
  if (mounted_)
    ::umount2(dir_.c_str(), MNT_DETACH);
}

bool tmpfs_mount::resize(uint64_t bytes) {
  auto opts = "size=" + std::to_string(bytes);
  if (::mount("tmpfs", dir_.c_str(), "tmpfs",
              MS_REMOUNT | MS_NOSUID | MS_NODEV, opts.c_str())
      != 0) {
    error_ = errno_text("remount tmpfs on " + dir_);
    return false;
  }
  return true;
}

uint64_t tmpfs_mount::free_bytes() const {
  struct statvfs st {};
  if (::statvfs(dir_.c_str(), &st) != 0)
    return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

uint64_t fill_file(const std::string& path, uint64_t max_bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  0600);
  if (fd < 0)
    return 0;
  std::vector<char> zeros(64 * 1024, 0);
  uint64_t total = 0;
  while (total < max_bytes) {
    auto n = std::min<uint64_t>(zeros.size(), max_bytes - total);
    auto k = ::write(fd, zeros.data(), n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      break;
    total += static_cast<uint64_t>(k);
  }
  ::fsync(fd);
  ::close(fd);
  return total;
}

// -- read-only files -------------------------------------------------------------

std::string read_only(const std::string& path, bool on) {
  if (::geteuid() != 0) {
    if (::chmod(path.c_str(), on ? 0444 : 0644) != 0)
      return errno_text("chmod " + path);
    return {};
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return errno_text("open " + path);
  int flags = 0;
  std::string result;
  if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) {
    result = errno_text("FS_IOC_GETFLAGS " + path);
  } else {
    if (on)
      flags |= FS_IMMUTABLE_FL;
    else
      flags &= ~FS_IMMUTABLE_FL;
    if (::ioctl(fd, FS_IOC_SETFLAGS, &flags) != 0)
      result = errno_text("FS_IOC_SETFLAGS " + path);
  }
  ::close(fd);
  return result;
}

bool is_immutable(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return false;
  int flags = 0;
  bool result = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0
                && (flags & FS_IMMUTABLE_FL) != 0;
  ::close(fd);
  return result;
}

// -- lock_holder --------------------------------------------------------------------

lock_holder::lock_holder(std::string path) {
  int in[2];
  int out[2];
  if (::pipe2(in, O_CLOEXEC) != 0)
    throw std::runtime_error(errno_text("lock_holder: pipe2"));
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    throw std::runtime_error(errno_text("lock_holder: pipe2"));
  }
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e)
    if (!std::string_view{*e}.starts_with(std::string{holder_env} + "="))
      env_strings.emplace_back(*e);
  env_strings.push_back(std::string{holder_env} + "=" + path);
  std::vector<char*> env;
  for (auto& s : env_strings)
    env.push_back(s.data());
  env.push_back(nullptr);
  std::string exe = "/proc/self/exe";
  char* argv[] = {exe.data(), nullptr};
  auto rc = ::posix_spawn(&pid_, exe.c_str(), &actions, nullptr, argv,
                          env.data());
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  to_child_ = in[1];
  from_child_ = out[0];
  if (rc != 0) {
    ::close(to_child_);
    ::close(from_child_);
    pid_ = -1;
    throw std::runtime_error(errno_text("lock_holder: posix_spawn", rc));
  }
}

lock_holder::~lock_holder() {
  if (pid_ > 0) {
    // EOF makes the child close its connection and exit; it gets a bounded
    // time for that.
    ::close(to_child_);
    to_child_ = -1;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    char buf[256];
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
      if (left <= 0) {
        ::kill(pid_, SIGKILL);
        break;
      }
      pollfd p{from_child_, POLLIN, 0};
      auto n = ::poll(&p, 1, static_cast<int>(left));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        continue;
      auto k = ::read(from_child_, buf, sizeof buf);
      if (k <= 0)
        break; // the child closed stdout: it exits
    }
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (to_child_ >= 0)
    ::close(to_child_);
  if (from_child_ >= 0)
    ::close(from_child_);
}

std::string lock_holder::command(const std::string& cmd,
                                 std::chrono::milliseconds timeout) {
  if (pid_ <= 0)
    return "error: no child";
  auto line = cmd + "\n";
  if (::write(to_child_, line.data(), line.size())
      != static_cast<ssize_t>(line.size()))
    return errno_text("error: write to the child");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[256];
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      auto answer = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return answer;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
    if (left <= 0)
      return "error: no answer within the timeout";
    pollfd p{from_child_, POLLIN, 0};
    auto n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      continue;
    auto k = ::read(from_child_, buf, sizeof buf);
    if (k <= 0)
      return "error: the child exited";
    buffer_.append(buf, static_cast<size_t>(k));
  }
}

std::string lock_holder::lock(std::chrono::milliseconds timeout) {
  return command("lock", timeout);
}

std::string lock_holder::unlock(std::chrono::milliseconds timeout) {
  return command("unlock", timeout);
}

void lock_holder::kill() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

// -- files --------------------------------------------------------------------------

std::string read_bytes(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out)
    throw std::runtime_error("write_bytes: cannot write " + path);
}

void patch_bytes(const std::string& path, uint64_t offset,
                 const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    throw std::runtime_error(errno_text("patch_bytes: open " + path));
  auto k = ::pwrite(fd, bytes.data(), bytes.size(),
                    static_cast<off_t>(offset));
  ::close(fd);
  if (k != static_cast<ssize_t>(bytes.size()))
    throw std::runtime_error("patch_bytes: short write to " + path);
}

} // namespace eventactors::test
