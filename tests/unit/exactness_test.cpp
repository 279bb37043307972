// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Values round-trip exactly: a double keeps its bits from the text a user
// typed (input, definition defaults and constants, metadata) to every value
// read back (records, events, history), after a full replay and in a fork;
// likewise 64-bit integers at their limits and date-times at the
// microsecond. The expectations are the generated values themselves, not
// what a replay rebuilds: `verify` cannot see drift that live and replay
// share.
//
// Environment variables (optional):
//   EVENTACTORS_EXACT_VALUES=N   at least N random doubles typed as input,
//                                and 2 * N parsed from text alone
//                                (default 100000; when only
//                                EVENTACTORS_PROPERTY_SEEDS is set, as under
//                                the sanitizers, 100000 * SEEDS / 200, at
//                                least 2000)
//   EVENTACTORS_PROPERTY_SEED=S  the seed of the random values (default 1)

#include "base/json_text.hpp"

#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json/serialize.hpp>
#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "eventactors/all.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;

namespace {

// -- random values ------------------------------------------------------------

uint64_t bits_of(double x) {
  return std::bit_cast<uint64_t>(x);
}

double from_bits(uint64_t x) {
  return std::bit_cast<double>(x);
}

/// Doubles at the edges, drawn more often than random bits would.
const std::vector<double>& special_doubles() {
  using lim = std::numeric_limits<double>;
  static const std::vector<double> xs{
    0.0,
    -0.0,
    lim::denorm_min(),
    -lim::denorm_min(),
    lim::min(),
    -lim::min(),
    std::nextafter(lim::min(), 0.0), // the largest subnormal
    lim::max(),
    -lim::max(),
    std::nextafter(lim::max(), 0.0),
    9007199254740992.0,  // 2^53
    9007199254740994.0,  // 2^53 + 2
    -9007199254740994.0, // beyond 2^53, negative
    9223372036854775808.0,  // 2^63
    -9223372036854775808.0, // -2^63
    18446744073709551616.0, // 2^64
    1e22,
    1e23,
    2.5e-300,
    123456789.12345679,
    0.1,
    2.5,
    2.0,
    -1.0,
  };
  return xs;
}

/// A finite double from random bit patterns, with subnormals, the largest
/// and smallest magnitudes, zeros and integers beyond 2^53 drawn often.
double random_double(std::mt19937_64& rng) {
  constexpr uint64_t sign_bit = uint64_t{1} << 63;
  constexpr uint64_t mantissa = (uint64_t{1} << 52) - 1;
  for (;;) {
    auto sign = rng() & sign_bit;
    double x = 0;
    switch (rng() % 16) {
      case 0: {
        auto& xs = special_doubles();
        x = xs[rng() % xs.size()];
        break;
      }
      case 1: // subnormal
        x = from_bits(sign | (rng() & mantissa));
        break;
      case 2: { // an integer in [2^53, 2^73]
        auto m = static_cast<double>((rng() & mantissa) | (mantissa + 1));
        x = std::ldexp(m, 1 + static_cast<int>(rng() % 21));
        if (sign)
          x = -x;
        break;
      }
      case 3: // the largest or smallest binary exponents
        x = from_bits(sign | (rng() % 2 ? uint64_t{0x7fe} : uint64_t{1}) << 52
                      | (rng() & mantissa));
        break;
      default:
        x = from_bits(rng());
    }
    if (std::isfinite(x))
      return x;
  }
}

/// `x` as a person or a program may type it: the shortest form, 17
/// significant digits, or scientific notation; always with a point or an
/// exponent, so that it is a double in JSON.
std::string typed(double x, std::mt19937_64& rng) {
  char buf[64];
  std::string s;
  switch (rng() % 4) {
    case 0:
    case 1: {
      auto res = std::to_chars(buf, buf + sizeof(buf), x);
      s.assign(buf, res.ptr);
      break;
    }
    case 2:
      std::snprintf(buf, sizeof(buf), "%.17g", x);
      s = buf;
      break;
    default:
      std::snprintf(buf, sizeof(buf), "%.16E", x);
      s = buf;
  }
  if (s.find_first_of(".eE") == std::string::npos)
    s += ".0";
  return s;
}

int64_t random_int64(std::mt19937_64& rng) {
  using lim = std::numeric_limits<int64_t>;
  static const int64_t edges[] = {lim::min(),
                                  lim::min() + 1,
                                  lim::max(),
                                  lim::max() - 1,
                                  int64_t{1} << 53,
                                  (int64_t{1} << 53) + 1,
                                  -(int64_t{1} << 53) - 1,
                                  0,
                                  -1};
  if (rng() % 4 == 0)
    return edges[rng() % std::size(edges)];
  return static_cast<int64_t>(rng());
}

/// A date-time at the microsecond in the years 0000 to 9999 and how it is
/// typed: in UTC, or with an offset, with 6 or 9 fractional digits.
struct typed_time {
  std::string text;
  std::string stored;
};

typed_time random_time(std::mt19937_64& rng) {
  using namespace std::chrono;
  auto lo = sys_days{year{0} / 1 / 1}.time_since_epoch();
  auto hi = sys_days{year{10000} / 1 / 1}.time_since_epoch();
  auto span = duration_cast<microseconds>(hi - lo).count();
  auto micros = duration_cast<microseconds>(lo).count()
                + static_cast<int64_t>(rng() % static_cast<uint64_t>(span));
  timestamp t{microseconds{micros}};
  typed_time result;
  result.stored = format_timestamp(t);
  auto year_of = static_cast<int>(year_month_day{floor<days>(t)}.year());
  bool offset = rng() % 2 && year_of > 0 && year_of < 9999;
  if (!offset) {
    result.text = result.stored;
  } else {
    auto minutes_off = static_cast<int>(rng() % (24 * 60)) - 12 * 60;
    auto local = format_timestamp(t + minutes{minutes_off});
    local.pop_back(); // 'Z'
    char buf[8];
    std::snprintf(buf, sizeof(buf), "%c%02d:%02d",
                  minutes_off < 0 ? '-' : '+', std::abs(minutes_off) / 60,
                  std::abs(minutes_off) % 60);
    result.text = local + buf;
  }
  if (rng() % 3 == 0) {
    // Nine digits: the last three are below a microsecond.
    auto dot = result.text.find('.');
    result.text.insert(dot + 7, "000");
  }
  return result;
}

// -- comparing ----------------------------------------------------------------

/// Counts values that differ from their expectation, keeping the first few
/// descriptions (one Catch assertion per test rather than per value).
struct mismatches {
  size_t count = 0;
  size_t compared = 0;
  std::vector<std::string> first;

