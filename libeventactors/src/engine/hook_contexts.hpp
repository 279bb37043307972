// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/executor.hpp"
#include "eventactors/changeset.hpp"

namespace eventactors {

/// The hook context of hooks that run inside the unit.
class unit_context : public hook_context {
public:
  unit_context(execution& ex, const std::optional<eventactors::actor>& who,
               uint32_t depth)
    : ex_(ex), who_(who), depth_(depth) {
    // nop
  }

  caf::expected<record> run(call c, actor_mode mode) override;

  caf::expected<record> get(std::string_view resource,
                            const json::value& id) override;

  caf::expected<std::vector<record>> find(std::string_view resource,
                                          std::string_view attribute,
                                          const json::value& value) override;

  const std::optional<eventactors::actor>& actor() const noexcept override {
    return who_;
  }

  const environment& env() const noexcept override;

  bool replaying() const noexcept override {
    return ex_.replaying();
  }

private:
  execution& ex_;
  const std::optional<eventactors::actor>& who_;
  uint32_t depth_;
};

/// The hook context of after_transaction hooks: each action they run is a
/// unit of its own, committed before `run` returns.
class post_commit_context : public hook_context {
public:
  post_commit_context(executor& ex,
                      const std::optional<eventactors::actor>& who,
                      uint32_t depth)
    : ex_(ex), who_(who), depth_(depth) {
    // nop
  }

  caf::expected<record> run(call c, actor_mode mode) override;

  caf::expected<record> get(std::string_view resource,
                            const json::value& id) override;

  caf::expected<std::vector<record>> find(std::string_view resource,
                                          std::string_view attribute,
                                          const json::value& value) override;

  const std::optional<eventactors::actor>& actor() const noexcept override {
    return who_;
  }

  const environment& env() const noexcept override {
    return ex_.options->env;
  }

  bool replaying() const noexcept override {
    return ex_.replaying;
  }

private:
  executor& ex_;
  const std::optional<eventactors::actor>& who_;
  uint32_t depth_;
};

} // namespace eventactors
