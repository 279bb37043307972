// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The `eventactors` command-line tool, run as a real process on real files:
// every subcommand in table and jsonl output, every exit code, errors on
// stderr, bad usage, bad app definitions, batches with failing lines, the
// demo, replay against the C++ API, and the quickstart app's outbox.

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

#include "eventactors/all.hpp"
#include "support/cli.hpp"
#include "support/process.hpp"
#include "support/query.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace fs = std::filesystem;

namespace {

// -- running the tool --------------------------------------------------------------

#define CHECK_EXIT(r, code)                                                    \
  do {                                                                         \
    const cli_result& cli_result_ = (r);                                       \
    INFO(show(cli_result_));                                                   \
    CHECK(cli_result_.exit_code == (code));                                    \
  } while (false)

/// A temp directory with a database and an app definition (the quickstart
/// app unless told otherwise).
struct cli_app {
  temp_dir dir;
  std::string app = config_file("quickstart.json");
  std::string db = dir.file("app.db");

  /// Runs `eventactors --app APP --db DB args...`.
  cli_result operator()(std::vector<std::string> args,
                        const std::string& input = {}) const {
    args.insert(args.begin(), {"--app", app, "--db", db});
    return run_cli(args, input);
  }

  /// The same with `--format jsonl`.
  cli_result jsonl(std::vector<std::string> args,
                   const std::string& input = {}) const {
    args.insert(args.begin(), {"--format", "jsonl"});
    return (*this)(std::move(args), input);
  }
};

// -- parsing output -------------------------------------------------------------

/// The cells of a table line: columns are separated by two or more spaces.
std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> result;
  size_t i = 0;
  while (i < line.size()) {
    auto end = line.find("  ", i);
    if (end == std::string::npos)
      end = line.size();
    result.push_back(line.substr(i, end - i));
    i = line.find_first_not_of(' ', end);
    if (i == std::string::npos)
      break;
  }
  return result;
}

json::value parse_line(const std::string& line) {
  INFO("JSON line: " << line);
  boost::system::error_code ec;
  auto v = json::parse(line, ec);
  REQUIRE_FALSE(ec);
  return v;
}

/// Every line of stdout, each a JSON object.
std::vector<json::object> jsonl_of(const cli_result& r) {
  INFO(show(r));
  if (!r.out.empty())
    REQUIRE(r.out.back() == '\n');
  std::vector<json::object> result;
  for (auto& line : lines_of(r.out)) {
    auto v = parse_line(line);
    REQUIRE(v.is_object());
    result.push_back(std::move(v.get_object()));
  }
  return result;
}

/// The only line of stdout, a JSON object.
json::object jsonl_one(const cli_result& r) {
  auto xs = jsonl_of(r);
  INFO(show(r));
  REQUIRE(xs.size() == 1);
  return xs[0];
}

const json::value& at(const json::object& o, std::string_view key) {
  INFO("key \"" << key << "\" of " << json::serialize(o));
  REQUIRE(o.contains(key));
  return o.at(key);
}

std::string str(const json::object& o, std::string_view key) {
  auto& v = at(o, key);
  INFO("key \"" << key << "\" of " << json::serialize(o));
  REQUIRE(v.is_string());
  return std::string{v.get_string()};
}

int64_t num(const json::object& o, std::string_view key) {
  auto& v = at(o, key);
  INFO("key \"" << key << "\" of " << json::serialize(o));
  REQUIRE(v.is_number());
  return v.to_number<int64_t>();
}

const json::object& obj(const json::object& o, std::string_view key) {
  auto& v = at(o, key);
  INFO("key \"" << key << "\" of " << json::serialize(o));
  REQUIRE(v.is_object());
  return v.get_object();
}

std::vector<int64_t> event_ids(const std::vector<json::object>& events) {
  std::vector<int64_t> result;
  for (auto& ev : events)
    result.push_back(num(ev, "id"));
  return result;
}

// -- errors ------------------------------------------------------------------------

/// An error in table mode: exit code `code`, nothing on stdout, one line on
/// stderr naming the program and containing `needle`.
void check_table_error(const cli_result& r, int code,
                       const std::string& needle) {
  INFO(show(r));
  CHECK(r.exit_code == code);
  CHECK(r.out.empty());
  // CHECK, not REQUIRE: callers go on with their next case.
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK((!r.err.empty() && r.err.back() == '\n'));
  CHECK_THAT(r.err, StartsWith("eventactors: "));
  CHECK_THAT(r.err, Contains(needle));
}

/// An error in jsonl mode: exit code `code`, nothing on stdout, one JSON
/// object on stderr: {"error": {"code": err_code, "message": "...needle..."}}.
json::object check_jsonl_error(const cli_result& r, int code,
                               const std::string& err_code,
                               const std::string& needle) {
  INFO(show(r));
  CHECK(r.exit_code == code);
  CHECK(r.out.empty());
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK((!r.err.empty() && r.err.back() == '\n'));
  // CHECK, not REQUIRE: callers go on with their next case.
  boost::system::error_code ec;
  auto v = json::parse(r.err.substr(0, r.err.find('\n')), ec);
  CHECK_FALSE(ec);
  CHECK(v.is_object());
  if (ec || !v.is_object() || !v.get_object().contains("error"))
    return {};
  auto& e = obj(v.get_object(), "error");
  CHECK(str(e, "code") == err_code);
  CHECK_THAT(str(e, "message"), Contains(needle));
  return e;
}

// -- files ---------------------------------------------------------------------------

std::string read_text(const std::string& path) {
  std::ifstream in{path};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out{path};
  out << text;
  REQUIRE(out.good());
}

// -- a seeded database -----------------------------------------------------------------

/// The quickstart app with three users (each sent a welcome email), one
/// renamed by herself and one suspended by an operator. Events:
///  1 ann create (SystemActor:signup, {"source":"web"}), 2 send_email,
///  3 update_status; 4 bob create (SystemActor:import), 5, 6; 7 cy create
///  (no actor), 8, 9; 10 ann update (Accounts.User:ann); 11 bob set_status
///  (SystemActor:operator).
struct seeded : cli_app {
  std::string ann;
  std::string bob;
  std::string cy;

  seeded() {
    auto r = jsonl(
      {"batch"},
      R"({"resource":"Accounts.User","action":"create","input":{"email":"ann@example.com","name":"Ann"},"actor":"SystemActor:signup","metadata":{"source":"web"}}
{"resource":"Accounts.User","action":"create","input":{"email":"bob@example.com","name":"Bob"},"actor":"SystemActor:import","metadata":{"batch":7}}
{"resource":"Accounts.User","action":"create","input":{"email":"cy@example.com","name":"Cy"}}
)");
    REQUIRE_EXIT(r, 0);
    auto xs = jsonl_of(r);
    REQUIRE(xs.size() == 3);
    ann = str(obj(xs[0], "record"), "id");
    bob = str(obj(xs[1], "record"), "id");
    cy = str(obj(xs[2], "record"), "id");
    r = jsonl({"batch"},
              R"({"resource":"Accounts.User","action":"update","id":")" + ann
                + R"(","input":{"name":"Ann Smith"},"actor":{"type":"Accounts.User","id":")"
                + ann + R"("},"metadata":{"source":"profile"}}
{"resource":"Accounts.User","action":"set_status","id":")"
                + bob
                + R"(","input":{"status":"suspended"},"actor":"SystemActor:operator"}
)");
    REQUIRE_EXIT(r, 0);
    REQUIRE(jsonl_of(r).size() == 2);
  }

  /// `list RESOURCE --format jsonl`, parsed.
  std::vector<json::object> records(const std::string& resource) const {
    auto r = jsonl({"list", resource});
    REQUIRE_EXIT(r, 0);
    return jsonl_of(r);
  }

  std::vector<json::object> all_events() const {
    auto r = jsonl({"events", "--limit", "0"});
    REQUIRE_EXIT(r, 0);
    return jsonl_of(r);
  }

  /// The user with `id` as `list` shows it.
  json::object user(const std::string& id) const {
    auto r = jsonl({"get", "Accounts.User", id});
    REQUIRE_EXIT(r, 0);
    return obj(jsonl_one(r), "values");
  }
};

const std::vector<std::string> subcommands{"demo", "run",     "batch",
                                           "get",  "list",    "events",
                                           "history", "replay", "verify",
                                           "stats"};

/// The records of every resource of the quickstart app, as `list` shows
/// them.
std::vector<json::object> quickstart_records(const cli_app& a) {
  std::vector<json::object> result;
  for (auto res : {"Accounts.User", "Notifications.EmailNotification"}) {
    auto r = a.jsonl({"list", res});
    REQUIRE_EXIT(r, 0);
    for (auto& x : jsonl_of(r))
      result.push_back(x);
  }
  return result;
}

/// The same records read through the C++ API from a runtime on `db`, after
/// `req` was replayed there.
std::vector<json::object> api_replay_records(const std::string& db,
                                             replay_request req) {
  auto base = fs::path{db}.parent_path();
  auto defs = load_app_file(config_file("quickstart.json"),
                            json_library::builtins(base));
  REQUIRE(defs);
  auto rt = runtime::start(std::move(*defs), {.path = db});
  REQUIRE(rt);
  auto summary = (*rt)->replay(std::move(req));
  INFO((summary ? "" : render(summary.error())));
  REQUIRE(summary);
  std::vector<json::object> result;
  for (auto res : {"Accounts.User", "Notifications.EmailNotification"}) {
    auto xs = (*rt)->list(res);
    REQUIRE(xs);
    for (auto& x : *xs)
      result.push_back(json::object{{"resource", x.resource},
                                    {"id", x.id},
                                    {"values", x.values}});
  }
  return result;
}

std::string dump(const std::vector<json::object>& xs) {
  std::string s;
  for (auto& x : xs)
    s += json::serialize(x) + "\n";
  return s;
}

} // namespace

