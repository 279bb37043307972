// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// Storage fault injection for tests: a full disk (a SQLite VFS shim, or a
// small tmpfs), a read-only file (the immutable flag, or file modes when not
// root), and another process holding the write lock.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace eventactors::test {

// -- a full disk, simulated below SQLite --------------------------------------

/// While alive, the default SQLite VFS of this process is a shim around the
/// previous default that can refuse writes growing files whose path starts
/// with `prefix`, with SQLITE_FULL, exactly as SQLite's unix VFS reports a
/// full disk (ENOSPC). Connections opened while it is alive use it; files
/// stay usable after it is gone (the shim's methods live for the process).
/// Not nestable; one at a time.
class disk_quota {
public:
  explicit disk_quota(std::string prefix);

  ~disk_quota();

  disk_quota(const disk_quota&) = delete;
  disk_quota& operator=(const disk_quota&) = delete;

  /// From now on, writes may grow the files by `n` bytes in total; a write
  /// that would grow them further fails with SQLITE_FULL.
  void limit(int64_t n);

  /// Removes the limit ("frees the disk").
  void unlimited();

  /// How many writes were refused so far.
  int64_t refused() const;
};

// -- a small tmpfs --------------------------------------------------------------

/// A tmpfs of `bytes` mounted on `dir` (which must exist) for the lifetime
/// of the object; needs CAP_SYS_ADMIN. `ok()` says whether mounting
/// worked, `error()` why not.
class tmpfs_mount {
public:
  tmpfs_mount(std::string dir, uint64_t bytes);

  ~tmpfs_mount();

  tmpfs_mount(const tmpfs_mount&) = delete;
  tmpfs_mount& operator=(const tmpfs_mount&) = delete;

  bool ok() const noexcept {
    return mounted_;
  }

  const std::string& error() const noexcept {
    return error_;
  }

  /// Changes the size limit while mounted (files stay). Returns false and
  /// sets `error()` on failure.
  bool resize(uint64_t bytes);

  /// Free bytes on the file system.
  uint64_t free_bytes() const;

private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

/// Writes zeros to `path` until the file system is full or the file has
/// `max_bytes`; returns the bytes written.
uint64_t fill_file(const std::string& path, uint64_t max_bytes);

// -- read-only files ------------------------------------------------------------

/// Makes `path` read-only for this process, also for root: the immutable
/// flag (FS_IOC_SETFLAGS) when running as root, file mode 0444 otherwise.
/// Returns an empty string on success, else why it failed. `read_only(path,
/// false)` undoes it.
std::string read_only(const std::string& path, bool on = true);

/// Whether the immutable flag of `path` is set.
bool is_immutable(const std::string& path);

// -- another writer process -------------------------------------------------------

/// A child process (this test binary, re-executed) with its own SQLite
/// connection to `path`, taking and releasing the write lock on command.
class lock_holder {
public:
  explicit lock_holder(std::string path);

  /// Kills the child if it still runs.
  ~lock_holder();

  lock_holder(const lock_holder&) = delete;
  lock_holder& operator=(const lock_holder&) = delete;

  /// BEGIN IMMEDIATE in the child; returns its answer ("locked" or an
  /// error), waiting at most `timeout`.
  std::string lock(std::chrono::milliseconds timeout
                   = std::chrono::seconds{20});

  /// ROLLBACK in the child; returns its answer ("unlocked" or an error).
  std::string unlock(std::chrono::milliseconds timeout
                     = std::chrono::seconds{20});

  /// Kills the child with SIGKILL (the OS releases its locks) and waits
  /// for it.
  void kill();

  pid_t pid() const noexcept {
    return pid_;
  }

private:
  std::string command(const std::string& cmd,
                      std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::string buffer_;
};

// -- files ------------------------------------------------------------------------

/// The bytes of the file at `path` (empty when missing).
std::string read_bytes(const std::string& path);

/// Replaces the file at `path` with `bytes`.
void write_bytes(const std::string& path, const std::string& bytes);

/// Overwrites `bytes.size()` bytes of the file at `path` at `offset`.
void patch_bytes(const std::string& path, uint64_t offset,
                 const std::string& bytes);

} // namespace eventactors::test
