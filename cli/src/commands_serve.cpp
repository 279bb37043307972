// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "commands.hpp"

#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>

#include <pthread.h>

#include "eventactors/node.hpp"
#include "eventactors/remote.hpp"
#include "eventactors/runtime.hpp"

namespace eventactors::cli {

std::optional<failure> cmd_serve(session& s, const common& c,
                                 const serve_args& a) {
  if (!c.connect.empty())
    return usage("serve takes --db and --app, not --connect");
  connect_options where;
  if (auto err = parse_address(a.listen, where))
    return failure{exit_usage, make_error(errc::invalid_input,
                                          "--listen: " + message(err))};
  node_options opts;
  opts.host = where.host;
  opts.port = where.port;
  opts.users_file = a.users;
  opts.plaintext = c.plaintext;
  opts.plaintext_on_any_address = a.plaintext_anywhere;
  if (!c.tls_cert.empty() || !c.tls_key.empty() || !c.tls_ca.empty()) {
    if (c.tls_cert.empty() || c.tls_key.empty() || c.tls_ca.empty())
      return usage("TLS needs --tls-cert, --tls-key and --tls-ca together");
    opts.tls = tls_files{c.tls_cert, c.tls_key, c.tls_ca};
  }
  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  if (auto f = s.open(false, false))
    return f;
  auto nd = node::start(s.rt(), opts);
  if (!nd)
    return failure{is(nd.error(), errc::invalid_input) ? exit_usage
                                                       : exit_failed,
                   nd.error()};
  // One line scripts can read: the address, with the port chosen.
  std::printf("listening on %s\n", (*nd)->address().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop_signals, &sig);
  (*nd)->stop();
  s.rt().stop();
  return std::nullopt;
}

std::optional<failure> cmd_hash_secret() {
  std::string secret;
  std::getline(std::cin, secret);
  if (!secret.empty() && secret.back() == '\r')
    secret.pop_back();
  if (secret.size() < 12)
    return failure{exit_usage,
                   make_error(errc::invalid_input,
                              "a secret needs at least 12 characters")};
  std::cout << hash_secret(secret) << '\n';
  return std::nullopt;
}

} // namespace eventactors::cli
