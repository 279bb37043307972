// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The command line: its options and subcommands, parsing and dispatch to
// the commands (commands.hpp).

#include "eventactors/cli.hpp"

#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "args.hpp"
#include "commands.hpp"
#include "output.hpp"
#include "session.hpp"

namespace eventactors::cli {

namespace {

/// Checks a count given on the command line before CLI11 converts it: digits
/// only, since CLI11 2.1 turns "-1" into 2^64-1 for an unsigned option.
CLI::Validator count_arg() {
  return CLI::Validator(
    [](std::string& x) -> std::string {
      if (all_digits(x) && x.size() < 10)
        return {};
      return "expected a whole number from 0 to 999999999, got \"" + x
             + "\"";
    },
    "COUNT");
}

/// One run of the command line: the parser, the values it sets and the
/// subcommands' work, run after parsing (when every option is set).
struct command_line {
  explicit command_line(const options& opts)
    : app{"Event-sourced resources on a SQLite event log: run actions, "
          "inspect the log, replay, verify.",
          opts.name},
      sess{opts, c} {
    // nop
  }

  CLI::App app;
  common c;
  session sess;
  std::optional<failure> outcome;
  /// Set when the command ran but something in it failed (exit code 1).
  bool soft_failure = false;
  std::vector<std::pair<CLI::App*, std::function<void()>>> dispatch;
  // The values of the subcommands' options.
  std::string demo_db;
  run_args run;
  serve_args serve;
  record_args record;
  list_args list;
  events_args events;
  record_args history;
  replay_args replay;
  uint32_t max_differences = 100;
};

void add_global_options(command_line& cl, const options& opts) {
  auto& c = cl.c;
  cl.app.add_option("--app", c.app_path,
                    opts.definitions ? "An app definition (JSON) to use "
                                       "instead of the built-in one"
                                     : "The app definition (JSON)")
    ->check(CLI::ExistingFile);
  cl.app.add_option("--db", c.db_path, "The SQLite database file");
  cl.app.add_option("--log", c.log, "The event log (default: the first)");
  cl.app.add_option("--config", c.config_path,
                    "Runtime settings, an INI file like "
                    "config/eventactors.ini (--db overrides its path)")
    ->check(CLI::ExistingFile);
  cl.app.add_option("--format", c.fmt_name, "Output: table (default) or jsonl")
    ->check(CLI::IsMember({"table", "jsonl"}));
  // A node instead of a database (docs/nodes.md).
  cl.app.add_option("--connect", c.connect,
                    "Talk to the node at HOST:PORT instead of --db/--app; "
                    "several (comma-separated or repeated): a cluster")
    ->join(',');
  cl.app.add_option("--user", c.user, "The user name the node knows");
  cl.app.add_option("--secret-file", c.secret_file,
                    "A file holding the user's secret (default: "
                    "$EVENTACTORS_SECRET)")
    ->check(CLI::ExistingFile);
  cl.app.add_option("--tls-cert", c.tls_cert, "This side's certificate (PEM)")
    ->check(CLI::ExistingFile);
  cl.app.add_option("--tls-key", c.tls_key, "This side's private key (PEM)")
    ->check(CLI::ExistingFile);
  cl.app.add_option("--tls-ca", c.tls_ca,
                    "The CA certificate that signs the peers (PEM)")
    ->check(CLI::ExistingFile);
  cl.app.add_flag("--plaintext", c.plaintext,
                  "Without TLS (a node allows it on loopback addresses only)");
}

// -- the subcommands, in the order of the help text ---------------------------

void add_demo(command_line& cl) {
  auto demo = cl.app.add_subcommand(
    "demo", "Run the quickstart scenario on a new database file, replay it "
            "to a point in time and back");
  demo->add_option("--db", cl.demo_db, "The new database file (default: a "
                                       "fresh temp directory)");
  cl.dispatch.emplace_back(demo, [&cl] {
    cl.outcome = cmd_demo(cl.demo_db.empty() ? cl.c.db_path : cl.demo_db);
  });
}

void add_run_commands(command_line& cl) {
  auto& a = cl.run;
  auto run = cl.app.add_subcommand("run", "Run one action; print the "
                                          "resulting record");
  run->add_option("resource", a.resource, "Resource, e.g. Accounts.User")
    ->required();
  run->add_option("action", a.action, "Action, e.g. create")->required();
  run->add_option("input", a.input, "Input as a JSON object");
  run->add_option("--id", a.id, "Record id (updates and destroys)");
  run->add_option("--actor", a.actor, "Actor as TYPE:ID");
  run->add_option("--metadata", a.metadata, "Metadata as a JSON object");
  run->add_option_function<std::string>(
    "--idempotency-key",
    [&a](const std::string& key) { a.idempotency_key = key; },
    "Makes a retry safe: a repeated key gets the original result and runs "
    "nothing");
  cl.dispatch.emplace_back(
    run, [&cl] { cl.outcome = cmd_run(cl.sess, cl.c, cl.run); });
  auto batch = cl.app.add_subcommand(
    "batch", "Run actions given as JSON lines on stdin (resource, action, "
             "input, id, actor, metadata); one result line each");
  cl.dispatch.emplace_back(batch, [&cl] {
    cl.outcome = cmd_batch(cl.sess, cl.c, cl.soft_failure);
  });
}

void add_record_commands(command_line& cl) {
  auto get = cl.app.add_subcommand("get", "Print one record");
  get->add_option("resource", cl.record.resource, "Resource")->required();
  get->add_option("id", cl.record.id, "Record id")->required();
  cl.dispatch.emplace_back(
    get, [&cl] { cl.outcome = cmd_get(cl.sess, cl.c, cl.record); });
  auto list = cl.app.add_subcommand("list", "List records of a resource");
  list->add_option("resource", cl.list.resource, "Resource")->required();
  list->add_option("--limit", cl.list.limit,
                   "At most this many (default 1000)")
    ->check(CLI::Range(1u, 100000u));
  list->add_option("--offset", cl.list.offset, "Skip this many")
    ->check(count_arg());
  cl.dispatch.emplace_back(
    list, [&cl] { cl.outcome = cmd_list(cl.sess, cl.c, cl.list); });
}

void add_events(command_line& cl) {
  auto& a = cl.events;
  auto events = cl.app.add_subcommand("events", "Print the event log, oldest "
                                                "first, filtered");
  events->add_option("--resource", a.resource, "Only this resource");
  events->add_option("--record-id", a.record_id, "Only this record");
  events->add_option("--action", a.action, "Only this action");
  events->add_option("--actor", a.actor, "Only this actor, as COLUMN=KEY");
  events->add_option("--from-id", a.from_id, "Events with id >= this");
  events->add_option("--to-id", a.to_id, "Events with id <= this");
  events->add_option("--since", a.since, "occurred_at >= this (ISO 8601)");
  events->add_option("--until", a.until, "occurred_at <= this (ISO 8601)");
  events->add_flag("--newest-first", a.newest_first, "Newest first");
  events->add_option("--limit", a.limit,
                     "At most this many (default 100; 0: all)")
    ->check(count_arg());
  cl.dispatch.emplace_back(
    events, [&cl] { cl.outcome = cmd_events(cl.sess, cl.c, cl.events); });
  auto history = cl.app.add_subcommand(
    "history", "One record's events and its state after each");
  history->add_option("resource", cl.history.resource, "Resource")
    ->required();
  history->add_option("id", cl.history.id, "Record id")->required();
  cl.dispatch.emplace_back(history, [&cl] {
    cl.outcome = cmd_history(cl.sess, cl.c, cl.history);
  });
}

void add_replay_commands(command_line& cl) {
  auto& a = cl.replay;
  auto replay = cl.app.add_subcommand(
    "replay", "Rebuild the records from the event log (all, or up to a cut), "
              "in one transaction");
  replay->add_option("--last-event-id", a.last_id,
                     "Up to and including this event id");
  replay->add_option("--point-in-time", a.point,
                     "Up to and including this time (ISO 8601)");
  replay->add_option("--into", a.into,
                     "Replay into this new database file (a fork) instead");
  cl.dispatch.emplace_back(
    replay, [&cl] { cl.outcome = cmd_replay(cl.sess, cl.c, cl.replay); });
  auto verify = cl.app.add_subcommand(
    "verify", "Replay into a scratch copy and compare it with the live "
              "records");
  verify->add_option("--max-differences", cl.max_differences,
                     "List at most this many differences (default 100)")
    ->check(count_arg());
  cl.dispatch.emplace_back(verify, [&cl] {
    cl.outcome = cmd_verify(cl.sess, cl.c, cl.max_differences,
                            cl.soft_failure);
  });
}

void add_stats(command_line& cl) {
  auto stats = cl.app.add_subcommand("stats", "Events per action, actor and "
                                              "day; file size");
  cl.dispatch.emplace_back(
    stats, [&cl] { cl.outcome = cmd_stats(cl.sess, cl.c); });
}

void add_serve(command_line& cl) {
  auto& a = cl.serve;
  auto serve = cl.app.add_subcommand(
    "serve", "Serve the database's resources to remote clients until "
             "SIGINT or SIGTERM");
  serve->add_option("--listen", a.listen,
                    "HOST:PORT to listen on (port 0: any free port)")
    ->required();
  serve->add_option("--users", a.users,
                    "The users file: NAME ROLE HASH lines (default: every "
                    "client is an admin)")
    ->check(CLI::ExistingFile);
  serve->add_flag("--plaintext-on-any-address", a.plaintext_anywhere,
                  "Allow --plaintext on an address that is not loopback");
  cl.dispatch.emplace_back(
    serve, [&cl] { cl.outcome = cmd_serve(cl.sess, cl.c, cl.serve); });
  auto hash = cl.app.add_subcommand(
    "hash-secret", "Read a secret from standard input; print the hash a "
                   "users file stores for it");
  cl.dispatch.emplace_back(hash,
                           [&cl] { cl.outcome = cmd_hash_secret(); });
}

void add_subcommands(command_line& cl) {
  add_demo(cl);
  add_run_commands(cl);
  add_record_commands(cl);
  add_events(cl);
  add_replay_commands(cl);
  add_stats(cl);
  add_serve(cl);
  for (auto* sub : cl.app.get_subcommands({}))
    sub->footer("Global options (before or after the subcommand): --app "
                "APP.json, --db PATH, --config FILE, --log NAME, --format "
                "table|jsonl; for a node: --connect HOST:PORT, --user NAME, "
                "--secret-file FILE, --tls-cert/--tls-key/--tls-ca FILE or "
                "--plaintext.");
}

// -- parsing ------------------------------------------------------------------

/// Reads `--format` before CLI11 parses, so that errors of the parse
/// itself honour it.
void scan_format(int argc, char** argv, common& c) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    if (arg == "--format" && i + 1 < argc)
      c.fmt_name = argv[i + 1];
    else if (arg.starts_with("--format="))
      c.fmt_name = std::string{arg.substr(9)};
  }
  c.fmt = format_named(c.fmt_name);
}

