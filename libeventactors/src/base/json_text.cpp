// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "base/json_text.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_set>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/value_stack.hpp>

namespace eventactors {

namespace json_io {

namespace {

/// The correctly rounded double of a JSON number's text; `approx` is
/// Boost.JSON's reading, which tells overflow from underflow.
double exact_double(std::string_view text, double approx) {
  double result = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(),
                                   result);
  if (ec == std::errc{} && ptr == text.data() + text.size())
    return result;
  bool negative = !text.empty() && text.front() == '-';
  if (ec == std::errc::result_out_of_range) {
    // Too large for a double: an infinity (which storage refuses); too
    // small: a zero of the text's sign.
    if (std::isinf(approx) || std::fabs(approx) >= 1.0)
      return negative ? -HUGE_VAL : HUGE_VAL;
    return negative ? -0.0 : 0.0;
  }
  // The JSON grammar of numbers is a subset of what from_chars reads, so
  // this is unreachable; keep Boost.JSON's reading rather than fail.
  return approx;
}

/// Builds a `json::value` like Boost.JSON's own parser, with exact doubles
/// and, on request, refusing duplicate keys.
class exact_handler {
public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  explicit exact_handler(bool refuse_duplicates)
    : refuse_duplicates_(refuse_duplicates) {
    st_.reset();
  }

  json::value release() {
    return st_.release();
  }

  std::string& duplicate() {
    return duplicate_;
  }

  bool on_document_begin(boost::system::error_code&) {
    return true;
  }

  bool on_document_end(boost::system::error_code&) {
    return true;
  }

  bool on_object_begin(boost::system::error_code&) {
    if (refuse_duplicates_)
      keys_.emplace_back();
    return true;
  }

  bool on_object_end(std::size_t n, boost::system::error_code&) {
    st_.push_object(n);
    if (refuse_duplicates_)
      keys_.pop_back();
    return true;
  }

  bool on_array_begin(boost::system::error_code&) {
    return true;
  }

  bool on_array_end(std::size_t n, boost::system::error_code&) {
    st_.push_array(n);
    return true;
  }

  bool on_key_part(json::string_view s, std::size_t,
                   boost::system::error_code&) {
    st_.push_chars(s);
    if (refuse_duplicates_)
      key_.append(s.data(), s.size());
    return true;
  }

  bool on_key(json::string_view s, std::size_t,
              boost::system::error_code& ec) {
    if (refuse_duplicates_) {
      key_.append(s.data(), s.size());
      if (!keys_.back().insert(key_).second) {
        duplicate_ = std::move(key_);
        key_.clear();
        ec = json::error::syntax;
        return false;
      }
      key_.clear();
    }
    st_.push_key(s);
    return true;
  }

  bool on_string_part(json::string_view s, std::size_t,
                      boost::system::error_code&) {
    st_.push_chars(s);
    return true;
  }

  bool on_string(json::string_view s, std::size_t,
                 boost::system::error_code&) {
    st_.push_string(s);
    return true;
  }

  bool on_number_part(json::string_view s, boost::system::error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }

  bool on_int64(int64_t i, json::string_view, boost::system::error_code&) {
    number_.clear();
    st_.push_int64(i);
    return true;
  }

  bool on_uint64(uint64_t u, json::string_view,
                 boost::system::error_code&) {
    number_.clear();
    st_.push_uint64(u);
    return true;
  }

  bool on_double(double d, json::string_view s, boost::system::error_code&) {
    if (number_.empty()) {
      st_.push_double(exact_double({s.data(), s.size()}, d));
    } else {
      number_.append(s.data(), s.size());
      st_.push_double(exact_double(number_, d));
      number_.clear();
    }
    return true;
  }

  bool on_bool(bool b, boost::system::error_code&) {
    st_.push_bool(b);
    return true;
  }

  bool on_null(boost::system::error_code&) {
    st_.push_null();
    return true;
  }

  bool on_comment_part(json::string_view, boost::system::error_code&) {
    return true;
  }

  bool on_comment(json::string_view, boost::system::error_code&) {
    return true;
  }

private:
  json::value_stack st_;
  bool refuse_duplicates_;
  std::string number_;
  std::vector<std::unordered_set<std::string>> keys_;
  std::string key_;
  std::string duplicate_;
};

/// Appends `x` as a JSON string, escaped as Boost.JSON escapes: quote,
/// backslash and control characters; everything else as is.
void write_string(std::string& out, std::string_view x) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0; // start of the bytes not yet copied
  for (size_t i = 0; i < x.size(); ++i) {
    auto c = static_cast<unsigned char>(x[i]);
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    out.append(x.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
    }
  }
  out.append(x.data() + run, x.size() - run);
  out += '"';
}

void write_members(std::string& out, const json::object& x) {
  out += '{';
  bool first = true;
  for (auto& kvp : x) {
    if (!first)
      out += ',';
    first = false;
    write_string(out, kvp.key());
    out += ':';
    write(out, kvp.value());
  }
  out += '}';
}

template <class T>
void write_integer(std::string& out, T x) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  out.append(buf, res.ptr);
}

} // namespace

