// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/options.hpp"

#include <string>

#include <caf/settings.hpp>

#include "engine/limits.hpp"
#include "eventactors/error.hpp"

namespace eventactors {

caf::expected<runtime_options> read_options(const caf::settings& cfg,
                                            runtime_options defaults) {
  auto result = std::move(defaults);
  auto section = caf::get_if<caf::settings>(&cfg, "eventactors");
  if (!section)
    return result;
  auto bad = [](const std::string& key, const std::string& what) {
    return make_error(errc::invalid_definition,
                      "eventactors." + key + ": " + what);
  };
  for (auto& kvp : *section) {
    // Not a structured binding: clang 14 cannot capture those in lambdas.
    auto& key = kvp.first;
    auto& value = kvp.second;
    auto as_int = [&](int64_t min, int64_t max) -> caf::expected<int64_t> {
      auto x = caf::get_if<int64_t>(&value);
      if (!x)
        return bad(key, "expected an integer");
      if (*x < min || *x > max)
        return bad(key, "must be between " + std::to_string(min) + " and "
                          + std::to_string(max));
      return *x;
    };
    if (key == "path") {
      auto x = caf::get_if<std::string>(&value);
      if (!x || x->empty())
        return bad(key, "expected a non-empty string");
      result.path = *x;
    } else if (key == "synchronous") {
      auto x = caf::get_if<std::string>(&value);
      if (x && *x == "full")
        result.synchronous = sync_mode::full;
      else if (x && *x == "normal")
        result.synchronous = sync_mode::normal;
      else
        return bad(key, "expected \"full\" or \"normal\"");
    } else if (key == "max-batch") {
      auto x = as_int(1, 1'000'000);
      if (!x)
        return std::move(x.error());
      result.max_batch = static_cast<uint32_t>(*x);
    } else if (key == "max-input-bytes") {
      auto x = as_int(1, int64_t{1} << 40);
      if (!x)
        return std::move(x.error());
      result.max_input_bytes = static_cast<std::size_t>(*x);
    } else if (key == "call-timeout") {
      auto x = as_int(1, int64_t{1} << 40);
      if (!x)
        return std::move(x.error());
      result.call_timeout = std::chrono::milliseconds{*x};
    } else if (key == "idempotency-retention") {
      // At most a century: the oldest key kept stays a storable time.
      auto x = as_int(1, int64_t{100} * 365 * 24 * 3600);
      if (!x)
        return std::move(x.error());
      result.idempotency_retention = std::chrono::seconds{*x};
    } else if (key == "max-hook-depth") {
      auto x = as_int(0, hook_depth_limit);
      if (!x)
        return std::move(x.error());
      result.max_hook_depth = static_cast<uint32_t>(*x);
    } else if (key == "max-retries") {
      auto x = as_int(0, 1'000'000);
      if (!x)
        return std::move(x.error());
      result.max_retries = static_cast<uint32_t>(*x);
    } else if (key == "cache-kib") {
      auto x = as_int(64, 64 * 1024 * 1024);
      if (!x)
        return std::move(x.error());
      result.cache_kib = static_cast<uint32_t>(*x);
    } else if (key == "checkpoint-pages") {
      auto x = as_int(0, 1'000'000);
      if (!x)
        return std::move(x.error());
      result.checkpoint_pages = static_cast<uint32_t>(*x);
    } else if (key == "threads") {
      auto x = as_int(0, 256);
      if (!x)
        return std::move(x.error());
      result.threads = static_cast<uint32_t>(*x);
    } else {
      return bad(key, "unknown setting");
    }
  }
  return result;
}

} // namespace eventactors
