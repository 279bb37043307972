// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// The session of one command: the global options, the app they name and a
// runtime on the database.

#include <memory>
#include <optional>
#include <string>

#include <caf/fwd.hpp>

#include "eventactors/cli.hpp"
#include "eventactors/fwd.hpp"

#include "output.hpp"

namespace eventactors::cli {

/// The global options, given before or after the subcommand.
struct common {
  std::string app_path;
  std::string db_path;
  std::string config_path;
  std::string log;
  std::string fmt_name = "table";
  format fmt = format::table;
  /// A node instead of a database (--connect HOST:PORT) and how to reach
  /// it; several, comma-separated: a cluster.
  std::string connect;
  std::string user;
  std::string secret_file;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  bool plaintext = false;
};

class session {
public:
  session(const options& opts, const common& c);

  ~session();

  /// Loads the app and starts a runtime on the database. Commands that
  /// only read or rebuild need an existing database (`must_exist`): a
  /// mistyped path must not create an empty one. Commands that only read
  /// it open it `read_only`: never migrated or written, and not waiting for
  /// another process's write lock.
  std::optional<failure> open(bool must_exist = true, bool read_only = false);

  /// The runtime on the database, or the node `--connect` names.
  /// @pre `open()` succeeded.
  service& svc();

  /// The local runtime. @pre `open()` succeeded without `--connect`.
  runtime& rt() {
    return *rt_;
  }

  /// The longest input a call may carry.
  size_t max_input_bytes() const;

  const std::string& program() const {
    return opts_.name;
  }

  /// The event log that `--log` names, the first one by default; an
  /// error names a log that does not exist. @pre `open()` succeeded.
  caf::expected<const event_log*> log();

private:
  const options& opts_;
  const common& c_;
  std::optional<failure> connect();

  std::unique_ptr<runtime> rt_;
  /// A `remote_node`, or a `cluster` for several addresses.
  std::unique_ptr<service> remote_;
};

} // namespace eventactors::cli
