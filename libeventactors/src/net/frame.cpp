// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "net/frame.hpp"

#include <cstring>

namespace eventactors::net {

namespace {

uint64_t read_be(const char* p, size_t n) {
  uint64_t x = 0;
  for (size_t i = 0; i < n; ++i)
    x = (x << 8) | static_cast<unsigned char>(p[i]);
  return x;
}

void write_be(std::vector<char>& out, uint64_t x, size_t n) {
  for (size_t i = n; i > 0; --i)
    out.push_back(static_cast<char>((x >> (8 * (i - 1))) & 0xFF));
}

} // namespace

bool valid(frame_kind x) noexcept {
  auto n = static_cast<uint8_t>(x);
  return n >= static_cast<uint8_t>(frame_kind::hello)
         && n <= static_cast<uint8_t>(frame_kind::goodbye);
}

void append_frame(std::vector<char>& out, frame_kind kind, uint64_t id,
                  std::string_view body) {
  out.reserve(out.size() + frame_header_size + body.size());
  write_be(out, frame_overhead + body.size(), 4);
  out.push_back(static_cast<char>(kind));
  write_be(out, id, 8);
  out.insert(out.end(), body.begin(), body.end());
}

void frame_reader::feed(const char* data, size_t size) {
  // Drop the frames already taken before growing the buffer.
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buf_.insert(buf_.end(), data, data + size);
}

frame_reader::status frame_reader::next(frame& out) {
  if (!problem_.empty())
    return status::malformed;
  auto avail = buf_.size() - pos_;
  if (avail < 4)
    return status::incomplete;
  auto p = buf_.data() + pos_;
  auto len = read_be(p, 4);
  if (len < frame_overhead) {
    problem_ = "a frame of " + std::to_string(len)
               + " bytes is shorter than its header";
    return status::malformed;
  }
  if (len > max_frame_) {
    problem_ = "a frame of " + std::to_string(len)
               + " bytes exceeds the limit of " + std::to_string(max_frame_)
               + " bytes";
    return status::malformed;
  }
  if (avail < 4 + len)
    return status::incomplete;
  auto kind = static_cast<frame_kind>(static_cast<unsigned char>(p[4]));
  if (!valid(kind)) {
    problem_ = "unknown frame kind "
               + std::to_string(static_cast<unsigned char>(p[4]));
    return status::malformed;
  }
  out.kind = kind;
  out.id = read_be(p + 5, 8);
  out.body = std::string_view{p + frame_header_size, len - frame_overhead};
  pos_ += 4 + len;
  return status::frame;
}

} // namespace eventactors::net
