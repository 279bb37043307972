// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "line_reader.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace eventactors::cli {

line_reader::line_reader(int fd, std::size_t max)
  : fd_(fd), max_(max), buf_(64 * 1024) {
  // nop
}

line_reader::status line_reader::next(std::string& line) {
  line.clear();
  bool skipping = false;
  // Whether this line has begun: a last line without a newline counts.
  bool begun = false;
  for (;;) {
    if (pos_ == end_) {
      if (eof_)
        return skipping ? status::too_long
                        : (begun ? status::line : status::end);
      if (!fill())
        return status::failed;
      continue;
    }
    auto* begin = buf_.data() + pos_;
    auto* nl = static_cast<const char*>(std::memchr(begin, '\n', end_ - pos_));
    auto n = nl ? static_cast<std::size_t>(nl - begin) : end_ - pos_;
    begun = true;
    if (!skipping && line.size() + n > max_) {
      skipping = true;
      line.clear();
      line.shrink_to_fit();
    }
    if (!skipping)
      line.append(begin, n);
    pos_ += n;
    if (nl) {
      ++pos_;
      return skipping ? status::too_long : status::line;
    }
  }
}

bool line_reader::fill() {
  for (;;) {
    auto n = ::read(fd_, buf_.data(), buf_.size());
    if (n > 0) {
      pos_ = 0;
      end_ = static_cast<std::size_t>(n);
      return true;
    }
    if (n == 0) {
      pos_ = end_ = 0;
      eof_ = true;
      return true;
    }
    if (errno != EINTR) {
      error_ = std::generic_category().message(errno);
      return false;
    }
  }
}

} // namespace eventactors::cli
