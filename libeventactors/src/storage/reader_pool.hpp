// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "model/model.hpp"
#include "storage/reader.hpp"
#include "storage/storage.hpp"

namespace eventactors {

/// Reader connections for synchronous reads from any thread (one per
/// concurrent reader, at most 16 kept idle).
///
/// Thread-safety: every member function is thread-safe.
class reader_pool {
public:
  reader_pool(std::shared_ptr<const model> m, std::string path,
              storage::options opts)
    : model_(std::move(m)), path_(std::move(path)), opts_(opts) {
    // nop
  }

  /// Borrows a reader for the duration of `fn`.
  template <class F>
  auto with(F&& fn) -> decltype(fn(std::declval<reader&>())) {
    std::unique_ptr<reader> rd;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (!idle_.empty()) {
        rd = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (!rd) {
      auto opened = storage::open_reader(model_, path_, opts_);
      if (!opened)
        return std::move(opened.error());
      rd = std::move(*opened);
    }
    auto result = fn(*rd);
    std::lock_guard<std::mutex> guard{mtx_};
    if (idle_.size() < 16)
      idle_.push_back(std::move(rd));
    return result;
  }

  /// Closes the connections not in use (reads reopen them on demand).
  void close_idle() {
    std::lock_guard<std::mutex> guard{mtx_};
    idle_.clear();
  }

private:
  std::shared_ptr<const model> model_;
  std::string path_;
  storage::options opts_;
  std::mutex mtx_;
  std::vector<std::unique_ptr<reader>> idle_;
};

} // namespace eventactors
