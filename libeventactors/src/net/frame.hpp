// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

// The frames of the node protocol (docs/nodes.md): a 4-byte big-endian
// length, a kind byte, an 8-byte big-endian correlation id, then the body.
// The length counts the kind, the id and the body.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace eventactors::net {

/// What a frame carries.
enum class frame_kind : uint8_t {
  hello = 1,    ///< Client to node, first: protocol version and credentials.
  welcome = 2,  ///< Node to client: the role and the app description.
  request = 3,  ///< Client to node: a serialized request message.
  response = 4, ///< Node to client: the serialized reply to a request.
  failure = 5,  ///< Node to client: a serialized error for a request (id 0:
                ///< for the connection, which the node then closes).
  goodbye = 6,  ///< Node to client: the node is stopping.
};

/// Returns whether `x` is one of the kinds above.
bool valid(frame_kind x) noexcept;

/// Bytes before a frame's body: length, kind and id.
constexpr size_t frame_header_size = 13;

/// The length field counts these bytes besides the body.
constexpr size_t frame_overhead = 9;

/// The default limit on a frame's length (docs/nodes.md).
constexpr size_t default_max_frame = 16 * 1024 * 1024;

/// One decoded frame. `body` points into the reader's buffer and stays
/// valid until the next call to `feed` or `next`.
struct frame {
  frame_kind kind;
  uint64_t id;
  std::string_view body;
};

/// Appends a frame to `out`.
void append_frame(std::vector<char>& out, frame_kind kind, uint64_t id,
                  std::string_view body);

/// Cuts a byte stream into frames. Refuses a frame longer than its limit as
/// soon as the length field arrives, before buffering its body.
class frame_reader {
public:
  enum class status {
    frame,      ///< `next` filled in a frame.
    incomplete, ///< More bytes are needed.
    malformed,  ///< The stream is not our protocol; `problem()` says why.
  };

  explicit frame_reader(size_t max_frame = default_max_frame)
    : max_frame_(max_frame) {
    // nop
  }

  /// Appends received bytes.
  void feed(const char* data, size_t size);

  /// Takes the next complete frame.
  status next(frame& out);

  /// Why the stream is malformed.
  const std::string& problem() const noexcept {
    return problem_;
  }

  /// Bytes received but not yet taken as frames.
  size_t buffered() const noexcept {
    return buf_.size() - pos_;
  }

private:
  size_t max_frame_;
  std::vector<char> buf_;
  size_t pos_ = 0;
  std::string problem_;
};

} // namespace eventactors::net
