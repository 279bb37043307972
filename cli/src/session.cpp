// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "session.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>
#include <caf/settings.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "eventactors/cluster.hpp"
#include "eventactors/remote.hpp"
#include "eventactors/runtime.hpp"

namespace eventactors::cli {

namespace {

/// Reads runtime settings from an INI file like config/eventactors.ini.
caf::expected<runtime_options> read_config(const std::string& path) {
  caf::actor_system_config cfg;
  if (auto err = cfg.parse(caf::actor_system_config::string_list{},
                           path.c_str()))
    return make_error(errc::invalid_input,
                      "--config " + path + ": " + caf::to_string(err));
  auto opts = read_options(caf::content(cfg));
  if (!opts)
    return make_error(errc::invalid_input,
                      "--config " + path + ": " + message(opts.error()));
  return opts;
}

/// Loads the definition file `--app` names, with the program's library
/// for `base`, the directory of the database.
caf::expected<app> load_app_arg(const options& opts, const common& c,
                                const std::filesystem::path& base) {
  auto lib = opts.library ? opts.library(base)
                          : json_library::builtins(base);
  // Relative key files resolve against the definition file's
  // directory, as in load_app_file (docs/json.md); outbox files
  // against the database's. A key_file provider of the program's own
  // (not the built-in one) is left alone.
  auto app_dir = std::filesystem::absolute(c.app_path).parent_path();
  auto keys = json_library::builtins(app_dir);
  auto ours = keys.find_key_provider("key_file");
  auto theirs = lib.find_key_provider("key_file");
  if (ours && (!theirs || theirs->target_type() == ours->target_type()))
    lib.add_key_provider("key_file", *ours);
  return load_app_file(c.app_path, lib);
}

/// Connects to the node at `addresses`, or to a cluster of the nodes it
/// lists (comma-separated), each reached as `co` says.
std::optional<failure> connect_nodes(const std::string& addresses,
                                     connect_options co,
                                     std::unique_ptr<service>& out) {
  std::vector<connect_options> nodes;
  size_t from = 0;
  for (;;) {
    auto to = addresses.find(',', from);
    auto one = addresses.substr(from, to == std::string::npos ? to : to - from);
    nodes.push_back(co);
    if (auto err = parse_address(one, nodes.back()))
      return failure{exit_usage, make_error(errc::invalid_input,
                                            "--connect: " + message(err))};
    if (to == std::string::npos)
      break;
    from = to + 1;
  }
  if (nodes.size() == 1) {
    auto r = remote_node::connect(std::move(nodes.front()));
    if (!r)
      return failure{exit_failed, r.error()};
    out = std::move(*r);
  } else {
    auto r = cluster::connect(std::move(nodes));
    if (!r)
      return failure{exit_failed, r.error()};
    out = std::move(*r);
  }
  return std::nullopt;
}

} // namespace

session::session(const options& opts, const common& c) : opts_(opts), c_(c) {
  // nop
}

session::~session() = default;

service& session::svc() {
  if (remote_)
    return *remote_;
  return *rt_;
}

size_t session::max_input_bytes() const {
  return rt_ ? rt_->options().max_input_bytes
             : runtime_options{}.max_input_bytes;
}

std::optional<failure> session::connect() {
  if (!c_.db_path.empty() || !c_.app_path.empty())
    return usage("--connect takes the place of --db and --app: give "
                 "either");
  connect_options co;
  co.user = c_.user;
  if (!c_.secret_file.empty()) {
    std::ifstream in{c_.secret_file};
    if (!in)
      return usage("--secret-file: cannot read " + c_.secret_file);
    std::getline(in, co.secret);
  } else if (auto env = std::getenv("EVENTACTORS_SECRET")) {
    co.secret = env;
  }
  if (!c_.tls_cert.empty() || !c_.tls_key.empty() || !c_.tls_ca.empty()) {
    if (c_.tls_cert.empty() || c_.tls_key.empty() || c_.tls_ca.empty())
      return usage("TLS needs --tls-cert, --tls-key and --tls-ca together");
    co.tls = tls_files{c_.tls_cert, c_.tls_key, c_.tls_ca};
  }
  co.plaintext = c_.plaintext;
  co.client = opts_.name;
  return connect_nodes(c_.connect, std::move(co), remote_);
}

std::optional<failure> session::open(bool must_exist, bool read_only) {
  if (!c_.connect.empty())
    return connect();
  if (c_.db_path.empty())
    return usage("--db PATH is required");
  auto base = std::filesystem::absolute(c_.db_path).parent_path();
  caf::expected<app> defs{caf::error{}};
  if (!c_.app_path.empty()) {
    defs = load_app_arg(opts_, c_, base);
    if (!defs)
      return failure{exit_usage, defs.error()};
  } else if (opts_.definitions) {
    defs = *opts_.definitions;
  } else {
    return usage("--app APP.json is required");
  }
  // Checked after the app: a definition error is reported first.
  if (must_exist && !std::filesystem::exists(c_.db_path))
    return failure{exit_failed,
                   make_error(errc::not_found,
                              "no database at " + c_.db_path)};
  runtime_options ro;
  if (!c_.config_path.empty()) {
    auto read = read_config(c_.config_path);
    if (!read)
      return failure{exit_usage, read.error()};
    ro = std::move(*read);
  }
  ro.path = c_.db_path;
  ro.read_only = read_only;
  auto rt = runtime::start(std::move(*defs), std::move(ro));
  if (!rt)
    return failure{is(rt.error(), errc::invalid_definition) ? exit_usage
                                                            : exit_failed,
                   rt.error()};
  rt_ = std::move(*rt);
  return std::nullopt;
}

caf::expected<const event_log*> session::log() {
  auto& defs = svc().definitions();
  auto log = c_.log.empty() ? (defs.logs().empty() ? nullptr
                                                   : &defs.logs().front())
                            : defs.find_log(c_.log);
  if (!log)
    return make_error(errc::invalid_input, "no event log \"" + c_.log + "\"");
  return log;
}

} // namespace eventactors::cli
