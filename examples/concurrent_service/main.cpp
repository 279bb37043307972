// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// A concurrent service: many caller actors, one event log, no lost updates.
//
// 32 caller actors use the asynchronous interface (`actions(rt)`, CAF
// request/then). Each creates a counter of its own, then fires all its
// increments at once, without waiting for replies: 25 on its own counter
// and 25 on the shared counter `hits`. Calls on one record are applied one
// after another; calls on different records run in parallel and share
// commits. At the end every increment is accounted for: each counter holds
// exactly the number of increments sent to it, the log holds exactly one
// event per action, the shared counter's events count 1, 2, 3, ... in
// order, and `verify` rebuilds the same records from the log.
//
// Usage: eventactors_example_concurrent_service [DATABASE]

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "eventactors/all.hpp"

using namespace eventactors;

namespace {

constexpr int callers = 32;
constexpr int per_record = 25; // increments per caller on each counter
constexpr auto timeout = std::chrono::seconds{60};

int fail(const std::string& what) {
  std::cerr << "error: " << what << '\n';
  return 1;
}

app make_app() {
  app a;
  a.add(event_log{"events"})
    .record_id_type(record_id_kind::string)
    .persist_actor_primary_key("caller", "Caller",
                               {.type = actor_key_kind::string});
  auto& counter = a.add(resource{"Stats.Counter"});
  counter.primary_key("id", key_kind::string)
    .attribute("value", types::integer(),
               {.allow_nil = false, .default_value = 0});
  counter.events("events");
  counter.create("create").accept({"id"});
  counter.update("increment").change(changes::increment("value"));
  return a;
}

json::string caller_name(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "caller-%02d", i);
  return buf;
}

// --(rst-caller-begin)--
// One caller: creates its counter, then sends all its increments at once
// and reports to `parent` when every reply arrived (or on the first error).
void caller(caf::event_based_actor* self, action_actor service, int index,
            caf::actor parent) {
  auto me = caller_name(index);
  call create{"Stats.Counter", "create", {{"id", me}}};
  create.actor = actor{"Caller", me};
  auto on_error = [self, parent, me](caf::error& err) {
    self->send(parent, std::string{me} + ": " + render(err));
    self->quit();
  };
  self->request(service, timeout, run_atom_v, create)
    .then(
      [=](const record&) {
        auto pending = std::make_shared<int>(2 * per_record);
        for (int i = 0; i < per_record; ++i)
          for (auto target : {json::string{"hits"}, me}) {
            call inc{"Stats.Counter", "increment", {}, target};
            inc.actor = actor{"Caller", me};
            self->request(service, timeout, run_atom_v, inc)
              .then(
                [=](const record&) {
                  if (--*pending == 0) {
                    self->send(parent, caf::ok_atom_v, index);
                    self->quit();
                  }
                },
                on_error);
          }
      },
      on_error);
}
// --(rst-caller-end)--

} // namespace

int main(int argc, char** argv) {
  std::string db = argc > 1 ? argv[1] : "concurrent_service.db";
  for (auto suffix : {"", "-wal", "-shm"})
    std::remove((db + suffix).c_str());
  auto rt = runtime::start(make_app(), {.path = db});
  if (!rt)
    return fail("cannot start: " + render(rt.error()));
  auto& service = **rt;
  if (auto hits = service.run("Stats.Counter", "create", {{"id", "hits"}});
      !hits)
    return fail("create hits: " + render(hits.error()));

  // --(rst-spawn-begin)--
  auto& sys = service.system();
  caf::scoped_actor self{sys};
  for (int i = 0; i < callers; ++i)
    sys.spawn(caller, actions(service), i, caf::actor{self});
  int done = 0;
  std::string first_error;
  for (int i = 0; i < callers; ++i)
    self->receive([&](caf::ok_atom, int) { ++done; },
                  [&](std::string& what) { first_error = std::move(what); },
                  caf::after(2 * timeout) >> [&] { first_error = "timeout"; });
  // --(rst-spawn-end)--
  if (!first_error.empty())
    return fail(first_error);
  std::cout << done << " callers sent " << callers * (1 + 2 * per_record)
            << " actions concurrently\n";

  // Every counter holds exactly the increments sent to it.
  auto hits = service.get("Stats.Counter", "hits");
  if (!hits || hits->get("value") != callers * per_record)
    return fail("hits lost updates");
  std::cout << "hits = " << hits->get("value").as_int64() << " (expected "
            << callers * per_record << ")\n";
  for (int i = 0; i < callers; ++i) {
    auto own = service.get("Stats.Counter", caller_name(i));
    if (!own || own->get("value") != per_record)
      return fail(std::string{caller_name(i)} + " lost updates");
  }
  std::cout << "each of the " << callers << " caller counters = "
            << per_record << '\n';

  // One event per action; the shared counter's events in commit order
  // carry the values 1, 2, 3, ...: every increment saw the one before.
  int64_t events = 0, in_order = 0;
  auto err = service.for_each_event({}, [&](const event& ev) {
    ++events;
    auto value = ev.changed_attributes.if_contains("value");
    if (ev.record_id == "hits" && value && *value == in_order + 1)
      ++in_order;
    return true;
  });
  if (err)
    return fail("reading events: " + render(err));
  int64_t expected = 1 + callers + 2 * callers * per_record;
  std::cout << "events = " << events << " (expected " << expected << ")\n"
            << "hits increments in order = " << in_order << '\n';
  if (events != expected || in_order != callers * per_record)
    return fail("the event log does not match the actions");
  event_filter of_one{.actor = {{"caller", caller_name(7)}}};
  auto by_one = service.events(of_one);
  if (!by_one || by_one->events.size() != 1 + 2 * per_record)
    return fail("events of caller-07");
  std::cout << "events by caller-07 = " << by_one->events.size() << '\n';

  // The log rebuilds exactly the live records.
  auto report = service.verify();
  if (!report)
    return fail("verify: " + render(report.error()));
  std::cout << "verify: " << report->records << " records compared, "
            << report->total_differences << " differences\n";
  if (!report->ok())
    return fail("verify found differences");
  std::cout << "ok: no update lost\n";
  return 0;
}
