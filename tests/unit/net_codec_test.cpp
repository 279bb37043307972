// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The node protocol's building blocks: frames and message bodies (issue 13,
// docs/nodes.md). The users file: credentials_test.cpp.

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>

#include <catch2/catch.hpp>

#include "eventactors/all.hpp"
#include "net/codec.hpp"
#include "net/frame.hpp"

using namespace eventactors;
using namespace eventactors::net;

namespace {

struct system_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  system_fixture() {
    eventactors::init(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

std::vector<char> frames_of(std::initializer_list<std::string> bodies) {
  std::vector<char> out;
  uint64_t id = 1;
  for (auto& body : bodies)
    append_frame(out, frame_kind::request, id++, body);
  return out;
}

} // namespace

TEST_CASE("frames survive any split of the byte stream", "[net]") {
  std::string big(100000, 'x');
  auto bytes = frames_of({"", "one", big, "three"});
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{4096}, bytes.size()}) {
    frame_reader reader;
    std::vector<std::string> got;
    std::vector<uint64_t> ids;
    for (size_t pos = 0; pos < bytes.size(); pos += chunk) {
      reader.feed(bytes.data() + pos, std::min(chunk, bytes.size() - pos));
      frame f;
      while (reader.next(f) == frame_reader::status::frame) {
        CHECK(f.kind == frame_kind::request);
        got.emplace_back(f.body);
        ids.push_back(f.id);
      }
    }
    REQUIRE(got.size() == 4);
    CHECK(got[0].empty());
    CHECK(got[1] == "one");
    CHECK(got[2] == big);
    CHECK(got[3] == "three");
    CHECK(ids == std::vector<uint64_t>{1, 2, 3, 4});
    CHECK(reader.buffered() == 0);
  }
}

TEST_CASE("an oversized frame is refused from its length field alone",
          "[net]") {
  frame_reader reader{1024};
  std::vector<char> bytes;
  append_frame(bytes, frame_kind::request, 9, std::string(2000, 'y'));
  // Only the header arrives: the reader must not wait for the body.
  reader.feed(bytes.data(), frame_header_size);
  frame f;
  REQUIRE(reader.next(f) == frame_reader::status::malformed);
  CHECK(reader.problem() == "a frame of 2009 bytes exceeds the limit of 1024 bytes");
  // And it stays refused.
  CHECK(reader.next(f) == frame_reader::status::malformed);
}

TEST_CASE("malformed frame headers are named", "[net]") {
  SECTION("too short for its own header") {
    frame_reader reader;
    const char bytes[] = {0, 0, 0, 3, 1, 2, 3};
    reader.feed(bytes, sizeof(bytes));
    frame f;
    REQUIRE(reader.next(f) == frame_reader::status::malformed);
    CHECK(reader.problem() == "a frame of 3 bytes is shorter than its header");
  }
  SECTION("unknown kind") {
    std::vector<char> bytes;
    append_frame(bytes, frame_kind::request, 1, "x");
    bytes[4] = 42;
    frame_reader reader;
    reader.feed(bytes.data(), bytes.size());
    frame f;
    REQUIRE(reader.next(f) == frame_reader::status::malformed);
    CHECK(reader.problem() == "unknown frame kind 42");
  }
  SECTION("incomplete is not malformed") {
    std::vector<char> bytes;
    append_frame(bytes, frame_kind::hello, 1, "abc");
    frame_reader reader;
    reader.feed(bytes.data(), bytes.size() - 1);
    frame f;
    CHECK(reader.next(f) == frame_reader::status::incomplete);
  }
}

TEST_CASE("requests, replies and errors cross as bytes", "[net]") {
  system_fixture fx;
  call c{"Accounts.User", "create", {{"email", "a@example.com"}}};
  c.metadata = {{"source", "test"}};
  auto msg = caf::make_message(run_atom_v, c);
  auto body = encode(*fx.sys, msg);
  REQUIRE(body);
  auto back = decode_message(*fx.sys, *body);
  REQUIRE(back);
  REQUIRE(back->match_elements<run_atom, call>());
  CHECK(back->get_as<call>(1) == c);

  auto err = make_error(errc::invalid_input, "email: is required",
                        {{"email", "is required"}});
  auto err_back = decode_error(*fx.sys, encode(*fx.sys, err));
  CHECK(is(err_back, errc::invalid_input));
  CHECK(render(err_back) == render(err));
  CHECK(is(decode_error(*fx.sys, "\x01"), errc::protocol_error));

  hello h;
  h.user = "alice";
  h.secret = "s3cret";
  h.client = "test";
  auto h_back = decode_hello(*fx.sys, encode(*fx.sys, h));
  REQUIRE(h_back);
  CHECK(h_back->user == "alice");
  CHECK(h_back->secret == "s3cret");
  CHECK(h_back->version == protocol_version);
}

TEST_CASE("hostile message bodies give errors, never a crash", "[net]") {
  system_fixture fx;
  auto good = encode(*fx.sys, caf::make_message(run_atom_v, call{"R", "a"}));
  REQUIRE(good);
  SECTION("left-over bytes") {
    auto body = *good + "x";
    auto x = decode_message(*fx.sys, body);
    REQUIRE_FALSE(x);
    CHECK(is(x.error(), errc::protocol_error));
    CHECK_THAT(message(x.error()), Catch::Contains("1 bytes left over"));
  }
  SECTION("every truncation") {
    for (size_t n = 0; n < good->size(); ++n) {
      auto x = decode_message(*fx.sys, std::string_view{*good}.substr(0, n));
      if (!x)
        CHECK(is(x.error(), errc::protocol_error));
    }
  }
  SECTION("random bytes and random flips") {
    std::mt19937 gen{7};
    for (int i = 0; i < 2000; ++i) {
      auto body = *good;
      auto flips = 1 + gen() % 4;
      for (unsigned j = 0; j < flips; ++j)
        body[gen() % body.size()] = static_cast<char>(gen());
      auto x = decode_message(*fx.sys, body);
      if (!x)
        CHECK(is(x.error(), errc::protocol_error));
      std::string noise(gen() % 64, '\0');
      for (auto& ch : noise)
        ch = static_cast<char>(gen());
      auto h = decode_hello(*fx.sys, noise);
      if (!h)
        CHECK(is(h.error(), errc::protocol_error));
      else
        CHECK(h->user.size() < noise.size());
    }
  }
}

TEST_CASE("a body whose CAF type throws while loading is an error, not the "
          "end of the process",
          "[net]") {
  // CAF 0.17's loader of config_value throws std::runtime_error on an
  // alternative it does not know; libFuzzer found such a request body
  // (fuzz_node_frames), which ended the node.
  system_fixture fx;
  auto good = encode(*fx.sys, caf::make_message(caf::config_value{int64_t{5}},
                                                call{"R", "a"}));
  REQUIRE(good);
  // The type list comes first ("@<>+@config_value+..."), then the value's
  // alternative index, one byte, followed by the int64.
  auto name = std::string{"eventactors::call"};
  auto at = good->find(name);
  REQUIRE(at != std::string::npos);
  auto body = *good;
  body[at + name.size()] = static_cast<char>(0x7f);
  auto x = decode_message(*fx.sys, body);
  REQUIRE_FALSE(x);
  CHECK(is(x.error(), errc::protocol_error));
  CHECK_THAT(message(x.error()), Catch::Contains("cannot decode a message"));
}