/// Names an unknown subcommand, before CLI11 would call it an extra
/// argument.
std::optional<failure> unknown_subcommand(CLI::App& app, int argc,
                                          char** argv,
                                          const std::string& prog) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    if (arg == "--app" || arg == "--db" || arg == "--log"
        || arg == "--format" || arg == "--config" || arg == "--connect"
        || arg == "--user" || arg == "--secret-file" || arg == "--tls-cert"
        || arg == "--tls-key" || arg == "--tls-ca") {
      ++i; // skip the value
      continue;
    }
    if (arg.starts_with("-"))
      continue;
    bool known = false;
    for (auto* sub : app.get_subcommands({}))
      known = known || sub->get_name() == arg;
    if (!known)
      return usage("unknown subcommand \"" + std::string{arg} + "\" (see "
                   + prog + " --help)");
    break;
  }
  return std::nullopt;
}

/// Parses the command line; returns the exit code when that ends the run
/// (help, or a usage error).
std::optional<int> parse(command_line& cl, int argc, char** argv,
                         const std::string& prog) {
  try {
    cl.app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cl.app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return cl.app.exit(e);
  } catch (const CLI::ParseError& e) {
    cl.c.fmt = format_named(cl.c.fmt_name);
    if (e.get_exit_code() == 0)
      return cl.app.exit(e);
    return report(prog, cl.c.fmt,
                  usage(std::string{e.what()} + " (see " + prog
                        + " --help)"));
  }
  return std::nullopt;
}

} // namespace

int run(int argc, char** argv, options opts) {
  command_line cl{opts};
  cl.app.require_subcommand(1);
  cl.app.fallthrough();
  add_global_options(cl, opts);
  add_subcommands(cl);
  scan_format(argc, argv, cl.c);
  if (auto f = unknown_subcommand(cl.app, argc, argv, opts.name))
    return report(opts.name, cl.c.fmt, *f);
  if (auto code = parse(cl, argc, argv, opts.name))
    return *code;
  cl.c.fmt = format_named(cl.c.fmt_name);
  for (auto& [sub, fn] : cl.dispatch)
    if (sub->parsed())
      fn();
  if (cl.outcome)
    return report(opts.name, cl.c.fmt, *cl.outcome);
  return cl.soft_failure ? exit_failed : exit_ok;
}

} // namespace eventactors::cli
