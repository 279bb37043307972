// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The remote part of the benchmark: `run` calls through a node over
// loopback, in plaintext and with mutual TLS, against the same calls on a
// local runtime in the same run, and one plain TCP round trip on loopback.
// The node is a child process of this program (`node_main`), with its own
// runtime and actor systems; the callers are actors of an actor system of
// their own in this process, local and remote alike. See
// docs/performance.md, "Remote calls (nodes)".

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/typed_actor.hpp>

#include "bench.hpp"
#include "eventactors/node.hpp"
#include "eventactors/remote.hpp"
#include "support/certs.hpp"

namespace bench {

namespace {

enum class transport { local, plain, tls };

const char* transport_name(transport t) {
  switch (t) {
    case transport::local:
      return "local";
    case transport::plain:
      return "plain";
    default:
      return "tls";
  }
}

/// The node's certificates, made once per benchmark in `CERTS`.
tls_files node_tls(const std::string& certs, const std::string& who) {
  return {certs + "/" + who + ".pem", certs + "/" + who + ".key",
          certs + "/ca.pem"};
}

// -- the node process -----------------------------------------------------------

/// A node started as a child process; stopped with SIGTERM.
struct node_process {
  pid_t pid = -1;
  int out = -1;
  uint16_t port = 0;

  node_process() = default;
  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  ~node_process() {
    stop();
  }

  void stop() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      int status = 0;
      waitpid(pid, &status, 0);
      pid = -1;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        std::fprintf(stderr, "eventactors_bench: the node exited with %d\n",
                     status);
    }
    if (out >= 0) {
      close(out);
      out = -1;
    }
  }
};

/// Reads the node's first line ("listening on HOST:PORT"), waiting at most
/// a minute.
std::string first_line(int fd) {
  std::string line;
  auto deadline = clock_type::now() + std::chrono::seconds{60};
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - clock_type::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0)
      die("the node did not say where it listens within a minute");
    char buf[256];
    auto n = read(fd, buf, sizeof(buf));
    if (n <= 0)
      die("the node exited before listening");
    line.append(buf, static_cast<size_t>(n));
  }
  return line.substr(0, line.find('\n'));
}

/// Starts `self node DB MODE TRANSPORT CERTS` with a fresh database.
std::unique_ptr<node_process> start_node(const std::string& self,
                                         const std::string& db, sync_mode mode,
                                         transport t,
                                         const std::string& certs) {
  remove_db(db);
  std::vector<std::string> args{self,           "node", db, mode_name(mode),
                                transport_name(t), certs};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    die("pipe: " + std::string{std::strerror(errno)});
  auto proc = std::make_unique<node_process>();
  proc->pid = fork();
  if (proc->pid < 0)
    die("fork: " + std::string{std::strerror(errno)});
  if (proc->pid == 0) {
    // The node goes when the benchmark goes, however it ends.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(fds[1], STDOUT_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  proc->out = fds[0];
  auto line = first_line(proc->out);
  auto colon = line.rfind(':');
  if (line.rfind("listening on ", 0) != 0 || colon == std::string::npos)
    die("the node said \"" + line + "\", not where it listens");
  proc->port = static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
  return proc;
}

/// CPU seconds (user and system) of process `pid` so far; 0 for -1.
double process_cpu(pid_t pid) {
  if (pid < 0)
    return 0;
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  // After the name: state is field 3; utime and stime are 14 and 15.
  std::istringstream fields{text.substr(close + 2)};
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i)
    if (i >= 14)
      ticks += std::stod(field);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// Voluntary context switches of the threads of process `pid` so far; 0
/// for -1.
double switches(pid_t pid) {
  if (pid < 0)
    return 0;
  double n = 0;
  std::error_code ec;
  auto dir = "/proc/" + std::to_string(pid) + "/task";
  for (auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::ifstream in{entry.path() / "status"};
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0)
        n += std::stod(line.substr(line.find(':') + 1));
  }
  return n;
}

} // namespace

