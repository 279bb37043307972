// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "direct_call.hpp"

#include <functional>

#include <boost/json/serialize.hpp>

#include "eventactors/error.hpp"

namespace eventactors {

record_locks::lock_type record_locks::lock(
  const model& m, const call& c,
  std::optional<std::chrono::steady_clock::time_point> deadline) {
  if (c.record_id.is_null())
    return {};
  auto res = m.find(c.resource);
  if (!res)
    return {};
  json::value key;
  auto pk = res->def->find_attribute(res->def->primary_key());
  if (pk->type.cast(c.record_id, key))
    return {}; // the action reports the bad id
  auto h = std::hash<std::string>{}(c.resource + '\x1f'
                                    + json::serialize(key));
  auto& stripe = stripes_[h % stripes_.size()];
  if (deadline)
    return lock_type{stripe, *deadline};
  return lock_type{stripe};
}

caf::expected<record>
run_direct(executor& ex, const call& c, write_queue& q, const replay_gate& gate,
           uint32_t max_retries,
           std::optional<std::chrono::steady_clock::time_point> deadline) {
  auto attempts = max_retries + 1;
  for (uint32_t attempt = 0; attempt < attempts; ++attempt) {
    // The epoch before the gate: a replay starting in between refuses the
    // unit when it is written.
    auto epoch = gate.epoch.load();
    if (gate.active)
      return make_error(errc::replay_in_progress,
                        c.resource + "." + c.action
                          + ": a replay is in progress; retry when it is "
                            "done");
    execution exe{ex};
    auto rec = exe.run(c);
    if (exe.committed()) {
      // An around_transaction hook committed the unit inside the action.
      auto err = exe.finish(exe.receipt());
      if (rec && err)
        return err;
      return rec;
    }
    if (!rec) {
      if (is(rec.error(), errc::concurrent_modification))
        continue;
      exe.finish(rec.error());
      return rec;
    }
    exe.pending().epoch = epoch;
    auto receipt = q.submit(exe.pending(), deadline);
    if (!receipt) {
      if (retryable(receipt.error(), *ex.defs, c)
          && (!deadline || std::chrono::steady_clock::now() < *deadline))
        continue;
      exe.finish(receipt.error());
      return std::move(receipt.error());
    }
    exe.stamp(*rec, *receipt);
    if (auto err = exe.finish(*receipt))
      return err;
    return rec;
  }
  return make_error(errc::concurrent_modification,
                    c.resource + "." + c.action + ": gave up after "
                      + std::to_string(attempts)
                      + " attempts; the record kept changing");
}

commit_fn direct_commit(std::shared_ptr<write_queue> q,
                        std::shared_ptr<replay_gate> gate) {
  return [q = std::move(q),
          gate = std::move(gate)](unit& u) -> caf::expected<unit_receipt> {
    if (gate->active)
      return make_error(errc::replay_in_progress,
                        "a replay is in progress; retry when it is done");
    u.epoch = gate->epoch.load();
    return q->submit(u);
  };
}

} // namespace eventactors
