// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Hostile input must neither crash nor hang the library or the CLI, nor
// leave anything behind: regular expressions that backtrack, huge values
// and lines, forks and verifies killed half way, and predictable ids.

#include "base/uuid.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

#include "eventactors/all.hpp"
#include "support/cli.hpp"
#include "support/process.hpp"
#include "support/query.hpp"
#include "support/temp_dir.hpp"

extern char** environ;

using namespace eventactors;
using namespace eventactors::test;
using Catch::Matchers::Contains;

namespace fs = std::filesystem;

namespace {

std::string show(const process_result& p) {
  return "exit code " + std::to_string(p.exit_code) + ", signal "
         + std::to_string(p.signal) + "\n-- stdout:\n" + p.out.substr(0, 2000)
         + "\n-- stderr:\n" + p.err.substr(0, 2000);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out{path, std::ios::binary};
  out << text;
}

/// An app with one resource whose records carry a "secret", logged in one
/// event log.
const char* secrets_app = R"({
  "event_logs": [{"name": "events"}],
  "resources": [
    {"name": "Vault.Entry",
     "attributes": [{"name": "label", "type": "string"},
                    {"name": "secret", "type": "string"}],
     "actions": [{"name": "create", "kind": "create",
                  "accept": ["label", "secret"]}],
     "events": {"event_log": "events"}}
  ]
})";

/// Writes `secrets_app` into `dir` and fills `db` with `n` records.
std::string make_secrets(const temp_dir& dir, const std::string& db,
                         int n) {
  auto app_file = dir.file("secrets.json");
  write_file(app_file, secrets_app);
  auto defs = load_app_file(app_file);
  REQUIRE(defs);
  runtime_options opts;
  opts.path = db;
  opts.synchronous = sync_mode::normal;
  auto rt = runtime::start(std::move(*defs), std::move(opts));
  REQUIRE(rt);
  for (int done = 0; done < n;) {
    batch_call b{"Vault.Entry", "create"};
    b.atomic = true;
    for (int i = 0; i < 1000 && done + i < n; ++i)
      b.items.push_back({{{"label", "entry " + std::to_string(done + i)},
                          {"secret", "hunter2-" + std::to_string(done + i)}},
                         nullptr});
    auto results = (*rt)->run_batch(b);
    for (auto& r : results)
      REQUIRE(r);
    done += static_cast<int>(results.size());
  }
  (*rt)->stop();
  return app_file;
}

/// A child process started without waiting for it: its output goes to
/// files, its stdin is /dev/null (or, with `feed`, a socket that `send`
/// writes to), and `env` is added to the environment.
class child {
public:
  child(const std::vector<std::string>& argv,
        const std::vector<std::string>& env, const std::string& out_file,
        bool feed = false) {
    int sv[2] = {-1, -1};
    if (feed && ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
      return;
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    if (feed)
      ::posix_spawn_file_actions_adddup2(&actions, sv[1], STDIN_FILENO);
    else
      ::posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                         O_RDONLY, 0);
    ::posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO,
                                       out_file.c_str(),
                                       O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO,
                                       STDERR_FILENO);
    std::vector<std::string> vars = env;
    for (auto** e = environ; *e; ++e)
      vars.emplace_back(*e);
    std::vector<char*> envp;
    for (auto& v : vars)
      envp.push_back(v.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = argv;
    std::vector<char*> argp;
    for (auto& a : args)
      argp.push_back(a.data());
    argp.push_back(nullptr);
    auto rc = ::posix_spawn(&pid_, argp[0], &actions, nullptr, argp.data(),
                            envp.data());
    ::posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
      pid_ = -1;
    if (feed) {
      ::close(sv[1]);
      in_ = sv[0];
    }
  }

  ~child() {
    close_input();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }

  pid_t pid() const noexcept {
    return pid_;
  }

  /// Whether the child has ended (and was reaped).
  bool ended() {
    if (pid_ <= 0)
      return true;
    if (::waitpid(pid_, &status_, WNOHANG) == pid_)
      pid_ = -1;
    return pid_ <= 0;
  }

