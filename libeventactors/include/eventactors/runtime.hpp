// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "eventactors/app.hpp"
#include "eventactors/call.hpp"
#include "eventactors/event.hpp"
#include "eventactors/options.hpp"
#include "eventactors/record.hpp"
#include "eventactors/replay.hpp"
#include "eventactors/service.hpp"

namespace eventactors {

/// A running application: resource actors, the event log actor, and the
/// SQLite database they share.
///
/// Owns its actors; destroying the runtime stops them after pending writes
/// finished (see `stop`). All member functions are thread-safe, but the
/// runtime must outlive every call made on it. The synchronous calls
/// block the calling thread; call them from plain threads, not from inside
/// actors (use `actions(rt)` there).
class runtime final : public service {
public:
  struct impl;

  ~runtime() override;

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Validates `definitions`, opens (or creates) the database at
  /// `opts.path`, migrates its schema and starts the actors on an actor
  /// system of its own. A database of another program (a SQLite file with
  /// tables but without the eventactors application id) is refused and
  /// left unchanged. With `opts.read_only`, checks the schema instead of
  /// migrating it.
  static caf::expected<std::unique_ptr<runtime>>
  start(app definitions, runtime_options opts = {});

  /// Like `start`, on an existing actor system, which must have been
  /// configured with `eventactors::init`.
  static caf::expected<std::unique_ptr<runtime>>
  start(caf::actor_system& sys, app definitions, runtime_options opts = {});

  /// Stops the actors: calls waiting for a record fail with
  /// `errc::runtime_stopped`, units already handed to the event log actor
  /// commit (their callers get their records), synchronous `run` and
  /// `append` calls under way finish (stop waits for them), later calls
  /// fail with `errc::runtime_stopped`. Reads keep working. Idempotent; the
  /// destructor calls it. Do not call it from a hook.
  void stop();

  // -- actions ----------------------------------------------------------------

  /// Runs one action on the calling thread and returns the resulting
  /// record, once it is committed. On error nothing was written, except
  /// for `errc::post_commit_failure` (committed, then a hook after the
  /// commit failed). `errc::timeout`: the call waited `call_timeout` for its
  /// record's turn or for the writer, and wrote nothing.
  caf::expected<record> run(call c) override;

  /// Shorthand for `run` with a resource, action and input.
  caf::expected<record> run(std::string resource, std::string action,
                            json::object input = {});

  /// Runs the batch form of an action: one result per item, in order.
  std::vector<caf::expected<record>> run_batch(batch_call c) override;

  /// Appends an event on its own, without a record change: for importing
  /// history or writing events for replay to apply. Returns the event id.
  caf::expected<json::value> append(new_event ev) override;

  // -- replay -----------------------------------------------------------------

  /// Called with the progress of a replay after every chunk of events.
  using progress_fn = eventactors::progress_fn;

  /// Rebuilds the records of an event log's resources from its events:
  /// clears them (the log's clear callback), then applies the events (all,
  /// or up to `req`'s cut) in id order, routed through the replay overrides,
  /// with hooks off except those of allowed changes; writes no event. One
  /// transaction: it commits completely or not at all, and readers see the
  /// old records until it commits. New actions meanwhile fail with
  /// `errc::replay_in_progress`. An event that cannot be applied fails the
  /// replay with `errc::replay_failed` naming it; one that cannot be read
  /// (an encrypted event whose key is missing or wrong, or whose stored
  /// value was changed) with `errc::decryption_failed` naming it. Either
  /// way nothing changes.
  caf::expected<replay_summary> replay(replay_request req = {},
                                       const progress_fn& progress
                                       = {}) override;

  /// Replays up to `req`'s cut into a new database file at `path`: copies
  /// the events up to the cut from one snapshot, rebuilds the records there.
  /// This database is only read. A runtime can open the fork and run
  /// what-if actions on it.
  caf::expected<replay_summary> fork(replay_request req, std::string path,
                                     const progress_fn& progress
                                     = {}) override;

  /// Replays every event of `log` (empty: the first) into a scratch copy
  /// and compares the records with the live ones, field by field: whether
  /// the log still rebuilds the data. Lists up to `max_differences`
  /// differences (all are counted).
  caf::expected<verify_report> verify(std::string log = {},
                                      uint32_t max_differences = 1000,
                                      const progress_fn& progress
                                      = {}) override;

  // -- reads ------------------------------------------------------------------

  /// Returns the record of `resource` with primary key `id`.
  caf::expected<record> get(std::string_view resource,
                            const json::value& id) override;

  /// Returns records of `resource`, ordered by primary key.
  caf::expected<std::vector<record>> list(std::string_view resource,
                                          list_options opts = {}) override;

  /// Returns one page of events matching `filter`.
  caf::expected<event_page> events(const event_filter& filter) override;

  /// Calls `fn` for every event matching `filter` (ignoring its limit),
  /// page by page, until `fn` returns false. Memory stays bounded.
  [[nodiscard]] caf::error
  for_each_event(event_filter filter, const std::function<bool(const event&)>& fn);

  /// Counts the events of `log` (empty: the first) per action, actor and
  /// day.
  caf::expected<log_stats> stats(std::string log = {}) override;

  /// Returns the event as query interfaces expose it: only the fields the
  /// event log declares public.
  json::object public_view(const event& ev) const;

  // -- introspection ----------------------------------------------------------

  /// The definitions the runtime runs.
  const app& definitions() const noexcept override;

  /// `service_of(*this)`.
  service_actor async() override;

  const runtime_options& options() const noexcept;

  /// The actor system the actors run in.
  caf::actor_system& system() noexcept;

  /// @private
  impl& internals() noexcept {
    return *impl_;
  }

private:
  explicit runtime(std::unique_ptr<impl> ptr);

  static caf::expected<std::unique_ptr<runtime>>
  start_read_only(caf::actor_system& sys, std::unique_ptr<impl> ptr);

  std::unique_ptr<impl> impl_;
};

} // namespace eventactors
