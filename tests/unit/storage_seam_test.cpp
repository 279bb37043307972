// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The storage seam through its interface (storage/reader.hpp,
// storage/writer.hpp, storage/storage.hpp) on a real SQLite file: what the
// engine, the write pipeline and replay rely on, without an engine.

#include "storage/storage.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "eventactors/all.hpp"
#include "base/json_text.hpp"
#include "model/model.hpp"
#include "storage/codec.hpp"

#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;

namespace {

/// One resource with an attribute of every type, and an identity.
app seam_app() {
  app a;
  a.add(event_log{"events"}).record_id_type(record_id_kind::integer);
  auto& r = a.add(resource{"Item"});
  r.primary_key("id", key_kind::integer)
    .attribute("name", types::string())
    .attribute("label", types::ci_string())
    .attribute("count", types::integer())
    .attribute("ratio", types::floating())
    .attribute("flag", types::boolean())
    .attribute("ref", types::uuid())
    .attribute("at", types::utc_datetime())
    .attribute("day", types::date())
    .attribute("tags", types::map())
    .attribute("list", types::array(types::integer()))
    .attribute("addr", types::object({{"street", types::string()}}))
    .identity("unique_name", {"name"});
  r.events("events");
  r.create("create").accept({"id", "name"});
  r.update("update").accept({"name"});
  r.destroy("destroy");
  return a;
}

/// The attributes of an Item as the engine hands them to storage: cast to
/// their storage form.
json::object item(int64_t id, const std::string& name,
                  const json::object& extra = {}) {
  json::object in{{"id", id}, {"name", name}};
  for (auto& kvp : extra)
    in[kvp.key()] = kvp.value();
  auto m = model::build(seam_app());
  REQUIRE(m);
  auto& def = *(*m)->find("Item")->def;
  json::object out;
  for (auto& attr : def.attributes()) {
    auto given = in.if_contains(attr.name);
    json::value val;
    if (given && !given->is_null()) {
      auto err = attr.type.cast(*given, val);
      INFO(attr.name << ": " << err.value_or(""));
      REQUIRE(!err);
    }
    out.emplace(attr.name, std::move(val));
  }
  return out;
}

struct seam_fixture {
  temp_dir dir;
  std::string path = dir.file("seam.db");
  std::shared_ptr<const model> m;
  std::unique_ptr<writer> w;

  seam_fixture() {
    auto built = model::build(seam_app());
    REQUIRE(built);
    m = *built;
    auto opened = storage::open_writer(m, path, {}, environment::system());
    REQUIRE(opened);
    w = std::move(*opened);
  }

  const resource_info& res() const {
    return *m->find("Item");
  }

  std::unique_ptr<reader> open_reader() {
    auto rd = storage::open_reader(m, path, {});
    REQUIRE(rd);
    return std::move(*rd);
  }

  /// An insert of `values` with its create event.
  static write_op insert_op(json::object values, timestamp at = now_utc()) {
    write_op op;
    op.resource = "Item";
    op.kind = write_kind::insert;
    op.record_id = values.at("id");
    event_draft ev;
    ev.log = "events";
    ev.action = "create";
    ev.action_type = action_kind::create;
    ev.data = {{"name", values.at("name")}};
    ev.occurred_at = at;
    op.values = std::move(values);
    op.event = std::move(ev);
    return op;
  }

  static write_op update_op(int64_t id, json::object values,
                            int64_t expected_version) {
    write_op op;
    op.resource = "Item";
    op.kind = write_kind::update;
    op.record_id = id;
    op.values = std::move(values);
    op.expected_version = expected_version;
    return op;
  }

  static unit unit_of(std::vector<write_op> ops) {
    unit u;
    u.ops = std::move(ops);
    return u;
  }

  /// Applies `u` in a transaction of its own.
  caf::expected<unit_receipt> commit(const unit& u) {
    REQUIRE(!w->begin());
    auto receipt = w->apply(u);
    if (!receipt) {
      w->rollback();
      return receipt;
    }
    REQUIRE(!w->commit());
    return receipt;
  }

