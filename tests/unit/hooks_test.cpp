// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Lifecycle hooks: when they run, what they see, and what their failures do
// to the unit.

#include "eventactors/all.hpp"

#include <atomic>

#include <catch2/catch.hpp>

#include "support/query.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;

namespace {

/// Note records, with hooks configured per test through `configure`.
struct hooks_fixture {
  temp_dir dir;
  std::string path = dir.file("h.db");
  app a;
  std::unique_ptr<runtime> rt;

  hooks_fixture() {
    a.add(event_log{"events"});
    auto& n = a.add(resource{"Note"});
    n.attribute("text", types::string(), {.allow_nil = false})
      .attribute("stamp", types::utc_datetime())
      .attribute("touched_at", types::utc_datetime());
    n.events("events").update_timestamp("touched_at");
    n.create("create").accept({"text", "stamp"});
    n.update("update").accept({"text"});
    n.update("touch").accept({"touched_at"});
  }

  resource& note() {
    return *a.find_resource("Note");
  }

  void start() {
    auto r = runtime::start(a, {.path = path,
                                .synchronous = sync_mode::normal,
                                .env = environment::deterministic(
                                  1, timestamp{std::chrono::seconds{1000}},
                                  std::chrono::seconds{1})});
    REQUIRE(r);
    rt = std::move(*r);
  }

  int64_t notes() {
    return count_rows(path, "note");
  }

  int64_t events() {
    return count_rows(path, "events");
  }
};

call create_note(std::string text) {
  return call{"Note", "create", {{"text", std::move(text)}}};
}

} // namespace

TEST_CASE("around_transaction: actions run after next committed are units "
          "of their own, not lost",
          "[hooks]") {
  hooks_fixture fx;
  fx.note().create("create_and_follow").accept({"text"}).around_transaction(
    "follow", [](hook_context& ctx, changeset& cs, const next_fn& next) {
      auto rec = next(cs);
      if (!rec)
        return rec;
      auto follow = ctx.run(create_note("follow-up"));
      if (!follow)
        return caf::expected<record>{follow.error()};
      return rec;
    });
  fx.start();
  auto rec = fx.rt->run(call{"Note", "create_and_follow", {{"text", "main"}}});
  REQUIRE(rec);
  CHECK(fx.notes() == 2);
  CHECK(fx.events() == 2);
  CHECK(query_int(fx.path, "SELECT count(*) FROM note WHERE text = "
                           "'follow-up'")
        == 1);
}

TEST_CASE("around_transaction in an atomic batch does not commit items on "
          "their own",
          "[hooks]") {
  hooks_fixture fx;
  fx.note().create("wrapped").accept({"text"}).around_transaction(
    "wrap", [](hook_context&, changeset& cs, const next_fn& next) {
      return next(cs);
    });
  fx.start();
  batch_call b{"Note", "wrapped"};
  b.atomic = true;
  b.items.push_back({{{"text", "a"}}, nullptr});
  b.items.push_back({{{"text", "b"}}, nullptr});
  b.items.push_back({{{"text", nullptr}}, nullptr}); // text may not be nil
  auto results = fx.rt->run_batch(b);
  REQUIRE(results.size() == 3);
  for (auto& r : results)
    CHECK(!r);
  CHECK(fx.notes() == 0);
  CHECK(fx.events() == 0);
  b.items.pop_back();
  results = fx.rt->run_batch(b);
  for (auto& r : results)
    CHECK(r);
  CHECK(fx.notes() == 2);
}

TEST_CASE("after_transaction hooks see the action's changeset, environment "
          "included",
          "[hooks]") {
  hooks_fixture fx;
  std::string seen_at;
  std::string seen_text;
  fx.note().create("observed").accept({"text"}).after_transaction(
    "observe", [&](hook_context&, const changeset& cs,
                   const caf::expected<record>& outcome) -> caf::error {
      // The changeset outlives the action: its clock still answers with
      // the action's instant.
      seen_at = format_timestamp(cs.env().clock());
      seen_text = std::string{cs.attribute("text").as_string()};
      if (!outcome)
        return outcome.error();
      return {};
    });
  fx.start();
  auto rec = fx.rt->run(call{"Note", "observed", {{"text", "x"}}});
  REQUIRE(rec);
  auto page = fx.rt->events({});
  REQUIRE(page);
  REQUIRE(page->events.size() == 1);
  CHECK(seen_at == format_timestamp(page->events[0].occurred_at));
  CHECK(seen_text == "x");
}

