// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "base/crypto.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "detail/hex.hpp"
#include "eventactors/error.hpp"

namespace eventactors {

encryption_key::~encryption_key() {
  OPENSSL_cleanse(data(), size());
}

key_provider::~key_provider() {
  // nop
}

namespace crypto {

namespace {

constexpr uint8_t format_version = 1;
constexpr size_t iv_size = 12;
constexpr size_t tag_size = 16;

struct ctx_deleter {
  void operator()(EVP_CIPHER_CTX* ctx) const noexcept {
    EVP_CIPHER_CTX_free(ctx);
  }
};

using ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, ctx_deleter>;

caf::error fail(std::string what) {
  return make_error(errc::decryption_failed, std::move(what));
}

} // namespace

caf::expected<std::string> seal(const encryption_key& key,
                                std::string_view plain,
                                std::string_view context) {
  std::string out(1 + iv_size + plain.size() + tag_size, '\0');
  auto bytes = reinterpret_cast<unsigned char*>(out.data());
  bytes[0] = format_version;
  auto iv = bytes + 1;
  if (RAND_bytes(iv, iv_size) != 1)
    return make_error(errc::storage_failure, "encrypt: no random bytes");
  ctx_ptr ctx{EVP_CIPHER_CTX_new()};
  int len = 0;
  auto body = iv + iv_size;
  if (!ctx
      || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                            nullptr)
           != 1
      || EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, iv_size,
                             nullptr)
           != 1
      || EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), iv) != 1
      || EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                           reinterpret_cast<const unsigned char*>(
                             context.data()),
                           static_cast<int>(context.size()))
           != 1
      || EVP_EncryptUpdate(ctx.get(), body, &len,
                           reinterpret_cast<const unsigned char*>(plain.data()),
                           static_cast<int>(plain.size()))
           != 1
      || EVP_EncryptFinal_ex(ctx.get(), body + len, &len) != 1
      || EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, tag_size,
                             body + plain.size())
           != 1)
    return make_error(errc::storage_failure, "encrypt: OpenSSL failed");
  return out;
}

caf::expected<std::string> open(const encryption_key& key,
                                std::string_view sealed,
                                std::string_view context) {
  if (sealed.size() < 1 + iv_size + tag_size)
    return fail("the encrypted value is truncated");
  auto bytes = reinterpret_cast<const unsigned char*>(sealed.data());
  if (bytes[0] != format_version)
    return fail("unknown encryption format "
                + std::to_string(static_cast<int>(bytes[0])));
  auto iv = bytes + 1;
  auto body = iv + iv_size;
  auto body_size = sealed.size() - 1 - iv_size - tag_size;
  std::string out(body_size, '\0');
  ctx_ptr ctx{EVP_CIPHER_CTX_new()};
  int len = 0;
  if (!ctx
      || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                            nullptr)
           != 1
      || EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, iv_size,
                             nullptr)
           != 1
      || EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), iv) != 1
      || EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                           reinterpret_cast<const unsigned char*>(
                             context.data()),
                           static_cast<int>(context.size()))
           != 1
      || EVP_DecryptUpdate(ctx.get(),
                           reinterpret_cast<unsigned char*>(out.data()), &len,
                           body, static_cast<int>(body_size))
           != 1
      || EVP_CIPHER_CTX_ctrl(
           ctx.get(), EVP_CTRL_GCM_SET_TAG, tag_size,
           const_cast<unsigned char*>(body + body_size))
           != 1)
    return fail("OpenSSL failed");
  int tail = 0;
  if (EVP_DecryptFinal_ex(ctx.get(),
                          reinterpret_cast<unsigned char*>(out.data()) + len,
                          &tail)
      != 1)
    return fail("authentication failed: wrong key, or the stored value was "
                "changed");
  return out;
}