  /// Kills the child with SIGKILL and reaps it.
  void kill() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }

  int status() const noexcept {
    return status_;
  }

  /// Writes all of `text` to the child's stdin (blocking while the child
  /// does not read); false when the child closed it.
  bool send(std::string_view text) {
    while (!text.empty()) {
      auto k = ::send(in_, text.data(), text.size(), MSG_NOSIGNAL);
      if (k < 0 && errno == EINTR)
        continue;
      if (k <= 0)
        return false;
      text.remove_prefix(static_cast<size_t>(k));
    }
    return true;
  }

  /// Closes the child's stdin: it reads end of file.
  void close_input() {
    if (in_ >= 0)
      ::close(in_);
    in_ = -1;
  }

  /// The child's peak resident memory so far (VmHWM), in KiB, or -1.
  long peak_memory_kib() const {
    std::ifstream in{"/proc/" + std::to_string(pid_) + "/status"};
    std::string line;
    while (std::getline(in, line))
      if (line.starts_with("VmHWM:"))
        return std::stol(line.substr(6));
    return -1;
  }

private:
  void wait() {
    while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
      // again
    }
    pid_ = -1;
  }

  pid_t pid_ = -1;
  int status_ = 0;
  int in_ = -1;
};

/// Polls `found` every millisecond while `c` runs, for at most `limit`;
/// returns whether it found something before the child ended.
bool poll_while_running(child& c, const std::function<bool()>& found,
                        std::chrono::seconds limit = std::chrono::seconds{60}) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (found())
      return true;
    if (c.ended())
      return found();
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  return false;
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> result;
  std::error_code ec;
  for (auto& e : fs::directory_iterator{dir, ec})
    result.push_back(e.path().filename().string());
  std::sort(result.begin(), result.end());
  return result;
}

} // namespace

// -- regular expressions --------------------------------------------------------

TEST_CASE("hostile: a match validation takes linear time on a pattern that "
          "backtracks",
          "[hostile][regex]") {
  auto defs = load_app(*parse_json(R"({
    "event_logs": [{"name": "events"}],
    "resources": [{"name": "R",
      "attributes": [{"name": "s", "type": "string"}],
      "actions": [{"name": "create", "kind": "create", "accept": ["s"],
        "steps": [{"validate": "match", "field": "s",
                   "pattern": "^(a+)+$"}]}],
      "events": {"event_log": "events"}}]})",
                                   "app"));
  REQUIRE(defs);
  temp_dir dir;
  auto rt = runtime::start(std::move(*defs), {.path = dir.file("re.db")});
  REQUIRE(rt);
  // 30 a's and a mismatch at the end: 2^30 ways to split for a backtracking
  // engine (over a minute with std::regex); microseconds for RE2.
  auto t0 = std::chrono::steady_clock::now();
  auto bad = (*rt)->run("R", "create", {{"s", std::string(30, 'a') + "!"}});
  auto elapsed = std::chrono::steady_clock::now() - t0;
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), errc::invalid_input));
  CHECK_THAT(render(bad.error()), Contains("must match ^(a+)+$"));
  CHECK(elapsed < std::chrono::seconds{5});
  // And on a value near the input limit, in both outcomes.
  t0 = std::chrono::steady_clock::now();
  auto big = std::string(1'000'000, 'a');
  auto ok = (*rt)->run("R", "create", {{"s", big}});
  CHECK(ok);
  auto no = (*rt)->run("R", "create", {{"s", big + "b"}});
  CHECK_FALSE(no);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds{20});
}