std::optional<parse_failure> parse(std::string_view text,
                                   const boost::json::parse_options& opts,
                                   bool refuse_duplicate_keys,
                                   json::value& out) {
  json::basic_parser<exact_handler> p{opts, refuse_duplicate_keys};
  boost::system::error_code ec;
  auto consumed = p.write_some(false, text.data(), text.size(), ec);
  if (!ec && consumed < text.size()) {
    // Trailing data after the value: only white space may follow.
    auto rest = text.substr(consumed);
    auto junk = rest.find_first_not_of(" \t\r\n");
    if (junk != std::string_view::npos) {
      consumed += junk;
      ec = json::error::extra_data;
    }
  }
  if (!ec && !p.done())
    ec = json::error::incomplete;
  if (ec)
    return parse_failure{ec, consumed, std::move(p.handler().duplicate())};
  out = p.handler().release();
  return std::nullopt;
}

boost::json::parse_options stored_options() {
  boost::json::parse_options opts;
  opts.max_depth = 256;
  return opts;
}

std::optional<parse_failure> parse_stored(std::string_view text,
                                          json::value& out) {
  static const auto opts = stored_options();
  return parse(text, opts, false, out);
}

void write_double(std::string& out, double x) {
  if (std::isnan(x)) {
    out += "NaN";
    return;
  }
  if (std::isinf(x)) {
    out += x < 0 ? "-Infinity" : "Infinity";
    return;
  }
  // Shortest round trip, fixed or scientific, whichever is shorter.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  std::string_view text{buf, static_cast<size_t>(res.ptr - buf)};
  auto e = text.find('e');
  if (e == std::string_view::npos) {
    out += text;
    if (text.find('.') == std::string_view::npos)
      out += ".0"; // stays a double when read back
    return;
  }
  // to_chars writes exponents like printf (`1e+22`, `1e-07`): drop the
  // plus sign and the leading zeros.
  out += text.substr(0, e + 1);
  auto exp = text.substr(e + 1);
  if (!exp.empty() && (exp.front() == '+' || exp.front() == '-')) {
    if (exp.front() == '-')
      out += '-';
    exp.remove_prefix(1);
  }
  while (exp.size() > 1 && exp.front() == '0')
    exp.remove_prefix(1);
  out += exp;
}

void write(std::string& out, const json::value& x) {
  switch (x.kind()) {
    case json::kind::null:
      out += "null";
      return;
    case json::kind::bool_:
      out += x.get_bool() ? "true" : "false";
      return;
    case json::kind::int64:
      write_integer(out, x.get_int64());
      return;
    case json::kind::uint64:
      write_integer(out, x.get_uint64());
      return;
    case json::kind::double_:
      write_double(out, x.get_double());
      return;
    case json::kind::string:
      write_string(out, x.get_string());
      return;
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (auto& y : x.get_array()) {
        if (!first)
          out += ',';
        first = false;
        write(out, y);
      }
      out += ']';
      return;
    }
    case json::kind::object:
      write_members(out, x.get_object());
      return;
  }
}

bool identical(const json::value& x, const json::value& y) noexcept {
  if (x.kind() != y.kind())
    return false;
  switch (x.kind()) {
    case json::kind::double_: {
      auto a = x.get_double();
      auto b = y.get_double();
      return std::memcmp(&a, &b, sizeof(double)) == 0;
    }
    case json::kind::array: {
      auto& xs = x.get_array();
      auto& ys = y.get_array();
      if (xs.size() != ys.size())
        return false;
      for (size_t i = 0; i < xs.size(); ++i)
        if (!identical(xs[i], ys[i]))
          return false;
      return true;
    }
    case json::kind::object: {
      auto& xs = x.get_object();
      auto& ys = y.get_object();
      if (xs.size() != ys.size())
        return false;
      for (auto& kvp : xs) {
        auto other = ys.if_contains(kvp.key());
        if (!other || !identical(kvp.value(), *other))
          return false;
      }
      return true;
    }
    default:
      return x == y;
  }
}

} // namespace json_io

std::string to_json_text(const json::value& x) {
  std::string out;
  json_io::write(out, x);
  return out;
}

std::string to_json_text(const json::object& x) {
  std::string out;
  json_io::write_members(out, x);
  return out;
}

} // namespace eventactors
