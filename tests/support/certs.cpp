// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "support/certs.hpp"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace eventactors::test {

namespace {

struct key_free {
  void operator()(EVP_PKEY* x) const {
    EVP_PKEY_free(x);
  }
};

struct cert_free {
  void operator()(X509* x) const {
    X509_free(x);
  }
};

struct bio_free {
  void operator()(BIO* x) const {
    BIO_free(x);
  }
};

using key_ptr = std::unique_ptr<EVP_PKEY, key_free>;
using cert_ptr = std::unique_ptr<X509, cert_free>;
using bio_ptr = std::unique_ptr<BIO, bio_free>;

constexpr long hour = 3600;
constexpr long day = 24 * hour;

[[noreturn]] void fail(const std::string& what) {
  char detail[256] = "no detail";
  if (auto e = ERR_get_error())
    ERR_error_string_n(e, detail, sizeof(detail));
  ERR_clear_error();
  throw std::runtime_error("make_test_certs: " + what + ": " + detail);
}

void check(bool ok, const std::string& what) {
  if (!ok)
    fail(what);
}

enum class kind { ca, leaf, self_signed };

/// A key and its certificate.
struct identity {
  key_ptr key;
  cert_ptr cert;
};

key_ptr make_key() {
  key_ptr key{EVP_EC_gen("P-256")};
  check(key != nullptr, "EC key generation");
  return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  auto* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, std::string{"extension "} + value);
  auto rc = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(rc == 1, std::string{"adding extension "} + value);
}

void add_extensions(X509* cert, X509* issuer, kind k) {
  // The subject key id first: the authority key id of a self-signed
  // certificate is read from it.
  add_ext(cert, issuer, NID_subject_key_identifier, "hash");
  add_ext(cert, issuer, NID_authority_key_identifier, "keyid");
  if (k == kind::ca) {
    add_ext(cert, issuer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    return;
  }
  add_ext(cert, issuer, NID_basic_constraints, "critical,CA:FALSE");
  if (k == kind::leaf)
    add_ext(cert, issuer, NID_key_usage, "critical,digitalSignature");
  add_ext(cert, issuer, NID_ext_key_usage, "serverAuth,clientAuth");
  add_ext(cert, issuer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
}

/// Makes a key and a certificate for `cn`, valid from `from` to `to`
/// seconds from now, signed by `issuer` (itself when null).
identity make_identity(const std::string& cn, const identity* issuer, kind k,
                       long from, long to) {
  identity result{make_key(), cert_ptr{X509_new()}};
  auto* x = result.cert.get();
  check(x != nullptr, "X509_new");
  check(X509_set_version(x, X509_VERSION_3) == 1, "version");
  uint64_t serial = 0;
  check(RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof(serial))
            == 1,
        "serial");
  serial &= INT64_MAX;
  check(ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) == 1,
        "serial");
  check(X509_gmtime_adj(X509_getm_notBefore(x), from) != nullptr, "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(x), to) != nullptr, "notAfter");
  check(X509_set_pubkey(x, result.key.get()) == 1, "public key");
  auto* name = X509_get_subject_name(x);
  check(X509_NAME_add_entry_by_txt(
            name, "CN", MBSTRING_UTF8,
            reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0)
            == 1,
        "subject");
  auto* issuer_cert = issuer != nullptr ? issuer->cert.get() : x;
  auto* issuer_key = issuer != nullptr ? issuer->key.get() : result.key.get();
  check(X509_set_issuer_name(x, X509_get_subject_name(issuer_cert)) == 1,
        "issuer");
  add_extensions(x, issuer_cert, k);
  check(X509_sign(x, issuer_key, EVP_sha256()) > 0, "signing " + cn);
  return result;
}

void write_file(const std::string& path, const std::string& what,
                const std::function<int(BIO*)>& write) {
  bio_ptr bio{BIO_new_file(path.c_str(), "w")};
  check(bio != nullptr, "opening " + path);
  check(write(bio.get()) == 1, "writing " + what + " to " + path);
}

cert_files save(const identity& id, const std::string& dir,
                const std::string& base) {
  cert_files files;
  files.cert = (std::filesystem::path{dir} / (base + ".pem")).string();
  files.key = (std::filesystem::path{dir} / (base + ".key")).string();
  write_file(files.cert, "a certificate",
             [&](BIO* bio) { return PEM_write_bio_X509(bio, id.cert.get()); });
  write_file(files.key, "a key", [&](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, id.key.get(), nullptr, nullptr, 0,
                                    nullptr, nullptr);
  });
  return files;
}

} // namespace

test_certs make_test_certs(const std::string& dir, const std::string& server_cn,
                           const std::string& client_cn) {
  test_certs result;
  auto ca = make_identity("test CA", nullptr, kind::ca, -hour, 30 * day);
  result.ca = save(ca, dir, "ca");
  auto leaf = [&](const std::string& cn, const identity& issuer,
                  const std::string& base, long from = -hour,
                  long to = 30 * day) {
    return save(make_identity(cn, &issuer, kind::leaf, from, to), dir, base);
  };
  result.server = leaf(server_cn, ca, "server");
  result.client = leaf(client_cn, ca, "client");
  result.expired = leaf("expired", ca, "expired", -30 * day, -day);
  auto self = make_identity("self-signed", nullptr, kind::self_signed, -hour,
                            30 * day);
  result.self_signed = save(self, dir, "self-signed");
  auto other_ca = make_identity("other CA", nullptr, kind::ca, -hour, 30 * day);
  result.other_ca = save(other_ca, dir, "other-ca");
  result.other = leaf("other", other_ca, "other");
  return result;
}

} // namespace eventactors::test
