// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Bad input (issue 2, section 4): each bad input is a clear caf::error of our
// category naming what was wrong, nothing is written (neither event nor
// record), and the runtime keeps serving. Also the atomicity of failed
// actions and of units (an action, its after_action hooks and the actions
// those hooks run).

#include "support/query.hpp"
#include "support/records.hpp"
#include "support/spec_app.hpp"

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <sqlite3.h>

#include <caf/sec.hpp>

#include <catch2/catch.hpp>

using namespace eventactors;
using namespace eventactors::test;

using Catch::Matchers::Contains;

namespace {

const std::vector<std::string> item_fields{
  "id", "name", "count", "active", "label", "ref", "due_at", "code", "extra"};

caf::error hook_error(std::string what) {
  // An error of another category than ours: the runtime must wrap it.
  return caf::make_error(caf::sec::runtime_error, std::move(what));
}

call hook_call(std::string resource, std::string action) {
  call c;
  c.resource = std::move(resource);
  c.action = std::move(action);
  return c;
}

/// A small app made for bad input: an Item with one attribute of each
/// interesting type, a Child belonging to it, and a Counter with an integer
/// key (on its own log, whose record ids are integers).
app bad_app(bool strict = false) {
  app a;
  auto& log = a.add(event_log{"events"})
                .persist_actor_primary_key("user_id", "Account")
                .persist_actor_primary_key("system_actor", "SystemActor",
                                           {.type = actor_key_kind::string})
                .persist_actor_primary_key("counter_id", "Counter",
                                           {.type = actor_key_kind::integer});
  if (strict)
    log.strict_actor_types();
  a.add(event_log{"counter_events"}).record_id_type(record_id_kind::integer);
  auto& item = a.add(resource{"Item"});
  item.attribute("name", types::string(), {.allow_nil = false})
    .attribute("count", types::integer())
    .attribute("active", types::boolean())
    .attribute("label", types::string())
    .attribute("ref", types::uuid())
    .attribute("due_at", types::utc_datetime())
    .attribute("code", types::ci_string())
    .attribute("extra", types::map())
    .identity("unique_code", {"code"});
  item.events("events");
  item.create("create").accept(item_fields);
  item.create("create_form").accept({"name", "label"}).skip_unknown_inputs();
  item.create("create_with_reason")
    .accept({"name"})
    .argument("reason", types::string(), {.required = true});
  item.create("create_validated")
    .accept({"name"})
    .validate(validations::string_length("name", 3, 10));
  item.create("create_change_error")
    .accept({"name"})
    .change(change{"reject", [](changeset& cs) {
                     cs.add_error("name", "rejected by the change");
                   }});
  item.create("create_throwing_change")
    .accept({"name"})
    .change(change{"explode", [](changeset&) {
                     throw std::runtime_error("the change exploded");
                   }});
  item.create("create_throwing_validation")
    .accept({"name"})
    .validate(validation{"explode",
                         [](const changeset&) -> std::optional<field_error> {
                           throw std::runtime_error("the validation exploded");
                         }});
  item.create("create_before_fails")
    .accept({"name"})
    .before_action("gatekeeper", [](hook_context&, changeset&) {
      return hook_error("the gatekeeper says no");
    });
  item.create("create_before_adds_error")
    .accept({"name"})
    .before_action("gatekeeper", [](hook_context&, changeset& cs) {
      cs.add_error("name", "refused before the action");
      return caf::error{};
    });
  item.create("create_before_throws")
    .accept({"name"})
    .before_action("bomb", [](hook_context&, changeset&) -> caf::error {
      throw std::runtime_error("the before hook exploded");
    });
  item.create("create_after_fails")
    .accept({"name"})
    .after_action("audit",
                  [](hook_context&, const changeset&, record&) {
                    return hook_error("the audit hook failed");
                  });
  item.create("create_after_throws")
    .accept({"name"})
    .after_action("bomb",
                  [](hook_context&, const changeset&,
                     record&) -> caf::error {
                    throw std::runtime_error("the after hook exploded");
                  });
  // The first child is fine, the second has a null body.
  item.create("create_with_children")
    .accept({"name"})
    .argument("second_body", types::string())
    .after_action("make_children",
                  [](hook_context& ctx, const changeset& cs,
                     record& rec) -> caf::error {
                    auto first = hook_call("Child", "create");
                    first.input["item_id"] = rec.id;
                    first.input["body"] = "first";
                    if (auto r = ctx.run(std::move(first)); !r)
                      return r.error();
                    auto second = hook_call("Child", "create");
                    second.input["item_id"] = rec.id;
                    second.input["body"] = cs.argument("second_body");
                    if (auto r = ctx.run(std::move(second)); !r)
                      return r.error();
                    return {};
                  });
  // Runs itself again from its after_action hook `remaining` more times.
  item.create("create_chain")
    .accept({"name"})
    .argument("remaining", types::integer(), {.default_value = 0})
    .after_action("recurse",
                  [](hook_context& ctx, const changeset& cs,
                     record&) -> caf::error {
                    auto n = cs.argument("remaining").as_int64();
                    if (n <= 0)
                      return {};
                    auto c = hook_call("Item", "create_chain");
                    c.input["name"] = "link";
                    c.input["remaining"] = n - 1;
                    if (auto r = ctx.run(std::move(c)); !r)
                      return r.error();
                    return {};
                  });
  // Runs itself again from its after_action hook, forever.
  item.create("create_forever")
    .accept({"name"})
    .after_action("recurse",
                  [](hook_context& ctx, const changeset&,
                     record&) -> caf::error {
                    auto c = hook_call("Item", "create_forever");
                    c.input["name"] = "again";
                    if (auto r = ctx.run(std::move(c)); !r)
                      return r.error();
                    return {};
                  });
  item.update("update").accept({"name", "count", "active", "label", "code"});
  item.update("update_after_throws")
    .accept({"name"})
    .after_action("bomb",
                  [](hook_context&, const changeset&,
                     record&) -> caf::error {
                    throw std::runtime_error("the update hook exploded");
                  });
  item.destroy("destroy");
  auto& child = a.add(resource{"Child"});
  child.attribute("body", types::string(), {.allow_nil = false})
    .belongs_to("item", "Item");
  child.events("events");
  child.create("create").accept({"body", "item_id"});
  auto& counter = a.add(resource{"Counter"});
  counter.primary_key("id", key_kind::integer)
    .attribute("value", types::integer(), {.default_value = 0});
  counter.events("counter_events");
  counter.create("create").accept({"value"});
  counter.update("update").accept({"value"});
  counter.destroy("destroy");
  return a;
}

/// A runtime of `bad_app` on a fresh database file.
class fixture {
public:
  explicit fixture(runtime_options opts = {}, bool strict = false) {
    path_ = dir_.file("bad.db");
    opts.path = path_;
    auto rt = runtime::start(bad_app(strict), std::move(opts));
    if (!rt)
      FAIL("runtime::start failed: " << render(rt.error()));
    rt_ = std::move(*rt);
    // Every table exists (so that comparing counts means something).
    for (auto n : counts())
      REQUIRE(n == 0);
  }

