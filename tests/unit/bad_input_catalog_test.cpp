// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// A catalog of bad inputs across the C++ API, JSON app definitions, the
// command-line tool and replay requests. One runtime serves them all on a
// real SQLite file; for every case the error has the expected code and
// names the culprit in one line, nothing is written (the whole database
// dumps the same before and after), and a valid action still succeeds
// afterwards. The tool runs as a real process on the same file.

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <sqlite3.h>

#include <caf/make_message.hpp>
#include <caf/settings.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

#include "eventactors/all.hpp"
#include "eventactors/json_app.hpp"
#include "support/faults.hpp"
#include "support/process.hpp"
#include "support/query.hpp"
#include "support/records.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;

namespace {

// -- the app ------------------------------------------------------------------

/// Every attribute type; actions with a length limit, a required argument,
/// an increment, a hook calling a resource that does not exist, and two
/// resources whose hooks call each other forever (a cycle).
const char* catalog_app_json = R"({
  // The catalog's app (tests/unit/bad_input_catalog_test.cpp).
  "event_logs": [{
    "name": "events",
    "persist_actor_primary_key": [
      {"column": "user_id", "actor_type": "Cat.User", "type": "uuid"},
      {"column": "system_actor", "actor_type": "SystemActor", "type": "string"}
    ]
  }],
  "resources": [
    {"name": "Cat.Item",
     "attributes": [
       {"name": "name", "type": "string", "allow_nil": false},
       {"name": "title", "type": "string"},
       {"name": "count", "type": "integer"},
       {"name": "price", "type": "float"},
       {"name": "active", "type": "boolean"},
       {"name": "ref", "type": "uuid"},
       {"name": "due_at", "type": "utc_datetime"},
       {"name": "born_on", "type": "date"},
       {"name": "extra", "type": "map"},
       {"name": "tags", "type": {"array": "string"}},
       {"name": "address", "type": {"object": [
         {"name": "city", "type": "string", "allow_nil": false},
         {"name": "zip", "type": "string"}]}},
       {"name": "code", "type": "ci_string"}
     ],
     "identities": [{"name": "unique_code", "attributes": ["code"]}],
     "actions": [
       {"name": "create", "kind": "create",
        "accept": ["name", "title", "count", "price", "active", "ref", "due_at",
                   "born_on", "extra", "tags", "address", "code"],
        "steps": [{"validate": "string_length", "field": "title", "max": 20}]},
       {"name": "create_with_reason", "kind": "create", "accept": ["name"],
        "arguments": [{"name": "reason", "type": "string", "required": true}]},
       {"name": "create_calling_nowhere", "kind": "create", "accept": ["name"],
        "steps": [{"hook": "call_action", "name": "nowhere", "on": "after_action",
                   "resource": "Cat.Nowhere", "action": "create"}]},
       {"name": "update", "kind": "update",
        "accept": ["name", "title", "count", "extra"],
        "steps": [{"validate": "string_length", "field": "title", "max": 20}]},
       {"name": "bump", "kind": "update",
        "steps": [{"change": "increment", "attribute": "count"}]},
       {"name": "destroy", "kind": "destroy"}
     ],
     "events": {"event_log": "events"}},
    {"name": "Cat.Ping",
     "attributes": [{"name": "n", "type": "integer"}],
     "actions": [{"name": "create", "kind": "create", "accept": ["n"],
       "steps": [{"hook": "call_action", "name": "to_pong", "on": "after_action",
                  "resource": "Cat.Pong", "action": "create",
                  "input": {"n": "$record.n"}}]}],
     "events": {"event_log": "events"}},
    {"name": "Cat.Pong",
     "attributes": [{"name": "n", "type": "integer"}],
     "actions": [{"name": "create", "kind": "create", "accept": ["n"],
       "steps": [{"hook": "call_action", "name": "to_ping", "on": "after_action",
                  "resource": "Cat.Ping", "action": "create",
                  "input": {"n": "$record.n"}}]}],
     "events": {"event_log": "events"}}
  ]
})";

constexpr uint32_t catalog_hook_depth = 8;
constexpr std::size_t catalog_input_bytes = 64 * 1024;

/// The prefix of every temp directory (tests/support/temp_dir.hpp).
const std::string env_dir_marker = "eventactors-test-";

void write_text(const std::string& path, const std::string& text) {
  write_bytes(path, text);
  REQUIRE(read_bytes(path) == text);
}

// -- the shared runtime -------------------------------------------------------

/// One runtime on a real file, shared by every case, with records the
/// cases refer to.
struct catalog_env {
  temp_dir dir;
  std::string db = dir.file("catalog.db");
  std::string app_file = dir.file("catalog.json");
  std::unique_ptr<runtime> rt;
  /// A record of Cat.Item, and one whose count is the largest integer.
  json::value item_id;
  json::value max_count_id;
  /// The id of the newest event when the catalog started.
  json::value last_event_id;
  int serial = 0;

  catalog_env() {
    write_text(app_file, catalog_app_json);
    auto definitions = load_app_file(app_file);
    if (!definitions)
      FAIL("the catalog app does not load: " << describe(definitions.error()));
    runtime_options opts;
    opts.path = db;
    opts.max_hook_depth = catalog_hook_depth;
    opts.max_input_bytes = catalog_input_bytes;
    auto started = runtime::start(std::move(*definitions), opts);
    if (!started)
      FAIL("runtime::start failed: " << describe(started.error()));
    rt = std::move(*started);
    auto item = must_run(*rt, call{"Cat.Item", "create",
                                   {{"name", "first"},
                                    {"code", "FIRST"},
                                    {"count", 1}}});
    item_id = item.id;
    auto max = must_run(*rt, call{"Cat.Item", "create",
                                  {{"name", "max"},
                                   {"count",
                                    std::numeric_limits<int64_t>::max()}}});
    max_count_id = max.id;
    last_event_id = max.event_id;
    REQUIRE(last_event_id.is_int64());
  }
};

/// Every table of the database, every row, as text: equal dumps mean
/// nothing was written.
std::string dump_all(const std::string& path) {
  connection c{path};
  std::vector<std::string> tables;
  {
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(c.get(),
                               "SELECT name FROM sqlite_master WHERE type = "
                               "'table' ORDER BY name",
                               -1, &stmt, nullptr)
            == SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW)
      tables.emplace_back(
        reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    sqlite3_finalize(stmt);
  }
  REQUIRE(tables.size() >= 4);
  std::string out;
  for (auto& t : tables) {
    int ncols = 0;
    {
      sqlite3_stmt* stmt = nullptr;
      auto sql = "SELECT * FROM \"" + t + "\"";
      REQUIRE(sqlite3_prepare_v2(c.get(), sql.c_str(), -1, &stmt, nullptr)
              == SQLITE_OK);
      ncols = sqlite3_column_count(stmt);
      sqlite3_finalize(stmt);
    }
    std::string order;
    for (int i = 1; i <= ncols; ++i)
      order += (i > 1 ? "," : "") + std::to_string(i);
    out += dump_query(c.get(),
                      "SELECT * FROM \"" + t + "\" ORDER BY " + order);
    out += "-- end of " + t + "\n";
  }
  return out;
}

// -- outcomes -----------------------------------------------------------------

/// The error a case produced. `err` is empty when the bad input was
/// accepted (which fails the case).
struct outcome {
  caf::error err;
  /// For the tool: its exit code and what it printed.
  int exit_code = -1;
  std::string out;
  std::string err_text;
};

