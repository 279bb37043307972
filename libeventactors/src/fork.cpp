// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "fork.hpp"

#include <filesystem>
#include <random>

#include <boost/json/serialize.hpp>

#include "codec.hpp"
#include "eventactors/error.hpp"
#include "json_text.hpp"
#include "schema.hpp"
#include "sqlite/database.hpp"
#include "sqlite/statement.hpp"
#include "writer.hpp"

namespace eventactors {

namespace {

sqlite::open_options connection_options(const runtime_options& opts) {
  sqlite::open_options result;
  // A fork or scratch copy is rebuilt from the log in one go: durability of
  // each commit does not matter until the end.
  result.synchronous = opts.synchronous == sync_mode::full ? "FULL"
                                                           : "NORMAL";
  result.cache_kib = static_cast<int>(opts.cache_kib);
  return result;
}

void remove_database(const std::string& path) {
  std::error_code ec;
  for (auto suffix : {"", "-wal", "-shm", "-journal"})
    std::filesystem::remove(path + suffix, ec);
}

/// A read connection to the live file holding one snapshot open until it
/// is destroyed.
class snapshot {
public:
  static caf::expected<snapshot> open(const std::string& path,
                                      const runtime_options& opts) {
    auto copts = connection_options(opts);
    copts.mode = sqlite::open_mode::read_only;
    auto db = sqlite::database::open(path, copts);
    if (!db)
      return std::move(db.error());
    if (auto err = schema::check(db->get(), path))
      return err;
    if (auto err = db->exec("BEGIN"))
      return err;
    // The first read fixes the snapshot.
    if (auto err = db->exec("SELECT count(*) FROM sqlite_master"))
      return err;
    return snapshot{std::move(*db)};
  }

  snapshot(snapshot&&) noexcept = default;

  ~snapshot() {
    if (db_)
      (void) db_.exec("ROLLBACK");
  }

  sqlite3* get() const noexcept {
    return db_.get();
  }

private:
  explicit snapshot(sqlite::database db) : db_(std::move(db)) {
    // nop
  }

