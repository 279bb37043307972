// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// Mutual TLS over memory buffers: bytes in, bytes out, no sockets. A node
// feeds what a connection received into a session and writes what the
// session produced, so TLS runs under any transport (CAF's brokers here).

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

// OpenSSL's types, declared as <openssl/types.h> does, so that users of
// this header need not include OpenSSL.
struct ssl_ctx_st;
struct ssl_st;
struct bio_st;

namespace eventactors::net {

/// Which end of a connection a context serves.
enum class tls_side {
  client, ///< Connects; sends the first handshake message.
  server, ///< Accepts.
};

/// The PEM files of one side: its certificate (optionally followed by
/// intermediate certificates), its private key (unencrypted) and the CA
/// certificates it trusts for peers. A client given neither `cert` nor
/// `key` presents no certificate, which servers refuse (tests use it).
struct tls_files {
  std::string cert;
  std::string key;
  std::string ca;
};

/// Settings shared by the sessions of one side: certificate, key and
/// trusted CAs. Both sides demand and verify a peer certificate (mutual
/// TLS) that chains to one of the CAs in `tls_files::ca`; the system's
/// trust store is never used. TLS 1.2 is the minimum; peers of this
/// library agree on TLS 1.3.
///
/// Move-only; owns an OpenSSL `SSL_CTX`. Sessions keep what they need of
/// it alive, so a context may be dropped before its sessions. Once made, a
/// context may make sessions from several threads at once.
class tls_context {
public:
  /// Loads `files` for `side`. Fails with `errc::tls_failed` naming the
  /// file and the reason: missing or unreadable, not PEM, no certificate
  /// in the CA file, or a key that does not match the certificate.
  static caf::expected<tls_context> make(tls_side side, const tls_files& files);

  tls_context(tls_context&&) noexcept = default;
  tls_context& operator=(tls_context&&) noexcept = default;
  ~tls_context();

  tls_side side() const noexcept {
    return side_;
  }

  /// The OpenSSL context, for `tls_session`.
  ssl_ctx_st* native_handle() const noexcept {
    return handle_.get();
  }

private:
  struct deleter {
    void operator()(ssl_ctx_st* x) const noexcept;
  };

  tls_context(tls_side side, ssl_ctx_st* handle) noexcept;

  tls_side side_;
  std::unique_ptr<ssl_ctx_st, deleter> handle_;
};

/// One TLS connection over memory buffers. The owner moves bytes: what
/// arrives from the peer goes into `receive`, and whatever a call appends
/// to its `out` argument must be sent to the peer, in order.
///
/// A client calls `start` first, which produces its first handshake
/// message; a server may call it too (it produces nothing). `send` before
/// the handshake is done queues the plaintext (at most
/// `max_pending_bytes`) and the session encrypts it once established; if
/// the handshake fails, the queued bytes are dropped, never sent.
///
/// With TLS 1.3 a client completes its handshake before the server has
/// checked the client's certificate: a server's refusal reaches the client
/// as an error of a later `receive`, and what the client sent meanwhile is
/// discarded by the server unread.
///
/// Errors are final: after one, every call but `close` fails again with the
/// same error. An error from `start` or `receive` may still leave bytes in
/// `out` (an alert telling the peer why): send them, then disconnect.
///
/// Memory: between calls, a session holds at most one partial TLS record
/// of ciphertext (input is fed to OpenSSL in slices of `slice_bytes` and
/// drained after each), OpenSSL's per-connection buffers (about 40 KiB;
/// a peer's certificate chain is limited to 100 KiB and a handshake
/// message to OpenSSL's per-type maximum, so a peer that sends more fails
/// the handshake) and the plaintext queued before the handshake. Output
/// goes to the caller's buffers right away; decrypted data is never
/// larger than the ciphertext that carried it.
///
/// Move-only; owns an OpenSSL `SSL` and its two memory BIOs. Not
/// thread-safe: one owner at a time. OpenSSL's error queue is per thread
/// and is cleared by each call.
class tls_session {
public:
  /// At most this many plaintext bytes wait for the handshake in `send`.
  static constexpr size_t max_pending_bytes = 16 * 1024 * 1024;

  /// `receive` feeds OpenSSL this many bytes at a time.
  static constexpr size_t slice_bytes = 32 * 1024;

  /// Makes a session of `ctx`'s side.
  static caf::expected<tls_session> make(const tls_context& ctx);

  tls_session(tls_session&&) noexcept;
  tls_session& operator=(tls_session&&) noexcept;
  ~tls_session();

  /// Begins the handshake. A client appends its first handshake message
  /// (the ClientHello) to `out`; a server appends nothing. Calling it is
  /// optional for a server and does nothing the second time.
  [[nodiscard]] caf::error start(std::vector<char>& out);

  /// Feeds `size` bytes received from the peer. Appends decrypted
  /// application data to `plain` and bytes to send to the peer (handshake
  /// messages, alerts) to `out`. Fails with `errc::tls_failed` saying why:
  /// a refused peer certificate ("peer certificate: certificate has
  /// expired"), a missing one ("peer presented no certificate"), an alert
  /// from a peer that refused ours ("refused by the peer: ..."), or bytes
  /// that are not TLS.
  [[nodiscard]] caf::error receive(const char* data, size_t size,
                                   std::vector<char>& plain,
                                   std::vector<char>& out);

  /// Encrypts `size` bytes and appends the records to `out`. Before the
  /// handshake is done, queues them instead (see the class comment) and
  /// fails when more than `max_pending_bytes` would wait. Fails after
  /// `close`.
  [[nodiscard]] caf::error send(const char* data, size_t size,
                                std::vector<char>& out);

  /// Sends close_notify (appended to `out`) if the session is established
  /// and has not failed; afterwards `send` fails. Idempotent.
  void close(std::vector<char>& out);

  /// Returns whether the handshake completed and verified the peer.
  bool established() const noexcept {
    return established_ && !failed_;
  }

  /// Returns whether the peer closed the session with close_notify; it
  /// sends nothing more.
  bool peer_closed() const noexcept {
    return peer_closed_;
  }

  /// Returns the common name (CN) in the subject of the peer's verified
  /// certificate; empty before the handshake completes.
  std::string peer_name() const;

  /// Returns the negotiated protocol, e.g. "TLSv1.3".
  std::string protocol() const;

private:
  tls_session(ssl_st* ssl, bio_st* in, bio_st* out) noexcept;

  caf::error fail(caf::error err);
  caf::error handshake(std::vector<char>& out);
  caf::error read_all(std::vector<char>& plain, std::vector<char>& out);
  caf::error write_all(const char* data, size_t size, std::vector<char>& out);
  caf::error flush_pending(std::vector<char>& out);
  void drain(std::vector<char>& out);
  void release() noexcept;

  ssl_st* ssl_ = nullptr;
  bio_st* in_ = nullptr;  // ciphertext from the peer; owned by ssl_
  bio_st* out_ = nullptr; // ciphertext for the peer; owned by ssl_
  std::vector<char> pending_;
  caf::error failed_;
  bool started_ = false;
  bool established_ = false;
  bool closed_ = false;
  bool peer_closed_ = false;
};

} // namespace eventactors::net