  void insert_items(int64_t from, int64_t to) {
    REQUIRE(!w->begin());
    for (auto id = from; id <= to; ++id)
      REQUIRE(
        w->apply(unit_of({insert_op(item(id, "n" + std::to_string(id)))})));
    REQUIRE(!w->commit());
  }
};

bool same(const json::value& x, const json::value& y) {
  return json_io::identical(x, y);
}

} // namespace

TEST_CASE("a unit applied through the writer reads back through a reader",
          "[storage_seam]") {
  seam_fixture f;
  auto at = timestamp{std::chrono::microseconds{1'700'000'000'123'456}};
  auto values = item(7, "seven", {{"count", 3}});
  auto receipt = f.commit(f.unit_of({f.insert_op(values, at)}));
  REQUIRE(receipt);
  REQUIRE(receipt->event_ids.size() == 1);
  CHECK(receipt->event_ids[0] == json::value(int64_t{1}));
  auto rd = f.open_reader();
  auto got = rd->get(f.res(), int64_t{7});
  REQUIRE(got);
  REQUIRE(*got);
  CHECK((*got)->version == 1);
  CHECK(same((*got)->values, values));
  auto missing = rd->get(f.res(), int64_t{8});
  REQUIRE(missing);
  CHECK(!*missing);
  auto by_name = rd->find_by(f.res(), "name", json::string{"seven"}, 10);
  REQUIRE(by_name);
  CHECK(by_name->size() == 1);
  auto* id = f.res().def->find_identity("unique_name");
  REQUIRE(id);
  auto taken = rd->find_identity(f.res(), *id, {{"name", "seven"}},
                                 int64_t{99});
  REQUIRE(taken);
  CHECK(*taken);
  auto itself = rd->find_identity(f.res(), *id, {{"name", "seven"}},
                                  int64_t{7});
  REQUIRE(itself);
  CHECK(!*itself);
  auto listed = rd->list(f.res(), 0, 10);
  REQUIRE(listed);
  CHECK(listed->size() == 1);
  auto top = rd->max_key(f.res());
  REQUIRE(top);
  CHECK(*top == 7);
  event_filter all;
  auto page = rd->events(*f.res().log, all);
  REQUIRE(page);
  REQUIRE(page->events.size() == 1);
  auto& ev = page->events[0];
  CHECK(ev.resource == "Item");
  CHECK(ev.record_id == json::value(int64_t{7}));
  CHECK(ev.action == "create");
  CHECK(ev.action_type == action_kind::create);
  CHECK(ev.occurred_at == at);
  CHECK(ev.data == json::object{{"name", "seven"}});
  CHECK(page->next_after_id.is_null());
  auto n = rd->count_events(*f.res().log, all);
  REQUIRE(n);
  CHECK(*n == 1);
}

TEST_CASE("events come in pages and stream in bounded chunks, in id order",
          "[storage_seam]") {
  seam_fixture f;
  f.insert_items(1, 25);
  auto rd = f.open_reader();
  auto& log = *f.res().log;
  SECTION("pages") {
    event_filter p;
    p.limit = 10;
    std::vector<size_t> sizes;
    int64_t last = 0;
    for (;;) {
      auto page = rd->events(log, p);
      REQUIRE(page);
      sizes.push_back(page->events.size());
      for (auto& ev : page->events) {
        CHECK(ev.id.as_int64() > last);
        last = ev.id.as_int64();
      }
      if (page->next_after_id.is_null())
        break;
      p.after_id = page->next_after_id;
    }
    CHECK(sizes == std::vector<size_t>{10, 10, 5});
    CHECK(last == 25);
  }
  SECTION("streamed, up to a cut") {
    event_filter s;
    s.limit = 7;
    s.to_id = int64_t{23};
    std::vector<size_t> chunks;
    std::vector<int64_t> ids;
    auto err = rd->stream_events(log, s, [&](std::vector<event>& xs) {
      chunks.push_back(xs.size());
      for (auto& ev : xs)
        ids.push_back(ev.record_id.as_int64());
      return caf::error{};
    });
    CHECK(!err);
    CHECK(chunks == std::vector<size_t>{7, 7, 7, 2});
    REQUIRE(ids.size() == 23);
    for (size_t i = 0; i < ids.size(); ++i)
      CHECK(ids[i] == static_cast<int64_t>(i + 1));
    auto n = rd->count_events(log, s);
    REQUIRE(n);
    CHECK(*n == 23);
  }
  SECTION("a failing consumer stops the stream with its error") {
    event_filter s;
    s.limit = 5;
    int calls = 0;
    auto err = rd->stream_events(log, s, [&](std::vector<event>&) {
      ++calls;
      return make_error(errc::replay_failed, "stop");
    });
    CHECK(is(err, errc::replay_failed));
    CHECK(calls == 1);
  }
  SECTION("records in key order, a page at a time") {
    std::optional<json::value> after;
    std::vector<int64_t> keys;
    for (;;) {
      auto page = rd->records_after(f.res(), after, 10);
      REQUIRE(page);
      for (auto& rec : *page)
        keys.push_back(rec.values.at("id").as_int64());
      if (page->size() < 10)
        break;
      after = page->back().values.at("id");
    }
    REQUIRE(keys.size() == 25);
    CHECK(keys.front() == 1);
    CHECK(keys.back() == 25);
  }
}

TEST_CASE("a failing unit takes back only itself, not the transaction's "
          "other units",
          "[storage_seam]") {
  seam_fixture f;
  REQUIRE(!f.w->begin());
  CHECK(f.w->apply(f.unit_of({f.insert_op(item(1, "one"))})));
  // Two ops: the first would succeed, the second collides with record 1.
  auto failing = f.w->apply(
    f.unit_of({f.insert_op(item(2, "two")), f.insert_op(item(1, "again"))}));
  REQUIRE(!failing);
  CHECK(is(failing.error(), errc::conflict));
  CHECK(f.w->in_transaction());
  CHECK(f.w->apply(f.unit_of({f.insert_op(item(3, "three"))})));
  REQUIRE(!f.w->commit());
  CHECK(!f.w->in_transaction());
  auto rd = f.open_reader();
  auto listed = rd->list(f.res(), 0, 10);
  REQUIRE(listed);
  std::vector<int64_t> keys;
  for (auto& rec : *listed)
    keys.push_back(rec.values.at("id").as_int64());
  CHECK(keys == std::vector<int64_t>{1, 3});
  auto n = rd->count_events(*f.res().log, {});
  REQUIRE(n);
  CHECK(*n == 2);
}

TEST_CASE("a rolled back transaction leaves nothing behind",
          "[storage_seam]") {
  seam_fixture f;
  {
    auto tx = write_transaction::begin(*f.w);
    REQUIRE(tx);
    CHECK(f.w->apply(f.unit_of({f.insert_op(item(1, "one"))})));
    // Destroyed uncommitted: rolled back.
  }
  CHECK(!f.w->in_transaction());
  auto rd = f.open_reader();
  auto n = rd->count_events(*f.res().log, {});
  REQUIRE(n);
  CHECK(*n == 0);
  auto got = rd->get(f.res(), int64_t{1});
  REQUIRE(got);
  CHECK(!*got);
}

TEST_CASE("an update or removal computed from an old version is refused",
          "[storage_seam]") {
  seam_fixture f;
  REQUIRE(f.commit(f.unit_of({f.insert_op(item(1, "one"))})));
  REQUIRE(f.commit(f.unit_of({f.update_op(1, {{"name", "uno"}}, 1)})));
  auto rd = f.open_reader();
  auto got = rd->get(f.res(), int64_t{1});
  REQUIRE(got);
  REQUIRE(*got);
  CHECK((*got)->version == 2);
  CHECK((*got)->values.at("name") == "uno");
  auto stale = f.commit(f.unit_of({f.update_op(1, {{"name", "eins"}}, 1)}));
  REQUIRE(!stale);
  CHECK(is(stale.error(), errc::concurrent_modification));
  write_op remove;
  remove.resource = "Item";
  remove.kind = write_kind::remove;
  remove.record_id = int64_t{1};
  remove.expected_version = 1;
  auto stale_remove = f.commit(f.unit_of({remove}));
  REQUIRE(!stale_remove);
  CHECK(is(stale_remove.error(), errc::concurrent_modification));
  got = rd->get(f.res(), int64_t{1});
  REQUIRE(got);
  REQUIRE(*got);
  CHECK((*got)->version == 2);
  CHECK((*got)->values.at("name") == "uno");
}

TEST_CASE("a generated key that another writer committed meanwhile is "
          "refused, and the key counter moves above it",
          "[storage_seam]") {
  seam_fixture f;
  // Another process's writer on the same file.
  auto other = storage::open_writer(f.m, f.path, {}, environment::system());
  REQUIRE(other);
  REQUIRE(!(*other)->begin());
  REQUIRE((*other)->apply(f.unit_of({f.insert_op(item(5, "theirs"))})));
  REQUIRE(!(*other)->commit());
  // Generated by this process before it saw the other commit.
  auto op = f.insert_op(item(5, "mine"));
  op.generated_key = true;
  auto taken = f.commit(f.unit_of({op}));
  REQUIRE(!taken);
  CHECK(is(taken.error(), errc::concurrent_modification));
  CHECK(f.res().next_id.load() >= 6);
  auto fresh = f.insert_op(item(6, "mine"));
  fresh.generated_key = true;
  CHECK(f.commit(f.unit_of({fresh})));
  auto rd = f.open_reader();
  auto ever = rd->max_key_ever(f.res());
  REQUIRE(ever);
  CHECK(*ever == 6);
}

TEST_CASE("every attribute type reads back bit-identical",
          "[storage_seam]") {
  seam_fixture f;
  auto values = item(
    std::numeric_limits<int64_t>::min(), "ünïcode",
    {{"label", "MiXeD"},
     {"count", std::numeric_limits<int64_t>::max()},
     {"ratio", -0.0},
     {"flag", true},
     {"ref", "0190a3c8-55b1-7c2e-9f3a-0123456789ab"},
     {"at", "2024-02-29T23:59:59.999999Z"},
     {"day", "0001-01-01"},
     {"tags", json::object{{"x", 0.1}, {"y", json::array{1, "two"}}}},
     {"list", json::array{std::numeric_limits<int64_t>::min(), 0, 1}},
     {"addr", json::object{{"street", "Main"}}}});
  REQUIRE(std::signbit(values.at("ratio").as_double()));
  // The event payloads round-trip exactly too.
  auto op = f.insert_op(values);
  op.event->data = {{"ratio", -0.0},
                    {"small", 5e-324},
                    {"big", std::numeric_limits<int64_t>::max()},
                    {"low", std::numeric_limits<int64_t>::min()}};
  REQUIRE(f.commit(f.unit_of({op})));
  auto rd = f.open_reader();
  auto got = rd->get(f.res(), std::numeric_limits<int64_t>::min());
  REQUIRE(got);
  REQUIRE(*got);
  for (auto& kvp : values) {
    INFO(kvp.key());
    CHECK(same((*got)->values.at(kvp.key()), kvp.value()));
  }
  auto page = rd->events(*f.res().log, {});
  REQUIRE(page);
  REQUIRE(page->events.size() == 1);
  CHECK(same(page->events[0].data, op.event->data));
  SECTION("other doubles keep their bits") {
    for (double x : {0.1, -1.5e300, 5e-324, 1.0, -0.0, 0.0}) {
      auto v = item(1, "d", {{"ratio", x}});
      REQUIRE(f.commit(f.unit_of({f.insert_op(v)})));
      auto back = rd->get(f.res(), int64_t{1});
      REQUIRE(back);
      REQUIRE(*back);
      CHECK(same((*back)->values.at("ratio"), json::value(x)));
      write_op del;
      del.resource = "Item";
      del.kind = write_kind::remove;
      del.record_id = int64_t{1};
      REQUIRE(f.commit(f.unit_of({del})));
    }
  }
}

TEST_CASE("what storage can hold is checked before it is written",
          "[storage_seam]") {
  CHECK(!codec::check_storable(json::value(-0.0)));
  CHECK(codec::check_storable(json::object{{"a", NAN}}) == "a: not a finite "
                                                            "number");
  CHECK(codec::storable(timestamp{}));
  CHECK(!codec::storable(timestamp{std::chrono::hours{24 * 366 * 8100}}));
}

TEST_CASE("a file of another application is refused and left untouched",
          "[storage_seam]") {
  temp_dir dir;
  auto path = dir.file("foreign.db");
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "CREATE TABLE notes (x TEXT); INSERT INTO notes "
                             "VALUES ('keep')",
                         nullptr, nullptr, nullptr)
            == SQLITE_OK);
    sqlite3_close(db);
  }
  auto size = std::filesystem::file_size(path);
  auto m = model::build(seam_app());
  REQUIRE(m);
  std::shared_ptr<const model> defs = *m;
  auto w = storage::open_writer(defs, path, {}, environment::system());
  REQUIRE(!w);
  CHECK(is(w.error(), errc::schema_mismatch));
  auto snap = storage::open_snapshot(defs, path, {});
  REQUIRE(!snap);
  CHECK(is(snap.error(), errc::schema_mismatch));
  auto err = storage::check_schema(*defs, path, {});
  CHECK(is(err, errc::schema_mismatch));
  CHECK(std::filesystem::file_size(path) == size);
  CHECK(!std::filesystem::exists(path + "-wal"));
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr)
          == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr)
          == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  CHECK(std::string{reinterpret_cast<const char*>(
          sqlite3_column_text(stmt, 0))}
        == "delete");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_CASE("read-only opens create nothing", "[storage_seam]") {
  temp_dir dir;
  auto path = dir.file("absent.db");
  auto m = model::build(seam_app());
  REQUIRE(m);
  std::shared_ptr<const model> defs = *m;
  CHECK(!storage::open_reader(defs, path, {}));
  CHECK(!storage::open_snapshot(defs, path, {}));
  CHECK(static_cast<bool>(storage::check_schema(*defs, path, {})));
  CHECK(!std::filesystem::exists(path));
}

