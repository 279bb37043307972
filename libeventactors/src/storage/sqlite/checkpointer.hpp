// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <caf/expected.hpp>

#include "storage/sqlite/database.hpp"

namespace eventactors {

/// Checkpoints a database's write-ahead log on a thread of its own, so that
/// the writer never waits for one.
///
/// SQLite's automatic checkpoint runs inside the commit that pushes the WAL
/// over its threshold: that commit copies the whole WAL back into the
/// database file, which costs a large share of the writer's time under
/// load. Attached to the writer's connection, this class spreads the work:
/// whenever three quarters of `pages` frames have not been copied yet, a commit
/// wakes the checkpoint thread, which runs a passive checkpoint on its own
/// connection while the writer goes on. Once the WAL holds `pages` frames,
/// the committing writer runs the checkpoint itself, as SQLite would, but
/// finds little left to copy; it must be the writer: the WAL restarts from
/// its beginning only when a transaction starts on a completely copied
/// log, which a writer that never waits for the thread would not see, and
/// the WAL would grow without bound. Durability is unchanged: a commit is
/// durable once it is in the WAL, copied or not.
///
/// Thread-safety: `attach` and the destructor belong to the writer's
/// owner; the hook runs on the writer's thread.
class checkpointer {
public:
  /// Opens a connection to `path` and starts the thread.
  static caf::expected<std::unique_ptr<checkpointer>>
  start(const std::string& path, const sqlite::open_options& opts,
        uint32_t pages);

  /// Stops the thread and closes its connection.
  ~checkpointer();

  checkpointer(const checkpointer&) = delete;
  checkpointer& operator=(const checkpointer&) = delete;

  /// Replaces the automatic checkpoint of `writer` (until `detach`).
  void attach(sqlite3* writer);

  /// Restores SQLite's automatic checkpoint on `writer`.
  void detach(sqlite3* writer);

  /// Checkpoints run so far by the thread (for tests and statistics).
  uint64_t runs() const noexcept {
    return runs_.load();
  }

  /// Checkpoints the writer ran to restart the WAL.
  uint64_t inline_runs() const noexcept {
    return inline_runs_.load();
  }

private:
  checkpointer(sqlite::database db, uint32_t pages);

  static int on_commit(void* self, sqlite3* db, const char* schema,
                       int pages);

  void run();

  sqlite::database db_;
  uint32_t pages_;
  /// Uncopied frames that wake the thread.
  uint32_t step_;
  std::mutex mtx_;
  std::condition_variable cv_;
  /// Held while a checkpoint runs: SQLite runs one at a time and refuses a
  /// second (SQLITE_BUSY); the writer's must wait for the thread's to end.
  std::mutex run_mtx_;
  bool requested_ = false;
  bool stop_ = false;
  std::atomic<bool> pending_{false};
  /// Frames of the WAL copied by the last checkpoint: while the WAL has not
  /// restarted, only the frames after these wait for a checkpoint.
  std::atomic<uint32_t> backfilled_{0};
  std::atomic<uint64_t> runs_{0};
  std::atomic<uint64_t> inline_runs_{0};
  std::thread thread_;
};

} // namespace eventactors
