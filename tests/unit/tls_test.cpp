// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Mutual TLS over memory buffers: two sessions pump bytes to each other in
// memory, with certificates made at test time. Handshake and data both
// ways, refusals of bad certificates on either side with the reason,
// errors of tls_context::make naming the file, garbage and oversized input.

#include "net/tls.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "eventactors/error.hpp"
#include "support/certs.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_peers.hpp"

using namespace eventactors;
using namespace eventactors::net;
using namespace eventactors::test;
using Catch::Matchers::Contains;

namespace {

std::vector<char> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 gen{seed};
  std::vector<char> result(n);
  for (auto& c : result)
    c = static_cast<char>(gen());
  return result;
}

/// Sends `data` from `from` in pieces of `piece` bytes.
void send_all(peer& from, const std::vector<char>& data, size_t piece) {
  for (size_t pos = 0; pos < data.size(); pos += piece) {
    auto n = std::min(piece, data.size() - pos);
    REQUIRE_FALSE(from.session.send(data.data() + pos, n, from.out));
  }
}

bool contains(const std::vector<char>& haystack, const char* needle, size_t n) {
  return std::search(haystack.begin(), haystack.end(), needle, needle + n)
         != haystack.end();
}

} // namespace

TEST_CASE_METHOD(tls_fixture,
                 "mutual TLS completes a handshake and carries data both ways",
                 "[tls]") {
  auto server_ctx = server_context(certs.server);
  auto client_ctx = client_context(certs.client);
  auto server = make_peer(server_ctx);
  auto client = make_peer(client_ctx);
  CHECK(client.session.peer_name().empty());
  CHECK_FALSE(client.session.established());
  connect(client, server);
  REQUIRE(client.error_text() == "");
  REQUIRE(server.error_text() == "");
  CHECK(client.session.established());
  CHECK(server.session.established());
  CHECK(client.session.peer_name() == "node-1");
  CHECK(server.session.peer_name() == "client-1");
  CHECK(client.session.protocol() == "TLSv1.3");
  send(client, "hello, server");
  CHECK_FALSE(contains(client.out, "hello", 5)); // encrypted
  send(server, "hello, client");
  pump(client, server);
  CHECK(server.text() == "hello, server");
  CHECK(client.text() == "hello, client");
  CHECK_FALSE(client.error);
  CHECK_FALSE(server.error);
}

TEST_CASE_METHOD(tls_fixture,
                 "data sent before the handshake is delivered once it is done",
                 "[tls]") {
  auto server_ctx = server_context(certs.server);
  auto client_ctx = client_context(certs.client);
  auto server = make_peer(server_ctx);
  auto client = make_peer(client_ctx);
  REQUIRE_FALSE(client.session.start(client.out));
  auto hello = client.out.size();
  send(client, "early from the client");
  send(server, "early from the server");
  CHECK(client.out.size() == hello); // queued, not sent
  pump(client, server);
  CHECK(server.text() == "early from the client");
  CHECK(client.text() == "early from the server");
  CHECK_FALSE(client.error);
  CHECK_FALSE(server.error);
}

TEST_CASE_METHOD(tls_fixture, "sessions outlive the context that made them",
                 "[tls]") {
  auto make = [](tls_context ctx) { return make_peer(ctx); };
  auto server = make(server_context(certs.server));
  auto client = make(client_context(certs.client));
  connect(client, server);
  send(client, "still here");
  pump(client, server);
  CHECK(server.text() == "still here");
  CHECK(server.session.peer_name() == "client-1");
}

TEST_CASE_METHOD(tls_fixture,
                 "payloads of several MiB cross in odd slices both ways",
                 "[tls]") {
  auto server_ctx = server_context(certs.server);
  auto client_ctx = client_context(certs.client);
  auto server = make_peer(server_ctx);
  auto client = make_peer(client_ctx);
  const std::vector<size_t> slices{1, 13, 4093, 17011, 65537, 333, 100003};
  REQUIRE_FALSE(client.session.start(client.out));
  pump(client, server, slices);
  REQUIRE(client.session.established());
  REQUIRE(server.session.established());
  auto up = random_bytes(5 * 1024 * 1024 + 7, 1);
  auto down = random_bytes(3 * 1024 * 1024 + 1, 2);
  send_all(client, up, 100003);
  send_all(server, down, 65521);
  CHECK_FALSE(contains(client.out, up.data() + 1000, 64));
  pump(client, server, slices);
  CHECK_FALSE(client.error);
  CHECK_FALSE(server.error);
  // Compared as booleans: Catch2 would print megabytes on a failure.
  CHECK(server.plain.size() == up.size());
  CHECK((server.plain == up));
  CHECK(client.plain.size() == down.size());
  CHECK((client.plain == down));
}

