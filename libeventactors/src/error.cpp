// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/error.hpp"

#include <caf/message.hpp>
#include <caf/make_message.hpp>

#include "base/utf8.hpp"

namespace eventactors {

std::string to_string(errc x) {
  switch (x) {
    case errc::none:
      return "none";
    case errc::invalid_input:
      return "invalid_input";
    case errc::unknown_resource:
      return "unknown_resource";
    case errc::unknown_action:
      return "unknown_action";
    case errc::not_found:
      return "not_found";
    case errc::conflict:
      return "conflict";
    case errc::invalid_definition:
      return "invalid_definition";
    case errc::storage_failure:
      return "storage_failure";
    case errc::concurrent_modification:
      return "concurrent_modification";
    case errc::input_too_large:
      return "input_too_large";
    case errc::unknown_actor_type:
      return "unknown_actor_type";
    case errc::depth_exceeded:
      return "depth_exceeded";
    case errc::hook_failed:
      return "hook_failed";
    case errc::post_commit_failure:
      return "post_commit_failure";
    case errc::timeout:
      return "timeout";
    case errc::replay_failed:
      return "replay_failed";
    case errc::replay_in_progress:
      return "replay_in_progress";
    case errc::runtime_stopped:
      return "runtime_stopped";
    case errc::schema_mismatch:
      return "schema_mismatch";
    case errc::decryption_failed:
      return "decryption_failed";
    case errc::node_down:
      return "node_down";
    case errc::node_stopping:
      return "node_stopping";
    case errc::not_authorized:
      return "not_authorized";
    case errc::authentication_failed:
      return "authentication_failed";
    case errc::protocol_error:
      return "protocol_error";
    case errc::tls_failed:
      return "tls_failed";
    case errc::network_failure:
      return "network_failure";
    case errc::overloaded:
      return "overloaded";
  }
  return "errc(" + std::to_string(static_cast<int>(x)) + ")";
}

// Messages name what was wrong, which may be any bytes a caller sent (a
// resource name with a newline, a key that is not UTF-8): escaping them
// keeps every message one line of valid UTF-8, e.g. for the tool's JSON.

caf::error make_error(errc code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), caf::atom("evact"),
                    caf::make_message(utf8::escape(message))};
}

caf::error make_error(errc code, std::string message,
                      std::vector<field_error> fields) {
  for (auto& fe : fields) {
    fe.field = utf8::escape(fe.field);
    fe.message = utf8::escape(fe.message);
  }
  return caf::error{static_cast<uint8_t>(code), caf::atom("evact"),
                    caf::make_message(utf8::escape(message),
                                      std::move(fields))};
}

bool is(const caf::error& err, errc code) {
  return err && err.category() == caf::atom("evact")
         && err.code() == static_cast<uint8_t>(code);
}

std::string message(const caf::error& err) {
  if (!err)
    return {};
  if (err.category() == caf::atom("evact")) {
    const auto& ctx = err.context();
    if (!ctx.empty() && ctx.match_element<std::string>(0))
      return ctx.get_as<std::string>(0);
    return {};
  }
  return caf::to_string(err);
}

std::vector<field_error> field_errors(const caf::error& err) {
  if (!err || err.category() != caf::atom("evact"))
    return {};
  const auto& ctx = err.context();
  if (ctx.size() >= 2 && ctx.match_element<std::vector<field_error>>(1))
    return ctx.get_as<std::vector<field_error>>(1);
  return {};
}

std::string render(const caf::error& err) {
  if (!err)
    return "none";
  if (err.category() == caf::atom("evact")) {
    auto result = to_string(static_cast<errc>(err.code()));
    auto msg = message(err);
    if (!msg.empty()) {
      result += ": ";
      result += msg;
    }
    return result;
  }
  return caf::to_string(err);
}

} // namespace eventactors
