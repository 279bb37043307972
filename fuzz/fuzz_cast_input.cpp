// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Fuzz target: action input (and metadata, actor, record id) cast against a
// resource definition, through the path a real call takes.
//
// One runtime of the fixed app (support.hpp) runs for the whole session on
// a scratch file; every input becomes a `call` (or a `batch_call`) run with
// `runtime::run` / `run_batch`: the resource actor casts the input against
// the action's accepted attributes and arguments, applies defaults, changes
// and validations, manages related records, checks identities, and the
// event log actor writes the record and its event. What succeeds is read
// back: the stored record must equal the returned one, and its events must
// be readable. Every few thousand writes the runtime restarts on a fresh
// file, so the database stays small.
//
// Input format:
//
//   byte 0        selector: bits 0-3 pick the action (support.cpp,
//                 `fuzz_actions`), bits 4-6 the actor (none, Shop.Customer,
//                 SystemActor, Operator, Robot, an unknown type, an empty
//                 type, none), bit 7 makes a batch atomic
//   bytes 1..     up to four JSON texts separated by NUL bytes: the input
//                 (an object: one call; an array of objects: a batch), the
//                 metadata, the actor's id, the record id. Parsed like the
//                 CLI parses them (`eventactors::parse_json`: comments and
//                 trailing commas allowed). Missing parts take defaults:
//                 `{}`, `{}`, a valid id for the actor type, and a freshly
//                 created base record for updates and destroys.
//
// Findings (abort): sanitizer reports, a call that times out, a successful
// action whose record reads back differently or whose events cannot be
// read.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/serialize.hpp>

#include "support.hpp"

using namespace eventactors;
using namespace eventactors::fuzz;

namespace {

struct session {
  std::string path;
  std::unique_ptr<runtime> rt;
  uint64_t writes = 0;
  uint64_t counter = 0;
  uint64_t reset_after = 20'000;
  /// Outcomes per error code (0: success), printed at exit.
  std::map<std::string, uint64_t> outcomes;
  bool print_outcomes = false;
  /// EVENTACTORS_FUZZ_VERBOSE=1: print every outcome.
  bool verbose = false;
};

session* self = nullptr;

void restart() {
  if (self->rt) {
    self->rt.reset();
    remove_db(self->path);
  }
  self->path = scratch_file("cast");
  self->rt = start_or_die(self->path, fuzz_options(self->path));
  self->writes = 0;
}

void at_exit() {
  if (!self)
    return;
  if (self->print_outcomes) {
    std::fprintf(stderr, "fuzz_cast_input outcomes:\n");
    for (auto& [what, n] : self->outcomes)
      std::fprintf(stderr, "  %-28s %llu\n", what.c_str(),
                   static_cast<unsigned long long>(n));
  }
  // The runtime is left running: CAF 0.17 crashes when an actor system is
  // destroyed during exit (static destruction). `self` is never deleted, so
  // the runtime stays reachable and LeakSanitizer does not report it.
  remove_db(self->path);
}

void count(const caf::error& err) {
  if (self->verbose)
    std::fprintf(stderr, "outcome: %s\n",
                 err ? render(err).c_str() : "ok");
  if (!err) {
    ++self->outcomes["ok"];
    return;
  }
  if (err.category() == caf::atom("evact"))
    ++self->outcomes[to_string(static_cast<errc>(err.code()))];
  else
    ++self->outcomes["other: " + render(err)];
}

const char* log_of(std::string_view resource) {
  if (resource == "Shop.Order")
    return "events_v7";
  if (resource == "Shop.Tag")
    return "events_str";
  return "events";
}

std::optional<actor> make_actor(unsigned kind, const json::value* id) {
  auto with = [&](const char* type, json::value fallback) {
    return actor{type, id ? *id : std::move(fallback)};
  };
  switch (kind) {
    case 1:
      return with("Shop.Customer",
                  json::string{"0190a5c4-1c7e-4f3a-9b1e-5d2f7c8e9a01"});
    case 2:
      return with("SystemActor", json::string{"fuzzer"});
    case 3:
      return with("Operator", 7);
    case 4:
      return with("Robot", json::string{"r2"});
    case 5:
      return with("Ghost", json::string{"boo"});
    case 6:
      return with("", 1);
    default:
      return std::nullopt;
  }
}

/// Splits at NUL bytes into at most `n` parts.
std::vector<std::string_view> split(std::string_view text, size_t n) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < n) {
    auto pos = text.find('\0');
    if (pos == std::string_view::npos)
      break;
    parts.push_back(text.substr(0, pos));
    text.remove_prefix(pos + 1);
  }
  parts.push_back(text);
  return parts;
}

/// Creates a base record for an update or destroy; returns its id.
json::value base_record(std::string_view resource) {
  auto in = base_input(resource, ++self->counter);
  auto rec = self->rt->run(std::string{resource}, "create", std::move(in));
  if (!rec)
    finding("creating a base record of " + std::string{resource}
            + " failed: " + describe(rec.error()));
  ++self->writes;
  return rec->id;
}

