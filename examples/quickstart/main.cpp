// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Quickstart: users and a welcome email, after the AshEvents README.
//
// Creating a user runs an after_action hook that calls the `send_email`
// action of another resource: both events commit together. Sending the mail
// itself is a side effect, so it lives in an after_transaction hook (it
// runs once, after the commit) and records its outcome through a third
// action, `update_status`, which logs an event of its own.
//
// Usage: eventactors_example_quickstart [DATABASE] [OUTBOX]

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include <boost/json/serialize.hpp>

#include "eventactors/all.hpp"

using namespace eventactors;

namespace {

// --(rst-definitions-begin)--
app make_app(std::string outbox) {
  app a;
  a.add(event_log{"events"})
    .persist_actor_primary_key("user_id", "Accounts.User")
    .persist_actor_primary_key("system_actor", "SystemActor",
                               {.type = actor_key_kind::string});

  auto& mail = a.add(resource{"Notifications.EmailNotification"});
  mail.attribute("recipient_email", types::string(), {.allow_nil = false})
    .attribute("template", types::string(), {.allow_nil = false})
    .attribute("data", types::map())
    .attribute("sent_at", types::utc_datetime())
    .attribute("status", types::string(), {.default_value = "pending"});
  mail.events("events");
  mail.create("send_email")
    .accept({"recipient_email", "template", "data"})
    .change(changes::set_attribute("sent_at", value_source::now()))
    // The side effect: runs once, after the commit, never during replay.
    .after_transaction(
      "deliver", [outbox](hook_context& ctx, const changeset&,
                          const caf::expected<record>& sent) -> caf::error {
        if (!sent)
          return {}; // nothing was committed, so nothing to send
        std::ofstream out{outbox, std::ios::app};
        out << "to=" << sent->get_string("recipient_email")
            << " template=" << sent->get_string("template") << '\n';
        call status{"Notifications.EmailNotification", "update_status"};
        status.record_id = sent->id;
        status.input["status"] = out ? "sent" : "failed";
        auto updated = ctx.run(std::move(status));
        return updated ? caf::error{} : updated.error();
      });
  mail.update("update_status").accept({"status"});

  auto& user = a.add(resource{"Accounts.User"});
  user.attribute("email", types::ci_string(), {.allow_nil = false})
    .attribute("name", types::string())
    .timestamps()
    .identity("unique_email", {"email"});
  user.events("events")
    .create_timestamp("created_at")
    .update_timestamp("updated_at");
  user.create("create")
    .accept({"email", "name"})
    // Inside the unit: the email event commits with the user's, or neither.
    .after_action("welcome_email", [](hook_context& ctx, const changeset&,
                                      record& created) -> caf::error {
      call c{"Notifications.EmailNotification", "send_email"};
      c.input["recipient_email"] = created.get("email");
      c.input["template"] = "welcome_email";
      c.input["data"] = json::object{{"user_name", created.get("name")}};
      c.metadata["triggered_by"] = "user_creation";
      auto sent = ctx.run(std::move(c));
      return sent ? caf::error{} : sent.error();
    });
  user.update("update").accept({"name"});
  return a;
}
// --(rst-definitions-end)--

std::string text(const json::value& x) {
  if (x.is_string())
    return std::string{x.get_string()};
  if (x.is_null())
    return "-";
  return json::serialize(x);
}

// --(rst-events-begin)--
void print_events(runtime& rt) {
  std::printf("%-3s %-33s %-13s %-8s %-15s %s\n", "id", "resource", "action",
              "user_id", "system_actor", "metadata");
  auto err = rt.for_each_event({}, [](const event& ev) {
    auto user = text(ev.actors.at("user_id"));
    if (user.size() > 8)
      user = user.substr(0, 8);
    std::printf("%-3s %-33s %-13s %-8s %-15s %s\n", text(ev.id).c_str(),
                ev.resource.c_str(), ev.action.c_str(), user.c_str(),
                text(ev.actors.at("system_actor")).c_str(),
                json::serialize(ev.metadata).c_str());
    return true;
  });
  if (err)
    std::cerr << "reading events failed: " << render(err) << '\n';
}
// --(rst-events-end)--

} // namespace

int main(int argc, char** argv) {
  std::string db = argc > 1 ? argv[1] : "quickstart.db";
  std::string outbox = argc > 2 ? argv[2] : db + ".outbox";
  for (auto suffix : {"", "-wal", "-shm"})
    std::remove((db + suffix).c_str());
  std::remove(outbox.c_str());

  // --(rst-run-begin)--
  auto rt = runtime::start(make_app(outbox), {.path = db});
  if (!rt) {
    std::cerr << "cannot start: " << render(rt.error()) << '\n';
    return 1;
  }
  call signup{"Accounts.User", "create",
              {{"email", "jane@example.com"}, {"name", "Jane Doe"}}};
  signup.actor = actor{"SystemActor", "signup-form"};
  signup.metadata = {{"source", "api"}, {"request_id", "req-1"}};
  auto jane = (*rt)->run(signup);
  if (!jane) {
    std::cerr << "create failed: " << render(jane.error()) << '\n';
    return 1;
  }
  // --(rst-run-end)--

  call rename{"Accounts.User", "update", {{"name", "Jane Smith"}}};
  rename.record_id = jane->id;
  rename.actor = actor{"Accounts.User", jane->id};
  rename.metadata = {{"source", "profile page"}};
  auto renamed = (*rt)->run(rename);
  if (!renamed) {
    std::cerr << "update failed: " << render(renamed.error()) << '\n';
    return 1;
  }

  // Bad input is an error naming what was wrong; nothing is written.
  auto dup = (*rt)->run(call{"Accounts.User", "create",
                             {{"email", "JANE@example.com"}}});
  std::cout << "duplicate email: " << render(dup.error()) << "\n\n";

  print_events(**rt);
  auto mails = (*rt)->list("Notifications.EmailNotification");
  if (mails)
    for (auto& m : *mails)
      std::cout << "\nemail to " << text(m.get("recipient_email"))
                << " status=" << text(m.get("status")) << '\n';
  std::ifstream in{outbox};
  std::string line;
  while (std::getline(in, line))
    std::cout << "outbox: " << line << '\n';
  std::cout << "user: " << text(renamed->get("name")) << " <"
            << text(renamed->get("email")) << ">\n";
  return 0;
}