outcome of(caf::error err) {
  return outcome{std::move(err)};
}

template <class T>
outcome of(const caf::expected<T>& x) {
  if (x)
    return outcome{};
  return outcome{x.error()};
}

// -- JSON definitions ---------------------------------------------------------

/// Parses `text` like a definition file, then loads it.
outcome load_text(std::string_view text) {
  auto doc = parse_json(text, "case.json");
  if (!doc)
    return of(doc.error());
  return of(load_app(*doc));
}

/// A valid definition of one resource `R` with an event log, with `steps`
/// spliced into its action `create`, and `more` into the event log object.
std::string def_with(const std::string& steps, const std::string& more = {}) {
  return R"({"event_logs": [{"name": "events")" + more + R"(}],
    "resources": [{"name": "R",
      "attributes": [{"name": "n", "type": "string"}],
      "actions": [{"name": "create", "kind": "create", "accept": ["n"],
                   "steps": [)"
         + steps + R"(]}],
      "events": {"event_log": "events"}}]})";
}

// -- the tool -----------------------------------------------------------------

/// Turns the tool's jsonl error object (`{"code", "message", "fields"}`)
/// back into an error, as the tool printed it (no escaping added here).
caf::error error_of_json(const json::value& v) {
  if (!v.is_object())
    return caf::error{};
  auto& o = v.get_object();
  auto code = o.if_contains("code");
  auto msg = o.if_contains("message");
  if (!code || !code->is_string() || !msg || !msg->is_string())
    return caf::error{};
  std::vector<field_error> fields;
  if (auto fs = o.if_contains("fields"); fs && fs->is_array())
    for (auto& f : fs->get_array())
      if (f.is_object() && f.get_object().contains("field"))
        fields.push_back({std::string{f.at("field").as_string()},
                          std::string{f.at("message").as_string()}});
  auto context = caf::make_message(std::string{msg->get_string()},
                                   std::move(fields));
  for (int i = 1; i <= 40; ++i)
    if (to_string(static_cast<errc>(i)) == code->get_string())
      return caf::error{static_cast<uint8_t>(i), caf::atom("evact"),
                        std::move(context)};
  // "error": not of our category.
  return caf::error{1, caf::atom("other"), std::move(context)};
}

/// Runs the tool with `args` (in jsonl format) and returns its error:
/// from stderr, or for `batch`, from the first failed line on stdout.
outcome run_tool(const std::vector<std::string>& args,
                 const std::string& input = {}) {
  std::vector<std::string> argv{EVENTACTORS_CLI, "--format", "jsonl"};
  argv.insert(argv.end(), args.begin(), args.end());
  process_options opts;
  opts.input = input;
  opts.timeout = std::chrono::seconds{60};
  auto p = run_process(argv, opts);
  INFO("stdout: " << p.out << "\nstderr: " << p.err);
  CHECK_FALSE(p.timed_out);
  CHECK(p.signal == 0);
  outcome result;
  result.exit_code = p.exit_code;
  result.out = p.out;
  result.err_text = p.err;
  bool batch = std::find(args.begin(), args.end(), "batch") != args.end();
  auto text = batch ? p.out : p.err;
  auto line = text.substr(0, text.find('\n'));
  boost::system::error_code ec;
  auto v = json::parse(line, ec);
  // The error report is one line of valid JSON, whatever the input was.
  CHECK_FALSE(ec);
  if (ec)
    return result;
  if (batch) {
    // {"line": N, "ok": false, "error": {...}}
    if (v.is_object() && v.get_object().contains("error"))
      result.err = error_of_json(v.at("error"));
  } else {
    // Nothing on stdout when the command failed.
    CHECK(p.out.empty());
    if (v.is_object() && v.get_object().contains("error"))
      result.err = error_of_json(v.at("error"));
  }
  return result;
}

// -- the catalog --------------------------------------------------------------

struct bad_case {
  std::string name;
  std::string category;
  std::function<outcome(catalog_env&)> run;
  errc code;
  /// Text the rendered error (or one of its field errors) must contain:
  /// the culprit.
  std::vector<std::string> needles;
  /// For the tool: the expected exit code.
  int exit_code = -1;
};

call make_call(std::string resource, std::string action,
               json::object input = {}, json::value record_id = nullptr) {
  return call{std::move(resource), std::move(action), std::move(input),
              std::move(record_id)};
}

/// A call of Cat.Item.create with a valid name and `extra` input.
call item_create(json::object extra) {
  json::object input{{"name", "bad"}};
  for (auto& kvp : extra)
    input[kvp.key()] = kvp.value();
  return make_call("Cat.Item", "create", std::move(input));
}

json::value nested(int levels) {
  json::value result = "bottom";
  for (int i = 0; i < levels; ++i)
    result = json::object{{"next", std::move(result)}};
  return result;
}

std::string deep_text(char open, std::size_t n) {
  return std::string(n, open);
}

const double nan_value = std::numeric_limits<double>::quiet_NaN();
const double inf_value = std::numeric_limits<double>::infinity();

