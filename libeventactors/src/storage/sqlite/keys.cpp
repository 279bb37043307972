// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The writer's checks of keys: integer record keys other processes
// committed, and encryption keys against the check values of the file.

#include "storage/sqlite/writer.hpp"

#include <algorithm>
#include <limits>
#include <map>

#include <boost/json/serialize.hpp>

#include "base/crypto.hpp"
#include "eventactors/error.hpp"
#include "storage/sqlite/codec.hpp"
#include "storage/sqlite/reader.hpp"

namespace eventactors::sqlite {

namespace {

/// The text a key check value seals.
constexpr std::string_view key_check_text = "eventactors key check";

/// What a key check value is bound to: its log and key id.
std::string key_check_context(const event_log& log, std::string_view key_id) {
  std::string ctx{"eventactors/key-check|"};
  for (std::string_view x : {std::string_view{log.name()}, key_id}) {
    ctx += std::to_string(x.size());
    ctx += ':';
    ctx += x;
    ctx += '|';
  }
  return ctx;
}

} // namespace

caf::error writer::refresh_keys() {
  int64_t version = 0;
  {
    auto stmt = prepare("PRAGMA data_version");
    if (!stmt)
      return std::move(stmt.error());
    reset_guard guard{**stmt};
    auto row = (*stmt)->step();
    if (!row)
      return std::move(row.error());
    version = *row ? (*stmt)->column_int(0) : 0;
  }
  // The version changes only when another connection commits: the cheap
  // check every transaction makes.
  if (data_version_ && *data_version_ == version)
    return {};
  bool first = !data_version_;
  data_version_ = version;
  // The integer keys other processes used since this one last looked:
  // their records' keys, and the record ids of their events (a record
  // created and destroyed meanwhile keeps its key from reuse).
  std::map<std::string, int64_t, std::less<>> top;
  for (auto& log : model_->definitions().logs()) {
    bool wanted = false;
    for (auto& [name, info] : model_->resources())
      wanted = wanted
               || (info->log == &log
                   && info->def->key() == key_kind::integer);
    if (!wanted)
      continue;
    auto& seen = seen_rowid_[&log];
    auto table = codec::quote(log.name());
    auto stmt = prepare(
      first ? "SELECT NULL, NULL, max(rowid) FROM " + table
            : "SELECT resource, max(CAST(record_id AS INTEGER)), max(rowid) "
              "FROM "
                + table + " WHERE rowid > ? GROUP BY resource");
    if (!stmt)
      return std::move(stmt.error());
    auto& st = **stmt;
    reset_guard guard{st};
    if (!first)
      st.bind(1, seen);
    for (;;) {
      auto row = st.step();
      if (!row)
        return std::move(row.error());
      if (!*row)
        break;
      if (!st.is_null(2))
        seen = std::max(seen, st.column_int(2));
      if (!st.is_null(0) && !st.is_null(1)) {
        auto& t = top[std::string{st.column_text(0)}];
        t = std::max(t, st.column_int(1));
      }
    }
  }
  // At the start the runtime syncs the counters itself.
  if (first)
    return {};
  return raise_key_counters(top);
}

caf::error writer::raise_key_counters(
  const std::map<std::string, int64_t, std::less<>>& top) {
  for (auto& [name, info] : model_->resources()) {
    if (info->def->key() != key_kind::integer)
      continue;
    auto stmt = prepare("SELECT max(" + codec::quote(info->def->primary_key())
                        + ") FROM " + codec::quote(info->def->table()));
    if (!stmt)
      return std::move(stmt.error());
    auto& st = **stmt;
    reset_guard guard{st};
    auto row = st.step();
    if (!row)
      return std::move(row.error());
    int64_t high = 0;
    if (*row && !st.is_null(0))
      high = st.column_int(0);
    if (auto i = top.find(name); i != top.end())
      high = std::max(high, i->second);
    if (high == std::numeric_limits<int64_t>::max())
      continue;
    auto& floor = key_floor_[info.get()];
    floor = std::max(floor, high + 1);
    auto cur = info->next_id.load();
    while (cur < high + 1
           && !info->next_id.compare_exchange_weak(cur, high + 1))
      ; // cur reloaded by compare_exchange_weak
  }
  return {};
}

caf::error writer::check_generated_key(const resource_info& res,
                                       const write_op& op) {
  auto i = key_floor_.find(&res);
  if (i == key_floor_.end() || !op.record_id.is_int64()
      || op.record_id.get_int64() >= i->second)
    return {};
  // Generated before this process saw what others committed: is it used?
  std::string sql = "SELECT EXISTS (SELECT 1 FROM "
                    + codec::quote(res.def->table()) + " WHERE "
                    + codec::quote(res.def->primary_key()) + " = ?1)";
  if (res.log)
    sql += " OR EXISTS (SELECT 1 FROM " + codec::quote(res.log->name())
           + " WHERE resource = ?2 AND record_id = ?1)";
  auto stmt = prepare(sql);
  if (!stmt)
    return std::move(stmt.error());
  auto& st = **stmt;
  reset_guard guard{st};
  codec::bind_key(st, 1, op.record_id);
  if (res.log)
    st.bind(2, std::string_view{res.def->name()});
  auto row = st.step();
  if (!row)
    return std::move(row.error());
  if (*row && st.column_int(0) != 0)
    return make_error(errc::concurrent_modification,
                      res.def->name() + ": the generated "
                        + res.def->primary_key() + " "
                        + json::serialize(op.record_id)
                        + " was taken by another process");
  return {};
}

caf::error writer::check_key(const event_log& log, const std::string& key_id,
                             const encryption_key& key) {
  if (checked_keys_.count({&log, key_id})
      || pending_keys_.count({&log, key_id}))
    return {};
  auto context = key_check_context(log, key_id);
  auto wrong = [&] {
    return make_error(errc::decryption_failed,
                      "event log " + log.name() + ": key \"" + key_id
                        + "\" of the " + log.keys()->describe()
                        + " is not the key that encrypted this log's "
                          "events under \""
                        + key_id
                        + "\"; nothing was written (restore that key, or "
                          "give the new key a new id)");
  };
  auto stmt = prepare("SELECT check_value FROM eventactors_key_checks "
                      "WHERE log = ? AND key_id = ?");
  if (!stmt)
    return std::move(stmt.error());
  {
    auto& st = **stmt;
    reset_guard guard{st};
    st.bind(1, std::string_view{log.name()});
    st.bind(2, std::string_view{key_id});
    auto row = st.step();
    if (!row)
      return std::move(row.error());
    if (*row) {
      auto opened = crypto::open(key, st.column_blob(0), context);
      if (!opened || *opened != key_check_text)
        return wrong();
      pending_keys_.emplace(&log, key_id);
      return {};
    }
  }
  // No check value yet (a log from before check values, or a new key id):
  // the key must open the events sealed with it, if there are any. The
  // newest and the oldest are tried: one damaged event alone does not
  // refuse a right key.
  bool opened_one = false;
  bool failed_one = false;
  for (auto order : {"DESC", "ASC"}) {
    auto ev = prepare("SELECT " + event_columns(log) + " FROM "
                      + codec::quote(log.name())
                      + " WHERE key_id = ? ORDER BY rowid " + order
                      + " LIMIT 1");
    if (!ev)
      return std::move(ev.error());
    auto& st = **ev;
    reset_guard guard{st};
    st.bind(1, std::string_view{key_id});
    auto row = st.step();
    if (!row)
      return std::move(row.error());
    if (!*row)
      break;
    auto read = read_event(log, st);
    if (read)
      opened_one = true;
    else if (is(read.error(), errc::decryption_failed))
      failed_one = true;
    if (opened_one)
      break;
  }
  if (failed_one && !opened_one)
    return wrong();
  auto sealed = crypto::seal(key, key_check_text, context);
  if (!sealed)
    return std::move(sealed.error());
  auto ins = prepare("INSERT OR REPLACE INTO eventactors_key_checks (log, "
                     "key_id, check_value) VALUES (?, ?, ?)");
  if (!ins)
    return std::move(ins.error());
  auto& st = **ins;
  reset_guard guard{st};
  st.bind(1, std::string_view{log.name()});
  st.bind(2, std::string_view{key_id});
  st.bind_blob(3, std::string_view{*sealed});
  if (auto err = st.run())
    return err;
  pending_keys_.emplace(&log, key_id);
  return {};
}

} // namespace eventactors::sqlite
