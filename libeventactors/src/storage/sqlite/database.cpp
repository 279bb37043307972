// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "storage/sqlite/database.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <unistd.h>

#include <sqlite3.h>

#include "detail/log.hpp"
#include "eventactors/error.hpp"

namespace eventactors::sqlite {

void database::closer::operator()(sqlite3* db) const noexcept {
  if (sqlite3_close_v2(db) != SQLITE_OK)
    SPDLOG_LOGGER_WARN(&detail::log(), "sqlite close failed: {}",
                       sqlite3_errmsg(db));
}

namespace {

/// Turns SQLite's memory statistics off, once per process, before the first
/// connection opens: they take a global mutex on every allocation, about a
/// tenth of the writer's time. A no-op (SQLITE_MISUSE) when the application
/// used SQLite first.
void configure_library() {
  static const bool done = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void) done;
}

/// The URI of `path` that opens it read-only as an immutable file.
std::string immutable_uri(const std::string& path) {
  // An absolute path gets an empty authority: "file:///x", also for "//x".
  std::string result = path.starts_with("/") ? "file://" : "file:";
  static constexpr char hex[] = "0123456789ABCDEF";
  for (unsigned char c : path) {
    if (c == '%' || c == '?' || c == '#' || c < 0x20 || c >= 0x7f) {
      result += '%';
      result += hex[c >> 4];
      result += hex[c & 0xF];
    } else {
      result += static_cast<char>(c);
    }
  }
  result += "?mode=ro&immutable=1";
  return result;
}

/// Runs the first read on a new connection, which opens the write-ahead
/// log and its shared-memory index (`-shm`); returns SQLite's result code.
int first_read(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  auto rc = sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema LIMIT 1", -1,
                               &stmt, nullptr);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
      rc = SQLITE_OK;
  }
  sqlite3_finalize(stmt);
  return rc;
}

/// Whether the write-ahead log of `path` holds no commits: missing or empty.
bool wal_empty(const std::string& path) {
  std::error_code ec;
  auto wal = path + "-wal";
  if (!std::filesystem::exists(wal, ec))
    return !ec;
  auto size = std::filesystem::file_size(wal, ec);
  return !ec && size == 0;
}

} // namespace

caf::expected<database> database::open(const std::string& path,
                                       const open_options& opts) {
  configure_library();
  int flags = SQLITE_OPEN_NOMUTEX;
  if (opts.mode == open_mode::read_write)
    flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  else
    flags |= SQLITE_OPEN_READONLY;
  sqlite3* raw = nullptr;
  auto rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  database result;
  result.handle_.reset(raw);
  if (rc != SQLITE_OK) {
    auto msg = raw ? std::string{sqlite3_errmsg(raw)} : sqlite3_errstr(rc);
    return make_error(errc::storage_failure,
                      "cannot open database " + path + ": " + msg);
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, opts.busy_timeout_ms);
  if (opts.mode == open_mode::read_only) {
    // A reader of a WAL file needs its -shm file, which SQLite creates when
    // missing: impossible in a read-only folder or on a full disk. When the
    // write-ahead log holds no commits (missing or empty), the database
    // file alone is the whole state, and SQLite may read it as an immutable
    // file, without -wal, -shm or locks. A WAL with commits cannot be read
    // without its -shm: that stays an error.
    rc = first_read(raw);
    if (rc != SQLITE_OK) {
      auto primary = rc & 0xFF;
      bool shm_failed = primary == SQLITE_CANTOPEN || primary == SQLITE_IOERR
                        || primary == SQLITE_READONLY;
      if (!shm_failed || !wal_empty(path))
        return last_error(raw, rc, "open " + path + " read-only");
      SPDLOG_LOGGER_INFO(&detail::log(),
                         "reading {} as an immutable file: its -shm file "
                         "cannot be created ({})",
                         path, sqlite3_errmsg(raw));
      result.handle_.reset();
      raw = nullptr;
      rc = sqlite3_open_v2(immutable_uri(path).c_str(), &raw,
                           SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READONLY
                             | SQLITE_OPEN_URI,
                           nullptr);
      result.handle_.reset(raw);
      if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(raw, 1);
        rc = first_read(raw);
      }
      if (rc != SQLITE_OK)
        return last_error(raw, rc, "open " + path + " read-only");
    }
  }
  std::string pragmas;
  if (opts.mode == open_mode::read_write && opts.wal)
    pragmas += "PRAGMA journal_mode=WAL;";
  pragmas += "PRAGMA synchronous=" + opts.synchronous + ";";
  pragmas += "PRAGMA cache_size=-" + std::to_string(opts.cache_kib) + ";";
  pragmas += "PRAGMA foreign_keys=ON;";
  pragmas += "PRAGMA temp_store=MEMORY;";
  if (auto err = result.exec(pragmas))
    return make_error(errc::storage_failure,
                      "cannot configure database " + path + ": "
                        + message(err));
  if (opts.mode == open_mode::read_write && opts.wal) {
    // WAL must really be on: a file on a filesystem without shared memory
    // support would silently stay in rollback mode.
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &stmt, nullptr)
          == SQLITE_OK
        && sqlite3_step(stmt) == SQLITE_ROW) {
      auto mode = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      std::string m = mode ? mode : "";
      sqlite3_finalize(stmt);
      if (m != "wal")
        return make_error(errc::storage_failure,
                          "cannot switch database " + path
                            + " to WAL mode (journal_mode is " + m + ")");
    } else {
      sqlite3_finalize(stmt);
      return last_error(raw, sqlite3_errcode(raw), "open " + path);
    }
  }
  return result;
}