std::vector<bad_case> api_cases() {
  using E = catalog_env;
  auto run = [](call c) {
    return [c](E& env) { return of(env.rt->run(c)); };
  };
  auto run_on_item = [](std::string action, json::object input) {
    return [action, input](E& env) {
      return of(env.rt->run(
        make_call("Cat.Item", action, input, env.item_id)));
    };
  };
  std::vector<bad_case> xs{
    // -- unknown names
    {"unknown resource", "api", run(make_call("Cat.Nope", "create")),
     errc::unknown_resource, {"Cat.Nope"}},
    {"unknown action", "api", run(make_call("Cat.Item", "fly")),
     errc::unknown_action, {"Cat.Item", "fly"}},
    {"resource name with control characters", "api",
     run(make_call("Cat.Item\n\x01", "create", {{"name", "x"}})),
     errc::unknown_resource, {"Cat.Item"}},
    {"action name with invalid UTF-8", "api",
     run(make_call("Cat.Item", "cr\xc3\x28" "ate", {{"name", "x"}})),
     errc::unknown_action, {"Cat.Item", "cr"}},
    {"unknown input key", "api", run(item_create({{"colour", "red"}})),
     errc::invalid_input, {"colour"}},
    {"input key with invalid UTF-8", "api",
     run(item_create({{"bad\xff", 1}})), errc::invalid_input, {"bad"}},
    {"input key with a newline", "api", run(item_create({{"na\nme", "x"}})),
     errc::invalid_input, {"unknown input"}},
    {"hook calling a resource that does not exist", "api",
     run(make_call("Cat.Item", "create_calling_nowhere", {{"name", "x"}})),
     errc::unknown_resource, {"Cat.Nowhere"}},
    // -- wrong types
    {"text for an integer", "api", run(item_create({{"count", "abc"}})),
     errc::invalid_input, {"count", "abc"}},
    {"fraction for an integer", "api", run(item_create({{"count", 3.5}})),
     errc::invalid_input, {"count", "3.5"}},
    {"text for a boolean", "api", run(item_create({{"active", "yes"}})),
     errc::invalid_input, {"active", "yes"}},
    {"number for a string", "api", run(make_call("Cat.Item", "create",
                                                 {{"name", 42}})),
     errc::invalid_input, {"name", "42"}},
    {"array for a map", "api",
     run(item_create({{"extra", json::array{1, 2}}})), errc::invalid_input,
     {"extra"}},
    {"wrong element type in an array", "api",
     run(item_create({{"tags", json::array{"a", 7}}})), errc::invalid_input,
     {"tags", "[1]"}},
    {"null element in an array", "api",
     run(item_create({{"tags", json::array{"a", nullptr}}})),
     errc::invalid_input, {"tags", "[1]"}},
    {"nested object without its required field", "api",
     run(item_create({{"address", json::object{{"zip", "123"}}}})),
     errc::invalid_input, {"address", "city"}},
    {"nested object with an unknown field", "api",
     run(item_create({{"address", json::object{{"city", "A"}, {"zipp", 1}}}})),
     errc::invalid_input, {"address", "zipp"}},
    {"malformed UUID", "api", run(item_create({{"ref", "not-a-uuid"}})),
     errc::invalid_input, {"ref", "not-a-uuid"}},
    // -- integer overflow
    {"integer above 2^63-1", "api",
     run(item_create({{"count", uint64_t{1} << 63}})), errc::invalid_input,
     {"count", "out of range"}},
    {"integer text with 20 digits", "api",
     run(item_create({{"count", "99999999999999999999"}})),
     errc::invalid_input, {"count", "99999999999999999999"}},
    {"integer given as 1e19", "api", run(item_create({{"count", 1e19}})),
     errc::invalid_input, {"count"}},
    {"increment past the largest integer", "api",
     [](E& env) {
       return of(env.rt->run(
         make_call("Cat.Item", "bump", {}, env.max_count_id)));
     },
     errc::invalid_input, {"count", "overflow"}},
    // -- NaN and infinities
    {"NaN for a float", "api", run(item_create({{"price", nan_value}})),
     errc::invalid_input, {"price", "finite"}},
    {"infinity for a float", "api", run(item_create({{"price", inf_value}})),
     errc::invalid_input, {"price", "finite"}},
    {"negative infinity for a float", "api",
     run(item_create({{"price", -inf_value}})), errc::invalid_input,
     {"price", "finite"}},
    {"\"nan\" text for a float", "api", run(item_create({{"price", "nan"}})),
     errc::invalid_input, {"price"}},
    {"NaN inside a map", "api",
     run(item_create({{"extra", json::object{{"ratio", nan_value}}}})),
     errc::invalid_input, {"extra", "ratio"}},
    {"infinity inside metadata", "api",
     [](E& env) {
       auto c = item_create({});
       c.metadata["score"] = inf_value;
       return of(env.rt->run(c));
     },
     errc::invalid_input, {"metadata", "score"}},
    // -- dates and times
    {"February 30th", "api",
     run(item_create({{"due_at", "2024-02-30T00:00:00Z"}})),
     errc::invalid_input, {"due_at", "2024-02-30T00:00:00Z"}},
    {"date-time without a time zone", "api",
     run(item_create({{"due_at", "2024-01-01T10:00:00"}})),
     errc::invalid_input, {"due_at", "2024-01-01T10:00:00"}},
    {"date-time as a number", "api",
     run(item_create({{"due_at", 1700000000}})), errc::invalid_input,
     {"due_at", "1700000000"}},
    {"date-time in year 10000 after its offset", "api",
     run(item_create({{"due_at", "9999-12-31T23:30:00-01:00"}})),
     errc::invalid_input, {"due_at", "9999-12-31T23:30:00-01:00"}},
    {"date-time before year 0 after its offset", "api",
     run(item_create({{"due_at", "0000-01-01T00:30:00+01:00"}})),
     errc::invalid_input, {"due_at", "0000-01-01T00:30:00+01:00"}},
    {"February 29th of a common year", "api",
     run(item_create({{"born_on", "2023-02-29"}})), errc::invalid_input,
     {"born_on", "2023-02-29"}},
    {"date without leading zeros", "api",
     run(item_create({{"born_on", "2024-1-1"}})), errc::invalid_input,
     {"born_on", "2024-1-1"}},
    // -- invalid UTF-8 and control characters
    {"invalid UTF-8 in a string", "api",
     run(item_create({{"title", "bad \xff\xfe"}})), errc::invalid_input,
     {"title", "UTF-8"}},
    {"overlong UTF-8 encoding of '/'", "api",
     run(item_create({{"title", "\xc0\xaf"}})), errc::invalid_input,
     {"title", "UTF-8"}},
    {"UTF-8 encoded surrogate", "api",
     run(item_create({{"title", "\xed\xa0\x80"}})), errc::invalid_input,
     {"title", "UTF-8"}},
    {"invalid UTF-8 in an array element", "api",
     run(item_create({{"tags", json::array{"ok", "\xff"}}})),
     errc::invalid_input, {"tags", "[1]", "UTF-8"}},
    {"invalid UTF-8 in a map value", "api",
     run(item_create({{"extra", json::object{{"note", "\xfe"}}}})),
     errc::invalid_input, {"extra", "note", "UTF-8"}},
    {"invalid UTF-8 in a map key", "api",
     run(item_create({{"extra", json::object{{"k\xff", 1}}}})),
     errc::invalid_input, {"extra", "UTF-8"}},
    {"invalid UTF-8 in metadata", "api",
     [](E& env) {
       auto c = item_create({});
       c.metadata["source"] = "\xc3";
       return of(env.rt->run(c));
     },
     errc::invalid_input, {"metadata", "source", "UTF-8"}},
    {"invalid UTF-8 in an actor id", "api",
     [](E& env) {
       auto c = item_create({});
       c.actor = actor{"SystemActor", json::string{"robot\xff"}};
       return of(env.rt->run(c));
     },
     errc::invalid_input, {"SystemActor", "UTF-8"}},
    // -- overlong strings
    {"title beyond its 20 characters", "api",
     run(item_create({{"title", std::string(21, 'x')}})),
     errc::invalid_input, {"title", "20"}},
    {"title of 21 two-byte characters", "api",
     [](E& env) {
       std::string s;
       for (int i = 0; i < 21; ++i)
         s += "\xc3\xa9";
       return of(env.rt->run(item_create({{"title", s}})));
     },
     errc::invalid_input, {"title", "20"}},
    {"input beyond max_input_bytes", "api",
     run(item_create({{"extra", json::object{{"blob",
                                             std::string(100 * 1024, 'a')}}}})),
     errc::input_too_large, {"Cat.Item.create", "max_input_bytes"}},
    {"metadata beyond max_input_bytes", "api",
     [](E& env) {
       auto c = item_create({});
       c.metadata["blob"] = std::string(100 * 1024, 'm');
       return of(env.rt->run(c));
     },
     errc::input_too_large, {"max_input_bytes"}},
    {"input nested 100 levels deep", "api",
     run(item_create({{"extra", nested(100).as_object()}})),
     errc::input_too_large, {"extra", "nested too deeply"}},
    {"input nested 10000 levels deep", "api",
     run(item_create({{"extra", nested(10000).as_object()}})),
     errc::input_too_large, {"extra", "nested too deeply"}},
    {"metadata nested 100 levels deep", "api",
     [](E& env) {
       auto c = item_create({});
       c.metadata["deep"] = nested(100);
       return of(env.rt->run(c));
     },
     errc::input_too_large, {"metadata", "nested too deeply"}},
    // -- missing and nil
    {"missing required argument", "api",
     run(make_call("Cat.Item", "create_with_reason", {{"name", "x"}})),
     errc::invalid_input, {"reason"}},
    {"null required argument", "api",
     run(make_call("Cat.Item", "create_with_reason",
                   {{"name", "x"}, {"reason", nullptr}})),
     errc::invalid_input, {"reason"}},
    {"missing non-nil attribute", "api",
     run(make_call("Cat.Item", "create", {{"count", 1}})),
     errc::invalid_input, {"name"}},
    {"null for a non-nil attribute", "api",
     run_on_item("update", {{"name", nullptr}}), errc::invalid_input,
     {"name"}},
    // -- record ids
    {"malformed record id", "api",
     run(make_call("Cat.Item", "update", {{"name", "y"}}, "not-a-uuid")),
     errc::invalid_input, {"record id", "not-a-uuid"}},
    {"record id of the wrong JSON type", "api",
     run(make_call("Cat.Item", "destroy", {}, json::object{{"id", 1}})),
     errc::invalid_input, {"Cat.Item.destroy", "record id"}},
    {"missing record id", "api",
     run(make_call("Cat.Item", "update", {{"name", "y"}})),
     errc::invalid_input, {"Cat.Item.update", "record id"}},
    {"record id given to a create", "api",
     [](E& env) {
       return of(env.rt->run(
         make_call("Cat.Item", "create", {{"name", "y"}}, env.item_id)));
     },
     errc::invalid_input, {"Cat.Item.create", "record id"}},
    {"record that does not exist", "api",
     run(make_call("Cat.Item", "destroy", {},
                   "0b6c1a3e-9f00-4e2b-8d6f-2a1f3c4d5e6f")),
     errc::not_found, {"Cat.Item", "0b6c1a3e-9f00-4e2b-8d6f-2a1f3c4d5e6f"}},
    {"wrong type in an update", "api", run_on_item("update", {{"count", "x"}}),
     errc::invalid_input, {"Cat.Item.update", "count"}},
    {"overlong title in an update", "api",
     run_on_item("update", {{"title", std::string(50, 't')}}),
     errc::invalid_input, {"title"}},
    // -- actors and identities
    {"actor without a type", "api",
     [](E& env) {
       auto c = item_create({});
       c.actor = actor{"", json::string{"x"}};
       return of(env.rt->run(c));
     },
     errc::invalid_input, {"actor", "type"}},
    {"actor id that is not a UUID", "api",
     [](E& env) {
       auto c = item_create({});
       c.actor = actor{"Cat.User", json::string{"user-7"}};
       return of(env.rt->run(c));
     },
     errc::invalid_input, {"Cat.User", "user-7"}},
    {"actor with a null id", "api",
     [](E& env) {
       auto c = item_create({});
       c.actor = actor{"Cat.User", nullptr};
       return of(env.rt->run(c));
     },
     errc::invalid_input, {"Cat.User", "null"}},
    {"identity taken, differing in case", "api",
     run(item_create({{"code", "first"}})), errc::conflict,
     {"unique_code", "first"}},
    // -- metadata carried as text (messages between nodes)
    {"metadata text that is not an object", "api",
     [](E&) {
       json::object out;
       return of(detail::json_text{"[1, 2]"}.load(out));
     },
     errc::invalid_input, {"object"}},
    // -- batches
    {"atomic batch with one bad item", "api",
     [](E& env) {
       batch_call b{"Cat.Item", "create"};
       b.atomic = true;
       b.items.push_back({{{"name", "one"}}, nullptr});
       b.items.push_back({{{"name", "two"}, {"count", "many"}}, nullptr});
       auto results = env.rt->run_batch(b);
       REQUIRE(results.size() == 2);
       CHECK_FALSE(results[0]);
       return of(results[1]);
     },
     errc::invalid_input, {"count", "many"}},
    // -- hooks
    {"cycle of call_action hooks", "api",
     run(make_call("Cat.Ping", "create", {{"n", 1}})), errc::depth_exceeded,
     {"max_hook_depth", std::to_string(catalog_hook_depth)}},
    // -- runtime options
    {"max_hook_depth too deep for the stack", "api",
     [](E& env) {
       auto definitions = load_app_file(env.app_file);
       REQUIRE(definitions);
       runtime_options opts;
       opts.path = env.dir.file("deep.db");
       opts.max_hook_depth = 1001;
       auto rt = runtime::start(std::move(*definitions), opts);
       CHECK_FALSE(std::filesystem::exists(opts.path));
       return of(rt);
     },
     errc::invalid_definition, {"max_hook_depth", "1001"}},
    {"max-hook-depth setting out of range", "api",
     [](E&) {
       caf::settings cfg;
       caf::put(cfg, "eventactors.max-hook-depth", int64_t{5000});
       return of(read_options(cfg));
     },
     errc::invalid_definition, {"max-hook-depth", "1000"}},
    // -- reads and appends
    {"get with a malformed id", "api",
     [](E& env) { return of(env.rt->get("Cat.Item", "x' OR '1'='1")); },
     errc::invalid_input, {"Cat.Item", "x' OR '1'='1"}},
    {"list of an unknown resource", "api",
     [](E& env) { return of(env.rt->list("Cat.Nope")); },
     errc::unknown_resource, {"Cat.Nope"}},
    {"events of an unknown log", "api",
     [](E& env) { return of(env.rt->events({.log = "nope"})); },
     errc::invalid_input, {"nope"}},
    {"append with version 0", "api",
     [](E& env) {
       new_event ev;
       ev.resource = "Cat.Item";
       ev.action = "create";
       ev.record_id = env.item_id;
       ev.version = 0;
       return of(env.rt->append(ev));
     },
     errc::invalid_input, {"version", "0"}},
    {"append without a record id", "api",
     [](E& env) {
       new_event ev;
       ev.resource = "Cat.Item";
       ev.action = "create";
       return of(env.rt->append(ev));
     },
     errc::invalid_input, {"record_id"}},
    {"append to an unknown actor column", "api",
     [](E& env) {
       new_event ev;
       ev.resource = "Cat.Item";
       ev.action = "create";
       ev.record_id = env.item_id;
       ev.actors["robot_id"] = "r2";
       return of(env.rt->append(ev));
     },
     errc::invalid_input, {"robot_id"}},
    {"append with NaN in its data", "api",
     [](E& env) {
       new_event ev;
       ev.resource = "Cat.Item";
       ev.action = "create";
       ev.record_id = env.item_id;
       ev.data["price"] = nan_value;
       return of(env.rt->append(ev));
     },
     errc::invalid_input, {"data", "price"}},
    {"append with invalid UTF-8 in its metadata", "api",
     [](E& env) {
       new_event ev;
       ev.resource = "Cat.Item";
       ev.action = "create";
       ev.record_id = env.item_id;
       ev.metadata["who"] = "\xff";
       return of(env.rt->append(ev));
     },
     errc::invalid_input, {"metadata", "who", "UTF-8"}},
    {"append dated after year 9999", "api",
     [](E& env) {
       new_event ev;
       ev.resource = "Cat.Item";
       ev.action = "create";
       ev.record_id = env.item_id;
       ev.occurred_at = *parse_timestamp("9999-12-31T23:59:59Z")
                        + std::chrono::hours{48};
       return of(env.rt->append(ev));
     },
     errc::invalid_input, {"occurred_at"}},
  };
  return xs;
}

