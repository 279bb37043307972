// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Fuzz target: decoding stored event rows.
//
// One runtime of the fixed app (support.hpp) runs for the whole session on
// a scratch file. For every input the target, through a SQLite connection
// of its own, empties the three event logs and writes the input's rows into
// them, with whatever storage class each column value asks for (CHECK
// constraints off, so that odd action types get in too). Then it reads the
// logs back through the library: `runtime::events` (unfiltered, filtered by
// resource, action, record id, actor, id and time, paged with small limits
// in both directions), `for_each_event`, `stats`, `public_view`; and it
// replays each log, in full and up to a cut.
//
// Findings (abort): crashes, sanitizer reports, leaks, timeouts; paging
// that does not advance (a cursor that returns the same events again, so
// `for_each_event` and replay would loop); and a replay that fails but
// changed the records (replay is one transaction: all or nothing).
//
// Input format: rows separated by 0x1E, columns separated by 0x1F, in this
// order:
//
//   0 log (first byte mod 3: events, events_v7, events_str)
//   1 id   2 resource   3 record_id   4 action   5 action_type
//   6 first actor column   7 second actor column (events only)
//   8 data   9 changed_attributes   10 metadata   11 version
//   12 occurred_at
//
// A value is stored as TEXT, unless its first byte is a tag: 0x01 INTEGER
// (the rest as a decimal number), 0x02 REAL, 0x03 BLOB (the rest), 0x04
// NULL, 0x05 the default. Missing columns take defaults that make a valid
// create event. At most 16 rows.
//
// With EVENTACTORS_FUZZ_DUMP_SEEDS=<dir>, the target instead runs a
// scripted workload, writes the resulting event rows as seed inputs into
// <dir> and exits (how fuzz/corpus/fuzz_event_rows was made).

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sqlite3.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include "support.hpp"

using namespace eventactors;
using namespace eventactors::fuzz;