  void same(const json::value& got, const json::value& want,
            const std::string& where) {
    ++compared;
    if (json_io::identical(got, want))
      return;
    if (++count <= 8)
      first.push_back(where + ": got " + to_json_text(got) + ", want "
                      + to_json_text(want));
  }

  void fail(std::string what) {
    if (++count <= 8)
      first.push_back(std::move(what));
  }

  std::string report() const {
    std::string out = std::to_string(count) + " of "
                      + std::to_string(compared) + " values differ";
    for (auto& x : first)
      out += "\n  " + x;
    return out;
  }
};

#define CHECK_NO_MISMATCH(m)                                                   \
  do {                                                                         \
    INFO((m).report());                                                        \
    CHECK((m).count == 0);                                                     \
  } while (false)

// -- the workload -------------------------------------------------------------

size_t env_size(const char* name, size_t fallback) {
  if (auto str = std::getenv(name)) {
    auto n = std::strtoull(str, nullptr, 10);
    if (n > 0)
      return static_cast<size_t>(n);
  }
  return fallback;
}

/// How many random doubles go in as input.
size_t wanted_doubles() {
  if (std::getenv("EVENTACTORS_EXACT_VALUES"))
    return env_size("EVENTACTORS_EXACT_VALUES", 100000);
  if (std::getenv("EVENTACTORS_PROPERTY_SEEDS"))
    return std::max<size_t>(
      2000, 100000 * std::min<size_t>(env_size("EVENTACTORS_PROPERTY_SEEDS",
                                               200),
                                      200)
              / 200);
  return 100000;
}

constexpr int typed_floats = 100;  // f0..: float attributes set by input
constexpr int default_floats = 40; // g0..: float defaults of the definition
constexpr int update_floats = 20;  // u0..: a default and an update default
constexpr int constant_floats = 20; // c0..: set by a set_attribute constant
constexpr int ints = 10;            // i0..: integer attributes
constexpr int times = 10;           // t0..: utc_datetime attributes
constexpr int map_doubles = 20;     // inside the map attribute "m"
constexpr int array_doubles = 20;   // in the array<float> attribute "a"
constexpr int metadata_doubles = 200; // in the metadata of each batch
constexpr int batch_size = 20;

/// Doubles typed as input per action.
constexpr size_t doubles_per_action = typed_floats + map_doubles
                                      + array_doubles;

std::string name(char prefix, int i) {
  return prefix + std::to_string(i);
}

/// One round: an app whose definition holds random doubles, a database, and
/// the values every record must hold after its create and its update.
struct round_state {
  std::mt19937_64& rng;
  std::string app_text;
  json::object definition_values; // g, u (create), c: attribute -> value
  json::object update_defaults;   // u after an update
  // Per record: the values after the create and after the update.
  std::map<std::string, json::object> after_create;
  std::map<std::string, json::object> after_update;
  // Per record: the metadata of its create and update batches.
  std::map<std::string, json::object> create_metadata;
  std::map<std::string, json::object> update_metadata;
  size_t typed_doubles = 0;