std::vector<bad_case> json_cases() {
  using E = catalog_env;
  auto text = [](std::string t) {
    return [t](E&) { return load_text(t); };
  };
  std::vector<bad_case> xs{
    // -- syntax
    {"duplicate key", "json",
     text(R"({"resources": [{"name": "A", "name": "B"}]})"),
     errc::invalid_input, {"case.json:1:", "duplicate key \"name\""}},
    {"100000 nested arrays", "json", text(deep_text('[', 100000)),
     errc::invalid_input, {"case.json:1:", "too deep"}},
    {"100000 nested objects", "json",
     [](E&) {
       std::string t;
       for (int i = 0; i < 100000; ++i)
         t += "{\"a\":";
       return load_text(t);
     },
     errc::invalid_input, {"case.json:1:", "too deep"}},
    {"invalid UTF-8 in the JSON text", "json",
     text("{\"resources\": [{\"name\": \"A\xff\"}]}"), errc::invalid_input,
     {"case.json:1:", "invalid JSON"}},
    {"raw control character in a JSON string", "json",
     text("{\"resources\": [{\"name\": \"A\x01\"}]}"), errc::invalid_input,
     {"case.json:1:", "invalid JSON"}},
    {"NUL byte in the JSON text", "json",
     text(std::string{"{\"resources\": \0[]}", 18}), errc::invalid_input,
     {"case.json:1:", "invalid JSON"}},
    {"text after the object", "json", text("{} {}"), errc::invalid_input,
     {"case.json:1:4"}},
    {"empty text", "json", text(""), errc::invalid_input, {"case.json"}},
    // -- structure
    {"top level is an array", "json", text("[]"), errc::invalid_definition,
     {"(root)", "expected an object"}},
    {"unknown top-level key", "json", text(R"({"resourcez": []})"),
     errc::invalid_definition, {"resourcez"}},
    {"resource without a name", "json",
     text(R"({"resources": [{"attributes": []}]})"), errc::invalid_definition,
     {"resources[0]", "name"}},
    {"resource name of the wrong type", "json",
     text(R"({"resources": [{"name": 42}]})"), errc::invalid_definition,
     {"resources[0].name"}},
    {"attributes that are not an array", "json",
     text(R"({"resources": [{"name": "A", "attributes": {"x": 1}}]})"),
     errc::invalid_definition, {"resources[0].attributes"}},
    {"unknown attribute type", "json",
     text(R"({"resources": [{"name": "A",
               "attributes": [{"name": "x", "type": "strng"}]}]})"),
     errc::invalid_definition, {"resources[0].attributes[0].type", "strng"}},
    {"unknown action kind", "json",
     text(R"({"resources": [{"name": "A",
               "actions": [{"name": "c", "kind": "explode"}]}]})"),
     errc::invalid_definition, {"resources[0].actions[0].kind", "explode"}},
    {"accepting an attribute that does not exist", "json",
     text(R"({"resources": [{"name": "A",
               "attributes": [{"name": "x", "type": "string"}],
               "actions": [{"name": "c", "kind": "create",
                            "accept": ["x", "y"]}]}]})"),
     errc::invalid_definition, {"resources[0].actions[0].accept[1]", "\"y\""}},
    {"two resources of one name", "json",
     text(R"({"resources": [{"name": "A"}, {"name": "A"}]})"),
     errc::invalid_definition, {"duplicate resource \"A\""}},
    {"default of the wrong type", "json",
     text(R"({"resources": [{"name": "A", "attributes": [
               {"name": "x", "type": "integer", "default": "abc"}]}]})"),
     errc::invalid_definition, {"resources[0].attributes[0]", "abc"}},
    {"event log name that is not an identifier", "json",
     text(R"({"event_logs": [{"name": "Events!"}]})"),
     errc::invalid_definition, {"event_logs[0]", "Events!"}},
    // -- steps
    {"unknown change", "json", text(def_with(R"({"change": "frobnicate"})")),
     errc::invalid_definition,
     {"resources[0].actions[0].steps[0].change", "frobnicate"}},
    {"unknown validation", "json",
     text(def_with(R"({"validate": "is_nice", "field": "n"})")),
     errc::invalid_definition,
     {"resources[0].actions[0].steps[0]", "is_nice"}},
    {"unknown hook", "json",
     text(def_with(R"({"hook": "teleport", "name": "t"})")),
     errc::invalid_definition,
     {"resources[0].actions[0].steps[0]", "teleport"}},
    {"unknown parameter of a built-in", "json",
     text(def_with(R"({"validate": "present", "field": "n", "colour": 1})")),
     errc::invalid_definition,
     {"resources[0].actions[0].steps[0]", "colour"}},
    {"min larger than max", "json",
     text(def_with(
       R"({"validate": "string_length", "field": "n", "min": 5, "max": 2})")),
     errc::invalid_definition, {"resources[0].actions[0].steps[0]", "min"}},
    {"huge number as a length", "json",
     text(def_with(
       R"({"validate": "string_length", "field": "n", "max": 1e400})")),
     errc::invalid_definition, {"resources[0].actions[0].steps[0]", "max"}},
    {"invalid regular expression", "json",
     text(def_with(R"({"validate": "match", "field": "n", "pattern": "(["})")),
     errc::invalid_definition,
     {"resources[0].actions[0].steps[0]", "pattern"}},
    {"hook without a name", "json",
     text(def_with(R"({"hook": "call_action", "resource": "R",
                      "action": "create"})")),
     errc::invalid_definition, {"resources[0].actions[0].steps[0]", "name"}},
    // -- events and overrides
    {"version 0 for an action", "json",
     text(R"({"event_logs": [{"name": "events"}],
       "resources": [{"name": "R",
         "actions": [{"name": "create", "kind": "create"}],
         "events": {"event_log": "events",
                    "current_action_versions": {"create": 0}}}]})"),
     errc::invalid_definition,
     {"resources[0].events.current_action_versions.create"}},
    {"version beyond 2^64", "json",
     text(R"({"event_logs": [{"name": "events"}],
       "resources": [{"name": "R",
         "actions": [{"name": "create", "kind": "create"}],
         "events": {"event_log": "events",
                    "current_action_versions":
                      {"create": 99999999999999999999999}}}]})"),
     errc::invalid_definition,
     {"resources[0].events.current_action_versions.create"}},
    {"events section naming an unknown log", "json",
     text(R"({"resources": [{"name": "R",
         "actions": [{"name": "create", "kind": "create"}],
         "events": {"event_log": "nope"}}]})"),
     errc::invalid_definition, {"resources[0].events", "nope"}},
    {"replay override routing to itself", "json",
     text(def_with("", R"(, "replay_overrides": [{"resource": "R",
        "action": "create", "versions": [1],
        "route_to": [{"resource": "R", "action": "create"}]}])")),
     errc::invalid_definition,
     {"event_logs[0].replay_overrides[0]", "routes to itself"}},
    {"replay override routing to an unknown action", "json",
     text(def_with("", R"(, "replay_overrides": [{"resource": "R",
        "action": "old", "versions": [1],
        "route_to": [{"resource": "R", "action": "nope"}]}])")),
     errc::invalid_definition,
     {"event_logs[0].replay_overrides[0]", "nope"}},
    {"replay override with a negative version", "json",
     text(def_with("", R"(, "replay_overrides": [{"resource": "R",
        "action": "old", "versions": [-1],
        "route_to": [{"resource": "R", "action": "create"}]}])")),
     errc::invalid_definition,
     {"event_logs[0].replay_overrides[0].versions"}},
    {"replay override without targets", "json",
     text(def_with("", R"(, "replay_overrides": [{"resource": "R",
        "action": "old", "versions": [1], "route_to": []}])")),
     errc::invalid_definition,
     {"event_logs[0].replay_overrides[0]", "route_to"}},
    // -- files
    {"definition file that does not exist", "json",
     [](E& env) { return of(load_app_file(env.dir.file("missing.json"))); },
     errc::invalid_input, {"missing.json"}},
    {"definition file with a syntax error on line 3", "json",
     [](E& env) {
       auto path = env.dir.file("broken.json");
       write_text(path, "{\n  \"resources\": [\n    {\"name\": }\n]}");
       return of(load_app_file(path));
     },
     errc::invalid_input, {"broken.json:3:"}},
  };
  return xs;
}

