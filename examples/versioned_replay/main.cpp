// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Versioned replay: an action whose events changed shape, and a replay
// override that routes the old events.
//
// Version 1 of the app kept everything on the user: `name` and `newsletter`.
// Version 2 splits the name into `given_name` and `family_name` and moves
// the rest to two new resources: the v2 `create` runs `Accounts.Profile` and
// `Mail.Subscription` creates in an after_action hook (their events follow
// the user's). A v1 event has no such events, so a replay override sends it
// to three targets: the legacy action `create_v1` (ignored: it writes no
// events and exists only as an override target) and one action each on the
// two other resources. v2 events replay on `create` as they are.
//
// Usage: eventactors_example_versioned_replay [DATABASE]

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include <boost/json/serialize.hpp>

#include "eventactors/all.hpp"

using namespace eventactors;

namespace {

int fail(const std::string& what) {
  std::cerr << "error: " << what << '\n';
  return 1;
}

std::string text(const json::value& x) {
  return x.is_string() ? std::string{x.get_string()} : json::serialize(x);
}

// Version 1, as it ran last year. (Version 2 drops `name` and `newsletter`
// and declares them dropped, so that their columns go when it first starts.)
app make_app_v1() {
  app a;
  a.add(event_log{"events"});
  auto& user = a.add(resource{"Accounts.User"});
  user.attribute("email", types::string(), {.allow_nil = false})
    .attribute("name", types::string())
    .attribute("newsletter", types::boolean())
    .timestamps();
  user.events("events").create_timestamp("created_at");
  user.create("create").accept({"email", "name", "newsletter"});
  return a;
}

// --(rst-v2-begin)--
app make_app_v2() {
  app a;
  a.add(event_log{"events"})
    .replay_override("Accounts.User", "create", {1},
                     {{"Accounts.User", "create_v1"},
                      {"Accounts.Profile", "create_from_v1"},
                      {"Mail.Subscription", "create_from_v1"}});

  auto& profile = a.add(resource{"Accounts.Profile"}); // key: the user's id
  profile.attribute("display_name", types::string());
  profile.events("events").ignore_actions({"create_from_v1"});
  profile.create("create").accept({"id", "display_name"});
  profile.create("create_from_v1") // the v1 `name` becomes the display name
    .argument("name", types::string())
    .change(changes::set_from_argument("display_name", "name"));

  auto& sub = a.add(resource{"Mail.Subscription"}); // key: the user's id
  sub.attribute("email", types::string())
    .attribute("newsletter", types::boolean(), {.default_value = false});
  sub.events("events").ignore_actions({"create_from_v1"});
  sub.create("create").accept({"id", "email", "newsletter"});
  sub.create("create_from_v1").accept({"email", "newsletter"});

  auto& user = a.add(resource{"Accounts.User"});
  user.attribute("email", types::string(), {.allow_nil = false})
    .attribute("given_name", types::string())
    .attribute("family_name", types::string())
    .timestamps();
  // v1's columns: the name now lives in given_name and family_name, the
  // newsletter choice in Mail.Subscription. Declared dropped, their data is
  // deleted when v2 first starts; replay rebuilds the new columns.
  user.drop_attribute("name").drop_attribute("newsletter");
  user.events("events")
    .create_timestamp("created_at")
    .current_action_versions({{"create", 2}})
    .ignore_actions({"create_v1"});
  user.create("create")
    .accept({"email", "given_name", "family_name"})
    .argument("newsletter", types::boolean(), {.default_value = false})
    .after_action("profile_and_subscription", [](hook_context& ctx,
                                                 const changeset& cs,
                                                 record& u) -> caf::error {
      auto name = text(u.get("given_name")) + " " + text(u.get("family_name"));
      auto p = ctx.run({"Accounts.Profile", "create",
                        {{"id", u.id}, {"display_name", name}}});
      if (!p)
        return p.error();
      auto s = ctx.run({"Mail.Subscription", "create",
                        {{"id", u.id}, {"email", u.get("email")},
                         {"newsletter", cs.argument("newsletter")}}});
      return s ? caf::error{} : s.error();
    });
  // The legacy create: only a replay target for v1 events.
  user.create("create_v1")
    .accept({"email"})
    .argument("name", types::string())
    .change(change{"split_name", [](changeset& cs) {
                     auto full = text(cs.argument("name"));
                     auto space = full.rfind(' ');
                     cs.set_attribute("given_name",
                                     json::string{full.substr(0, space)});
                     if (space != std::string::npos)
                       cs.set_attribute("family_name",
                                       json::string{full.substr(space + 1)});
                   }});
  return a;
}
// --(rst-v2-end)--

void print_events(runtime& rt) {
  std::printf("%-3s %-27s %-18s %-7s %-2s %-8s %s\n", "id", "occurred_at",
              "resource", "action", "v", "record", "data");
  auto err = rt.for_each_event({}, [](const event& ev) {
    std::printf("%-3s %-27s %-18s %-7s %-2d %-8.8s %s\n", text(ev.id).c_str(),
                format_timestamp(ev.occurred_at).c_str(), ev.resource.c_str(),
                ev.action.c_str(), ev.version, text(ev.record_id).c_str(),
                json::serialize(ev.data).c_str());
    return true;
  });
  if (err)
    std::cerr << "error: reading events: " << render(err) << '\n';
}

// Prints how many records each resource has, and how many users lack the
// v2 names.
void print_counts(runtime& rt, const char* when) {
  auto users = rt.list("Accounts.User");
  auto profiles = rt.list("Accounts.Profile");
  auto subs = rt.list("Mail.Subscription");
  if (!users || !profiles || !subs)
    return;
  auto unsplit = std::count_if(users->begin(), users->end(), [](auto& u) {
    return u.is_null("given_name");
  });
  std::printf("%s: %zu users (%zd without given_name), %zu profiles, "
              "%zu subscriptions\n",
              when, users->size(), unsplit, profiles->size(), subs->size());
}

} // namespace

