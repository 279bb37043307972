// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// What the command line prints: exit codes and errors, tables and JSON
// lines, records and events. Every command prints through these, so that
// the two output formats stay alike across commands.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "eventactors/error.hpp"
#include "eventactors/fwd.hpp"
#include "eventactors/json.hpp"

namespace eventactors::cli {

// -- exit codes and errors ----------------------------------------------------

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

enum class format { table, jsonl };

/// The format named `name` on the command line: `jsonl`, else `table`.
format format_named(const std::string& name);

/// A failure with the exit code it leads to.
struct failure {
  int code;
  caf::error err;
};

/// A usage error: exit code 2.
failure usage(std::string msg);

/// An error as JSON: its code, message and field errors.
json::object error_json(const caf::error& err);

/// Prints `err` on stderr: `prog: error` as one line, or in jsonl mode a
/// JSON object `{"error": ...}` followed by the members of `extra`.
void print_error(const std::string& prog, format fmt, const caf::error& err,
                 const json::object& extra = {});

/// Reports a failure with `print_error` and returns its exit code.
int report(const std::string& prog, format fmt, const failure& f);

// -- text ---------------------------------------------------------------------

/// A JSON value as a table cell: strings unquoted, null as `-`.
std::string text(const json::value& x);

/// Escapes the control characters of `s` (`\n`, `\t`, `\r`, `\x1b`, ...),
/// so that a value holding them keeps a table's lines and columns intact
/// and cannot send terminal commands.
std::string printable(const std::string& s);

/// Cuts `s` to `width` characters (UTF-8 aware enough for display).
std::string clip(std::string s, size_t width);

// -- tables and JSON lines ----------------------------------------------------

using table_rows = std::vector<std::vector<std::string>>;

/// Prints rows as an aligned table with a header line.
void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const table_rows& rows, size_t max_width = 48);

/// Prints `x` as one line of JSON on stdout.
void print_jsonl(const json::value& x);

/// Counts per name as table rows: the name, then the count.
template <class Pairs>
table_rows count_rows(const Pairs& xs) {
  table_rows rows;
  for (auto& [k, v] : xs)
    rows.push_back({k, std::to_string(v)});
  return rows;
}

/// Counts per name as a JSON object.
template <class Pairs>
json::object count_json(const Pairs& xs) {
  json::object o;
  for (auto& [k, v] : xs)
    o[k] = v;
  return o;
}

// -- records and events -------------------------------------------------------

json::object record_json(const record& r);

/// Prints a record: its fields as a table, or one JSON line.
void print_record(const record& r, format fmt);

json::object event_json(const event& ev);

/// The first actor of an event as `column=key`, or `-`.
std::string actor_text(const event& ev);

/// An event as a row under `event_header()`.
std::vector<std::string> event_row(const event& ev);

const std::vector<std::string>& event_header();

} // namespace eventactors::cli