  explicit round_state(std::mt19937_64& r) : rng(r) {
    build_app();
  }

  void build_app() {
    std::string attrs;
    auto add_attr = [&](const std::string& text) {
      attrs += (attrs.empty() ? "" : ",\n") + text;
    };
    std::string accepted;
    auto accept = [&](const std::string& n) {
      accepted += (accepted.empty() ? "\"" : ", \"") + n + "\"";
    };
    for (int i = 0; i < typed_floats; ++i) {
      add_attr("{\"name\": \"" + name('f', i) + "\", \"type\": \"float\"}");
      accept(name('f', i));
    }
    for (int i = 0; i < default_floats; ++i) {
      auto x = random_double(rng);
      definition_values[name('g', i)] = x;
      add_attr("{\"name\": \"" + name('g', i)
               + "\", \"type\": \"float\", \"default\": " + typed(x, rng)
               + "}");
    }
    for (int i = 0; i < update_floats; ++i) {
      auto x = random_double(rng);
      auto y = random_double(rng);
      definition_values[name('u', i)] = x;
      update_defaults[name('u', i)] = y;
      add_attr("{\"name\": \"" + name('u', i)
               + "\", \"type\": \"float\", \"default\": " + typed(x, rng)
               + ", \"update_default\": " + typed(y, rng) + "}");
    }
    std::string steps;
    for (int i = 0; i < constant_floats; ++i) {
      auto x = random_double(rng);
      definition_values[name('c', i)] = x;
      add_attr("{\"name\": \"" + name('c', i) + "\", \"type\": \"float\"}");
      steps += (steps.empty() ? "" : ",\n")
               + std::string{"{\"change\": \"set_attribute\", \"name\": \""}
               + name('c', i) + "\", \"attribute\": \"" + name('c', i)
               + "\", \"value\": " + typed(x, rng) + "}";
    }
    for (int i = 0; i < ints; ++i) {
      add_attr("{\"name\": \"" + name('i', i) + "\", \"type\": \"integer\"}");
      accept(name('i', i));
    }
    for (int i = 0; i < times; ++i) {
      add_attr("{\"name\": \"" + name('t', i)
               + "\", \"type\": \"utc_datetime\"}");
      accept(name('t', i));
    }
    add_attr(R"({"name": "m", "type": "map"})");
    add_attr(R"({"name": "a", "type": {"array": "float"}})");
    accept("m");
    accept("a");
    app_text = R"({
  "event_logs": [{"name": "events", "record_id_type": "string"}],
  "resources": [{
    "name": "Exact.Sample",
    "primary_key": {"name": "id", "type": "string"},
    "attributes": [
)" + attrs + R"(
    ],
    "actions": [
      {"name": "create", "kind": "create", "accept": ["id", )"
               + accepted + R"(],
       "steps": [
)" + steps + R"(
       ]},
      {"name": "update", "kind": "update", "accept": [)"
               + accepted + R"(]}
    ],
    "events": {"event_log": "events"}
  }]
})";
  }

  /// A random input: its JSON text, and the values it sets in `values`.
  std::string random_input(const std::string& id, json::object& values) {
    std::string text = "{";
    if (!id.empty())
      text += "\"id\": \"" + id + "\", ";
    for (int i = 0; i < typed_floats; ++i) {
      auto x = random_double(rng);
      values[name('f', i)] = x;
      text += "\"" + name('f', i) + "\": " + typed(x, rng) + ", ";
    }
    for (int i = 0; i < ints; ++i) {
      auto x = random_int64(rng);
      values[name('i', i)] = x;
      text += "\"" + name('i', i) + "\": " + std::to_string(x) + ", ";
    }
    for (int i = 0; i < times; ++i) {
      auto t = random_time(rng);
      values[name('t', i)] = t.stored;
      text += "\"" + name('t', i) + "\": \"" + t.text + "\", ";
    }
    json::object m;
    text += "\"m\": {";
    for (int i = 0; i < map_doubles; ++i) {
      auto x = random_double(rng);
      m[name('k', i)] = x;
      text += (i ? ", \"" : "\"") + name('k', i) + "\": " + typed(x, rng);
    }
    // An integer at its limits inside the map stays an integer.
    auto n = random_int64(rng);
    m["n"] = n;
    text += ", \"n\": " + std::to_string(n) + "}, ";
    values["m"] = std::move(m);
    json::array a;
    text += "\"a\": [";
    for (int i = 0; i < array_doubles; ++i) {
      auto x = random_double(rng);
      a.push_back(x);
      text += (i ? ", " : "") + typed(x, rng);
    }
    text += "]}";
    values["a"] = std::move(a);
    typed_doubles += doubles_per_action;
    return text;
  }

