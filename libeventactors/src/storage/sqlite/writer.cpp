// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "storage/sqlite/writer.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <map>

#include <boost/json/serialize.hpp>

#include <filesystem>

#include "base/crypto.hpp"
#include "detail/log.hpp"
#include "eventactors/error.hpp"
#include "storage/sealing.hpp"
#include "storage/sqlite/codec.hpp"
#include "storage/sqlite/reader.hpp"
#include "storage/sqlite/schema.hpp"
#include "storage/sqlite/transaction.hpp"

namespace eventactors::sqlite {

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

writer::writer(std::shared_ptr<const model> m, database db, std::string path,
               environment env)
  : model_(std::move(m)), db_(std::move(db)), path_(std::move(path)),
    cache_(512), env_(std::move(env)) {
  // nop
}

writer::~writer() {
  if (ckpt_)
    ckpt_->detach(db_.get());
  rollback();
}

caf::expected<std::unique_ptr<writer>>
writer::open(std::shared_ptr<const model> m, const std::string& path,
             const open_options& opts, environment env,
             uint32_t checkpoint_pages) {
  // Another program's database stays untouched: this connection would
  // switch it to WAL before the migration could refuse it.
  if (std::error_code ec; std::filesystem::file_size(path, ec) > 0 && !ec) {
    auto ro = opts;
    ro.mode = open_mode::read_only;
    if (auto db = database::open(path, ro))
      if (auto err = schema::check(db->get(), path);
          err && is(err, errc::schema_mismatch))
        return err;
  }
  auto copts = opts;
  // SQLite's private temporary database (an empty path) cannot use WAL.
  copts.wal = opts.wal && !path.empty();
  auto db = database::open(path, copts);
  if (!db)
    return std::move(db.error());
  if (auto err = schema::migrate(db->get(), *m))
    return err;
  std::unique_ptr<writer> result{
    new writer{std::move(m), std::move(*db), path, std::move(env)}};
  if (auto err = result->prepare_logs())
    return err;
  if (checkpoint_pages > 0) {
    auto started = checkpointer::start(path, opts, checkpoint_pages);
    if (!started)
      return std::move(started.error());
    result->ckpt_ = std::move(*started);
    result->ckpt_->attach(result->db_.get());
  }
  return result;
}

caf::error writer::prepare_logs() {
  // Takes the key counters' starting point (the runtime syncs the counters
  // from the file next), and checks each encrypted log's current key
  // against the file before anything is written with it.
  auto tx = write_transaction::begin(*this);
  if (!tx)
    return std::move(tx.error());
  for (auto& log : model_->definitions().logs()) {
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
    if (auto err = check_key(log, *id, *key))
      return err;
  }
  if (auto err = tx->commit())
    return err;
  // New UUID v7 event ids sort after every stored one.
  for (auto& log : model_->definitions().logs()) {
    if (log.id_kind() != event_id_kind::uuid_v7)
      continue;
    auto stmt = prepare("SELECT max(id) FROM " + codec::quote(log.name()));
    if (!stmt)
      return std::move(stmt.error());
    reset_guard guard{**stmt};
    auto row = (*stmt)->step();
    if (!row)
      return std::move(row.error());
    if (*row && !(*stmt)->is_null(0))
      if (auto last = uuid::parse((*stmt)->column_text(0)))
        event_ids_.resume_after(*last);
  }
  return {};
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

caf::expected<statement*> writer::prepare(const std::string& sql) {
  return cache_.get(db_.get(), sql);
}

caf::expected<statement*>
writer::insert_statement(const resource_info& res) {
  auto i = insert_.find(&res);
  if (i != insert_.end())
    return &i->second;
  auto& def = *res.def;
  std::string params;
  for (size_t n = 0; n < def.attributes().size(); ++n)
    params += "?, ";
  auto stmt = statement::prepare(db_.get(),
                                 "INSERT INTO " + codec::quote(def.table())
                                   + " (" + record_columns(def) + ") VALUES ("
                                   + params + "1)");
  if (!stmt)
    return std::move(stmt.error());
  return &insert_.emplace(&res, std::move(*stmt)).first->second;
}

caf::error writer::run(const std::string& sql) {
  auto stmt = prepare(sql);
  if (!stmt)
    return std::move(stmt.error());
  reset_guard guard{**stmt};
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

caf::error writer::commit() {
  if (!open_)
    return {};
  open_ = false;
  if (auto err = run("COMMIT")) {
    // A failed COMMIT may leave the transaction open; end it.
    sqlite::rollback(db_.get());
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
  sqlite::rollback(db_.get());
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
  if (u.idempotency) {
    if (auto err = write_idempotency(*u.idempotency, receipt)) {
      if (run("ROLLBACK TO unit") || run("RELEASE unit"))
        rollback();
      return err;
    }
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
      auto stmt = insert_statement(res);
      if (!stmt)
        return std::move(stmt.error());
      auto& st = **stmt;
      reset_guard guard{st};
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
      reset_guard guard{st};
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
      reset_guard guard{st};
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

caf::expected<int64_t> writer::next_integer_id(const event_log& log) {
  auto next = prepare("SELECT max(ifnull((SELECT seq FROM sqlite_sequence "
                      "WHERE name = ?), 0), ifnull((SELECT max(id) FROM "
                      + codec::quote(log.name()) + "), 0)) + 1");
  if (!next)
    return std::move(next.error());
  reset_guard guard{**next};
  (*next)->bind(1, std::string_view{log.name()});
  auto row = (*next)->step();
  if (!row)
    return std::move(row.error());
  return (*next)->column_int(0);
}

const std::string& writer::event_insert_sql(const event_log& log) {
  auto& sql = event_sql_[&log];
  if (!sql.empty())
    return sql;
  sql = "INSERT INTO " + codec::quote(log.name()) + " (";
  std::string params;
  if (log.id_kind() == event_id_kind::uuid_v7 || log.keys()) {
    sql += "id, ";
    params += "?, ";
  }
  sql += "resource, record_id, action, action_type, ";
  params += "?, ?, ?, ?, ";
  for (auto& col : log.actor_columns()) {
    sql += codec::quote(col.name) + ", ";
    params += "?, ";
  }
  sql += "data, changed_attributes, metadata, version, occurred_at, "
         "key_id) VALUES ("
         + params + "?, ?, ?, ?, ?, ?)";
  return sql;
}

caf::expected<std::string>
writer::seal_payloads(const event_log& log, const write_op& op,
                      const json::value& id, std::string_view type,
                      std::string_view at, std::string (&payloads)[3]) {
  // Sealed with the current key, bound to this event's identity.
  auto& ev = *op.event;
  auto& keys = log.keys();
  auto key_id = keys->current_key_id();
  if (!key_id)
    return make_error(errc::storage_failure,
                      "encrypt event for " + describe(op) + ": "
                        + message(key_id.error()));
  auto key = keys->key(*key_id);
  if (!key)
    return make_error(errc::storage_failure,
                      "encrypt event for " + describe(op) + ": "
                        + message(key.error()));
  // A key id new to this writer (a provider that rotates while running):
  // checked against the file before the first event uses it.
  if (auto err = check_key(log, *key_id, *key))
    return err;
  sealed_fields bound{op.resource, op.record_id, ev.action, type,
                      ev.actors,   ev.version,   at,        *key_id};
  for (int i = 0; i < 3; ++i) {
    auto sealed = crypto::seal(
      *key, payloads[i], sealing_context(log, id, sealed_columns[i], bound));
    if (!sealed)
      return make_error(errc::storage_failure,
                        "encrypt event for " + describe(op) + ": "
                          + message(sealed.error()));
    payloads[i] = std::move(*sealed);
  }
  return std::move(*key_id);
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
    auto next = next_integer_id(*log);
    if (!next)
      return std::move(next.error());
    id = *next;
  }
  auto stmt = prepare(event_insert_sql(*log));
  if (!stmt)
    return std::move(stmt.error());
  auto& st = **stmt;
  reset_guard guard{st};
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
  if (log->keys()) {
    auto sealed = seal_payloads(*log, op, id, type, at, payloads);
    if (!sealed)
      return std::move(sealed.error());
    key_id = std::move(*sealed);
    for (auto& p : payloads)
      st.bind_blob(index++, std::string_view{p});
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

// -- replay and copies --------------------------------------------------------

std::unique_ptr<eventactors::reader> writer::transaction_reader() {
  return reader::borrow(model_, db_.get());
}

caf::error writer::clear(const resource_info& res) {
  return exec(db_.get(), "DELETE FROM " + codec::quote(res.def->table()));
}

caf::expected<uint64_t> writer::copy_events(eventactors::reader& src,
                                            const event_log& log,
                                            const event_filter& f) {
  auto from = dynamic_cast<reader*>(&src);
  if (!from)
    return make_error(errc::storage_failure,
                      "copy events: the source is not a SQLite store");
  auto cols = event_columns(log);
  auto table = codec::quote(log.name());
  std::string sql = "SELECT " + cols + " FROM " + table + " WHERE 1";
  std::vector<json::value> binds;
  if (auto err = event_conditions(log, f, false, sql, binds))
    return err;
  auto select = statement::prepare(from->get(), sql + " ORDER BY id", false);
  if (!select)
    return std::move(select.error());
  reset_guard select_reset{*select};
  std::string params;
  for (int i = 0; i < select->columns(); ++i)
    params += i == 0 ? "?" : ", ?";
  auto insert = statement::prepare(
    db_.get(), "INSERT INTO " + table + " (" + cols + ") VALUES (" + params
                 + ")",
    false);
  if (!insert)
    return std::move(insert.error());
  int index = 1;
  for (auto& b : binds)
    codec::bind_key(*select, index++, b);
  auto tx = write_transaction::begin(*this);
  if (!tx)
    return std::move(tx.error());
  uint64_t copied = 0;
  for (;;) {
    auto row = select->step();
    if (!row)
      return std::move(row.error());
    if (!*row)
      break;
    for (int i = 0; i < select->columns(); ++i)
      insert->bind_from(i + 1, *select, i);
    auto err = insert->run();
    insert->reset();
    if (err)
      return err;
    ++copied;
  }
  if (auto err = tx->commit())
    return err;
  return copied;
}

caf::error writer::make_self_contained(std::string_view who) {
  // Back to a rollback journal: every page is written into the file and
  // the -wal file goes.
  auto stmt = statement::prepare(db_.get(), "PRAGMA journal_mode=DELETE",
                                 false);
  if (!stmt)
    return std::move(stmt.error());
  auto row = stmt->step();
  if (!row)
    return std::move(row.error());
  std::string mode{*row ? stmt->column_text(0) : std::string_view{}};
  if (mode != "delete")
    return make_error(errc::storage_failure,
                      std::string{who} + ": cannot move " + path_
                        + " out of WAL mode (journal_mode is " + mode + ")");
  return {};
}

} // namespace eventactors::sqlite
