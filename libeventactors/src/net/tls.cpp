// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "net/tls.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "detail/text.hpp"
#include "eventactors/error.hpp"

namespace eventactors::net {

namespace {

// SSL_write and SSL_read move at most one record's worth at a time, so the
// output BIO is drained after every record.
constexpr size_t record_bytes = 16 * 1024;

// The oldest error on OpenSSL's queue, which names the root cause; the
// queue is cleared.
struct openssl_error {
  unsigned long code = 0;
  std::string text;
};

openssl_error take_error() {
  openssl_error result;
  while (auto e = ERR_get_error())
    if (result.code == 0)
      result.code = e;
  if (result.code == 0) {
    result.text = "unknown OpenSSL error";
  } else if (auto reason = ERR_reason_error_string(result.code)) {
    result.text = reason;
  } else {
    char buf[256];
    ERR_error_string_n(result.code, buf, sizeof(buf));
    result.text = buf;
  }
  return result;
}

caf::error tls_error(std::string what) {
  return make_error(errc::tls_failed, std::move(what));
}

std::string describe(const char* what, const std::string& path) {
  return std::string{what} + " " + detail::quoted(path);
}

// Never ask a terminal for a pass phrase: encrypted keys fail to load.
int no_password(char*, int, int, void*) {
  return 0;
}

// Checks that `path` names a readable file, so that errors say "missing"
// or "unreadable" instead of OpenSSL's generic "system lib".
caf::error check_readable(const char* what, const std::string& path) {
  if (path.empty())
    return tls_error(std::string{"no "} + what + " given");
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return tls_error(describe(what, path) + " is a directory");
  auto* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr)
    return tls_error(describe(what, path)
                     + " cannot be read: " + std::strerror(errno));
  std::fclose(f);
  return {};
}

// Why loading `path` failed, from OpenSSL's error queue. `noun` names
// what the file should hold.
caf::error load_error(const char* what, const char* noun,
                      const std::string& path) {
  auto err = take_error();
  if (ERR_GET_LIB(err.code) == ERR_LIB_PEM
      && ERR_GET_REASON(err.code) == PEM_R_NO_START_LINE)
    return tls_error(describe(what, path) + " holds no PEM " + noun + " ("
                     + err.text + ")");
  return tls_error(describe(what, path) + " does not load: " + err.text);
}

caf::error load_key(SSL_CTX* ctx, const tls_files& files) {
  if (auto err = check_readable("key file", files.key))
    return err;
  // OpenSSL 3's decoders report a file without a key as "unsupported":
  // looked for first, so that the message says what is wrong.
  std::ifstream in{files.key, std::ios::binary};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  if (text.find("PRIVATE KEY-----") == std::string::npos)
    return tls_error(describe("key file", files.key)
                     + " holds no PEM private key (no start line)");
  auto* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
  if (bio == nullptr)
    return load_error("key file", "private key", files.key);
  auto* key = PEM_read_bio_PrivateKey(bio, nullptr, no_password, nullptr);
  BIO_free(bio);
  OPENSSL_cleanse(text.data(), text.size());
  if (key == nullptr)
    return load_error("key file", "private key", files.key);
  caf::error result;
  if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), key) != 1)
    result = tls_error(describe("key file", files.key)
                       + " does not match the certificate file "
                       + detail::quoted(files.cert) + " (" + take_error().text
                       + ")");
  else if (SSL_CTX_use_PrivateKey(ctx, key) != 1)
    result = load_error("key file", "private key", files.key);
  EVP_PKEY_free(key);
  return result;
}

// Loads the certificate and key; a client given neither presents no
// certificate (servers refuse it; tests use it).
caf::error load_identity(SSL_CTX* ctx, tls_side side, const tls_files& files) {
  if (side == tls_side::client && files.cert.empty() && files.key.empty())
    return {};
  if (auto err = check_readable("certificate file", files.cert))
    return err;
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1)
    return load_error("certificate file", "certificate", files.cert);
  return load_key(ctx, files);
}

caf::error load_ca(SSL_CTX* ctx, tls_side side, const std::string& ca) {
  if (auto err = check_readable("CA file", ca))
    return err;
  if (SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) != 1)
    return load_error("CA file", "certificate", ca);
  if (side == tls_side::server) {
    // Tells clients which CAs the server accepts; optional.
    if (auto* names = SSL_load_client_CA_file(ca.c_str()))
      SSL_CTX_set_client_CA_list(ctx, names);
    ERR_clear_error();
  }
  return {};
}

void configure(SSL_CTX* ctx, tls_side side) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // No renegotiation (a peer could make the session work without bound),
  // no compression, no resumption: every connection verifies afresh.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION
                               | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (side == tls_side::server)
    SSL_CTX_set_num_tickets(ctx, 0);
  // Mutual TLS: both sides demand a certificate that chains to the CA.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     nullptr);
  SSL_CTX_set_default_passwd_cb(ctx, no_password);
  // Idle connections give their read and write buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