  runtime& rt() {
    return *rt_;
  }

  const std::string& path() const {
    return path_;
  }

  int64_t count_rows(const std::string& table) {
    return test::count_rows(path_, table);
  }

  /// Row counts of every table of the app: events, counter_events, item,
  /// child, counter (in this order).
  std::vector<int64_t> counts() {
    return {count_rows("events"), count_rows("counter_events"),
            count_rows("item"), count_rows("child"), count_rows("counter")};
  }

  caf::expected<record> run(std::string resource, std::string action,
                            json::object input = {},
                            json::value record_id = nullptr,
                            std::optional<actor> who = std::nullopt,
                            json::object metadata = {}) {
    call c{std::move(resource), std::move(action), std::move(input),
           std::move(record_id)};
    c.actor = std::move(who);
    c.metadata = std::move(metadata);
    return rt_->run(std::move(c));
  }

  record must(std::string resource, std::string action,
              json::object input = {}, json::value record_id = nullptr,
              std::optional<actor> who = std::nullopt) {
    call c{std::move(resource), std::move(action), std::move(input),
           std::move(record_id)};
    c.actor = std::move(who);
    return must_run(*rt_, std::move(c));
  }

  /// A valid call still succeeds and writes exactly one event and one
  /// record.
  void require_serving() {
    auto before = counts();
    auto name = "still serving " + std::to_string(++serial_);
    auto rec = run("Item", "create", {{"name", name}});
    REQUIRE(rec);
    CHECK(rec->get("name") == json::value(name));
    auto after = counts();
    CHECK(after[0] == before[0] + 1);
    CHECK(after[2] == before[2] + 1);
  }

  std::vector<event> events(const std::string& log = "events") {
    event_filter f;
    f.log = log;
    return events_where(*rt_, std::move(f));
  }

private:
  temp_dir dir_;
  std::string path_;
  std::unique_ptr<runtime> rt_;
  int serial_ = 0;
};

/// Runs `c`, which must fail with `code` and a rendering that names every
/// one of `needles`, writing nothing; then checks that the runtime still
/// serves. Returns the error.
caf::error expect_rejected(fixture& fx, call c, errc code,
                           std::vector<std::string> needles) {
  auto before = fx.counts();
  auto res = fx.rt().run(std::move(c));
  REQUIRE_FALSE(res);
  auto err = res.error();
  INFO("error: " << describe(err));
  CHECK(is(err, code));
  for (auto& needle : needles)
    CHECK_THAT(render(err), Contains(needle));
  CHECK(fx.counts() == before);
  fx.require_serving();
  return err;
}

call make_call(std::string resource, std::string action,
               json::object input = {}, json::value record_id = nullptr) {
  return call{std::move(resource), std::move(action), std::move(input),
              std::move(record_id)};
}

json::value nested(int levels) {
  json::value result = "bottom";
  for (int i = 0; i < levels; ++i) {
    json::object obj;
    obj["next"] = std::move(result);
    result = std::move(obj);
  }
  return result;
}

} // namespace

// -- unknown names ---------------------------------------------------------------

TEST_CASE("bad input: an unknown resource", "[bad_input]") {
  fixture fx;
  expect_rejected(fx, make_call("Nope", "create", {{"name", "x"}}),
                  errc::unknown_resource, {"Nope"});
  SECTION("with a name full of SQL") {
    expect_rejected(fx,
                    make_call("Item\"; DROP TABLE events; --", "create",
                              {{"name", "x"}}),
                    errc::unknown_resource, {"DROP TABLE events"});
  }
  SECTION("in a batch") {
    batch_call b;
    b.resource = "Nope";
    b.action = "create";
    b.items.push_back({{{"name", "x"}}, nullptr});
    auto before = fx.counts();
    auto results = fx.rt().run_batch(std::move(b));
    REQUIRE(results.size() == 1);
    REQUIRE_FALSE(results[0]);
    CHECK(is(results[0].error(), errc::unknown_resource));
    CHECK_THAT(render(results[0].error()), Contains("Nope"));
    CHECK(fx.counts() == before);
    fx.require_serving();
  }
}

