// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "base/uuid.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "detail/hex.hpp"

namespace eventactors::uuid {

namespace {

void put64(bytes& out, size_t pos, uint64_t x) {
  for (size_t i = 0; i < 8; ++i)
    out[pos + i] = static_cast<uint8_t>(x >> (56 - 8 * i));
}

/// Counts the fork(2)s of this process: a child drops the random bytes
/// it inherited, which its parent uses too.
std::atomic<uint64_t> fork_generation{0};

void on_fork_child() {
  fork_generation.fetch_add(1, std::memory_order_relaxed);
}

/// Random bytes from the operating system's CSPRNG (getrandom(2)), fetched
/// 4 KiB at a time: one system call serves 128 UUIDs.
class random_pool {
public:
  random_pool() {
    static std::once_flag registered;
    std::call_once(registered,
                   [] { ::pthread_atfork(nullptr, nullptr, on_fork_child); });
  }

  ~random_pool() {
    std::memset(buf_, 0, sizeof buf_);
  }

  uint64_t next() {
    auto gen = fork_generation.load(std::memory_order_relaxed);
    if (pos_ + 8 > sizeof buf_ || gen != generation_) {
      refill();
      generation_ = gen;
    }
    uint64_t x = 0;
    std::memcpy(&x, buf_ + pos_, 8);
    std::memset(buf_ + pos_, 0, 8); // used bytes are not kept
    pos_ += 8;
    return x;
  }

private:
  void refill() {
    size_t got = 0;
    while (got < sizeof buf_) {
      auto n = ::getrandom(buf_ + got, sizeof buf_ - got, 0);
      if (n > 0) {
        got += static_cast<size_t>(n);
      } else if (n < 0 && errno != EINTR) {
        // Only a kernel before 3.17 or a seccomp filter gets here.
        if (!read_urandom(buf_ + got, sizeof buf_ - got))
          std::abort(); // ids from a predictable source would be worse
        got = sizeof buf_;
      }
    }
    pos_ = 0;
  }

  static bool read_urandom(unsigned char* out, size_t len) {
    auto fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return false;
    size_t got = 0;
    while (got < len) {
      auto n = ::read(fd, out + got, len - got);
      if (n > 0)
        got += static_cast<size_t>(n);
      else if (n == 0 || errno != EINTR)
        break;
    }
    ::close(fd);
    return got == len;
  }

  unsigned char buf_[4096];
  size_t pos_ = sizeof buf_;
  uint64_t generation_ = 0;
};

uint64_t random64() {
  thread_local random_pool pool;
  return pool.next();
}

} // namespace

bytes v4_from(uint64_t hi, uint64_t lo) {
  bytes out;
  put64(out, 0, hi);
  put64(out, 8, lo);
  out[6] = static_cast<uint8_t>((out[6] & 0x0F) | 0x40);
  out[8] = static_cast<uint8_t>((out[8] & 0x3F) | 0x80);
  return out;
}

bytes random_v4() {
  auto hi = random64();
  auto lo = random64();
  return v4_from(hi, lo);
}

void v7_sequence::resume_after(const bytes& last) {
  uint64_t ms = 0;
  for (size_t i = 0; i < 6; ++i)
    ms = ms << 8 | last[i];
  auto counter = static_cast<uint16_t>((last[6] & 0x0F) << 8 | last[7]);
  if (ms > last_ms_ || (ms == last_ms_ && counter > counter_)) {
    last_ms_ = ms;
    counter_ = counter;
  }
}

bytes v7_sequence::next(timestamp now, uint64_t r1, uint64_t r2) {
  // Times before 1970 count as 0: the 48-bit field is unsigned.
  auto count = std::chrono::duration_cast<std::chrono::milliseconds>(
                 now.time_since_epoch())
                 .count();
  auto ms = count > 0 ? static_cast<uint64_t>(count) : uint64_t{0};
  if (ms > last_ms_) {
    last_ms_ = ms;
    // Start low in the counter space to leave room for many ids per ms.
    counter_ = static_cast<uint16_t>(r1 & 0x1FF);
  } else if (counter_ >= 0xFFF) {
    // Counter exhausted (or the clock went back): borrow the next ms.
    ++last_ms_;
    counter_ = static_cast<uint16_t>(r1 & 0x1FF);
  } else {
    ++counter_;
  }
  bytes out;
  put64(out, 8, r2);
  for (size_t i = 0; i < 6; ++i)
    out[i] = static_cast<uint8_t>(last_ms_ >> (40 - 8 * i));
  out[6] = static_cast<uint8_t>(0x70 | ((counter_ >> 8) & 0x0F));
  out[7] = static_cast<uint8_t>(counter_ & 0xFF);
  out[8] = static_cast<uint8_t>((out[8] & 0x3F) | 0x80);
  return out;
}

bytes next_v7(timestamp now) {
  static std::mutex mtx;
  static v7_sequence seq;
  auto r1 = random64();
  auto r2 = random64();
  std::lock_guard<std::mutex> guard{mtx};
  return seq.next(now, r1, r2);
}

std::string format(const bytes& x) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out += '-';
    out += digits[x[i] >> 4];
    out += digits[x[i] & 0x0F];
  }
  return out;
}

std::optional<bytes> parse(std::string_view str) {
  if (str.size() != 36)
    return std::nullopt;
  bytes out;
  size_t pos = 0;
  for (size_t i = 0; i < 16; ++i) {
    if (pos == 8 || pos == 13 || pos == 18 || pos == 23) {
      if (str[pos] != '-')
        return std::nullopt;
      ++pos;
    }
    auto hi = detail::hex_value(str[pos]);
    auto lo = detail::hex_value(str[pos + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
    pos += 2;
  }
  return out;
}

std::optional<std::string> canonical(std::string_view str) {
  if (auto x = parse(str))
    return format(*x);
  return std::nullopt;
}

} // namespace eventactors::uuid