  sqlite::database db_;
};

/// Checks the cut against the live events (the fork's copy is not there
/// yet).
caf::error check_cut(sqlite3* live, const event_log& log,
                     const replay_request& req) {
  if (req.last_event_id && req.point_in_time)
    return make_error(errc::invalid_input,
                      "fork: last_event_id and point_in_time exclude each "
                      "other; give at most one");
  if (req.point_in_time && !codec::storable(*req.point_in_time))
    return make_error(errc::invalid_input,
                      "fork: point_in_time must lie in the years 0000 to "
                      "9999");
  if (!req.last_event_id)
    return {};
  if (req.last_event_id->is_null())
    return make_error(errc::invalid_input,
                      "fork: last_event_id must not be null");
  json::value key;
  auto type = log.id_kind() == event_id_kind::integer ? types::integer()
                                                      : types::uuid();
  if (auto err = type.cast(*req.last_event_id, key))
    return make_error(errc::invalid_input, "fork: last_event_id: " + *err);
  if (key.is_int64() && key.get_int64() < 1)
    return make_error(errc::invalid_input,
                      "fork: last_event_id must be positive, got "
                        + json::serialize(*req.last_event_id));
  auto stmt = sqlite::statement::prepare(
    live, "SELECT count(*) FROM " + codec::quote(log.name()) + " WHERE id = ?",
    false);
  if (!stmt)
    return std::move(stmt.error());
  codec::bind_key(*stmt, 1, key);
  auto row = stmt->step();
  if (!row)
    return std::move(row.error());
  if (!*row || stmt->column_int(0) == 0)
    return make_error(errc::invalid_input,
                      "fork: no event with id "
                        + json::serialize(*req.last_event_id)
                        + " in event log " + log.name());
  return {};
}

/// Copies the cut's events from `live` into a fresh database at `target`
/// and replays them there.
caf::expected<replay_summary> build_copy(std::shared_ptr<const model> m,
                                         const runtime_options& opts,
                                         sqlite3* live,
                                         const event_log& log,
                                         const replay_request& req,
                                         const std::string& target,
                                         const progress_fn& progress) {
  if (auto err = check_cut(live, log, req))
    return err;
  auto w = writer::open(m, target, connection_options(opts), opts.env);
  if (!w)
    return std::move(w.error());
  auto copied = copy_events(*m, live, *w, log, req);
  if (!copied)
    return std::move(copied.error());
  replayer rp{m, opts, *w};
  replay_request all;
  all.log = log.name();
  return rp.run(all, progress);
}

/// Reads one row's attribute values.
caf::expected<json::object> read_values(const resource& def,
                                        const sqlite::statement& stmt) {
  json::object result;
  int col = 0;
  for (auto& attr : def.attributes()) {
    json::value val;
    if (auto err = codec::read(stmt, col++, attr.type, val))
      return err;
    result.emplace(attr.name, std::move(val));
  }
  return result;
}

/// Compares the records of `def` in both databases, by primary key.
caf::error compare(const resource& def, sqlite3* live, sqlite3* replayed,
                   verify_report& report, uint32_t max_differences) {
  std::string cols;
  for (auto& attr : def.attributes())
    cols += (cols.empty() ? "" : ", ") + codec::quote(attr.name);
  auto sql = "SELECT " + cols + " FROM " + codec::quote(def.table())
             + " ORDER BY " + codec::quote(def.primary_key());
  auto a = sqlite::statement::prepare(live, sql, false);
  if (!a)
    return std::move(a.error());
  auto b = sqlite::statement::prepare(replayed, sql, false);
  if (!b)
    return std::move(b.error());
  auto add = [&](difference d) {
    ++report.total_differences;
    if (report.differences.size() < max_differences)
      report.differences.push_back(std::move(d));
  };
  auto& pk = def.primary_key();
  std::optional<json::object> x;
  std::optional<json::object> y;
  auto next = [&](sqlite::statement& stmt,
                  std::optional<json::object>& out) -> caf::error {
    auto row = stmt.step();
    if (!row)
      return std::move(row.error());
    if (!*row) {
      out.reset();
      return {};
    }
    auto vals = read_values(def, stmt);
    if (!vals)
      return std::move(vals.error());
    out = std::move(*vals);
    return {};
  };
  if (auto err = next(*a, x))
    return err;
  if (auto err = next(*b, y))
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
      if (auto err = next(*a, x))
        return err;
    } else if (y && (!x || less(y->at(pk), x->at(pk)))) {
      add({def.name(), y->at(pk), {}, nullptr, json::value(*y)});
      if (auto err = next(*b, y))
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
      if (auto err = next(*a, x))
        return err;
      if (auto err = next(*b, y))
        return err;
    }
  }
  return {};
}

std::string scratch_path() {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path();
  return (dir
          / ("eventactors-verify-" + std::to_string(rd()) + "-"
             + std::to_string(rd()) + ".db"))
    .string();
}

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
  auto snap = snapshot::open(live, opts);
  if (!snap)
    return std::move(snap.error());
  auto result = build_copy(m, opts, snap->get(), *log, req, target, progress);
  if (!result)
    remove_database(target);
  return result;
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
  auto snap = snapshot::open(live, opts);
  if (!snap)
    return std::move(snap.error());
  auto scratch = scratch_path();
  struct cleanup {
    std::string path;
    ~cleanup() {
      remove_database(path);
    }
  } guard{scratch};
  replay_request all;
  all.log = log->name();
  verify_report report;
  auto summary = build_copy(m, opts, snap->get(), *log, all, scratch,
                            progress);
  if (!summary)
    return std::move(summary.error());
  report.replay = std::move(*summary);
  auto copts = connection_options(opts);
  copts.mode = sqlite::open_mode::read_only;
  auto replayed = sqlite::database::open(scratch, copts);
  if (!replayed)
    return std::move(replayed.error());
  for (auto& name : m->tracked_by(log->name()))
    if (auto err = compare(*m->find(name)->def, snap->get(), replayed->get(),
                           report, max_differences))
      return err;
  return report;
}

} // namespace eventactors