TEST_CASE("bad input: an unknown action", "[bad_input]") {
  fixture fx;
  expect_rejected(fx, make_call("Item", "fly", {{"name", "x"}}),
                  errc::unknown_action, {"Item", "fly"});
  SECTION("an action of another resource is unknown here") {
    expect_rejected(fx, make_call("Child", "create_form", {{"body", "x"}}),
                    errc::unknown_action, {"Child", "create_form"});
  }
}

// -- unknown input keys ------------------------------------------------------------

TEST_CASE("bad input: an unknown input key is an error naming the key",
          "[bad_input]") {
  fixture fx;
  SECTION("a key that is neither attribute nor argument") {
    auto err = expect_rejected(
      fx, make_call("Item", "create", {{"name", "x"}, {"colour", "red"}}),
      errc::invalid_input, {"Item.create", "colour"});
    CHECK(has_field_error(err, "colour"));
  }
  SECTION("every unknown key is reported") {
    auto err = expect_rejected(fx,
                               make_call("Item", "create",
                                         {{"name", "x"},
                                          {"colour", "red"},
                                          {"shape", "round"}}),
                               errc::invalid_input, {"colour"});
    CHECK(has_field_error(err, "colour"));
    CHECK(has_field_error(err, "shape"));
  }
  SECTION("an attribute the action does not accept") {
    auto rec = fx.must("Item", "create", {{"name", "x"}});
    auto err = expect_rejected(fx,
                               make_call("Item", "update",
                                         {{"due_at",
                                           "2024-01-01T00:00:00Z"}},
                                         rec.id),
                               errc::invalid_input, {"Item.update", "due_at"});
    CHECK(has_field_error(err, "due_at"));
    CHECK(fx.rt().get("Item", rec.id)->is_null("due_at"));
  }
}

TEST_CASE("B-DATA-03: an action skipping unknown inputs drops them from the "
          "event data",
          "[bad_input]") {
  fixture fx;
  auto rec = fx.run("Item", "create_form",
                    {{"name", "form"}, {"label", "l"}, {"colour", "red"}});
  REQUIRE(rec);
  CHECK(rec->get("name") == "form");
  CHECK_FALSE(rec->values.contains("colour"));
  auto evs = fx.events();
  REQUIRE(evs.size() == 1);
  CHECK(evs[0].action == "create_form");
  CHECK(evs[0].data == json::object{{"name", "form"}, {"label", "l"}});
  CHECK_FALSE(evs[0].data.contains("colour"));
  CHECK_FALSE(evs[0].changed_attributes.contains("colour"));
  CHECK(fx.count_rows("item") == 1);
}

// -- types -----------------------------------------------------------------------

TEST_CASE("bad input: a value of the wrong type names the field",
          "[bad_input]") {
  fixture fx;
  SECTION("\"abc\" for an integer") {
    auto err = expect_rejected(
      fx, make_call("Item", "create", {{"name", "x"}, {"count", "abc"}}),
      errc::invalid_input, {"count", "abc"});
    CHECK(has_field_error(err, "count"));
  }
  SECTION("3.5 for an integer") {
    auto err = expect_rejected(
      fx, make_call("Item", "create", {{"name", "x"}, {"count", 3.5}}),
      errc::invalid_input, {"count"});
    CHECK(has_field_error(err, "count"));
  }
  SECTION("3.5 for a boolean") {
    auto err = expect_rejected(
      fx, make_call("Item", "create", {{"name", "x"}, {"active", 3.5}}),
      errc::invalid_input, {"active"});
    CHECK(has_field_error(err, "active"));
  }
  SECTION("a number for a string") {
    auto err = expect_rejected(
      fx, make_call("Item", "create", {{"name", 42}}), errc::invalid_input,
      {"name"});
    CHECK(has_field_error(err, "name"));
  }
  SECTION("an array for a map") {
    auto err = expect_rejected(fx,
                               make_call("Item", "create",
                                         {{"name", "x"},
                                          {"extra", json::array{1, 2}}}),
                               errc::invalid_input, {"extra"});
    CHECK(has_field_error(err, "extra"));
  }
  SECTION("invalid UTF-8 in a string") {
    auto err = expect_rejected(fx,
                               make_call("Item", "create",
                                         {{"name", "x"},
                                          {"label", "bad \xff\xfe bytes"}}),
                               errc::invalid_input, {"label"});
    CHECK(has_field_error(err, "label"));
  }
  SECTION("a wrong type in an update") {
    auto rec = fx.must("Item", "create", {{"name", "x"}, {"count", 1}});
    auto err = expect_rejected(
      fx, make_call("Item", "update", {{"count", "abc"}}, rec.id),
      errc::invalid_input, {"Item.update", "count"});
    CHECK(fx.rt().get("Item", rec.id)->get("count") == 1);
  }
  SECTION("several wrong fields are all reported") {
    auto err = expect_rejected(fx,
                               make_call("Item", "create",
                                         {{"name", "x"},
                                          {"count", "abc"},
                                          {"active", 3.5}}),
                               errc::invalid_input, {"Item.create"});
    CHECK(has_field_error(err, "count"));
    CHECK(has_field_error(err, "active"));
  }
}

TEST_CASE("bad input: a missing required argument", "[bad_input]") {
  fixture fx;
  SECTION("absent") {
    auto err = expect_rejected(fx,
                               make_call("Item", "create_with_reason",
                                         {{"name", "x"}}),
                               errc::invalid_input,
                               {"Item.create_with_reason", "reason"});
    CHECK(has_field_error(err, "reason"));
  }
  SECTION("given as null") {
    auto err = expect_rejected(fx,
                               make_call("Item", "create_with_reason",
                                         {{"name", "x"}, {"reason", nullptr}}),
                               errc::invalid_input, {"reason"});
    CHECK(has_field_error(err, "reason"));
  }
}