TEST_CASE("hostile: a 100 KB email through the quickstart app's own "
          "validation is an error, not a crash",
          "[hostile][regex][cli]") {
  temp_dir dir;
  auto db = dir.file("q.db");
  // Past std::regex's stack (it recursed per character and crashed at
  // 40 KB) and within the 128 KiB an argument may have.
  auto local = std::string(100'000, 'x');
  auto p = run_process({cli_path, "--app", config_file("quickstart.json"),
                        "--db", db, "run", "Accounts.User", "create",
                        R"({"email": ")" + local + R"( @example.com"})"});
  INFO(show(p));
  CHECK(p.signal == 0);
  CHECK(p.exit_code == 1);
  CHECK_THAT(p.err, Contains("must be an email address"));
  p = run_process({cli_path, "--app", config_file("quickstart.json"), "--db",
                   db, "run", "Accounts.User", "create",
                   R"({"email": ")" + local + R"(@example.com"})"});
  INFO(show(p));
  CHECK(p.exit_code == 0);
}

TEST_CASE("hostile: patterns RE2 cannot run are refused when the app loads, "
          "naming the step and the problem",
          "[hostile][regex]") {
  auto app_with = [](const std::string& pattern) {
    json::object step{{"validate", "match"}, {"field", "s"},
                      {"pattern", pattern}};
    json::object doc{
      {"event_logs", json::array{json::object{{"name", "events"}}}},
      {"resources",
       json::array{json::object{
         {"name", "R"},
         {"attributes",
          json::array{json::object{{"name", "s"}, {"type", "string"}}}},
         {"actions",
          json::array{json::object{
            {"name", "create"},
            {"kind", "create"},
            {"accept", json::array{"s"}},
            {"steps", json::array{json::object{{"validate", "present"},
                                               {"field", "s"}},
                                  step}}}}},
         {"events", json::object{{"event_log", "events"}}}}}}};
    return load_app(doc);
  };
  struct bad_case {
    std::string pattern;
    std::string problem;
  };
  for (auto& [pattern, problem] :
       std::vector<bad_case>{{"(a)\\1", "invalid escape sequence"},
                             {"a(?=b)", "(?="},
                             {"(?<!a)b", "(?<"},
                             {"([", "missing ]"},
                             {"a{1001}", "invalid repetition size"},
                             {[] {
                                std::string big;
                                for (int i = 0; i < 20; ++i)
                                  big += "\\pL{1000}";
                                return big;
                              }(),
                              "pattern too large"}}) {
    INFO(pattern);
    auto defs = app_with(pattern);
    REQUIRE_FALSE(defs);
    CHECK(is(defs.error(), errc::invalid_definition));
    auto text = render(defs.error());
    INFO(text);
    CHECK_THAT(text, Contains("resources[0].actions[0].steps[1]"));
    CHECK_THAT(text, Contains("pattern"));
    CHECK_THAT(text, Contains("RE2"));
    CHECK_THAT(text, Contains(problem));
  }
  // What RE2 runs loads: classes, anchors, groups, lazy repetition, flags.
  for (auto pattern : {"^[^@\\s]+@[^@\\s]+$", "^(?:ab|cd)+?x{2,5}$",
                       "(?i)^hello\\b", "^\\d{4}-\\d{2}-\\d{2}$",
                       "^(?P<user>\\w+)$"}) {
    INFO(pattern);
    CHECK(app_with(pattern));
  }
}

TEST_CASE("hostile: the C++ match validation reports an invalid pattern "
          "on every check",
          "[hostile][regex]") {
  app defs;
  defs.add(event_log{"events"});
  auto& r = defs.add(resource{"R"});
  r.attribute("s", types::string());
  r.events("events");
  r.create("create").accept({"s"}).validate(
    validations::match("s", "(a)\\1"));
  temp_dir dir;
  auto rt = runtime::start(std::move(defs), {.path = dir.file("c.db")});
  REQUIRE(rt);
  auto res = (*rt)->run("R", "create", {{"s", "aa"}});
  REQUIRE_FALSE(res);
  CHECK_THAT(render(res.error()), Contains("invalid pattern (a)\\1"));
}

TEST_CASE("hostile: an app definition file is read in bounded memory",
          "[hostile][json_app]") {
  temp_dir dir;
  // 17 MiB of blanks: before, read whole and parsed ("unexpected end").
  auto path = dir.file("huge.json");
  {
    std::ofstream out{path, std::ios::binary};
    std::string blanks(1 << 20, ' ');
    for (int i = 0; i < 17; ++i)
      out << blanks;
  }
  auto defs = load_app_file(path);
  REQUIRE_FALSE(defs);
  CHECK(is(defs.error(), errc::invalid_input));
  CHECK_THAT(render(defs.error()), Contains("is larger than 16 MiB"));
}

// -- the batch line limit -------------------------------------------------------

TEST_CASE("hostile: batch refuses a line beyond the input limit while "
          "reading it, in bounded memory",
          "[hostile][cli][batch]") {
  temp_dir dir;
  auto db = dir.file("b.db");
  auto out_file = dir.file("batch.out");
  auto line = [](const std::string& email) {
    return R"({"resource": "Accounts.User", "action": "create", "input": )"
           R"({"email": ")"
           + email + R"("}})" + "\n";
  };
  child c{{cli_path, "--app", config_file("quickstart.json"), "--db", db,
           "batch"},
          {},
          out_file,
          true};
  REQUIRE(c.pid() > 0);
  auto output = [&] {
    std::ifstream in{out_file};
    return std::string{std::istreambuf_iterator<char>{in}, {}};
  };
  auto wait_for = [&](const std::string& text) {
    return poll_while_running(
      c, [&] { return output().find(text) != std::string::npos; });
  };
  // The peak memory once a small line is done is the baseline (measured
  // in the running child: its own address space, whatever the test's).
  REQUIRE(c.send(line("a@example.com")));
  REQUIRE(wait_for("line 1: "));
  auto baseline = c.peak_memory_kib();
  // 64 MiB on one line, sent in pieces, then a good line, then a last line
  // without a newline. Before, the whole line was read into memory (and
  // then parsed).
  auto head = line("");
  REQUIRE(c.send(head.substr(0, head.find("\"}}"))));
  std::string piece(1 << 20, 'x');
  for (int i = 0; i < 64; ++i)
    REQUIRE(c.send(piece));
  REQUIRE(c.send("@example.com\"}}\n"));
  REQUIRE(c.send(line("b@example.com")));
  REQUIRE(wait_for("line 3: "));
  auto peak = c.peak_memory_kib();
  REQUIRE(c.send(R"({"resource": "Accounts.User", "action": "create", )"
                 R"("input": {"email": "c@example.com"}})"));
  c.close_input();
  REQUIRE(wait_for("line 4: "));
  poll_while_running(c, [] { return false; }); // until it exits
  REQUIRE(c.ended());
  auto out = output();
  INFO(out);
  CHECK(WIFEXITED(c.status()));
  CHECK(WEXITSTATUS(c.status()) == 1);
  CHECK_THAT(out, Contains("line 1: ok Accounts.User"));
  CHECK_THAT(out, Contains("line 2: error: input_too_large: line 2: "
                           "longer than 1114112 bytes (max_input_bytes "
                           "1048576 plus 64 KiB"));
  CHECK_THAT(out, Contains("line 3: ok Accounts.User"));
  CHECK_THAT(out, Contains("line 4: ok Accounts.User"));
  INFO("peak memory: " << baseline << " KiB after line 1, " << peak
                       << " KiB after line 3");
  REQUIRE(baseline > 0);
  CHECK(peak < baseline + 16 * 1024);
  CHECK(query_count(db, "SELECT count(*) FROM accounts_user") == 3);
}

