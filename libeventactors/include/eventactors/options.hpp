// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// The settings of a runtime and the plain types its calls take and return,
// apart from the runtime itself: the parts of the library below the façade
// include this header, never `runtime.hpp`.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include "eventactors/environment.hpp"
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
  /// How long the keys of committed calls (`call::idempotency_key`) are
  /// remembered: a repeated key within this period returns the original
  /// result. Expired keys are deleted a few at a time when keys are written.
  std::chrono::seconds idempotency_retention{std::chrono::hours{24}};
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

/// @relates log_stats
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_stats& x) {
  return f(caf::meta::type_name("log_stats"), x.events, x.per_action,
           x.per_actor, x.per_day, x.file_bytes);
}

/// Options for listing records.
struct list_options {
  /// At most this many records (at most 100000).
  uint32_t limit = 1000;
  /// Skip this many records (ordered by primary key).
  uint64_t offset = 0;
};

/// @relates list_options
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_options& x) {
  return f(caf::meta::type_name("list_options"), x.limit, x.offset);
}

/// Receives the progress of a replay, a fork or a verify (see `replay.hpp`).
using progress_fn = std::function<void(const replay_progress&)>;

} // namespace eventactors
