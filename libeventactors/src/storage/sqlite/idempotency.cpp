// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The idempotency keys of committed calls (table eventactors_idempotency,
// created by the schema migration of storage format 2): written by the
// writer inside the savepoint of the call's unit, read by readers.

#include "storage/sqlite/writer.hpp"

#include <string>

#include <sqlite3.h>

#include "base/json_text.hpp"
#include "eventactors/error.hpp"
#include "storage/sqlite/reader.hpp"

namespace eventactors::sqlite {

namespace {

/// Expired entries deleted per entry written: bounded work per keyed call,
/// yet faster than keys arrive, so the table keeps about one retention
/// period of keys.
constexpr int purge_batch = 16;

std::string ids_text(const std::vector<json::value>& ids) {
  json::array arr;
  arr.reserve(ids.size());
  for (auto& id : ids)
    arr.push_back(id);
  std::string out;
  json_io::write(out, json::value(std::move(arr)));
  return out;
}

caf::error key_error(std::string_view what, std::string_view key,
                     const caf::error& err) {
  return make_error(errc::storage_failure,
                    std::string{what} + " idempotency key \"" + std::string{key}
                      + "\": " + message(err));
}

} // namespace

caf::error writer::write_idempotency(const idempotency_entry& e,
                                     const unit_receipt& receipt) {
  auto before = format_timestamp(e.expired_before);
  auto purge = prepare("DELETE FROM eventactors_idempotency WHERE key IN "
                       "(SELECT key FROM eventactors_idempotency WHERE "
                       "committed_at < ?1 ORDER BY committed_at LIMIT "
                       + std::to_string(purge_batch) + ")");
  if (!purge)
    return key_error("write", e.key, purge.error());
  {
    auto& st = **purge;
    reset_guard guard{st};
    st.bind(1, std::string_view{before});
    if (auto err = st.run())
      return key_error("write", e.key, err);
  }
  // An expired entry of the same key is replaced; a live one means that
  // another call (of another process) committed the key meanwhile.
  auto insert = prepare(
    "INSERT INTO eventactors_idempotency (key, resource, action, "
    "request_hash, result, event_ids, committed_at) VALUES (?1, ?2, ?3, ?4, "
    "?5, ?6, ?7) ON CONFLICT (key) DO UPDATE SET resource = "
    "excluded.resource, action = excluded.action, request_hash = "
    "excluded.request_hash, result = excluded.result, event_ids = "
    "excluded.event_ids, committed_at = excluded.committed_at WHERE "
    "committed_at < ?8");
  if (!insert)
    return key_error("write", e.key, insert.error());
  auto& st = **insert;
  reset_guard guard{st};
  auto ids = ids_text(receipt.event_ids);
  auto at = format_timestamp(e.committed_at);
  st.bind(1, std::string_view{e.key});
  st.bind(2, std::string_view{e.resource});
  st.bind(3, std::string_view{e.action});
  st.bind(4, std::string_view{e.request_hash});
  st.bind(5, std::string_view{e.result});
  st.bind(6, std::string_view{ids});
  st.bind(7, std::string_view{at});
  st.bind(8, std::string_view{before});
  if (auto err = st.run())
    return key_error("write", e.key, err);
  if (sqlite3_changes(db_.get()) == 0)
    return make_error(errc::conflict,
                      "idempotency key \"" + e.key
                        + "\" was committed by another call meanwhile");
  return {};
}

caf::expected<std::optional<idempotency_entry>>
reader::find_idempotency(std::string_view key) {
  auto stmt = prepare("SELECT resource, action, request_hash, result, "
                      "event_ids, committed_at FROM eventactors_idempotency "
                      "WHERE key = ?1");
  if (!stmt)
    return key_error("read", key, stmt.error());
  auto& st = **stmt;
  reset_guard guard{st};
  st.bind(1, key);
  auto row = st.step();
  if (!row)
    return key_error("read", key, row.error());
  if (!*row)
    return std::optional<idempotency_entry>{};
  idempotency_entry e;
  e.key = std::string{key};
  e.resource = std::string{st.column_text(0)};
  e.action = std::string{st.column_text(1)};
  e.request_hash = std::string{st.column_text(2)};
  e.result = std::string{st.column_text(3)};
  json::value ids;
  auto bad = [&](const char* what) {
    return make_error(errc::storage_failure,
                      "read idempotency key \"" + e.key + "\": the stored "
                        + what + " is malformed");
  };
  if (json_io::parse_stored(st.column_text(4), ids) || !ids.is_array())
    return bad("event ids");
  for (auto& id : ids.get_array())
    e.event_ids.push_back(id);
  auto at = parse_timestamp(st.column_text(5));
  if (!at)
    return bad("commit time");
  e.committed_at = *at;
  return std::optional<idempotency_entry>{std::move(e)};
}

} // namespace eventactors::sqlite
