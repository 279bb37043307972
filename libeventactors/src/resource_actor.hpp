// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "direct_call.hpp"
#include "event_log_actor.hpp"
#include "eventactors/action_actor.hpp"
#include "eventactors/options.hpp"
#include "model.hpp"
#include "replay_gate.hpp"
#include "storage/reader.hpp"

namespace eventactors {

/// A synchronous call's waiting place, as the runtime sees it: it can fail
/// every call still waiting when it stops.
class slot_base {
public:
  virtual ~slot_base() = default;

  /// Sets the error unless a result arrived first.
  virtual void fail(caf::error err) = 0;
};

/// Where a synchronous caller waits for its result: a plain thread blocks
/// on a condition variable instead of a CAF blocking receive, which would
/// cap calls at a few thousand per second. The first value set wins.
template <class T>
class sync_slot : public slot_base {
public:
  void set(T value) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (value_)
        return;
      value_ = std::move(value);
    }
    cv_.notify_one();
  }

  void fail(caf::error err) override {
    set(T{std::move(err)});
  }

  /// Waits up to `timeout`; `nullopt` when it passed.
  std::optional<T> wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> guard{mtx_};
    if (!cv_.wait_for(guard, timeout, [this] { return value_.has_value(); }))
      return std::nullopt;
    return std::move(*value_);
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::optional<T> value_;
};

using record_slot = std::shared_ptr<sync_slot<caf::expected<record>>>;
using batch_slot = std::shared_ptr<sync_slot<caf::expected<batch_result>>>;

} // namespace eventactors

// Local only: synchronous callers live in the same process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(eventactors::record_slot)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(eventactors::batch_slot)

namespace eventactors {

/// The actor of one resource: builds changesets, serializes work per
/// record, hands units to the event log actor and runs after-commit hooks.
/// Runs detached (it reads SQLite and may block in after_transaction
/// hooks).
using resource_actor = action_actor::extend<
  caf::reacts_to<run_atom, call, record_slot>,
  caf::reacts_to<run_batch_atom, batch_call, batch_slot>>;

/// Spawns a resource actor reading through `db` (its own connection) and
/// writing through `log`; commits that hooks need at once go to `q`, and
/// so do calls that keep losing to synchronous callers, in the record's
/// turn of `locks`.
resource_actor spawn_resource_actor(caf::actor_system& sys,
                                    std::shared_ptr<const model> m,
                                    const runtime_options* opts,
                                    std::shared_ptr<replay_gate> gate,
                                    std::unique_ptr<reader> db,
                                    event_log_actor log,
                                    std::shared_ptr<write_queue> q,
                                    std::shared_ptr<record_locks> locks);

} // namespace eventactors
