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

#include "actors/event_log_actor.hpp"
#include "eventactors/action_actor.hpp"
#include "eventactors/options.hpp"
#include "model/model.hpp"
#include "storage/reader.hpp"
#include "write/pipeline.hpp"

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

/// Tells a resource actor that a call it queued got its record's turn.
struct turn_granted {
  record_turns::ticket ticket = 0;
};

} // namespace eventactors

// Local only: synchronous callers live in the same process, and so do the
// turns.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(eventactors::record_slot)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(eventactors::batch_slot)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(eventactors::turn_granted)

namespace eventactors {

/// The actor of one resource: runs its actions with the engine, in the
/// order of each record's turn (shared with synchronous callers), and hands
/// their units to the event log actor, or commits them itself when it has
/// nothing else to do; retries go through the pipeline's policy. Runs
/// detached (it reads SQLite and may block in after_transaction hooks).
using resource_actor = action_actor::extend<
  caf::reacts_to<run_atom, call, record_slot>,
  caf::reacts_to<run_batch_atom, batch_call, batch_slot>,
  caf::reacts_to<turn_granted>>;

/// Spawns a resource actor reading through `db` (its own connection) and
/// writing through `pipeline`, asynchronously by way of `log`.
resource_actor spawn_resource_actor(caf::actor_system& sys,
                                    std::shared_ptr<const model> m,
                                    const runtime_options* opts,
                                    std::unique_ptr<reader> db,
                                    event_log_actor log,
                                    std::shared_ptr<write_pipeline> pipeline);

} // namespace eventactors