std::vector<bad_case> cli_cases() {
  using E = catalog_env;
  // Runs `eventactors --app APP --db DB args...`.
  auto tool = [](std::vector<std::string> args, std::string input = {}) {
    return [args, input](E& env) {
      std::vector<std::string> full{"--app", env.app_file, "--db", env.db};
      full.insert(full.end(), args.begin(), args.end());
      return run_tool(full, input);
    };
  };
  std::vector<bad_case> xs{
    {"tool: unknown subcommand", "cli", tool({"frobnicate"}),
     errc::invalid_input, {"frobnicate"}, 2},
    {"tool: unknown option", "cli", tool({"list", "Cat.Item", "--colour"}),
     errc::invalid_input, {"--colour"}, 2},
    {"tool: unknown resource", "cli", tool({"run", "Cat.Nope", "create"}),
     errc::unknown_resource, {"Cat.Nope"}, 1},
    {"tool: unknown action", "cli", tool({"run", "Cat.Item", "fly", "{}"}),
     errc::unknown_action, {"fly"}, 1},
    {"tool: resource name with invalid UTF-8", "cli",
     tool({"run", "Cat.\xff\xfe", "create", "{}"}), errc::unknown_resource,
     {"Cat."}, 1},
    {"tool: resource name with a newline", "cli",
     tool({"run", "Cat.Item\nDROP", "create", "{}"}), errc::unknown_resource,
     {"Cat.Item", "DROP"}, 1},
    {"tool: malformed INPUT_JSON", "cli",
     tool({"run", "Cat.Item", "create", R"({"name": )"}), errc::invalid_input,
     {"INPUT_JSON"}, 2},
    {"tool: INPUT_JSON that is an array", "cli",
     tool({"run", "Cat.Item", "create", "[1]"}), errc::invalid_input,
     {"INPUT_JSON"}, 2},
    {"tool: INPUT_JSON with invalid UTF-8", "cli",
     tool({"run", "Cat.Item", "create", "{\"name\": \"\xff\"}"}),
     errc::invalid_input, {"INPUT_JSON"}, 2},
    {"tool: INPUT_JSON nested 100000 levels", "cli",
     tool({"run", "Cat.Item", "create", deep_text('[', 100000)}),
     errc::invalid_input, {"INPUT_JSON", "too deep"}, 2},
    {"tool: INPUT_JSON with a duplicate key", "cli",
     tool({"run", "Cat.Item", "create", R"({"name": "a", "name": "b"})"}),
     errc::invalid_input, {"duplicate key \"name\""}, 2},
    {"tool: wrong type in the input", "cli",
     tool({"run", "Cat.Item", "create", R"({"name": "a", "count": "lots"})"}),
     errc::invalid_input, {"count", "lots"}, 1},
    {"tool: huge number for a float", "cli",
     tool({"run", "Cat.Item", "create", R"({"name": "a", "price": 1e400})"}),
     errc::invalid_input, {"price", "finite"}, 1},
    {"tool: huge number inside a map", "cli",
     tool({"run", "Cat.Item", "create",
           R"({"name": "a", "extra": {"big": -1e999}})"}),
     errc::invalid_input, {"extra", "big"}, 1},
    {"tool: integer with 30 digits", "cli",
     tool({"run", "Cat.Item", "create",
           R"({"name": "a", "count": 123456789012345678901234567890})"}),
     errc::invalid_input, {"count"}, 1},
    {"tool: --metadata that is not an object", "cli",
     tool({"run", "Cat.Item", "create", R"({"name": "a"})", "--metadata",
           "42"}),
     errc::invalid_input, {"--metadata"}, 2},
    {"tool: --actor without a colon", "cli",
     tool({"run", "Cat.Item", "create", R"({"name": "a"})", "--actor",
           "robot"}),
     errc::invalid_input, {"--actor"}, 2},
    {"tool: --id that is not a UUID", "cli",
     tool({"run", "Cat.Item", "update", R"({"name": "a"})", "--id", "12"}),
     errc::invalid_input, {"record id", "12"}, 1},
    {"tool: get with a malformed id", "cli", tool({"get", "Cat.Item", "zz"}),
     errc::invalid_input, {"zz"}, 1},
    {"tool: hook cycle", "cli",
     tool({"run", "Cat.Ping", "create", R"({"n": 1})"}), errc::depth_exceeded,
     {"max_hook_depth"}, 1},
    {"tool: batch line that is not JSON", "cli",
     tool({"batch"}, "{\"resource\": \n"), errc::invalid_input,
     {"invalid JSON"}, 1},
    {"tool: batch line with an unknown key", "cli",
     tool({"batch"},
          R"({"resource": "Cat.Item", "action": "create", "imput": {}})" "\n"),
     errc::invalid_input, {"imput"}, 1},
    {"tool: batch line with the action of the wrong type", "cli",
     tool({"batch"}, R"({"resource": "Cat.Item", "action": 7})" "\n"),
     errc::invalid_input, {"action"}, 1},
    {"tool: replay to an event that does not exist", "cli",
     tool({"replay", "--last-event-id", "987654"}), errc::invalid_input,
     {"987654"}, 1},
    {"tool: replay to a negative event id", "cli",
     tool({"replay", "--last-event-id", "-5"}), errc::invalid_input,
     {"-5"}, 2},
    {"tool: replay to a malformed time", "cli",
     tool({"replay", "--point-in-time", "2026-02-30T00:00:00Z"}),
     errc::invalid_input, {"--point-in-time"}, 2},
    {"tool: replay to a time after year 9999", "cli",
     tool({"replay", "--point-in-time", "9999-12-31T23:30:00-01:00"}),
     errc::invalid_input, {"--point-in-time"}, 2},
    {"tool: replay with both cuts", "cli",
     tool({"replay", "--last-event-id", "1", "--point-in-time",
           "2026-01-01T00:00:00Z"}),
     errc::invalid_input, {"--point-in-time"}, 2},
    {"tool: events since a malformed time", "cli",
     tool({"events", "--since", "yesterday"}), errc::invalid_input,
     {"--since"}, 2},
    {"tool: list with --limit 0", "cli", tool({"list", "Cat.Item", "--limit",
                                               "0"}),
     errc::invalid_input, {"--limit"}, 2},
    {"tool: list with a --limit beyond 32 bits", "cli",
     tool({"list", "Cat.Item", "--limit", "99999999999"}),
     errc::invalid_input, {"--limit"}, 2},
    {"tool: events from a malformed id", "cli",
     tool({"events", "--from-id", "abc"}), errc::invalid_input,
     {"--from-id", "abc"}, 2},
    {"tool: history of a malformed id", "cli",
     tool({"history", "Cat.Item", "not-a-uuid"}), errc::invalid_input,
     {"Cat.Item", "not-a-uuid"}, 1},
    {"tool: list with a negative --offset", "cli",
     tool({"list", "Cat.Item", "--offset", "-1"}), errc::invalid_input,
     {"--offset"}, 2},
    {"tool: batch line with invalid UTF-8", "cli",
     tool({"batch"}, "{\"resource\": \"Cat.Item\", \"action\": \"create\", "
                     "\"input\": {\"name\": \"\xff\"}}\n"),
     errc::invalid_input, {"invalid JSON"}, 1},
    {"tool: --db that is not a database", "cli",
     [](E& env) {
       auto before = read_bytes(env.app_file);
       auto r = run_tool({"--app", env.app_file, "--db", env.app_file,
                          "run", "Cat.Item", "create", R"({"name": "x"})"});
       CHECK(read_bytes(env.app_file) == before);
       return r;
     },
     errc::storage_failure, {"catalog.json", "not a database"}, 1},
    {"tool: --db that is a directory", "cli",
     [](E& env) {
       return run_tool({"--app", env.app_file, "--db",
                        env.dir.path().string(), "run", "Cat.Item", "create",
                        R"({"name": "x"})"});
     },
     errc::storage_failure, {env_dir_marker, "unable to open"}, 1},
    {"tool: --app file that does not exist", "cli",
     [](E& env) {
       return run_tool({"--app", env.dir.file("nope.json"), "--db", env.db,
                        "list", "Cat.Item"});
     },
     errc::invalid_input, {"nope.json"}, 2},
    {"tool: --app file with a duplicate key", "cli",
     [](E& env) {
       auto path = env.dir.file("dup.json");
       write_text(path, R"({"resources": [], "resources": []})");
       return run_tool(
         {"--app", path, "--db", env.db, "list", "Cat.Item"});
     },
     errc::invalid_input, {"dup.json", "duplicate key \"resources\""}, 2},
    {"tool: --app file with invalid UTF-8", "cli",
     [](E& env) {
       auto path = env.dir.file("latin1.json");
       write_text(path, "{\"resources\": [{\"name\": \"Caf\xe9\"}]}");
       return run_tool(
         {"--app", path, "--db", env.db, "list", "Cat.Item"});
     },
     errc::invalid_input, {"latin1.json:1:"}, 2},
    {"tool: --app file routing an override to itself", "cli",
     [](E& env) {
       auto path = env.dir.file("self.json");
       write_text(path, def_with("", R"(, "replay_overrides": [{
         "resource": "R", "action": "create", "versions": [1],
         "route_to": [{"resource": "R", "action": "create"}]}])"));
       return run_tool(
         {"--app", path, "--db", env.db, "list", "Cat.Item"});
     },
     errc::invalid_definition,
     {"self.json", "event_logs[0].replay_overrides[0]", "routes to itself"},
     2},
  };
  return xs;
}