namespace {

constexpr size_t max_rows = 16;
constexpr size_t num_columns = 13;
constexpr char row_sep = '\x1e';
constexpr char col_sep = '\x1f';

struct log_info {
  const char* name;
  std::vector<const char*> actor_columns;
  const char* resource;
  const char* record_id;
  bool integer_record_id;
  bool integer_ids;
};

const log_info logs[] = {
  {"events", {"user_id", "system_actor"}, "Shop.Customer",
   "0190a5c4-1c7e-4f3a-9b1e-5d2f7c8e9a01", false, true},
  {"events_v7", {"operator_id"}, "Shop.Order", "1", true, false},
  {"events_str", {"who"}, "Shop.Tag", "tag-1", false, true},
};

const char* resources[] = {"Shop.Customer", "Shop.Note", "Shop.Order",
                           "Shop.Tag"};

struct session {
  std::string path;
  std::unique_ptr<runtime> rt;
  sqlite3* db = nullptr;
  bool print_outcomes = false;
  std::map<std::string, uint64_t> outcomes;
};

session* self = nullptr;

void at_exit() {
  if (!self)
    return;
  if (self->print_outcomes) {
    std::fprintf(stderr, "fuzz_event_rows outcomes:\n");
    for (auto& [what, n] : self->outcomes)
      std::fprintf(stderr, "  %-36s %llu\n", what.c_str(),
                   static_cast<unsigned long long>(n));
  }
  if (self->db)
    sqlite3_close_v2(self->db);
  self->db = nullptr;
  // The runtime is left running: CAF 0.17 crashes when an actor system is
  // destroyed during exit (static destruction). `self` is never deleted, so
  // the runtime stays reachable and LeakSanitizer does not report it.
  remove_db(self->path);
}

void count(const std::string& what, const caf::error& err) {
  if (!self->print_outcomes)
    return;
  if (!err)
    ++self->outcomes[what + ": ok"];
  else if (err.category() == caf::atom("evact"))
    ++self->outcomes[what + ": " + to_string(static_cast<errc>(err.code()))];
  else
    ++self->outcomes[what + ": other"];
}

void exec_or_die(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(self->db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::fprintf(stderr, "fuzz: %s: %s\n", sql, msg ? msg : "?");
    std::abort();
  }
}

// -- writing rows --------------------------------------------------------------

using row = std::vector<std::string_view>;

std::vector<row> parse_rows(std::string_view text) {
  std::vector<row> rows;
  while (!text.empty() && rows.size() < max_rows) {
    auto end = text.find(row_sep);
    auto line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{}
                                         : text.substr(end + 1);
    row r;
    while (r.size() < num_columns) {
      auto pos = line.find(col_sep);
      r.push_back(line.substr(0, pos));
      if (pos == std::string_view::npos)
        break;
      line.remove_prefix(pos + 1);
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

/// Binds `value` at `index`, or `fallback` (text, null when empty) when
/// the value is missing or says "default".
void bind_value(sqlite3_stmt* stmt, int index, std::optional<std::string_view> value,
          std::string_view fallback, bool fallback_int = false) {
  if (!value || (!value->empty() && (*value)[0] == '\x05')) {
    if (fallback.empty())
      sqlite3_bind_null(stmt, index);
    else if (fallback_int)
      sqlite3_bind_int64(stmt, index,
                         std::strtoll(std::string{fallback}.c_str(), nullptr,
                                      10));
    else
      sqlite3_bind_text(stmt, index, fallback.data(),
                        static_cast<int>(fallback.size()), SQLITE_TRANSIENT);
    return;
  }
  auto v = *value;
  if (!v.empty()) {
    auto rest = std::string{v.substr(1)};
    switch (v[0]) {
      case '\x01':
        sqlite3_bind_int64(stmt, index, std::strtoll(rest.c_str(), nullptr,
                                                     10));
        return;
      case '\x02':
        sqlite3_bind_double(stmt, index, std::strtod(rest.c_str(), nullptr));
        return;
      case '\x03':
        sqlite3_bind_blob(stmt, index, rest.data(),
                          static_cast<int>(rest.size()), SQLITE_TRANSIENT);
        return;
      case '\x04':
        sqlite3_bind_null(stmt, index);
        return;
      default:
        break;
    }
  }
  sqlite3_bind_text(stmt, index, v.data(), static_cast<int>(v.size()),
                    SQLITE_TRANSIENT);
}

/// Empties the logs and writes `rows`; returns the rows per log.
std::vector<size_t> write_rows(const std::vector<row>& rows) {
  std::vector<size_t> written(std::size(logs), 0);
  exec_or_die("BEGIN IMMEDIATE");
  for (auto& log : logs) {
    auto sql = std::string{"DELETE FROM \""} + log.name + "\"";
    exec_or_die(sql.c_str());
  }
  // Integer ids restart at 1, so that an input always yields the same ids.
  exec_or_die("DELETE FROM sqlite_sequence");
  for (size_t i = 0; i < rows.size(); ++i) {
    auto& r = rows[i];
    auto col = [&](size_t k) -> std::optional<std::string_view> {
      if (k < r.size())
        return r[k];
      return std::nullopt;
    };
    auto which = r[0].empty() ? 0 : static_cast<unsigned char>(r[0][0]) % 3;
    auto& log = logs[which];
    std::string sql = std::string{"INSERT INTO \""} + log.name
                      + "\" (id, resource, record_id, action, action_type";
    for (auto c : log.actor_columns)
      sql += std::string{", \""} + c + "\"";
    sql += ", data, changed_attributes, metadata, version, occurred_at) "
           "VALUES (?, ?, ?, ?, ?";
    for (size_t k = 0; k < log.actor_columns.size(); ++k)
      sql += ", ?";
    sql += ", ?, ?, ?, ?, ?)";
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(self->db, sql.c_str(), -1, &stmt, nullptr)
        != SQLITE_OK) {
      std::fprintf(stderr, "fuzz: prepare: %s\n", sqlite3_errmsg(self->db));
      std::abort();
    }
    char v7_id[40];
    std::snprintf(v7_id, sizeof(v7_id),
                  "01900000-0000-7000-8000-%012zx", i + 1);
    int index = 1;
    bind_value(stmt, index++, col(1), log.integer_ids ? "" : v7_id);
    bind_value(stmt, index++, col(2), log.resource);
    bind_value(stmt, index++, col(3), log.record_id, log.integer_record_id);
    bind_value(stmt, index++, col(4), "create");
    bind_value(stmt, index++, col(5), "create");
    for (size_t k = 0; k < log.actor_columns.size(); ++k)
      bind_value(stmt, index++, col(6 + k), "");
    bind_value(stmt, index++, col(8), "{}");
    bind_value(stmt, index++, col(9), "{}");
    bind_value(stmt, index++, col(10), "{}");
    bind_value(stmt, index++, col(11), "1", true);
    bind_value(stmt, index++, col(12), "2024-05-01T12:00:00.000000Z");
    // A row the schema refuses (NOT NULL, a non-integer id of an integer
    // log, a duplicate id) is simply not in the file.
    auto rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE) {
      ++written[which];
    } else if (sqlite3_get_autocommit(self->db)) {
      // SQLite rolled the whole transaction back (SQLITE_FULL: the log's
      // ids reached the largest rowid): write only the rows before this.
      return write_rows({rows.begin(),
                         rows.begin() + static_cast<std::ptrdiff_t>(i)});
    }
  }
  exec_or_die("COMMIT");
  return written;
}

// -- reading them back ---------------------------------------------------------

void check_error(const std::string& what, const caf::error& err) {
  count(what, err);
  if (err && is_timeout(err))
    finding(what + " timed out: " + describe(err));
}

/// Reads `log` page by page, `limit` events at a time; nullopt on an error.
std::optional<std::vector<event>> page_all(const std::string& log,
                                           uint32_t limit, bool descending,
                                           size_t rows) {
  event_filter f;
  f.log = log;
  f.limit = limit;
  f.descending = descending;
  std::vector<event> result;
  auto what = "paging " + log + " (limit " + std::to_string(limit)
              + (descending ? ", descending)" : ")");
  for (size_t pages = 0;; ++pages) {
    auto page = self->rt->events(f);
    check_error(what, page ? caf::error{} : page.error());
    if (!page)
      return std::nullopt;
    for (auto& ev : page->events)
      result.push_back(std::move(ev));
    if (result.size() > rows)
      finding(what + " returned " + std::to_string(result.size())
              + " events from " + std::to_string(rows)
              + " rows: the cursor " + json::serialize(page->next_after_id)
              + " does not advance past the events already returned");
    if (page->next_after_id.is_null())
      break;
    if (pages > rows)
      finding(what + " does not end");
    f.after_id = page->next_after_id;
  }
  return result;
}

std::vector<json::value> ids_of(const std::vector<event>& xs) {
  std::vector<json::value> result;
  for (auto& ev : xs)
    result.push_back(ev.id);
  return result;
}

/// Every record of every resource, to compare before and after a replay.
std::vector<std::vector<record>> snapshot() {
  std::vector<std::vector<record>> result;
  for (auto name : resources) {
    auto recs = self->rt->list(name, {.limit = 100000});
    if (!recs)
      finding(std::string{"listing "} + name
              + " failed: " + describe(recs.error()));
    result.push_back(std::move(*recs));
  }
  return result;
}

bool same_records(const std::vector<std::vector<record>>& xs,
                  const std::vector<std::vector<record>>& ys) {
  for (size_t i = 0; i < xs.size(); ++i) {
    if (xs[i].size() != ys[i].size())
      return false;
    for (size_t k = 0; k < xs[i].size(); ++k)
      if (!same_json(xs[i][k].values, ys[i][k].values))
        return false;
  }
  return true;
}

void replay(const std::string& log, replay_request req,
            const std::string& what) {
  auto before = snapshot();
  req.log = log;
  auto res = self->rt->replay(req);
  check_error(what, res ? caf::error{} : res.error());
  if (!res) {
    if (!same_records(before, snapshot()))
      finding(what + " failed (" + describe(res.error())
              + ") but changed the records");
  }
}

void read_back(const log_info& log, size_t rows) {
  auto& rt = *self->rt;
  std::string name = log.name;
  event_filter all;
  all.log = name;
  auto page = rt.events(all);
  check_error("events " + name, page ? caf::error{} : page.error());
  std::vector<event> evs;
  if (page) {
    evs = page->events;
    if (evs.size() != rows)
      finding("events " + name + " returned " + std::to_string(evs.size())
              + " events of " + std::to_string(rows) + " rows");
    for (auto& ev : evs)
      (void) rt.public_view(ev);
  }
  size_t seen = 0;
  auto err = rt.for_each_event(all, [&](const event&) {
    if (++seen > rows)
      finding("for_each_event " + name + " returned more events than rows");
    return true;
  });
  check_error("for_each_event " + name, err);
  // Small pages, both directions: the same events as one big page.
  for (uint32_t limit : {1u, 3u})
    for (bool desc : {false, true}) {
      auto paged = page_all(name, limit, desc, rows);
      if (page && paged) {
        if (desc)
          std::reverse(paged->begin(), paged->end());
        if (ids_of(*paged) != ids_of(evs))
          finding("paging " + name + " (limit " + std::to_string(limit)
                  + (desc ? ", descending" : "")
                  + ") returned other events than one page: "
                  + json::serialize(json::value_from(ids_of(*paged)))
                  + " instead of "
                  + json::serialize(json::value_from(ids_of(evs))));
      }
    }
  auto stats = rt.stats(name);
  check_error("stats " + name, stats ? caf::error{} : stats.error());
  if (!evs.empty()) {
    // Filters on the values of the first and the last event.
    for (auto* ev : {&evs.front(), &evs.back()}) {
      auto run = [&](event_filter f, const char* what) {
        f.log = name;
        auto res = rt.events(f);
        check_error("events " + name + " by " + what,
                    res ? caf::error{} : res.error());
      };
      event_filter f;
      f.resource = ev->resource;
      run(f, "resource");
      f = {};
      f.action = ev->action;
      run(f, "action");
      f = {};
      f.record_id = ev->record_id;
      run(f, "record_id");
      for (auto& kvp : ev->actors) {
        f = {};
        f.actor = std::pair{std::string{kvp.key()}, kvp.value()};
        run(f, "actor");
      }
      f = {};
      f.from_id = ev->id;
      f.to_id = ev->id;
      run(f, "id");
      f = {};
      f.after_id = ev->id;
      f.descending = true;
      run(f, "after_id");
      f = {};
      f.from_time = ev->occurred_at;
      f.to_time = ev->occurred_at;
      run(f, "time");
    }
  }
  // Replay: in full, and up to a cut. Either works or fails leaving the
  // records as they were.
  replay(name, {}, "replay " + name);
  if (evs.size() >= 2) {
    replay_request cut;
    if (evs.size() % 2 == 0)
      cut.last_event_id = evs[evs.size() / 2].id;
    else
      cut.point_in_time = evs[evs.size() / 2].occurred_at;
    replay(name, cut, "replay " + name + " to a cut");
  }
}

// -- seeds ---------------------------------------------------------------------

std::string encode_column(sqlite3_stmt* stmt, int i) {
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER:
      return "\x01" + std::to_string(sqlite3_column_int64(stmt, i));
    case SQLITE_FLOAT: {
      char buf[40];
      std::snprintf(buf, sizeof(buf), "\x02%.17g",
                    sqlite3_column_double(stmt, i));
      return buf;
    }
    case SQLITE_NULL:
      return "\x04";
    case SQLITE_BLOB: {
      auto ptr = static_cast<const char*>(sqlite3_column_blob(stmt, i));
      return "\x03" + std::string{ptr, ptr + sqlite3_column_bytes(stmt, i)};
    }
    default: {
      auto ptr = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      return std::string{ptr, ptr + sqlite3_column_bytes(stmt, i)};
    }
  }
}

/// The rows of log `which`, encoded as the target reads them.
std::vector<std::string> dump_log(size_t which) {
  auto& log = logs[which];
  std::string sql = "SELECT id, resource, record_id, action, action_type";
  for (auto c : log.actor_columns)
    sql += std::string{", \""} + c + "\"";
  sql += std::string{", data, changed_attributes, metadata, version, "
                     "occurred_at FROM \""}
         + log.name + "\" ORDER BY id";
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(self->db, sql.c_str(), -1, &stmt, nullptr)
      != SQLITE_OK)
    std::abort();
  std::vector<std::string> result;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    std::string r(1, static_cast<char>('0' + which));
    int i = 0;
    for (int k = 0; k < 5; ++k)
      r += col_sep + encode_column(stmt, i++);
    for (size_t k = 0; k < 2; ++k)
      r += col_sep
           + (k < log.actor_columns.size() ? encode_column(stmt, i++)
                                           : std::string{"\x05"});
    for (int k = 0; k < 5; ++k)
      r += col_sep + encode_column(stmt, i++);
    result.push_back(std::move(r));
  }
  sqlite3_finalize(stmt);
  return result;
}