  /// Random metadata: its JSON text, and the object it must read back as.
  std::string random_metadata(json::object& values) {
    std::string text = "{";
    for (int i = 0; i < metadata_doubles; ++i) {
      auto x = random_double(rng);
      values[name('x', i)] = x;
      text += (i ? ", \"" : "\"") + name('x', i) + "\": " + typed(x, rng);
    }
    auto n = random_int64(rng);
    values["n"] = n;
    text += ", \"n\": " + std::to_string(n) + "}";
    typed_doubles += metadata_doubles;
    return text;
  }
};

json::object parsed_object(const std::string& text) {
  auto doc = parse_json(text, "typed");
  REQUIRE(doc);
  REQUIRE(doc->is_object());
  return std::move(doc->get_object());
}

/// Runs the creates (then the updates) of `ids` in batches; returns the
/// number of failed items.
size_t run_actions(runtime& rt, round_state& st,
                   const std::vector<std::string>& ids, bool update) {
  size_t failed = 0;
  for (size_t first = 0; first < ids.size(); first += batch_size) {
    batch_call bc{"Exact.Sample", update ? "update" : "create"};
    json::object meta;
    bc.metadata = parsed_object(st.random_metadata(meta));
    auto last = std::min(ids.size(), first + batch_size);
    for (size_t i = first; i < last; ++i) {
      auto& id = ids[i];
      json::object values;
      auto text = st.random_input(update ? std::string{} : id, values);
      batch_item item{parsed_object(text), nullptr};
      if (update) {
        item.record_id = json::string{id};
        auto state = st.after_create.at(id);
        for (auto& kvp : values)
          state[kvp.key()] = kvp.value();
        for (auto& kvp : st.update_defaults)
          state[kvp.key()] = kvp.value();
        st.after_update[id] = std::move(state);
        st.update_metadata[id] = meta;
      } else {
        auto state = st.definition_values;
        for (auto& kvp : values)
          state[kvp.key()] = kvp.value();
        state["id"] = id;
        st.after_create[id] = std::move(state);
        st.create_metadata[id] = meta;
      }
      bc.items.push_back(std::move(item));
    }
    auto results = rt.run_batch(std::move(bc));
    for (auto& r : results)
      if (!r) {
        ++failed;
        UNSCOPED_INFO("action failed: " << render(r.error()));
      }
  }
  return failed;
}

/// Every record reads back as expected.
void check_records(runtime& rt, const round_state& st, mismatches& m,
                   const std::string& where) {
  for (auto& [id, want] : st.after_update) {
    auto rec = rt.get("Exact.Sample", json::string{id});
    if (!rec) {
      m.fail(where + " get " + id + ": " + render(rec.error()));
      continue;
    }
    for (auto& kvp : want)
      m.same(rec->get(kvp.key()), kvp.value(),
             where + " get " + id + "." + std::string{kvp.key()});
  }
}

/// Checks one event against the expected state after it: every attribute
/// its data or changed attributes hold, every typed input present, and its
/// metadata.
void check_event(const event& ev, const round_state& st, mismatches& m,
                 const std::string& where) {
  if (!ev.record_id.is_string()) {
    m.fail(where + ": event " + to_json_text(ev.id) + " without record id");
    return;
  }
  std::string id{ev.record_id.get_string()};
  bool create = ev.action == "create";
  auto& states = create ? st.after_create : st.after_update;
  auto& metas = create ? st.create_metadata : st.update_metadata;
  auto state = states.find(id);
  if (state == states.end()) {
    m.fail(where + ": unexpected event of " + id);
    return;
  }
  auto at = where + " event " + to_json_text(ev.id) + " (" + ev.action + " "
            + id + ")";
  for (auto* src : {&ev.data, &ev.changed_attributes})
    for (auto& kvp : *src)
      if (auto want = state->second.if_contains(kvp.key()))
        m.same(kvp.value(), *want, at + "." + std::string{kvp.key()});
  for (int i = 0; i < typed_floats; ++i)
    if (!ev.data.contains(name('f', i)))
      m.fail(at + ": no " + name('f', i) + " in the data");
  m.same(json::value(ev.metadata), json::value(metas.at(id)),
         at + " metadata");
}

