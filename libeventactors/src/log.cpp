// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/log.hpp"

#include <atomic>
#include <mutex>

#include <spdlog/sinks/null_sink.h>

#include "detail/log.hpp"

namespace eventactors {

namespace {

std::mutex logger_mtx;

std::shared_ptr<spdlog::logger>& logger_ptr() {
  static auto ptr = std::make_shared<spdlog::logger>(
    "eventactors", std::make_shared<spdlog::sinks::null_sink_mt>());
  return ptr;
}

// Raw pointer for lock-free reads; the shared_ptrs set so far stay alive in
// `retired` so that a reader never sees a dangling logger.
std::atomic<spdlog::logger*> current{nullptr};

} // namespace

void set_logger(std::shared_ptr<spdlog::logger> logger) {
  static std::vector<std::shared_ptr<spdlog::logger>> retired;
  std::lock_guard<std::mutex> guard{logger_mtx};
  if (!logger)
    return;
  retired.push_back(logger);
  current.store(logger.get());
}

namespace detail {

spdlog::logger& log() {
  if (auto ptr = current.load())
    return *ptr;
  return *logger_ptr();
}

} // namespace detail

} // namespace eventactors