TEST_CASE("bad input: nil for a non-nil attribute", "[bad_input]") {
  fixture fx;
  SECTION("given as null on create") {
    auto err = expect_rejected(fx,
                               make_call("Item", "create", {{"name", nullptr}}),
                               errc::invalid_input, {"Item.create", "name"});
    CHECK(has_field_error(err, "name"));
  }
  SECTION("not given on create") {
    auto err = expect_rejected(fx,
                               make_call("Item", "create", {{"count", 1}}),
                               errc::invalid_input, {"name"});
    CHECK(has_field_error(err, "name"));
  }
  SECTION("set to null by an update") {
    auto rec = fx.must("Item", "create", {{"name", "keep"}});
    auto err = expect_rejected(fx,
                               make_call("Item", "update", {{"name", nullptr}},
                                         rec.id),
                               errc::invalid_input, {"Item.update", "name"});
    CHECK(has_field_error(err, "name"));
    CHECK(fx.rt().get("Item", rec.id)->get("name") == "keep");
  }
}

TEST_CASE("bad input: a malformed UUID", "[bad_input]") {
  fixture fx;
  for (auto bad : {"not-a-uuid", "1234", "00000000-0000-0000-0000-00000000000g",
                   "00000000-0000-0000-0000-0000000000001"}) {
    INFO("ref = " << bad);
    auto err = expect_rejected(
      fx, make_call("Item", "create", {{"name", "x"}, {"ref", bad}}),
      errc::invalid_input, {"ref"});
    CHECK(has_field_error(err, "ref"));
  }
  auto err = expect_rejected(
    fx, make_call("Item", "create", {{"name", "x"}, {"ref", 12}}),
    errc::invalid_input, {"ref"});
  CHECK(has_field_error(err, "ref"));
}

TEST_CASE("bad input: a malformed datetime", "[bad_input]") {
  fixture fx;
  for (auto bad : {"yesterday", "2024-13-45T00:00:00Z",
                   "2024-02-30T00:00:00Z", "2024-01-01T25:00:00Z", "",
                   "2024-01-01T00:00:00", "2024-01-01",
                   "2024-01-01T00:00:00+99:00"}) {
    INFO("due_at = " << bad);
    auto err = expect_rejected(
      fx, make_call("Item", "create", {{"name", "x"}, {"due_at", bad}}),
      errc::invalid_input, {"due_at"});
    CHECK(has_field_error(err, "due_at"));
  }
  auto err = expect_rejected(
    fx, make_call("Item", "create", {{"name", "x"}, {"due_at", 1700000000}}),
    errc::invalid_input, {"due_at"});
  CHECK(has_field_error(err, "due_at"));
}

TEST_CASE("bad input: a malformed record id", "[bad_input]") {
  fixture fx;
  auto rec = fx.must("Item", "create", {{"name", "x"}});
  SECTION("not a UUID for a UUID key (update)") {
    expect_rejected(fx,
                    make_call("Item", "update", {{"name", "y"}},
                              "not-a-uuid"),
                    errc::invalid_input, {"Item.update", "record id"});
  }
  SECTION("not a UUID for a UUID key (destroy)") {
    expect_rejected(fx, make_call("Item", "destroy", {}, 42),
                    errc::invalid_input, {"Item.destroy", "record id"});
  }
  SECTION("not an integer for an integer key") {
    auto counter = fx.must("Counter", "create", {{"value", 1}});
    CHECK(counter.id.is_int64());
    expect_rejected(fx,
                    make_call("Counter", "update", {{"value", 2}}, "abc"),
                    errc::invalid_input, {"Counter.update", "record id"});
    CHECK(fx.rt().get("Counter", counter.id)->get("value") == 1);
  }
  SECTION("missing on an update") {
    expect_rejected(fx, make_call("Item", "update", {{"name", "y"}}),
                    errc::invalid_input, {"Item.update", "record id"});
  }
  SECTION("given to a create") {
    expect_rejected(fx, make_call("Item", "create", {{"name", "y"}}, rec.id),
                    errc::invalid_input, {"Item.create", "record id"});
  }
  SECTION("reads reject it too") {
    auto got = fx.rt().get("Item", "x' OR '1'='1");
    REQUIRE_FALSE(got);
    CHECK(is(got.error(), errc::invalid_input));
  }
}

// -- metadata, size and depth ------------------------------------------------------

TEST_CASE("bad input: metadata must be a JSON object", "[bad_input]") {
  // `call::metadata` is a `json::object`, so the C++ API cannot pass
  // anything else: a scalar or an array is rejected at compile time.
  // Messages that arrive serialized (async requests, other nodes) carry the
  // metadata as JSON text; that path is out of scope here (it belongs to
  // the network tests). What we can check: the decoder used for that text
  // refuses non-objects, and an object of any shape is stored verbatim.
  static_assert(std::is_same_v<decltype(call::metadata), json::object>);
  static_assert(!std::is_assignable_v<json::object&, json::value>);
  static_assert(!std::is_assignable_v<json::object&, json::string>);
  SECTION("the message decoder refuses metadata that is not an object") {
    for (auto text : {"[1,2]", "42", "\"text\"", "null", "{not json"}) {
      INFO("metadata text " << text);
      json::object out;
      auto err = detail::json_text{text}.load(out);
      CHECK(is(err, errc::invalid_input));
      CHECK(out.empty());
    }
  }
  SECTION("an object holding any JSON is stored as given") {
    fixture fx;
    json::object meta{{"list", json::array{1, "two", nullptr}},
                      {"nested", json::object{{"a", json::object{{"b", 1}}}}},
                      {"quote", "it's \"quoted\""}};
    auto rec = fx.run("Item", "create", {{"name", "x"}}, nullptr, std::nullopt,
                      meta);
    REQUIRE(rec);
    auto evs = fx.events();
    REQUIRE(evs.size() == 1);
    CHECK(evs[0].metadata == meta);
  }
}

