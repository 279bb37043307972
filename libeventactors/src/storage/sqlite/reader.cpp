// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "storage/sqlite/reader.hpp"

#include <algorithm>
#include <limits>

#include <sqlite3.h>

#include <boost/json/serialize.hpp>

#include "base/crypto.hpp"
#include "eventactors/error.hpp"
#include "storage/sealing.hpp"
#include "storage/sqlite/codec.hpp"
#include "storage/sqlite/schema.hpp"

namespace eventactors::sqlite {

namespace {

action_kind parse_action_type(std::string_view str) {
  if (str == "update")
    return action_kind::update;
  if (str == "destroy")
    return action_kind::destroy;
  return action_kind::create;
}

} // namespace

reader::reader(std::shared_ptr<const model> m, database db, sqlite3* raw)
  : model_(std::move(m)), db_(std::move(db)), raw_(raw), cache_(256) {
  // nop
}

reader::~reader() {
  // nop: the statements go before the snapshot's transaction, which goes
  // before the connection (members are destroyed in reverse order).
}

caf::expected<std::unique_ptr<reader>>
reader::open(std::shared_ptr<const model> m, const std::string& path,
             open_options opts) {
  opts.mode = open_mode::read_only;
  auto db = database::open(path, opts);
  if (!db)
    return std::move(db.error());
  auto raw = db->get();
  return std::unique_ptr<reader>{new reader{std::move(m), std::move(*db), raw}};
}

caf::expected<std::unique_ptr<reader>>
reader::open_snapshot(std::shared_ptr<const model> m, const std::string& path,
                      open_options opts) {
  auto result = open(std::move(m), path, opts);
  if (!result)
    return result;
  auto db = (*result)->raw_;
  if (auto err = schema::check(db, path))
    return err;
  auto tx = transaction::begin_read(db);
  if (!tx)
    return std::move(tx.error());
  (*result)->snapshot_.emplace(std::move(*tx));
  // The first read fixes the snapshot.
  if (auto err = exec(db, "SELECT count(*) FROM sqlite_master"))
    return err;
  return result;
}

std::unique_ptr<reader> reader::borrow(std::shared_ptr<const model> m,
                                       sqlite3* db) {
  return std::unique_ptr<reader>{new reader{std::move(m), database{}, db}};
}

caf::expected<statement*> reader::prepare(const std::string& sql) {
  return cache_.get(raw_, sql);
}

caf::expected<std::vector<stored_record>>
reader::read_rows(const resource_info& res, statement& stmt) {
  std::vector<stored_record> result;
  for (;;) {
    auto row = stmt.step();
    if (!row)
      return std::move(row.error());
    if (!*row)
      return result;
    auto rec = read_row(res, stmt);
    if (!rec)
      return std::move(rec.error());
    result.push_back(std::move(*rec));
  }
}

std::string record_columns(const resource& res) {
  std::string sql;
  for (auto& attr : res.attributes()) {
    sql += codec::quote(attr.name);
    sql += ", ";
  }
  sql += schema::version_column;
  return sql;
}

caf::expected<stored_record> read_row(const resource_info& res,
                                      const statement& stmt) {
  stored_record result;
  int col = 0;
  for (auto& attr : res.def->attributes()) {
    json::value val;
    if (auto err = codec::read(stmt, col++, attr.type, val))
      return err;
    result.values.emplace(attr.name, std::move(val));
  }
  result.version = stmt.column_int(col);
  return result;
}

caf::expected<std::optional<stored_record>>
reader::get(const resource_info& res, const json::value& id) {
  auto i = by_key_.find(&res);
  if (i == by_key_.end()) {
    auto& def = *res.def;
    auto stmt = statement::prepare(
      raw_, "SELECT " + record_columns(def) + " FROM "
              + codec::quote(def.table()) + " WHERE "
              + codec::quote(def.primary_key()) + " = ?");
    if (!stmt)
      return std::move(stmt.error());
    i = by_key_.emplace(&res, std::move(*stmt)).first;
  }
  auto& st = i->second;
  reset_guard guard{st};
  codec::bind_key(st, 1, id);
  auto row = st.step();
  if (!row)
    return std::move(row.error());
  if (!*row)
    return std::optional<stored_record>{};
  auto rec = read_row(res, st);
  if (!rec)
    return std::move(rec.error());
  return std::optional<stored_record>{std::move(*rec)};
}

caf::expected<std::optional<stored_record>>
reader::find_identity(const resource_info& res, const identity& id,
                      const json::object& values, const json::value& exclude) {
  auto& def = *res.def;
  auto sql = "SELECT " + record_columns(def) + " FROM "
             + codec::quote(def.table()) + " WHERE ";
  for (size_t i = 0; i < id.attributes.size(); ++i) {
    if (i > 0)
      sql += " AND ";
    sql += codec::quote(id.attributes[i]) + " = ?";
  }
  sql += " AND " + codec::quote(def.primary_key()) + " IS NOT ? LIMIT 1";
  auto stmt = prepare(sql);
  if (!stmt)
    return std::move(stmt.error());
  auto& st = **stmt;
  reset_guard guard{st};
  int index = 1;
  for (auto& name : id.attributes) {
    auto attr = def.find_attribute(name);
    auto val = values.if_contains(name);
    codec::bind(st, index++, attr->type, val ? *val : json::value{});
  }
  codec::bind_key(st, index, exclude);
  auto row = st.step();
  if (!row)
    return std::move(row.error());
  if (!*row)
    return std::optional<stored_record>{};
  auto rec = read_row(res, st);
  if (!rec)
    return std::move(rec.error());
  return std::optional<stored_record>{std::move(*rec)};
}

caf::expected<std::vector<stored_record>>
reader::find_by(const resource_info& res, std::string_view attribute,
                const json::value& value, uint32_t limit) {
  auto& def = *res.def;
  auto attr = def.find_attribute(attribute);
  if (!attr)
    return make_error(errc::invalid_input,
                      def.name() + " has no attribute "
                        + std::string{attribute});
  auto sql = "SELECT " + record_columns(def) + " FROM "
             + codec::quote(def.table()) + " WHERE "
             + codec::quote(attribute) + " = ? ORDER BY "
             + codec::quote(def.primary_key()) + " LIMIT ?";
  auto stmt = prepare(sql);
  if (!stmt)
    return std::move(stmt.error());
  auto& st = **stmt;
  reset_guard guard{st};
  codec::bind(st, 1, attr->type, value);
  st.bind(2, static_cast<int64_t>(limit));
  return read_rows(res, st);
}

caf::expected<std::vector<stored_record>>
reader::list(const resource_info& res, uint64_t offset, uint32_t limit) {
  auto& def = *res.def;
  auto sql = "SELECT " + record_columns(def) + " FROM "
             + codec::quote(def.table()) + " ORDER BY "
             + codec::quote(def.primary_key()) + " LIMIT ? OFFSET ?";
  auto stmt = prepare(sql);
  if (!stmt)
    return std::move(stmt.error());
  auto& st = **stmt;
  reset_guard guard{st};
  st.bind(1, static_cast<int64_t>(limit));
  // SQLite takes a negative OFFSET as 0: skipping more than 2^63-1 rows
  // skips them all.
  st.bind(2, static_cast<int64_t>(std::min<uint64_t>(
               offset, std::numeric_limits<int64_t>::max())));
  return read_rows(res, st);
}

caf::expected<std::vector<stored_record>>
reader::records_after(const resource_info& res,
                      const std::optional<json::value>& after,
                      uint32_t limit) {
  auto& def = *res.def;
  auto pk = codec::quote(def.primary_key());
  auto sql = "SELECT " + record_columns(def) + " FROM "
             + codec::quote(def.table())
             + (after ? " WHERE " + pk + " > ?" : "") + " ORDER BY " + pk
             + " LIMIT ?";
  auto stmt = prepare(sql);
  if (!stmt)
    return std::move(stmt.error());
  auto& st = **stmt;
  reset_guard guard{st};
  int index = 1;
  if (after)
    codec::bind_key(st, index++, *after);
  st.bind(index, static_cast<int64_t>(limit));
  return read_rows(res, st);
}

caf::expected<log_stats> reader::stats(const event_log& log) {
  log_stats result;
  auto table = codec::quote(log.name());
  auto pairs = [&](const std::string& sql,
                   std::vector<std::pair<std::string, uint64_t>>& out)
    -> caf::error {
    auto stmt = prepare(sql);
    if (!stmt)
      return std::move(stmt.error());
    auto& st = **stmt;
    reset_guard guard{st};
    for (;;) {
      auto row = st.step();
      if (!row)
        return std::move(row.error());
      if (!*row)
        return {};
      out.emplace_back(std::string{st.column_text(0)},
                       static_cast<uint64_t>(st.column_int(1)));
    }
  };
  if (auto err = pairs("SELECT resource || '.' || action, count(*) FROM "
                         + table + " GROUP BY resource, action "
                                   "ORDER BY count(*) DESC, 1",
                       result.per_action))
    return err;
  if (auto err = pairs("SELECT substr(occurred_at, 1, 10), count(*) FROM "
                         + table + " GROUP BY 1 ORDER BY 1",
                       result.per_day))
    return err;
  // Per actor: the first non-null actor column of each event.
  std::string who = "'(none)'";
  for (auto it = log.actor_columns().rbegin();
       it != log.actor_columns().rend(); ++it)
    who = "CASE WHEN " + codec::quote(it->name) + " IS NOT NULL THEN '"
          + it->name + "=' || " + codec::quote(it->name) + " ELSE " + who
          + " END";
  if (auto err = pairs("SELECT " + who + ", count(*) FROM " + table
                         + " GROUP BY 1 ORDER BY count(*) DESC, 1",
                       result.per_actor))
    return err;
  for (auto& [name, n] : result.per_action)
    result.events += n;
  return result;
}

caf::expected<int64_t> reader::max_key(const resource_info& res) {
  auto& def = *res.def;
  auto sql = "SELECT max(" + codec::quote(def.primary_key()) + ") FROM "
             + codec::quote(def.table());
  auto stmt = prepare(sql);
  if (!stmt)
    return std::move(stmt.error());
  auto& st = **stmt;
  reset_guard guard{st};
  auto row = st.step();
  if (!row)
    return std::move(row.error());
  if (!*row || st.is_null(0))
    return int64_t{0};
  return st.column_int(0);
}

caf::expected<int64_t> reader::max_key_ever(const resource_info& res) {
  auto top = max_key(res);
  if (!top || !res.log)
    return top;
  auto sql = "SELECT max(CAST(record_id AS INTEGER)) FROM "
             + codec::quote(res.log->name()) + " WHERE resource = ?";
  auto stmt = prepare(sql);
  if (!stmt)
    return std::move(stmt.error());
  auto& st = **stmt;
  reset_guard guard{st};
  st.bind(1, std::string_view{res.def->name()});
  auto row = st.step();
  if (!row)
    return std::move(row.error());
  if (*row && !st.is_null(0))
    return std::max(*top, st.column_int(0));
  return top;
}

std::string event_columns(const event_log& log) {
  std::string sql = "id, resource, record_id, action, action_type, ";
  for (auto& col : log.actor_columns())
    sql += codec::quote(col.name) + ", ";
  sql += "data, changed_attributes, metadata, version, occurred_at, key_id";
  return sql;
}

caf::expected<event> read_event(const event_log& log,
                                const statement& stmt) {
  event ev;
  ev.log = log.name();
  // Before reading it: reading converts the value.
  bool id_is_blob = stmt.column_type(0) == SQLITE_BLOB;
  ev.id = codec::read_key(stmt, 0);
  ev.resource = std::string{stmt.column_text(1)};
  ev.record_id = codec::read_key(stmt, 2);
  ev.action = std::string{stmt.column_text(3)};
  ev.action_type = parse_action_type(stmt.column_text(4));
  int col = 5;
  for (auto& c : log.actor_columns())
    ev.actors.emplace(c.name, codec::read_key(stmt, col++));
  auto where = [&] {
    return "event " + json::serialize(ev.id) + " of " + log.name();
  };
  // An id stored as a BLOB (by another tool) reads like text but matches no
  // id filter, so paging past it would skip events: refuse it.
  if (id_is_blob)
    return make_error(errc::storage_failure,
                      "malformed id (a BLOB) in " + where());
  auto payload_col = col;
  col += 3;
  ev.version = static_cast<int32_t>(stmt.column_int(col++));
  auto at_text = std::string{stmt.column_text(col++)};
  auto at = parse_timestamp(at_text);
  if (!at)
    return make_error(errc::storage_failure,
                      "malformed occurred_at in " + where());
  ev.occurred_at = *at;
  // Payloads: JSON text, or sealed with the key the row names.
  std::optional<encryption_key> key;
  std::string key_id;
  if (stmt.is_null(col)) {
    if (log.keys() && !log.plaintext_events_accepted())
      return make_error(errc::decryption_failed,
                        where() + " is stored unencrypted, but the log is "
                          "encrypted (events written before the log was "
                          "encrypted need accept_plaintext_events)");
  } else {
    key_id = std::string{stmt.column_text(col)};
    if (!log.keys())
      return make_error(errc::decryption_failed,
                        where() + " is encrypted (key \"" + key_id
                          + "\") but the event log has no key provider");
    auto k = log.keys()->key(key_id);
    if (!k)
      return make_error(errc::decryption_failed,
                        where() + ": " + message(k.error()));
    key = *k;
  }
  auto type_text = to_string(ev.action_type);
  sealed_fields sealed{ev.resource, ev.record_id, ev.action, type_text,
                       ev.actors, ev.version, at_text, key_id};
  json::object* targets[] = {&ev.data, &ev.changed_attributes, &ev.metadata};
  for (int i = 0; i < 3; ++i) {
    std::string plain;
    std::string_view text;
    if (key) {
      auto opened = crypto::open(
        *key, stmt.column_blob(payload_col + i),
        sealing_context(log, ev.id, sealed_columns[i], sealed));
      if (!opened)
        return make_error(errc::decryption_failed,
                          where() + ": " + sealed_columns[i] + " (key \""
                            + key_id + "\"): " + message(opened.error()));
      plain = std::move(*opened);
      text = plain;
    } else {
      text = stmt.column_text(payload_col + i);
    }
    if (auto err = codec::parse_object(text, where(), *targets[i]))
      return err;
  }
  return ev;
}

caf::error event_conditions(const event_log& log, const event_filter& f,
                            bool paging, std::string& sql,
                            std::vector<json::value>& binds) {
  auto add = [&](std::string cond, json::value val) {
    sql += " AND " + cond;
    binds.push_back(std::move(val));
  };
  if (f.resource)
    add("resource = ?", json::string{*f.resource});
  if (f.record_id) {
    // Cast like the column, so an upper-case UUID or an integer given as
    // text still matches.
    json::value key;
    auto type = log.record_id() == record_id_kind::uuid ? types::uuid()
                : log.record_id() == record_id_kind::integer
                  ? types::integer()
                  : types::string();
    const json::value* given = &*f.record_id;
    json::value text;
    if (log.record_id() == record_id_kind::string
        && (given->is_int64() || given->is_uint64())) {
      text = json::string{json::serialize(*given)};
      given = &text;
    }
    if (auto err = type.cast(*given, key))
      return make_error(errc::invalid_input,
                        "event filter: record_id: " + *err);
    add("record_id = ?", std::move(key));
  }
  if (f.action)
    add("action = ?", json::string{*f.action});
  if (f.actor) {
    if (!log.column_named(f.actor->first))
      return make_error(errc::invalid_input,
                        "event log " + log.name() + " has no actor column "
                          + f.actor->first);
    add(codec::quote(f.actor->first) + " = ?", f.actor->second);
  }
  if (paging && f.after_id)
    add(f.descending ? "id < ?" : "id > ?", *f.after_id);
  if (f.from_id)
    add("id >= ?", *f.from_id);
  if (f.to_id)
    add("id <= ?", *f.to_id);
  if (f.from_time)
    add("occurred_at >= ?", json::string{format_timestamp(*f.from_time)});
  if (f.to_time)
    add("occurred_at <= ?", json::string{format_timestamp(*f.to_time)});
  return {};
}

caf::expected<uint64_t> reader::count_events(const event_log& log,
                                             const event_filter& f) {
  std::string sql = "SELECT count(*) FROM " + codec::quote(log.name())
                    + " WHERE 1";
  std::vector<json::value> binds;
  if (auto err = event_conditions(log, f, false, sql, binds))
    return err;
  auto stmt = prepare(sql);
  if (!stmt)
    return std::move(stmt.error());
  auto& st = **stmt;
  reset_guard guard{st};
  int index = 1;
  for (auto& b : binds)
    codec::bind_key(st, index++, b);
  auto row = st.step();
  if (!row)
    return std::move(row.error());
  return *row ? static_cast<uint64_t>(st.column_int(0)) : uint64_t{0};
}

caf::expected<event_page> reader::events(const event_log& log,
                                         const event_filter& f) {
  std::string sql = "SELECT " + event_columns(log) + " FROM "
                    + codec::quote(log.name()) + " WHERE 1";
  std::vector<json::value> binds;
  if (auto err = event_conditions(log, f, true, sql, binds))
    return err;
  sql += f.descending ? " ORDER BY id DESC" : " ORDER BY id";
  sql += " LIMIT ?";
  auto limit = std::clamp<uint32_t>(f.limit, 1, 10000);
  auto stmt = prepare(sql);
  if (!stmt)
    return std::move(stmt.error());
  auto& st = **stmt;
  reset_guard guard{st};
  int index = 1;
  for (auto& b : binds)
    codec::bind_key(st, index++, b);
  st.bind(index, static_cast<int64_t>(limit) + 1);
  event_page page;
  uint32_t rows = 0;
  json::value last_id;
  for (;;) {
    auto row = st.step();
    if (!row)
      return std::move(row.error());
    if (!*row)
      break;
    if (rows == limit) {
      page.next_after_id = std::move(last_id);
      break;
    }
    ++rows;
    auto ev = read_event(log, st);
    if (!ev) {
      // Only events that cannot be decrypted are skipped: anything else
      // is wrong with the file, not with one event.
      if (!f.skip_unreadable || !is(ev.error(), errc::decryption_failed))
        return std::move(ev.error());
      last_id = codec::read_key(st, 0);
      page.unreadable.push_back({last_id, std::move(ev.error())});
      continue;
    }
    last_id = ev->id;
    page.events.push_back(std::move(*ev));
  }
  return page;
}

} // namespace eventactors::sqlite