void wipe(std::string& x) noexcept {
  if (!x.empty())
    OPENSSL_cleanse(x.data(), x.size());
  x.clear();
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // Cannot fail for SHA-256 short of memory exhaustion.
  std::fill(std::begin(digest), std::end(digest), 0);
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (unsigned int i = 0; i < 32; ++i) {
    out += digits[digest[i] >> 4];
    out += digits[digest[i] & 0x0f];
  }
  return out;
}

std::optional<std::string> key_id_problem(std::string_view id) {
  if (id.empty())
    return "is empty";
  auto i = id.find_first_of(" \t,:");
  if (i == std::string_view::npos)
    return std::nullopt;
  const char* what = id[i] == ' '   ? "a space"
                     : id[i] == '\t' ? "a tab"
                     : id[i] == ',' ? "a comma"
                                    : "a colon";
  return std::string{"contains "} + what
         + " (key ids are free text without spaces, commas or colons)";
}

std::optional<encryption_key> parse_key(std::string_view hex) {
  if (hex.size() != 64)
    return std::nullopt;
  encryption_key key;
  for (size_t i = 0; i < 32; ++i) {
    auto hi = detail::hex_value(hex[2 * i]);
    auto lo = detail::hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    key[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return key;
}

} // namespace crypto

namespace {

/// Keys parsed once from text, then served from memory.
class static_keys : public key_provider {
public:
  caf::expected<std::string> current_key_id() override {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto err = load_once())
      return err;
    return current_;
  }

  caf::expected<encryption_key> key(std::string_view id) override {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto err = load_once())
      return err;
    auto i = keys_.find(std::string{id});
    if (i == keys_.end())
      return make_error(errc::decryption_failed,
                        "key \"" + std::string{id} + "\" is not in the "
                          + describe());
    return i->second;
  }

protected:
  /// Reads the keys' text; an error when it is not available.
  virtual caf::expected<std::string> read() const = 0;

  /// The separator between an id and its key, and between entries.
  virtual char entry_separator() const = 0;
  virtual char key_separator() const = 0;

private:
  caf::error load_once() {
    if (loaded_)
      return load_error_;
    loaded_ = true;
    auto text = read();
    if (!text) {
      load_error_ = std::move(text.error());
      return load_error_;
    }
    // The text and the pieces cut from it hold key material: wipe them on
    // every way out.
    struct wiper {
      std::vector<std::string*> xs;
      ~wiper() {
        for (auto x : xs)
          crypto::wipe(*x);
      }
    };
    std::string entry;
    std::string hex;
    wiper guard{{&*text, &entry, &hex}};
    size_t line = 0;
    size_t pos = 0;
    auto& s = *text;
    while (pos <= s.size()) {
      auto end = s.find(entry_separator(), pos);
      if (end == std::string::npos)
        end = s.size();
      crypto::wipe(entry);
      entry = s.substr(pos, end - pos);
      pos = end + 1;
      ++line;
      if (auto hash = entry.find('#'); hash != std::string::npos)
        entry.resize(hash);
      auto first = entry.find_first_not_of(" \t\r");
      if (first == std::string::npos)
        continue;
      auto last = entry.find_last_not_of(" \t\r");
      // In place: a copy would leave key material in freed memory.
      entry.erase(last + 1);
      entry.erase(0, first);
      auto sep = key_separator() == ' ' ? entry.find_first_of(" \t")
                                         : entry.find(key_separator());
      auto bad = [&](const std::string& why) {
        load_error_ = make_error(errc::invalid_definition,
                                 describe() + ": entry "
                                   + std::to_string(line) + ": " + why);
      };
      if (sep == std::string::npos || sep == 0) {
        bad("expected ID" + std::string(1, key_separator())
            + "KEY (64 hexadecimal digits)");
        return load_error_;
      }
      auto id = entry.substr(0, sep);
      // An id that looks like key material (the id and the key swapped) is
      // not repeated in the message.
      auto hex_digits = std::count_if(id.begin(), id.end(), [](char c) {
        return detail::hex_value(c) >= 0;
      });
      auto shown = id.size() >= 32 && hex_digits == static_cast<long>(id.size())
                     ? std::string{"(an id that looks like a key: are the id "
                                   "and the key swapped?)"}
                     : "\"" + id + "\"";
      if (auto why = crypto::key_id_problem(id)) {
        bad("key id " + shown + " " + *why);
        return load_error_;
      }
      crypto::wipe(hex);
      hex = entry.substr(sep + 1);
      auto hex_first = hex.find_first_not_of(" \t");
      if (hex_first == std::string::npos)
        crypto::wipe(hex);
      else
        hex.erase(0, hex_first);
      auto key = crypto::parse_key(hex);
      if (!key) {
        bad("the key of " + shown + " is not 64 hexadecimal digits");
        return load_error_;
      }
      if (keys_.count(id)) {
        bad("key " + shown + " is given twice");
        return load_error_;
      }
      keys_.emplace(id, *key);
      current_ = id;
      if (end == s.size())
        break;
    }
    if (keys_.empty())
      load_error_ = make_error(errc::invalid_definition,
                               describe() + " holds no key");
    return load_error_;
  }

  std::mutex mtx_;
  bool loaded_ = false;
  caf::error load_error_;
  std::map<std::string, encryption_key> keys_;
  std::string current_;
};

