// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "storage/sqlite/checkpointer.hpp"

#include <sqlite3.h>

#include <algorithm>

#include "detail/log.hpp"

namespace eventactors {

checkpointer::checkpointer(sqlite::database db, uint32_t pages)
  : db_(std::move(db)), pages_(pages == 0 ? 1 : pages),
    step_(std::max<uint32_t>(pages_ * 3 / 4, 1)) {
  // nop
}

caf::expected<std::unique_ptr<checkpointer>>
checkpointer::start(const std::string& path, const sqlite::open_options& opts,
                    uint32_t pages) {
  auto db = sqlite::database::open(path, opts);
  if (!db)
    return std::move(db.error());
  // This connection never writes pages of its own; it must not checkpoint
  // on close either (the writer's close does the final one).
  sqlite3_wal_autocheckpoint(db->get(), 0);
  std::unique_ptr<checkpointer> result{
    new checkpointer(std::move(*db), pages)};
  result->thread_ = std::thread{[ptr = result.get()] { ptr->run(); }};
  return result;
}

checkpointer::~checkpointer() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable())
    thread_.join();
}

void checkpointer::attach(sqlite3* writer) {
  sqlite3_wal_hook(writer, &checkpointer::on_commit, this);
}

void checkpointer::detach(sqlite3* writer) {
  sqlite3_wal_autocheckpoint(writer, static_cast<int>(pages_));
}

int checkpointer::on_commit(void* ptr, sqlite3* db, const char* schema,
                            int pages) {
  auto self = static_cast<checkpointer*>(ptr);
  auto total = static_cast<uint32_t>(pages);
  // Frames the thread copied already; the WAL restarted when it holds fewer.
  auto done = self->backfilled_.load();
  if (total < done)
    done = 0;
  if (total >= self->pages_) {
    // Finish here: copy what the thread has not yet (little, normally), so
    // that the next transaction restarts the WAL from its beginning. A WAL
    // that is never complete at the start of a transaction grows forever.
    ++self->inline_runs_;
    int log = 0;
    int copied = 0;
    std::lock_guard<std::mutex> running{self->run_mtx_};
    if (sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, &log,
                                  &copied)
        == SQLITE_OK)
      self->backfilled_ = static_cast<uint32_t>(copied);
    return SQLITE_OK;
  }
  if (total - done >= self->step_ && !self->pending_.exchange(true)) {
    {
      std::lock_guard<std::mutex> guard{self->mtx_};
      self->requested_ = true;
    }
    self->cv_.notify_one();
  }
  return SQLITE_OK;
}

void checkpointer::run() {
  std::unique_lock<std::mutex> guard{mtx_};
  for (;;) {
    cv_.wait(guard, [this] { return requested_ || stop_; });
    if (stop_)
      return;
    requested_ = false;
    guard.unlock();
    // Another request may come while this one runs.
    pending_ = false;
    int log = 0;
    int done = 0;
    int rc = SQLITE_OK;
    {
      std::lock_guard<std::mutex> running{run_mtx_};
      rc = sqlite3_wal_checkpoint_v2(db_.get(), nullptr,
                                     SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    }
    ++runs_;
    if (rc == SQLITE_OK && done >= 0)
      backfilled_ = static_cast<uint32_t>(done);
    if (rc != SQLITE_OK)
      SPDLOG_LOGGER_DEBUG(&detail::log(), "background checkpoint: {}",
                          sqlite3_errmsg(db_.get()));
    else
      SPDLOG_LOGGER_DEBUG(&detail::log(),
                          "background checkpoint wal={} copied={}", log,
                          done);
    guard.lock();
  }
}

} // namespace eventactors