// Why a handshake, read or write on `ssl` failed with `code` (from
// SSL_get_error).
std::string failure_reason(SSL* ssl, int code) {
  auto err = take_error();
  auto verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK)
    return std::string{"peer certificate: "}
           + X509_verify_cert_error_string(verify);
  if (ERR_GET_LIB(err.code) == ERR_LIB_SSL) {
    auto reason = ERR_GET_REASON(err.code);
    if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
      return "peer presented no certificate";
    // Alerts received are reported as reasons past this offset.
    if (reason >= SSL_AD_REASON_OFFSET)
      return "refused by the peer: " + err.text;
  }
  if (code == SSL_ERROR_ZERO_RETURN)
    return "the peer closed the connection during the handshake";
  if (err.code == 0 && code == SSL_ERROR_SYSCALL)
    return "the connection ended unexpectedly";
  return err.text;
}

} // namespace

// -- tls_context --------------------------------------------------------------

void tls_context::deleter::operator()(ssl_ctx_st* x) const noexcept {
  SSL_CTX_free(x);
}

tls_context::tls_context(tls_side side, ssl_ctx_st* handle) noexcept
    : side_(side), handle_(handle) {
  // nop
}

tls_context::~tls_context() = default;

caf::expected<tls_context> tls_context::make(tls_side side,
                                             const tls_files& files) {
  ERR_clear_error();
  auto* method
      = side == tls_side::client ? TLS_client_method() : TLS_server_method();
  tls_context result{side, SSL_CTX_new(method)};
  auto* ctx = result.handle_.get();
  if (ctx == nullptr)
    return tls_error("cannot make a TLS context: " + take_error().text);
  configure(ctx, side);
  if (auto err = load_identity(ctx, side, files))
    return err;
  if (auto err = load_ca(ctx, side, files.ca))
    return err;
  return result;
}

// -- tls_session --------------------------------------------------------------

tls_session::tls_session(ssl_st* ssl, bio_st* in, bio_st* out) noexcept
    : ssl_(ssl), in_(in), out_(out) {
  // nop
}

tls_session::tls_session(tls_session&& other) noexcept
    : ssl_(std::exchange(other.ssl_, nullptr)),
      in_(std::exchange(other.in_, nullptr)),
      out_(std::exchange(other.out_, nullptr)),
      pending_(std::move(other.pending_)), failed_(std::move(other.failed_)),
      started_(other.started_), established_(other.established_),
      closed_(other.closed_), peer_closed_(other.peer_closed_) {
  // nop
}

tls_session& tls_session::operator=(tls_session&& other) noexcept {
  if (this != &other) {
    release();
    ssl_ = std::exchange(other.ssl_, nullptr);
    in_ = std::exchange(other.in_, nullptr);
    out_ = std::exchange(other.out_, nullptr);
    pending_ = std::move(other.pending_);
    failed_ = std::move(other.failed_);
    started_ = other.started_;
    established_ = other.established_;
    closed_ = other.closed_;
    peer_closed_ = other.peer_closed_;
  }
  return *this;
}

tls_session::~tls_session() {
  release();
}

void tls_session::release() noexcept {
  // SSL_free frees both BIOs, which SSL_set_bio handed over.
  SSL_free(ssl_);
  ssl_ = nullptr;
  in_ = nullptr;
  out_ = nullptr;
}

caf::expected<tls_session> tls_session::make(const tls_context& ctx) {
  ERR_clear_error();
  auto* ssl = SSL_new(ctx.native_handle());
  if (ssl == nullptr)
    return tls_error("cannot make a TLS session: " + take_error().text);
  auto* in = BIO_new(BIO_s_mem());
  auto* out = BIO_new(BIO_s_mem());
  if (in == nullptr || out == nullptr) {
    BIO_free(in);
    BIO_free(out);
    SSL_free(ssl);
    return tls_error("cannot make a TLS session: " + take_error().text);
  }
  // An empty input buffer means "wait for more bytes", not end of stream.
  BIO_set_mem_eof_return(in, -1);
  BIO_set_mem_eof_return(out, -1);
  SSL_set_bio(ssl, in, out);
  if (ctx.side() == tls_side::client)
    SSL_set_connect_state(ssl);
  else
    SSL_set_accept_state(ssl);
  return tls_session{ssl, in, out};
}

caf::error tls_session::fail(caf::error err) {
  failed_ = err;
  pending_ = std::vector<char>{};
  ERR_clear_error();
  return err;
}

void tls_session::drain(std::vector<char>& out) {
  auto n = BIO_ctrl_pending(out_);
  if (n == 0)
    return;
  auto old = out.size();
  out.resize(old + n);
  auto got = BIO_read(out_, out.data() + old, static_cast<int>(n));
  out.resize(old + static_cast<size_t>(std::max(got, 0)));
}

