// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

struct sqlite3;

namespace eventactors::sqlite {

/// How a connection opens its file.
enum class open_mode { read_write, read_only };

/// Settings applied when a connection opens.
struct open_options {
  open_mode mode = open_mode::read_write;
  /// `PRAGMA synchronous` value: "FULL" or "NORMAL".
  std::string synchronous = "FULL";
  /// Page cache size in KiB.
  int cache_kib = 16 * 1024;
  /// How long a statement waits for a lock held by another connection.
  int busy_timeout_ms = 5000;
  /// Whether a read_write connection switches its file to WAL (and fails
  /// when it cannot). Off for SQLite's private temporary database (an
  /// empty path), which cannot use WAL.
  bool wal = true;
};

/// One SQLite connection in WAL mode, closed on destruction.
///
/// Not thread-safe: it belongs to one owner (an actor or a thread).
class database {
public:
  database() = default;
  database(database&&) noexcept = default;
  database& operator=(database&&) noexcept = default;

  /// Opens (creating if needed, for read_write) the file at `path`,
  /// switches it to WAL and applies `opts`.
  static caf::expected<database> open(const std::string& path,
                                      const open_options& opts);

  sqlite3* get() const noexcept {
    return handle_.get();
  }

  explicit operator bool() const noexcept {
    return handle_ != nullptr;
  }

  /// Runs one or more statements without results.
  [[nodiscard]] caf::error exec(std::string_view sql);

  /// The message of the most recent failure on this connection.
  std::string last_message() const;

private:
  struct closer {
    void operator()(sqlite3* db) const noexcept;
  };

  std::unique_ptr<sqlite3, closer> handle_;
};

/// Runs one or more statements without results on `db`.
[[nodiscard]] caf::error exec(sqlite3* db, std::string_view sql);

/// Maps a SQLite result code and the connection's message to an error of
/// our category; `what` names the operation (e.g. "append").
caf::error last_error(sqlite3* db, int rc, std::string_view what);

} // namespace eventactors::sqlite