int main(int argc, char** argv) {
  std::string db = argc > 1 ? argv[1] : "versioned_replay.db";
  for (auto suffix : {"", "-wal", "-shm"})
    std::remove((db + suffix).c_str());

  // Last year, version 1 signed up two users.
  {
    auto env = environment::deterministic(1, *parse_timestamp(
                                               "2024-05-01T09:00:00Z"));
    auto v1 = runtime::start(make_app_v1(), {.path = db, .env = env});
    if (!v1)
      return fail("cannot start v1: " + render(v1.error()));
    auto ada = (*v1)->run("Accounts.User", "create",
                          {{"email", "ada@example.com"},
                           {"name", "Ada Lovelace"}, {"newsletter", true}});
    auto alan = (*v1)->run("Accounts.User", "create",
                           {{"email", "alan@example.com"},
                            {"name", "Alan Turing"}, {"newsletter", false}});
    if (!ada || !alan)
      return fail("v1 create: " + render(!ada ? ada.error() : alan.error()));
  }

  // Today, version 2 runs on the same file and signs up a third user.
  auto env = environment::deterministic(2, *parse_timestamp(
                                             "2025-03-01T10:00:00Z"));
  auto rt = runtime::start(make_app_v2(), {.path = db, .env = env});
  if (!rt)
    return fail("cannot start v2: " + render(rt.error()));
  auto grace = (*rt)->run("Accounts.User", "create",
                          {{"email", "grace@example.com"},
                           {"given_name", "Grace"},
                           {"family_name", "Hopper"},
                           {"newsletter", true}});
  if (!grace)
    return fail("v2 create: " + render(grace.error()));

  std::cout << "event log:\n";
  print_events(**rt);

  std::cout << '\n';
  print_counts(**rt, "before replay");
  // --(rst-replay-begin)--
  auto summary = (*rt)->replay();
  if (!summary)
    return fail("replay: " + render(summary.error()));
  // --(rst-replay-end)--

  print_counts(**rt, "after replay");
  auto users = (*rt)->list("Accounts.User");
  if (!users || users->size() != 3)
    return fail("expected 3 users after the replay");
  int newsletters = 0;
  for (auto& u : *users) {
    auto p = (*rt)->get("Accounts.Profile", u.id);
    auto s = (*rt)->get("Mail.Subscription", u.id);
    if (!p || !s || u.is_null("given_name") || u.is_null("family_name"))
      return fail("user " + text(u.get("email")) + " was not rebuilt");
    newsletters += s->get("newsletter") == true ? 1 : 0;
    std::printf("  user %-18s given=%-6s family=%-9s profile=%-14s "
                "newsletter=%s\n",
                text(u.get("email")).c_str(),
                text(u.get("given_name")).c_str(),
                text(u.get("family_name")).c_str(),
                ('"' + text(p->get("display_name")) + '"').c_str(),
                text(s->get("newsletter")).c_str());
  }
  if (newsletters != 2)
    return fail("expected 2 newsletter subscriptions");

  std::cout << "\nreplay summary: " << summary->events << " events\n";
  for (auto& [name, n] : summary->overrides_used)
    std::cout << "  override " << name << ": " << n << " event(s)\n";
  for (auto& [name, n] : summary->applied)
    std::cout << "  applied  " << name << ": " << n << '\n';
  using counts = std::map<std::string, uint64_t>;
  if (summary->events != 5
      || summary->overrides_used != counts{{"Accounts.User.create v1", 2}}
      || summary->applied
           != counts{{"Accounts.User.create_v1", 2},
                     {"Accounts.Profile.create_from_v1", 2},
                     {"Mail.Subscription.create_from_v1", 2},
                     {"Accounts.User.create", 1},
                     {"Accounts.Profile.create", 1},
                     {"Mail.Subscription.create", 1}})
    return fail("unexpected replay summary");
  std::cout << "ok: v1 events routed to 3 targets, v2 events replayed as "
               "they are\n";
  return 0;
}
