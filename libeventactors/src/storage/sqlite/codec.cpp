// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "storage/sqlite/codec.hpp"

#include <cmath>
#include <cstring>

#include <sqlite3.h>

#include "eventactors/error.hpp"
#include "base/json_text.hpp"

namespace eventactors::codec {

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