TEST_CASE("hooks may register more hooks of their own kind", "[hooks]") {
  hooks_fixture fx;
  std::vector<std::string> ran;
  fx.note()
    .create("chained")
    .accept({"text"})
    .before_action("first",
                   [&](hook_context&, changeset& cs) -> caf::error {
                     ran.push_back("first");
                     for (int i = 0; i < 20; ++i)
                       cs.before_action(
                         [&](hook_context&, changeset&) -> caf::error {
                           ran.push_back("added");
                           return {};
                         });
                     return {};
                   })
    .after_action("after", [&](hook_context&, const changeset& cs,
                               record&) -> caf::error {
      ran.push_back("after");
      const_cast<changeset&>(cs).after_action(
        [&](hook_context&, const changeset&, record&) -> caf::error {
          ran.push_back("after-added");
          return {};
        });
      return {};
    });
  fx.start();
  REQUIRE(fx.rt->run(call{"Note", "chained", {{"text", "x"}}}));
  REQUIRE(ran.size() == 23);
  CHECK(ran.front() == "first");
  CHECK(ran[1] == "added");
  CHECK(ran[21] == "after");
  CHECK(ran[22] == "after-added");
}

TEST_CASE("an around_transaction hook failing after its commit reports "
          "post_commit_failure; the data stays",
          "[hooks]") {
  hooks_fixture fx;
  std::atomic<int> outcomes_ok{0};
  auto observe = [&](hook_context&, const changeset&,
                     const caf::expected<record>& outcome) -> caf::error {
    if (outcome)
      ++outcomes_ok;
    return {};
  };
  fx.note()
    .create("throws_after")
    .accept({"text"})
    .after_transaction("observe", observe)
    .around_transaction("boom", [](hook_context&, changeset& cs,
                                   const next_fn& next)
                                  -> caf::expected<record> {
      auto rec = next(cs);
      throw std::runtime_error("after the commit");
    });
  fx.note()
    .create("fails_after")
    .accept({"text"})
    .after_transaction("observe", observe)
    .around_transaction("fail", [](hook_context&, changeset& cs,
                                   const next_fn& next)
                                  -> caf::expected<record> {
      auto rec = next(cs);
      return make_error(errc::invalid_input, "changed my mind");
    });
  fx.start();
  for (auto action : {"throws_after", "fails_after"}) {
    INFO(action);
    auto rec = fx.rt->run(call{"Note", action, {{"text", action}}});
    REQUIRE(!rec);
    CHECK(is(rec.error(), errc::post_commit_failure));
  }
  CHECK(fx.notes() == 2);
  CHECK(fx.events() == 2);
  // The commit happened: after_transaction hooks learn it.
  CHECK(outcomes_ok == 2);
}

TEST_CASE("an around_action hook that swallows a failed next leaves "
          "nothing of the failed step in the unit",
          "[hooks]") {
  hooks_fixture fx;
  fx.note()
    .create("swallow")
    .accept({"text"})
    .around_action("swallow", [](hook_context&, changeset& cs,
                                 const next_fn& next)
                                -> caf::expected<record> {
      auto rec = next(cs);
      if (rec)
        return rec;
      record fake;
      fake.resource = "Note";
      return fake;
    })
    .after_action("fail", [](hook_context& ctx, const changeset&,
                             record&) -> caf::error {
      // Writes a child first, then fails: both must be taken back.
      auto child = ctx.run(create_note("child"));
      if (!child)
        return child.error();
      return make_error(errc::invalid_input, "after_action failed");
    });
  fx.start();
  auto rec = fx.rt->run(call{"Note", "swallow", {{"text", "parent"}}});
  REQUIRE(rec);
  CHECK(fx.notes() == 0);
  CHECK(fx.events() == 0);
}

TEST_CASE("I-CAP-09: an update dates its event by the timestamp it set, not "
          "by a stale one it left alone",
          "[hooks][capture]") {
  hooks_fixture fx;
  fx.start();
  auto rec = fx.rt->run(create_note("x"));
  REQUIRE(rec);
  call touch{"Note", "touch", {{"touched_at", "2001-01-01T00:00:00Z"}}};
  touch.record_id = rec->id;
  REQUIRE(fx.rt->run(touch));
  call rename{"Note", "update", {{"text", "y"}}};
  rename.record_id = rec->id;
  REQUIRE(fx.rt->run(rename));
  auto page = fx.rt->events({});
  REQUIRE(page);
  REQUIRE(page->events.size() == 3);
  CHECK(format_timestamp(page->events[1].occurred_at)
        == "2001-01-01T00:00:00.000000Z");
  // The rename did not set touched_at: the clock dates it (the
  // deterministic clock started at 1000 s and moves 1 s per reading).
  CHECK(page->events[2].occurred_at > timestamp{std::chrono::seconds{1000}});
}
