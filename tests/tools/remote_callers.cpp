// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// A load client for the node process tests (tests/unit/node_process_test.cpp):
// connects to a node and runs N caller actors, each making M calls of one
// update action on one record through the asynchronous interface
// (`remote_node::async`), so that the calls of one process are really
// concurrent.
//
// Usage:
//   remote_callers --connect HOST:PORT --record ID [--resource Counter]
//                  [--action increment] [--callers N] [--calls M]
//                  [--name NAME] [--keys] [--retry-for MS] [--timeout MS]
//                  [--deadline MS]
//
// Call `I` of caller `C` has the tag NAME-C-I, which it stores in its
// event's metadata (`{"tag": TAG}`) and, with --keys, sends as its
// idempotency key. Output, one flushed line each:
//   ok TAG VALUE          acknowledged; VALUE is the record's `value` after it
//   error TAG CODE MS     a failed attempt: its error code (`node_down`, ...)
//                         and how long it took
//   done ok=N failed=N attempts_failed=N
// With --retry-for, a call failing with node_down, timeout or node_stopping
// is tried again with the same tag (and key) until it succeeds or MS passed
// since its first failure. A caller then goes on with its next call either
// way. --deadline bounds the whole run (exit 3 when it passes); exit 0 when
// every call was acknowledged, 1 when some failed, 2 for bad arguments or a
// failed connect.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

#include <boost/json/serialize.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>

#include "eventactors/error.hpp"
#include "eventactors/init.hpp"
#include "eventactors/remote.hpp"

using namespace eventactors;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

struct settings {
  connect_options connect;
  std::string resource = "Counter";
  std::string action = "increment";
  std::string record;
  size_t callers = 1;
  size_t calls = 1;
  std::string name = "c";
  bool keys = false;
  std::chrono::milliseconds retry_for{0};
  std::chrono::milliseconds deadline{120000};
};

/// What all callers did; `finished` counts callers that are done.
struct tally {
  std::mutex mtx;
  std::condition_variable cv;
  size_t finished = 0;
  size_t ok = 0;
  size_t failed = 0;
  size_t attempts_failed = 0;

  /// Prints one line at once, flushed, so that a reader sees whole lines
  /// as soon as they happen.
  void print(const std::string& line) {
    std::lock_guard<std::mutex> guard{mtx};
    std::fputs((line + "\n").c_str(), stdout);
    std::fflush(stdout);
  }
};

std::string code_of(const caf::error& err) {
  if (err.category() == caf::atom("evact"))
    return to_string(static_cast<errc>(err.code()));
  return "other:" + caf::to_string(err);
}

bool retryable(const caf::error& err) {
  return is(err, errc::node_down) || is(err, errc::timeout)
         || is(err, errc::node_stopping);
}

struct caller_state {
  size_t next = 0;
  /// When the current call was first tried, and when its attempt started.
  clock_type::time_point first_try;
  clock_type::time_point attempt;
  bool retrying = false;

  static inline const char* name = "remote_callers.caller";
};

using caller_actor = caf::stateful_actor<caller_state>;

struct caller_env {
  std::shared_ptr<const settings> cfg;
  std::shared_ptr<tally> out;
  service_actor svc;
  size_t index;

  std::string tag(size_t i) const {
    return cfg->name + "-" + std::to_string(index) + "-" + std::to_string(i);
  }
};

void attempt(caller_actor* self, const caller_env& env);

/// Goes on with the next call, or ends the caller after the last one.
void advance(caller_actor* self, const caller_env& env) {
  self->state.retrying = false;
  if (++self->state.next < env.cfg->calls)
    return attempt(self, env);
  {
    std::lock_guard<std::mutex> guard{env.out->mtx};
    ++env.out->finished;
  }
  env.out->cv.notify_all();
  self->quit();
}

void on_failure(caller_actor* self, const caller_env& env, caf::error& err) {
  auto& st = self->state;
  auto now = clock_type::now();
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
    now - st.attempt);
  env.out->print("error " + env.tag(st.next) + " " + code_of(err) + " "
                 + std::to_string(took.count()));
  {
    std::lock_guard<std::mutex> guard{env.out->mtx};
    ++env.out->attempts_failed;
  }
  if (!st.retrying) {
    st.retrying = true;
    st.first_try = st.attempt;
  }
  if (retryable(err) && now - st.first_try < env.cfg->retry_for) {
    // A pause between attempts, so that a node that is down is not asked
    // in a busy loop; the client's own backoff spaces the connects.
    self->delayed_send(self, 50ms, caf::tick_atom_v);
    return;
  }
  {
    std::lock_guard<std::mutex> guard{env.out->mtx};
    ++env.out->failed;
  }
  advance(self, env);
}

