// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// How an encrypted log binds each sealed payload to its event: the same for
// every backend, so that a store's events open wherever they are copied.

#include <cstdint>
#include <string>
#include <string_view>

#include "eventactors/event_log.hpp"
#include "eventactors/json.hpp"

namespace eventactors {

/// The payload columns of an encrypted log that are stored sealed, in the
/// order events are selected and inserted.
inline constexpr const char* sealed_columns[] = {"data", "changed_attributes",
                                                 "metadata"};

/// The columns of an event that its sealed payloads are bound to.
struct sealed_fields {
  std::string_view resource;
  const json::value& record_id;
  std::string_view action;
  std::string_view action_type;
  const json::object& actors;
  int32_t version;
  std::string_view occurred_at;
  std::string_view key_id;
};

/// What an encrypted payload is bound to (its additional authenticated
/// data): the log, the event's id, the field, and every other column of the
/// event, each length-prefixed. A sealed value moved to another event or
/// field, or an event whose other columns were edited, fails to open.
std::string sealing_context(const event_log& log, const json::value& event_id,
                            std::string_view field, const sealed_fields& ev);

} // namespace eventactors