TEST_CASE("bad input: input over the size limit", "[bad_input]") {
  runtime_options opts;
  opts.max_input_bytes = 256;
  fixture fx{opts};
  SECTION("input within the limit is accepted") {
    fx.require_serving();
    fx.must("Item", "create", {{"name", "small"}, {"label", std::string(50, 'a')}});
  }
  SECTION("one large string") {
    expect_rejected(fx,
                    make_call("Item", "create",
                              {{"name", "x"},
                               {"label", std::string(1000, 'a')}}),
                    errc::input_too_large,
                    {"Item.create", "256", "max_input_bytes"});
  }
  SECTION("many small values") {
    json::object extra;
    for (int i = 0; i < 100; ++i)
      extra["k" + std::to_string(i)] = i;
    expect_rejected(fx,
                    make_call("Item", "create",
                              {{"name", "x"}, {"extra", std::move(extra)}}),
                    errc::input_too_large, {"max_input_bytes"});
  }
  SECTION("metadata counts towards the limit") {
    auto c = make_call("Item", "create", {{"name", "x"}});
    c.metadata["note"] = std::string(1000, 'm');
    expect_rejected(fx, std::move(c), errc::input_too_large,
                    {"Item.create", "max_input_bytes"});
  }
  SECTION("an update over the limit changes nothing") {
    auto rec = fx.must("Item", "create", {{"name", "x"}});
    expect_rejected(fx,
                    make_call("Item", "update",
                              {{"label", std::string(1000, 'b')}}, rec.id),
                    errc::input_too_large, {"Item.update", "max_input_bytes"});
    CHECK(fx.rt().get("Item", rec.id)->is_null("label"));
  }
}

TEST_CASE("bad input: the default size limit is 1 MiB", "[bad_input]") {
  fixture fx;
  REQUIRE(fx.rt().options().max_input_bytes == std::size_t{1} << 20);
  fx.must("Item", "create",
          {{"name", "x"}, {"label", std::string(100 * 1024, 'a')}});
  expect_rejected(fx,
                  make_call("Item", "create",
                            {{"name", "y"},
                             {"label", std::string(1536 * 1024, 'a')}}),
                  errc::input_too_large, {"Item.create", "max_input_bytes"});
}

TEST_CASE("bad input: input nested too deeply", "[bad_input]") {
  fixture fx;
  SECTION("in the input") {
    expect_rejected(fx,
                    make_call("Item", "create",
                              {{"name", "x"}, {"extra", nested(100)}}),
                    errc::input_too_large, {"Item.create", "nested too deeply"});
  }
  SECTION("in the metadata") {
    auto c = make_call("Item", "create", {{"name", "x"}});
    c.metadata["deep"] = nested(100);
    expect_rejected(fx, std::move(c), errc::input_too_large,
                    {"Item.create", "nested too deeply"});
  }
  SECTION("in arrays") {
    json::value deep = 1;
    for (int i = 0; i < 100; ++i)
      deep = json::array{std::move(deep)};
    expect_rejected(fx,
                    make_call("Item", "create",
                              {{"name", "x"}, {"extra", {{"a", deep}}}}),
                    errc::input_too_large, {"nested too deeply"});
  }
}

TEST_CASE("input nested within the depth limit is stored and read back",
          "[bad_input]") {
  // The limit is 64 levels; anything the write path accepts must be
  // readable again (records and events).
  fixture fx;
  for (int levels : {10, 31, 40, 60}) {
    INFO("levels = " << levels);
    auto value = nested(levels);
    auto rec = fx.run("Item", "create",
                      {{"name", "deep " + std::to_string(levels)},
                       {"extra", value.as_object()}});
    INFO("create: " << (rec ? std::string{"ok"} : render(rec.error())));
    REQUIRE(rec);
    auto got = fx.rt().get("Item", rec->id);
    INFO("get: " << (got ? std::string{"ok"} : render(got.error())));
    CHECK(got);
    if (got)
      CHECK(got->get("extra") == value);
    event_filter f;
    f.log = "events";
    f.record_id = rec->id;
    auto page = fx.rt().events(f);
    INFO("events: " << (page ? std::string{"ok"} : render(page.error())));
    CHECK(page);
    if (page) {
      REQUIRE(page->events.size() == 1);
      CHECK(page->events[0].data.at("extra") == value);
    }
  }
}

// -- actors ------------------------------------------------------------------------

TEST_CASE("bad input: an actor of an unconfigured type", "[bad_input]") {
  SECTION("under strict_actor_types it is an error naming the type") {
    fixture fx{{}, true};
    auto c = make_call("Item", "create", {{"name", "x"}});
    c.actor = actor{"Robot", json::string{"r2d2"}};
    expect_rejected(fx, std::move(c), errc::unknown_actor_type,
                    {"Robot", "events"});
    // A configured type is still fine under the strict option.
    auto ok = fx.run("Item", "create", {{"name", "y"}}, nullptr,
                     actor{"SystemActor", json::string{"nightly"}});
    REQUIRE(ok);
    auto evs = fx.events();
    REQUIRE_FALSE(evs.empty());
    CHECK(evs.back().actors.at("system_actor") == "nightly");
  }
  SECTION("without it the actor is accepted and every column stays null") {
    fixture fx;
    auto rec = fx.run("Item", "create", {{"name", "x"}}, nullptr,
                      actor{"Robot", json::string{"r2d2"}});
    REQUIRE(rec);
    auto evs = fx.events();
    REQUIRE(evs.size() == 1);
    CHECK(evs[0].actors.size() == 3);
    for (auto col : {"user_id", "system_actor", "counter_id"}) {
      INFO("column " << col);
      REQUIRE(evs[0].actors.contains(col));
      CHECK(evs[0].actors.at(col).is_null());
    }
  }
}