TEST_CASE_METHOD(tls_fixture, "close_notify ends a session cleanly", "[tls]") {
  auto server_ctx = server_context(certs.server);
  auto client_ctx = client_context(certs.client);
  auto server = make_peer(server_ctx);
  auto client = make_peer(client_ctx);
  connect(client, server);
  send(client, "last words");
  client.session.close(client.out);
  REQUIRE_FALSE(client.out.empty());
  pump(client, server);
  CHECK(server.text() == "last words");
  CHECK(server.session.peer_closed());
  CHECK_FALSE(server.error);
  auto err = client.session.send("more", 4, client.out);
  REQUIRE(err);
  CHECK(is(err, errc::tls_failed));
}

namespace {

/// A peer with a bad certificate, the reason its verifier gives and the
/// reason the peer hears back in an alert.
struct refusal {
  const char* what;
  cert_files test_certs::*id;
  const char* verifier_says;
  const char* refused_hears;
};

// Both messages come from OpenSSL 3: the verifier's from
// X509_verify_cert_error_string, the alert's from the alert's name.
const refusal refusals[] = {
    {"self-signed", &test_certs::self_signed,
     "peer certificate: self-signed certificate",
     "refused by the peer: tlsv1 alert unknown ca"},
    {"of another CA", &test_certs::other,
     "peer certificate: unable to get local issuer certificate",
     "refused by the peer: tlsv1 alert unknown ca"},
    {"expired", &test_certs::expired,
     "peer certificate: certificate has expired",
     "refused by the peer: sslv3 alert certificate expired"},
};

} // namespace

TEST_CASE_METHOD(tls_fixture,
                 "a server refuses a client without a valid "
                 "certificate and says why",
                 "[tls]") {
  auto server_ctx = server_context(certs.server);
  auto check_refused = [&](peer& client, const std::string& server_says,
                           const std::string& client_hears) {
    auto server = make_peer(server_ctx);
    // Sent as soon as the client's side of the handshake is done: the
    // server must never hand it over.
    send(client, "request");
    connect(client, server);
    CHECK(server.error_text() == server_says);
    CHECK(is(server.error, errc::tls_failed));
    CHECK_FALSE(server.session.established());
    CHECK(server.session.peer_name().empty());
    CHECK(server.plain.empty());
    CHECK(client.error_text() == client_hears);
    CHECK(is(client.error, errc::tls_failed));
    // Errors are final.
    std::vector<char> plain;
    std::vector<char> out;
    CHECK(server.session.receive("x", 1, plain, out) == server.error);
  };
  SECTION("no certificate") {
    auto client_ctx = client_context(cert_files{});
    auto client = make_peer(client_ctx);
    check_refused(client, "peer presented no certificate",
                  "refused by the peer: tlsv13 alert certificate required");
  }
  for (auto& r : refusals) {
    DYNAMIC_SECTION("a client certificate " << r.what) {
      auto client_ctx = client_context(certs.*r.id);
      auto client = make_peer(client_ctx);
      check_refused(client, r.verifier_says, r.refused_hears);
    }
  }
}

TEST_CASE_METHOD(tls_fixture,
                 "a client refuses a server without a valid "
                 "certificate and says why",
                 "[tls]") {
  auto client_ctx = client_context(certs.client);
  for (auto& r : refusals) {
    DYNAMIC_SECTION("a server certificate " << r.what) {
      auto server_ctx = server_context(certs.*r.id);
      auto server = make_peer(server_ctx);
      auto client = make_peer(client_ctx);
      send(client, "request");
      connect(client, server);
      CHECK(client.error_text() == r.verifier_says);
      CHECK_FALSE(client.session.established());
      CHECK(client.session.peer_name().empty());
      CHECK(server.error_text() == r.refused_hears);
      CHECK(server.plain.empty());
    }
  }
}

TEST_CASE_METHOD(tls_fixture,
                 "tls_context::make names the file that fails and why",
                 "[tls]") {
  auto fails = [](tls_side side, const tls_files& files) {
    auto ctx = tls_context::make(side, files);
    REQUIRE_FALSE(ctx);
    CHECK(is(ctx.error(), errc::tls_failed));
    return message(ctx.error());
  };
  auto q = [](const std::string& path) { return "\"" + path + "\""; };
  const auto& ca = certs.ca.cert;
  const auto& server = certs.server;
  auto missing = dir.file("missing.pem");
  auto junk = dir.file("junk.pem");
  std::ofstream{junk} << "not a certificate\n";
  SECTION("a missing file") {
    auto absent = " cannot be read: No such file or directory";
    CHECK(fails(tls_side::server, {missing, server.key, ca})
          == "certificate file " + q(missing) + absent);
    CHECK(fails(tls_side::server, {server.cert, missing, ca})
          == "key file " + q(missing) + absent);
    CHECK(fails(tls_side::client, {server.cert, server.key, missing})
          == "CA file " + q(missing) + absent);
    auto here = dir.path().string();
    CHECK(fails(tls_side::server, {here, server.key, ca})
          == "certificate file " + q(here) + " is a directory");
  }
  SECTION("a file that is not PEM") {
    CHECK(fails(tls_side::server, {junk, server.key, ca})
          == "certificate file " + q(junk)
                 + " holds no PEM certificate (no start line)");
    CHECK(fails(tls_side::server, {server.cert, junk, ca})
          == "key file " + q(junk)
                 + " holds no PEM private key (no start line)");
    // A certificate where the key should be.
    CHECK(fails(tls_side::server, {server.cert, server.cert, ca})
          == "key file " + q(server.cert)
                 + " holds no PEM private key (no start line)");
    CHECK_THAT(fails(tls_side::server, {server.cert, server.key, junk}),
               Contains("CA file " + q(junk) + " does not load: ")
                   && Contains("no certificate"));
  }
  SECTION("a key that does not match the certificate") {
    CHECK(fails(tls_side::client, {certs.client.cert, server.key, ca})
          == "key file " + q(server.key)
                 + " does not match the certificate file "
                 + q(certs.client.cert) + " (key values mismatch)");
  }
  SECTION("a file not given") {
    CHECK(fails(tls_side::server, {"", "", ca}) == "no certificate file given");
    CHECK(fails(tls_side::client, {server.cert, "", ca})
          == "no key file given");
    CHECK(fails(tls_side::client, {server.cert, server.key, ""})
          == "no CA file given");
  }
}

