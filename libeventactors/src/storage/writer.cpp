// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "storage/writer.hpp"

#include <utility>

#include "eventactors/error.hpp"

namespace eventactors {

writer::~writer() {
  // nop
}

write_transaction::write_transaction(write_transaction&& other) noexcept
  : w_(other.w_) {
  other.w_ = nullptr;
}

write_transaction::~write_transaction() {
  rollback();
}

caf::expected<write_transaction> write_transaction::begin(writer& w) {
  if (w.in_transaction())
    return make_error(errc::storage_failure,
                      "begin transaction: the writer has a transaction "
                      "open already");
  if (auto err = w.begin())
    return err;
  return write_transaction{&w};
}

caf::error write_transaction::commit() {
  if (!w_)
    return {};
  auto w = std::exchange(w_, nullptr);
  return w->commit();
}

void write_transaction::rollback() noexcept {
  if (w_)
    std::exchange(w_, nullptr)->rollback();
}

} // namespace eventactors