int node_main(const std::vector<std::string>& args) {
  if (args.size() != 4)
    die("usage: eventactors_bench node DB normal|full plain|tls CERTS");
  // SIGTERM and SIGINT wait for sigwait below, in every thread.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  auto mode = args[1] == "full" ? sync_mode::full : sync_mode::normal;
  auto rt = runtime::start(bench_app(), options_for(args[0], mode));
  if (!rt)
    die("node: start: " + render(rt.error()));
  node_options opts;
  if (args[2] == "tls")
    opts.tls = node_tls(args[3], "server");
  else
    opts.plaintext = true;
  auto n = node::start(**rt, opts);
  if (!n)
    die("node: " + render(n.error()));
  std::printf("listening on %s\n", (*n)->address().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop_signals, &sig);
  (*n)->stop();
  (*rt)->stop();
  return 0;
}

namespace {

// -- callers ----------------------------------------------------------------------

/// CPU seconds and voluntary context switches (a thread waiting for
/// another: a hand-over) so far, of this process and the node.
struct usage {
  double cpu = 0;
  double switches = 0;
};

using usage_fn = std::function<usage()>;

/// One measurement's figures: the calls, the hand-overs per call, and with
/// one caller the median latency of a request without database work.
struct measured {
  write_sample calls;
  double switches_per_call = 0;
  double describe_p50 = 0;
};


/// `callers` caller actors on `sys`, requesting `svc.async()`: `ops` actions
/// in all, on a pool of records made first (not timed).
measured run_callers(caf::actor_system& sys, service& svc, int callers,
                     uint64_t ops, size_t pool, const usage_fn& use) {
  auto ids = prefill(svc, pool);
  caller_context<service_actor> ctx;
  ctx.service = svc.async();
  ctx.ids = &ids;
  std::latch done{callers};
  ctx.done = &done;
  std::vector<latencies> lat;
  auto states = make_callers(ctx, callers, ops, lat);
  auto use0 = use();
  auto t0 = clock_type::now();
  for (auto& st : states)
    sys.spawn(caller<service_actor>, st);
  done.wait();
  auto elapsed = clock_type::now() - t0;
  auto use1 = use();
  if (ctx.failed)
    die("remote part: " + ctx.first_error);
  latencies all;
  for (auto& l : lat)
    all.xs.insert(all.xs.end(), l.xs.begin(), l.xs.end());
  auto n = static_cast<double>(all.xs.size());
  return {summarize(all.xs.size(), elapsed, use1.cpu - use0.cpu, all),
          (use1.switches - use0.switches) / n};
}

/// One plain thread calling `svc.run`, one action at a time.
measured run_sync(service& svc, uint64_t ops, size_t pool,
                  const usage_fn& use) {
  auto ids = prefill(svc, pool);
  std::mt19937_64 rng(3);
  latencies lat;
  lat.xs.reserve(ops);
  auto use0 = use();
  auto t0 = clock_type::now();
  for (uint64_t k = 0; k < ops; ++k) {
    auto c = make_call(pick(rng), rng, ids, 0, k);
    auto s = clock_type::now();
    auto r = svc.run(std::move(c));
    if (!r)
      die("remote part, synchronous call: " + render(r.error()));
    lat.xs.push_back(micros(clock_type::now() - s));
  }
  auto elapsed = clock_type::now() - t0;
  auto use1 = use();
  return {summarize(ops, elapsed, use1.cpu - use0.cpu, lat),
          (use1.switches - use0.switches) / static_cast<double>(ops)};
}

/// The state of `describe_trips`' actor.
struct describe_state {
  service_actor svc;
  uint64_t n = 0;
  latencies lat;
  std::string failure;
  std::latch done{1};
};

void next_describe(caf::event_based_actor* self,
                   std::shared_ptr<describe_state> st) {
  if (st->lat.xs.size() == st->n) {
    self->quit();
    st->done.count_down();
    return;
  }
  auto t0 = clock_type::now();
  self->request(st->svc, std::chrono::seconds{120}, describe_atom_v)
    .then(
      [self, st, t0](std::string&) {
        st->lat.xs.push_back(micros(clock_type::now() - t0));
        next_describe(self, st);
      },
      [self, st](caf::error& err) {
        st->failure = render(err);
        self->quit();
        st->done.count_down();
      });
}

/// `n` requests for the app description, one at a time, from one actor on
/// `sys`: a round trip through the service actor without database work.
latencies describe_trips(caf::actor_system& sys, service_actor svc,
                         uint64_t n) {
  auto st = std::make_shared<describe_state>();
  st->svc = std::move(svc);
  st->n = n;
  st->lat.xs.reserve(n);
  sys.spawn(
    [st](caf::event_based_actor* self) { next_describe(self, st); });
  st->done.wait();
  if (!st->failure.empty())
    die("describe: " + st->failure);
  return std::move(st->lat);
}

/// What one measurement runs: `callers` caller actors, or one thread
/// calling the synchronous API when `callers` is 0.
struct scenario {
  sync_mode mode;
  int callers;
  uint64_t ops;
  /// Records made before the timing starts.
  size_t pool;
};

/// Where the remote part's files are and who calls.
struct remote_env {
  std::string self;
  std::string dir;
  std::string certs;
  caf::actor_system* callers = nullptr;
};

measured measure(const remote_env& env, transport t, const scenario& sc) {
  // Of this process, and of the node's.
  pid_t node_pid = -1;
  auto use = [&] {
    return usage{cpu_seconds() + process_cpu(node_pid),
                 switches(getpid()) + switches(node_pid)};
  };
  auto run = [&](service& svc) {
    auto m = sc.callers == 0 ? run_sync(svc, sc.ops, sc.pool, use)
                             : run_callers(*env.callers, svc, sc.callers,
                                           sc.ops, sc.pool, use);
    if (sc.callers == 1)
      m.describe_p50 = describe_trips(*env.callers, svc.async(), sc.ops)
                         .at(0.5);
    return m;
  };
  if (t == transport::local) {
    auto path = env.dir + "/bench-remote-local.db";
    remove_db(path);
    auto rt = runtime::start(bench_app(), options_for(path, sc.mode));
    if (!rt)
      die("start: " + render(rt.error()));
    auto sample = run(**rt);
    (*rt)->stop();
    return sample;
  }
  auto proc = start_node(env.self, env.dir + "/bench-remote-node.db", sc.mode,
                         t, env.certs);
  node_pid = proc->pid;
  connect_options opts;
  opts.port = proc->port;
  if (t == transport::tls)
    opts.tls = node_tls(env.certs, "client");
  else
    opts.plaintext = true;
  opts.client = "eventactors_bench";
  auto remote = remote_node::connect(opts);
  if (!remote)
    die("connect: " + render(remote.error()));
  auto sample = run(**remote);
  remote->reset();
  proc->stop();
  return sample;
}

// -- one loopback round trip ------------------------------------------------------

/// Round trips of 64 bytes over a TCP connection on loopback (TCP_NODELAY),
/// echoed by a thread: the network part of a remote call's latency.
latencies loopback_rtt(uint64_t n) {
  constexpr size_t size = 64;
  auto fail = [](const char* what) {
    die(std::string{"loopback round trip: "} + what + ": "
        + std::strerror(errno));
  };
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&addr), len)
      || listen(listener, 1)
      || getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len))
    fail("listen");
  auto exact = [](int fd, char* buf, bool writing) {
    size_t done = 0;
    while (done < size) {
      auto k = writing ? write(fd, buf + done, size - done)
                       : read(fd, buf + done, size - done);
      if (k <= 0)
        return false;
      done += static_cast<size_t>(k);
    }
    return true;
  };
  int one = 1;
  std::thread echo([&] {
    int fd = accept(listener, nullptr, nullptr);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char buf[size];
    while (exact(fd, buf, false) && exact(fd, buf, true)) {
      // echo
    }
    close(fd);
  });
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), len))
    fail("connect");
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  char buf[size] = {};
  latencies lat;
  for (uint64_t i = 0; i < n + 100; ++i) {
    auto t0 = clock_type::now();
    if (!exact(fd, buf, true) || !exact(fd, buf, false))
      fail("echo");
    if (i >= 100)
      lat.xs.push_back(micros(clock_type::now() - t0));
  }
  close(fd);
  echo.join();
  close(listener);
  return lat;
}