// -- help ------------------------------------------------------------------------

TEST_CASE("cli: --help of the tool and of every subcommand exits 0",
          "[cli]") {
  auto top = run_cli({"--help"});
  CHECK_EXIT(top, 0);
  CHECK_THAT(top.out, StartsWith("Event-sourced resources"));
  CHECK(top.err.empty());
  for (auto& sub : subcommands)
    CHECK_THAT(top.out, Contains("\n  " + sub + " "));
  for (auto& sub : subcommands) {
    auto r = run_cli({sub, "--help"});
    INFO(show(r));
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Contains("Usage: eventactors " + sub));
    CHECK(r.err.empty());
  }
}

// -- run ------------------------------------------------------------------------------

TEST_CASE("cli: run prints the resulting record in table and jsonl output",
          "[cli]") {
  cli_app a;
  // table
  auto r = a({"run", "Accounts.User", "create",
              R"({"email":"ann@example.com","name":"Ann Lee"})"});
  REQUIRE_EXIT(r, 0);
  CHECK(r.err.empty());
  auto lines = lines_of(r.out);
  INFO(show(r));
  REQUIRE(lines.size() == 8); // title, header, six attributes
  REQUIRE_THAT(lines[0], StartsWith("Accounts.User "));
  CHECK_THAT(lines[0], Contains("(event 1)"));
  auto ann = lines[0].substr(14, 36);
  CHECK(cells_of(lines[1]) == std::vector<std::string>{"field", "value"});
  std::map<std::string, std::string> fields;
  for (size_t i = 2; i < lines.size(); ++i) {
    auto c = cells_of(lines[i]);
    REQUIRE(c.size() == 2);
    fields[c[0]] = c[1];
  }
  CHECK(fields["id"] == ann);
  CHECK(fields["email"] == "ann@example.com");
  CHECK(fields["name"] == "Ann Lee");
  CHECK(fields["status"] == "active");
  CHECK(fields["created_at"] == fields["updated_at"]);
  CHECK(parse_timestamp(fields["created_at"]).has_value());

  // jsonl, with an actor and metadata; global options after the subcommand
  r = run_cli({"run", "Accounts.User", "create",
               R"({"email":"bob@example.com","name":"Bob"})", "--actor",
               "SystemActor:cli", "--metadata", R"({"ticket":42})", "--app",
               a.app, "--db", a.db, "--format", "jsonl"});
  REQUIRE_EXIT(r, 0);
  CHECK(r.err.empty());
  auto bob_rec = jsonl_one(r);
  CHECK(str(bob_rec, "resource") == "Accounts.User");
  auto bob = str(bob_rec, "id");
  CHECK(bob != ann);
  CHECK(num(bob_rec, "event_id") == 4); // after ann's create and her email
  auto& v = obj(bob_rec, "values");
  CHECK(str(v, "id") == bob);
  CHECK(str(v, "email") == "bob@example.com");
  CHECK(str(v, "name") == "Bob");
  CHECK(str(v, "status") == "active");
  CHECK(v.size() == 6);

  // update by --id, as the user himself
  r = a.jsonl({"run", "Accounts.User", "update", R"({"name":"Robert"})",
               "--id", bob, "--actor", "Accounts.User:" + bob, "--metadata",
               R"({"source":"profile"})"});
  REQUIRE_EXIT(r, 0);
  auto upd = jsonl_one(r);
  CHECK(str(upd, "id") == bob);
  CHECK(num(upd, "event_id") == 7);
  CHECK(str(obj(upd, "values"), "name") == "Robert");
  CHECK(str(obj(upd, "values"), "email") == "bob@example.com");

  // an action with an argument
  r = a.jsonl({"run", "Accounts.User", "set_status", R"({"status":"closed"})",
               "--id", ann});
  REQUIRE_EXIT(r, 0);
  CHECK(str(obj(jsonl_one(r), "values"), "status") == "closed");

  // the events recorded the actors and the metadata
  r = a.jsonl({"events", "--resource", "Accounts.User"});
  REQUIRE_EXIT(r, 0);
  auto evs = jsonl_of(r);
  REQUIRE(evs.size() == 4);
  CHECK(at(obj(evs[0], "actors"), "system_actor").is_null());
  CHECK(str(obj(evs[1], "actors"), "system_actor") == "cli");
  CHECK(num(obj(evs[1], "metadata"), "ticket") == 42);
  CHECK(str(obj(evs[2], "actors"), "user_id") == bob);
  CHECK(str(obj(evs[2], "metadata"), "source") == "profile");
  CHECK(obj(evs[2], "data") == json::object{{"name", "Robert"}});
  CHECK(str(evs[3], "action") == "set_status");
  CHECK(obj(evs[3], "data") == json::object{{"status", "closed"}});

  // destroy; then the record is gone
  r = a({"run", "Accounts.User", "destroy", "--id", bob});
  REQUIRE_EXIT(r, 0);
  CHECK_THAT(r.out, StartsWith("Accounts.User " + bob + " (event "));
  r = a({"get", "Accounts.User", bob});
  check_table_error(r, 1, "no record");
  r = a.jsonl({"get", "Accounts.User", bob});
  check_jsonl_error(r, 1, "not_found", bob);
}

TEST_CASE("cli: a failed action exits 1 and writes nothing", "[cli]") {
  cli_app a;
  auto r = a.jsonl({"run", "Accounts.User", "create",
                    R"({"email":"ann@example.com","name":"Ann"})"});
  REQUIRE_EXIT(r, 0);
  auto ann = str(jsonl_one(r), "id");

  SECTION("table") {
    check_table_error(a({"run", "Accounts.User", "create",
                         R"({"email":"not an email"})"}),
                      1, "must be an email address");
    check_table_error(a({"run", "Accounts.User", "create",
                         R"({"email":"ANN@example.com"})"}),
                      1, "already exists");
    check_table_error(a({"run", "Nope.Thing", "create", "{}"}), 1,
                      "Nope.Thing");
    check_table_error(a({"run", "Accounts.User", "fly", "{}"}), 1, "fly");
    check_table_error(a({"run", "Accounts.User", "set_status",
                         R"({"status":"weird"})", "--id", ann}),
                      1, "status");
    check_table_error(a({"run", "Accounts.User", "update", R"({"name":"X"})",
                         "--id", "00000000-0000-4000-8000-000000000000"}),
                      1, "00000000-0000-4000-8000-000000000000");
    check_table_error(a({"list", "Nope.Thing"}), 1, "Nope.Thing");
  }
  SECTION("jsonl") {
    auto e = check_jsonl_error(a.jsonl({"run", "Accounts.User", "create",
                                        R"({"email":"not an email"})"}),
                               1, "invalid_input", "must be an email address");
    auto& fe = at(e, "fields");
    REQUIRE(fe.is_array());
    REQUIRE(fe.get_array().size() == 1);
    CHECK(str(fe.get_array()[0].get_object(), "field") == "email");
    CHECK(str(fe.get_array()[0].get_object(), "message")
          == "must be an email address");
    check_jsonl_error(a.jsonl({"run", "Accounts.User", "create",
                               R"({"email":"ANN@example.com"})"}),
                      1, "conflict", "ANN@example.com");
    check_jsonl_error(a.jsonl({"run", "Nope.Thing", "create", "{}"}), 1,
                      "unknown_resource", "Nope.Thing");
    check_jsonl_error(a.jsonl({"run", "Accounts.User", "fly", "{}"}), 1,
                      "unknown_action", "fly");
    check_jsonl_error(a.jsonl({"run", "Accounts.User", "update",
                               R"({"name":"X"})", "--id",
                               "00000000-0000-4000-8000-000000000000"}),
                      1, "not_found", "00000000-0000-4000-8000-000000000000");
    check_jsonl_error(a.jsonl({"list", "Nope.Thing"}), 1, "unknown_resource",
                      "Nope.Thing");
  }
  // Commands that read or rebuild refuse a database that does not exist,
  // and do not create it.
  auto missing = a.dir.file("missing.db");
  for (auto args : std::vector<std::vector<std::string>>{
         {"list", "Accounts.User"},
         {"get", "Accounts.User", ann},
         {"events"},
         {"history", "Accounts.User", ann},
         {"replay"},
         {"verify"},
         {"stats"}}) {
    args.insert(args.begin(), {"--app", a.app, "--db", missing});
    check_table_error(run_cli(args), 1, missing);
  }
  check_jsonl_error(run_cli({"--format", "jsonl", "--app", a.app, "--db",
                             missing, "stats"}),
                    1, "not_found", missing);
  CHECK_FALSE(fs::exists(missing));
  // Nothing was written: still ann's three events, one user, one email.
  r = a.jsonl({"stats"});
  REQUIRE_EXIT(r, 0);
  CHECK(num(jsonl_one(r), "events") == 3);
  CHECK(read_text(a.dir.file("outbox.txt"))
        == "to=ann@example.com template=welcome_email\n");
}

// -- bad usage ------------------------------------------------------------------------