/// Every event (or only those of `record`) reads back as typed.
void check_events(runtime& rt, const round_state& st, mismatches& m,
                  const std::string& where,
                  std::optional<std::string> record = std::nullopt) {
  event_filter f;
  f.log = "events";
  if (record) {
    f.resource = "Exact.Sample";
    f.record_id = json::string{*record};
  }
  size_t seen = 0;
  auto err = rt.for_each_event(f, [&](const event& ev) {
    ++seen;
    check_event(ev, st, m, where);
    return true;
  });
  if (err)
    m.fail(where + ": " + render(err));
  auto want = record ? size_t{2}
                     : st.after_create.size() + st.after_update.size();
  if (seen != want)
    m.fail(where + ": " + std::to_string(seen) + " events, want "
           + std::to_string(want));
}

} // namespace

// -- the text form ------------------------------------------------------------

TEST_CASE("doubles print in their shortest exact form and stay doubles",
          "[exact]") {
  auto text = [](double x) { return to_json_text(json::value(x)); };
  CHECK(text(2.5) == "2.5");
  CHECK(text(2.0) == "2.0");
  CHECK(text(-0.0) == "-0.0");
  CHECK(text(0.0) == "0.0");
  CHECK(text(2.5e-300) == "2.5e-300");
  CHECK(text(123456789.12345679) == "123456789.12345679");
  CHECK(text(0.1) == "0.1");
  CHECK(text(1e22) == "1e22");
  CHECK(text(1e-7) == "1e-7");
  CHECK(text(5e-324) == "5e-324");
  CHECK(text(1.7976931348623157e308) == "1.7976931348623157e308");
  CHECK(text(1152921504606846976.0) == "1152921504606846976.0");
  CHECK(text(-123456.0) == "-123456.0");
  // Integers print in full, whatever their size.
  CHECK(to_json_text(json::value(std::numeric_limits<int64_t>::min()))
        == "-9223372036854775808");
  CHECK(to_json_text(json::value(std::numeric_limits<uint64_t>::max()))
        == "18446744073709551615");
  CHECK(to_json_text(json::object{{"x", 2.5}, {"y", json::array{1, 2.0}}})
        == R"({"x":2.5,"y":[1,2.0]})");
}

TEST_CASE("strings and keys are escaped as Boost.JSON escapes them",
          "[exact]") {
  std::mt19937_64 rng{7};
  for (int n = 0; n < 2000; ++n) {
    std::string s;
    auto len = rng() % 12;
    for (size_t i = 0; i < len; ++i) {
      switch (rng() % 4) {
        case 0:
          s += static_cast<char>(rng() % 0x20); // control characters
          break;
        case 1:
          s += "\"\\/\x7f"[rng() % 4];
          break;
        case 2:
          s += "\xc3\xa9\xe2\x82\xac"; // é€
          break;
        default:
          s += static_cast<char>('a' + rng() % 26);
      }
    }
    json::value x = json::object{{s, json::array{s, nullptr, true, -7}}};
    REQUIRE(to_json_text(x) == json::serialize(x));
  }
}

TEST_CASE("typed doubles parse to the bits of their text", "[exact]") {
  // Boost.JSON 1.81 reads these one unit in the last place off.
  auto parsed = [](const std::string& text) {
    auto doc = parse_json(text, "x");
    REQUIRE(doc);
    REQUIRE(doc->is_double());
    return doc->get_double();
  };
  CHECK(bits_of(parsed("2.5e-300")) == bits_of(2.5e-300));
  CHECK(bits_of(parsed("123456789.12345679")) == bits_of(123456789.12345679));
  CHECK(bits_of(parsed("-0.0")) == bits_of(-0.0));
  // Out of range: zeros of their sign, infinities (which storage refuses).
  CHECK(bits_of(parsed("1e-400")) == bits_of(0.0));
  CHECK(bits_of(parsed("-1e-400")) == bits_of(-0.0));
  CHECK(std::isinf(parsed("1e400")));
  CHECK(std::isinf(parsed("-1e400")));
  CHECK(parsed("-1e400") < 0);
  // Integers beyond 64 bits are doubles.
  CHECK(bits_of(parsed("18446744073709551616")) == bits_of(0x1p64));
  // Every random double in every typed form, and its printed form.
  std::mt19937_64 rng{11};
  size_t wrong = 0;
  std::string first;
  auto n = 2 * wanted_doubles();
  for (size_t i = 0; i < n; ++i) {
    auto x = random_double(rng);
    for (auto& text : {typed(x, rng), to_json_text(json::value(x))}) {
      json::value v;
      auto failed = json_io::parse_stored(text, v);
      if (failed || !v.is_double() || bits_of(v.get_double()) != bits_of(x)) {
        if (wrong++ == 0)
          first = text;
      }
    }
  }
  INFO("first wrong: " << first);
  CHECK(wrong == 0);
  // Duplicate keys are still refused by parse_json, comments allowed.
  auto dup = parse_json("{\"a\": 1, /* c */ \"a\": 2.5}", "dup.json");
  REQUIRE_FALSE(dup);
  CHECK(message(dup.error()).find("dup.json:1:") != std::string::npos);
  CHECK(message(dup.error()).find("duplicate key \"a\"") != std::string::npos);
  CHECK(parse_json("{\"a\": [1, 2.5,], // c\n}", "ok.json"));
  CHECK_FALSE(parse_json("{\"a\": 1} x", "junk.json"));
  CHECK_FALSE(parse_json("{\"a\": ", "short.json"));
}

