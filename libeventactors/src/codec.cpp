// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "codec.hpp"

#include <cmath>
#include <cstring>

#include <sqlite3.h>

#include "eventactors/error.hpp"
#include "json_text.hpp"
#include "utf8.hpp"

namespace eventactors::codec {

boost::json::parse_options stored_json_options() {
  return json_io::stored_options();
}

namespace {

// SQLite keeps a REAL whose value is integral as an integer in a column of
// REAL affinity, which turns -0.0 into 0. A negative zero is therefore
// stored as a BLOB of the double's 8 bytes (most significant first), which
// no affinity converts, and read back from it.

constexpr size_t double_blob_size = 8;

bool is_negative_zero(double x) noexcept {
  return x == 0.0 && std::signbit(x);
}

void bind_double(sqlite::statement& stmt, int index, double x) {
  if (!is_negative_zero(x)) {
    stmt.bind(index, x);
    return;
  }
  uint64_t bits = 0;
  std::memcpy(&bits, &x, sizeof(x));
  char buf[double_blob_size];
  for (size_t i = 0; i < double_blob_size; ++i)
    buf[i] = static_cast<char>(bits >> (8 * (double_blob_size - 1 - i)));
  stmt.bind_blob(index, std::string_view{buf, double_blob_size});
}

double read_double(const sqlite::statement& stmt, int index) {
  if (stmt.column_type(index) == SQLITE_BLOB) {
    auto bytes = stmt.column_blob(index);
    if (bytes.size() == double_blob_size) {
      uint64_t bits = 0;
      for (auto c : bytes)
        bits = (bits << 8) | static_cast<unsigned char>(c);
      double x = 0;
      std::memcpy(&x, &bits, sizeof(x));
      return x;
    }
  }
  return stmt.column_double(index);
}

} // namespace

std::string column_type(const attribute_type& type) {
  switch (type.kind()) {
    case type_kind::integer:
    case type_kind::boolean:
      return "INTEGER";
    case type_kind::floating:
      return "REAL";
    case type_kind::ci_string:
      return "TEXT COLLATE NOCASE";
    default:
      return "TEXT";
  }
}

void bind(sqlite::statement& stmt, int index, const attribute_type& type,
          const json::value& x) {
  if (x.is_null()) {
    stmt.bind_null(index);
    return;
  }
  switch (type.kind()) {
    case type_kind::map:
    case type_kind::array:
    case type_kind::object:
      stmt.bind(index, std::string_view{to_json_text(x)});
      return;
    case type_kind::boolean:
      stmt.bind(index, int64_t{x.is_bool() && x.get_bool() ? 1 : 0});
      return;
    case type_kind::floating:
      if (x.is_double())
        bind_double(stmt, index, x.get_double());
      else if (x.is_int64())
        stmt.bind(index, static_cast<double>(x.get_int64()));
      else
        stmt.bind_null(index);
      return;
    case type_kind::integer:
      if (x.is_int64())
        stmt.bind(index, x.get_int64());
      else if (x.is_uint64())
        stmt.bind(index, static_cast<int64_t>(x.get_uint64()));
      else
        stmt.bind_null(index);
      return;
    default:
      if (x.is_string())
        stmt.bind(index, std::string_view{x.get_string()});
      else
        stmt.bind(index, std::string_view{to_json_text(x)});
      return;
  }
}

void bind_key(sqlite::statement& stmt, int index, const json::value& x) {
  if (x.is_int64())
    stmt.bind(index, x.get_int64());
  else if (x.is_uint64())
    stmt.bind(index, static_cast<int64_t>(x.get_uint64()));
  else if (x.is_string())
    stmt.bind(index, std::string_view{x.get_string()});
  else if (x.is_null())
    stmt.bind_null(index);
  else
    stmt.bind(index, std::string_view{to_json_text(x)});
}

caf::error read(const sqlite::statement& stmt, int index,
                const attribute_type& type, json::value& out) {
  auto ctype = stmt.column_type(index);
  if (ctype == SQLITE_NULL) {
    out = nullptr;
    return {};
  }
  switch (type.kind()) {
    case type_kind::map:
    case type_kind::array:
    case type_kind::object: {
      if (json_io::parse_stored(stmt.column_text(index), out))
        return make_error(errc::storage_failure,
                          "malformed JSON in column "
                            + std::string{stmt.column_name(index)});
      return {};
    }
    case type_kind::boolean:
      out = stmt.column_int(index) != 0;
      return {};
    case type_kind::integer:
      out = stmt.column_int(index);
      return {};
    case type_kind::floating:
      out = read_double(stmt, index);
      return {};
    default:
      out = json::string{stmt.column_text(index)};
      return {};
  }
}

json::value read_key(const sqlite::statement& stmt, int index) {
  switch (stmt.column_type(index)) {
    case SQLITE_NULL:
      return nullptr;
    case SQLITE_INTEGER:
      return stmt.column_int(index);
    default:
      return json::string{stmt.column_text(index)};
  }
}

namespace {

std::optional<std::string> check_value(const json::value& x,
                                       const std::string& path);

std::optional<std::string> check_members(const json::object& x,
                                         const std::string& path) {
  for (auto& kvp : x) {
    auto sub = path.empty() ? std::string{kvp.key()}
                            : path + "." + std::string{kvp.key()};
    if (!utf8::valid(kvp.key()))
      return sub + ": invalid UTF-8 in a key";
    if (auto err = check_value(kvp.value(), sub))
      return err;
  }
  return std::nullopt;
}

std::optional<std::string> check_value(const json::value& x,
                                       const std::string& path) {
  auto at = [&](std::string what) {
    return path.empty() ? what : path + ": " + what;
  };
  switch (x.kind()) {
    case json::kind::string:
      if (!utf8::valid(x.get_string()))
        return at("invalid UTF-8 in a string");
      return std::nullopt;
    case json::kind::double_:
      if (!std::isfinite(x.get_double()))
        return at("not a finite number");
      return std::nullopt;
    case json::kind::array: {
      auto& xs = x.get_array();
      for (size_t i = 0; i < xs.size(); ++i)
        if (auto err = check_value(xs[i], path + "[" + std::to_string(i) + "]"))
          return err;
      return std::nullopt;
    }
    case json::kind::object:
      return check_members(x.get_object(), path);
    default:
      return std::nullopt;
  }
}

} // namespace

std::optional<std::string> check_storable(const json::value& x) {
  return check_value(x, {});
}

std::optional<std::string> check_storable(const json::object& x) {
  return check_members(x, {});
}

bool storable(timestamp x) noexcept {
  using namespace std::chrono;
  return x >= sys_days{year{0} / 1 / 1} && x < sys_days{year{10000} / 1 / 1};
}

std::string to_text(const json::object& x) {
  return to_json_text(x);
}

caf::error parse_object(std::string_view text, std::string_view what,
                        json::object& out) {
  json::value val;
  if (json_io::parse_stored(text, val) || !val.is_object())
    return make_error(errc::storage_failure,
                      "malformed JSON object in " + std::string{what});
  out = std::move(val.get_object());
  return {};
}

std::string quote(std::string_view name) {
  std::string result = "\"";
  for (auto c : name) {
    if (c == '"')
      result += '"';
    result += c;
  }
  result += '"';
  return result;
}

} // namespace eventactors::codec
