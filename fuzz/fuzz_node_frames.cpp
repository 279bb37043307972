// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Fuzz target: what a node reads from a client before it trusts anything.
//
// The input is a byte stream as a client could send it. It is cut into
// frames by the node's frame reader (with a small limit, so that oversized
// frames are found), and each frame's body is decoded as the node would:
// a hello, a request message, an error, a welcome. A decoded request
// message is encoded again and must decode to a message of the same types.
//
// Findings (abort): crashes, sanitizer reports (including allocations far
// beyond the input's size, which a hostile length field could ask for),
// leaks, timeouts; a frame reader that takes more bytes than it was given;
// a re-encoded message that does not decode.
//
// With EVENTACTORS_FUZZ_DUMP_SEEDS=<dir>, the target writes seed streams
// (a hello, requests of each kind a client sends, an error) into <dir> and
// exits (how fuzz/corpus/fuzz_node_frames was made).

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>

#include "eventactors/all.hpp"
#include "net/codec.hpp"
#include "net/frame.hpp"

namespace {

caf::actor_system_config* cfg;
caf::actor_system* sys;

void dump_seeds(const std::string& dir) {
  using namespace eventactors;
  using namespace eventactors::net;
  std::vector<std::vector<char>> seeds;
  auto add = [&](frame_kind kind, const std::string& body) {
    std::vector<char> stream;
    append_frame(stream, kind, seeds.size() + 1, body);
    seeds.push_back(std::move(stream));
  };
  hello h;
  h.user = "alice";
  h.secret = "secret";
  h.client = "seed";
  add(frame_kind::hello, encode(*sys, h));
  welcome w;
  w.node = "127.0.0.1:7000";
  w.role = "writer";
  w.description = R"({"format":1})";
  add(frame_kind::welcome, encode(*sys, w));
  call c{"Accounts.User", "create", {{"email", "a@example.com"}}};
  c.metadata = {{"source", "seed"}};
  add(frame_kind::request, *encode(*sys, caf::make_message(run_atom_v, c)));
  batch_call b{"Accounts.User", "create", {{{{"email", "b@example.com"}}, nullptr}}};
  add(frame_kind::request, *encode(*sys, caf::make_message(run_batch_atom_v, b)));
  add(frame_kind::request,
      *encode(*sys, caf::make_message(replay_atom_v, replay_request{})));
  add(frame_kind::failure,
      encode(*sys, make_error(errc::invalid_input, "email: is required",
                              {{"email", "is required"}})));
  // Two frames in one stream.
  auto both = seeds[0];
  both.insert(both.end(), seeds[2].begin(), seeds[2].end());
  seeds.push_back(std::move(both));
  for (size_t i = 0; i < seeds.size(); ++i) {
    std::ofstream out{dir + "/seed-" + std::to_string(i + 1),
                      std::ios::binary};
    out.write(seeds[i].data(), static_cast<std::streamsize>(seeds[i].size()));
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cfg = new caf::actor_system_config;
  eventactors::init(*cfg);
  sys = new caf::actor_system(*cfg);
  if (auto dir = std::getenv("EVENTACTORS_FUZZ_DUMP_SEEDS")) {
    dump_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eventactors::net;
  frame_reader reader{64 * 1024};
  // Feed in two parts to exercise partial frames.
  auto half = size / 2;
  reader.feed(reinterpret_cast<const char*>(data), half);
  size_t taken = 0;
  auto drain = [&] {
    frame f;
    while (reader.next(f) == frame_reader::status::frame) {
      taken += frame_header_size + f.body.size();
      if (taken > size)
        std::abort();
      switch (f.kind) {
        case frame_kind::hello:
          (void) decode_hello(*sys, f.body);
          break;
        case frame_kind::welcome:
          (void) decode_welcome(*sys, f.body);
          break;
        case frame_kind::failure:
          if (!decode_error(*sys, f.body))
            std::abort();
          break;
        default:
          if (auto msg = decode_message(*sys, f.body)) {
            auto again = encode(*sys, *msg);
            if (!again)
              break;
            auto back = decode_message(*sys, *again);
            if (!back || back->type_token() != msg->type_token())
              std::abort();
          }
      }
    }
  };
  drain();
  reader.feed(reinterpret_cast<const char*>(data) + half, size - half);
  drain();
  return 0;
}
