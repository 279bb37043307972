// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "eventactors/call.hpp"
#include "eventactors/record.hpp"
#include "storage/unit.hpp"
#include "write/record_turns.hpp"

namespace eventactors {

/// A call's idempotency key, checked, with the request it stands for and
/// the turn its holder takes: calls with one key run one at a time (they
/// share the record turns' queues, under keys of their own), so that the
/// second finds what the first committed.
struct idempotency_claim {
  /// The caller's key.
  std::string key;
  /// The hash of the canonical request (`idempotency::request_hash`).
  std::string hash;
  /// The key's turn (`idempotency::turn_key`).
  std::string turn;
  /// The ticket holding or waiting for the turn (0: none taken).
  record_turns::ticket ticket = 0;
  /// Whether the store was searched for the key while holding the turn.
  bool recalled = false;
};

namespace idempotency {

/// The longest key accepted, in bytes.
constexpr std::size_t max_key_bytes = 128;

/// Checks `key`: 1 to 128 bytes of printable ASCII. The error
/// (`errc::invalid_input`) names the field `idempotency_key`, prefixed with
/// `where` (e.g. "Accounts.User.create").
[[nodiscard]] caf::error check_key(const std::string& key,
                                   const std::string& where);

/// Checks the key of `c`, and returns its claim (no turn taken yet).
caf::expected<idempotency_claim> claim(const call& c);

/// Checks the key of `c`, and returns its claim (no turn taken yet).
caf::expected<idempotency_claim> claim(const batch_call& c);

/// The turn of `key` in `record_turns`: no record's turn key starts like
/// it (those start with a resource name).
std::string turn_key(std::string_view key);

/// The SHA-256 of the canonical request of `c`: its resource, action,
/// record id, input and actor, objects with their keys sorted. Metadata is
/// not part of it.
std::string request_hash(const call& c);

/// Like `request_hash` for a batch: resource, action, atomic, each item's
/// record id and input, and the actor.
std::string request_hash(const batch_call& c);

/// The stored form of a call's result: `rec`, whose event id is that of
/// op `op` of the unit (none: no event).
std::string encode(const record& rec, std::optional<std::size_t> op);

/// One item of a batch result as stored: its record and its op, or its
/// error.
struct stored_item {
  std::optional<record> rec;
  std::optional<std::size_t> op;
  caf::error err;
};

/// The stored form of a batch's result.
std::string encode(const std::vector<stored_item>& items);

/// The result a call stored with `e`, its event id taken from the unit's
/// receipt.
caf::expected<record> decode_record(const idempotency_entry& e);

/// The result a batch stored with `e`.
caf::expected<batch_result> decode_batch(const idempotency_entry& e);

} // namespace idempotency

} // namespace eventactors