TEST_CASE("cli: bad usage exits 2 with one error line, or a JSON object in "
          "jsonl mode",
          "[cli]") {
  cli_app a;
  auto r = a({"run", "Accounts.User", "create", R"({"email":"a@example.com"})"});
  REQUIRE_EXIT(r, 0);
  auto fresh = a.dir.file("fresh.db");
  auto& app = a.app;
  auto& db = a.db;
  auto missing_app = a.dir.file("missing.json");
  struct bad_case {
    std::string what;
    std::vector<std::string> args;
    std::string needle;
  };
  std::vector<bad_case> cases{
    {"unknown subcommand", {"--app", app, "--db", db, "bogus"}, "bogus"},
    {"no subcommand", {"--app", app, "--db", db}, "subcommand"},
    {"unknown option",
     {"--app", app, "--db", db, "list", "Accounts.User", "--bogus"},
     "--bogus"},
    {"unknown global option", {"--bogus", "list", "Accounts.User"}, "--bogus"},
    {"missing positional", {"--app", app, "--db", db, "run", "Accounts.User"},
     "action"},
    {"missing positional id", {"--app", app, "--db", db, "get",
                               "Accounts.User"},
     "id"},
    {"missing --app", {"--db", db, "list", "Accounts.User"}, "--app"},
    {"missing --app (run)", {"--db", fresh, "run", "Accounts.User", "create",
                             "{}"},
     "--app"},
    {"missing --db", {"--app", app, "list", "Accounts.User"}, "--db"},
    {"--app file missing", {"--app", missing_app, "--db", fresh, "list",
                            "Accounts.User"},
     "missing.json"},
    {"bad --format", {"--format", "xml", "--app", app, "--db", db, "stats"},
     "--format"},
    {"both cuts", {"--app", app, "--db", db, "replay", "--last-event-id", "1",
                   "--point-in-time", "2026-01-01T00:00:00Z"},
     "--point-in-time"},
    {"malformed INPUT_JSON", {"--app", app, "--db", fresh, "run",
                              "Accounts.User", "create", R"({"email":)"},
     "INPUT_JSON"},
    {"INPUT_JSON not an object", {"--app", app, "--db", fresh, "run",
                                  "Accounts.User", "create", "[1]"},
     "INPUT_JSON"},
    {"malformed --metadata", {"--app", app, "--db", fresh, "run",
                              "Accounts.User", "create", "{}", "--metadata",
                              "nope"},
     "--metadata"},
    {"--metadata not an object", {"--app", app, "--db", fresh, "run",
                                  "Accounts.User", "create", "{}",
                                  "--metadata", R"("text")"},
     "--metadata"},
    {"bad --actor", {"--app", app, "--db", fresh, "run", "Accounts.User",
                     "create", "{}", "--actor", "nocolon"},
     "--actor"},
    {"--actor without a type", {"--app", app, "--db", fresh, "run",
                                "Accounts.User", "create", "{}", "--actor",
                                ":x"},
     "--actor"},
    {"bad events --actor", {"--app", app, "--db", fresh, "events", "--actor",
                            "system_actor"},
     "--actor"},
    {"malformed --from-id", {"--app", app, "--db", db, "events", "--from-id",
                             "abc"},
     "abc"},
    {"malformed --since", {"--app", app, "--db", fresh, "events", "--since",
                           "yesterday"},
     "--since"},
    {"--until without a zone", {"--app", app, "--db", fresh, "events",
                                "--until", "2026-11-27T10:00:00"},
     "--until"},
    {"malformed --point-in-time", {"--app", app, "--db", fresh, "replay",
                                   "--point-in-time", "2026-13-01T00:00:00Z"},
     "--point-in-time"},
    {"--into an existing file", {"--app", app, "--db", db, "replay", "--into",
                                 db},
     "--into"},
    {"list --limit 0", {"--app", app, "--db", db, "list", "Accounts.User",
                        "--limit", "0"},
     "--limit"},
    {"events --limit -1", {"--app", app, "--db", db, "events", "--limit",
                           "-1"},
     "--limit"},
    {"list --offset -1", {"--app", app, "--db", db, "list", "Accounts.User",
                          "--offset", "-1"},
     "--offset: expected a whole number from 0 to 999999999, got \"-1\""},
    {"events --limit -1", {"--app", app, "--db", db, "events", "--limit", "-1"},
     "--limit: expected a whole number"},
    {"verify --max-differences huge", {"--app", app, "--db", db, "verify",
                                      "--max-differences", "99999999999"},
     "--max-differences: expected a whole number"},
    {"--last-event-id with a sign", {"--app", app, "--db", db, "replay",
                                     "--last-event-id", "+2"},
     "+2"},
    {"--last-event-id 0", {"--app", app, "--db", db, "replay",
                           "--last-event-id", "0"},
     "--last-event-id"},
    {"--since out of range", {"--app", app, "--db", db, "events", "--since",
                              "9999-12-31T23:59:59-01:00"},
     "outside the years 0000 to 9999"},
  };
  for (auto& c : cases) {
    INFO(c.what);
    check_table_error(run_cli(c.args), 2, c.needle);
    auto args = c.args;
    if (c.what != "bad --format")
      args.insert(args.begin(), {"--format", "jsonl"});
    else
      args = {"--format", "jsonl", "--app", app, "--db", db, "stats",
              "--bogus"};
    check_jsonl_error(run_cli(args), 2, "invalid_input",
                      c.what == "bad --format" ? "--bogus" : c.needle);
    CHECK_FALSE(fs::exists(fresh));
  }
  // Nothing was written by any of them.
  r = a.jsonl({"stats"});
  REQUIRE_EXIT(r, 0);
  CHECK(num(jsonl_one(r), "events") == 3);
}

TEST_CASE("cli: an invalid app definition exits 2 and names the JSON path",
          "[cli]") {
  temp_dir dir;
  auto db = dir.file("app.db");
  auto def = dir.file("typo.json");
  write_text(def, R"({
  // a typo in an accept list
  "event_logs": [{"name": "events"}],
  "resources": [
    {"name": "Accounts.User",
     "attributes": [{"name": "email", "type": "string"}],
     "actions": [{"name": "create", "kind": "create",
                  "accept": ["email", "emial"]}],
     "events": {"event_log": "events"}}
  ]
})");
  auto create = [&](const std::string& fmt) {
    return run_cli({"--format", fmt, "--app", def, "--db", db, "run",
                    "Accounts.User", "create", R"({"email":"a@example.com"})"});
  };
  auto r = create("table");
  check_table_error(r, 2,
                    R"(resources[0].actions[0].accept[1]: no attribute "emial" on Accounts.User)");
  CHECK_THAT(r.err, Contains("typo.json"));
  r = create("jsonl");
  auto e = check_jsonl_error(r, 2, "invalid_definition",
                             "resources[0].actions[0].accept[1]");
  auto& fields = at(e, "fields");
  REQUIRE(fields.is_array());
  REQUIRE(fields.get_array().size() == 1);
  auto& f0 = fields.get_array()[0].get_object();
  CHECK(str(f0, "field") == "resources[0].actions[0].accept[1]");
  CHECK(str(f0, "message") == R"(no attribute "emial" on Accounts.User)");

  // The same for a command on an existing database.
  cli_app other;
  REQUIRE_EXIT(other({"run", "Accounts.User", "create",
                      R"({"email":"a@example.com"})"}),
               0);
  r = run_cli({"--app", def, "--db", other.db, "list", "Accounts.User"});
  check_table_error(r, 2, "resources[0].actions[0].accept[1]");

  // An unknown attribute type in the second resource.
  write_text(def, R"({"event_logs": [{"name": "events"}],
  "resources": [
    {"name": "A", "attributes": [{"name": "x", "type": "string"}]},
    {"name": "B", "attributes": [{"name": "y", "type": "strin"}]}]})");
  r = create("table");
  check_table_error(r, 2, "resources[1].attributes[0].type");
  CHECK_THAT(r.err, Contains("strin"));

  // A syntax error names the file, line and column.
  write_text(def, "{\n  \"resources\": [\n");
  r = create("table");
  check_table_error(r, 2, "typo.json:3:");
  check_jsonl_error(create("jsonl"), 2, "invalid_input", "typo.json:3:");

  // Not an object at all.
  write_text(def, "[]");
  check_table_error(create("table"), 2, "expected an object");

  // No database was created for any of them.
  CHECK_FALSE(fs::exists(db));
}

// -- batch ------------------------------------------------------------------------------

