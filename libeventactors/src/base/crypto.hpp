// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "eventactors/encryption.hpp"

namespace eventactors::crypto {

/// Encrypts `plain` with AES-256-GCM under `key`, authenticating `context`
/// too (it must be given again to decrypt). Returns a version byte, a
/// random 96-bit IV, the ciphertext and the 128-bit tag.
caf::expected<std::string> seal(const encryption_key& key,
                                std::string_view plain,
                                std::string_view context);

/// Reverses `seal`; fails when the key or the context is not the one used,
/// or the sealed bytes were changed.
caf::expected<std::string> open(const encryption_key& key,
                                std::string_view sealed,
                                std::string_view context);

/// Returns the SHA-256 digest of `data` as 64 lowercase hexadecimal digits.
std::string sha256_hex(std::string_view data);

/// Overwrites the bytes of `x` (`OPENSSL_cleanse`), then empties it.
void wipe(std::string& x) noexcept;

/// Why `id` cannot name a key: it is empty, or it holds a space, a tab, a
/// comma or a colon (the separators of the key formats). Nothing when it
/// can.
std::optional<std::string> key_id_problem(std::string_view id);

/// Parses 64 hexadecimal digits into a key.
std::optional<encryption_key> parse_key(std::string_view hex);

} // namespace eventactors::crypto
