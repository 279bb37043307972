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
#include "eventactors/environment.hpp"
#include "eventactors/event.hpp"
#include "eventactors/record.hpp"
#include "eventactors/replay.hpp"

namespace eventactors {

/// What a commit promises (SQLite's `synchronous` in WAL mode).
enum class sync_mode : uint8_t {
  /// A committed action survives a crash of the process (`kill -9`), but
  /// the last commits may be lost on power loss or an OS crash.
  normal,
  /// A committed action survives power loss: every commit waits for the
  /// disk (fsync). The default.
  full,
};

/// Settings of a runtime. Every field has a documented default; see also
/// `config/eventactors.ini`.
struct runtime_options {
  /// The SQLite database file; created when missing.
  std::string path = "eventactors.db";
  /// Durability of commits.
  sync_mode synchronous = sync_mode::full;
  /// At most this many units (an action with the actions its hooks ran)
  /// share one commit (group commit).
  uint32_t max_batch = 256;
  /// Largest accepted input of one call, in bytes of JSON text (input and
  /// metadata together).
  std::size_t max_input_bytes = std::size_t{1} << 20;
  /// How long a synchronous call waits: `run` and `append` for their
  /// record's turn and the writer, `run_batch` for its result.
  std::chrono::milliseconds call_timeout{30'000};
  /// How deeply hooks may nest actions (an action run by a hook of an
  /// action run by a hook ...); deeper fails with `errc::depth_exceeded`.
  /// At most 1000 (nested actions share one thread's stack): `start`
  /// refuses more.
  uint32_t max_hook_depth = 16;
  /// How often an action is retried when a concurrent write changed the
  /// record it read.
  uint32_t max_retries = 32;
  /// SQLite page cache per connection, in KiB.
  uint32_t cache_kib = 16 * 1024;
  /// The size of the write-ahead log, in pages, at which it restarts from
  /// its beginning. A thread of its own copies the log into the database
  /// file (a checkpoint) whenever three quarters of this are new, while writers
  /// go on; at this size the committing writer copies what is left. 0: no
  /// thread; the committing writer checkpoints the whole log at 1000
  /// pages, as SQLite does by default. Durability is the same.
  uint32_t checkpoint_pages = 1000;
  /// Worker threads of the runtime's own actor system (0: two).
  uint32_t threads = 0;
  /// Opens the database for reading only: the file must exist and hold
  /// every table and column of the definitions (`errc::schema_mismatch`
  /// naming the table and column otherwise); it is never created,
  /// migrated or written, and no write lock is taken, so reads work on a
  /// read-only file, on a full disk and while another process writes or
  /// replays (they see its last commit). `run`, `run_batch`, `append` and
  /// `replay` fail with `errc::storage_failure`; `get`, `list`, `events`,
  /// `stats`, `verify` and `fork` (which writes only the new file) work.
  bool read_only = false;
  /// The clock and id generators.
  environment env = environment::system();
};

/// Reads runtime settings from the `eventactors` section of a CAF
/// configuration (e.g. `config/eventactors.ini` parsed by
/// `caf::actor_system_config::parse`); keys that are absent keep their
/// value in `defaults`. Returns an `errc::invalid_definition` error naming
/// a key whose value is out of range or of the wrong type.
caf::expected<runtime_options> read_options(const caf::settings& cfg,
                                            runtime_options defaults = {});

/// Counts of an event log's events.
struct log_stats {
  uint64_t events = 0;
  /// Per "Resource.action", most frequent first.
  std::vector<std::pair<std::string, uint64_t>> per_action;
  /// Per actor as "column=key" ("(none)" without an actor), most frequent
  /// first.
  std::vector<std::pair<std::string, uint64_t>> per_actor;
  /// Per UTC day ("YYYY-MM-DD" of occurred_at), oldest first.
  std::vector<std::pair<std::string, uint64_t>> per_day;
  /// Size of the database file and its write-ahead log, in bytes.
  uint64_t file_bytes = 0;
};

/// Options for listing records.
struct list_options {
  /// At most this many records (at most 100000).
  uint32_t limit = 1000;
  /// Skip this many records (ordered by primary key).
  uint64_t offset = 0;
};

/// A running application: resource actors, the event log actor, and the
/// SQLite database they share.
///
/// Owns its actors; destroying the runtime stops them after pending writes
/// finished (see `stop`). All member functions are thread-safe, but the
/// runtime must outlive every call made on it. The synchronous calls
/// block the calling thread; call them from plain threads, not from inside
/// actors (use `actions(rt)` there).
class runtime {
public:
  struct impl;

  ~runtime();

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
  caf::expected<record> run(call c);

  /// Shorthand for `run` with a resource, action and input.
  caf::expected<record> run(std::string resource, std::string action,
                            json::object input = {});

  /// Runs the batch form of an action: one result per item, in order.
  std::vector<caf::expected<record>> run_batch(batch_call c);

  /// Appends an event on its own, without a record change: for importing
  /// history or writing events for replay to apply. Returns the event id.
  caf::expected<json::value> append(new_event ev);

  // -- replay -----------------------------------------------------------------

  /// Called with the progress of a replay after every chunk of events.
  using progress_fn = std::function<void(const replay_progress&)>;

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
                                       const progress_fn& progress = {});

  /// Replays up to `req`'s cut into a new database file at `path`: copies
  /// the events up to the cut from one snapshot, rebuilds the records there.
  /// This database is only read. A runtime can open the fork and run
  /// what-if actions on it.
  caf::expected<replay_summary> fork(replay_request req, std::string path,
                                     const progress_fn& progress = {});

  /// Replays every event of `log` (empty: the first) into a scratch copy
  /// and compares the records with the live ones, field by field: whether
  /// the log still rebuilds the data. Lists up to `max_differences`
  /// differences (all are counted).
  caf::expected<verify_report> verify(std::string log = {},
                                      uint32_t max_differences = 1000,
                                      const progress_fn& progress = {});

  // -- reads ------------------------------------------------------------------

  /// Returns the record of `resource` with primary key `id`.
  caf::expected<record> get(std::string_view resource, const json::value& id);

  /// Returns records of `resource`, ordered by primary key.
  caf::expected<std::vector<record>> list(std::string_view resource,
                                          list_options opts = {});

  /// Returns one page of events matching `filter`.
  caf::expected<event_page> events(const event_filter& filter);

  /// Calls `fn` for every event matching `filter` (ignoring its limit),
  /// page by page, until `fn` returns false. Memory stays bounded.
  [[nodiscard]] caf::error
  for_each_event(event_filter filter, const std::function<bool(const event&)>& fn);

  /// Counts the events of `log` (empty: the first) per action, actor and
  /// day.
  caf::expected<log_stats> stats(std::string log = {});

  /// Returns the event as query interfaces expose it: only the fields the
  /// event log declares public.
  json::object public_view(const event& ev) const;

  // -- introspection ----------------------------------------------------------

  /// The definitions the runtime runs.
  const app& definitions() const noexcept;

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
