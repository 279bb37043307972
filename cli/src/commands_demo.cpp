// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// demo: the quickstart scenario on a new database file, replayed to a point
// in time and back, with its checks.

#include "commands.hpp"

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "eventactors/runtime.hpp"

#include "quickstart_app.hpp" // generated: the demo's app definition

namespace eventactors::cli {

namespace {

void heading(const std::string& title) {
  std::cout << "\n== " << title << " ==\n";
}

void show_users(runtime& rt) {
  auto users = rt.list("Accounts.User");
  table_rows rows;
  if (users)
    for (auto& u : *users)
      rows.push_back({text(u.get("email")), text(u.get("name")),
                      text(u.get("status"))});
  print_table(std::cout, {"email", "name", "status"}, rows);
}

std::string read_all(const std::string& path) {
  std::ifstream in{path};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::ptrdiff_t lines(const std::string& s) {
  return std::count(s.begin(), s.end(), '\n');
}

/// Points every outbox hook of a definition at `file`.
void redirect_outbox(json::value& x, const std::string& file) {
  if (x.is_array()) {
    for (auto& y : x.get_array())
      redirect_outbox(y, file);
  } else if (x.is_object()) {
    auto& o = x.get_object();
    if (auto hook = o.if_contains("hook"); hook && *hook == "outbox")
      o["file"] = file;
    for (auto& kvp : o)
      redirect_outbox(kvp.value(), file);
  }
}

/// Starts the quickstart app on `db` with its outbox at `outbox`. The app is
/// also written to `app_file`, so that the other commands can inspect the
/// database: eventactors events --app <db>.app.json --db <db>.
caf::expected<std::unique_ptr<runtime>>
start_demo(const std::string& db, const std::string& outbox,
           const std::string& app_file) {
  auto doc = parse_json(quickstart_app_json, "the quickstart app");
  if (!doc)
    return std::move(doc.error());
  redirect_outbox(*doc, outbox);
  {
    std::ofstream out{app_file};
    out << to_json_text(*doc) << '\n';
  }
  auto defs = load_app(*doc);
  if (!defs)
    return std::move(defs.error());
  runtime_options ro;
  ro.path = db;
  return runtime::start(std::move(*defs), std::move(ro));
}

/// Step 1: Jane and Bob sign up. Returns the time of the newest event
/// after them, the cut that step 5 replays to.
caf::expected<timestamp> sign_up(runtime& rt, record& j, record& b) {
  heading("1. users sign up; a welcome email goes out through another "
          "resource");
  call jane{"Accounts.User", "create",
            {{"email", "jane@example.com"}, {"name", "Jane Doe"}}};
  jane.actor = actor{"SystemActor", "signup-form"};
  jane.metadata = {{"source", "web"}, {"request_id", "req-1001"}};
  auto jr = rt.run(jane);
  if (!jr)
    return std::move(jr.error());
  j = std::move(*jr);
  call bob{"Accounts.User", "create",
           {{"email", "bob@example.com"}, {"name", "Bob Stone"}}};
  bob.actor = actor{"SystemActor", "admin-import"};
  bob.metadata = {{"source", "csv import"}, {"batch", 7}};
  auto br = rt.run(bob);
  if (!br)
    return std::move(br.error());
  b = std::move(*br);
  // The cut: the newest event so far (the signups and their emails).
  auto cut = rt.events({.descending = true, .limit = 1});
  auto cut_time = cut && !cut->events.empty() ? cut->events[0].occurred_at
                                              : now_utc();
  show_users(rt);
  return cut_time;
}

/// Step 2: Jane renames herself, Bob is suspended, a duplicate email is
/// refused.
caf::error change_users(runtime& rt, const record& j, const record& b) {
  heading("2. Jane renames herself; an operator suspends Bob");
  call rename{"Accounts.User", "update", {{"name", "Jane Smith"}}};
  rename.record_id = j.id;
  rename.actor = actor{"Accounts.User", j.id};
  rename.metadata = {{"source", "profile page"}};
  if (auto r = rt.run(rename); !r)
    return std::move(r.error());
  call suspend{"Accounts.User", "set_status", {{"status", "suspended"}}};
  suspend.record_id = b.id;
  suspend.actor = actor{"SystemActor", "operator"};
  suspend.metadata = {{"reason", "chargeback"}};
  if (auto r = rt.run(suspend); !r)
    return std::move(r.error());
  auto bad = rt.run(call{"Accounts.User", "create",
                         {{"email", "JANE@example.com"}}});
  std::cout << "a second signup with Jane's email is refused: "
            << (bad ? std::string{"accepted?!"} : render(bad.error()))
            << '\n';
  show_users(rt);
  return {};
}

/// Step 3: the event log as a table.
void show_log(runtime& rt) {
  heading("3. the event log");
  table_rows rows;
  (void) rt.for_each_event({}, [&](const event& ev) {
    rows.push_back(event_row(ev));
    return true;
  });
  print_table(std::cout, event_header(), rows, 40);
}

/// Steps 5 and 6: replay to `cut`, then everything.
caf::error replay_and_back(runtime& rt, timestamp cut) {
  heading("5. replay to " + format_timestamp(cut) + " (after the signups)");
  auto r1 = rt.replay({.point_in_time = cut});
  if (!r1)
    return std::move(r1.error());
  std::cout << "replayed " << r1->events << " events\n";
  show_users(rt);
  heading("6. replay everything: back to now");
  auto r2 = rt.replay();
  if (!r2)
    return std::move(r2.error());
  std::cout << "replayed " << r2->events << " events\n";
  show_users(rt);
  return {};
}

/// Step 7: the outbox holds what it held before the replays (`sent`), and
/// the log rebuilds every record.
caf::error check_outcome(runtime& rt, const std::string& outbox,
                         const std::string& sent, const std::string& db,
                         const std::string& app_file) {
  heading("7. the emails were not sent again");
  auto after = read_all(outbox);
  std::cout << after;
  std::cout << lines(after) << " email(s) in the outbox, as before the "
            << "replays (" << lines(sent) << ")\n";
  auto report = rt.verify();
  if (!report)
    return std::move(report.error());
  std::cout << "verify: "
            << (report->ok() ? "the log rebuilds every record exactly"
                             : "DIFFERENCES FOUND")
            << '\n';
  std::cout << "\ninspect it: eventactors events --app " << app_file
            << " --db " << db << '\n';
  if (lines(after) != lines(sent) || !report->ok())
    return make_error(errc::replay_failed, "the demo's checks failed");
  return {};
}

} // namespace

std::optional<failure> cmd_demo(std::string db) {
  if (db.empty()) {
    auto dir = std::filesystem::temp_directory_path()
               / ("eventactors-demo-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir);
    db = (dir / "demo.db").string();
  } else if (std::filesystem::exists(db)) {
    return usage("--db: " + db
                 + " exists already; the demo writes a new file");
  }
  auto outbox = std::filesystem::absolute(db + ".outbox.txt").string();
  auto app_file = std::filesystem::absolute(db + ".app.json").string();
  auto rt = start_demo(db, outbox, app_file);
  if (!rt)
    return failure{exit_failed, rt.error()};
  std::cout << "eventactors demo: the quickstart app on " << db << "\n";
  record j;
  record b;
  auto cut = sign_up(**rt, j, b);
  if (!cut)
    return failure{exit_failed, cut.error()};
  if (auto err = change_users(**rt, j, b))
    return failure{exit_failed, err};
  show_log(**rt);
  heading("4. emails sent (the outbox, a side effect after the commit)");
  auto sent = read_all(outbox);
  std::cout << sent;
  if (auto err = replay_and_back(**rt, *cut))
    return failure{exit_failed, err};
  if (auto err = check_outcome(**rt, outbox, sent, db, app_file))
    return failure{exit_failed, err};
  return std::nullopt;
}

} // namespace eventactors::cli