TEST_CASE("cli: batch reports each failing line in order and goes on",
          "[cli]") {
  cli_app a;
  const std::string input
    = R"({"resource":"Accounts.User","action":"create","input":{"email":"ann@example.com","name":"Ann"},"actor":"SystemActor:batch","metadata":{"m":1}}
not json
{"resource":"Nope.Thing","action":"create","input":{}}
{"resource":"Accounts.User","action":"create","input":{"email":"ANN@example.com"}}

{"resource":"Accounts.User","action":"create","input":{"email":"bob@example.com"},"actor":{"type":"SystemActor","id":"obj"}}
{"resource":"Accounts.User"}
{"resource":"Accounts.User","action":"create","input":{"email":"x@example.com"},"extra":1}
{"resource":"Accounts.User","action":"create","input":{"email":"y@example.com"},"actor":"nocolon"}
{"resource":"Accounts.User","action":"create","input":{"email":"not an email"}}
{"resource":"Accounts.User","action":"create","input":{"email":"cy@example.com","name":"Cy"}}
)";
  const std::vector<int> ok_lines{1, 6, 11};
  const std::vector<int> all_lines{1, 2, 3, 4, 6, 7, 8, 9, 10, 11};

  SECTION("table") {
    auto r = a({"batch"}, input);
    REQUIRE_EXIT(r, 1);
    INFO(show(r));
    CHECK(r.err.empty());
    auto lines = lines_of(r.out);
    REQUIRE(lines.size() == all_lines.size());
    std::map<int, std::string> needles{
      {2, "invalid JSON"},      {3, "Nope.Thing"},
      {4, "already exists"},    {7, "\"resource\" and \"action\" are required"},
      {8, "\"extra\""},         {9, "--actor"},
      {10, "must be an email address"}};
    int event = 1;
    for (size_t i = 0; i < lines.size(); ++i) {
      auto n = all_lines[i];
      auto prefix = "line " + std::to_string(n) + ": ";
      CHECK_THAT(lines[i], StartsWith(prefix));
      if (std::count(ok_lines.begin(), ok_lines.end(), n) > 0) {
        CHECK_THAT(lines[i], StartsWith(prefix + "ok Accounts.User "));
        CHECK_THAT(lines[i], Contains(" event " + std::to_string(event)));
        event += 3; // the user, the email, its status
      } else {
        CHECK_THAT(lines[i], StartsWith(prefix + "error: "));
        CHECK_THAT(lines[i], Contains(needles[n]));
      }
    }
  }
  SECTION("jsonl") {
    auto r = a.jsonl({"batch"}, input);
    REQUIRE_EXIT(r, 1);
    CHECK(r.err.empty());
    auto xs = jsonl_of(r);
    REQUIRE(xs.size() == all_lines.size());
    std::map<int, std::string> codes{
      {2, "invalid_input"}, {3, "unknown_resource"}, {4, "conflict"},
      {7, "invalid_input"}, {8, "invalid_input"},    {9, "invalid_input"},
      {10, "invalid_input"}};
    std::map<int, std::string> emails{
      {1, "ann@example.com"}, {6, "bob@example.com"}, {11, "cy@example.com"}};
    for (size_t i = 0; i < xs.size(); ++i) {
      auto n = all_lines[i];
      INFO("line " << n << ": " << json::serialize(xs[i]));
      CHECK(num(xs[i], "line") == n);
      auto& ok = at(xs[i], "ok");
      REQUIRE(ok.is_bool());
      if (emails.count(n) > 0) {
        CHECK(ok.get_bool());
        auto& rec = obj(xs[i], "record");
        CHECK(str(rec, "resource") == "Accounts.User");
        CHECK(str(obj(rec, "values"), "email") == emails[n]);
        CHECK(str(rec, "id") == str(obj(rec, "values"), "id"));
        CHECK_FALSE(xs[i].contains("error"));
      } else {
        CHECK_FALSE(ok.get_bool());
        auto& err = obj(xs[i], "error");
        CHECK(str(err, "code") == codes[n]);
        CHECK_FALSE(str(err, "message").empty());
        CHECK_FALSE(xs[i].contains("record"));
      }
    }
    CHECK(str(obj(xs[3], "error"), "message").find("ANN@example.com")
          != std::string::npos);
    // The validation error of line 10 names its field.
    auto& fe = at(obj(xs[8], "error"), "fields");
    REQUIRE(fe.is_array());
    REQUIRE(fe.get_array().size() == 1);
    CHECK(str(fe.get_array()[0].get_object(), "field") == "email");
  }
  // The good lines took effect, with their actors and metadata.
  auto r = a.jsonl({"list", "Accounts.User"});
  REQUIRE_EXIT(r, 0);
  std::set<std::string> emails;
  for (auto& u : jsonl_of(r))
    emails.insert(str(obj(u, "values"), "email"));
  CHECK(emails
        == std::set<std::string>{"ann@example.com", "bob@example.com",
                                 "cy@example.com"});
  r = a.jsonl({"events", "--action", "create"});
  REQUIRE_EXIT(r, 0);
  auto evs = jsonl_of(r);
  REQUIRE(evs.size() == 3);
  CHECK(str(obj(evs[0], "actors"), "system_actor") == "batch");
  CHECK(obj(evs[0], "metadata") == json::object{{"m", 1}});
  CHECK(str(obj(evs[1], "actors"), "system_actor") == "obj");
  CHECK(at(obj(evs[2], "actors"), "system_actor").is_null());
}

TEST_CASE("cli: a batch without failures exits 0; an empty one prints "
          "nothing",
          "[cli]") {
  cli_app a;
  auto r = a({"batch"}, "");
  REQUIRE_EXIT(r, 0);
  CHECK(r.out.empty());
  CHECK(r.err.empty());
  r = a.jsonl({"batch"},
              R"({"resource":"Accounts.User","action":"create","input":{"email":"a@example.com"}}
{"resource":"Accounts.User","action":"create","input":{"email":"b@example.com"}}
)");
  REQUIRE_EXIT(r, 0);
  auto xs = jsonl_of(r);
  REQUIRE(xs.size() == 2);
  CHECK(num(xs[0], "line") == 1);
  CHECK(at(xs[0], "ok") == true);
  CHECK(num(obj(xs[0], "record"), "event_id") == 1);
  CHECK(num(xs[1], "line") == 2);
  CHECK(at(xs[1], "ok") == true);
  CHECK(num(obj(xs[1], "record"), "event_id") == 4);
  // An update by "id" in a batch.
  auto id = str(obj(xs[1], "record"), "id");
  r = a({"batch"}, R"({"resource":"Accounts.User","action":"update","id":")"
                     + id + R"(","input":{"name":"Bee"}})" + "\n");
  REQUIRE_EXIT(r, 0);
  CHECK(r.out == "line 1: ok Accounts.User " + id + " event 7\n");
}

// -- get, list --------------------------------------------------------------------

TEST_CASE("cli: get and list print current records", "[cli]") {
  seeded a;
  // get, table
  auto r = a({"get", "Accounts.User", a.ann});
  REQUIRE_EXIT(r, 0);
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 8);
  CHECK(lines[0] == "Accounts.User " + a.ann); // a read has no event
  std::map<std::string, std::string> fields;
  for (size_t i = 2; i < lines.size(); ++i) {
    auto c = cells_of(lines[i]);
    REQUIRE(c.size() == 2);
    fields[c[0]] = c[1];
  }
  CHECK(fields["name"] == "Ann Smith");
  CHECK(fields["email"] == "ann@example.com");
  CHECK(fields["status"] == "active");
  // get, jsonl
  r = a.jsonl({"get", "Accounts.User", a.bob});
  REQUIRE_EXIT(r, 0);
  auto bob = jsonl_one(r);
  CHECK(str(bob, "resource") == "Accounts.User");
  CHECK(str(bob, "id") == a.bob);
  CHECK_FALSE(bob.contains("event_id"));
  CHECK(str(obj(bob, "values"), "status") == "suspended");
  CHECK(str(obj(bob, "values"), "name") == "Bob");

  // list, table: the attributes as columns, a row per record
  r = a({"list", "Accounts.User"});
  REQUIRE_EXIT(r, 0);
  lines = lines_of(r.out);
  REQUIRE(lines.size() == 5);
  CHECK(cells_of(lines[0])
        == std::vector<std::string>{"id", "email", "name", "status",
                                    "created_at", "updated_at"});
  CHECK(lines[4] == "3 record(s)");
  std::map<std::string, std::vector<std::string>> rows;
  for (size_t i = 1; i < 4; ++i) {
    auto c = cells_of(lines[i]);
    REQUIRE(c.size() == 6);
    rows[c[0]] = c;
  }
  CHECK(rows[a.ann][2] == "Ann Smith");
  CHECK(rows[a.bob][3] == "suspended");
  CHECK(rows[a.cy][1] == "cy@example.com");

  // list, jsonl: ordered by primary key
  auto users = a.records("Accounts.User");
  REQUIRE(users.size() == 3);
  std::vector<std::string> ids;
  for (auto& u : users) {
    CHECK(str(u, "resource") == "Accounts.User");
    ids.push_back(str(u, "id"));
    CHECK(str(obj(u, "values"), "id") == ids.back());
  }
  CHECK(std::is_sorted(ids.begin(), ids.end()));
  CHECK(std::set<std::string>(ids.begin(), ids.end())
        == std::set<std::string>{a.ann, a.bob, a.cy});
  // --limit and --offset
  r = a.jsonl({"list", "Accounts.User", "--limit", "1", "--offset", "1"});
  REQUIRE_EXIT(r, 0);
  CHECK(jsonl_one(r) == users[1]);
  r = a.jsonl({"list", "Accounts.User", "--offset", "3"});
  REQUIRE_EXIT(r, 0);
  CHECK(r.out.empty());
  // the emails
  auto mails = a.records("Notifications.EmailNotification");
  REQUIRE(mails.size() == 3);
  std::set<std::string> to;
  for (auto& m : mails) {
    auto& v = obj(m, "values");
    CHECK(str(v, "status") == "sent");
    CHECK(str(v, "template") == "welcome_email");
    to.insert(str(v, "recipient_email"));
  }
  CHECK(to
        == std::set<std::string>{"ann@example.com", "bob@example.com",
                                 "cy@example.com"});
  // not found
  check_table_error(a({"get", "Accounts.User",
                       "00000000-0000-4000-8000-000000000000"}),
                    1, "no record");
  check_jsonl_error(a.jsonl({"get", "Notifications.EmailNotification",
                             "00000000-0000-4000-8000-000000000000"}),
                    1, "not_found", "00000000-0000-4000-8000-000000000000");
  check_jsonl_error(a.jsonl({"get", "Nope.Thing", a.ann}), 1,
                    "unknown_resource", "Nope.Thing");
}

// -- events -------------------------------------------------------------------------