TEST_CASE("a snapshot keeps seeing the state it was opened on",
          "[storage_seam]") {
  seam_fixture f;
  f.insert_items(1, 3);
  auto snap = storage::open_snapshot(f.m, f.path, {});
  REQUIRE(snap);
  f.insert_items(4, 5);
  auto n = (*snap)->count_events(*f.res().log, {});
  REQUIRE(n);
  CHECK(*n == 3);
  auto now = f.open_reader()->count_events(*f.res().log, {});
  REQUIRE(now);
  CHECK(*now == 5);
}

TEST_CASE("replay's steps through the writer: clear, copy, read its own "
          "writes",
          "[storage_seam]") {
  seam_fixture f;
  f.insert_items(1, 4);
  // Copy the first three events into a second store.
  auto copy_path = f.dir.file("copy.db");
  auto copy = storage::open_writer(f.m, copy_path, {}, environment::system());
  REQUIRE(copy);
  auto snap = storage::open_snapshot(f.m, f.path, {});
  REQUIRE(snap);
  event_filter cut;
  cut.to_id = int64_t{3};
  auto copied = (*copy)->copy_events(**snap, *f.res().log, cut);
  REQUIRE(copied);
  CHECK(*copied == 3);
  auto in_copy = (*copy)->transaction_reader();
  auto events = in_copy->events(*f.res().log, {});
  REQUIRE(events);
  REQUIRE(events->events.size() == 3);
  CHECK(events->events.back().id == json::value(int64_t{3}));
  // No records were copied: only events.
  auto none = in_copy->list(f.res(), 0, 10);
  REQUIRE(none);
  CHECK(none->empty());
  // Clearing inside a transaction is seen by the transaction's reader
  // only, and rolled back with it.
  auto in_live = f.w->transaction_reader();
  {
    auto tx = write_transaction::begin(*f.w);
    REQUIRE(tx);
    CHECK(!f.w->clear(f.res()));
    auto cleared = in_live->list(f.res(), 0, 10);
    REQUIRE(cleared);
    CHECK(cleared->empty());
  }
  auto back = f.open_reader()->list(f.res(), 0, 10);
  REQUIRE(back);
  CHECK(back->size() == 4);
  in_copy.reset();
  CHECK(!(*copy)->make_self_contained("test"));
  copy->reset();
  CHECK(!std::filesystem::exists(copy_path + "-wal"));
}
