// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "replay/fork.hpp"

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>

#include "eventactors/error.hpp"
#include "base/json_text.hpp"
#include "replay/cut.hpp"
#include "replay/replayer.hpp"
#include "storage/storage.hpp"
#include "base/uuid.hpp"

namespace eventactors {

namespace {

void remove_database(const std::string& path) {
  std::error_code ec;
  for (auto suffix : {"", "-wal", "-shm", "-journal"})
    std::filesystem::remove(path + suffix, ec);
}

/// A rebuilt copy: its write connection, still open, and what the replay
/// did.
struct built_copy {
  std::unique_ptr<writer> w;
  replay_summary summary;
};

/// Copies the cut's events from `live` into a fresh database at `target`
/// and replays them there.
caf::expected<built_copy> build_copy(std::shared_ptr<const model> m,
                                     const runtime_options& opts,
                                     reader& live, const event_log& log,
                                     const replay_request& req,
                                     const std::string& target,
                                     const progress_fn& progress) {
  if (auto err = check_cut("fork", log, req, live, false))
    return err;
  auto cut = cut_filter(log, req, replayer::chunk_size);
  if (!cut)
    return std::move(cut.error());
  // A fork or scratch copy is rebuilt from the log in one go: durability of
  // each commit does not matter until the end.
  auto w = storage::open_writer(m, target, storage::connection_options(opts),
                                opts.env);
  if (!w)
    return std::move(w.error());
  auto copied = (*w)->copy_events(live, log, *cut);
  if (!copied)
    return std::move(copied.error());
  replay_request all;
  all.log = log.name();
  auto summary = replayer{m, opts, **w}.run(all, progress);
  if (!summary)
    return std::move(summary.error());
  return built_copy{std::move(*w), std::move(*summary)};
}

/// Records of one resource in primary key order, read a page at a time.
class record_stream {
public:
  record_stream(reader& rd, const resource_info& res) : rd_(rd), res_(res) {
    // nop
  }

  /// Sets `out` to the next record's values, or resets it past the last.
  caf::error next(std::optional<json::object>& out) {
    if (pos_ == page_.size() && !done_) {
      auto more = rd_.records_after(res_, after_, page_size);
      if (!more)
        return std::move(more.error());
      page_ = std::move(*more);
      pos_ = 0;
      done_ = page_.size() < page_size;
      if (!page_.empty())
        after_ = page_.back().values.at(res_.def->primary_key());
    }
    if (pos_ == page_.size()) {
      out.reset();
      return {};
    }
    out = std::move(page_[pos_++].values);
    return {};
  }

private:
  static constexpr uint32_t page_size = 1000;

  reader& rd_;
  const resource_info& res_;
  std::vector<stored_record> page_;
  size_t pos_ = 0;
  bool done_ = false;
  std::optional<json::value> after_;
};

/// Compares the records of `res` in both stores, by primary key.
caf::error compare(const resource_info& res, reader& live, reader& replayed,
                   verify_report& report, uint32_t max_differences) {
  auto& def = *res.def;
  record_stream a{live, res};
  record_stream b{replayed, res};
  auto add = [&](difference d) {
    ++report.total_differences;
    if (report.differences.size() < max_differences)
      report.differences.push_back(std::move(d));
  };
  auto& pk = def.primary_key();
  std::optional<json::object> x;
  std::optional<json::object> y;
  if (auto err = a.next(x))
    return err;
  if (auto err = b.next(y))
    return err;
  // Keys of one resource share a type: compare them as SQLite orders them
  // (integers numerically, text bytewise).
  auto less = [](const json::value& l, const json::value& r) {
    if (l.is_int64() && r.is_int64())
      return l.get_int64() < r.get_int64();
    if (l.is_string() && r.is_string())
      return std::string_view{l.get_string()}
             < std::string_view{r.get_string()};
    return json::serialize(l) < json::serialize(r);
  };
  while (x || y) {
    ++report.records;
    if (x && (!y || less(x->at(pk), y->at(pk)))) {
      add({def.name(), x->at(pk), {}, json::value(*x), nullptr});
      if (auto err = a.next(x))
        return err;
    } else if (y && (!x || less(y->at(pk), x->at(pk)))) {
      add({def.name(), y->at(pk), {}, nullptr, json::value(*y)});
      if (auto err = b.next(y))
        return err;
    } else {
      for (auto& attr : def.attributes()) {
        auto& l = x->at(attr.name);
        auto& r = y->at(attr.name);
        // Bit for bit: a double one unit in the last place off, or a zero
        // of the other sign, is a difference.
        if (!json_io::identical(l, r))
          add({def.name(), x->at(pk), attr.name, l, r});
      }
      if (auto err = a.next(x))
        return err;
      if (auto err = b.next(y))
        return err;
    }
  }
  return {};
}

std::string system_message(int e) {
  return std::generic_category().message(e);
}

/// Syncs the directory at `dir`, so that a rename in it is durable.
caf::error sync_directory(const std::string& dir) {
  auto fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return make_error(errc::storage_failure,
                      "fork: cannot open folder " + dir + ": "
                        + system_message(errno));
  auto rc = ::fsync(fd);
  auto e = errno;
  ::close(fd);
  if (rc != 0)
    return make_error(errc::storage_failure,
                      "fork: cannot sync folder " + dir + ": "
                        + system_message(e));
  return {};
}

/// The file a fork is built in before it takes its name: hidden, beside
/// the target (a rename within one folder is atomic), locked with flock for
/// as long as the fork runs, so that a later fork can tell the temp file of
/// a killed fork from one in progress.
class fork_file {
public:
  /// The names of temp files for `target` start with this.
  static std::string prefix(const std::filesystem::path& target) {
    return "." + target.filename().string() + ".fork-";
  }