std::string join_rows(const std::vector<std::string>& rows) {
  std::string result;
  for (auto& r : rows) {
    if (!result.empty())
      result += row_sep;
    result += r;
  }
  return result;
}

/// Replaces column `k` of an encoded row.
std::string with_column(const std::string& r, size_t k,
                        const std::string& value) {
  std::vector<std::string> cols;
  size_t start = 0;
  for (;;) {
    auto pos = r.find(col_sep, start);
    cols.push_back(r.substr(start, pos - start));
    if (pos == std::string::npos)
      break;
    start = pos + 1;
  }
  cols.resize(std::max(cols.size(), k + 1));
  cols[k] = value;
  std::string result;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (i > 0)
      result += col_sep;
    result += cols[i];
  }
  return result;
}

json::object parse_object(std::string_view text) {
  auto doc = parse_json(text, "seed workload");
  if (!doc || !doc->is_object())
    std::abort();
  return doc->get_object();
}

record must(runtime& rt, call c) {
  auto rec = rt.run(c);
  if (!rec) {
    std::fprintf(stderr, "seed workload: %s.%s: %s\n", c.resource.c_str(),
                 c.action.c_str(), render(rec.error()).c_str());
    std::exit(1);
  }
  return std::move(*rec);
}

void dump_seeds(const std::string& dir) {
  auto& rt = *self->rt;
  actor customer{"Shop.Customer",
                 json::string{"0190a5c4-1c7e-4f3a-9b1e-5d2f7c8e9a01"}};
  actor system{"SystemActor", json::string{"importer"}};
  actor op{"Operator", 42};
  actor robot{"Robot", json::string{"r2d2"}};
  // Customers, with notes, through every action.
  call c{"Shop.Customer", "create", parse_object(R"({
    "email": "Ann@Example.org", "name": "Ann Lee", "age": 41, "score": 9.5,
    "external_ref": "6F9619FF-8B86-D011-B42D-00C04FC964FF",
    "born_on": "1983-02-28", "last_seen": "2024-03-01T10:00:00+02:00",
    "prefs": {"theme": "dark", "n": [1, 2.5, null]}, "tags": ["vip", "ä"],
    "lucky": [7, "8"], "matrix": [[1.5, 2], []], "seen_days": ["2024-01-01"],
    "address": {"street": "Main St 1", "city": "Berlin", "zip": 10115,
                "geo": {"lat": 52.5, "lng": 13.4}},
    "phones": [{"kind": "home", "number": "+49 30 1234"}],
    "password": "s3cret", "password_confirmation": "s3cret",
    "referral": "0190a5c4-1c7e-4f3a-9b1e-5d2f7c8e9a02", "ratio": 0.5,
    "flags": [true, false], "extra": {"source": "ads"},
    "notes": [{"body": "first", "rating": 5}, {"body": "second"}]})")};
  c.actor = customer;
  c.metadata = parse_object(R"({"request_id": "r-1", "ip": "10.0.0.1"})");
  auto ann = must(rt, c);
  c = call{"Shop.Customer", "create",
           parse_object(R"({"email": "bob@example.org", "name": "Bob"})")};
  c.actor = system;
  auto bob = must(rt, c);
  c = call{"Shop.Customer", "upsert",
           parse_object(R"({"email": "BOB@example.org", "age": 30})")};
  must(rt, c);
  c = call{"Shop.Customer", "update",
           parse_object(R"({"name": "Ann Smith",
                            "address": {"city": "Hamburg"}})"),
           ann.id};
  c.actor = customer;
  must(rt, c);
  c = call{"Shop.Customer", "update",
           parse_object(R"({"bump": 2, "notes": [{"body": "third"}]})"),
           bob.id};
  c.actor = system;
  must(rt, c);
  c = call{"Shop.Customer", "rename",
           parse_object(R"({"new_name": "Robert", "reason": "Legal"})"),
           bob.id};
  must(rt, c);
  c = call{"Shop.Customer", "archive", {}, bob.id};
  must(rt, c);
  c = call{"Shop.Customer", "destroy", {}, bob.id};
  must(rt, c);
  // Orders on the UUID v7 log, tags on the string log.
  c = call{"Shop.Order", "create", parse_object(R"({
    "customer_ref": "0190a5c4-1c7e-4f3a-9b1e-5d2f7c8e9a01", "total": 99.99,
    "items": [{"sku": "A-1", "qty": 2, "price": 10.5, "options": {"gift": true}}],
    "due": "2024-12-24", "paid": false, "meta": {"channel": "web"},
    "lines": [{"x": 1}], "sequence": 1, "coupon": "XMAS"})")};
  c.actor = op;
  auto order = must(rt, c);
  c = call{"Shop.Order", "update",
           parse_object(R"({"items": [{"sku": "B-2", "qty": 1}], "paid": true})"),
           order.id};
  c.actor = op;
  must(rt, c);
  c = call{"Shop.Order", "set_status",
           parse_object(R"({"status": "shipped", "at": "2024-12-20T08:00:00Z"})"),
           order.id};
  must(rt, c);
  c = call{"Shop.Order", "create", parse_object(R"({"total": 1})")};
  auto order2 = must(rt, c);
  c = call{"Shop.Order", "destroy", {}, order2.id};
  must(rt, c);
  c = call{"Shop.Tag", "create",
           parse_object(R"({"code": "red-1", "label": "Red", "weight": 0.25,
                            "synonyms": ["rouge", "rot"]})")};
  c.actor = robot;
  must(rt, c);
  c = call{"Shop.Tag", "update", parse_object(R"({"color": "crimson"})"),
           json::string{"red-1"}};
  c.actor = robot;
  must(rt, c);
  c = call{"Shop.Tag", "create", parse_object(R"({"code": "tmp"})")};
  c.actor = robot;
  must(rt, c);
  c = call{"Shop.Tag", "destroy", {}, json::string{"tmp"}};
  c.actor = robot;
  must(rt, c);
  // An old event for the replay override: signup v1 replays as create.
  new_event old;
  old.log = "events";
  old.resource = "Shop.Customer";
  old.action = "signup";
  old.record_id = json::string{"0190a5c4-1c7e-4f3a-9b1e-5d2f7c8e9a99"};
  old.data = parse_object(R"({"email": "old@example.org", "name": "Old"})");
  old.occurred_at = parse_timestamp("2020-01-01T00:00:00Z");
  if (auto id = rt.append(old); !id) {
    std::fprintf(stderr, "seed workload: append: %s\n",
                 render(id.error()).c_str());
    std::exit(1);
  }
  // Seeds: each log whole, single rows, all logs at once, and odd values.
  std::map<std::string, std::string> seeds;
  std::vector<std::string> everything;
  for (size_t i = 0; i < std::size(logs); ++i) {
    auto rows = dump_log(i);
    seeds["log" + std::to_string(i) + "-all"] = join_rows(rows);
    for (size_t k = 0; k < rows.size() && k < 8; ++k)
      seeds["log" + std::to_string(i) + "-row" + std::to_string(k)] = rows[k];
    everything.insert(everything.end(), rows.begin(), rows.end());
  }
  seeds["all-logs"] = join_rows(everything);
  auto first = dump_log(0).front();
  auto v7 = dump_log(1).front();
  auto str = dump_log(2).front();
  seeds["odd-blob-id-v7"] = join_rows(
    {with_column(v7, 1, "\x03" "01900000-0000-7000-8000-0000000000ff"),
     dump_log(1).back()});
  seeds["odd-integer-id-v7"] = with_column(v7, 1, "\x01" "12");
  seeds["odd-real-record-id"] = with_column(first, 3, "\x02" "1.5");
  seeds["odd-blob-record-id"] = with_column(str, 3, "\x03tag\xff");
  seeds["odd-text-record-id-int-log"] = with_column(v7, 3, "seven");
  seeds["odd-action-type"] = with_column(first, 5, "merge");
  seeds["odd-action-type-null"] = with_column(first, 5, "\x04");
  seeds["odd-data-not-json"] = with_column(first, 8, "{\"email\": ");
  seeds["odd-data-array"] = with_column(first, 8, "[1, 2]");
  seeds["odd-data-blob"] = with_column(first, 8, "\x03{\"name\": \"\xc3\x28\"}");
  seeds["odd-data-integer"] = with_column(first, 8, "\x01" "42");
  seeds["odd-data-deep"]
    = with_column(first, 9, std::string(300, '[') + std::string(300, ']'));
  seeds["odd-changed-wrong-types"] = with_column(
    first, 9, R"({"age": "old", "tags": "x", "address": [1], "id": 5})");
  seeds["odd-metadata-null"] = with_column(first, 10, "null");
  seeds["odd-version-negative"] = with_column(first, 11, "\x01-3");
  seeds["odd-version-huge"] = with_column(first, 11, "\x01" "9223372036854775807");
  seeds["odd-version-text"] = with_column(first, 11, "two");
  seeds["odd-occurred-at-offset"]
    = with_column(first, 12, "2024-02-29T23:59:59.999999999+14:00");
  seeds["odd-occurred-at-bad"] = with_column(first, 12, "2024-02-30T25:00:00Z");
  seeds["odd-occurred-at-integer"] = with_column(first, 12, "\x01" "1700000000");
  seeds["odd-occurred-at-year0"] = with_column(first, 12, "0000-01-01T00:00:00Z");
  seeds["odd-actor-wrong-type"] = with_column(first, 6, "\x01" "5");
  seeds["odd-actor-blob"] = with_column(str, 6, "\x03\x00\x01");
  seeds["odd-resource-unknown"] = with_column(first, 2, "Shop.Nothing");
  seeds["odd-action-unknown"] = with_column(first, 4, "explode");
  seeds["odd-resource-blob"] = with_column(first, 2, "\x03Shop.Customer");
  seeds["odd-update-missing-record"]
    = with_column(with_column(first, 4, "update"), 5, "update");
  seeds["odd-defaults-only"] = std::string{"0"};
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  for (auto& [name, text] : seeds) {
    std::ofstream out{dir + "/" + name, std::ios::binary};
    out << text;
  }
  std::fprintf(stderr, "wrote %zu seeds to %s\n", seeds.size(), dir.c_str());
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  self = new session;
  self->print_outcomes = env_number("EVENTACTORS_FUZZ_STATS", 0) != 0;
  self->path = scratch_file("rows");
  self->rt = start_or_die(self->path, fuzz_options(self->path));
  if (sqlite3_open_v2(self->path.c_str(), &self->db, SQLITE_OPEN_READWRITE,
                      nullptr)
      != SQLITE_OK) {
    std::fprintf(stderr, "fuzz: cannot open %s\n", self->path.c_str());
    std::abort();
  }
  sqlite3_busy_timeout(self->db, 10'000);
  exec_or_die("PRAGMA ignore_check_constraints = ON");
  std::atexit(at_exit);
  if (auto dir = std::getenv("EVENTACTORS_FUZZ_DUMP_SEEDS"); dir && *dir) {
    dump_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto rows = parse_rows(
    std::string_view{reinterpret_cast<const char*>(data), size});
  auto written = write_rows(rows);
  for (size_t i = 0; i < std::size(logs); ++i)
    read_back(logs[i], written[i]);
  return 0;
}