// -- figures ------------------------------------------------------------------------

/// The figures of one caller count (or the synchronous thread, 0 callers):
/// rate and latencies of plaintext and TLS against local, and of TLS
/// against plaintext.
struct remote_figures {
  std::string base;
  figure plain_rate, tls_rate, tls_vs_plain;
  figure plain_p50, tls_p50, plain_p99, tls_p99;
  figure plain_cpu, tls_cpu;
  figure plain_describe, tls_describe;
  figure plain_switches, tls_switches;

  remote_figures(const std::string& prefix, const char* unit)
    : base(prefix),
      plain_rate{prefix + ".plain.per_s", unit},
      tls_rate{prefix + ".tls.per_s", unit},
      tls_vs_plain{prefix + ".tls_vs_plain.per_s", unit},
      plain_p50{prefix + ".plain.p50", "us"},
      tls_p50{prefix + ".tls.p50", "us"},
      plain_p99{prefix + ".plain.p99", "us"},
      tls_p99{prefix + ".tls.p99", "us"},
      plain_cpu{prefix + ".plain.cpu_per_call", "us"},
      tls_cpu{prefix + ".tls.cpu_per_call", "us"},
      plain_describe{prefix + ".plain.describe_p50", "us"},
      tls_describe{prefix + ".tls.describe_p50", "us"},
      plain_switches{prefix + ".plain.switches_per_call", "switches"},
      tls_switches{prefix + ".tls.switches_per_call", "switches"} {
    // nop
  }

