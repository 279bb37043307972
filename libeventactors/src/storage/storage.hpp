// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// Opening a store: the factories of the storage seam (see
// storage/reader.hpp for what every backend promises). The location names
// the store: for SQLite, a file path, the empty string being SQLite's
// private temporary database.

#include <cstdint>
#include <memory>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "eventactors/environment.hpp"
#include "eventactors/options.hpp"
#include "model/model.hpp"
#include "storage/reader.hpp"
#include "storage/writer.hpp"

namespace eventactors::storage {

/// Settings every connection to a store takes.
struct options {
  /// Durability of each commit.
  sync_mode synchronous = sync_mode::full;
  /// Page cache size in KiB, per connection.
  uint32_t cache_kib = 16 * 1024;
  /// Writers only: the write-ahead log size (in pages) from which a
  /// background thread checkpoints it; 0 leaves checkpoints to SQLite.
  uint32_t checkpoint_pages = 0;
};

/// The connection settings of a runtime's `opts` (without background
/// checkpoints, which only the runtime's own writer runs).
options connection_options(const runtime_options& opts);

/// Opens the writer of the store at `location`, creating it if needed and
/// migrating its schema to `m`. Refuses, untouched, a store of another
/// application. UUID v7 event ids take their time from `env`'s clock and
/// their random bits from its UUID generator, and continue after the
/// largest stored id.
caf::expected<std::unique_ptr<writer>>
open_writer(std::shared_ptr<const model> m, const std::string& location,
            const options& opts, environment env);

/// Opens a reader of the store at `location`, read-only.
caf::expected<std::unique_ptr<reader>>
open_reader(std::shared_ptr<const model> m, const std::string& location,
            const options& opts);

/// Opens a read-only reader of the store at `location` whose reads all see
/// one state of it, taken now, until it is destroyed. Refuses a store that
/// is not ours or of a newer format.
caf::expected<std::unique_ptr<reader>>
open_snapshot(std::shared_ptr<const model> m, const std::string& location,
              const options& opts);

/// Checks, without writing, that the store at `location` holds every
/// table and column `m` defines with their types (`errc::schema_mismatch`
/// otherwise, naming the table and column): what a read-only runtime
/// needs.
[[nodiscard]] caf::error check_schema(const model& m,
                                      const std::string& location,
                                      const options& opts);

} // namespace eventactors::storage
