// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "output.hpp"

#include <algorithm>
#include <iostream>

#include "eventactors/event.hpp"
#include "eventactors/record.hpp"
#include "eventactors/time.hpp"

namespace eventactors::cli {

// -- exit codes and errors ----------------------------------------------------

format format_named(const std::string& name) {
  return name == "jsonl" ? format::jsonl : format::table;
}

failure usage(std::string msg) {
  return {exit_usage, make_error(errc::invalid_input, std::move(msg))};
}

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

void print_error(const std::string& prog, format fmt, const caf::error& err,
                 const json::object& extra) {
  if (fmt == format::jsonl) {
    json::object o{{"error", error_json(err)}};
    for (auto& kvp : extra)
      o[kvp.key()] = kvp.value();
    std::cerr << to_json_text(o) << '\n';
  } else {
    std::cerr << prog << ": " << render(err) << '\n';
  }
}

int report(const std::string& prog, format fmt, const failure& f) {
  print_error(prog, fmt, f.err);
  return f.code;
}

// -- text ---------------------------------------------------------------------

std::string text(const json::value& x) {
  if (x.is_string())
    return std::string{x.get_string()};
  if (x.is_null())
    return "-";
  return to_json_text(x);
}

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

std::string clip(std::string s, size_t width) {
  if (s.size() <= width)
    return s;
  size_t cut = width - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
    --cut;
  return s.substr(0, cut) + "...";
}

// -- tables and JSON lines ----------------------------------------------------

namespace {

size_t display_width(const std::string& s) {
  size_t n = 0;
  for (auto c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80)
      ++n;
  return n;
}

} // namespace

void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const table_rows& rows, size_t max_width) {
  std::vector<size_t> widths(header.size());
  for (size_t i = 0; i < header.size(); ++i)
    widths[i] = display_width(header[i]);
  table_rows cells;
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

// -- records and events -------------------------------------------------------

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
  table_rows rows;
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

} // namespace eventactors::cli
