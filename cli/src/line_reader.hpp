// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace eventactors::cli {

/// Reads lines from a file descriptor keeping at most `max` bytes of one
/// line: a longer line is read past and reported, never held, so a huge
/// line costs no more memory than a line at the limit.
class line_reader {
public:
  enum class status { line, too_long, end, failed };

  line_reader(int fd, std::size_t max);

  /// Reads the next line into `line` (without its newline). `too_long`
  /// leaves `line` empty; `failed` sets `error()`.
  status next(std::string& line);

  const std::string& error() const noexcept {
    return error_;
  }

private:
  bool fill();

  int fd_;
  std::size_t max_;
  std::vector<char> buf_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
  std::string error_;
};

} // namespace eventactors::cli
