// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// Test certificates, made at test time with OpenSSL's API (EC P-256 keys,
// SHA-256 signatures): no certificate or key lives in the repository.

#include <string>

namespace eventactors::test {

/// A certificate and its private key, as PEM file paths.
struct cert_files {
  std::string cert;
  std::string key;
};

/// A set of certificates for TLS tests, all in one directory.
struct test_certs {
  /// The CA's certificate (`ca.pem`); its key is `ca.key`.
  cert_files ca;
  /// Signed by the CA, CN `server_cn`.
  cert_files server;
  /// Signed by the CA, CN `client_cn`.
  cert_files client;
  /// Self-signed, CN "self-signed"; not a CA.
  cert_files self_signed;
  /// Another CA, CN "other CA".
  cert_files other_ca;
  /// Signed by the other CA, CN "other".
  cert_files other;
  /// Signed by the CA, CN "expired", valid from 30 days ago until yesterday.
  cert_files expired;
};

/// Makes a `test_certs` set in `dir` (which must exist). The leaf
/// certificates serve as client and as server (extended key usage
/// serverAuth and clientAuth; names localhost and 127.0.0.1) and are valid
/// from an hour ago for 30 days. Throws `std::runtime_error` when OpenSSL
/// fails. Takes a few milliseconds.
test_certs make_test_certs(const std::string& dir,
                           const std::string& server_cn = "node-1",
                           const std::string& client_cn = "client-1");

} // namespace eventactors::test