void attempt(caller_actor* self, const caller_env& env) {
  auto tag = env.tag(self->state.next);
  call c{env.cfg->resource, env.cfg->action, {}, json::string{env.cfg->record}};
  c.metadata["tag"] = tag;
  if (env.cfg->keys)
    c.idempotency_key = tag;
  self->state.attempt = clock_type::now();
  // The client answers within its call timeout; the margin only guards
  // against a client that would not.
  auto limit = env.cfg->connect.call_timeout + 10s;
  self->request(env.svc, limit, run_atom_v, std::move(c))
    .then(
      [self, env, tag](const record& r) {
        env.out->print("ok " + tag + " "
                       + boost::json::serialize(r.get("value")));
        {
          std::lock_guard<std::mutex> guard{env.out->mtx};
          ++env.out->ok;
        }
        advance(self, env);
      },
      [self, env](caf::error& err) { on_failure(self, env, err); });
}

caf::behavior caller(caller_actor* self, caller_env env) {
  if (env.cfg->calls == 0) {
    advance(self, env);
    return {};
  }
  attempt(self, env);
  return {
    [self, env](caf::tick_atom) { attempt(self, env); },
  };
}

bool parse_count(const char* text, size_t& out) {
  char* end = nullptr;
  auto x = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0')
    return false;
  out = static_cast<size_t>(x);
  return true;
}

/// Reads the arguments into `s`; prints what is wrong and returns false.
bool parse_args(int argc, char** argv, settings& s) {
  auto fail = [](std::string why) {
    std::fprintf(stderr, "remote_callers: %s\n", why.c_str());
    return false;
  };
  size_t ms = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--keys") {
      s.keys = true;
      continue;
    }
    if (i + 1 >= argc)
      return fail(arg + " needs a value");
    const char* val = argv[++i];
    if (arg == "--connect") {
      if (auto err = parse_address(val, s.connect))
        return fail(message(err));
    } else if (arg == "--record") {
      s.record = val;
    } else if (arg == "--resource") {
      s.resource = val;
    } else if (arg == "--action") {
      s.action = val;
    } else if (arg == "--name") {
      s.name = val;
    } else if (arg == "--callers" && parse_count(val, s.callers)) {
    } else if (arg == "--calls" && parse_count(val, s.calls)) {
    } else if (arg == "--retry-for" && parse_count(val, ms)) {
      s.retry_for = std::chrono::milliseconds{ms};
    } else if (arg == "--timeout" && parse_count(val, ms)) {
      s.connect.call_timeout = std::chrono::milliseconds{ms};
    } else if (arg == "--deadline" && parse_count(val, ms)) {
      s.deadline = std::chrono::milliseconds{ms};
    } else {
      return fail("unknown option or bad value: " + arg + " " + val);
    }
  }
  if (s.connect.port == 0 || s.record.empty())
    return fail("--connect HOST:PORT and --record ID are required");
  return true;
}

} // namespace

int main(int argc, char** argv) {
  auto s = std::make_shared<settings>();
  s->connect.plaintext = true;
  s->connect.reconnect_delay = 50ms;
  s->connect.max_reconnect_delay = 500ms;
  s->connect.client = "remote_callers";
  if (!parse_args(argc, argv, *s))
    return 2;
  // The callers' actor system outlives the connection: answers arrive on
  // the connection's threads, which also run the callers they wake, so the
  // connection must be gone (its threads joined) before the callers'
  // system is.
  caf::actor_system_config cfg;
  init(cfg);
  cfg.set("scheduler.max-threads", size_t{2});
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto out = std::make_shared<tally>();
  {
    auto remote = remote_node::connect(s->connect);
    if (!remote) {
      std::fprintf(stderr, "remote_callers: %s\n",
                   render(remote.error()).c_str());
      return 2;
    }
    auto svc = (*remote)->async();
    for (size_t i = 0; i < s->callers; ++i)
      sys.spawn(caller, caller_env{s, out, svc, i});
    std::unique_lock<std::mutex> guard{out->mtx};
    auto in_time = out->cv.wait_for(guard, s->deadline, [&] {
      return out->finished == s->callers;
    });
    if (!in_time) {
      // Callers still wait for answers: a bug this tool reports, not one
      // it waits for.
      std::printf("deadline passed: %zu of %zu callers finished\n",
                  out->finished, s->callers);
      std::fflush(stdout);
      std::_Exit(3);
    }
  }
  std::printf("done ok=%zu failed=%zu attempts_failed=%zu\n", out->ok,
              out->failed, out->attempts_failed);
  std::fflush(stdout);
  return out->failed == 0 ? 0 : 1;
}
