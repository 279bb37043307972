// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// Two TLS sessions that talk through memory: each end's output is handed
// to the other's input, in slices of chosen sizes.

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "eventactors/error.hpp"
#include "net/tls.hpp"
#include "support/certs.hpp"
#include "support/temp_dir.hpp"

namespace eventactors::test {

using net::tls_context;
using net::tls_files;
using net::tls_session;
using net::tls_side;

/// One end of a connection: its session, the bytes it has to send, the
/// plaintext it received and its first error.
struct peer {
  tls_session session;
  std::vector<char> out;
  std::vector<char> plain;
  caf::error error;

  std::string text() const {
    return {plain.begin(), plain.end()};
  }

  std::string error_text() const {
    return error ? message(error) : std::string{};
  }
};

inline tls_context make_context(tls_side side, const cert_files& id,
                                const std::string& ca) {
  auto ctx = tls_context::make(side, tls_files{id.cert, id.key, ca});
  if (!ctx)
    FAIL("tls_context::make: " << render(ctx.error()));
  return std::move(*ctx);
}

inline peer make_peer(const tls_context& ctx) {
  auto session = tls_session::make(ctx);
  if (!session)
    FAIL("tls_session::make: " << render(session.error()));
  return peer{std::move(*session), {}, {}, {}};
}

/// Hands `from`'s output to `to`, in slices of the sizes in `slices`
/// (cycled). A session that failed takes nothing more, as a node would
/// disconnect it.
inline void deliver(peer& from, peer& to, const std::vector<size_t>& slices) {
  auto bytes = std::exchange(from.out, {});
  size_t pos = 0;
  size_t k = 0;
  while (pos < bytes.size() && !to.error) {
    auto n = std::min(slices[k++ % slices.size()], bytes.size() - pos);
    to.error = to.session.receive(bytes.data() + pos, n, to.plain, to.out);
    pos += n;
  }
}

/// Moves bytes both ways until neither side has anything to send.
inline void pump(peer& a, peer& b,
                 const std::vector<size_t>& slices = {SIZE_MAX}) {
  for (int round = 0; round < 1000; ++round) {
    if (a.out.empty() && b.out.empty())
      return;
    deliver(a, b, slices);
    deliver(b, a, slices);
  }
  FAIL("the sessions kept sending for 1000 rounds");
}

inline void send(peer& p, const std::string& text) {
  REQUIRE_FALSE(p.session.send(text.data(), text.size(), p.out));
}

/// A client and a server of the same CA, not yet connected.
struct tls_fixture {
  temp_dir dir;
  test_certs certs = make_test_certs(dir.path().string());

  tls_context server_context(const cert_files& id) {
    return make_context(tls_side::server, id, certs.ca.cert);
  }

  tls_context client_context(const cert_files& id) {
    return make_context(tls_side::client, id, certs.ca.cert);
  }

  /// Runs a handshake of `client` with `server` to its end.
  static void connect(peer& client, peer& server) {
    REQUIRE_FALSE(client.session.start(client.out));
    REQUIRE_FALSE(client.out.empty()); // the ClientHello
    REQUIRE_FALSE(server.session.start(server.out));
    CHECK(server.out.empty());
    pump(client, server);
  }
};

} // namespace eventactors::test