std::vector<bad_case> replay_cases() {
  using E = catalog_env;
  auto replay = [](replay_request req) {
    return [req](E& env) { return of(env.rt->replay(req)); };
  };
  std::vector<bad_case> xs{
    {"replay to an event that does not exist", "replay",
     replay({.last_event_id = json::value(987654)}), errc::invalid_input,
     {"987654"}},
    {"replay to a negative event id", "replay",
     replay({.last_event_id = json::value(-3)}), errc::invalid_input,
     {"last_event_id", "-3"}},
    {"replay to event id zero", "replay",
     replay({.last_event_id = json::value(0)}), errc::invalid_input,
     {"last_event_id", "0"}},
    {"replay to event id 2^64-1", "replay",
     replay({.last_event_id
             = json::value(std::numeric_limits<uint64_t>::max())}),
     errc::invalid_input, {"last_event_id", "out of range"}},
    {"replay to a text event id on an integer log", "replay",
     replay({.last_event_id = json::value("abc")}), errc::invalid_input,
     {"last_event_id", "abc"}},
    {"replay to a fractional event id", "replay",
     replay({.last_event_id = json::value(1.5)}), errc::invalid_input,
     {"last_event_id", "1.5"}},
    {"replay to a null event id", "replay",
     replay({.last_event_id = json::value(nullptr)}), errc::invalid_input,
     {"last_event_id"}},
    {"replay to an event id that is an object", "replay",
     replay({.last_event_id = json::value(json::object{{"id", 1}})}),
     errc::invalid_input, {"last_event_id"}},
    {"replay with both cuts", "replay",
     [](E& env) {
       return of(env.rt->replay({.last_event_id = env.last_event_id,
                                 .point_in_time = now_utc()}));
     },
     errc::invalid_input, {"last_event_id", "point_in_time"}},
    {"replay of an unknown event log", "replay", replay({.log = "nope"}),
     errc::invalid_input, {"nope"}},
    {"replay to a time after year 9999", "replay",
     replay({.point_in_time = *parse_timestamp("9999-12-31T23:59:59Z")
                              + std::chrono::hours{48}}),
     errc::invalid_input, {"point_in_time"}},
    {"replay to the largest representable time", "replay",
     replay({.point_in_time = timestamp::max()}), errc::invalid_input,
     {"point_in_time"}},
    {"replay to a time before year 0", "replay",
     replay({.point_in_time = timestamp::min()}), errc::invalid_input,
     {"point_in_time"}},
    {"fork into the live database file", "replay",
     [](E& env) { return of(env.rt->fork({}, env.db)); }, errc::invalid_input,
     {"catalog.db", "exists"}},
    {"fork into an empty path", "replay",
     [](E& env) { return of(env.rt->fork({}, "")); }, errc::invalid_input,
     {"path"}},
    {"fork to an event that does not exist", "replay",
     [](E& env) {
       return of(env.rt->fork({.last_event_id = json::value(987654)},
                              env.dir.file("fork.db")));
     },
     errc::invalid_input, {"987654"}},
    {"fork to a null event id", "replay",
     [](E& env) {
       return of(env.rt->fork({.last_event_id = json::value(nullptr)},
                              env.dir.file("fork.db")));
     },
     errc::invalid_input, {"last_event_id"}},
    {"fork to a time after year 9999", "replay",
     [](E& env) {
       return of(env.rt->fork({.point_in_time = timestamp::max()},
                              env.dir.file("fork.db")));
     },
     errc::invalid_input, {"point_in_time"}},
    {"verify of an unknown event log", "replay",
     [](E& env) { return of(env.rt->verify("nope")); }, errc::invalid_input,
     {"nope"}},
  };
  return xs;
}