TEST_CASE("cli: events with each filter, --newest-first and --limit",
          "[cli]") {
  seeded a;
  auto all = a.all_events();
  REQUIRE(event_ids(all)
          == std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  // Every field of one event.
  auto& e1 = all[0];
  CHECK(str(e1, "log") == "events");
  CHECK(str(e1, "resource") == "Accounts.User");
  CHECK(str(e1, "record_id") == a.ann);
  CHECK(str(e1, "action") == "create");
  CHECK(str(e1, "action_type") == "create");
  CHECK(obj(e1, "actors")
        == json::object{{"user_id", nullptr}, {"system_actor", "signup"}});
  CHECK(obj(e1, "data")
        == json::object{{"email", "ann@example.com"}, {"name", "Ann"}});
  CHECK(str(obj(e1, "changed_attributes"), "id") == a.ann);
  CHECK(obj(e1, "metadata") == json::object{{"source", "web"}});
  CHECK(num(e1, "version") == 1);
  // occurred_at of a create is the record's created_at
  CHECK(str(e1, "occurred_at") == str(a.user(a.ann), "created_at"));
  CHECK(str(all[1], "action") == "send_email");
  CHECK(str(all[1], "action_type") == "create");
  CHECK(str(obj(all[1], "data"), "recipient_email") == "ann@example.com");
  CHECK(obj(all[1], "metadata")
        == json::object{{"triggered_by", "user_creation"}});
  CHECK(str(all[9], "action_type") == "update");
  CHECK(obj(all[9], "data") == json::object{{"name", "Ann Smith"}});
  CHECK(str(obj(all[9], "actors"), "user_id") == a.ann);
  CHECK(obj(all[10], "data") == json::object{{"status", "suspended"}});
  CHECK(str(obj(all[10], "actors"), "system_actor") == "operator");

  auto ids = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "events");
    auto r = a.jsonl(args);
    REQUIRE_EXIT(r, 0);
    CHECK(r.err.empty());
    return event_ids(jsonl_of(r));
  };
  using ids_t = std::vector<int64_t>;
  CHECK(ids({"--resource", "Accounts.User"}) == ids_t{1, 4, 7, 10, 11});
  CHECK(ids({"--resource", "Notifications.EmailNotification"})
        == ids_t{2, 3, 5, 6, 8, 9});
  CHECK(ids({"--record-id", a.ann}) == ids_t{1, 10});
  CHECK(ids({"--action", "send_email"}) == ids_t{2, 5, 8});
  CHECK(ids({"--action", "nope"}).empty());
  CHECK(ids({"--actor", "system_actor=signup"}) == ids_t{1, 2, 3});
  CHECK(ids({"--actor", "system_actor=operator"}) == ids_t{11});
  CHECK(ids({"--actor", "user_id=" + a.ann}) == ids_t{10});
  CHECK(ids({"--from-id", "4", "--to-id", "6"}) == ids_t{4, 5, 6});
  CHECK(ids({"--from-id", "10"}) == ids_t{10, 11});
  CHECK(ids({"--to-id", "2"}) == ids_t{1, 2});
  // time range: inclusive on both ends
  auto since = str(all[3], "occurred_at");
  auto until = str(all[6], "occurred_at");
  ids_t in_range;
  for (auto& ev : all) {
    auto t = str(ev, "occurred_at");
    if (t >= since && t <= until)
      in_range.push_back(num(ev, "id"));
  }
  REQUIRE(in_range.front() == 4);
  REQUIRE(in_range.back() == 7);
  CHECK(ids({"--since", since, "--until", until}) == in_range);
  CHECK(ids({"--since", str(all[10], "occurred_at")}) == ids_t{11});
  CHECK(ids({"--until", "2000-01-01T01:00:00+01:00"}).empty());
  // order and limit
  CHECK(ids({"--newest-first"})
        == ids_t{11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1});
  CHECK(ids({"--limit", "2"}) == ids_t{1, 2});
  CHECK(ids({"--newest-first", "--limit", "3"}) == ids_t{11, 10, 9});
  CHECK(ids({"--resource", "Accounts.User", "--newest-first", "--limit",
             "2"})
        == ids_t{11, 10});
  CHECK(ids({"--record-id", a.bob, "--action", "set_status"}) == ids_t{11});

  // table: a header, a row per event, a count
  auto r = a({"events", "--record-id", a.ann, "--newest-first"});
  REQUIRE_EXIT(r, 0);
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 4);
  CHECK(cells_of(lines[0])
        == std::vector<std::string>{"id", "occurred_at", "resource",
                                    "action", "record_id", "actor", "v",
                                    "data", "metadata"});
  auto row = cells_of(lines[1]);
  REQUIRE(row.size() == 9);
  CHECK(row[0] == "10");
  CHECK(row[1] == str(all[9], "occurred_at"));
  CHECK(row[2] == "Accounts.User");
  CHECK(row[3] == "update");
  CHECK(row[4] == a.ann);
  CHECK(row[5] == "user_id=" + a.ann);
  CHECK(row[6] == "1");
  CHECK(row[7] == R"({"name":"Ann Smith"})");
  CHECK(row[8] == R"({"source":"profile"})");
  row = cells_of(lines[2]);
  REQUIRE(row.size() == 9);
  CHECK(row[0] == "1");
  CHECK(row[5] == "system_actor=signup");
  CHECK(lines[3] == "2 event(s)");
  r = a({"events", "--action", "nope"});
  REQUIRE_EXIT(r, 0);
  CHECK(lines_of(r.out).size() == 2);
  CHECK(lines_of(r.out).back() == "0 event(s)");
}

TEST_CASE("cli: events shows 100 by default and all with --limit 0",
          "[cli]") {
  cli_app a;
  std::string input;
  for (int i = 0; i < 35; ++i)
    input += R"({"resource":"Accounts.User","action":"create","input":{"email":"u)"
             + std::to_string(i) + R"(@example.com"}})" + "\n";
  auto r = a({"batch"}, input);
  REQUIRE_EXIT(r, 0); // 35 users, 105 events
  r = a.jsonl({"events"});
  REQUIRE_EXIT(r, 0);
  auto first = event_ids(jsonl_of(r));
  REQUIRE(first.size() == 100);
  CHECK(first.front() == 1);
  CHECK(first.back() == 100);
  r = a.jsonl({"events", "--limit", "0"});
  REQUIRE_EXIT(r, 0);
  auto every = event_ids(jsonl_of(r));
  REQUIRE(every.size() == 105);
  CHECK(every.back() == 105);
  r = a({"events", "--limit", "0", "--newest-first", "--action", "create"});
  REQUIRE_EXIT(r, 0);
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 37);
  CHECK(cells_of(lines[1])[0] == "103");
  CHECK(lines.back() == "35 event(s)");
}

// -- history --------------------------------------------------------------------------

TEST_CASE("cli: history shows a record's events and its state after each",
          "[cli]") {
  seeded a;
  auto r = a.jsonl({"history", "Accounts.User", a.ann});
  REQUIRE_EXIT(r, 0);
  auto xs = jsonl_of(r);
  REQUIRE(xs.size() == 2);
  CHECK(num(obj(xs[0], "event"), "id") == 1);
  CHECK(str(obj(xs[0], "event"), "action") == "create");
  auto& s0 = obj(xs[0], "state");
  CHECK(str(s0, "name") == "Ann");
  CHECK(str(s0, "email") == "ann@example.com");
  CHECK(str(s0, "status") == "active");
  CHECK(str(s0, "id") == a.ann);
  CHECK(num(obj(xs[1], "event"), "id") == 10);
  CHECK(str(obj(xs[1], "event"), "record_id") == a.ann);
  auto& s1 = obj(xs[1], "state");
  CHECK(str(s1, "name") == "Ann Smith");
  CHECK(str(s1, "email") == "ann@example.com");
  // The state after the last event is the current record.
  CHECK(s1 == a.user(a.ann));

  // destroyed
  r = a({"run", "Accounts.User", "destroy", "--id", a.cy});
  REQUIRE_EXIT(r, 0);
  r = a.jsonl({"history", "Accounts.User", a.cy});
  REQUIRE_EXIT(r, 0);
  xs = jsonl_of(r);
  REQUIRE(xs.size() == 2);
  CHECK(str(obj(xs[0], "state"), "name") == "Cy");
  CHECK(str(obj(xs[1], "event"), "action_type") == "destroy");
  CHECK(at(xs[1], "state").is_null());

  // table
  r = a({"history", "Accounts.User", a.cy});
  REQUIRE_EXIT(r, 0);
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 3);
  CHECK(cells_of(lines[0])
        == std::vector<std::string>{"event", "occurred_at", "action", "actor",
                                    "state after"});
  auto row = cells_of(lines[1]);
  REQUIRE(row.size() == 5);
  CHECK(row[0] == "7");
  CHECK(row[2] == "create");
  CHECK(row[3] == "-");
  CHECK_THAT(row[4], Contains(R"("name":"Cy")"));
  row = cells_of(lines[2]);
  REQUIRE(row.size() == 5);
  CHECK(row[0] == "12");
  CHECK(row[2] == "destroy");
  CHECK(row[4] == "(destroyed)");
  r = a({"history", "Accounts.User", a.ann});
  REQUIRE_EXIT(r, 0);
  lines = lines_of(r.out);
  REQUIRE(lines.size() == 3);
  CHECK(cells_of(lines[2])[3] == "user_id=" + a.ann);

  // no events, unknown resource
  check_table_error(a({"history", "Accounts.User",
                       "00000000-0000-4000-8000-000000000000"}),
                    1, "00000000-0000-4000-8000-000000000000");
  check_jsonl_error(a.jsonl({"history", "Accounts.User",
                             "00000000-0000-4000-8000-000000000000"}),
                    1, "not_found", "00000000-0000-4000-8000-000000000000");
  check_jsonl_error(a.jsonl({"history", "Nope.Thing", a.ann}), 1,
                    "unknown_resource", "Nope.Thing");
}

// -- replay -----------------------------------------------------------------------------