TEST_CASE("bad input: an actor whose id does not fit its column",
          "[bad_input]") {
  fixture fx;
  SECTION("not a UUID for a uuid column") {
    auto c = make_call("Item", "create", {{"name", "x"}});
    c.actor = actor{"Account", json::string{"not-a-uuid"}};
    expect_rejected(fx, std::move(c), errc::invalid_input,
                    {"actor", "Account", "not-a-uuid"});
  }
  SECTION("not an integer for an integer column") {
    auto c = make_call("Item", "create", {{"name", "x"}});
    c.actor = actor{"Counter", json::string{"abc"}};
    expect_rejected(fx, std::move(c), errc::invalid_input,
                    {"actor", "Counter"});
  }
  SECTION("an object for a string column") {
    auto c = make_call("Item", "create", {{"name", "x"}});
    c.actor = actor{"SystemActor", json::object{{"a", 1}}};
    expect_rejected(fx, std::move(c), errc::invalid_input,
                    {"actor", "SystemActor"});
  }
  SECTION("a null id") {
    auto c = make_call("Item", "create", {{"name", "x"}});
    c.actor = actor{"Account", nullptr};
    expect_rejected(fx, std::move(c), errc::invalid_input,
                    {"actor", "Account"});
  }
  SECTION("an empty type") {
    auto c = make_call("Item", "create", {{"name", "x"}});
    c.actor = actor{"", json::string{"x"}};
    expect_rejected(fx, std::move(c), errc::invalid_input, {"actor"});
  }
}

// -- missing records and conflicts ---------------------------------------------------

TEST_CASE("bad input: update or destroy of a record that does not exist",
          "[bad_input]") {
  fixture fx;
  auto missing = "2b0c6d4e-8f1a-4c3b-9d2e-1f0a3b4c5d6e";
  SECTION("update") {
    expect_rejected(fx, make_call("Item", "update", {{"name", "y"}}, missing),
                    errc::not_found, {"Item", missing});
  }
  SECTION("destroy") {
    expect_rejected(fx, make_call("Item", "destroy", {}, missing),
                    errc::not_found, {"Item", missing});
  }
  SECTION("destroy twice") {
    auto rec = fx.must("Item", "create", {{"name", "x"}});
    fx.must("Item", "destroy", {}, rec.id);
    expect_rejected(fx, make_call("Item", "destroy", {}, rec.id),
                    errc::not_found, {"Item"});
  }
  SECTION("an integer key") {
    expect_rejected(fx, make_call("Counter", "update", {{"value", 1}}, 999),
                    errc::not_found, {"Counter", "999"});
  }
}

TEST_CASE("bad input: a unique identity conflict names the identity",
          "[bad_input]") {
  fixture fx;
  auto first = fx.must("Item", "create", {{"name", "a"}, {"code", "A-1"}});
  SECTION("on create") {
    expect_rejected(fx,
                    make_call("Item", "create",
                              {{"name", "b"}, {"code", "A-1"}}),
                    errc::conflict, {"Item", "unique_code", "A-1"});
  }
  SECTION("case-insensitively on a ci_string") {
    expect_rejected(fx,
                    make_call("Item", "create",
                              {{"name", "b"}, {"code", "a-1"}}),
                    errc::conflict, {"unique_code"});
  }
  SECTION("on update") {
    auto second = fx.must("Item", "create", {{"name", "b"}, {"code", "B-1"}});
    expect_rejected(fx,
                    make_call("Item", "update", {{"code", "A-1"}}, second.id),
                    errc::conflict, {"unique_code", "A-1"});
    CHECK(fx.rt().get("Item", second.id)->get("code") == "B-1");
  }
  SECTION("on the fixture's User email") {
    spec_fixture sfx;
    sfx.create_user("user@example.com");
    auto ev_before = sfx.count_rows("events");
    auto users_before = sfx.count_rows("user");
    auto roles_before = sfx.count_rows("user_role");
    auto res = sfx.run("User", "create",
                       {{"email", "USER@example.com"}, {"given_name", "X"}});
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::conflict));
    CHECK_THAT(render(res.error()), Contains("unique_email"));
    CHECK(sfx.count_rows("events") == ev_before);
    CHECK(sfx.count_rows("user") == users_before);
    CHECK(sfx.count_rows("user_role") == roles_before);
    sfx.create_user("other@example.com");
    CHECK(sfx.count_rows("events") == ev_before + 2);
  }
}

TEST_CASE("bad input: create with an existing primary key is a conflict",
          "[bad_input]") {
  fixture fx;
  auto first = fx.must("Item", "create", {{"name", "a"}});
  auto err = expect_rejected(fx,
                             make_call("Item", "create",
                                       {{"id", first.id}, {"name", "b"}}),
                             errc::conflict,
                             {"Item", std::string{first.id.as_string()}});
  CHECK(fx.rt().get("Item", first.id)->get("name") == "a");
}

