// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// run and batch: running actions.

#include "commands.hpp"

#include <unistd.h>

#include <iostream>

#include "eventactors/runtime.hpp"

#include "args.hpp"
#include "line_reader.hpp"

namespace eventactors::cli {

std::optional<failure> cmd_run(session& s, const common& c,
                               const run_args& a) {
  call call;
  call.resource = a.resource;
  call.action = a.action;
  if (!a.input.empty()) {
    auto in = parse_object(a.input, "INPUT_JSON");
    if (!in)
      return failure{exit_usage, in.error()};
    call.input = std::move(*in);
  }
  if (!a.metadata.empty()) {
    auto md = parse_object(a.metadata, "--metadata");
    if (!md)
      return failure{exit_usage, md.error()};
    call.metadata = std::move(*md);
  }
  if (!a.actor.empty()) {
    auto who = parse_actor(a.actor);
    if (!who)
      return failure{exit_usage, who.error()};
    call.actor = std::move(*who);
  }
  if (!a.id.empty())
    call.record_id = json::string{a.id};
  call.idempotency_key = a.idempotency_key;
  if (auto f = s.open(false))
    return f;
  auto rec = s.svc().run(std::move(call));
  if (!rec)
    return failure{exit_failed, rec.error()};
  print_record(*rec, c.fmt);
  return std::nullopt;
}

// -- batch --------------------------------------------------------------------

namespace {

/// Room on a batch line for what surrounds its input and metadata (the
/// resource, action, id and actor), beyond `max_input_bytes`.
constexpr std::size_t batch_line_slack = 64 * 1024;

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

/// Reads the member `key` of a batch line into `x`; returns what is wrong
/// with it, or nothing.
std::string read_member(call& x, json::string_view key, const json::value& v) {
  if (key == "resource" && v.is_string()) {
    x.resource = std::string{v.get_string()};
  } else if (key == "action" && v.is_string()) {
    x.action = std::string{v.get_string()};
  } else if (key == "input" && v.is_object()) {
    x.input = v.get_object();
  } else if (key == "id") {
    x.record_id = v;
  } else if (key == "metadata" && v.is_object()) {
    x.metadata = v.get_object();
  } else if (key == "actor" && v.is_string()) {
    auto a = parse_actor(std::string{v.get_string()});
    if (!a)
      return message(a.error());
    x.actor = *a;
  } else if (key == "actor" && v.is_object()
             && v.get_object().contains("type")
             && v.get_object().at("type").is_string()) {
    x.actor = actor{std::string{v.get_object().at("type").get_string()},
                    v.get_object().contains("id") ? v.get_object().at("id")
                                                  : json::value{}};
  } else if (key == "actor" && v.is_null()) {
    // no actor
  } else if (key == "idempotency_key" && v.is_string()) {
    x.idempotency_key = std::string{v.get_string()};
  } else if (key == "resource" || key == "action" || key == "input"
             || key == "metadata" || key == "actor"
             || key == "idempotency_key") {
    auto want = key == "input" || key == "metadata" ? "an object"
                : key == "actor" ? "a string TYPE:ID or an object "
                                   "{\"type\", \"id\"}"
                                 : "a string";
    return key == "actor" && v.is_object()
             ? std::string{"\"actor\" needs a string \"type\" (and "
                           "an \"id\")"}
             : "\"" + std::string{key} + "\" must be " + want + ", got "
                 + json_kind(v);
  } else {
    return "unexpected \"" + std::string{key}
           + "\" (keys: resource, action, input, id, actor, metadata, "
             "idempotency_key; input and metadata are objects)";
  }
  return {};
}

/// The call that batch line `n` describes; an error names the line and the
/// first thing wrong with it.
caf::expected<call> batch_call(const json::object& o, size_t n) {
  call x;
  std::string problem;
  for (auto& kvp : o) {
    problem = read_member(x, kvp.key(), kvp.value());
    if (!problem.empty())
      break;
  }
  if (problem.empty() && (x.resource.empty() || x.action.empty()))
    problem = "\"resource\" and \"action\" are required";
  if (!problem.empty())
    return make_error(errc::invalid_input,
                      "line " + std::to_string(n) + ": " + problem);
  return x;
}

/// Prints the result of batch line `n` as one line.
void print_result(size_t n, const caf::expected<record>& r, format fmt) {
  if (fmt == format::jsonl) {
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
    std::cout << "line " << n << ": error: " << render(r.error()) << '\n';
  }
  std::cout.flush();
}

} // namespace

std::optional<failure> cmd_batch(session& s, const common& c,
                                 bool& any_failed) {
  if (auto f = s.open(false))
    return f;
  // The limit holds while reading: a line longer than any valid call is
  // skipped without being kept in memory.
  auto max_line = s.max_input_bytes() + batch_line_slack;
  line_reader in{STDIN_FILENO, max_line};
  std::string line;
  size_t n = 0;
  auto reply = [&](caf::expected<record> r) {
    if (!r)
      any_failed = true;
    print_result(n, r, c.fmt);
  };
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
    auto x = batch_call(*obj, n);
    if (!x) {
      reply(x.error());
      continue;
    }
    reply(s.svc().run(std::move(*x)));
  }
  return std::nullopt;
}

} // namespace eventactors::cli
