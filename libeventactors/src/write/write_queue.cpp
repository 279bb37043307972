// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "write/write_queue.hpp"

#include "detail/log.hpp"
#include "eventactors/error.hpp"

namespace eventactors {

struct write_queue::request {
  enum class state { queued, writing, done };

  std::vector<unit*> units;
  std::vector<caf::expected<unit_receipt>> results;
  /// Set for `exclusive`: runs instead of writing units.
  const std::function<void(writer&)>* fn = nullptr;
  /// The caller checked the units' epochs when it accepted them.
  bool epoch_checked = false;
  state st = state::queued;
};

write_queue::write_queue(std::unique_ptr<writer> w,
                         std::shared_ptr<replay_gate> gate, uint32_t max_batch)
  : gate_(std::move(gate)), max_batch_(max_batch == 0 ? 1 : max_batch),
    writer_(std::move(w)) {
  // nop
}

write_queue::~write_queue() {
  close();
}

caf::expected<unit_receipt> write_queue::submit(
  unit& u, std::optional<std::chrono::steady_clock::time_point> deadline) {
  return std::move(submit(std::vector<unit*>{&u}, deadline, false).front());
}

std::vector<caf::expected<unit_receipt>> write_queue::submit(
  std::vector<unit*> units,
  std::optional<std::chrono::steady_clock::time_point> deadline,
  bool epoch_checked) {
  request req;
  req.units = std::move(units);
  req.epoch_checked = epoch_checked;
  auto fail_all = [&](const caf::error& err) {
    req.results.assign(req.units.size(), caf::expected<unit_receipt>{err});
    return std::move(req.results);
  };
  if (req.units.empty())
    return {};
  std::unique_lock<std::mutex> guard{mtx_};
  if (closed_)
    return fail_all(make_error(errc::runtime_stopped,
                               "the runtime was stopped"));
  queue_.push_back(&req);
  auto leave = [&] {
    for (auto i = queue_.begin(); i != queue_.end(); ++i)
      if (*i == &req) {
        queue_.erase(i);
        break;
      }
    cv_.notify_all();
  };
  for (;;) {
    if (req.st == request::state::done)
      return std::move(req.results);
    if (closed_ && req.st == request::state::queued) {
      // Closed while waiting: never started, never will.
      leave();
      return fail_all(make_error(errc::runtime_stopped,
                                 "the runtime was stopped"));
    }
    if (req.st == request::state::queued && queue_.front() == &req)
      break;
    if (deadline && req.st == request::state::queued) {
      if (cv_.wait_until(guard, *deadline) == std::cv_status::timeout
          && req.st == request::state::queued && queue_.front() != &req) {
        // Nothing of it was written: take it out.
        leave();
        return fail_all(make_error(errc::timeout,
                                   "no commit within the call_timeout; "
                                   "nothing was written"));
      }
    } else {
      cv_.wait(guard);
    }
  }
  // The leader: write what is queued, from the front on.
  std::vector<request*> group;
  try {
    group.reserve(queue_.size());
  } catch (...) {
    leave();
    throw;
  }
  size_t taken = 0;
  for (auto r : queue_) {
    if (r->fn || (taken > 0 && taken + r->units.size() > max_batch_))
      break;
    r->st = request::state::writing;
    group.push_back(r);
    taken += r->units.size();
  }
  guard.unlock();
  try {
    write_group(group);
  } catch (const std::exception& e) {
    // E.g. bad_alloc: nothing of the group is known to be committed.
    writer_->rollback();
    auto err = make_error(errc::storage_failure,
                          std::string{"append failed: "} + e.what());
    for (auto r : group)
      r->results.assign(r->units.size(), caf::expected<unit_receipt>{err});
  }
  guard.lock();
  for (auto r : group) {
    r->st = request::state::done;
    queue_.pop_front();
  }
  cv_.notify_all();
  return std::move(req.results);
}

void write_queue::write_group(std::vector<request*>& group) {
  auto& w = *writer_;
  // Units applied to the open transaction, to fail if the commit does.
  std::vector<caf::expected<unit_receipt>*> applied;
  auto fail_applied = [&](const caf::error& cause) {
    auto text = applied.size() == 1
                  ? "the commit failed: " + message(cause)
                  : "the commit shared by " + std::to_string(applied.size())
                      + " actions failed: " + message(cause);
    for (auto x : applied)
      *x = make_error(errc::storage_failure, text);
    applied.clear();
  };
  for (auto r : group) {
    r->results.clear();
    r->results.reserve(r->units.size());
    for (auto u : r->units) {
      if (!r->epoch_checked)
        if (auto err = gate_->check(u->epoch)) {
          r->results.emplace_back(std::move(err));
          continue;
        }
      caf::expected<unit_receipt> receipt{caf::error{}};
      try {
        receipt = w.apply(*u);
      } catch (const std::exception& e) {
        // E.g. bad_alloc: the transaction is in an unknown state, so it
        // and every unit in it fail.
        w.rollback();
        receipt = make_error(errc::storage_failure,
                             std::string{"append failed: "} + e.what());
        fail_applied(receipt.error());
      }
      if (!receipt && !w.in_transaction())
        fail_applied(receipt.error()); // the transaction is gone
      r->results.emplace_back(std::move(receipt));
      if (r->results.back())
        applied.push_back(&r->results.back());
    }
  }
  if (!w.in_transaction())
    return;
  if (applied.empty()) {
    w.rollback(); // nothing to keep
    return;
  }
  caf::error err;
  try {
    err = w.commit();
  } catch (const std::exception& e) {
    w.rollback();
    err = make_error(errc::storage_failure,
                     std::string{"commit failed: "} + e.what());
  }
  SPDLOG_LOGGER_DEBUG(&detail::log(), "commit units={} ok={}", applied.size(),
                      !err);
  if (err)
    fail_applied(err);
}

bool write_queue::exclusive(const std::function<void(writer&)>& fn) {
  request req;
  req.fn = &fn;
  std::unique_lock<std::mutex> guard{mtx_};
  if (closed_)
    return false;
  queue_.push_back(&req);
  cv_.wait(guard, [&] { return closed_ || queue_.front() == &req; });
  if (closed_) {
    for (auto i = queue_.begin(); i != queue_.end(); ++i)
      if (*i == &req) {
        queue_.erase(i);
        break;
      }
    cv_.notify_all();
    return false;
  }
  req.st = request::state::writing;
  guard.unlock();
  try {
    fn(*writer_);
  } catch (...) {
    writer_->rollback();
    guard.lock();
    queue_.pop_front();
    cv_.notify_all();
    throw;
  }
  writer_->rollback(); // no-op unless `fn` left a transaction open
  guard.lock();
  queue_.pop_front();
  cv_.notify_all();
  return true;
}

size_t write_queue::waiting() {
  std::lock_guard<std::mutex> guard{mtx_};
  return queue_.size();
}

bool write_queue::closed() {
  std::lock_guard<std::mutex> guard{mtx_};
  return closed_;
}

void write_queue::close() {
  std::unique_lock<std::mutex> guard{mtx_};
  if (closed_)
    return;
  closed_ = true;
  // Wait for the write in progress; the requests queued behind it were
  // never started.
  cv_.wait(guard, [&] {
    return queue_.empty()
           || queue_.front()->st == request::state::queued;
  });
  for (auto r : queue_) {
    r->results.assign(r->units.size(),
                      caf::expected<unit_receipt>{make_error(
                        errc::runtime_stopped, "the runtime was stopped")});
    r->st = request::state::done;
  }
  queue_.clear();
  cv_.notify_all();
  writer_->rollback();
  writer_.reset();
}

} // namespace eventactors
