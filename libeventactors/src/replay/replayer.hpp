// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <functional>
#include <memory>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "eventactors/options.hpp"
#include "eventactors/replay.hpp"
#include "model/model.hpp"
#include "storage/writer.hpp"

namespace eventactors {

/// Rebuilds the records of an event log's resources from its events through
/// a writer, in one transaction: clear (the log's callback),
/// then apply the selected events in id order, in chunks, each routed
/// through the replay overrides to its target actions in replay mode.
/// Commits at the end; on any failure rolls everything back and names the
/// event.
///
/// Not thread-safe: runs on the thread that owns the writer.
class replayer {
public:
  /// Events read per chunk: memory stays bounded by this, not by the log.
  static constexpr uint32_t chunk_size = 1000;

  replayer(std::shared_ptr<const model> m, const runtime_options& opts,
           writer& w);

  /// Checks `req` (cut arguments, event id, clear callback) without
  /// touching the store beyond reads.
  caf::error check(const replay_request& req);

  /// Runs the replay. `progress` is called after every chunk.
  caf::expected<replay_summary> run(const replay_request& req,
                                    const progress_fn& progress = {});

private:
  struct impl;
  std::shared_ptr<const model> model_;
  const runtime_options& opts_;
  writer& writer_;
};

} // namespace eventactors
