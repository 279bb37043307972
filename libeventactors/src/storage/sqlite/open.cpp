// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The factories of storage/storage.hpp for the only backend so far: every
// location is a SQLite file. A second backend chooses by location here.

#include "storage/storage.hpp"

#include "storage/sqlite/database.hpp"
#include "storage/sqlite/reader.hpp"
#include "storage/sqlite/schema.hpp"
#include "storage/sqlite/writer.hpp"

namespace eventactors::storage {

namespace {

sqlite::open_options sqlite_options(const options& opts) {
  sqlite::open_options result;
  result.synchronous = opts.synchronous == sync_mode::full ? "FULL"
                                                           : "NORMAL";
  result.cache_kib = static_cast<int>(opts.cache_kib);
  return result;
}

} // namespace

options connection_options(const runtime_options& opts) {
  options result;
  result.synchronous = opts.synchronous;
  result.cache_kib = opts.cache_kib;
  return result;
}

caf::expected<std::unique_ptr<writer>>
open_writer(std::shared_ptr<const model> m, const std::string& location,
            const options& opts, environment env) {
  auto w = sqlite::writer::open(std::move(m), location, sqlite_options(opts),
                                std::move(env), opts.checkpoint_pages);
  if (!w)
    return std::move(w.error());
  return std::unique_ptr<writer>{std::move(*w)};
}

caf::expected<std::unique_ptr<reader>>
open_reader(std::shared_ptr<const model> m, const std::string& location,
            const options& opts) {
  auto rd = sqlite::reader::open(std::move(m), location, sqlite_options(opts));
  if (!rd)
    return std::move(rd.error());
  return std::unique_ptr<reader>{std::move(*rd)};
}

caf::expected<std::unique_ptr<reader>>
open_snapshot(std::shared_ptr<const model> m, const std::string& location,
              const options& opts) {
  auto rd = sqlite::reader::open_snapshot(std::move(m), location,
                                          sqlite_options(opts));
  if (!rd)
    return std::move(rd.error());
  return std::unique_ptr<reader>{std::move(*rd)};
}

caf::error check_schema(const model& m, const std::string& location,
                        const options& opts) {
  auto ro = sqlite_options(opts);
  ro.mode = sqlite::open_mode::read_only;
  auto db = sqlite::database::open(location, ro);
  if (!db)
    return std::move(db.error());
  return schema::check_matches(db->get(), m);
}

} // namespace eventactors::storage