  void add(const measured& local_m, const measured& plain_m,
           const measured& tls_m) {
    auto& local = local_m.calls;
    auto& plain = plain_m.calls;
    auto& tls = tls_m.calls;
    plain_switches.runs.push_back(plain_m.switches_per_call);
    plain_switches.baseline_runs.push_back(local_m.switches_per_call);
    tls_switches.runs.push_back(tls_m.switches_per_call);
    tls_switches.baseline_runs.push_back(local_m.switches_per_call);
    if (local_m.describe_p50 > 0) {
      plain_describe.runs.push_back(plain_m.describe_p50);
      plain_describe.baseline_runs.push_back(local_m.describe_p50);
      tls_describe.runs.push_back(tls_m.describe_p50);
      tls_describe.baseline_runs.push_back(local_m.describe_p50);
    }
    plain_rate.runs.push_back(plain.per_second);
    plain_rate.baseline_runs.push_back(local.per_second);
    tls_rate.runs.push_back(tls.per_second);
    tls_rate.baseline_runs.push_back(local.per_second);
    tls_vs_plain.runs.push_back(tls.per_second);
    tls_vs_plain.baseline_runs.push_back(plain.per_second);
    plain_p50.runs.push_back(plain.p50);
    tls_p50.runs.push_back(tls.p50);
    plain_p99.runs.push_back(plain.p99);
    tls_p99.runs.push_back(tls.p99);
    plain_cpu.runs.push_back(plain.cpu_us);
    plain_cpu.baseline_runs.push_back(local.cpu_us);
    tls_cpu.runs.push_back(tls.cpu_us);
    tls_cpu.baseline_runs.push_back(local.cpu_us);
    for (auto* f : {&plain_p50, &tls_p50})
      f->baseline_runs.push_back(local.p50);
    for (auto* f : {&plain_p99, &tls_p99})
      f->baseline_runs.push_back(local.p99);
  }

  void report(std::vector<figure>& figs) const {
    for (auto* f : {&plain_rate, &tls_rate, &tls_vs_plain, &plain_p50,
                    &tls_p50, &plain_p99, &tls_p99, &plain_cpu,
                    &tls_cpu, &plain_switches, &tls_switches,
                    &plain_describe, &tls_describe}) {
      if (f->runs.empty())
        continue;
      figs.push_back(*f);
      print_row(*f);
    }
  }
};

void verdict(const std::string& what, double value, double limit,
             bool at_least) {
  bool met = at_least ? value >= limit : value <= limit;
  std::printf("target: %s: %s %s %s: %s\n", what.c_str(),
              fmt_number(value).c_str(), at_least ? ">=" : "<=",
              fmt_number(limit).c_str(), met ? "met" : "MISSED");
}

/// Prints whether the targets are met, from the medians.
/// Prints whether the targets are met, from the medians.
void print_verdicts(const remote_figures* one, const remote_figures* many,
                    const figure& rtt) {
  if (many) {
    verdict("64 callers, plaintext remote / local calls per second",
            *many->plain_rate.ratio(), 0.5, true);
    verdict("64 callers, TLS remote / local calls per second",
            *many->tls_rate.ratio(), 0.5, true);
    verdict("64 callers, TLS / plaintext calls per second",
            *many->tls_vs_plain.ratio(), 0.8, true);
  }
  if (!one)
    return;
  verdict("1 caller, TLS / plaintext calls per second",
          *one->tls_vs_plain.ratio(), 0.8, true);
  auto local_p50 = *one->plain_p50.baseline();
  auto limit = local_p50 + rtt.value() + 100;
  auto text = " p50 us (limit: local " + fmt_number(local_p50)
              + " + round trip " + fmt_number(rtt.value()) + " + 100)";
  verdict("1 caller, plaintext" + text, one->plain_p50.value(), limit, false);
  verdict("1 caller, TLS" + text, one->tls_p50.value(), limit, false);
}

