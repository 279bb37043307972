// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "writer.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <map>

#include <boost/json/serialize.hpp>

#include "codec.hpp"
#include "crypto.hpp"
#include "detail/log.hpp"
#include "eventactors/error.hpp"
#include "reader.hpp"
#include "schema.hpp"

namespace eventactors {

namespace {

std::string describe(const write_op& op) {
  return op.resource + " " + json::serialize(op.record_id);
}

/// Names the identity a unique-constraint failure of `res` comes from, by
/// the columns SQLite lists ("UNIQUE constraint failed: t.a, t.b").
std::string constraint_message(const resource& res, std::string_view msg) {
  auto pos = msg.find("UNIQUE constraint failed: ");
  if (pos == std::string_view::npos)
    return std::string{msg};
  auto cols = msg.substr(pos + 26);
  std::vector<std::string> names;
  while (!cols.empty()) {
    auto comma = cols.find(", ");
    auto item = cols.substr(0, comma);
    if (auto dot = item.find('.'); dot != std::string_view::npos)
      item = item.substr(dot + 1);
    names.emplace_back(item);
    if (comma == std::string_view::npos)
      break;
    cols = cols.substr(comma + 2);
  }
  if (names.size() == 1 && names[0] == res.primary_key())
    return res.name() + ": a record with this " + res.primary_key()
           + " already exists";
  for (auto& id : res.identities())
    if (id.attributes == names)
      return res.name() + ": identity " + id.name
             + " is taken by another record";
  return std::string{msg};
}

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

/// Names the record and the operation in a failed write; constraint
/// failures become conflicts naming the identity.
caf::error write_error(const resource& def, const write_op& op,
                       const char* what, caf::error err) {
  if (!err)
    return err;
  if (is(err, errc::conflict))
    return make_error(errc::conflict, constraint_message(def, message(err)));
  return make_error(errc::storage_failure,
                    std::string{what} + " " + describe(op) + ": "
                      + message(err));
}

} // namespace

writer::writer(std::shared_ptr<const model> m, sqlite::database db,
               environment env)
  : model_(std::move(m)), db_(std::move(db)), cache_(512),
    env_(std::move(env)) {
  // nop
}

caf::expected<writer> writer::open(std::shared_ptr<const model> m,
                                   const std::string& path,
                                   const sqlite::open_options& opts,
                                   environment env) {
  auto db = sqlite::database::open(path, opts);
  if (!db)
    return std::move(db.error());
  if (auto err = schema::migrate(db->get(), *m))
    return err;
  writer result{std::move(m), std::move(*db), std::move(env)};
  // Takes the key counters' starting point (the runtime syncs the counters
  // from the file next), and checks each encrypted log's current key
  // against the file before anything is written with it.
  if (auto err = result.begin())
    return err;
  for (auto& log : result.model_->definitions().logs()) {
    if (!log.keys())
      continue;
    auto id = log.keys()->current_key_id();
    if (!id)
      return make_error(errc::invalid_definition, "event_log " + log.name()
                                                    + ": "
                                                    + message(id.error()));
    auto key = log.keys()->key(*id);
    if (!key)
      return make_error(errc::invalid_definition, "event_log " + log.name()
                                                    + ": "
                                                    + message(key.error()));
    if (auto err = result.check_key(log, *id, *key)) {
      result.rollback();
      return err;
    }
  }
  if (auto err = result.commit())
    return err;
  // New UUID v7 event ids sort after every stored one.
  for (auto& log : result.model_->definitions().logs()) {
    if (log.id_kind() != event_id_kind::uuid_v7)
      continue;
    auto stmt = result.prepare("SELECT max(id) FROM "
                               + codec::quote(log.name()));
    if (!stmt)
      return std::move(stmt.error());
    sqlite::reset_guard guard{**stmt};
    auto row = (*stmt)->step();
    if (!row)
      return std::move(row.error());
    if (*row && !(*stmt)->is_null(0))
      if (auto last = uuid::parse((*stmt)->column_text(0)))
        result.event_ids_.resume_after(*last);
  }
  return result;
}

std::string writer::next_event_id() {
  // Random bits from the environment's generator (reproducible under a
  // deterministic environment); version and variant bits are dropped.
  auto random = uuid::parse(env_.uuid_v4()).value_or(uuid::bytes{});
  uint64_t r1 = 0;
  uint64_t r2 = 0;
  for (size_t i = 0; i < 8; ++i) {
    r1 = r1 << 8 | random[i];
    r2 = r2 << 8 | random[8 + i];
  }
  return uuid::format(event_ids_.next(env_.clock(), r1, r2));
}

caf::expected<sqlite::statement*> writer::prepare(const std::string& sql) {
  return cache_.get(db_.get(), sql);
}

caf::error writer::run(const std::string& sql) {
  auto stmt = prepare(sql);
  if (!stmt)
    return std::move(stmt.error());
  sqlite::reset_guard guard{**stmt};
  return (*stmt)->run();
}

caf::error writer::begin() {
  if (open_)
    return {};
  if (auto err = run("BEGIN IMMEDIATE"))
    return err;
  open_ = true;
  if (auto err = refresh_keys()) {
    rollback();
    return err;
  }
  return {};
}

caf::error writer::refresh_keys() {
  int64_t version = 0;
  {
    auto stmt = prepare("PRAGMA data_version");
    if (!stmt)
      return std::move(stmt.error());
    sqlite::reset_guard guard{**stmt};
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
    sqlite::reset_guard guard{st};
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
  for (auto& [name, info] : model_->resources()) {
    if (info->def->key() != key_kind::integer)
      continue;
    auto stmt = prepare("SELECT max(" + codec::quote(info->def->primary_key())
                        + ") FROM " + codec::quote(info->def->table()));
    if (!stmt)
      return std::move(stmt.error());
    auto& st = **stmt;
    sqlite::reset_guard guard{st};
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
    while (cur < high + 1 && !info->next_id.compare_exchange_weak(cur, high + 1))
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
  sqlite::reset_guard guard{st};
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
    sqlite::reset_guard guard{st};
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
    sqlite::reset_guard guard{st};
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
  sqlite::reset_guard guard{st};
  st.bind(1, std::string_view{log.name()});
  st.bind(2, std::string_view{key_id});
  st.bind_blob(3, std::string_view{*sealed});
  if (auto err = st.run())
    return err;
  pending_keys_.emplace(&log, key_id);
  return {};
}

caf::error writer::commit() {
  if (!open_)
    return {};
  open_ = false;
  if (auto err = run("COMMIT")) {
    // A failed COMMIT may leave the transaction open; end it.
    if (!sqlite3_get_autocommit(db_.get()))
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    pending_keys_.clear();
    return err;
  }
  checked_keys_.merge(pending_keys_);
  pending_keys_.clear();
  return {};
}

void writer::rollback() noexcept {
  // Whatever `open_` says: a COMMIT that threw may have left SQLite inside
  // the transaction after `commit` cleared the flag.
  open_ = false;
  pending_keys_.clear();
  if (!sqlite3_get_autocommit(db_.get())
      && sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr)
           != SQLITE_OK)
    SPDLOG_LOGGER_WARN(&detail::log(), "rollback failed: {}",
                       sqlite3_errmsg(db_.get()));
}

caf::expected<unit_receipt> writer::apply(const unit& u) {
  if (!open_)
    if (auto err = begin())
      return err;
  if (auto err = run("SAVEPOINT unit"))
    return err;
  unit_receipt receipt;
  receipt.event_ids.reserve(u.ops.size());
  for (auto& op : u.ops) {
    json::value id;
    if (auto err = apply_op(op, id)) {
      // A check value this unit wrote is gone: check again next time.
      pending_keys_.clear();
      if (run("ROLLBACK TO unit") || run("RELEASE unit")) {
        // The transaction itself is broken (e.g. after SQLITE_FULL):
        // abandon it; the caller fails every unit in it.
        rollback();
      }
      return err;
    }
    receipt.event_ids.push_back(std::move(id));
  }
  if (auto err = run("RELEASE unit")) {
    rollback();
    return err;
  }
  return receipt;
}

caf::expected<unit_receipt> writer::apply_unguarded(const unit& u) {
  if (!open_)
    if (auto err = begin())
      return err;
  unit_receipt receipt;
  receipt.event_ids.reserve(u.ops.size());
  for (auto& op : u.ops) {
    json::value id;
    if (auto err = apply_op(op, id))
      return err;
    receipt.event_ids.push_back(std::move(id));
  }
  return receipt;
}

caf::error writer::apply_op(const write_op& op, json::value& event_id) {
  if (op.kind == write_kind::none) {
    // An event on its own (runtime::append): its resource need not exist.
    auto id = write_event(op);
    if (!id)
      return std::move(id.error());
    event_id = std::move(*id);
    return {};
  }
  auto res = model_->find(op.resource);
  if (!res)
    return make_error(errc::unknown_resource,
                      "no resource \"" + op.resource + "\"");
  // The order of AshEvents: the event is appended with its record change,
  // inside the same savepoint; which comes first does not matter to
  // readers, who see both or neither.
  if (auto err = write_record(*res, op))
    return err;
  if (op.event) {
    auto id = write_event(op);
    if (!id)
      return std::move(id.error());
    event_id = std::move(*id);
  }
  return {};
}

caf::error writer::write_record(const resource_info& res,
                                const write_op& op) {
  auto& def = *res.def;
  if (op.generated_key)
    if (auto err = check_generated_key(res, op))
      return err;
  // Inserts (most writes) use the statement built once per resource.
  std::string table;
  std::string pk;
  if (op.kind == write_kind::update || op.kind == write_kind::remove) {
    table = codec::quote(def.table());
    pk = codec::quote(def.primary_key());
  }
  std::string sql;
  switch (op.kind) {
    case write_kind::insert: {
      auto stmt = prepare(res.insert_sql);
      if (!stmt)
        return std::move(stmt.error());
      auto& st = **stmt;
      sqlite::reset_guard guard{st};
      int index = 1;
      for (auto& attr : def.attributes()) {
        auto val = op.values.if_contains(attr.name);
        codec::bind(st, index++, attr.type, val ? *val : json::value{});
      }
      return write_error(def, op, "insert", st.run());
    }
    case write_kind::update: {
      sql = "UPDATE " + table + " SET ";
      std::vector<const attribute*> cols;
      for (auto& [key, val] : op.values) {
        auto attr = def.find_attribute(key);
        if (!attr)
          return make_error(errc::invalid_input,
                            def.name() + " has no attribute "
                              + std::string{key});
        cols.push_back(attr);
        sql += codec::quote(attr->name) + " = ?, ";
      }
      sql += std::string{schema::version_column} + " = "
             + schema::version_column + " + 1 WHERE " + pk + " = ?";
      if (op.expected_version > 0)
        sql += " AND " + std::string{schema::version_column} + " = ?";
      auto stmt = prepare(sql);
      if (!stmt)
        return std::move(stmt.error());
      auto& st = **stmt;
      sqlite::reset_guard guard{st};
      int index = 1;
      for (auto attr : cols)
        codec::bind(st, index++, attr->type, op.values.at(attr->name));
      codec::bind_key(st, index++, op.record_id);
      if (op.expected_version > 0)
        st.bind(index, op.expected_version);
      if (auto err = write_error(def, op, "update", st.run()))
        return err;
      if (sqlite3_changes(db_.get()) == 0)
        return make_error(errc::concurrent_modification,
                          describe(op) + " changed or vanished since read");
      return {};
    }
    case write_kind::none:
      return {};
    case write_kind::remove: {
      sql = "DELETE FROM " + table + " WHERE " + pk + " = ?";
      if (op.expected_version > 0)
        sql += " AND " + std::string{schema::version_column} + " = ?";
      auto stmt = prepare(sql);
      if (!stmt)
        return std::move(stmt.error());
      auto& st = **stmt;
      sqlite::reset_guard guard{st};
      codec::bind_key(st, 1, op.record_id);
      if (op.expected_version > 0)
        st.bind(2, op.expected_version);
      if (auto err = write_error(def, op, "delete", st.run()))
        return err;
      if (sqlite3_changes(db_.get()) == 0)
        return make_error(errc::concurrent_modification,
                          describe(op) + " changed or vanished since read");
      return {};
    }
  }
  return {};
}

caf::expected<json::value> writer::write_event(const write_op& op) {
  auto& ev = *op.event;
  auto log = model_->find_log(ev.log);
  if (!log)
    return make_error(errc::storage_failure,
                      "no event log \"" + ev.log + "\"");
  bool v7 = log->id_kind() == event_id_kind::uuid_v7;
  // Sealed payloads are bound to their event's id (else two events alike in
  // all else could swap payloads or places unnoticed): pick the integer id
  // here, as AUTOINCREMENT would, above every id ever used.
  bool sealed_log = log->keys() != nullptr;
  json::value id;
  if (sealed_log && !v7) {
    auto next = prepare("SELECT max(ifnull((SELECT seq FROM sqlite_sequence "
                        "WHERE name = ?), 0), ifnull((SELECT max(id) FROM "
                        + codec::quote(log->name()) + "), 0)) + 1");
    if (!next)
      return std::move(next.error());
    sqlite::reset_guard next_guard{**next};
    (*next)->bind(1, std::string_view{log->name()});
    auto row = (*next)->step();
    if (!row)
      return std::move(row.error());
    id = (*next)->column_int(0);
  }
  auto& sql = event_sql_[log];
  if (sql.empty()) {
    sql = "INSERT INTO " + codec::quote(log->name()) + " (";
    std::string params;
    if (v7 || sealed_log) {
      sql += "id, ";
      params += "?, ";
    }
    sql += "resource, record_id, action, action_type, ";
    params += "?, ?, ?, ?, ";
    for (auto& col : log->actor_columns()) {
      sql += codec::quote(col.name) + ", ";
      params += "?, ";
    }
    sql += "data, changed_attributes, metadata, version, occurred_at, "
           "key_id) VALUES ("
           + params + "?, ?, ?, ?, ?, ?)";
  }
  auto stmt = prepare(sql);
  if (!stmt)
    return std::move(stmt.error());
  auto& st = **stmt;
  sqlite::reset_guard guard{st};
  int index = 1;
  if (v7) {
    // Generated here, by the only writer, so ids increase in commit order.
    id = json::string{next_event_id()};
    st.bind(index++, std::string_view{id.get_string()});
  } else if (sealed_log) {
    st.bind(index++, id.as_int64());
  }
  st.bind(index++, std::string_view{op.resource});
  codec::bind_key(st, index++, op.record_id);
  st.bind(index++, std::string_view{ev.action});
  auto type = to_string(ev.action_type);
  st.bind(index++, std::string_view{type});
  for (auto& col : log->actor_columns()) {
    if (auto val = ev.actors.if_contains(col.name))
      codec::bind_key(st, index++, *val);
    else
      st.bind_null(index++);
  }
  std::string payloads[] = {codec::to_text(ev.data),
                            codec::to_text(ev.changed_attributes),
                            codec::to_text(ev.metadata)};
  auto at = format_timestamp(ev.occurred_at);
  std::string key_id;
  if (auto& keys = log->keys()) {
    // Sealed with the current key, bound to this event's identity.
    auto id_of_key = keys->current_key_id();
    if (!id_of_key)
      return make_error(errc::storage_failure,
                        "encrypt event for " + describe(op) + ": "
                          + message(id_of_key.error()));
    key_id = *id_of_key;
    auto key = keys->key(key_id);
    if (!key)
      return make_error(errc::storage_failure,
                        "encrypt event for " + describe(op) + ": "
                          + message(key.error()));
    // A key id new to this writer (a provider that rotates while running):
    // checked against the file before the first event uses it.
    if (auto err = check_key(*log, key_id, *key))
      return err;
    sealed_fields bound{op.resource, op.record_id, ev.action, type,
                        ev.actors,   ev.version,   at,        key_id};
    for (int i = 0; i < 3; ++i) {
      auto sealed = crypto::seal(
        *key, payloads[i], sealing_context(*log, id, sealed_columns[i], bound));
      if (!sealed)
        return make_error(errc::storage_failure,
                          "encrypt event for " + describe(op) + ": "
                            + message(sealed.error()));
      payloads[i] = std::move(*sealed);
      st.bind_blob(index++, std::string_view{payloads[i]});
    }
  } else {
    for (auto& p : payloads)
      st.bind(index++, std::string_view{p});
  }
  st.bind(index++, int64_t{ev.version});
  st.bind(index++, std::string_view{at});
  if (key_id.empty())
    st.bind_null(index++);
  else
    st.bind(index++, std::string_view{key_id});
  if (auto rc = st.run())
    return make_error(errc::storage_failure,
                      "append event for " + describe(op) + ": "
                        + message(rc));
  if (!v7)
    id = sqlite3_last_insert_rowid(db_.get());
  return id;
}

} // namespace eventactors
