// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "net/credentials.hpp"

#include <charconv>
#include <fstream>
#include <sstream>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "detail/text.hpp"
#include "eventactors/error.hpp"

namespace eventactors::net {

namespace {

constexpr std::string_view scheme = "pbkdf2-sha256";
constexpr size_t salt_size = 16;
constexpr size_t hash_size = 32;
// Bounds on the iteration count read from a users file: enough to make
// guessing slow, not so many that one login stalls the node.
constexpr uint32_t min_iterations = 1000;
constexpr uint32_t max_iterations = 10000000;

std::string base64(const unsigned char* data, size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  auto n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data,
                           static_cast<int>(size));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Decodes base64 of exactly `size` bytes; nothing for anything else.
std::optional<std::vector<unsigned char>> unbase64(std::string_view text,
                                                   size_t size) {
  if (text.size() != 4 * ((size + 2) / 3))
    return std::nullopt;
  std::vector<unsigned char> out(text.size() / 4 * 3);
  auto n = EVP_DecodeBlock(out.data(),
                           reinterpret_cast<const unsigned char*>(text.data()),
                           static_cast<int>(text.size()));
  if (n < 0)
    return std::nullopt;
  // EVP_DecodeBlock counts the padding's zero bytes as data.
  auto pad = text.size() - text.find_last_not_of('=') - 1;
  if (static_cast<size_t>(n) - pad != size)
    return std::nullopt;
  out.resize(size);
  return out;
}

std::vector<unsigned char> derive(std::string_view secret,
                                  const std::vector<unsigned char>& salt,
                                  uint32_t iterations) {
  std::vector<unsigned char> out(hash_size);
  PKCS5_PBKDF2_HMAC(secret.data(), static_cast<int>(secret.size()),
                    salt.data(), static_cast<int>(salt.size()),
                    static_cast<int>(iterations), EVP_sha256(),
                    static_cast<int>(out.size()), out.data());
  return out;
}

struct parsed_hash {
  uint32_t iterations;
  std::vector<unsigned char> salt;
  std::vector<unsigned char> hash;
};

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    auto pos = text.find(sep, start);
    parts.push_back(text.substr(start, pos - start));
    if (pos == std::string_view::npos)
      return parts;
    start = pos + 1;
  }
}

caf::expected<parsed_hash> parse_hash(std::string_view stored) {
  auto fail = [](std::string what) {
    return make_error(errc::invalid_input, std::move(what));
  };
  auto parts = split(stored, '$');
  if (parts.size() != 4 || parts[0] != scheme)
    return fail("a secret hash reads pbkdf2-sha256$ITERATIONS$SALT$HASH "
                "(see `eventactors hash-secret`)");
  parsed_hash result;
  auto [end, ec] = std::from_chars(parts[1].data(),
                                   parts[1].data() + parts[1].size(),
                                   result.iterations);
  if (ec != std::errc{} || end != parts[1].data() + parts[1].size()
      || result.iterations < min_iterations
      || result.iterations > max_iterations)
    return fail("the iteration count of a secret hash must be a number from "
                + std::to_string(min_iterations) + " to "
                + std::to_string(max_iterations));
  auto salt = unbase64(parts[2], salt_size);
  auto hash = unbase64(parts[3], hash_size);
  if (!salt || !hash)
    return fail("the salt or hash of a secret hash is not base64 of "
                + std::to_string(salt_size) + " and "
                + std::to_string(hash_size) + " bytes");
  result.salt = std::move(*salt);
  result.hash = std::move(*hash);
  return result;
}

} // namespace

std::string_view to_string(role x) {
  switch (x) {
    case role::reader:
      return "reader";
    case role::writer:
      return "writer";
    case role::admin:
      return "admin";
  }
  return "unknown";
}

std::optional<role> parse_role(std::string_view name) {
  for (auto r : {role::reader, role::writer, role::admin})
    if (to_string(r) == name)
      return r;
  return std::nullopt;
}

std::string hash_secret(std::string_view secret, uint32_t iterations) {
  std::vector<unsigned char> salt(salt_size);
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1)
    return {};
  auto hash = derive(secret, salt, iterations);
  std::string out{scheme};
  out += '$';
  out += std::to_string(iterations);
  out += '$';
  out += base64(salt.data(), salt.size());
  out += '$';
  out += base64(hash.data(), hash.size());
  return out;
}

bool check_secret(std::string_view secret, std::string_view stored) {
  auto parsed = parse_hash(stored);
  if (!parsed)
    return false;
  auto hash = derive(secret, parsed->salt, parsed->iterations);
  return CRYPTO_memcmp(hash.data(), parsed->hash.data(), hash_size) == 0;
}

std::optional<std::string> hash_problem(std::string_view stored) {
  auto parsed = parse_hash(stored);
  if (!parsed)
    return message(parsed.error());
  return std::nullopt;
}

caf::expected<user_table> user_table::load(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_error(errc::invalid_input,
                      "cannot read the users file " + detail::quoted(path));
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

caf::expected<user_table> user_table::parse(std::string_view text,
                                            std::string_view origin) {
  user_table result;
  size_t line_no = 0;
  for (auto line : split(text, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    auto first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#')
      continue;
    std::vector<std::string_view> words;
    for (auto word : split(line, ' '))
      if (!word.empty())
        words.push_back(word);
    auto where = std::string{origin} + ":" + std::to_string(line_no) + ": ";
    if (words.size() != 3)
      return make_error(errc::invalid_input,
                        where + "a user line reads NAME ROLE HASH");
    auto r = parse_role(words[1]);
    if (!r)
      return make_error(errc::invalid_input,
                        where + "unknown role " + detail::quoted(words[1])
                          + " (reader, writer or admin)");
    if (auto problem = hash_problem(words[2]))
      return make_error(errc::invalid_input, where + *problem);
    if (result.users_.count(words[0]) > 0)
      return make_error(errc::invalid_input,
                        where + "user " + detail::quoted(words[0])
                          + " is listed twice");
    result.add(std::string{words[0]}, *r, std::string{words[2]});
  }
  return result;
}

void user_table::add(std::string name, role r, std::string secret_hash) {
  users_[std::move(name)] = entry{r, std::move(secret_hash)};
}

std::optional<role> user_table::authenticate(std::string_view name,
                                             std::string_view secret) const {
  auto i = users_.find(name);
  if (i == users_.end()) {
    // Spend the time a known name costs, so that timing does not tell
    // which names exist.
    static const auto dummy = hash_secret("", 100000);
    check_secret(secret, dummy);
    return std::nullopt;
  }
  if (!check_secret(secret, i->second.hash))
    return std::nullopt;
  return i->second.r;
}

} // namespace eventactors::net