/// Checks what a successful action left behind.
void check_success(const call& c, bool hard_destroy, const record& rec) {
  auto& rt = *self->rt;
  auto stored = rt.get(c.resource, rec.id);
  if (hard_destroy) {
    if (stored || !is(stored.error(), errc::not_found))
      finding(c.resource + "." + c.action + ": the destroyed record "
              + json::serialize(rec.id) + " still reads back");
  } else if (!stored) {
    finding(c.resource + "." + c.action + ": record "
            + json::serialize(rec.id)
            + " does not read back: " + describe(stored.error()));
  } else if (!same_json(stored->values, rec.values)) {
    finding(c.resource + "." + c.action + ": the stored record differs "
            "from the returned one:\n  returned "
            + json::serialize(rec.values) + "\n  stored   "
            + json::serialize(stored->values));
  }
  if (rec.event_id.is_null())
    return;
  event_filter f;
  f.log = log_of(c.resource);
  f.from_id = rec.event_id;
  f.limit = 50;
  auto page = rt.events(f);
  if (!page)
    finding(c.resource + "." + c.action + ": event "
            + json::serialize(rec.event_id)
            + " cannot be read back: " + describe(page.error()));
  if (page->events.empty() || page->events.front().id != rec.event_id)
    finding(c.resource + "." + c.action + ": event "
            + json::serialize(rec.event_id) + " is missing");
  for (auto& ev : page->events)
    (void) rt.public_view(ev);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  self = new session;
  self->reset_after = env_number("EVENTACTORS_FUZZ_RESET_WRITES", 20'000);
  self->print_outcomes = env_number("EVENTACTORS_FUZZ_STATS", 0) != 0;
  self->verbose = env_number("EVENTACTORS_FUZZ_VERBOSE", 0) != 0;
  restart();
  std::atexit(at_exit);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  auto selector = data[0];
  auto& act = fuzz_actions[(selector & 0x0f) % num_actions];
  auto actor_kind = (selector >> 4) & 0x07u;
  bool atomic = (selector & 0x80) != 0;
  auto parts = split(std::string_view{reinterpret_cast<const char*>(data + 1),
                                      size - 1},
                     4);
  // Parse the parts like the CLI does; text that does not parse is not an
  // action call, so stop there.
  std::vector<json::value> docs;
  for (auto part : parts) {
    auto doc = parse_json(part, "fuzz input");
    if (!doc)
      return 0;
    docs.push_back(std::move(*doc));
  }
  auto& input = docs[0];
  json::object metadata;
  if (docs.size() > 1) {
    if (!docs[1].is_object())
      return 0;
    metadata = docs[1].get_object();
  }
  auto who = make_actor(actor_kind, docs.size() > 2 ? &docs[2] : nullptr);
  json::value record_id;
  if (docs.size() > 3)
    record_id = docs[3];
  else if (act.needs_record)
    record_id = base_record(act.resource);
  bool hard_destroy = std::string_view{act.action} == "destroy";
  auto& rt = *self->rt;
  if (input.is_object()) {
    call c{act.resource, act.action, input.get_object(), record_id};
    c.actor = who;
    c.metadata = std::move(metadata);
    auto rec = rt.run(c);
    count(rec ? caf::error{} : rec.error());
    if (!rec) {
      if (is_timeout(rec.error()))
        finding(c.resource + "." + c.action + " timed out: "
                + describe(rec.error()));
    } else {
      ++self->writes;
      check_success(c, hard_destroy, *rec);
    }
  } else if (input.is_array() && input.get_array().size() <= 64) {
    batch_call b{act.resource, act.action};
    for (auto& x : input.get_array()) {
      if (!x.is_object())
        return 0;
      b.items.push_back(batch_item{x.get_object(), record_id});
    }
    b.actor = who;
    b.metadata = std::move(metadata);
    b.atomic = atomic;
    auto results = rt.run_batch(b);
    if (results.size() != b.items.size())
      finding("run_batch returned " + std::to_string(results.size())
              + " results for " + std::to_string(b.items.size()) + " items");
    for (auto& res : results) {
      count(res ? caf::error{} : res.error());
      if (!res) {
        if (is_timeout(res.error()))
          finding(b.resource + "." + b.action + " (batch) timed out: "
                  + describe(res.error()));
        continue;
      }
      ++self->writes;
      call c{b.resource, b.action};
      // An item after a hard destroy of the same record fails; a record
      // the batch destroyed must be gone, one it wrote must read back
      // like the last write returned it, which only the last item of a
      // record is sure to match: check the last result only.
      if (&res == &results.back())
        check_success(c, hard_destroy, *res);
    }
  }
  if (self->writes >= self->reset_after)
    restart();
  return 0;
}