TEST_CASE("cli: a full replay restores the same records and sends no email",
          "[cli]") {
  seeded a;
  auto outbox = a.dir.file("outbox.txt");
  auto sent = read_text(outbox);
  REQUIRE(sent
          == "to=ann@example.com template=welcome_email\n"
             "to=bob@example.com template=welcome_email\n"
             "to=cy@example.com template=welcome_email\n");
  auto before = quickstart_records(a);
  REQUIRE(before.size() == 6);

  // table
  auto r = a({"replay"});
  REQUIRE_EXIT(r, 0);
  CHECK(r.err.empty()); // no progress bar: stderr is not a terminal
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 7);
  CHECK_THAT(lines[0], StartsWith("replayed everything: 11 events in "));
  CHECK(cells_of(lines[1]) == std::vector<std::string>{"applied to", "events"});
  std::map<std::string, std::string> applied;
  for (size_t i = 2; i < lines.size(); ++i) {
    auto c = cells_of(lines[i]);
    REQUIRE(c.size() == 2);
    applied[c[0]] = c[1];
  }
  CHECK(applied
        == std::map<std::string, std::string>{
          {"Accounts.User.create", "3"},
          {"Accounts.User.update", "1"},
          {"Accounts.User.set_status", "1"},
          {"Notifications.EmailNotification.send_email", "3"},
          {"Notifications.EmailNotification.update_status", "3"}});
  CHECK(quickstart_records(a) == before);

  // jsonl
  r = a.jsonl({"replay"});
  REQUIRE_EXIT(r, 0);
  auto s = jsonl_one(r);
  CHECK(str(s, "replayed") == "everything");
  CHECK(num(s, "events") == 11);
  CHECK(obj(s, "applied")
        == json::object{{"Accounts.User.create", 3},
                        {"Accounts.User.set_status", 1},
                        {"Accounts.User.update", 1},
                        {"Notifications.EmailNotification.send_email", 3},
                        {"Notifications.EmailNotification.update_status", 3}});
  CHECK(obj(s, "overrides_used").empty());
  CHECK(at(s, "missing") == json::array{});
  CHECK(num(s, "duration_us") >= 0);

  INFO("before:\n" << dump(before));
  CHECK(quickstart_records(a) == before);
  // No email again, no new event.
  CHECK(read_text(outbox) == sent);
  CHECK(a.all_events().size() == 11);
}

TEST_CASE("cli: replay to a cut, into a fork, and as the C++ API does",
          "[cli]") {
  seeded a;
  auto outbox = a.dir.file("outbox.txt");
  auto sent = read_text(outbox);
  auto before = quickstart_records(a);
  auto all = a.all_events();
  REQUIRE(all.size() == 11);
  // A copy of the database for the C++ API (no process has it open now).
  fs::create_directory(a.dir.path() / "api");
  auto copy = a.dir.file("api/app.db");
  fs::copy_file(a.db, copy);
  if (fs::exists(a.db + "-wal"))
    fs::copy_file(a.db + "-wal", copy + "-wal");

  // A fork up to event 9: the signups, before the rename and the
  // suspension. The original stays as it is.
  fs::create_directory(a.dir.path() / "forks");
  auto fork = a.dir.file("forks/fork.db");
  auto r = a.jsonl({"replay", "--last-event-id", "9", "--into", fork});
  REQUIRE_EXIT(r, 0);
  auto s = jsonl_one(r);
  CHECK(num(s, "events") == 9);
  CHECK_THAT(str(s, "replayed"), Contains("9"));
  CHECK_THAT(str(s, "replayed"), Contains(fork));
  CHECK(quickstart_records(a) == before);
  cli_app f;
  f.db = fork;
  auto forked = quickstart_records(f);
  auto fork_events = f.jsonl({"events", "--limit", "0"});
  REQUIRE_EXIT(fork_events, 0);
  CHECK(event_ids(jsonl_of(fork_events))
        == std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9});

  // The same cut in place.
  r = a({"replay", "--last-event-id", "9"});
  REQUIRE_EXIT(r, 0);
  CHECK_THAT(r.out, StartsWith("replayed up to event 9: 9 events in "));
  auto at_9 = quickstart_records(a);
  CHECK(at_9 == forked);
  CHECK(str(a.user(a.ann), "name") == "Ann");
  CHECK(str(a.user(a.bob), "status") == "active");
  // ... and through the C++ API on the copy.
  auto api = api_replay_records(copy, {.last_event_id = json::value(9)});
  INFO("CLI:\n" << dump(at_9) << "API:\n" << dump(api));
  CHECK(api == at_9);

  // Up to a point in time: Ann's signup and her email only.
  auto t3 = str(all[2], "occurred_at");
  r = a.jsonl({"replay", "--point-in-time", t3});
  REQUIRE_EXIT(r, 0);
  s = jsonl_one(r);
  CHECK(num(s, "events") == 3);
  CHECK(str(s, "replayed") == "up to " + t3);
  auto users = a.records("Accounts.User");
  REQUIRE(users.size() == 1);
  CHECK(str(users[0], "id") == a.ann);
  CHECK(str(obj(users[0], "values"), "name") == "Ann");
  auto mails = a.records("Notifications.EmailNotification");
  REQUIRE(mails.size() == 1);
  CHECK(str(obj(mails[0], "values"), "status") == "sent");

  // Everything again: back to now. The outbox never grew.
  r = a({"replay"});
  REQUIRE_EXIT(r, 0);
  CHECK(quickstart_records(a) == before);
  CHECK(read_text(outbox) == sent);
  CHECK_FALSE(fs::exists(a.dir.file("forks/outbox.txt")));
  CHECK(a.all_events().size() == 11);

  // A failed replay (a cut that does not exist) exits 1 and changes
  // nothing.
  check_table_error(a({"replay", "--last-event-id", "999"}), 1, "999");
  check_jsonl_error(a.jsonl({"replay", "--last-event-id", "999"}), 1,
                    "invalid_input", "999");
  CHECK(quickstart_records(a) == before);
  // A replay failing in the middle (an event of an action that no longer
  // exists) exits 1, names the event and changes nothing.
  exec_sql(a.db, "UPDATE events SET action = 'vanished' WHERE id = 10");
  check_table_error(a({"replay"}), 1, "vanished");
  auto e = check_jsonl_error(a.jsonl({"replay"}), 1, "replay_failed",
                             "vanished");
  CHECK_THAT(str(e, "message"), Contains("10"));
  CHECK(quickstart_records(a) == before);
}

TEST_CASE("cli: replay of a versioned app routes v1 events through the "
          "override",
          "[cli]") {
  cli_app a;
  a.app = config_file("versioned.json");
  auto r = a.jsonl({"run", "Accounts.User", "create",
                    R"({"email":"new@example.com","given_name":"Nia","family_name":"Moss"})",
                    "--actor", "SystemActor:signup"});
  REQUIRE_EXIT(r, 0);
  auto nia = str(jsonl_one(r), "id");
  // The current version requires a given name.
  check_jsonl_error(a.jsonl({"run", "Accounts.User", "create",
                             R"({"email":"x@example.com"})"}),
                    1, "invalid_input", "given_name");
  // A version 1 event as the old code wrote it.
  const std::string old_id = "11111111-1111-4111-8111-111111111111";
  const std::string old_at = "2025-01-02T03:04:05.000000Z";
  exec_sql(a.db,
           "INSERT INTO events (resource, record_id, action, action_type, "
           "system_actor, data, changed_attributes, version, occurred_at) "
           "VALUES ('Accounts.User', '" + old_id + "', 'create', 'create', "
           "'legacy', '{\"email\":\"old@example.com\",\"name\":\"Old "
           "Timer\"}', '{\"id\":\"" + old_id + "\",\"created_at\":\"" + old_at
             + "\",\"updated_at\":\"" + old_at + "\"}', 1, '" + old_at
             + "')");
  r = a.jsonl({"replay"});
  REQUIRE_EXIT(r, 0);
  auto s = jsonl_one(r);
  CHECK(num(s, "events") == 2);
  CHECK(obj(s, "applied")
        == json::object{{"Accounts.User.create", 1},
                        {"Accounts.User.create_v1", 1},
                        {"Audit.LegacySignup.record", 1}});
  CHECK(obj(s, "overrides_used")
        == json::object{{"Accounts.User.create v1", 1}});
  r = a({"replay"});
  REQUIRE_EXIT(r, 0);
  CHECK_THAT(r.out, Contains("\noverride "));
  CHECK_THAT(r.out, Contains("Accounts.User.create v1  1"));

  r = a.jsonl({"get", "Accounts.User", old_id});
  REQUIRE_EXIT(r, 0);
  auto old = obj(jsonl_one(r), "values");
  CHECK(str(old, "email") == "old@example.com");
  CHECK(str(old, "display_name") == "Old Timer");
  CHECK(str(old, "created_at") == old_at);
  r = a.jsonl({"get", "Accounts.User", nia});
  REQUIRE_EXIT(r, 0);
  CHECK(str(obj(jsonl_one(r), "values"), "given_name") == "Nia");
  r = a.jsonl({"list", "Audit.LegacySignup"});
  REQUIRE_EXIT(r, 0);
  auto audit = jsonl_one(r);
  CHECK(str(obj(audit, "values"), "email") == "old@example.com");
}

// -- verify ------------------------------------------------------------------------------

