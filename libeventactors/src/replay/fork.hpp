// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "eventactors/replay.hpp"
#include "eventactors/options.hpp"
#include "model/model.hpp"
#include "replay/replayer.hpp"

namespace eventactors {

/// Replays the events of `req.log` up to its cut from the database at
/// `live` into a new database file at `target`: copies those events from
/// one snapshot of the live file, then rebuilds the records there. The live
/// file is only read. Refuses an existing `target`. Builds the copy in a
/// locked temp file beside `target` and links it under that name only when
/// complete (synced, out of WAL mode); removes the temp file on failure, and
/// the temp files of earlier forks to `target` that were killed.
caf::expected<replay_summary> fork_database(std::shared_ptr<const model> m,
                                            const runtime_options& opts,
                                            const std::string& live,
                                            const replay_request& req,
                                            const std::string& target,
                                            const progress_fn& progress);

/// Replays every event of `log` into a scratch copy (SQLite's private
/// temporary database: mode 0600, unlinked when created) and compares the
/// records of the log's resources with the live ones (the same snapshot the
/// events came from), field by field.
caf::expected<verify_report> verify_database(std::shared_ptr<const model> m,
                                             const runtime_options& opts,
                                             const std::string& live,
                                             const std::string& log,
                                             uint32_t max_differences,
                                             const progress_fn& progress);

} // namespace eventactors