  /// Creates a new, empty, locked temp file beside `target`.
  static caf::expected<fork_file> create(const std::filesystem::path& target) {
    for (int attempt = 0; attempt < 8; ++attempt) {
      auto name = uuid::format(uuid::random_v4());
      std::erase(name, '-');
      auto path = (target.parent_path() / (prefix(target) + name)).string();
      // Owner-only, like verify's scratch copy: a fork holds every record,
      // sensitive attributes included.
      auto fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
                       0600);
      if (fd < 0) {
        if (errno == EEXIST)
          continue;
        return make_error(errc::storage_failure,
                          "fork: cannot create " + path + ": "
                            + system_message(errno));
      }
      fork_file result{path, fd};
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
        continue; // a cleaner took it for stale: try another name
      // Still ours under that name? A cleaner may have removed it between
      // the open and the lock.
      struct stat a;
      struct stat b;
      if (::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0
          && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return result;
      result.path_.clear(); // not ours to remove any more
    }
    return make_error(errc::storage_failure,
                      "fork: cannot create a temp file beside "
                        + target.string());
  }

  /// Removes the temp files (with their -wal, -shm, -journal) of forks to
  /// `target` that were killed: those that nobody holds locked.
  static void remove_stale(const std::filesystem::path& target) {
    auto pre = prefix(target);
    std::error_code ec;
    std::filesystem::directory_iterator it{target.parent_path(), ec};
    for (; !ec && it != std::filesystem::directory_iterator{};
         it.increment(ec)) {
      auto name = it->path().filename().string();
      if (!name.starts_with(pre) || name.find('-', pre.size()) != name.npos)
        continue; // not a main file of ours
      auto fd = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        continue;
      if (::flock(fd, LOCK_EX | LOCK_NB) == 0)
        remove_database(it->path().string());
      ::close(fd);
    }
  }

