// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "eventactors/environment.hpp"

namespace eventactors::test {

/// Counts the calls of an environment's clock and id generators while it is
/// armed: replay must never ask them (a value generated live comes from the
/// event).
class env_guard {
public:
  /// Returns `inner` with every function counting its calls while armed.
  environment wrap(environment inner) const {
    environment env;
    env.clock = [st = st_, f = std::move(inner.clock)] {
      st->count("clock");
      return f();
    };
    env.uuid_v4 = [st = st_, f = std::move(inner.uuid_v4)] {
      st->count("uuid_v4");
      return f();
    };
    env.uuid_v7 = [st = st_, f = std::move(inner.uuid_v7)] {
      st->count("uuid_v7");
      return f();
    };
    return env;
  }

  /// Arms the guard until the returned object goes out of scope.
  auto arm() const {
    st_->armed = true;
    struct disarm {
      std::shared_ptr<state> st;
      ~disarm() {
        st->armed = false;
      }
    };
    return disarm{st_};
  }

  /// Calls made while armed.
  int calls() const {
    return st_->calls.load();
  }

  /// The function called first while armed (empty if none).
  std::string first() const {
    return st_->first_name.load() ? st_->first_name.load() : "";
  }

private:
  struct state {
    std::atomic<bool> armed{false};
    std::atomic<int> calls{0};
    std::atomic<const char*> first_name{nullptr};
    void count(const char* name) {
      if (!armed)
        return;
      const char* none = nullptr;
      first_name.compare_exchange_strong(none, name);
      ++calls;
    }
  };
  std::shared_ptr<state> st_ = std::make_shared<state>();
};

} // namespace eventactors::test