// -- through the runtime ------------------------------------------------------

TEST_CASE("random doubles, int64 limits and microsecond date-times read back "
          "bit-identical everywhere",
          "[exact][property]") {
  auto target = wanted_doubles();
  auto seed = env_size("EVENTACTORS_PROPERTY_SEED", 1);
  INFO("seed " << seed << ", at least " << target << " typed doubles");
  std::mt19937_64 rng{seed};
  // Two rounds, each with an app of its own (new definition values).
  constexpr int rounds = 2;
  auto per_record = 2 * doubles_per_action + 2 * metadata_doubles / batch_size;
  auto records = (target + rounds * per_record - 1) / (rounds * per_record);
  size_t typed_total = 0;
  for (int r = 0; r < rounds; ++r) {
    INFO("round " << r);
    round_state st{rng};
    auto doc = parse_json(st.app_text, "exact.json");
    REQUIRE(doc);
    auto defs = load_app(*doc);
    INFO((defs ? std::string{} : render(defs.error())));
    REQUIRE(defs);
    temp_dir dir;
    runtime_options opts;
    opts.path = dir.file("live.db");
    opts.synchronous = sync_mode::normal;
    auto rt = runtime::start(*defs, opts);
    INFO((rt ? std::string{} : render(rt.error())));
    REQUIRE(rt);
    std::vector<std::string> ids;
    for (size_t i = 0; i < records; ++i)
      ids.push_back("r" + std::to_string(i));
    REQUIRE(run_actions(**rt, st, ids, false) == 0);
    REQUIRE(run_actions(**rt, st, ids, true) == 0);
    typed_total += st.typed_doubles;
    mismatches live;
    check_records(**rt, st, live, "live");
    check_events(**rt, st, live, "live");
    // History: the events of one record, in order.
    for (size_t i = 0; i < ids.size(); i += 17)
      check_events(**rt, st, live, "history", ids[i]);
    CHECK_NO_MISMATCH(live);
    auto report = (*rt)->verify();
    REQUIRE(report);
    CHECK(report->total_differences == 0);
    // A full replay rebuilds the same bits and leaves the events alone.
    auto summary = (*rt)->replay();
    INFO((summary ? std::string{} : render(summary.error())));
    REQUIRE(summary);
    mismatches replayed;
    check_records(**rt, st, replayed, "replayed");
    check_events(**rt, st, replayed, "after replay");
    CHECK_NO_MISMATCH(replayed);
    // A fork holds the same bits.
    auto fork_path = dir.file("fork.db");
    auto forked = (*rt)->fork({}, fork_path);
    INFO((forked ? std::string{} : render(forked.error())));
    REQUIRE(forked);
    rt->reset();
    runtime_options fork_opts = opts;
    fork_opts.path = fork_path;
    auto fork_rt = runtime::start(*defs, fork_opts);
    REQUIRE(fork_rt);
    mismatches in_fork;
    check_records(**fork_rt, st, in_fork, "fork");
    check_events(**fork_rt, st, in_fork, "fork");
    CHECK_NO_MISMATCH(in_fork);
    auto fork_report = (*fork_rt)->verify();
    REQUIRE(fork_report);
    CHECK(fork_report->total_differences == 0);
  }
  CHECK(typed_total >= target);
}

