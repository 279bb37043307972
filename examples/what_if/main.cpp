// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// What-if simulation: fork the history at a point in time into a second
// file, run different actions there, and compare the two outcomes.
//
// A small bank: accounts with balances, deposits, and transfers (a transfer
// withdraws from the payer and deposits to the payee in an after_action
// hook: three events that commit together, or none). Four days of history
// run on the main file. `runtime::fork` then rebuilds the state as it was
// at the end of Tuesday in a new file, a second runtime opens it, and
// Wednesday goes differently there. The main file is only read.
//
// Usage: eventactors_example_what_if [DATABASE]

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <string>

#include <boost/json/serialize.hpp>

#include "eventactors/all.hpp"

using namespace eventactors;

namespace {

int fail(const std::string& what) {
  std::cerr << "error: " << what << '\n';
  return 1;
}

// --(rst-definitions-begin)--
change add_to_balance(int sign) {
  return change{sign > 0 ? "credit" : "debit", [sign](changeset& cs) {
                  auto& b = cs.attribute("balance");
                  auto& a = cs.argument("amount");
                  if (!b.is_int64() || !a.is_int64())
                    return; // a cast error was reported already
                  auto balance = b.get_int64(), amount = a.get_int64();
                  if (sign < 0 && amount > balance)
                    cs.add_error("amount", "insufficient funds");
                  else
                    cs.set_attribute("balance", balance + sign * amount);
                }};
}

app make_app() {
  app a;
  a.add(event_log{"events"}).record_id_type(record_id_kind::string);
  auto& account = a.add(resource{"Bank.Account"});
  account.primary_key("id", key_kind::string) // the caller names accounts
    .attribute("balance", types::integer(),
               {.allow_nil = false, .default_value = 0});
  account.events("events");
  account.create("open").accept({"id", "balance"});
  for (auto [name, sign] : {std::pair{"deposit", 1}, {"withdraw", -1}})
    account.update(name)
      .argument("amount", types::integer(), {.required = true})
      .validate(validations::numeric_range("amount", 1, 1e9))
      .change(add_to_balance(sign));

  auto& transfer = a.add(resource{"Bank.Transfer"});
  transfer.primary_key("id", key_kind::integer)
    .attribute("payer", types::string(), {.allow_nil = false})
    .attribute("payee", types::string(), {.allow_nil = false})
    .attribute("amount", types::integer(), {.allow_nil = false});
  transfer.events("events");
  transfer.create("create")
    .accept({"payer", "payee", "amount"})
    .after_action("move_money", [](hook_context& ctx, const changeset&,
                                   record& t) -> caf::error {
      for (auto [action, who] : {std::pair{"withdraw", "payer"},
                                 {"deposit", "payee"}}) {
        call c{"Bank.Account", action, {{"amount", t.get("amount")}}};
        c.record_id = t.get(who);
        if (auto done = ctx.run(std::move(c)); !done)
          return done.error();
      }
      return {};
    });
  return a;
}
// --(rst-definitions-end)--

// The bank's clock: every action of a day happens at 09:00 that day.
std::atomic<int64_t> clock_us{0};
void day(const char* date) {
  auto t = parse_timestamp(std::string{date} + "T09:00:00Z");
  clock_us = t->time_since_epoch().count();
}

caf::error open(runtime& rt, const char* id, int64_t balance) {
  auto r = rt.run("Bank.Account", "open", {{"id", id}, {"balance", balance}});
  return r ? caf::error{} : r.error();
}

caf::error deposit(runtime& rt, const char* id, int64_t amount) {
  auto r = rt.run({"Bank.Account", "deposit", {{"amount", amount}}, id});
  return r ? caf::error{} : r.error();
}

caf::error pay(runtime& rt, const char* payer, const char* payee,
               int64_t amount) {
  auto r = rt.run("Bank.Transfer", "create",
                  {{"payer", payer}, {"payee", payee}, {"amount", amount}});
  return r ? caf::error{} : r.error();
}

// Balance of account `id` as text, "-" when it does not exist.
std::string balance(runtime& rt, const char* id) {
  auto r = rt.get("Bank.Account", id);
  return r ? json::serialize(r->get("balance")) : "-";
}

// Prints the events after the first `skip`: where the two files differ.
void print_after(runtime& rt, const char* label, int64_t skip) {
  std::cout << label << ":\n";
  auto err = rt.for_each_event({.after_id = skip}, [](const event& ev) {
    auto record_id = ev.record_id.as_string(); // record_id_kind::string
    std::printf("  %-3s %s %-13s %-8s %-13s %s\n",
                json::serialize(ev.id).c_str(),
                format_timestamp(ev.occurred_at).substr(0, 10).c_str(),
                ev.resource.c_str(), ev.action.c_str(), record_id.c_str(),
                json::serialize(ev.data).c_str());
    return true;
  });
  if (err)
    std::cerr << "error: reading events: " << render(err) << '\n';
}

} // namespace

