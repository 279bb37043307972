// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "engine/executor.hpp"

#include "eventactors/error.hpp"

namespace eventactors {

caf::expected<record> execution::run_unit(executor& ex, const call& c,
                                          uint32_t depth) {
  if (ex.run_unit)
    return ex.run_unit(ex, c, depth);
  execution unit_ex{ex, depth};
  auto rec = unit_ex.run(c);
  if (unit_ex.committed()) {
    auto err = unit_ex.finish(unit_ex.receipt());
    if (rec && err)
      return err;
    return rec;
  }
  if (!rec) {
    unit_ex.finish(rec.error());
    return rec;
  }
  auto receipt = ex.commit(unit_ex.pending());
  if (!receipt) {
    unit_ex.finish(receipt.error());
    return std::move(receipt.error());
  }
  unit_ex.stamp(*rec, *receipt);
  if (auto err = unit_ex.finish(*receipt))
    return err;
  return rec;
}

} // namespace eventactors
