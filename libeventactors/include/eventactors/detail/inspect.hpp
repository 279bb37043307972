// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <optional>
#include <string>

#include <caf/error.hpp>

#include "eventactors/json.hpp"

namespace eventactors::detail {

/// Carries a JSON value as text through CAF's inspectors, so that message
/// types holding Boost.JSON values serialize for the network. Not API.
struct json_text {
  std::string text;

  static json_text of(const json::value& x);
  static json_text of(const json::object& x);

  /// Parses `text` into `x`; returns an error naming the problem.
  caf::error load(json::value& x) const;
  caf::error load(json::object& x) const;
};

/// Carries a `std::optional<T>` through CAF 0.17's inspectors, which know
/// no `std::optional`, as a flag and a value. Not API.
template <class T>
struct optional_field {
  bool engaged = false;
  T value;

  static optional_field of(const std::optional<T>& x) {
    if (x)
      return {true, *x};
    return {false, T{}};
  }

  void load(std::optional<T>& x) const {
    if (engaged)
      x = value;
    else
      x.reset();
  }
};

} // namespace eventactors::detail