std::vector<bad_case> catalog() {
  std::vector<bad_case> all;
  for (auto&& part : {api_cases(), json_cases(), cli_cases(), replay_cases()})
    all.insert(all.end(), part.begin(), part.end());
  return all;
}

/// The first line where two dumps differ, from both.
std::string first_difference(const std::string& before,
                             const std::string& after) {
  std::istringstream a{before};
  std::istringstream b{after};
  std::string x;
  std::string y;
  for (;;) {
    bool more_a = static_cast<bool>(std::getline(a, x));
    bool more_b = static_cast<bool>(std::getline(b, y));
    if (!more_a && !more_b)
      return "(no difference)";
    if (!more_a)
      x = "(end)";
    if (!more_b)
      y = "(end)";
    if (x != y || !more_a || !more_b)
      return "before: " + x + "\nafter:  " + y;
  }
}

/// Whether `err` (its rendering or a field error) contains `needle`.
bool names(const caf::error& err, const std::string& needle) {
  return describe(err).find(needle) != std::string::npos;
}

} // namespace

TEST_CASE("the bad input catalog has at least 60 distinct cases in four "
          "categories",
          "[catalog]") {
  auto cases = catalog();
  std::set<std::string> names;
  std::set<std::string> categories;
  for (auto& c : cases) {
    INFO("case: " << c.name);
    CHECK(names.insert(c.name).second);
    categories.insert(c.category);
    CHECK_FALSE(c.needles.empty());
    CHECK(c.code != errc::none);
  }
  CHECK(names.size() >= 60);
  CHECK(categories == std::set<std::string>{"api", "json", "cli", "replay"});
}