class file_keys : public static_keys {
public:
  explicit file_keys(std::string path) : path_(std::move(path)) {
    // nop
  }

  std::string describe() const override {
    return "key file " + path_;
  }

protected:
  caf::expected<std::string> read() const override {
    auto fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return make_error(errc::invalid_definition,
                        "cannot read " + describe() + " ("
                          + std::generic_category().message(errno) + ")");
    struct closer {
      int fd;
      ~closer() {
        ::close(fd);
      }
    } guard{fd};
    struct stat st;
    if (::fstat(fd, &st) != 0)
      return make_error(errc::invalid_definition,
                        "cannot read " + describe());
    // Like ssh with a private key: keys others may read are not used.
    if ((st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof(mode), "%04o",
                    static_cast<unsigned>(st.st_mode & 07777));
      return make_error(errc::invalid_definition,
                        describe() + " may be read by other users (mode "
                          + mode + "); make it readable by its owner only: "
                          "chmod 600 " + path_);
    }
    std::string text;
    char buf[4096];
    for (;;) {
      auto n = ::read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        OPENSSL_cleanse(buf, sizeof(buf));
        crypto::wipe(text);
        return make_error(errc::invalid_definition,
                          "cannot read " + describe());
      }
      if (n == 0)
        break;
      // Grown by hand, so that no reallocation leaves a copy unwiped.
      if (text.size() + n > text.capacity()) {
        std::string bigger;
        bigger.reserve(2 * (text.size() + n));
        bigger = text;
        crypto::wipe(text);
        text.swap(bigger);
      }
      text.append(buf, static_cast<size_t>(n));
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return text;
  }

  char entry_separator() const override {
    return '\n';
  }

  char key_separator() const override {
    return ' ';
  }

private:
  std::string path_;
};

class env_keys : public static_keys {
public:
  explicit env_keys(std::string variable) : variable_(std::move(variable)) {
    // nop
  }

  std::string describe() const override {
    return "environment variable " + variable_;
  }

protected:
  caf::expected<std::string> read() const override {
    auto value = std::getenv(variable_.c_str());
    if (!value || !*value)
      return make_error(errc::invalid_definition, describe() + " is not set");
    return std::string{value};
  }

  char entry_separator() const override {
    return ',';
  }

  char key_separator() const override {
    return ':';
  }

private:
  std::string variable_;
};

} // namespace

std::shared_ptr<key_provider> key_file_provider(std::string path) {
  return std::make_shared<file_keys>(std::move(path));
}

std::shared_ptr<key_provider> env_key_provider(std::string variable) {
  return std::make_shared<env_keys>(std::move(variable));
}

} // namespace eventactors