TEST_CASE("a failing constraint write: concurrent creates of one identity",
          "[bad_input]") {
  // Many units race for one identity; the database's unique index (or the
  // pre-check) lets exactly one win. The losers write nothing and do not
  // take the other units of their commit down with them.
  fixture fx;
  constexpr int threads = 8;
  std::atomic<int> won{0};
  std::atomic<int> conflicts{0};
  std::atomic<int> others{0};
  std::atomic<int> unique_ok{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < threads; ++i)
    ts.emplace_back([&, i] {
      for (int round = 0; round < 5; ++round) {
        auto code = "SHARED-" + std::to_string(round);
        auto r = fx.run("Item", "create",
                        {{"name", "racer"}, {"code", code}});
        if (r)
          ++won;
        else if (is(r.error(), errc::conflict))
          ++conflicts;
        else
          ++others;
        auto mine = "T" + std::to_string(i) + "-" + std::to_string(round);
        if (fx.run("Item", "create", {{"name", "own"}, {"code", mine}}))
          ++unique_ok;
      }
    });
  for (auto& t : ts)
    t.join();
  CHECK(won == 5);
  CHECK(conflicts == threads * 5 - 5);
  CHECK(others == 0);
  CHECK(unique_ok == threads * 5);
  CHECK(fx.count_rows("item") == 5 + threads * 5);
  CHECK(fx.count_rows("events") == 5 + threads * 5);
}

// -- SQL in strings ------------------------------------------------------------------

TEST_CASE("bad input: strings full of quotes and SQL are stored verbatim",
          "[bad_input]") {
  fixture fx;
  std::vector<std::string> nasty{
    "Robert'); DROP TABLE \"item\"; --",
    "x' OR '1'='1",
    "\"; DELETE FROM events; --",
    "'';\"\"\\\\ /* */ %_ `backtick` [bracket]",
    "UNION SELECT * FROM sqlite_master",
    "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80",
  };
  for (auto& s : nasty) {
    INFO("string: " << s);
    auto rec = fx.run("Item", "create",
                      {{"name", s}, {"label", s}, {"code", s},
                       {"extra", {{s, s}}}},
                      nullptr, std::nullopt, {{s, s}});
    REQUIRE(rec);
    auto got = fx.rt().get("Item", rec->id);
    REQUIRE(got);
    CHECK(got->get("name") == json::value(s));
    CHECK(got->get("label") == json::value(s));
    CHECK(got->get("code") == json::value(s));
    CHECK(got->get("extra") == json::value(json::object{{s, s}}));
    event_filter f;
    f.log = "events";
    f.record_id = rec->id;
    auto page = fx.rt().events(f);
    REQUIRE(page);
    REQUIRE(page->events.size() == 1);
    auto& ev = page->events[0];
    CHECK(ev.data.at("name") == json::value(s));
    CHECK(ev.metadata == json::object{{s, s}});
  }
  auto n = static_cast<int64_t>(nasty.size());
  CHECK(fx.count_rows("item") == n);
  CHECK(fx.count_rows("events") == n);
  CHECK(fx.count_rows("child") == 0);
  SECTION("identity lookups are parameterized too") {
    expect_rejected(fx,
                    make_call("Item", "create",
                              {{"name", "dup"}, {"code", "X' OR '1'='1"}}),
                    errc::conflict, {"unique_code"});
  }
  SECTION("event filters are parameterized") {
    event_filter f;
    f.log = "events";
    f.resource = "Item' OR '1'='1";
    auto page = fx.rt().events(f);
    REQUIRE(page);
    CHECK(page->events.empty());
    f.resource = "Item";
    f.action = "create' OR '1'='1";
    page = fx.rt().events(f);
    REQUIRE(page);
    CHECK(page->events.empty());
  }
  SECTION("a string with a NUL byte") {
    std::string s{"before\0after", 12};
    auto rec = fx.run("Item", "create", {{"name", s}});
    REQUIRE(rec);
    auto got = fx.rt().get("Item", rec->id);
    REQUIRE(got);
    CHECK(got->get("name") == json::value(s));
  }
}

// -- hooks -------------------------------------------------------------------------

TEST_CASE("bad input: hooks nesting actions deeper than max_hook_depth",
          "[bad_input]") {
  SECTION("a hook recursing forever, default limit") {
    fixture fx;
    expect_rejected(fx, make_call("Item", "create_forever", {{"name", "x"}}),
                    errc::depth_exceeded,
                    {"Item.create_forever", "max_hook_depth"});
  }
  SECTION("with a small limit") {
    runtime_options opts;
    opts.max_hook_depth = 3;
    fixture fx{opts};
    // Three nested levels are allowed: four records, four events.
    auto before = fx.counts();
    auto rec = fx.run("Item", "create_chain",
                      {{"name", "top"}, {"remaining", 3}});
    INFO((rec ? std::string{"ok"} : render(rec.error())));
    REQUIRE(rec);
    CHECK(fx.count_rows("item") == before[2] + 4);
    CHECK(fx.count_rows("events") == before[0] + 4);
    // One more level is too deep: nothing of the whole chain is written.
    expect_rejected(fx,
                    make_call("Item", "create_chain",
                              {{"name", "top"}, {"remaining", 4}}),
                    errc::depth_exceeded, {"max_hook_depth", "3"});
    expect_rejected(fx, make_call("Item", "create_forever", {{"name", "x"}}),
                    errc::depth_exceeded, {"max_hook_depth"});
  }
}

TEST_CASE("bad input: a change or hook throwing a C++ exception",
          "[bad_input]") {
  fixture fx;
  SECTION("a change") {
    expect_rejected(fx,
                    make_call("Item", "create_throwing_change",
                              {{"name", "x"}}),
                    errc::hook_failed,
                    {"Item.create_throwing_change", "the change exploded"});
  }
  SECTION("a validation") {
    expect_rejected(fx,
                    make_call("Item", "create_throwing_validation",
                              {{"name", "x"}}),
                    errc::hook_failed,
                    {"Item.create_throwing_validation",
                     "the validation exploded"});
  }
  SECTION("a before_action hook") {
    expect_rejected(fx,
                    make_call("Item", "create_before_throws", {{"name", "x"}}),
                    errc::hook_failed,
                    {"Item.create_before_throws", "the before hook exploded"});
  }
  SECTION("an after_action hook of a create") {
    expect_rejected(fx,
                    make_call("Item", "create_after_throws", {{"name", "x"}}),
                    errc::hook_failed,
                    {"Item.create_after_throws", "the after hook exploded"});
  }
  SECTION("an after_action hook of an update") {
    auto rec = fx.must("Item", "create", {{"name", "old"}});
    expect_rejected(fx,
                    make_call("Item", "update_after_throws", {{"name", "new"}},
                              rec.id),
                    errc::hook_failed,
                    {"Item.update_after_throws", "the update hook exploded"});
    CHECK(fx.rt().get("Item", rec.id)->get("name") == "old");
  }
}