TEST_CASE("verify reports a double that differs in its last bit or its sign",
          "[exact]") {
  // Live and replayed records are compared bit for bit: drift of one unit
  // in the last place, or 0.0 for -0.0, is a difference.
  auto doc = parse_json(R"({
    "event_logs": [{"name": "events", "record_id_type": "string"}],
    "resources": [{
      "name": "Exact.Sample",
      "primary_key": {"name": "id", "type": "string"},
      "attributes": [{"name": "x", "type": "float"},
                     {"name": "y", "type": "float"}],
      "actions": [{"name": "create", "kind": "create",
                   "accept": ["id", "x", "y"]}],
      "events": {"event_log": "events"}
    }]})",
                        "exact.json");
  REQUIRE(doc);
  auto defs = load_app(*doc);
  REQUIRE(defs);
  temp_dir dir;
  runtime_options opts;
  opts.path = dir.file("live.db");
  {
    auto rt = runtime::start(*defs, opts);
    REQUIRE(rt);
    REQUIRE((*rt)->run("Exact.Sample", "create",
                       parsed_object(R"({"id": "a", "x": 2.5e-300,
                                         "y": -0.0})")));
    auto rec = (*rt)->get("Exact.Sample", "a");
    REQUIRE(rec);
    CHECK(bits_of(rec->get("x").get_double()) == bits_of(2.5e-300));
    CHECK(bits_of(rec->get("y").get_double()) == bits_of(-0.0));
    auto report = (*rt)->verify();
    REQUIRE(report);
    CHECK(report->total_differences == 0);
  }
  // Change the live record behind the runtime's back: one ulp, one sign.
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(opts.path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db,
                               "UPDATE exact_sample SET x = ?, y = 0.0",
                               -1, &stmt, nullptr)
            == SQLITE_OK);
    sqlite3_bind_double(stmt, 1, std::nextafter(2.5e-300, 1.0));
    CHECK(sqlite3_step(stmt) == SQLITE_DONE);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }
  auto rt = runtime::start(*defs, opts);
  REQUIRE(rt);
  auto report = (*rt)->verify();
  REQUIRE(report);
  CHECK(report->total_differences == 2);
}

TEST_CASE("error messages print doubles in their shortest form", "[exact]") {
  auto doc = parse_json(R"({
    "event_logs": [{"name": "events", "record_id_type": "string"}],
    "resources": [{
      "name": "Exact.Sample",
      "primary_key": {"name": "id", "type": "string"},
      "attributes": [{"name": "p", "type": "float"}],
      "actions": [{"name": "create", "kind": "create", "accept": ["id", "p"],
                   "steps": [{"validate": "numeric_range", "field": "p",
                              "min": 0.1, "max": 2.5}]}],
      "events": {"event_log": "events"}
    }]})",
                        "exact.json");
  REQUIRE(doc);
  auto defs = load_app(*doc);
  INFO((defs ? std::string{} : render(defs.error())));
  REQUIRE(defs);
  temp_dir dir;
  runtime_options opts;
  opts.path = dir.file("live.db");
  auto rt = runtime::start(*defs, opts);
  REQUIRE(rt);
  auto res = (*rt)->run("Exact.Sample", "create",
                        parsed_object(R"({"id": "a", "p": 3})"));
  REQUIRE_FALSE(res);
  auto text = render(res.error());
  INFO(text);
  CHECK(text.find("must be between 0.1 and 2.5") != std::string::npos);
}

// -- through the command line -------------------------------------------------

namespace {

const char* cli_app_json = R"({
  "event_logs": [{"name": "events", "record_id_type": "string"}],
  "resources": [{
    "name": "Exact.Sample",
    "primary_key": {"name": "id", "type": "string"},
    "attributes": [
      {"name": "x", "type": "float"},
      {"name": "y", "type": "float"},
      {"name": "z", "type": "float"},
      {"name": "w", "type": "float"},
      {"name": "n", "type": "integer"},
      {"name": "m", "type": "map"}
    ],
    "actions": [
      {"name": "create", "kind": "create",
       "accept": ["id", "x", "y", "z", "w", "n", "m"]},
      {"name": "update", "kind": "update", "accept": ["x", "y", "z", "w"]}
    ],
    "events": {"event_log": "events"}
  }]
})";

struct cli_exact {
  temp_dir dir;
  std::string app = dir.file("exact.json");
  std::string db = dir.file("exact.db");

  cli_exact() {
    std::ofstream out{app};
    out << cli_app_json;
  }

