// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
} // namespace re2

namespace eventactors {

/// A regular expression in RE2 syntax, compiled once. Matching takes time
/// linear in the text and constant stack, whatever the pattern: RE2 has no
/// backreferences or lookaround, the features that need backtracking.
///
/// Immutable after construction: copies share the compiled program and may
/// be used from several threads at once.
class regex {
public:
  /// Compiles `pattern`; `ok()` tells whether that worked and `error()`
  /// why not.
  explicit regex(std::string_view pattern);

  bool ok() const noexcept;

  /// The compiler's reason for refusing the pattern, or empty.
  const std::string& error() const noexcept {
    return error_;
  }

  /// Returns whether some part of `text` matches (like `regex_search`).
  /// @pre `ok()`
  bool search(std::string_view text) const;

private:
  std::shared_ptr<const re2::RE2> re_;
  std::string error_;
};

} // namespace eventactors