TEST_CASE("every bad input is refused with an error naming the culprit, "
          "writes nothing, and the runtime keeps serving",
          "[catalog]") {
  catalog_env env;
  auto cases = catalog();
  // CATALOG_CASE=text runs only the cases whose name contains it.
  std::string only;
  if (auto x = std::getenv("CATALOG_CASE"))
    only = x;
  for (auto& c : cases) {
    if (!only.empty() && c.name.find(only) == std::string::npos)
      continue;
    INFO("case [" << c.category << "] " << c.name);
    auto before = dump_all(env.db);
    outcome res;
    try {
      res = c.run(env);
    } catch (std::exception& e) {
      FAIL_CHECK("the case threw: " << e.what());
      continue;
    }
    if (c.exit_code >= 0) {
      INFO("stdout: " << res.out << "\nstderr: " << res.err_text);
      CHECK(res.exit_code == c.exit_code);
    }
    // An error of our category with the expected code ...
    CHECK(res.err);
    if (res.err) {
      INFO("error: " << describe(res.err));
      CHECK(res.err.category() == caf::atom("evact"));
      CHECK(is(res.err, c.code));
      // ... naming the culprit, on one line.
      for (auto& needle : c.needles) {
        INFO("needle: " << needle);
        CHECK(names(res.err, needle));
      }
      auto one_line = [](const std::string& x) {
        return x.find_first_of("\r\n") == std::string::npos;
      };
      CHECK(one_line(message(res.err)));
      for (auto& fe : field_errors(res.err))
        CHECK((one_line(fe.field) && one_line(fe.message)));
    }
    // Nothing was written.
    auto after = dump_all(env.db);
    if (after != before)
      FAIL_CHECK("the database changed: " << first_difference(before, after));
    // The runtime keeps serving.
    auto name = "serving after case " + std::to_string(++env.serial);
    auto ok = env.rt->run(make_call("Cat.Item", "create", {{"name", name}}));
    INFO("valid action: " << (ok ? std::string{"ok"} : describe(ok.error())));
    REQUIRE(ok);
    CHECK(ok->get("name") == json::value(name));
  }
  // The records the cases aimed at are as they were.
  auto first = env.rt->get("Cat.Item", env.item_id);
  REQUIRE(first);
  CHECK(first->get("name") == "first");
  CHECK(first->get("count") == 1);
  auto max = env.rt->get("Cat.Item", env.max_count_id);
  REQUIRE(max);
  CHECK(max->get("count") == std::numeric_limits<int64_t>::max());
  // And the log still rebuilds them.
  auto report = env.rt->verify();
  REQUIRE(report);
  CHECK(report->ok());
}

TEST_CASE("hooks calling actions in a cycle stop at max_hook_depth with "
          "depth_exceeded, also at the largest documented limit, never with "
          "a stack overflow",
          "[catalog]") {
  temp_dir dir;
  auto path = dir.file("catalog.json");
  write_text(path, catalog_app_json);
  auto limit = GENERATE(as<uint32_t>{}, 0u, 1u, 16u, 1000u);
  INFO("max_hook_depth = " << limit);
  auto definitions = load_app_file(path);
  REQUIRE(definitions);
  runtime_options opts;
  opts.path = dir.file("depth.db");
  opts.max_hook_depth = limit;
  auto rt = runtime::start(std::move(*definitions), opts);
  REQUIRE(rt);
  auto res = (*rt)->run(make_call("Cat.Ping", "create", {{"n", 1}}));
  REQUIRE_FALSE(res);
  INFO(describe(res.error()));
  CHECK(is(res.error(), errc::depth_exceeded));
  CHECK(names(res.error(), "max_hook_depth"));
  // The limit, or before it the stack guard (a build with big frames, such
  // as under AddressSanitizer, runs out of stack before 1000 levels).
  CHECK((names(res.error(), std::to_string(limit) + " levels")
         || (limit > 16 && names(res.error(), "stack is nearly used up"))));
  CHECK(count_rows(opts.path, "events") == 0);
  CHECK(count_rows(opts.path, "cat_ping") == 0);
  CHECK(count_rows(opts.path, "cat_pong") == 0);
  // The runtime keeps serving.
  auto ok = (*rt)->run(make_call("Cat.Item", "create", {{"name", "fine"}}));
  REQUIRE(ok);
  CHECK(count_rows(opts.path, "events") == 1);
}

TEST_CASE("listing with an offset beyond 2^63 skips every record",
          "[catalog]") {
  // SQLite takes a negative OFFSET as none: the offset must not wrap.
  catalog_env env;
  auto all = env.rt->list("Cat.Item");
  REQUIRE(all);
  CHECK(all->size() == 2);
  for (auto offset : {uint64_t{2}, uint64_t{1} << 63,
                      std::numeric_limits<uint64_t>::max()}) {
    INFO("offset = " << offset);
    auto xs = env.rt->list("Cat.Item", {.offset = offset});
    REQUIRE(xs);
    CHECK(xs->empty());
  }
}

TEST_CASE("a hook cycle in a process with a small stack ends with "
          "depth_exceeded, not a stack overflow",
          "[catalog]") {
  // 1 MiB of stack per thread (threads inherit RLIMIT_STACK as their size)
  // and max_hook_depth 1000: the cycle runs out of stack long before the
  // limit, and the stack guard must stop it.
  temp_dir dir;
  auto app_file = dir.file("catalog.json");
  write_text(app_file, catalog_app_json);
  auto ini = dir.file("deep.ini");
  write_text(ini, "[eventactors]\nmax-hook-depth = 1000\n");
  auto db = dir.file("small-stack.db");
  process_options popts;
  popts.timeout = std::chrono::seconds{60};
  auto p = run_process({"/bin/sh", "-c", "ulimit -s 1024 && exec \"$@\"",
                        "sh", EVENTACTORS_CLI, "--format", "jsonl",
                        "--config", ini, "--app", app_file, "--db", db, "run",
                        "Cat.Ping", "create", R"({"n": 1})"},
                       popts);
  INFO("stdout: " << p.out << "\nstderr: " << p.err);
  CHECK_FALSE(p.timed_out);
  CHECK(p.signal == 0);
  CHECK(p.exit_code == 1);
  CHECK(p.err.find("depth_exceeded") != std::string::npos);
  CHECK(p.err.find("stack is nearly used up") != std::string::npos);
  CHECK(count_rows(db, "events") == 0);
}