caf::error tls_session::start(std::vector<char>& out) {
  if (failed_)
    return failed_;
  if (started_ || established_)
    return {};
  started_ = true;
  return handshake(out);
}

caf::error tls_session::handshake(std::vector<char>& out) {
  ERR_clear_error();
  auto rc = SSL_do_handshake(ssl_);
  if (rc != 1) {
    auto code = SSL_get_error(ssl_, rc);
    // Also on failure: the output may hold an alert telling the peer why.
    drain(out);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE)
      return {};
    return fail(tls_error(failure_reason(ssl_, code)));
  }
  drain(out);
  // SSL_VERIFY_FAIL_IF_NO_PEER_CERT already refuses these; checked again
  // because letting an unverified peer through would be a security hole.
  if (SSL_get0_peer_certificate(ssl_) == nullptr)
    return fail(tls_error("peer presented no certificate"));
  if (auto verify = SSL_get_verify_result(ssl_); verify != X509_V_OK)
    return fail(tls_error(std::string{"peer certificate: "}
                          + X509_verify_cert_error_string(verify)));
  established_ = true;
  return flush_pending(out);
}

caf::error tls_session::receive(const char* data, size_t size,
                                std::vector<char>& plain,
                                std::vector<char>& out) {
  if (failed_)
    return failed_;
  started_ = true;
  // Feeding slices and draining OpenSSL after each keeps at most one
  // slice plus a partial record of ciphertext in the input BIO.
  auto* end = data + size;
  do {
    auto n = std::min(slice_bytes, static_cast<size_t>(end - data));
    if (n > 0
        && BIO_write(in_, data, static_cast<int>(n)) != static_cast<int>(n))
      return fail(
          tls_error("cannot buffer received bytes: " + take_error().text));
    data += n;
    if (!established_) {
      if (auto err = handshake(out))
        return err;
      if (!established_)
        continue;
    }
    if (auto err = read_all(plain, out))
      return err;
  } while (data < end);
  return {};
}

caf::error tls_session::read_all(std::vector<char>& plain,
                                 std::vector<char>& out) {
  for (;;) {
    auto old = plain.size();
    plain.resize(old + record_bytes);
    size_t n = 0;
    ERR_clear_error();
    auto rc = SSL_read_ex(ssl_, plain.data() + old, record_bytes, &n);
    plain.resize(old + (rc == 1 ? n : 0));
    if (rc == 1)
      continue;
    auto code = SSL_get_error(ssl_, rc);
    drain(out);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE)
      return {};
    if (code == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      return {};
    }
    return fail(tls_error(failure_reason(ssl_, code)));
  }
}

caf::error tls_session::send(const char* data, size_t size,
                             std::vector<char>& out) {
  if (failed_)
    return failed_;
  if (closed_)
    return tls_error("cannot send on a closed TLS session");
  if (!established_) {
    if (size > max_pending_bytes - pending_.size())
      return fail(
          tls_error("more than " + std::to_string(max_pending_bytes)
                    + " bytes sent before the TLS handshake completed"));
    pending_.insert(pending_.end(), data, data + size);
    return {};
  }
  return write_all(data, size, out);
}

caf::error tls_session::write_all(const char* data, size_t size,
                                  std::vector<char>& out) {
  while (size > 0) {
    auto n = std::min(size, record_bytes);
    size_t written = 0;
    ERR_clear_error();
    auto rc = SSL_write_ex(ssl_, data, n, &written);
    if (rc != 1) {
      auto code = SSL_get_error(ssl_, rc);
      drain(out);
      return fail(tls_error(failure_reason(ssl_, code)));
    }
    data += written;
    size -= written;
    drain(out);
  }
  return {};
}

caf::error tls_session::flush_pending(std::vector<char>& out) {
  if (pending_.empty())
    return {};
  auto pending = std::move(pending_);
  pending_ = std::vector<char>{};
  return write_all(pending.data(), pending.size(), out);
}

void tls_session::close(std::vector<char>& out) {
  if (closed_)
    return;
  closed_ = true;
  pending_ = std::vector<char>{};
  if (!established_ || failed_ || ssl_ == nullptr)
    return;
  // Sends close_notify; the peer's reply is not awaited.
  ERR_clear_error();
  SSL_shutdown(ssl_);
  drain(out);
  ERR_clear_error();
}

std::string tls_session::peer_name() const {
  if (!established())
    return {};
  auto* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr)
    return {};
  auto* name = X509_get_subject_name(cert);
  auto index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0)
    return {};
  auto* text = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  auto n = ASN1_STRING_to_UTF8(&utf8, text);
  if (n < 0)
    return {};
  std::string result(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return result;
}

std::string tls_session::protocol() const {
  return ssl_ != nullptr ? SSL_get_version(ssl_) : "";
}

} // namespace eventactors::net
