// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace eventactors {

/// A 256-bit AES key. Its bytes are wiped (`OPENSSL_cleanse`) when it is
/// destroyed, so no copy leaves key material behind in freed memory.
struct encryption_key : std::array<uint8_t, 32> {
  encryption_key() noexcept : std::array<uint8_t, 32>{} {
    // nop
  }

  encryption_key(const encryption_key&) = default;

  encryption_key& operator=(const encryption_key&) = default;

  ~encryption_key();
};

/// Supplies the keys of an encrypted event log. Keys never appear in the
/// definitions: the definitions name a provider, the provider reads keys
/// from where the operator keeps them.
///
/// Every event records the id of the key it was encrypted with, so keys can
/// be rotated: new events use `current_key_id`, old ones stay readable as
/// long as their key is still available.
///
/// Thread-safety: called from several threads at once; implementations must
/// be safe for that.
class key_provider {
public:
  virtual ~key_provider();

  /// The id of the key new events are encrypted with.
  virtual caf::expected<std::string> current_key_id() = 0;

  /// The key with id `id`; an error when it is not available.
  virtual caf::expected<encryption_key> key(std::string_view id) = 0;

  /// Describes where the keys come from, for error messages (never the keys
  /// themselves), e.g. `key file /etc/app/keys`.
  virtual std::string describe() const = 0;
};

/// Keys from a file, read once on first use: one key per line, `ID HEX`
/// with 64 hexadecimal digits; `#` starts a comment. The last key is the
/// current one. Ids hold no space, comma or colon. A file that its group or other users may read (any of the
/// permission bits 0077) is refused, naming the file and the fix
/// (`chmod 600`), as ssh refuses a private key file.
std::shared_ptr<key_provider> key_file_provider(std::string path);

/// Keys from an environment variable, read once on first use:
/// `ID:HEX,ID:HEX,...` with 64 hexadecimal digits per key; the last key is
/// the current one. Ids hold no space, comma or colon.
std::shared_ptr<key_provider>
env_key_provider(std::string variable = "EVENTACTORS_KEYS");

} // namespace eventactors
