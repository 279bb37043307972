// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "direct_call.hpp"

#include <functional>

#include <boost/json/serialize.hpp>

#include "eventactors/error.hpp"

namespace eventactors {

std::optional<std::string> record_key(const model& m, const call& c) {
  if (c.record_id.is_null())
    return std::nullopt;
  auto res = m.find(c.resource);
  if (!res)
    return std::nullopt;
  auto pk = res->def->find_attribute(res->def->primary_key());
  json::value key;
  if (pk->type.cast(c.record_id, key))
    return std::nullopt;
  return json::serialize(key);
}

record_locks::lock_type record_locks::lock(
  std::string_view resource, const std::string& key,
  std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::string full{resource};
  full += '\x1f';
  full += key;
  auto& stripe = stripes_[std::hash<std::string>{}(full) % stripes_.size()];
  if (deadline)
    return lock_type{stripe, *deadline};
  return lock_type{stripe};
}

caf::expected<record>
run_direct(const executor& ex, const call& c, write_queue& q,
           const replay_gate& gate,
           std::optional<std::chrono::steady_clock::time_point> deadline,
           std::optional<uint32_t> max_retries) {
  // The unit, and the units of actions that its hooks commit at once,
  // take the epoch of their start (execution::run_unit) and wait for the
  // writer at most until the deadline.
  executor direct = ex;
  direct.gate = &gate;
  direct.max_retries = max_retries;
  direct.commit = [&q, &gate,
                   deadline](unit& u) -> caf::expected<unit_receipt> {
    if (gate.active)
      return make_error(errc::replay_in_progress,
                        "a replay is in progress; retry when it is done");
    return q.submit(u, deadline);
  };
  direct.locked = [&q, &gate](const std::function<void(const commit_fn&)>&
                                body) -> caf::error {
    caf::error failure;
    auto ran = q.exclusive([&](writer& w) {
      if (gate.active) {
        failure = make_error(errc::replay_in_progress,
                             "a replay is in progress; retry when it is "
                             "done");
        return;
      }
      // The write lock first: from here until the commit no other
      // process writes, and `begin` refreshed the key counters.
      if (auto err = w.begin()) {
        failure = std::move(err);
        return;
      }
      commit_fn commit = [&w, &gate](unit& u) -> caf::expected<unit_receipt> {
        if (u.epoch != gate.epoch.load())
          return make_error(errc::replay_in_progress,
                            "a replay ran while this action was prepared");
        if (auto err = w.begin())
          return err;
        auto receipt = w.apply(u);
        if (!receipt) {
          w.rollback();
          return receipt;
        }
        if (auto err = w.commit())
          return err;
        return receipt;
      };
      body(commit);
    });
    if (!ran)
      return make_error(errc::runtime_stopped, "the runtime was stopped");
    return failure;
  };
  return execution::run_unit(direct, c, 0);
}

commit_fn direct_commit(std::shared_ptr<write_queue> q,
                        std::shared_ptr<replay_gate> gate) {
  // The unit keeps the epoch its execution started in: taking the current
  // one here would let a unit whose reads predate a replay through.
  return [q = std::move(q),
          gate = std::move(gate)](unit& u) -> caf::expected<unit_receipt> {
    if (gate->active)
      return make_error(errc::replay_in_progress,
                        "a replay is in progress; retry when it is done");
    return q->submit(u);
  };
}

} // namespace eventactors