TEST_CASE("hostile: batch honours a smaller max-input-bytes while reading",
          "[hostile][cli][batch]") {
  temp_dir dir;
  auto db = dir.file("b.db");
  auto ini = dir.file("small.ini");
  write_file(ini, "[eventactors]\nmax-input-bytes = 1000\n");
  auto create = [](size_t pad) {
    return R"({"resource": "Accounts.User", "action": "create", "input": )"
           R"({"email": ")"
           + std::string(pad, 'x') + R"(@example.com"}})" + "\n";
  };
  // Line 1 is read (within 1000 + 64 KiB) and refused by the runtime's
  // check of the input; line 2 is too long to be read at all; line 3 fits.
  auto p = run_process({cli_path, "--app", config_file("quickstart.json"),
                        "--db", db, "--config", ini, "--format", "jsonl",
                        "batch"},
                       {.input = create(2000) + create(70'000) + create(1)});
  INFO(show(p));
  CHECK(p.exit_code == 1);
  auto lines = std::vector<std::string>{};
  for (size_t pos = 0, nl; (nl = p.out.find('\n', pos)) != p.out.npos;
       pos = nl + 1)
    lines.push_back(p.out.substr(pos, nl - pos));
  REQUIRE(lines.size() == 3);
  CHECK_THAT(lines[0], Contains(R"("line":1,"ok":false)"));
  CHECK_THAT(lines[0], Contains("max_input_bytes"));
  CHECK_THAT(lines[1], Contains(R"("line":2,"ok":false)"));
  CHECK_THAT(lines[1], Contains("longer than 66536 bytes"));
  CHECK_THAT(lines[2], Contains(R"("line":3,"ok":true)"));
}

// -- forks and verify killed half way ----------------------------------------------

TEST_CASE("hostile: a fork killed half way leaves no file under the "
          "target's name, and the next fork succeeds",
          "[hostile][cli][fork]") {
  temp_dir dir;
  auto db = dir.file("live.db");
  auto app = make_secrets(dir, db, 10'000);
  fs::create_directories(dir.file("forks"));
  auto target = dir.file("forks/fork.db");
  {
    child c{{cli_path, "--app", app, "--db", db, "replay", "--into", target},
            {},
            dir.file("fork1.out")};
    REQUIRE(c.pid() > 0);
    // Killed as soon as any file shows up in the target's folder: the
    // fork has begun and cannot have finished.
    auto seen = poll_while_running(
      c, [&] { return !names_in(dir.file("forks")).empty(); });
    c.kill();
    REQUIRE(seen);
    CHECK(WIFSIGNALED(c.status()));
  }
  INFO("left: " << ::Catch::Detail::stringify(names_in(dir.file("forks"))));
  CHECK_FALSE(fs::exists(target));
  auto left = names_in(dir.file("forks"));
  REQUIRE_FALSE(left.empty());
  CHECK(left.front().starts_with(".fork.db.fork-"));
  // A new fork to the same target is not blocked, and it clears the
  // leftovers of the killed one.
  auto p = run_process({cli_path, "--app", app, "--db", db, "replay",
                        "--into", target});
  INFO(show(p));
  REQUIRE(p.exit_code == 0);
  CHECK(names_in(dir.file("forks")) == std::vector<std::string>{"fork.db"});
  CHECK(query_count(target, "SELECT count(*) FROM vault_entry") == 10'000);
  CHECK(query_count(target, "SELECT count(*) FROM events") == 10'000);
  // Self-contained: out of WAL mode (header bytes 18 and 19 are 1, not 2),
  // so it needs no -wal file beside it.
  std::ifstream in{target, std::ios::binary};
  std::string header(20, '\0');
  in.read(header.data(), 20);
  CHECK(header[18] == 1);
  CHECK(header[19] == 1);
}

TEST_CASE("hostile: a failed fork leaves nothing in the target's folder",
          "[hostile][fork]") {
  temp_dir dir;
  auto db = dir.file("live.db");
  auto app_file = make_secrets(dir, db, 10);
  fs::create_directories(dir.file("forks"));
  auto defs = load_app_file(app_file);
  REQUIRE(defs);
  auto rt = runtime::start(std::move(*defs), {.path = db});
  REQUIRE(rt);
  // An unknown cut fails after the temp file was made.
  auto r = (*rt)->fork({.last_event_id = 999}, dir.file("forks/f.db"));
  REQUIRE_FALSE(r);
  CHECK(names_in(dir.file("forks")).empty());
  // And one that works leaves the fork only.
  r = (*rt)->fork({.last_event_id = 5}, dir.file("forks/f.db"));
  REQUIRE(r);
  CHECK(names_in(dir.file("forks")) == std::vector<std::string>{"f.db"});
  CHECK(query_count(dir.file("forks/f.db"),
                    "SELECT count(*) FROM vault_entry")
        == 5);
  // A fork never replaces a file.
  r = (*rt)->fork({}, dir.file("forks/f.db"));
  REQUIRE_FALSE(r);
  CHECK(query_count(dir.file("forks/f.db"),
                    "SELECT count(*) FROM vault_entry")
        == 5);
}

TEST_CASE("hostile: verify's scratch copy is private to its owner and gone "
          "after a kill",
          "[hostile][cli][verify]") {
  temp_dir dir;
  auto db = dir.file("live.db");
  auto app = make_secrets(dir, db, 10'000);
  // A small page cache, so that the scratch database spills to its file.
  auto ini = dir.file("small-cache.ini");
  write_file(ini, "[eventactors]\ncache-kib = 64\n");
  auto tmp = dir.file("tmp");
  fs::create_directories(tmp);
  std::vector<std::string> env{"TMPDIR=" + tmp, "SQLITE_TMPDIR=" + tmp};
  child c{{cli_path, "--app", app, "--db", db, "--config", ini, "verify"},
          env,
          dir.file("verify.out")};
  REQUIRE(c.pid() > 0);
  // The scratch file, found through the process's open files: its mode.
  std::optional<unsigned> mode;
  std::string seen_path;
  auto proc = "/proc/" + std::to_string(c.pid()) + "/fd";
  auto found = poll_while_running(c, [&] {
    std::error_code ec;
    for (auto& e : fs::directory_iterator{proc, ec}) {
      auto target = fs::read_symlink(e.path(), ec);
      if (ec || !target.string().starts_with(tmp))
        continue;
      // SQLite unlinks its scratch file right after opening it: wait for
      // that, or a kill in between would leave it behind (a race of the
      // test, not of the program). A file never unlinked is never found.
      if (!target.string().ends_with(" (deleted)"))
        continue;
      struct stat st;
      if (::stat(e.path().c_str(), &st) != 0)
        continue;
      mode = st.st_mode & 07777;
      seen_path = target.string();
      return true;
    }
    return false;
  });
  c.kill();
  REQUIRE(found);
  INFO("scratch file " << seen_path);
  REQUIRE(mode);
  CHECK(*mode == 0600);
  // Nothing left behind: neither in the temporary folder nor beside the
  // database.
  CHECK(names_in(tmp).empty());
  for (auto& name : names_in(dir.path()))
    CHECK((name.starts_with("live.db") || name == "tmp"
           || name.ends_with(".json") || name.ends_with(".ini")
           || name.ends_with(".out")));
  // A verify that runs to the end finds no differences and leaves nothing.
  auto p = run_process({cli_path, "--app", app, "--db", db, "verify"});
  INFO(show(p));
  CHECK(p.exit_code == 0);
  CHECK_THAT(p.out, Contains("no differences"));
}

TEST_CASE("hostile: verify leaves nothing behind when it fails",
          "[hostile][verify]") {
  temp_dir dir;
  auto db = dir.file("live.db");
  auto app_file = make_secrets(dir, db, 50);
  auto defs = load_app_file(app_file);
  REQUIRE(defs);
  auto rt = runtime::start(std::move(*defs), {.path = db});
  REQUIRE(rt);
  auto before = names_in(dir.path());
  auto r = (*rt)->verify("no-such-log");
  CHECK_FALSE(r);
  r = (*rt)->verify();
  REQUIRE(r);
  CHECK(r->ok());
  CHECK(r->records == 50);
  CHECK(names_in(dir.path()) == before);
}

// -- UUIDs from the system's CSPRNG ---------------------------------------------------

namespace {

bool well_formed(const std::string& text, char version) {
  auto bytes = uuid::parse(text);
  return bytes && uuid::format(*bytes) == text && text[14] == version
         && ((*bytes)[8] & 0xC0) == 0x80;
}

} // namespace

TEST_CASE("hostile: default UUIDs are well-formed and unique across "
          "threads",
          "[hostile][uuid]") {
  auto env = environment::system();
  constexpr int threads = 4;
  constexpr int per_thread = 5000;
  std::vector<std::vector<std::string>> out(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        out[t].push_back(env.uuid_v4());
        out[t].push_back(env.uuid_v7());
      }
    });
  for (auto& w : workers)
    w.join();
  std::set<std::string> all;
  for (auto& xs : out) {
    for (size_t i = 0; i < xs.size(); ++i) {
      INFO(xs[i]);
      CHECK(well_formed(xs[i], i % 2 == 0 ? '4' : '7'));
      all.insert(xs[i]);
    }
    // Version 7 ids of one thread increase.
    for (size_t i = 3; i < xs.size(); i += 2)
      CHECK(xs[i - 2] < xs[i]);
  }
  CHECK(all.size() == size_t{threads} * per_thread * 2);
}

TEST_CASE("hostile: a forked child does not repeat its parent's UUIDs",
          "[hostile][uuid]") {
  // The parent has buffered random bytes (and, before, had a generator
  // state) that the child inherits.
  auto first = uuid::format(uuid::random_v4());
  (void) uuid::next_v7(now_utc());
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  constexpr int n = 64;
  auto pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    for (int i = 0; i < n; ++i) {
      auto v4 = uuid::random_v4();
      auto v7 = uuid::next_v7(now_utc());
      if (::write(fds[1], v4.data(), v4.size()) != 16
          || ::write(fds[1], v7.data() + 8, 8) != 8)
        ::_exit(1);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::set<std::string> parent;
  std::set<std::string> parent_v7_tails;
  for (int i = 0; i < n; ++i) {
    parent.insert(uuid::format(uuid::random_v4()));
    auto v7 = uuid::next_v7(now_utc());
    parent_v7_tails.insert(std::string(v7.begin() + 8, v7.end()));
  }
  std::string got;
  char buf[4096];
  for (;;) {
    auto k = ::read(fds[0], buf, sizeof buf);
    if (k > 0)
      got.append(buf, static_cast<size_t>(k));
    else if (k == 0 || errno != EINTR)
      break;
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE(got.size() == size_t{n} * 24);
  int same_v4 = 0;
  int same_v7 = 0;
  for (int i = 0; i < n; ++i) {
    uuid::bytes v4;
    std::memcpy(v4.data(), got.data() + i * 24, 16);
    same_v4 += parent.count(uuid::format(v4)) > 0 ? 1 : 0;
    same_v7 += parent_v7_tails.count(got.substr(i * 24 + 16, 8)) > 0 ? 1 : 0;
  }
  CHECK(same_v4 == 0);
  CHECK(same_v7 == 0);
  CHECK(parent.count(first) == 0);
}

TEST_CASE("hostile: UUIDs of processes started together differ, and their "
          "random bits look random",
          "[hostile][uuid][cli]") {
  // Two CLI processes creating records at the same moment on their own
  // files: the keys share nothing.
  temp_dir dir;
  auto make = [&](const std::string& name) {
    return run_process({cli_path, "--app", config_file("quickstart.json"),
                        "--db", dir.file(name), "--format", "jsonl", "run",
                        "Accounts.User", "create",
                        R"({"email": "a@example.com"})"});
  };
  process_result a;
  process_result b;
  std::thread ta{[&] { a = make("a.db"); }};
  std::thread tb{[&] { b = make("b.db"); }};
  ta.join();
  tb.join();
  REQUIRE(a.exit_code == 0);
  REQUIRE(b.exit_code == 0);
  auto id_of = [](const std::string& out) {
    return std::string{json::parse(out).at("id").as_string()};
  };
  CHECK(id_of(a.out) != id_of(b.out));
  // Each of the 122 random bits of a v4 UUID is set in about half of
  // 20,000 ids (the bound is more than 7 standard deviations wide).
  constexpr int n = 20'000;
  std::array<int, 128> ones{};
  for (int i = 0; i < n; ++i) {
    auto x = uuid::random_v4();
    for (int bit = 0; bit < 128; ++bit)
      ones[bit] += (x[bit / 8] >> (7 - bit % 8)) & 1;
  }
  for (int bit = 0; bit < 128; ++bit) {
    INFO("bit " << bit);
    if (bit / 4 == 12 || bit / 2 == 32)
      continue; // version and variant
    CHECK(ones[bit] > n / 2 - 500);
    CHECK(ones[bit] < n / 2 + 500);
  }
}