uint64_t remote_ops(const settings& s, int callers) {
  if (s.quick)
    return callers <= 1 ? 100 : 640;
  return callers <= 1 ? 3000 : 20'000;
}

/// The figures of each caller count of `counts`, and of one synchronous
/// thread (caller count 0) when 1 is one of them.
std::vector<std::pair<int, remote_figures>>
remote_scenarios(const std::string& prefix, const std::vector<int>& counts) {
  std::vector<std::pair<int, remote_figures>> out;
  for (int n : counts) {
    remote_figures f{prefix + ".callers" + std::to_string(n), "calls/s"};
    if (n == 64) {
      f.plain_rate.target = ">= 0.50 of local";
      f.tls_rate.target = ">= 0.50 of local";
    }
    if (n == 64 || n == 1)
      f.tls_vs_plain.target = ">= 0.80 of plaintext";
    if (n == 1) {
      f.plain_p50.target = "<= local + round trip + 100";
      f.tls_p50.target = "<= local + round trip + 100";
    }
    out.emplace_back(n, std::move(f));
  }
  if (std::find(counts.begin(), counts.end(), 1) != counts.end())
    out.emplace_back(0, remote_figures{prefix + ".sync1", "calls/s"});
  return out;
}

void bench_remote_mode(const settings& s, const remote_env& env,
                       sync_mode mode, std::vector<figure>& figs) {
  auto prefix = "remote." + std::string{mode_name(mode)};
  auto scenarios = remote_scenarios(prefix, s.remote_callers);
  figure rtt{prefix + ".loopback_rtt.p50", "us"};
  figure rtt99{prefix + ".loopback_rtt.p99", "us"};
  // --quick (CTest's bench_quick, also under the sanitizers) checks that
  // the part runs: one run, few calls. Each measurement starts a node
  // process.
  int runs = s.quick ? 1 : s.runs;
  for (int run = 0; run < runs; ++run) {
    for (auto& [callers, f] : scenarios) {
      scenario sc{mode, callers, remote_ops(s, callers),
                  s.quick ? 200 : record_pool};
      auto local = measure(env, transport::local, sc);
      auto plain = measure(env, transport::plain, sc);
      auto tls = measure(env, transport::tls, sc);
      f.add(local, plain, tls);
    }
    auto lat = loopback_rtt(s.quick ? 1000 : 10'000);
    rtt.runs.push_back(lat.at(0.5));
    rtt99.runs.push_back(lat.at(0.99));
  }
  print_header("remote", "local");
  const remote_figures* one = nullptr;
  const remote_figures* many = nullptr;
  for (auto& [callers, f] : scenarios) {
    f.report(figs);
    if (callers == 1)
      one = &f;
    if (callers == 64)
      many = &f;
  }
  for (auto* f : {&rtt, &rtt99}) {
    figs.push_back(*f);
    print_row(*f);
  }
  print_verdicts(one, many, rtt);
}

} // namespace

void bench_remote(const settings& s, const std::string& self,
                  std::vector<figure>& figs) {
  remote_env env;
  env.self = self;
  env.dir = s.dir;
  env.certs = s.dir + "/bench-certs";
  std::filesystem::create_directories(env.certs);
  try {
    eventactors::test::make_test_certs(env.certs);
  } catch (const std::exception& e) {
    die(e.what());
  }
  // The callers' own actor system, as an application's would be.
  caf::actor_system_config cfg;
  init(cfg);
  cfg.set("scheduler.max-threads", size_t{2});
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  env.callers = &sys;
  auto width = name_width;
  name_width = 52;
  // --quick: the first durability mode only (see bench_remote_mode).
  for (auto mode : s.modes) {
    bench_remote_mode(s, env, mode, figs);
    if (s.quick)
      break;
  }
  name_width = width;
  std::filesystem::remove_all(env.certs);
  for (auto name : {"bench-remote-local.db", "bench-remote-node.db"})
    remove_db(s.dir + "/" + name);
}

} // namespace bench