int main(int argc, char** argv) {
  std::string db = argc > 1 ? argv[1] : "what_if.db";
  std::string fork_db = db + "-what-if";
  for (auto& file : {db, fork_db})
    for (auto suffix : {"", "-wal", "-shm"})
      std::remove((file + suffix).c_str());
  auto env = environment::deterministic(42, timestamp{});
  env.clock = [] { return timestamp{std::chrono::microseconds{clock_us}}; };

  auto rt = runtime::start(make_app(), {.path = db, .env = env});
  if (!rt)
    return fail("cannot start: " + render(rt.error()));
  auto& bank = **rt;
  caf::error err;
  auto check = [&](caf::error e) { err = err ? err : std::move(e); };
  day("2025-01-06"); // Monday
  check(open(bank, "alice", 100));
  check(open(bank, "bob", 50));
  day("2025-01-07"); // Tuesday
  check(deposit(bank, "alice", 40));
  check(pay(bank, "bob", "alice", 20));
  day("2025-01-08"); // Wednesday
  check(pay(bank, "alice", "bob", 150));
  day("2025-01-09"); // Thursday
  check(open(bank, "carol", 0));
  check(pay(bank, "bob", "carol", 100));
  if (err)
    return fail("history: " + render(err));
  auto history = bank.events({.limit = 10000});
  auto accounts = bank.list("Bank.Account");
  if (!history || !accounts)
    return fail("reading the history failed");

  // --(rst-fork-begin)--
  // Back to the end of Tuesday, in a new file.
  auto cut = parse_timestamp("2025-01-07T23:59:59Z");
  auto forked = bank.fork({.point_in_time = cut}, fork_db);
  if (!forked)
    return fail("fork: " + render(forked.error()));
  auto sim = runtime::start(make_app(), {.path = fork_db, .env = env});
  if (!sim)
    return fail("cannot open the fork: " + render(sim.error()));
  // --(rst-fork-end)--
  std::cout << "forked " << forked->events << " events (up to "
            << format_timestamp(*cut) << ") into " << fork_db << "\n";

  // A different Wednesday: Alice tries to pay Bob more than she has
  // (refused, nothing written), then saves instead; Bob gets his salary.
  auto& what_if = **sim;
  day("2025-01-08");
  auto too_much = pay(what_if, "alice", "bob", 200);
  std::cout << "what-if: alice pays bob 200: " << render(too_much) << '\n';
  if (!too_much)
    return fail("an overdraft was accepted");
  check(open(what_if, "alice-savings", 0));
  check(pay(what_if, "alice", "alice-savings", 120));
  check(deposit(what_if, "bob", 100));
  if (err)
    return fail("what-if: " + render(err));

  std::cout << '\n';
  print_after(bank, "history after the cut", forked->events);
  print_after(what_if, "what-if after the cut", forked->events);
  std::printf("\n%-14s %8s %8s\n", "balance", "history", "what-if");
  for (auto id : {"alice", "alice-savings", "bob", "carol"})
    std::printf("%-14s %8s %8s\n", id, balance(bank, id).c_str(),
                balance(what_if, id).c_str());
  auto history_after = bank.events({.limit = 10000});
  auto fork_events = what_if.events({.limit = 10000});
  if (!history_after || !fork_events)
    return fail("reading the events failed");
  std::printf("%-14s %8zu %8zu\n", "events", history_after->events.size(),
              fork_events->events.size());

  // The history is untouched; the fork holds its first 6 events, then its
  // own, numbered after the cut.
  if (history_after->events != history->events
      || bank.list("Bank.Account") != accounts)
    return fail("the source file changed");
  if (forked->events != 6 || fork_events->events.size() != 11
      || !std::equal(history->events.begin(), history->events.begin() + 6,
                     fork_events->events.begin())
      || fork_events->events[6].id != 7)
    return fail("the fork's events are not the cut plus its own");
  if (balance(bank, "alice") != "10" || balance(bank, "bob") != "80"
      || balance(bank, "carol") != "100" || balance(what_if, "alice") != "40"
      || balance(what_if, "alice-savings") != "120"
      || balance(what_if, "bob") != "130" || balance(what_if, "carol") != "-")
    return fail("unexpected balances");
  std::cout << "ok: the history is untouched, the fork diverged\n";
  return 0;
}
