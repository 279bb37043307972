// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "write/record_turns.hpp"

#include <condition_variable>
#include <memory>

namespace eventactors {

std::string record_turns::key(std::string_view resource,
                              std::string_view record) {
  std::string result;
  result.reserve(resource.size() + record.size() + 1);
  result += resource;
  result += '\x1f';
  result += record;
  return result;
}

record_turns::ticket record_turns::next_ticket() {
  std::lock_guard<std::mutex> guard{mtx_};
  return ++next_;
}

bool record_turns::take(const std::string& key, ticket t, grant_fn granted) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& q = queues_[key];
  q.push_back(waiter{t, q.empty() ? grant_fn{} : std::move(granted)});
  return q.size() == 1;
}

std::optional<record_turns::ticket>
record_turns::wait(const std::string& key,
                   std::optional<clock::time_point> deadline) {
  struct signal {
    std::mutex mtx;
    std::condition_variable cv;
    bool granted = false;
  };
  auto sig = std::make_shared<signal>();
  auto t = next_ticket();
  auto granted = [sig] {
    {
      std::lock_guard<std::mutex> guard{sig->mtx};
      sig->granted = true;
    }
    sig->cv.notify_one();
  };
  if (take(key, t, granted))
    return t;
  std::unique_lock<std::mutex> guard{sig->mtx};
  auto ready = [&] { return sig->granted; };
  if (!deadline) {
    sig->cv.wait(guard, ready);
    return t;
  }
  if (sig->cv.wait_until(guard, *deadline, ready))
    return t;
  guard.unlock();
  // Too late: leave the queue, or pass on a turn granted just now.
  release(key, t);
  return std::nullopt;
}

void record_turns::release(const std::string& key, ticket t) {
  grant_fn next;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = queues_.find(key);
    if (i == queues_.end())
      return;
    auto& q = i->second;
    if (q.empty())
      return;
    if (q.front().id != t) {
      // Still waiting: leave the queue.
      for (auto j = q.begin(); j != q.end(); ++j)
        if (j->id == t) {
          q.erase(j);
          break;
        }
      return;
    }
    q.pop_front();
    if (q.empty()) {
      queues_.erase(i);
      return;
    }
    next = std::move(q.front().granted);
    q.front().granted = nullptr;
  }
  if (next)
    next();
}

size_t record_turns::tickets(const std::string& key) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = queues_.find(key);
  return i == queues_.end() ? 0 : i->second.size();
}

size_t record_turns::size() {
  std::lock_guard<std::mutex> guard{mtx_};
  return queues_.size();
}

} // namespace eventactors