TEST_CASE("cli: verify exits 0 on a sound log and 1 on records edited behind "
          "its back",
          "[cli]") {
  seeded a;
  auto r = a({"verify"});
  REQUIRE_EXIT(r, 0);
  CHECK(r.out
        == "verify: replayed 11 events, compared 6 records: no "
           "differences\n");
  CHECK(r.err.empty());
  r = a.jsonl({"verify"});
  REQUIRE_EXIT(r, 0);
  auto v = jsonl_one(r);
  CHECK(at(v, "ok") == true);
  CHECK(num(v, "events") == 11);
  CHECK(num(v, "records") == 6);
  CHECK(num(v, "total_differences") == 0);
  CHECK(at(v, "differences") == json::array{});

  // Edit a record and delete another through our own connection.
  exec_sql(a.db, "UPDATE accounts_user SET name = 'Mallory' WHERE id = '"
                   + a.ann + "'");
  exec_sql(a.db, "DELETE FROM accounts_user WHERE id = '" + a.cy + "'");
  r = a({"verify"});
  REQUIRE_EXIT(r, 1);
  CHECK(r.err.empty());
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0]
        == "verify: replayed 11 events, compared 6 records: 2 "
           "difference(s)");
  CHECK(cells_of(lines[1])
        == std::vector<std::string>{"resource", "record_id", "field", "live",
                                    "replayed"});
  std::map<std::string, std::vector<std::string>> rows;
  for (size_t i = 2; i < 4; ++i) {
    auto c = cells_of(lines[i]);
    REQUIRE(c.size() == 5);
    rows[c[1]] = c;
  }
  CHECK(rows[a.ann]
        == std::vector<std::string>{"Accounts.User", a.ann, "name", "Mallory",
                                    "Ann Smith"});
  CHECK(rows[a.cy][2] == "(record)");
  CHECK(rows[a.cy][3] == "-");

  r = a.jsonl({"verify"});
  REQUIRE_EXIT(r, 1);
  CHECK(r.err.empty());
  v = jsonl_one(r);
  CHECK(at(v, "ok") == false);
  CHECK(num(v, "total_differences") == 2);
  auto& diffs = at(v, "differences");
  REQUIRE(diffs.is_array());
  REQUIRE(diffs.get_array().size() == 2);
  bool saw_name = false;
  for (auto& d : diffs.get_array()) {
    auto& o = d.get_object();
    CHECK(str(o, "resource") == "Accounts.User");
    if (str(o, "record_id") == a.ann) {
      saw_name = true;
      CHECK(str(o, "field") == "name");
      CHECK(str(o, "live") == "Mallory");
      CHECK(str(o, "replayed") == "Ann Smith");
    } else {
      CHECK(str(o, "record_id") == a.cy);
      CHECK(at(o, "live").is_null());
      CHECK(str(obj(o, "replayed"), "email") == "cy@example.com");
    }
  }
  CHECK(saw_name);
  r = a.jsonl({"verify", "--max-differences", "1"});
  REQUIRE_EXIT(r, 1);
  v = jsonl_one(r);
  CHECK(num(v, "total_differences") == 2);
  CHECK(at(v, "differences").get_array().size() == 1);
  // verify only reads: the edit is still there.
  CHECK(str(a.user(a.ann), "name") == "Mallory");
}

// -- stats -------------------------------------------------------------------------------

TEST_CASE("cli: stats counts events per action, actor and day", "[cli]") {
  seeded a;
  auto all = a.all_events();
  std::map<std::string, int64_t> days;
  for (auto& ev : all)
    ++days[str(ev, "occurred_at").substr(0, 10)];
  auto r = a.jsonl({"stats"});
  REQUIRE_EXIT(r, 0);
  auto s = jsonl_one(r);
  CHECK(num(s, "events") == 11);
  CHECK(obj(s, "per_action")
        == json::object{{"Accounts.User.create", 3},
                        {"Notifications.EmailNotification.send_email", 3},
                        {"Notifications.EmailNotification.update_status", 3},
                        {"Accounts.User.update", 1},
                        {"Accounts.User.set_status", 1}});
  CHECK(obj(s, "per_actor")
        == json::object{{"system_actor=signup", 3},
                        {"system_actor=import", 3},
                        {"(none)", 3},
                        {"user_id=" + a.ann, 1},
                        {"system_actor=operator", 1}});
  json::object per_day;
  for (auto& [d, n] : days)
    per_day[d] = n;
  CHECK(obj(s, "per_day") == per_day);
  CHECK(num(s, "file_bytes") >= static_cast<int64_t>(fs::file_size(a.db)));

  r = a({"stats"});
  REQUIRE_EXIT(r, 0);
  auto lines = lines_of(r.out);
  REQUIRE_FALSE(lines.empty());
  CHECK_THAT(lines[0], StartsWith("11 events, file size "));
  CHECK_THAT(lines[0], Contains(" bytes"));
  // Three tables, each a header and its rows.
  std::map<std::string, std::map<std::string, std::string>> tables;
  std::string current;
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) {
      current.clear();
      continue;
    }
    auto c = cells_of(lines[i]);
    REQUIRE(c.size() == 2);
    if (current.empty()) {
      current = c[0];
      CHECK(c[1] == "events");
      continue;
    }
    tables[current][c[0]] = c[1];
  }
  CHECK(tables["action"]["Accounts.User.create"] == "3");
  CHECK(tables["action"]["Accounts.User.set_status"] == "1");
  CHECK(tables["actor"]["system_actor=signup"] == "3");
  CHECK(tables["actor"]["(none)"] == "3");
  CHECK(tables["day"].size() == days.size());
  CHECK(tables["day"][days.begin()->first]
        == std::to_string(days.begin()->second));
}

// -- the demo ------------------------------------------------------------------------------

TEST_CASE("cli: the demo runs the quickstart scenario and sends no email "
          "twice",
          "[cli]") {
  temp_dir dir;
  auto db = dir.file("demo.db");
  auto r = run_cli({"demo", "--db", db});
  REQUIRE_EXIT(r, 0);
  INFO(show(r));
  CHECK_THAT(r.out, StartsWith("eventactors demo: the quickstart app on "
                               + db + "\n"));
  // The sections, in order.
  size_t pos = 0;
  for (auto heading : {"== 1. ", "== 2. ", "== 3. the event log",
                       "== 4. emails sent", "== 5. replay to ",
                       "== 6. replay everything",
                       "== 7. the emails were not sent again"}) {
    auto next = r.out.find(heading, pos);
    CHECK(next != std::string::npos);
    if (next != std::string::npos)
      pos = next;
  }
  // The text of the section whose heading starts with `heading`.
  auto section = [&](const std::string& heading) -> std::string {
    auto begin = r.out.find("\n== " + heading);
    if (begin == std::string::npos)
      return {};
    begin = r.out.find('\n', begin + 1);
    auto end = r.out.find("\n== ", begin);
    return r.out.substr(begin + 1, end == std::string::npos
                                     ? std::string::npos
                                     : end - begin - 1);
  };
  // The event log: a header and eight events, with actors and metadata.
  auto log = lines_of(section("3. "));
  REQUIRE(log.size() >= 9);
  CHECK(cells_of(log[0]).at(0) == "id");
  CHECK(cells_of(log[1]).at(0) == "1");
  CHECK(cells_of(log[8]).at(0) == "8");
  CHECK_THAT(log[1], Contains("system_actor=signup-form"));
  CHECK_THAT(log[1], Contains(R"({"source":"web","request_id":"req-1001"})"));
  CHECK_THAT(log[8], Contains("set_status"));
  CHECK_THAT(log[8], Contains("system_actor=operator"));
  // The state at the cut (after the signups), then back to now.
  auto at_cut = section("5. ");
  CHECK_THAT(at_cut, Contains("jane@example.com  Jane Doe   active"));
  CHECK_THAT(at_cut, Contains("bob@example.com   Bob Stone  active"));
  auto now = section("6. ");
  CHECK_THAT(now, Contains("jane@example.com  Jane Smith  active"));
  CHECK_THAT(now, Contains("bob@example.com   Bob Stone   suspended"));
  CHECK(section("7. ")
        == "to=jane@example.com template=welcome_email\n"
           "to=bob@example.com template=welcome_email\n"
           "2 email(s) in the outbox, as before the replays (2)\n"
           "verify: the log rebuilds every record exactly\n\n"
           "inspect it: eventactors events --app "
             + std::filesystem::absolute(db + ".app.json").string() + " --db "
             + db + "\n");
  // The app written next to the database lets the other commands read it.
  auto events = run_cli({"--format", "jsonl", "events", "--app",
                         db + ".app.json", "--db", db, "--limit", "0"});
  CHECK(events.exit_code == 0);
  CHECK(std::count(events.out.begin(), events.out.end(), '\n') == 8);
  CHECK_THAT(r.out, Contains("a second signup with Jane's email is refused: "
                             "conflict"));
  CHECK_THAT(r.out,
             Contains("2 email(s) in the outbox, as before the replays (2)"));
  CHECK_THAT(r.out,
             Contains("verify: the log rebuilds every record exactly"));
  // The outbox, next to the database: two emails.
  auto outbox = read_text(db + ".outbox.txt");
  CHECK(outbox
        == "to=jane@example.com template=welcome_email\n"
           "to=bob@example.com template=welcome_email\n");

  // The database it leaves can be inspected with the quickstart app.
  cli_app a;
  a.db = db;
  auto evs = jsonl_of(a.jsonl({"events", "--limit", "0"}));
  REQUIRE(evs.size() == 8);
  int sends = 0;
  for (auto& ev : evs)
    sends += str(ev, "action") == "send_email";
  CHECK(sends == 2);
  std::map<std::string, json::object> users;
  r = a.jsonl({"list", "Accounts.User"});
  REQUIRE_EXIT(r, 0);
  for (auto& u : jsonl_of(r))
    users[str(obj(u, "values"), "email")] = obj(u, "values");
  REQUIRE(users.size() == 2);
  CHECK(str(users["jane@example.com"], "name") == "Jane Smith");
  CHECK(str(users["bob@example.com"], "status") == "suspended");
  r = a({"verify"});
  CHECK_EXIT(r, 0);

  // It refuses to overwrite a database.
  r = run_cli({"demo", "--db", db});
  check_table_error(r, 2, db);
  CHECK_THAT(r.err, Contains("exists"));
  CHECK(jsonl_of(a.jsonl({"events", "--limit", "0"})).size() == 8);
  CHECK(read_text(db + ".outbox.txt") == outbox);
}

TEST_CASE("cli: the demo without --db uses a fresh temp directory", "[cli]") {
  auto r = run_cli({"demo"});
  REQUIRE_EXIT(r, 0);
  auto first = lines_of(r.out).at(0);
  const std::string prefix = "eventactors demo: the quickstart app on ";
  REQUIRE_THAT(first, StartsWith(prefix));
  fs::path db = first.substr(prefix.size());
  auto dir = db.parent_path();
  CHECK(fs::exists(db));
  CHECK(dir.parent_path() == fs::temp_directory_path());
  CHECK_THAT(dir.filename().string(), StartsWith("eventactors-demo-"));
  CHECK_THAT(r.out,
             Contains("2 email(s) in the outbox, as before the replays (2)"));
  std::error_code ec;
  if (dir.filename().string().rfind("eventactors-demo-", 0) == 0)
    fs::remove_all(dir, ec);
}

// -- the outbox ---------------------------------------------------------------------------