  process_result operator()(std::vector<std::string> args,
                            const std::string& input = {},
                            bool jsonl = false) const {
    std::vector<std::string> argv{EVENTACTORS_CLI, "--app", app, "--db", db};
    if (jsonl) {
      argv.push_back("--format");
      argv.push_back("jsonl");
    }
    argv.insert(argv.end(), args.begin(), args.end());
    process_options opts;
    opts.input = input;
    auto r = run_process(argv, opts);
    INFO("stdout:\n" << r.out << "stderr:\n" << r.err);
    REQUIRE_FALSE(r.timed_out);
    REQUIRE(r.exit_code == 0);
    return r;
  }
};

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// The line of a two-column table whose first cell is `field`, reduced to
/// its second cell.
std::string cell(const std::string& out, const std::string& field) {
  std::istringstream in{out};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + " ", 0) == 0) {
      auto value = line.substr(field.size());
      return value.substr(value.find_first_not_of(' '));
    }
  return "(no " + field + ")";
}

} // namespace

TEST_CASE("values typed on the command line come back exactly in every "
          "output format",
          "[exact][cli]") {
  cli_exact cli;
  auto created = cli({"run", "Exact.Sample", "create",
                      R"({"id": "a", "x": 2.5e-300, "y": 123456789.12345679,
                          "z": -0.0, "w": 2.5, "n": -9223372036854775808,
                          "m": {"k": 2.5E-300, "i": 2}})",
                      "--metadata", R"({"v": 123456789.12345679, "s": -0.0})"});
  CHECK(cell(created.out, "x") == "2.5e-300");
  CHECK(cell(created.out, "y") == "123456789.12345679");
  CHECK(cell(created.out, "z") == "-0.0");
  CHECK(cell(created.out, "w") == "2.5");
  CHECK(cell(created.out, "n") == "-9223372036854775808");
  CHECK(cell(created.out, "m") == R"({"k":2.5e-300,"i":2})");
  // The record table, from storage.
  auto got = cli({"get", "Exact.Sample", "a"});
  CHECK(cell(got.out, "x") == "2.5e-300");
  CHECK(cell(got.out, "y") == "123456789.12345679");
  CHECK(cell(got.out, "z") == "-0.0");
  CHECK(cell(got.out, "w") == "2.5");
  CHECK(cell(got.out, "n") == "-9223372036854775808");
  CHECK(cell(got.out, "m") == R"({"k":2.5e-300,"i":2})");
  // jsonl.
  auto line = cli({"get", "Exact.Sample", "a"}, {}, true).out;
  CHECK(has(line, R"("x":2.5e-300)"));
  CHECK(has(line, R"("y":123456789.12345679)"));
  CHECK(has(line, R"("z":-0.0)"));
  CHECK(has(line, R"("w":2.5,)"));
  CHECK(has(line, R"("n":-9223372036854775808)"));
  CHECK(has(line, R"("m":{"k":2.5e-300,"i":2})"));
  // A batch line, then the events in both formats.
  auto batch = cli({"batch"},
                   R"({"resource": "Exact.Sample", "action": "update", )"
                   R"("id": "a", "input": {"w": 0.1, "z": 1e22}, )"
                   R"("metadata": {"v": 5e-324}})"
                   "\n");
  CHECK(has(batch.out, "line 1: ok"));
  auto events = cli({"events"}, {}, true).out;
  CHECK(has(events, R"("x":2.5e-300)"));
  CHECK(has(events, R"("y":123456789.12345679)"));
  CHECK(has(events, R"("z":-0.0)"));
  CHECK(has(events, R"("metadata":{"v":123456789.12345679,"s":-0.0})"));
  CHECK(has(events, R"("w":0.1)"));
  CHECK(has(events, R"("z":1e22)"));
  CHECK(has(events, R"("metadata":{"v":5e-324})"));
  CHECK_FALSE(has(events, "E-"));
  CHECK_FALSE(has(events, "E2"));
  auto table = cli({"events"}).out;
  CHECK(has(table, R"({"v":5e-324})"));
  CHECK(has(table, R"({"w":0.1,"z":1e22})"));
  auto history = cli({"history", "Exact.Sample", "a"}, {}, true).out;
  CHECK(has(history, R"("state":{)"));
  CHECK(has(history, R"("x":2.5e-300)"));
  CHECK(has(history, R"("z":1e22)"));
  // After a replay, storage still holds the typed values.
  cli({"replay"});
  auto again = cli({"get", "Exact.Sample", "a"}, {}, true).out;
  CHECK(has(again, R"("x":2.5e-300)"));
  CHECK(has(again, R"("y":123456789.12345679)"));
  CHECK(has(again, R"("z":1e22)"));
  CHECK(has(again, R"("w":0.1)"));
  auto verified = cli({"verify"});
  CHECK(has(verified.out, "no differences"));
}
