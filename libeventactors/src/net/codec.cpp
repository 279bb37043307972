// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "net/codec.hpp"

#include <exception>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/message.hpp>

#include "eventactors/error.hpp"

namespace eventactors::net {

namespace {

template <class T>
std::string save(caf::actor_system& sys, T& x, caf::error* err = nullptr) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  if (auto e = sink(x)) {
    if (err)
      *err = std::move(e);
    return {};
  }
  return std::string{buf.begin(), buf.end()};
}

/// Deserializes `x` from `source`. CAF 0.17 throws from some of its own
/// types' loaders on bytes it does not expect (a `config_value` with an
/// unknown alternative: `std::runtime_error`), so a hostile peer's bytes
/// could end the process: every exception becomes an error here.
template <class T>
caf::error load_into(caf::binary_deserializer& source, T& x) {
  try {
    return source(x);
  } catch (const std::exception& e) {
    return make_error(errc::protocol_error, e.what());
  } catch (...) {
    return make_error(errc::protocol_error, "malformed serialized data");
  }
}

template <class T>
caf::expected<T> load(caf::actor_system& sys, std::string_view body,
                      const char* what) {
  T x;
  caf::binary_deserializer source{sys, body.data(), body.size()};
  if (auto err = load_into(source, x))
    return make_error(errc::protocol_error,
                      std::string{"cannot decode "} + what + ": "
                        + (is(err, errc::protocol_error) ? message(err)
                                                         : to_string(err)));
  if (source.remaining() != 0)
    return make_error(errc::protocol_error,
                      std::string{"cannot decode "} + what + ": "
                        + std::to_string(source.remaining())
                        + " bytes left over");
  return x;
}

} // namespace

caf::expected<std::string> encode(caf::actor_system& sys,
                                  const caf::message& msg) {
  caf::error err;
  auto copy = msg;
  auto result = save(sys, copy, &err);
  if (err)
    return make_error(errc::protocol_error,
                      "cannot encode a message: " + to_string(err));
  return result;
}

caf::expected<caf::message> decode_message(caf::actor_system& sys,
                                           std::string_view body) {
  return load<caf::message>(sys, body, "a message");
}

std::string encode(caf::actor_system& sys, const caf::error& err) {
  auto copy = err;
  return save(sys, copy);
}

caf::error decode_error(caf::actor_system& sys, std::string_view body) {
  caf::error x;
  caf::binary_deserializer source{sys, body.data(), body.size()};
  if (auto err = load_into(source, x))
    return make_error(errc::protocol_error,
                      "cannot decode an error: "
                        + (is(err, errc::protocol_error) ? message(err)
                                                         : to_string(err)));
  if (source.remaining() != 0)
    return make_error(errc::protocol_error,
                      "cannot decode an error: "
                        + std::to_string(source.remaining())
                        + " bytes left over");
  if (!x)
    return make_error(errc::protocol_error, "a failure without an error");
  return x;
}

std::string encode(caf::actor_system& sys, hello& x) {
  return save(sys, x);
}

caf::expected<hello> decode_hello(caf::actor_system& sys,
                                  std::string_view body) {
  return load<hello>(sys, body, "a hello");
}

std::string encode(caf::actor_system& sys, welcome& x) {
  return save(sys, x);
}

caf::expected<welcome> decode_welcome(caf::actor_system& sys,
                                      std::string_view body) {
  return load<welcome>(sys, body, "a welcome");
}

} // namespace eventactors::net