TEST_CASE("cli: the quickstart outbox is written next to the database and "
          "replay does not append to it",
          "[cli]") {
  temp_dir dir;
  fs::create_directories(dir.path() / "work");
  fs::create_directories(dir.path() / "data");
  fs::create_directories(dir.path() / "defs");
  fs::create_directories(dir.path() / "forks");
  // The app definition in a directory of its own, the database in another,
  // run from a third.
  auto app = dir.file("defs/quickstart.json");
  fs::copy_file(config_file("quickstart.json"), app);
  auto work = dir.file("work");
  auto outbox = dir.file("data/outbox.txt");
  auto in_work = [&](std::vector<std::string> args,
                     const std::string& input = {}) {
    args.insert(args.begin(), {"--app", app, "--db", "../data/app.db"});
    return run_cli(args, input, work);
  };
  auto r = in_work({"run", "Accounts.User", "create",
                    R"({"email":"ann@example.com","name":"Ann"})"});
  REQUIRE_EXIT(r, 0);
  CHECK(fs::exists(dir.file("data/app.db")));
  CHECK(read_text(outbox) == "to=ann@example.com template=welcome_email\n");
  CHECK_FALSE(fs::exists(dir.file("work/outbox.txt")));
  CHECK_FALSE(fs::exists(dir.file("defs/outbox.txt")));
  r = in_work({"batch"},
              R"({"resource":"Accounts.User","action":"create","input":{"email":"bob@example.com"}})"
              "\n");
  REQUIRE_EXIT(r, 0);
  const std::string two = "to=ann@example.com template=welcome_email\n"
                          "to=bob@example.com template=welcome_email\n";
  CHECK(read_text(outbox) == two);

  // Replays, a fork and verify send nothing.
  REQUIRE_EXIT(in_work({"replay"}), 0);
  REQUIRE_EXIT(in_work({"replay", "--last-event-id", "2"}), 0);
  REQUIRE_EXIT(in_work({"replay"}), 0);
  REQUIRE_EXIT(in_work({"replay", "--into", "../forks/fork.db"}), 0);
  REQUIRE_EXIT(in_work({"verify"}), 0);
  CHECK(fs::exists(dir.file("forks/fork.db")));
  CHECK(read_text(outbox) == two);
  CHECK_FALSE(fs::exists(dir.file("forks/outbox.txt")));
  CHECK_FALSE(fs::exists(dir.file("work/outbox.txt")));

  // A new signup after the replays is sent once.
  r = in_work({"run", "Accounts.User", "create",
               R"({"email":"cy@example.com"})"});
  REQUIRE_EXIT(r, 0);
  CHECK(read_text(outbox) == two + "to=cy@example.com template=welcome_email\n");
}

// -- the process helper ------------------------------------------------------------------

TEST_CASE("cli: the process helper feeds stdin, separates the outputs and "
          "kills a child that runs too long",
          "[cli][process]") {
  // 1 MiB through cat: more than any pipe buffer, both ways at once.
  std::string big;
  for (int i = 0; big.size() < (1u << 20); ++i)
    big += "line " + std::to_string(i) + "\n";
  auto p = run_process({"/bin/cat"}, {.input = big});
  CHECK(p.exit_code == 0);
  CHECK_FALSE(p.timed_out);
  CHECK(p.out == big);
  CHECK(p.err.empty());
  // Separate streams, the exit code, the working directory; no shell
  // between us and the program (the arguments arrive as they are).
  temp_dir dir;
  p = run_process({"/bin/sh", "-c", "pwd; echo oops >&2; exit 3", "$HOME"},
                  {.cwd = dir.path().string()});
  CHECK(p.exit_code == 3);
  CHECK(p.out == fs::canonical(dir.path()).string() + "\n");
  CHECK(p.err == "oops\n");
  p = run_process({"/bin/echo", "$HOME", "a  b", "*"});
  CHECK(p.out == "$HOME a  b *\n");
  // A child that exits without reading its input.
  p = run_process({"/bin/true"}, {.input = big});
  CHECK(p.exit_code == 0);
  // Killed after the timeout.
  p = run_process({"/bin/sleep", "30"}, {.timeout = std::chrono::milliseconds{200}});
  CHECK(p.timed_out);
  CHECK(p.exit_code == -1);
  CHECK(p.signal == SIGKILL);
  CHECK_THROWS(run_process({"/nonexistent/program"}));
}

TEST_CASE("cli: batch names a key of the wrong kind; control characters in "
          "values keep tables intact",
          "[cli]") {
  cli_app a;
  auto r = a({"batch"},
             R"({"resource":"Accounts.User","action":"create","input":{"email":"a@example.com"},"metadata":[1]})"
             "\n"
             R"({"resource":"Accounts.User","action":"create","input":[]})"
             "\n"
             R"({"resource":5,"action":"create"})"
             "\n");
  INFO(show(r));
  auto out = lines_of(r.out);
  REQUIRE(out.size() == 3);
  CHECK_THAT(out[0], Contains("\"metadata\" must be an object, got an array"));
  CHECK_THAT(out[1], Contains("\"input\" must be an object, got an array"));
  CHECK_THAT(out[2], Contains("\"resource\" must be a string, got a number"));
  // An actor key and a name holding a newline and an escape character.
  r = a({"run", "Accounts.User", "create",
         R"({"email":"b@example.com","name":"two\nlines \u001b[31m"})",
         "--actor", "SystemActor:evil\nkey"});
  REQUIRE_EXIT(r, 0);
  for (auto& args : std::vector<std::vector<std::string>>{
         {"events", "--resource", "Accounts.User"},
         {"list", "Accounts.User"}}) {
    r = a(args);
    REQUIRE_EXIT(r, 0);
    INFO(show(r));
    CHECK(lines_of(r.out).size() == 3); // the header, one row, the count
    CHECK(r.out.find('\x1b') == std::string::npos);
  }
  r = a({"events", "--resource", "Accounts.User"});
  CHECK_THAT(r.out, Contains("evil\\nkey"));
  r = a({"list", "Accounts.User"});
  CHECK_THAT(r.out, Contains("two\\nlines \\x1b[31m"));
}

TEST_CASE("cli: a malformed --last-event-id is refused before the database is "
          "opened: no file is created or migrated",
          "[cli]") {
  cli_app a;
  auto fresh = a.dir.file("fresh.db");
  for (auto bad : {"-1", "abc", "0x10", "+2"}) {
    auto r = run_cli({"--app", a.app, "--db", fresh, "replay",
                      "--last-event-id", bad});
    INFO(show(r));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains("--last-event-id"));
    CHECK_FALSE(std::filesystem::exists(fresh));
  }
}

TEST_CASE("cli: --log picks the event log whose actor columns and id kind "
          "events and replay check; a log it does not name is refused",
          "[cli]") {
  // Two logs: "main" with integer ids and no actor column, "audit" with
  // UUID v7 ids and a column for system actors.
  cli_app a;
  a.app = a.dir.file("two_logs.json");
  write_text(a.app, R"({
    "event_logs": [
      {"name": "main"},
      {"name": "audit", "primary_key_type": "uuid_v7",
       "persist_actor_primary_key": [{"column": "system_actor",
         "actor_type": "SystemActor", "type": "string"}]}],
    "resources": [
      {"name": "Shop.Item", "attributes": [{"name": "label", "type": "string"}],
       "actions": [{"name": "create", "kind": "create", "accept": ["label"]}],
       "events": {"event_log": "main"}},
      {"name": "Audit.Entry", "attributes": [{"name": "note", "type": "string"}],
       "actions": [{"name": "create", "kind": "create", "accept": ["note"]}],
       "events": {"event_log": "audit"}}]})");
  REQUIRE_EXIT(a({"run", "Shop.Item", "create", R"({"label":"tea"})"}), 0);
  auto r = a.jsonl({"run", "Audit.Entry", "create", R"({"note":"checked"})",
                    "--actor", "SystemActor:nightly"});
  REQUIRE_EXIT(r, 0);
  auto audit_event = str(jsonl_one(r), "event_id");

  // The audit log's actor column and UUID ids.
  r = a.jsonl({"--log", "audit", "events", "--actor", "SystemActor:nightly"});
  REQUIRE_EXIT(r, 0);
  CHECK(str(jsonl_one(r), "id") == audit_event);
  r = a.jsonl({"--log", "audit", "events", "--from-id", audit_event});
  REQUIRE_EXIT(r, 0);
  CHECK(str(jsonl_one(r), "id") == audit_event);
  r = a.jsonl({"--log", "audit", "replay", "--last-event-id", audit_event});
  REQUIRE_EXIT(r, 0);
  CHECK(str(jsonl_one(r), "replayed") == "up to event " + audit_event);

  struct bad_case {
    std::string what;
    std::vector<std::string> args;
    int code;
    std::string needle;
  };
  std::vector<bad_case> cases{
    {"an integer id of the audit log",
     {"--log", "audit", "events", "--from-id", "1"}, 2,
     "--from-id: expected an event id (a UUID), got \"1\""},
    {"a UUID id of the main log (the first, by default)",
     {"events", "--to-id", audit_event}, 2,
     "--to-id: expected an event id (a positive integer), got \""
       + audit_event + "\""},
    {"an actor type without a column in the main log",
     {"events", "--actor", "SystemActor:nightly"}, 1,
     "--actor: event log main has no column for actor type SystemActor"},
    {"events of no log", {"--log", "nolog", "events"}, 1,
     "no event log \"nolog\""},
    {"a replay cut in no log",
     {"--log", "nolog", "replay", "--last-event-id", "2"}, 1,
     "no event log \"nolog\""},
  };
  for (auto& c : cases) {
    INFO(c.what);
    check_table_error(a(c.args), c.code, c.needle);
    check_jsonl_error(a.jsonl(c.args), c.code, "invalid_input", c.needle);
  }
}