caf::error database::exec(std::string_view sql) {
  return sqlite::exec(handle_.get(), sql);
}

caf::error exec(sqlite3* db, std::string_view sql) {
  std::string str{sql};
  auto rc = sqlite3_exec(db, str.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK)
    return last_error(db, rc, "exec");
  return {};
}

std::string database::last_message() const {
  return handle_ ? sqlite3_errmsg(handle_.get()) : "no connection";
}

namespace {

std::string describe_errno(int e) {
  // Thread-safe, unlike strerror: readers run on several threads.
  std::string result = " (" + std::generic_category().message(e);
  if (e == EROFS || e == EPERM || e == EACCES)
    result += ": the file or its file system is not writable";
  else if (e == ENOSPC)
    result += ": the disk is full";
  else if (e == EDQUOT)
    result += ": the disk quota is used up";
  result += ")";
  return result;
}

/// What the system refused when SQLite reports an I/O error, whose own text
/// ("disk I/O error") does not say. SQLite keeps the errno of the failed
/// call, but statements run after it (the rollback) may clear it; then the
/// files themselves are asked.
std::string io_cause(sqlite3* db) {
  if (!db)
    return {};
  if (auto e = sqlite3_system_errno(db); e != 0)
    return describe_errno(e);
  auto file = sqlite3_db_filename(db, "main");
  if (!file || *file == '\0')
    return {};
  for (auto path : {std::string{file}, std::string{file} + "-wal"})
    if (::access(path.c_str(), F_OK) == 0 && ::access(path.c_str(), W_OK) != 0)
      return describe_errno(errno);
  return {};
}

} // namespace

caf::error last_error(sqlite3* db, int rc, std::string_view what) {
  std::string msg{what};
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xFF) {
    case SQLITE_CONSTRAINT:
      // A taken key is a conflict; other constraints (NOT NULL, CHECK)
      // mean the table does not fit what the runtime writes.
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return make_error(errc::conflict, std::move(msg));
      return make_error(errc::storage_failure, std::move(msg));
    case SQLITE_FULL:
      msg += " (disk or database full)";
      break;
    case SQLITE_READONLY:
      msg += " (database is read-only)";
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      msg += " (database is locked by another connection)";
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      msg += " (database file is corrupt or not a database)";
      break;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      msg += io_cause(db);
      break;
    default:
      break;
  }
  return make_error(errc::storage_failure, std::move(msg));
}

} // namespace eventactors::sqlite