// -- atomicity ---------------------------------------------------------------------

TEST_CASE("atomicity: a failed validation writes nothing", "[bad_input]") {
  fixture fx;
  auto err = expect_rejected(fx,
                             make_call("Item", "create_validated",
                                       {{"name", "x"}}),
                             errc::invalid_input,
                             {"Item.create_validated", "name"});
  CHECK(has_field_error(err, "name"));
  fx.must("Item", "create_validated", {{"name", "valid"}});
}

TEST_CASE("atomicity: a change adding an error writes nothing",
          "[bad_input]") {
  fixture fx;
  auto err = expect_rejected(fx,
                             make_call("Item", "create_change_error",
                                       {{"name", "x"}}),
                             errc::invalid_input,
                             {"Item.create_change_error",
                              "rejected by the change"});
  CHECK(has_field_error(err, "name"));
}

TEST_CASE("atomicity: a failing before_action hook writes nothing",
          "[bad_input]") {
  fixture fx;
  SECTION("returning an error") {
    expect_rejected(fx,
                    make_call("Item", "create_before_fails", {{"name", "x"}}),
                    errc::hook_failed,
                    {"Item.create_before_fails", "gatekeeper",
                     "the gatekeeper says no"});
  }
  SECTION("adding a changeset error") {
    auto err = expect_rejected(fx,
                               make_call("Item", "create_before_adds_error",
                                         {{"name", "x"}}),
                               errc::invalid_input,
                               {"refused before the action"});
    CHECK(has_field_error(err, "name"));
  }
}

TEST_CASE("atomicity: a failing after_action hook takes the action back",
          "[bad_input]") {
  fixture fx;
  SECTION("the hook returns an error") {
    expect_rejected(fx,
                    make_call("Item", "create_after_fails", {{"name", "x"}}),
                    errc::hook_failed,
                    {"Item.create_after_fails", "audit",
                     "the audit hook failed"});
  }
  SECTION("a nested action of the hook fails: parent and siblings are gone") {
    // The hook creates one child, then a second with a null body.
    auto err = expect_rejected(fx,
                               make_call("Item", "create_with_children",
                                         {{"name", "parent"}}),
                               errc::invalid_input, {"Child.create", "body"});
    CHECK(has_field_error(err, "body"));
    CHECK(fx.count_rows("child") == 0);
    // The same unit with a valid second child commits parent first.
    auto rec = fx.run("Item", "create_with_children",
                      {{"name", "parent"}, {"second_body", "second"}});
    REQUIRE(rec);
    CHECK(fx.count_rows("child") == 2);
    auto evs = fx.events();
    REQUIRE(evs.size() >= 3);
    auto n = evs.size();
    CHECK(evs[n - 3].resource == "Item");
    CHECK(evs[n - 3].action == "create_with_children");
    CHECK(evs[n - 2].resource == "Child");
    CHECK(evs[n - 1].resource == "Child");
  }
}

TEST_CASE("atomicity: a failing constraint writes neither event nor record",
          "[bad_input]") {
  fixture fx;
  auto a = fx.must("Item", "create", {{"name", "a"}, {"code", "ONE"}});
  auto b = fx.must("Item", "create", {{"name", "b"}, {"code", "TWO"}});
  // The update changes the name and the code; the code clashes, so the new
  // name must not land either.
  expect_rejected(fx,
                  make_call("Item", "update", {{"name", "b2"}, {"code", "one"}},
                            b.id),
                  errc::conflict, {"unique_code"});
  auto got = fx.rt().get("Item", b.id);
  REQUIRE(got);
  CHECK(got->get("name") == "b");
  CHECK(got->get("code") == "TWO");
  event_filter f;
  f.log = "events";
  f.record_id = b.id;
  auto page = fx.rt().events(f);
  REQUIRE(page);
  CHECK(page->events.size() == 1);
}

TEST_CASE("atomicity: an atomic batch with one bad item writes nothing",
          "[bad_input]") {
  fixture fx;
  batch_call b;
  b.resource = "Item";
  b.action = "create";
  b.atomic = true;
  b.items.push_back({{{"name", "one"}}, nullptr});
  b.items.push_back({{{"name", "two"}, {"count", "abc"}}, nullptr});
  b.items.push_back({{{"name", "three"}}, nullptr});
  auto before = fx.counts();
  auto results = fx.rt().run_batch(b);
  REQUIRE(results.size() == 3);
  for (auto& r : results) {
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), errc::invalid_input));
    CHECK_THAT(render(r.error()), Contains("count"));
  }
  CHECK(fx.counts() == before);
  SECTION("a non-atomic batch fails only the bad item") {
    b.atomic = false;
    auto xs = fx.rt().run_batch(b);
    REQUIRE(xs.size() == 3);
    CHECK(xs[0]);
    REQUIRE_FALSE(xs[1]);
    CHECK(is(xs[1].error(), errc::invalid_input));
    CHECK(xs[2]);
    CHECK(fx.count_rows("item") == before[2] + 2);
    CHECK(fx.count_rows("events") == before[0] + 2);
  }
  fx.require_serving();
}