TEST_CASE_METHOD(tls_fixture, "garbage bytes give an error, never a crash",
                 "[tls]") {
  auto server_ctx = server_context(certs.server);
  auto client_ctx = client_context(certs.client);
  // More than a record's largest size, so that a header that happens to
  // look valid is followed by its whole (random) body.
  constexpr size_t garbage_size = 70 * 1024;
  auto feed_garbage = [](peer& p, uint32_t seed) {
    INFO("seed " << seed);
    auto bytes = random_bytes(garbage_size, seed);
    std::vector<char> plain;
    auto err = p.session.receive(bytes.data(), bytes.size(), plain, p.out);
    CHECK(is(err, errc::tls_failed));
    CHECK(plain.empty());
    CHECK_FALSE(p.session.established());
    // Errors are final, and so is the session's silence.
    p.out.clear();
    CHECK(p.session.receive(bytes.data(), 100, plain, p.out) == err);
    CHECK(p.session.send("x", 1, p.out) == err);
    CHECK(p.out.empty());
  };
  SECTION("to a server awaiting a ClientHello") {
    for (uint32_t seed = 1; seed <= 40; ++seed) {
      auto server = make_peer(server_ctx);
      feed_garbage(server, seed);
    }
  }
  SECTION("to a client awaiting the server's answer") {
    for (uint32_t seed = 1; seed <= 40; ++seed) {
      auto client = make_peer(client_ctx);
      REQUIRE_FALSE(client.session.start(client.out));
      feed_garbage(client, seed);
    }
  }
  SECTION("to an established session") {
    for (uint32_t seed = 1; seed <= 10; ++seed) {
      auto server = make_peer(server_ctx);
      auto client = make_peer(client_ctx);
      connect(client, server);
      REQUIRE(server.session.established());
      feed_garbage(server, seed);
    }
  }
  SECTION("a record with one bit flipped") {
    auto server = make_peer(server_ctx);
    auto client = make_peer(client_ctx);
    connect(client, server);
    send(client, "a request that must arrive intact");
    client.out[client.out.size() / 2] ^= 0x01;
    pump(client, server);
    CHECK(is(server.error, errc::tls_failed));
    CHECK(server.plain.empty());
  }
}

TEST_CASE_METHOD(tls_fixture,
                 "a peer cannot make a session buffer without "
                 "bound",
                 "[tls]") {
  SECTION("a handshake message announced as 16 MiB fails at once") {
    auto server_ctx = server_context(certs.server);
    auto server = make_peer(server_ctx);
    // A handshake record of 16 KiB that starts a ClientHello of 16 MiB;
    // the records after it would carry the rest.
    std::vector<unsigned char> record(5 + 16384, 0);
    const unsigned char head[]
        = {0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0xFF, 0xFF, 0xFF};
    std::copy(std::begin(head), std::end(head), record.begin());
    std::vector<char> plain;
    caf::error err;
    size_t records = 0;
    while (!err && records < 64) {
      err = server.session.receive(reinterpret_cast<char*>(record.data()),
                                   record.size(), plain, server.out);
      ++records;
      std::fill(record.begin() + 5, record.begin() + 9, 0);
    }
    CHECK(records == 1);
    CHECK(is(err, errc::tls_failed));
    CHECK_THAT(message(err), Contains("excessive message size"));
  }
  SECTION("plaintext waiting for the handshake is limited") {
    auto client_ctx = client_context(certs.client);
    auto client = make_peer(client_ctx);
    std::vector<char> big(tls_session::max_pending_bytes - 10, 'x');
    REQUIRE_FALSE(client.session.send(big.data(), big.size(), client.out));
    auto err = client.session.send(big.data(), 11, client.out);
    CHECK(is(err, errc::tls_failed));
    CHECK_THAT(message(err), Contains("before the TLS handshake completed"));
    CHECK(client.out.empty());
  }
}
