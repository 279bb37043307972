// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The openssl commands that docs/nodes.md gives for making a CA and
// certificates produce files that tls_context accepts and that complete a
// mutual TLS handshake.

#include "net/tls.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include <catch2/catch.hpp>

#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_peers.hpp"

using namespace eventactors;
using namespace eventactors::net;
using namespace eventactors::test;

namespace fs = std::filesystem;

namespace {

/// The `openssl` program on the PATH; empty when there is none.
std::string find_openssl() {
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "";
  while (!rest.empty()) {
    auto end = std::min(rest.find(':'), rest.size());
    auto candidate = fs::path{std::string{rest.substr(0, end)}} / "openssl";
    if (end > 0 && ::access(candidate.c_str(), X_OK) == 0)
      return candidate.string();
    rest.remove_prefix(std::min(end + 1, rest.size()));
  }
  return {};
}

// The commands of docs/nodes.md ("Making a CA and certificates"); keep
// both in step.
constexpr const char* openssl_config = R"(# openssl.cnf
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[peer]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
)";

} // namespace

TEST_CASE("certificates made with the openssl command work", "[tls]") {
  auto openssl = find_openssl();
  if (openssl.empty()) {
    WARN("skipped: the openssl command is not installed");
    return;
  }
  temp_dir dir;
  std::ofstream{dir.file("openssl.cnf")} << openssl_config;
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), openssl);
    auto result = run_process(args, {.cwd = dir.path().string(),
                                     .timeout = std::chrono::seconds{30}});
    INFO(args[1] << " " << args[2] << ": " << result.err);
    REQUIRE(result.exit_code == 0);
  };
  auto key = [](const std::string& name) {
    return std::vector<std::string>{
        "-newkey", "ec",      "-pkeyopt",   "ec_paramgen_curve:P-256",
        "-nodes",  "-keyout", name + ".key"};
  };
  auto cat
      = [](std::vector<std::string> xs, const std::vector<std::string>& ys) {
          xs.insert(xs.end(), ys.begin(), ys.end());
          return xs;
        };
  // The CA: a key and a self-signed certificate for ten years.
  run(cat({"req", "-x509", "-config", "openssl.cnf", "-extensions", "ca",
           "-subj", "/CN=Example CA", "-days", "3650", "-out", "ca.pem"},
          key("ca")));
  // A node's and a client's: a key and a request, signed by the CA.
  for (std::string name : {"node-1", "client-1"}) {
    run(cat({"req", "-new", "-config", "openssl.cnf", "-subj", "/CN=" + name,
             "-out", name + ".csr"},
            key(name)));
    run({"x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey",
         "ca.key", "-CAcreateserial", "-days", "365", "-sha256", "-extfile",
         "openssl.cnf", "-extensions", "peer", "-out", name + ".pem"});
  }
  auto files = [&](const std::string& name) {
    return tls_files{dir.file(name + ".pem"), dir.file(name + ".key"),
                     dir.file("ca.pem")};
  };
  auto server_ctx = tls_context::make(tls_side::server, files("node-1"));
  REQUIRE(server_ctx);
  auto client_ctx = tls_context::make(tls_side::client, files("client-1"));
  REQUIRE(client_ctx);
  auto server = make_peer(*server_ctx);
  auto client = make_peer(*client_ctx);
  tls_fixture::connect(client, server);
  CHECK(client.error_text() == "");
  CHECK(server.error_text() == "");
  CHECK(client.session.peer_name() == "node-1");
  CHECK(server.session.peer_name() == "client-1");
}
