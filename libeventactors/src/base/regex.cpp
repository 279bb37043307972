// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "base/regex.hpp"

#include <re2/re2.h>

namespace eventactors {

regex::regex(std::string_view pattern) {
  RE2::Options opts;
  // Errors are reported to the caller, not printed on stderr.
  opts.set_log_errors(false);
  auto re = std::make_shared<const RE2>(
    re2::StringPiece{pattern.data(), pattern.size()}, opts);
  if (re->ok())
    re_ = std::move(re);
  else
    error_ = re->error().empty() ? std::string{"cannot compile"}
                                 : re->error();
}

bool regex::ok() const noexcept {
  return re_ != nullptr;
}

bool regex::search(std::string_view text) const {
  return RE2::PartialMatch(re2::StringPiece{text.data(), text.size()}, *re_);
}

} // namespace eventactors
