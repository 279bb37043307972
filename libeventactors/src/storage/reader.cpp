// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "storage/reader.hpp"

#include <utility>

namespace eventactors {

reader::~reader() {
  // nop
}

caf::error reader::stream_events(
  const event_log& log, event_filter f,
  const std::function<caf::error(std::vector<event>&)>& fn) {
  for (;;) {
    auto page = events(log, f);
    if (!page)
      return std::move(page.error());
    if (page->events.empty())
      return {};
    if (auto err = fn(page->events))
      return err;
    if (page->next_after_id.is_null())
      return {};
    f.after_id = std::move(page->next_after_id);
  }
}

record reader::to_record(const resource_info& res, stored_record x) {
  record result;
  result.resource = res.def->name();
  if (auto id = x.values.if_contains(res.def->primary_key()))
    result.id = *id;
  result.values = std::move(x.values);
  return result;
}

caf::error sync_key_counters(const model& m, reader& rd) {
  for (auto& [name, info] : m.resources()) {
    if (info->def->key() != key_kind::integer)
      continue;
    auto top = rd.max_key_ever(*info);
    if (!top)
      return std::move(top.error());
    info->next_id.store(*top + 1);
  }
  return {};
}

} // namespace eventactors