  fork_file(fork_file&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {
    other.path_.clear();
  }

  fork_file& operator=(fork_file&&) = delete;

  /// Removes the file unless it took its final name.
  ~fork_file() {
    // The files go before the lock does: no cleaner removes them twice.
    if (!path_.empty())
      remove_database(path_);
    if (fd_ >= 0)
      ::close(fd_);
  }

  const std::string& path() const noexcept {
    return path_;
  }

  /// Syncs the complete file and gives it the name `target`, which must
  /// not exist; syncs the folder. @pre no connection to the file is open.
  caf::error publish(const std::string& target) {
    if (::fsync(fd_) != 0)
      return make_error(errc::storage_failure,
                        "fork: cannot sync " + path_ + ": "
                          + system_message(errno));
    // Never over a file that appeared meanwhile: a plain rename would
    // replace it. File systems without RENAME_NOREPLACE get a hard link,
    // which fails on an existing name as well.
    auto rc = ::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, target.c_str(),
                          RENAME_NOREPLACE);
    auto e = rc == 0 ? 0 : errno;
    if (e == EINVAL || e == ENOSYS || e == ENOTSUP) {
      rc = ::link(path_.c_str(), target.c_str());
      e = rc == 0 ? 0 : errno;
    }
    if (e == EEXIST)
      return make_error(errc::invalid_input,
                        "fork: " + target
                          + " exists already; a fork is a new file");
    if (e != 0)
      return make_error(errc::storage_failure,
                        "fork: cannot create " + target + ": "
                          + system_message(e));
    remove_database(path_); // the temp name (after a link), any -shm left
    path_.clear();
    auto dir = std::filesystem::path{target}.parent_path().string();
    return sync_directory(dir.empty() ? "." : dir);
  }

private:
  fork_file(std::string path, int fd) : path_(std::move(path)), fd_(fd) {
    // nop
  }

  std::string path_;
  int fd_ = -1;
};

} // namespace

caf::expected<replay_summary> fork_database(std::shared_ptr<const model> m,
                                            const runtime_options& opts,
                                            const std::string& live,
                                            const replay_request& req,
                                            const std::string& target,
                                            const progress_fn& progress) {
  auto log = m->find_log(req.log);
  if (!log)
    return make_error(errc::invalid_input,
                      "fork: no event log \"" + req.log + "\"");
  if (target.empty())
    return make_error(errc::invalid_input, "fork: the target path is empty");
  std::error_code ec;
  if (std::filesystem::exists(target, ec))
    return make_error(errc::invalid_input,
                      "fork: " + target
                        + " exists already; a fork is a new file");
  auto snap = storage::open_snapshot(m, live,
                                     storage::connection_options(opts));
  if (!snap)
    return std::move(snap.error());
  // Built under a temp name and renamed when complete: a fork killed half
  // way leaves no file under the target's name, and its temp file goes
  // the next time a fork to that target runs.
  auto abs_target = std::filesystem::absolute(target, ec);
  if (ec)
    return make_error(errc::invalid_input,
                      "fork: " + target + ": " + ec.message());
  fork_file::remove_stale(abs_target);
  auto tmp = fork_file::create(abs_target);
  if (!tmp)
    return std::move(tmp.error());
  replay_summary summary;
  {
    auto copy = build_copy(m, opts, **snap, *log, req, tmp->path(),
                           progress);
    if (!copy)
      return std::move(copy.error());
    // Out of WAL mode: the file holds everything itself when it is
    // renamed, with no -wal file beside it under the temp name.
    if (auto err = copy->w->make_self_contained("fork"))
      return err;
    summary = std::move(copy->summary);
  } // closes the connection
  if (auto err = tmp->publish(target))
    return err;
  return summary;
}

caf::expected<verify_report> verify_database(std::shared_ptr<const model> m,
                                             const runtime_options& opts,
                                             const std::string& live,
                                             const std::string& log_name,
                                             uint32_t max_differences,
                                             const progress_fn& progress) {
  auto log = m->find_log(log_name);
  if (!log)
    return make_error(errc::invalid_input,
                      "verify: no event log \"" + log_name + "\"");
  auto snap = storage::open_snapshot(m, live,
                                     storage::connection_options(opts));
  if (!snap)
    return std::move(snap.error());
  // The scratch copy holds the records in plain text. SQLite's private
  // temporary database (an empty file name) is created with mode 0600 and
  // unlinked as soon as it is opened: no other user can read it, and it
  // vanishes with the connection however the process ends, a kill
  // included. Pages stay in the page cache until it fills.
  replay_request all;
  all.log = log->name();
  verify_report report;
  auto copy = build_copy(m, opts, **snap, *log, all, "", progress);
  if (!copy)
    return std::move(copy.error());
  report.replay = std::move(copy->summary);
  auto replayed = copy->w->transaction_reader();
  for (auto& name : m->tracked_by(log->name()))
    if (auto err = compare(*m->find(name), **snap, *replayed, report,
                           max_differences))
      return err;
  return report;
}

} // namespace eventactors
