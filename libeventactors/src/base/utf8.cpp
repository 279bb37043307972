// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "base/utf8.hpp"

#include <cstdint>

namespace eventactors::utf8 {

namespace {

/// The length of the well-formed UTF-8 sequence starting at `s[i]`, or 0
/// when there is none (a stray or truncated byte, an overlong form, a
/// surrogate, anything above U+10FFFF).
size_t sequence_length(const unsigned char* s, size_t n, size_t i) noexcept {
  auto c = s[i];
  if (c < 0x80)
    return 1;
  size_t len = 0;
  uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > n)
    return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((s[i + k] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i + k] & 0x3F);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800)
      || (len == 4 && cp < 0x10000) || cp > 0x10FFFF
      || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

} // namespace

bool valid(std::string_view str) noexcept {
  auto s = reinterpret_cast<const unsigned char*>(str.data());
  size_t n = str.size();
  for (size_t i = 0; i < n;) {
    auto len = sequence_length(s, n, i);
    if (len == 0)
      return false;
    i += len;
  }
  return true;
}

std::string escape(std::string_view str) {
  static constexpr char hex[] = "0123456789abcdef";
  auto s = reinterpret_cast<const unsigned char*>(str.data());
  size_t n = str.size();
  std::string result;
  result.reserve(n);
  for (size_t i = 0; i < n;) {
    auto c = s[i];
    auto len = sequence_length(s, n, i);
    if (len > 1) {
      result.append(str.data() + i, len);
      i += len;
      continue;
    }
    ++i;
    if (c == '\n') {
      result += "\\n";
    } else if (c == '\r') {
      result += "\\r";
    } else if (c == '\t') {
      result += "\\t";
    } else if (len == 0 || c < 0x20 || c == 0x7F) {
      result += "\\x";
      result += hex[c >> 4];
      result += hex[c & 0x0F];
    } else {
      result += static_cast<char>(c);
    }
  }
  return result;
}

std::size_t length(std::string_view str) noexcept {
  std::size_t count = 0;
  for (auto c : str)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80)
      ++count;
  return count;
}

} // namespace eventactors::utf8
