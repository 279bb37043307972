// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/cli.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <system_error>

#include <CLI/CLI.hpp>

#include <caf/actor_system_config.hpp>
#include <caf/settings.hpp>

#include <boost/json/serialize.hpp>

#include "eventactors/all.hpp"
#include "quickstart_app.hpp" // generated: the demo's app definition

namespace eventactors::cli {

namespace {

// -- exit codes and errors --------------------------------------------------------

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

enum class format { table, jsonl };

/// A failure with the exit code it leads to.
struct failure {
  int code;
  caf::error err;
};

json::object error_json(const caf::error& err) {
  json::object o;
  if (err.category() == caf::atom("evact"))
    o["code"] = to_string(static_cast<errc>(err.code()));
  else
    o["code"] = "error";
  o["message"] = message(err);
  json::array fields;
  for (auto& fe : field_errors(err))
    fields.push_back(json::object{{"field", fe.field}, {"message", fe.message}});
  if (!fields.empty())
    o["fields"] = std::move(fields);
  return o;
}

/// Reports a failure: one line on stderr, a JSON object in jsonl mode.
int report(const std::string& prog, format fmt, const failure& f) {
  if (fmt == format::jsonl)
    std::cerr << to_json_text(json::object{{"error", error_json(f.err)}})
              << '\n';
  else
    std::cerr << prog << ": " << render(f.err) << '\n';
  return f.code;
}

failure usage(std::string msg) {
  return {exit_usage, make_error(errc::invalid_input, std::move(msg))};
}

// -- text helpers ---------------------------------------------------------------

std::string text(const json::value& x) {
  if (x.is_string())
    return std::string{x.get_string()};
  if (x.is_null())
    return "-";
  return to_json_text(x);
}

/// Escapes the control characters of `s` (`\n`, `\t`, `\r`, `\x1b`, ...),
/// so that a value holding them keeps a table's lines and columns intact
/// and cannot send terminal commands.
std::string printable(const std::string& s) {
  auto is_control = [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  };
  if (std::none_of(s.begin(), s.end(), is_control))
    return s;
  std::string out;
  out.reserve(s.size() + 8);
  for (char c : s) {
    if (!is_control(c)) {
      out += c;
      continue;
    }
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default: {
        static constexpr char hex[] = "0123456789abcdef";
        auto u = static_cast<unsigned char>(c);
        out += "\\x";
        out += hex[u >> 4];
        out += hex[u & 0xf];
      }
    }
  }
  return out;
}

/// Cuts `s` to `width` characters (UTF-8 aware enough for display).
std::string clip(std::string s, size_t width) {
  if (s.size() <= width)
    return s;
  size_t cut = width - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
    --cut;
  return s.substr(0, cut) + "...";
}

size_t display_width(const std::string& s) {
  size_t n = 0;
  for (auto c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80)
      ++n;
  return n;
}

/// Prints rows as an aligned table with a header line.
void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows,
                 size_t max_width = 48) {
  std::vector<size_t> widths(header.size());
  for (size_t i = 0; i < header.size(); ++i)
    widths[i] = display_width(header[i]);
  std::vector<std::vector<std::string>> cells;
  for (auto& row : rows) {
    std::vector<std::string> r;
    for (size_t i = 0; i < header.size(); ++i) {
      auto cell = i < row.size() ? clip(printable(row[i]), max_width)
                                 : std::string{};
      widths[i] = std::max(widths[i], display_width(cell));
      r.push_back(std::move(cell));
    }
    cells.push_back(std::move(r));
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (size_t i = 0; i < r.size(); ++i) {
      s += r[i];
      if (i + 1 < r.size())
        s += std::string(widths[i] - display_width(r[i]) + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ')
      s.pop_back();
    out << s << '\n';
  };
  line(header);
  for (auto& r : cells)
    line(r);
}

void print_jsonl(const json::value& x) {
  std::cout << to_json_text(x) << '\n';
}

// -- parsing command-line values -----------------------------------------------------

caf::expected<actor> parse_actor(const std::string& spec) {
  auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size())
    return make_error(errc::invalid_input,
                      "--actor: expected TYPE:ID, e.g. SystemActor:nightly-"
                      "sync, got \"" + spec + "\"");
  return actor{spec.substr(0, colon), json::string{spec.substr(colon + 1)}};
}

caf::expected<json::object> parse_object(const std::string& text,
                                         const std::string& what) {
  auto doc = parse_json(text, what);
  if (!doc)
    return std::move(doc.error());
  if (!doc->is_object())
    return make_error(errc::invalid_input,
                      what + ": expected a JSON object, got "
                        + clip(to_json_text(*doc), 40));
  return std::move(doc->get_object());
}

caf::expected<timestamp> parse_time(const std::string& text,
                                    const std::string& what) {
  if (auto t = parse_timestamp(text))
    return *t;
  if (check_timestamp(text) == timestamp_check::out_of_range)
    return make_error(errc::invalid_input,
                      what + ": \"" + text
                        + "\" lies outside the years 0000 to 9999 (UTC)");
  return make_error(errc::invalid_input,
                    what + ": expected an ISO 8601 date-time with a time "
                           "zone, e.g. 2026-11-27T10:00:00Z, got \""
                      + text + "\"");
}

/// Names the kind of a JSON value, for error messages: "an array".
std::string json_kind(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

/// Whether `x` is a positive integer in plain digits (no sign, no spaces,
/// no leading zero) that fits 64 bits.
bool plain_positive_integer(const std::string& x) {
  return !x.empty() && x.size() < 19 && x.front() != '0'
         && std::all_of(x.begin(), x.end(),
                        [](char ch) { return ch >= '0' && ch <= '9'; });
}

/// Whether `x` could be an event id of some log: a positive integer or a
/// UUID. Checked before the database is opened, so that a malformed id
/// is refused before anything touches the file.
bool event_id_shaped(const std::string& x) {
  json::value id;
  return plain_positive_integer(x)
         || !types::uuid().cast(json::value(json::string{x}), id);
}

/// An event id given on the command line: digits only for a log with
/// integer ids (no sign, no spaces), a UUID for one with UUID v7 ids.
caf::expected<json::value> event_id_arg(const event_log& log,
                                        const std::string& x,
                                        const char* opt) {
  if (log.id_kind() == event_id_kind::uuid_v7) {
    json::value id;
    if (!types::uuid().cast(json::value(json::string{x}), id))
      return id;
    return make_error(errc::invalid_input,
                      std::string{opt} + ": expected an event id (a UUID), "
                                         "got \""
                        + x + "\"");
  }
  if (plain_positive_integer(x))
    return json::value(std::stoll(x));
  return make_error(errc::invalid_input,
                    std::string{opt} + ": expected an event id (a "
                                       "positive integer), got \""
                      + x + "\"");
}

/// Checks a count given on the command line before CLI11 converts it: digits
/// only, since CLI11 2.1 turns "-1" into 2^64-1 for an unsigned option.
CLI::Validator count_arg() {
  return CLI::Validator(
    [](std::string& x) -> std::string {
      if (!x.empty() && x.size() < 10
          && std::all_of(x.begin(), x.end(),
                         [](char ch) { return ch >= '0' && ch <= '9'; }))
        return {};
      return "expected a whole number from 0 to 999999999, got \"" + x
             + "\"";
    },
    "COUNT");
}

// -- reading stdin in bounded memory ---------------------------------------------------

/// Reads lines from a file descriptor keeping at most `max` bytes of one
/// line: a longer line is read past and reported, never held, so a huge
/// line costs no more memory than a line at the limit.
class line_reader {
public:
  enum class status { line, too_long, end, failed };

  line_reader(int fd, std::size_t max) : fd_(fd), max_(max), buf_(64 * 1024) {
    // nop
  }

  /// Reads the next line into `line` (without its newline). `too_long`
  /// leaves `line` empty; `failed` sets `error()`.
  status next(std::string& line) {
    line.clear();
    bool skipping = false;
    // Whether this line has begun: a last line without a newline counts.
    bool begun = false;
    for (;;) {
      if (pos_ == end_) {
        if (eof_)
          return skipping ? status::too_long
                          : (begun ? status::line : status::end);
        if (!fill())
          return status::failed;
        continue;
      }
      auto* begin = buf_.data() + pos_;
      auto* nl = static_cast<const char*>(
        std::memchr(begin, '\n', end_ - pos_));
      auto n = nl ? static_cast<std::size_t>(nl - begin) : end_ - pos_;
      begun = true;
      if (!skipping && line.size() + n > max_) {
        skipping = true;
        line.clear();
        line.shrink_to_fit();
      }
      if (!skipping)
        line.append(begin, n);
      pos_ += n;
      if (nl) {
        ++pos_;
        return skipping ? status::too_long : status::line;
      }
    }
  }

  const std::string& error() const noexcept {
    return error_;
  }

private:
  bool fill() {
    for (;;) {
      auto n = ::read(fd_, buf_.data(), buf_.size());
      if (n > 0) {
        pos_ = 0;
        end_ = static_cast<std::size_t>(n);
        return true;
      }
      if (n == 0) {
        pos_ = end_ = 0;
        eof_ = true;
        return true;
      }
      if (errno != EINTR) {
        error_ = std::generic_category().message(errno);
        return false;
      }
    }
  }

  int fd_;
  std::size_t max_;
  std::vector<char> buf_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
  std::string error_;
};

/// Room on a batch line for what surrounds its input and metadata (the
/// resource, action, id and actor), beyond `max_input_bytes`.
constexpr std::size_t batch_line_slack = 64 * 1024;

// -- the session: an app and a runtime ---------------------------------------------

struct common {
  std::string app_path;
  std::string db_path;
  std::string config_path;
  std::string log;
  std::string fmt_name = "table";
  format fmt = format::table;
};

/// Reads runtime settings from an INI file like config/eventactors.ini.
caf::expected<runtime_options> read_config(const std::string& path) {
  caf::actor_system_config cfg;
  if (auto err = cfg.parse(caf::actor_system_config::string_list{},
                           path.c_str()))
    return make_error(errc::invalid_input,
                      "--config " + path + ": " + caf::to_string(err));
  auto opts = read_options(caf::content(cfg));
  if (!opts)
    return make_error(errc::invalid_input,
                      "--config " + path + ": " + message(opts.error()));
  return opts;
}

class session {
public:
  session(const options& opts, const common& c) : opts_(opts), c_(c) {
    // nop
  }

  /// Loads the app and starts a runtime on the database. Commands that
  /// only read or rebuild need an existing database (`must_exist`): a
  /// mistyped path must not create an empty one. Commands that only read
  /// it open it `read_only`: never migrated or written, and not waiting for
  /// another process's write lock.
  std::optional<failure> open(bool must_exist = true, bool read_only = false) {
    if (c_.db_path.empty())
      return usage("--db PATH is required");
    auto base = std::filesystem::absolute(c_.db_path).parent_path();
    caf::expected<app> defs{caf::error{}};
    if (!c_.app_path.empty()) {
      auto lib = opts_.library ? opts_.library(base)
                               : json_library::builtins(base);
      // Relative key files resolve against the definition file's
      // directory, as in load_app_file (docs/json.md); outbox files
      // against the database's. A key_file provider of the program's own
      // (not the built-in one) is left alone.
      auto app_dir = std::filesystem::absolute(c_.app_path).parent_path();
      auto keys = json_library::builtins(app_dir);
      auto ours = keys.find_key_provider("key_file");
      auto theirs = lib.find_key_provider("key_file");
      if (ours && (!theirs || theirs->target_type() == ours->target_type()))
        lib.add_key_provider("key_file", *ours);
      defs = load_app_file(c_.app_path, lib);
      if (!defs)
        return failure{exit_usage, defs.error()};
    } else if (opts_.definitions) {
      defs = *opts_.definitions;
    } else {
      return usage("--app APP.json is required");
    }
    // Checked after the app: a definition error is reported first.
    if (must_exist && !std::filesystem::exists(c_.db_path))
      return failure{exit_failed,
                     make_error(errc::not_found,
                                "no database at " + c_.db_path)};
    runtime_options ro;
    if (!c_.config_path.empty()) {
      auto read = read_config(c_.config_path);
      if (!read)
        return failure{exit_usage, read.error()};
      ro = std::move(*read);
    }
    ro.path = c_.db_path;
    ro.read_only = read_only;
    auto rt = runtime::start(std::move(*defs), std::move(ro));
    if (!rt)
      return failure{is(rt.error(), errc::invalid_definition) ? exit_usage
                                                              : exit_failed,
                     rt.error()};
    rt_ = std::move(*rt);
    return std::nullopt;
  }

  runtime& rt() {
    return *rt_;
  }

  const std::string& program() const {
    return opts_.name;
  }

private:
  const options& opts_;
  const common& c_;
  std::unique_ptr<runtime> rt_;
};

// -- output of records and events -----------------------------------------------

json::object record_json(const record& r) {
  json::object o;
  o["resource"] = r.resource;
  o["id"] = r.id;
  o["values"] = r.values;
  if (!r.event_id.is_null())
    o["event_id"] = r.event_id;
  return o;
}

void print_record(const record& r, format fmt) {
  if (fmt == format::jsonl) {
    print_jsonl(record_json(r));
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (auto& kvp : r.values)
    rows.push_back({std::string{kvp.key()}, text(kvp.value())});
  std::cout << printable(r.resource) << " " << printable(text(r.id));
  if (!r.event_id.is_null())
    std::cout << " (event " << printable(text(r.event_id)) << ")";
  std::cout << '\n';
  print_table(std::cout, {"field", "value"}, rows, 72);
}

json::object event_json(const event& ev) {
  json::object o;
  o["id"] = ev.id;
  o["log"] = ev.log;
  o["resource"] = ev.resource;
  o["record_id"] = ev.record_id;
  o["action"] = ev.action;
  o["action_type"] = to_string(ev.action_type);
  o["actors"] = ev.actors;
  o["data"] = ev.data;
  o["changed_attributes"] = ev.changed_attributes;
  o["metadata"] = ev.metadata;
  o["version"] = ev.version;
  o["occurred_at"] = format_timestamp(ev.occurred_at);
  return o;
}

std::string actor_text(const event& ev) {
  for (auto& kvp : ev.actors)
    if (!kvp.value().is_null())
      return std::string{kvp.key()} + "=" + text(kvp.value());
  return "-";
}

std::vector<std::string> event_row(const event& ev) {
  return {text(ev.id),
          format_timestamp(ev.occurred_at),
          ev.resource,
          ev.action,
          text(ev.record_id),
          actor_text(ev),
          std::to_string(ev.version),
          to_json_text(ev.data),
          to_json_text(ev.metadata)};
}

const std::vector<std::string>& event_header() {
  static const std::vector<std::string> header{
    "id",    "occurred_at", "resource", "action",  "record_id",
    "actor", "v",           "data",     "metadata"};
  return header;
}

// -- progress -------------------------------------------------------------------

/// A progress bar on stderr when stderr is a terminal.
runtime::progress_fn progress_bar() {
  if (!::isatty(STDERR_FILENO))
    return {};
  return [](const replay_progress& p) {
    constexpr int width = 30;
    auto frac = p.total > 0 ? static_cast<double>(p.applied) / p.total : 1.0;
    auto filled = static_cast<int>(frac * width);
    std::fprintf(stderr, "\r[%s%s] %llu/%llu events, %.0f/s",
                 std::string(filled, '#').c_str(),
                 std::string(width - filled, ' ').c_str(),
                 static_cast<unsigned long long>(p.applied),
                 static_cast<unsigned long long>(p.total), p.rate);
    if (p.applied >= p.total)
      std::fprintf(stderr, "\n");
    std::fflush(stderr);
  };
}

void print_summary(const replay_summary& s, format fmt,
                   const std::string& what) {
  if (fmt == format::jsonl) {
    json::object o;
    o["replayed"] = what;
    o["events"] = s.events;
    json::object applied;
    for (auto& [k, v] : s.applied)
      applied[k] = v;
    o["applied"] = std::move(applied);
    json::object used;
    for (auto& [k, v] : s.overrides_used)
      used[k] = v;
    o["overrides_used"] = std::move(used);
    json::array missing;
    for (auto& m : s.missing)
      missing.push_back(json::object{{"event_id", m.event_id},
                                     {"resource", m.resource},
                                     {"action", m.action},
                                     {"record_id", m.record_id}});
    o["missing"] = std::move(missing);
    o["duration_us"] = s.duration_us;
    print_jsonl(o);
    return;
  }
  std::printf("replayed %s: %llu events in %.3f s\n", what.c_str(),
              static_cast<unsigned long long>(s.events),
              s.duration_us / 1e6);
  std::vector<std::vector<std::string>> rows;
  for (auto& [k, v] : s.applied)
    rows.push_back({k, std::to_string(v)});
  if (!rows.empty())
    print_table(std::cout, {"applied to", "events"}, rows);
  rows.clear();
  for (auto& [k, v] : s.overrides_used)
    rows.push_back({k, std::to_string(v)});
  if (!rows.empty())
    print_table(std::cout, {"override", "events"}, rows);
  rows.clear();
  for (auto& m : s.missing)
    rows.push_back({text(m.event_id), m.resource + "." + m.action,
                    text(m.record_id)});
  if (!rows.empty()) {
    std::printf("missing records (warnings):\n");
    print_table(std::cout, {"event", "target", "record_id"}, rows);
  }
}

// -- subcommands -----------------------------------------------------------------

std::optional<failure> cmd_run(session& s, const common& c,
                               const std::string& resource,
                               const std::string& action,
                               const std::string& input,
                               const std::string& id, const std::string& who,
                               const std::string& metadata) {
  call call;
  call.resource = resource;
  call.action = action;
  if (!input.empty()) {
    auto in = parse_object(input, "INPUT_JSON");
    if (!in)
      return failure{exit_usage, in.error()};
    call.input = std::move(*in);
  }
  if (!metadata.empty()) {
    auto md = parse_object(metadata, "--metadata");
    if (!md)
      return failure{exit_usage, md.error()};
    call.metadata = std::move(*md);
  }
  if (!who.empty()) {
    auto a = parse_actor(who);
    if (!a)
      return failure{exit_usage, a.error()};
    call.actor = std::move(*a);
  }
  if (!id.empty())
    call.record_id = json::string{id};
  if (auto f = s.open(false))
    return f;
  auto rec = s.rt().run(std::move(call));
  if (!rec)
    return failure{exit_failed, rec.error()};
  print_record(*rec, c.fmt);
  return std::nullopt;
}

std::optional<failure> cmd_batch(session& s, const common& c, bool& any_failed) {
  if (auto f = s.open(false))
    return f;
  // The limit holds while reading: a line longer than any valid call is
  // skipped without being kept in memory.
  auto max_line = s.rt().options().max_input_bytes + batch_line_slack;
  line_reader in{STDIN_FILENO, max_line};
  std::string line;
  size_t n = 0;
  for (;;) {
    auto st = in.next(line);
    if (st == line_reader::status::end)
      break;
    if (st == line_reader::status::failed)
      return failure{exit_failed,
                     make_error(errc::invalid_input,
                                "cannot read stdin after line "
                                  + std::to_string(n) + ": " + in.error())};
    ++n;
    if (st == line_reader::status::line
        && line.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    auto reply = [&](caf::expected<record> r) {
      if (!r)
        any_failed = true;
      if (c.fmt == format::jsonl) {
        json::object o{{"line", n}, {"ok", static_cast<bool>(r)}};
        if (r)
          o["record"] = record_json(*r);
        else
          o["error"] = error_json(r.error());
        print_jsonl(o);
      } else if (r) {
        std::cout << "line " << n << ": ok " << r->resource << " "
                  << printable(text(r->id));
        if (!r->event_id.is_null())
          std::cout << " event " << printable(text(r->event_id));
        std::cout << '\n';
      } else {
        std::cout << "line " << n << ": error: " << render(r.error())
                  << '\n';
      }
      std::cout.flush();
    };
    if (st == line_reader::status::too_long) {
      reply(make_error(errc::input_too_large,
                       "line " + std::to_string(n) + ": longer than "
                         + std::to_string(max_line)
                         + " bytes (max_input_bytes "
                         + std::to_string(max_line - batch_line_slack)
                         + " plus 64 KiB for the rest of the line); not "
                           "read"));
      continue;
    }
    auto obj = parse_object(line, "JSON");
    if (!obj) {
      reply(obj.error());
      continue;
    }
    auto& o = *obj;
    call call;
    std::string problem;
    for (auto& kvp : o) {
      auto key = kvp.key();
      auto& v = kvp.value();
      if (key == "resource" && v.is_string())
        call.resource = std::string{v.get_string()};
      else if (key == "action" && v.is_string())
        call.action = std::string{v.get_string()};
      else if (key == "input" && v.is_object())
        call.input = v.get_object();
      else if (key == "id")
        call.record_id = v;
      else if (key == "metadata" && v.is_object())
        call.metadata = v.get_object();
      else if (key == "actor" && v.is_string()) {
        auto a = parse_actor(std::string{v.get_string()});
        if (!a)
          problem = message(a.error());
        else
          call.actor = *a;
      } else if (key == "actor" && v.is_object()
                 && v.get_object().contains("type")
                 && v.get_object().at("type").is_string()) {
        call.actor = actor{std::string{v.get_object().at("type").get_string()},
                           v.get_object().contains("id")
                             ? v.get_object().at("id")
                             : json::value{}};
      } else if (key == "actor" && v.is_null()) {
        // no actor
      } else if (key == "resource" || key == "action" || key == "input"
                 || key == "metadata" || key == "actor") {
        auto want = key == "input" || key == "metadata" ? "an object"
                    : key == "actor" ? "a string TYPE:ID or an object "
                                       "{\"type\", \"id\"}"
                                     : "a string";
        problem = key == "actor" && v.is_object()
                    ? std::string{"\"actor\" needs a string \"type\" (and "
                                  "an \"id\")"}
                    : "\"" + std::string{key} + "\" must be " + want
                        + ", got " + json_kind(v);
      } else {
        problem = "unexpected \"" + std::string{key}
                  + "\" (keys: resource, action, input, id, actor, "
                    "metadata; input and metadata are objects)";
      }
      if (!problem.empty())
        break;
    }
    if (problem.empty() && (call.resource.empty() || call.action.empty()))
      problem = "\"resource\" and \"action\" are required";
    if (!problem.empty()) {
      reply(make_error(errc::invalid_input,
                       "line " + std::to_string(n) + ": " + problem));
      continue;
    }
    reply(s.rt().run(std::move(call)));
  }
  return std::nullopt;
}

std::optional<failure> cmd_get(session& s, const common& c,
                               const std::string& resource,
                               const std::string& id) {
  if (auto f = s.open(true, true))
    return f;
  auto rec = s.rt().get(resource, json::string{id});
  if (!rec)
    return failure{exit_failed, rec.error()};
  print_record(*rec, c.fmt);
  return std::nullopt;
}

std::optional<failure> cmd_list(session& s, const common& c,
                                const std::string& resource, uint32_t limit,
                                uint64_t offset) {
  if (auto f = s.open(true, true))
    return f;
  auto xs = s.rt().list(resource, {.limit = limit, .offset = offset});
  if (!xs)
    return failure{exit_failed, xs.error()};
  if (c.fmt == format::jsonl) {
    for (auto& r : *xs)
      print_jsonl(record_json(r));
    return std::nullopt;
  }
  std::vector<std::string> header;
  if (auto res = s.rt().definitions().find_resource(resource))
    for (auto& a : res->attributes())
      header.push_back(a.name);
  std::vector<std::vector<std::string>> rows;
  for (auto& r : *xs) {
    std::vector<std::string> row;
    for (auto& h : header)
      row.push_back(text(r.get(h)));
    rows.push_back(std::move(row));
  }
  print_table(std::cout, header, rows, 36);
  std::cout << xs->size() << " record(s)\n";
  return std::nullopt;
}

struct events_args {
  std::string resource;
  std::string record_id;
  std::string action;
  std::string actor;
  std::string from_id;
  std::string to_id;
  std::string since;
  std::string until;
  bool newest_first = false;
  uint32_t limit = 100;
};

/// Reports an event that cannot be read on stderr, in the output format.
void report_unreadable(const session& s, const common& c,
                       const unreadable_event& x) {
  if (c.fmt == format::jsonl)
    std::cerr << to_json_text(json::object{{"error", error_json(x.error)},
                                           {"event_id", x.id}})
              << '\n';
  else
    std::cerr << s.program() << ": " << render(x.error) << '\n';
}

/// Reads the events `f` selects page by page (`f.limit` at a time),
/// reporting each one that cannot be decrypted and counting it in
/// `unreadable`; `fn` gets the others in order and returns false to stop.
caf::error for_each_readable(session& s, const common& c, event_filter f,
                             uint64_t& unreadable,
                             const std::function<bool(const event&)>& fn) {
  f.skip_unreadable = true;
  for (;;) {
    auto page = s.rt().events(f);
    if (!page)
      return std::move(page.error());
    for (auto& x : page->unreadable) {
      ++unreadable;
      report_unreadable(s, c, x);
    }
    for (auto& ev : page->events)
      if (!fn(ev))
        return {};
    if (page->next_after_id.is_null())
      return {};
    f.after_id = page->next_after_id;
  }
}

/// The failure of a read that skipped `n` unreadable events.
failure unreadable_failure(uint64_t n) {
  return {exit_failed,
          make_error(errc::decryption_failed,
                     std::to_string(n) + " event(s) could not be read (each "
                     "is named above); the others were shown")};
}

std::optional<failure> cmd_events(session& s, const common& c,
                                  const events_args& a) {
  event_filter f;
  f.log = c.log;
  if (!a.resource.empty())
    f.resource = a.resource;
  if (!a.record_id.empty())
    f.record_id = json::string{a.record_id};
  if (!a.action.empty())
    f.action = a.action;
  std::string actor_type;
  if (!a.actor.empty()) {
    // TYPE:ID, like `run --actor`, or COLUMN=KEY.
    auto eq = a.actor.find('=');
    auto colon = a.actor.find(':');
    if (eq != std::string::npos && eq > 0 && eq + 1 < a.actor.size()
        && (colon == std::string::npos || eq < colon)) {
      f.actor = std::pair{a.actor.substr(0, eq),
                          json::value(json::string{a.actor.substr(eq + 1)})};
    } else if (colon != std::string::npos && colon > 0
               && colon + 1 < a.actor.size()) {
      actor_type = a.actor.substr(0, colon);
      f.actor = std::pair{std::string{},
                          json::value(json::string{a.actor.substr(colon + 1)})};
    } else {
      return usage("--actor: expected TYPE:ID (e.g. SystemActor:nightly) or "
                   "COLUMN=KEY (e.g. system_actor=nightly), got \""
                   + a.actor + "\"");
    }
  }
  if (!a.since.empty()) {
    auto t = parse_time(a.since, "--since");
    if (!t)
      return failure{exit_usage, t.error()};
    f.from_time = *t;
  }
  if (!a.until.empty()) {
    auto t = parse_time(a.until, "--until");
    if (!t)
      return failure{exit_usage, t.error()};
    f.to_time = *t;
  }
  f.descending = a.newest_first;
  if (auto fail = s.open(true, true))
    return fail;
  auto log = s.rt().definitions().find_log(c.log);
  if (c.log.empty() && !s.rt().definitions().logs().empty())
    log = &s.rt().definitions().logs().front();
  if (!log)
    return failure{exit_failed, make_error(errc::invalid_input,
                                           "no event log \"" + c.log + "\"")};
  if (!actor_type.empty()) {
    auto col = log->column_for(actor_type);
    if (!col)
      return failure{exit_failed,
                     make_error(errc::invalid_input,
                                "--actor: event log " + log->name()
                                  + " has no column for actor type "
                                  + actor_type)};
    f.actor->first = col->name;
  }
  auto id_value = [&](const std::string& x, const char* opt) {
    return event_id_arg(*log, x, opt);
  };
  if (!a.from_id.empty()) {
    auto v = id_value(a.from_id, "--from-id");
    if (!v)
      return failure{exit_usage, v.error()};
    f.from_id = std::move(*v);
  }
  if (!a.to_id.empty()) {
    auto v = id_value(a.to_id, "--to-id");
    if (!v)
      return failure{exit_usage, v.error()};
    f.to_id = std::move(*v);
  }
  // Stream page by page; `limit` 0 means all.
  std::vector<std::vector<std::string>> rows;
  uint64_t shown = 0;
  f.limit = a.limit == 0 ? 1000 : std::min<uint32_t>(a.limit, 1000);
  // An event that cannot be decrypted is reported by id; the others show.
  uint64_t unreadable = 0;
  auto err = for_each_readable(s, c, f, unreadable, [&](const event& ev) {
    if (a.limit != 0 && shown >= a.limit)
      return false;
    ++shown;
    if (c.fmt == format::jsonl)
      print_jsonl(event_json(ev));
    else
      rows.push_back(event_row(ev));
    return true;
  });
  if (err)
    return failure{exit_failed, err};
  if (c.fmt == format::table) {
    print_table(std::cout, event_header(), rows);
    std::cout << shown << " event(s)\n";
  }
  if (unreadable > 0)
    return unreadable_failure(unreadable);
  return std::nullopt;
}

std::optional<failure> cmd_history(session& s, const common& c,
                                   const std::string& resource,
                                   const std::string& id) {
  if (auto f = s.open(true, true))
    return f;
  auto res = s.rt().definitions().find_resource(resource);
  if (!res)
    return failure{exit_failed,
                   make_error(errc::unknown_resource,
                              "no resource \"" + resource + "\"")};
  json::value key;
  if (auto err = res->find_attribute(res->primary_key())
                   ->type.cast(json::string{id}, key))
    return failure{exit_failed,
                   make_error(errc::invalid_input,
                              resource + ": id: " + *err)};
  event_filter f;
  f.log = c.log;
  if (auto ev = res->events())
    f.log = ev->event_log();
  f.resource = resource;
  f.record_id = key;
  // The state after each event, folded from its data and changed
  // attributes (the attributes of the resource only).
  json::object state;
  bool exists = false;
  std::vector<std::vector<std::string>> rows;
  uint64_t count = 0;
  // An event that cannot be decrypted is reported by id; the others show
  // (the states after it lack what it changed).
  uint64_t unreadable = 0;
  auto fold = [&](const event& ev) {
    ++count;
    if (ev.action_type == action_kind::destroy && ev.data.empty()
        && ev.changed_attributes.empty()) {
      exists = false;
    } else {
      if (ev.action_type == action_kind::create && !exists)
        state = json::object{};
      for (auto* src : {&ev.data, &ev.changed_attributes})
        for (auto& kvp : *src)
          if (res->find_attribute(kvp.key()))
            state[kvp.key()] = kvp.value();
          else
            // Written before the attribute was renamed.
            for (auto& attr : res->attributes())
              if (std::find(attr.options.renamed_from.begin(),
                            attr.options.renamed_from.end(), kvp.key())
                    != attr.options.renamed_from.end()
                  && !src->contains(attr.name))
                state[attr.name] = kvp.value();
      exists = true;
    }
    json::value after = exists ? json::value(state) : json::value{};
    if (c.fmt == format::jsonl)
      print_jsonl(json::object{{"event", event_json(ev)}, {"state", after}});
    else
      rows.push_back({text(ev.id), format_timestamp(ev.occurred_at), ev.action,
                      actor_text(ev),
                      exists ? to_json_text(state) : "(destroyed)"});
    return true;
  };
  f.limit = 1000;
  if (auto err = for_each_readable(s, c, f, unreadable, fold))
    return failure{exit_failed, err};
  if (count == 0 && unreadable > 0)
    return unreadable_failure(unreadable);
  if (count == 0)
    return failure{exit_failed,
                   make_error(errc::not_found, "no events of " + resource
                                                 + " " + id)};
  if (c.fmt == format::table)
    print_table(std::cout, {"event", "occurred_at", "action", "actor",
                            "state after"},
                rows, 90);
  if (unreadable > 0)
    return unreadable_failure(unreadable);
  return std::nullopt;
}

std::optional<failure> cmd_replay(session& s, const common& c,
                                  const std::string& last_id,
                                  const std::string& point, const std::string& into) {
  replay_request req;
  req.log = c.log;
  std::string what = "everything";
  if (!last_id.empty() && !point.empty())
    return usage("give --last-event-id or --point-in-time, not both");
  if (!last_id.empty())
    what = "up to event " + last_id;
  if (!point.empty()) {
    auto t = parse_time(point, "--point-in-time");
    if (!t)
      return failure{exit_usage, t.error()};
    req.point_in_time = *t;
    what = "up to " + format_timestamp(*t);
  }
  if (!into.empty() && std::filesystem::exists(into))
    return usage("--into: " + into + " exists already; a fork is a new file");
  if (!last_id.empty() && !event_id_shaped(last_id))
    return usage("--last-event-id: expected an event id (a positive integer "
                 "or a UUID), got \"" + last_id + "\"");
  if (auto f = s.open(true, !into.empty()))
    return f;
  if (!last_id.empty()) {
    auto& defs = s.rt().definitions();
    auto log = c.log.empty() ? (defs.logs().empty() ? nullptr
                                                    : &defs.logs().front())
                             : defs.find_log(c.log);
    if (!log)
      return failure{exit_failed,
                     make_error(errc::invalid_input,
                                "no event log \"" + c.log + "\"")};
    auto id = event_id_arg(*log, last_id, "--last-event-id");
    if (!id)
      return failure{exit_usage, id.error()};
    req.last_event_id = std::move(*id);
  }
  auto progress = progress_bar();
  auto result = into.empty() ? s.rt().replay(req, progress)
                             : s.rt().fork(req, into, progress);
  if (!result)
    return failure{exit_failed, result.error()};
  if (!into.empty())
    what += " into " + into;
  print_summary(*result, c.fmt, what);
  return std::nullopt;
}

std::optional<failure> cmd_verify(session& s, const common& c,
                                  uint32_t max_differences, bool& differs) {
  if (auto f = s.open(true, true))
    return f;
  auto report = s.rt().verify(c.log, max_differences, progress_bar());
  if (!report)
    return failure{exit_failed, report.error()};
  differs = !report->ok();
  if (c.fmt == format::jsonl) {
    json::array diffs;
    for (auto& d : report->differences)
      diffs.push_back(json::object{{"resource", d.resource},
                                   {"record_id", d.record_id},
                                   {"field", d.field},
                                   {"live", d.live},
                                   {"replayed", d.replayed}});
    print_jsonl(json::object{{"ok", report->ok()},
                             {"events", report->replay.events},
                             {"records", report->records},
                             {"total_differences", report->total_differences},
                             {"differences", std::move(diffs)}});
    return std::nullopt;
  }
  std::printf("verify: replayed %llu events, compared %llu records: ",
              static_cast<unsigned long long>(report->replay.events),
              static_cast<unsigned long long>(report->records));
  if (report->ok()) {
    std::printf("no differences\n");
    return std::nullopt;
  }
  std::printf("%llu difference(s)\n",
              static_cast<unsigned long long>(report->total_differences));
  std::vector<std::vector<std::string>> rows;
  for (auto& d : report->differences)
    rows.push_back({d.resource, text(d.record_id),
                    d.field.empty() ? "(record)" : d.field, text(d.live),
                    text(d.replayed)});
  print_table(std::cout, {"resource", "record_id", "field", "live",
                          "replayed"},
              rows);
  return std::nullopt;
}

std::optional<failure> cmd_stats(session& s, const common& c) {
  if (auto f = s.open(true, true))
    return f;
  auto st = s.rt().stats(c.log);
  if (!st)
    return failure{exit_failed, st.error()};
  if (c.fmt == format::jsonl) {
    auto pairs = [](const std::vector<std::pair<std::string, uint64_t>>& xs) {
      json::object o;
      for (auto& [k, v] : xs)
        o[k] = v;
      return o;
    };
    print_jsonl(json::object{{"events", st->events},
                             {"per_action", pairs(st->per_action)},
                             {"per_actor", pairs(st->per_actor)},
                             {"per_day", pairs(st->per_day)},
                             {"file_bytes", st->file_bytes}});
    return std::nullopt;
  }
  std::printf("%llu events, file size %llu bytes\n\n",
              static_cast<unsigned long long>(st->events),
              static_cast<unsigned long long>(st->file_bytes));
  auto table = [](const char* what,
                  const std::vector<std::pair<std::string, uint64_t>>& xs) {
    std::vector<std::vector<std::string>> rows;
    for (auto& [k, v] : xs)
      rows.push_back({k, std::to_string(v)});
    print_table(std::cout, {what, "events"}, rows);
    std::cout << '\n';
  };
  table("action", st->per_action);
  table("actor", st->per_actor);
  table("day", st->per_day);
  return std::nullopt;
}

// -- the demo --------------------------------------------------------------------------

void heading(const std::string& title) {
  std::cout << "\n== " << title << " ==\n";
}

void show_users(runtime& rt) {
  auto users = rt.list("Accounts.User");
  std::vector<std::vector<std::string>> rows;
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
  // The quickstart app, with its outbox next to the database.
  auto doc = parse_json(quickstart_app_json, "the quickstart app");
  if (!doc)
    return failure{exit_failed, doc.error()};
  redirect_outbox(*doc, outbox);
  // Written next to the database, so that the other commands can inspect
  // it: eventactors events --app <db>.app.json --db <db>.
  auto app_file = std::filesystem::absolute(db + ".app.json").string();
  {
    std::ofstream out{app_file};
    out << to_json_text(*doc) << '\n';
  }
  auto defs = load_app(*doc);
  if (!defs)
    return failure{exit_failed, defs.error()};
  runtime_options ro;
  ro.path = db;
  auto rt = runtime::start(std::move(*defs), std::move(ro));
  if (!rt)
    return failure{exit_failed, rt.error()};
  auto must = [&](call c) -> caf::expected<record> { return (*rt)->run(c); };
  std::cout << "eventactors demo: the quickstart app on " << db << "\n";
  heading("1. users sign up; a welcome email goes out through another "
          "resource");
  call jane{"Accounts.User", "create",
            {{"email", "jane@example.com"}, {"name", "Jane Doe"}}};
  jane.actor = actor{"SystemActor", "signup-form"};
  jane.metadata = {{"source", "web"}, {"request_id", "req-1001"}};
  auto j = must(jane);
  if (!j)
    return failure{exit_failed, j.error()};
  call bob{"Accounts.User", "create",
           {{"email", "bob@example.com"}, {"name", "Bob Stone"}}};
  bob.actor = actor{"SystemActor", "admin-import"};
  bob.metadata = {{"source", "csv import"}, {"batch", 7}};
  auto b = must(bob);
  if (!b)
    return failure{exit_failed, b.error()};
  // The cut: the newest event so far (the signups and their emails).
  auto cut = (*rt)->events({.descending = true, .limit = 1});
  auto cut_time = cut && !cut->events.empty() ? cut->events[0].occurred_at
                                              : now_utc();
  show_users(**rt);
  heading("2. Jane renames herself; an operator suspends Bob");
  call rename{"Accounts.User", "update", {{"name", "Jane Smith"}}};
  rename.record_id = j->id;
  rename.actor = actor{"Accounts.User", j->id};
  rename.metadata = {{"source", "profile page"}};
  if (auto r = must(rename); !r)
    return failure{exit_failed, r.error()};
  call suspend{"Accounts.User", "set_status", {{"status", "suspended"}}};
  suspend.record_id = b->id;
  suspend.actor = actor{"SystemActor", "operator"};
  suspend.metadata = {{"reason", "chargeback"}};
  if (auto r = must(suspend); !r)
    return failure{exit_failed, r.error()};
  auto bad = (*rt)->run(call{"Accounts.User", "create",
                             {{"email", "JANE@example.com"}}});
  std::cout << "a second signup with Jane's email is refused: "
            << (bad ? std::string{"accepted?!"} : render(bad.error()))
            << '\n';
  show_users(**rt);
  heading("3. the event log");
  std::vector<std::vector<std::string>> rows;
  (void) (*rt)->for_each_event({}, [&](const event& ev) {
    rows.push_back(event_row(ev));
    return true;
  });
  print_table(std::cout, event_header(), rows, 40);
  heading("4. emails sent (the outbox, a side effect after the commit)");
  auto sent = read_all(outbox);
  std::cout << sent;
  heading("5. replay to " + format_timestamp(cut_time)
          + " (after the signups)");
  auto r1 = (*rt)->replay({.point_in_time = cut_time});
  if (!r1)
    return failure{exit_failed, r1.error()};
  std::cout << "replayed " << r1->events << " events\n";
  show_users(**rt);
  heading("6. replay everything: back to now");
  auto r2 = (*rt)->replay();
  if (!r2)
    return failure{exit_failed, r2.error()};
  std::cout << "replayed " << r2->events << " events\n";
  show_users(**rt);
  heading("7. the emails were not sent again");
  auto after = read_all(outbox);
  std::cout << after;
  auto lines = [](const std::string& s) {
    return std::count(s.begin(), s.end(), '\n');
  };
  std::cout << lines(after) << " email(s) in the outbox, as before the "
            << "replays (" << lines(sent) << ")\n";
  auto report = (*rt)->verify();
  if (!report)
    return failure{exit_failed, report.error()};
  std::cout << "verify: "
            << (report->ok() ? "the log rebuilds every record exactly"
                             : "DIFFERENCES FOUND")
            << '\n';
  std::cout << "\ninspect it: eventactors events --app " << app_file
            << " --db " << db << '\n';
  if (lines(after) != lines(sent) || !report->ok())
    return failure{exit_failed,
                   make_error(errc::replay_failed, "the demo's checks failed")};
  return std::nullopt;
}

} // namespace

int run(int argc, char** argv, options opts) {
  CLI::App cli{"Event-sourced resources on a SQLite event log: run actions, "
               "inspect the log, replay, verify.",
               opts.name};
  cli.require_subcommand(1);
  cli.fallthrough();
  common c;
  cli.add_option("--app", c.app_path,
                 opts.definitions ? "An app definition (JSON) to use instead "
                                    "of the built-in one"
                                  : "The app definition (JSON)")
    ->check(CLI::ExistingFile);
  cli.add_option("--db", c.db_path, "The SQLite database file");
  cli.add_option("--log", c.log, "The event log (default: the first)");
  cli.add_option("--config", c.config_path,
                 "Runtime settings, an INI file like config/eventactors.ini "
                 "(--db overrides its path)")
    ->check(CLI::ExistingFile);
  cli.add_option("--format", c.fmt_name, "Output: table (default) or jsonl")
    ->check(CLI::IsMember({"table", "jsonl"}));

  std::optional<failure> outcome;
  bool soft_failure = false;
  session sess{opts, c};
  // Each subcommand's work, run after parsing (when every option is set).
  std::vector<std::pair<CLI::App*, std::function<void()>>> dispatch;

  std::string demo_db;
  auto demo = cli.add_subcommand(
    "demo", "Run the quickstart scenario on a new database file, replay it "
            "to a point in time and back");
  demo->add_option("--db", demo_db, "The new database file (default: a "
                                    "fresh temp directory)");
  dispatch.emplace_back(demo, [&] {
    outcome = cmd_demo(demo_db.empty() ? c.db_path : demo_db);
  });

  std::string resource;
  std::string action;
  std::string input;
  std::string id;
  std::string who;
  std::string metadata;
  auto run_cmd = cli.add_subcommand("run", "Run one action; print the "
                                           "resulting record");
  run_cmd->add_option("resource", resource, "Resource, e.g. Accounts.User")
    ->required();
  run_cmd->add_option("action", action, "Action, e.g. create")->required();
  run_cmd->add_option("input", input, "Input as a JSON object");
  run_cmd->add_option("--id", id, "Record id (updates and destroys)");
  run_cmd->add_option("--actor", who, "Actor as TYPE:ID");
  run_cmd->add_option("--metadata", metadata, "Metadata as a JSON object");
  dispatch.emplace_back(run_cmd, [&] {
    outcome = cmd_run(sess, c, resource, action, input, id, who, metadata);
  });

  auto batch = cli.add_subcommand(
    "batch", "Run actions given as JSON lines on stdin (resource, action, "
             "input, id, actor, metadata); one result line each");
  dispatch.emplace_back(batch, [&] { outcome = cmd_batch(sess, c, soft_failure); });

  auto get = cli.add_subcommand("get", "Print one record");
  get->add_option("resource", resource, "Resource")->required();
  get->add_option("id", id, "Record id")->required();
  dispatch.emplace_back(get, [&] { outcome = cmd_get(sess, c, resource, id); });

  uint32_t limit = 1000;
  uint64_t offset = 0;
  auto list = cli.add_subcommand("list", "List records of a resource");
  list->add_option("resource", resource, "Resource")->required();
  list->add_option("--limit", limit, "At most this many (default 1000)")
    ->check(CLI::Range(1u, 100000u));
  list->add_option("--offset", offset, "Skip this many")->check(count_arg());
  dispatch.emplace_back(list, [&] { outcome = cmd_list(sess, c, resource, limit, offset); });

  events_args ea;
  auto events = cli.add_subcommand("events", "Print the event log, oldest "
                                             "first, filtered");
  events->add_option("--resource", ea.resource, "Only this resource");
  events->add_option("--record-id", ea.record_id, "Only this record");
  events->add_option("--action", ea.action, "Only this action");
  events->add_option("--actor", ea.actor, "Only this actor, as COLUMN=KEY");
  events->add_option("--from-id", ea.from_id, "Events with id >= this");
  events->add_option("--to-id", ea.to_id, "Events with id <= this");
  events->add_option("--since", ea.since, "occurred_at >= this (ISO 8601)");
  events->add_option("--until", ea.until, "occurred_at <= this (ISO 8601)");
  events->add_flag("--newest-first", ea.newest_first, "Newest first");
  events->add_option("--limit", ea.limit,
                     "At most this many (default 100; 0: all)")
    ->check(count_arg());
  dispatch.emplace_back(events, [&] { outcome = cmd_events(sess, c, ea); });

  auto history = cli.add_subcommand(
    "history", "One record's events and its state after each");
  history->add_option("resource", resource, "Resource")->required();
  history->add_option("id", id, "Record id")->required();
  dispatch.emplace_back(history, [&] { outcome = cmd_history(sess, c, resource, id); });

  std::string last_id;
  std::string point;
  std::string into;
  auto replay = cli.add_subcommand(
    "replay", "Rebuild the records from the event log (all, or up to a cut), "
              "in one transaction");
  replay->add_option("--last-event-id", last_id,
                     "Up to and including this event id");
  replay->add_option("--point-in-time", point,
                     "Up to and including this time (ISO 8601)");
  replay->add_option("--into", into,
                     "Replay into this new database file (a fork) instead");
  dispatch.emplace_back(replay, [&] { outcome = cmd_replay(sess, c, last_id, point, into); });

  uint32_t max_differences = 100;
  auto verify = cli.add_subcommand(
    "verify", "Replay into a scratch copy and compare it with the live "
              "records");
  verify->add_option("--max-differences", max_differences,
                     "List at most this many differences (default 100)")
    ->check(count_arg());
  dispatch.emplace_back(
    verify, [&] { outcome = cmd_verify(sess, c, max_differences, soft_failure); });

  auto stats = cli.add_subcommand("stats", "Events per action, actor and "
                                           "day; file size");
  dispatch.emplace_back(stats, [&] { outcome = cmd_stats(sess, c); });

  // Before CLI11 parses: errors of the parse itself honour --format, and an
  // unknown subcommand is named.
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    if (arg == "--format" && i + 1 < argc)
      c.fmt_name = argv[i + 1];
    else if (arg.starts_with("--format="))
      c.fmt_name = std::string{arg.substr(9)};
  }
  c.fmt = c.fmt_name == "jsonl" ? format::jsonl : format::table;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    if (arg == "--app" || arg == "--db" || arg == "--log"
        || arg == "--format" || arg == "--config") {
      ++i; // skip the value
      continue;
    }
    if (arg.starts_with("-"))
      continue;
    bool known = false;
    for (auto* sub : cli.get_subcommands({}))
      known = known || sub->get_name() == arg;
    if (!known)
      return report(opts.name, c.fmt,
                    usage("unknown subcommand \"" + std::string{arg}
                          + "\" (see " + opts.name + " --help)"));
    break;
  }
  for (auto* sub : cli.get_subcommands({}))
    sub->footer("Global options (before or after the subcommand): --app "
                "APP.json, --db PATH, --config FILE, --log NAME, --format "
                "table|jsonl.");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    c.fmt = c.fmt_name == "jsonl" ? format::jsonl : format::table;
    if (e.get_exit_code() == 0)
      return cli.exit(e);
    return report(opts.name, c.fmt,
                  usage(std::string{e.what()} + " (see " + opts.name
                        + " --help)"));
  }
  c.fmt = c.fmt_name == "jsonl" ? format::jsonl : format::table;
  for (auto& [sub, fn] : dispatch)
    if (sub->parsed())
      fn();
  if (outcome)
    return report(opts.name, c.fmt, *outcome);
  return soft_failure ? exit_failed : exit_ok;
}

} // namespace eventactors::cli
