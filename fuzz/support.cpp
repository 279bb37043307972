// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "support.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <limits>

namespace eventactors::fuzz {

namespace {

attribute_type geo_type() {
  return types::object({{"lat", types::floating()},
                        {"lng", types::floating()},
                        {"label", types::string()}});
}

attribute_type address_type() {
  return types::object({{"street", types::string(), false},
                        {"city", types::ci_string()},
                        {"zip", types::integer()},
                        {"moved_in", types::date()},
                        {"verified", types::boolean()},
                        {"geo", geo_type()}});
}

attribute_type phone_type() {
  return types::object({{"kind", types::string()},
                        {"number", types::string(), false},
                        {"primary", types::boolean()}});
}

void add_logs(app& a) {
  a.add(event_log{"events"})
    .persist_actor_primary_key("user_id", "Shop.Customer")
    .persist_actor_primary_key("system_actor", "SystemActor",
                               {.type = actor_key_kind::string})
    .all_fields_public()
    // Old "signup" events (version 1) are replayed by today's create.
    .replay_override("Shop.Customer", "signup", {1},
                     {{"Shop.Customer", "create"}});
  a.add(event_log{"events_v7"})
    .primary_key_type(event_id_kind::uuid_v7)
    .record_id_type(record_id_kind::integer)
    .persist_actor_primary_key("operator_id", "Operator",
                               {.type = actor_key_kind::integer})
    .public_fields({"id", "resource", "action", "occurred_at", "data"});
  a.add(event_log{"events_str"})
    .record_id_type(record_id_kind::string)
    .persist_actor_primary_key("who", "Robot",
                               {.type = actor_key_kind::string})
    .strict_actor_types();
}

void add_customer(app& a) {
  auto& r = a.add(resource{"Shop.Customer"});
  r.timestamps()
    .attribute("email", types::ci_string(), {.allow_nil = false})
    .attribute("name", types::string())
    .attribute("slug", types::string())
    .attribute("age", types::integer())
    .attribute("score", types::floating())
    .attribute("active", types::boolean(), {.default_value = true})
    .attribute("external_ref", types::uuid())
    .attribute("born_on", types::date())
    .attribute("last_seen", types::utc_datetime())
    .attribute("prefs", types::map())
    .attribute("tags", types::array(types::string()))
    .attribute("lucky", types::array(types::integer()))
    .attribute("matrix", types::array(types::array(types::floating())))
    .attribute("seen_days", types::array(types::date()))
    .attribute("address", address_type())
    .attribute("phones", types::array(phone_type()))
    .attribute("visits", types::integer(), {.default_value = 0})
    .attribute("revision", types::integer(),
               {.default_value = 1, .update_default = 2})
    .attribute("token", types::uuid(),
               {.default_value = value_source::uuid_v4(), .writable = false})
    .identity("unique_email", {"email"})
    .identity("name_birthday", {"name", "born_on"})
    .has_many("notes", "Shop.Note", {.destination_attribute = "customer_id"});
  r.events("events")
    .current_action_versions({{"create", 2}})
    .create_timestamp("created_at")
    .update_timestamp("updated_at")
    .allowed_change_modules({{"create", {"slug"}}})
    .replay_non_input_attribute_changes(
      {{"update", replay_strategy::as_arguments}});
  std::vector<std::string> writable
    = {"email",     "name",     "age",     "score",  "active",
       "external_ref", "born_on", "last_seen", "prefs", "tags",
       "lucky",     "matrix",   "seen_days", "address", "phones"};
  r.change(changes::slugify("name", "slug").renamed("slug"),
           {action_kind::create, action_kind::update});
  r.create("create")
    .accept(writable)
    .argument("password", types::string(), {.sensitive = true})
    .argument("password_confirmation", types::string(), {.sensitive = true})
    .argument("referral", types::uuid())
    .argument("bonus", types::integer(), {.default_value = 0})
    .argument("ratio", types::floating())
    .argument("flags", types::array(types::boolean()))
    .argument("extra", types::map())
    .argument("notes", types::array(types::map()))
    .validate(validations::present("email"))
    .validate(validations::match("email", "^[^@\\s]+@[^@\\s]+$")
                .with_message("must be an email address"))
    .validate(validations::string_length("name", 1, 120))
    .validate(validations::numeric_range("age", 0, 150))
    .validate(validations::numeric_range("ratio", -1, 1))
    .validate(validations::confirm("password", "password_confirmation")
                .where(conditions::argument_present("password")))
    .validate(validations::attribute_does_not_equal("name", "root"))
    .change(changes::increment("visits", 1)
              .where(conditions::input_present("referral")))
    .change(changes::set_attribute("last_seen", value_source::now())
              .where(conditions::negate(conditions::changing("last_seen"))))
    .manage_relationship("notes", "notes",
                         {.mode = manage_mode::create});
  r.create("upsert")
    .accept(writable)
    .upsert("unique_email")
    .validate(validations::present("email"));
  r.update("update")
    .accept(writable)
    .argument("bump", types::integer())
    .argument("notes", types::array(types::map()))
    .validate(validations::one_of("name", {json::value(nullptr), "a", "b",
                                           "Ann", "Bob", "base"})
                .where(conditions::attribute_equals("active", false)))
    .validate(validations::absent("bump")
                .where(conditions::attribute_present("external_ref")))
    .change(changes::increment("visits", 5)
              .where(conditions::argument_present("bump")))
    .manage_relationship("notes", "notes",
                         {.mode = manage_mode::direct_control});
  r.update("rename")
    .argument("new_name", types::string(), {.required = true})
    .argument("reason", types::ci_string())
    .change(changes::set_from_argument("name", "new_name"))
    .validate(validations::string_length("new_name", 2, 40));
  r.destroy("archive")
    .soft()
    .change(changes::set_attribute("active", false));
  r.destroy("destroy");
}

void add_note(app& a) {
  auto& r = a.add(resource{"Shop.Note"});
  r.primary_key("id", key_kind::uuid_v7)
    .attribute("body", types::string(), {.allow_nil = false})
    .attribute("rating", types::integer())
    .attribute("labels", types::array(types::ci_string()))
    .attribute("written_at", types::utc_datetime(),
               {.default_value = value_source::now()})
    .belongs_to("customer", "Shop.Customer");
  r.events("events");
  r.create("create")
    .accept({"body", "rating", "labels", "customer_id", "written_at"})
    .validate(validations::numeric_range("rating", 1, 5));
  r.update("update").accept({"body", "rating", "labels"});
  r.destroy("destroy");
}

void add_order(app& a) {
  auto& r = a.add(resource{"Shop.Order"});
  r.primary_key("id", key_kind::integer)
    .attribute("customer_ref", types::uuid())
    .attribute("total", types::floating(), {.allow_nil = false,
                                            .default_value = 0.0})
    .attribute("items",
               types::array(types::object({{"sku", types::string(), false},
                                           {"qty", types::integer(), false},
                                           {"price", types::floating()},
                                           {"options", types::map()}})))
    .attribute("status", types::string(), {.default_value = "new"})
    .attribute("placed_at", types::utc_datetime(),
               {.default_value = value_source::now()})
    .attribute("due", types::date())
    .attribute("paid", types::boolean())
    .attribute("meta", types::map())
    .attribute("lines", types::array(types::map()))
    .attribute("sequence", types::integer())
    .identity("unique_sequence", {"sequence"});
  r.events("events_v7").update_timestamp("placed_at");
  r.create("create")
    .accept({"customer_ref", "total", "items", "status", "placed_at", "due",
             "paid", "meta", "lines", "sequence"})
    .argument("coupon", types::ci_string())
    .argument("discount", types::floating(), {.default_value = 0.0})
    .validate(validations::numeric_range("total", 0, 1e9))
    .validate(validations::one_of("status", {"new", "paid", "shipped"}));
  r.update("update")
    .accept({"total", "items", "due", "paid", "meta", "lines"})
    .change(changes::increment("sequence", 1)
              .where(conditions::changing("items")));
  r.update("set_status")
    .argument("status", types::string(), {.required = true})
    .argument("at", types::utc_datetime())
    .validate(validations::one_of("status",
                                  {"new", "paid", "shipped", "cancelled"}))
    .change(changes::set_from_argument("status", "status"))
    .change(changes::set_from_argument("placed_at", "at"));
  r.destroy("destroy");
}

void add_tag(app& a) {
  auto& r = a.add(resource{"Shop.Tag"});
  r.primary_key("code", key_kind::string)
    .attribute("label", types::ci_string())
    .attribute("color", types::string(), {.default_value = "grey"})
    .attribute("weight", types::floating())
    .attribute("synonyms", types::array(types::string()))
    .identity("unique_label", {"label"});
  r.events("events_str");
  r.create("create")
    .accept({"code", "label", "color", "weight", "synonyms"})
    .validate(validations::match("code", "^[a-z0-9-]{1,32}$"))
    .validate(validations::string_length("label", 0, 64));
  r.update("update").accept({"label", "color", "weight", "synonyms"});
  r.destroy("destroy");
}

std::string make_scratch_dir() {
  auto base = std::filesystem::temp_directory_path();
  std::string pattern = (base / "eventactors-fuzz-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  return pattern;
}

void remove_scratch() {
  std::error_code ec;
  std::filesystem::remove_all(scratch_dir(), ec);
}

} // namespace

const action_ref fuzz_actions[] = {
  {"Shop.Customer", "create", false}, {"Shop.Customer", "upsert", false},
  {"Shop.Customer", "update", true},  {"Shop.Customer", "rename", true},
  {"Shop.Customer", "archive", true}, {"Shop.Customer", "destroy", true},
  {"Shop.Note", "create", false},     {"Shop.Note", "update", true},
  {"Shop.Order", "create", false},    {"Shop.Order", "update", true},
  {"Shop.Order", "set_status", true}, {"Shop.Order", "destroy", true},
  {"Shop.Tag", "create", false},      {"Shop.Tag", "update", true},
  {"Shop.Tag", "destroy", true},      {"Shop.Customer", "nope", false},
};

const size_t num_actions = std::size(fuzz_actions);

app make_app() {
  app a;
  add_logs(a);
  add_customer(a);
  add_note(a);
  add_order(a);
  add_tag(a);
  return a;
}

json::object base_input(std::string_view resource, uint64_t n) {
  auto num = std::to_string(n);
  json::object in;
  if (resource == "Shop.Customer") {
    in["email"] = "base-" + num + "@example.org";
    in["name"] = "base";
    in["address"] = json::object{{"street", "Main St 1"}, {"zip", 1234}};
    in["tags"] = json::array{"a", "b"};
  } else if (resource == "Shop.Note") {
    in["body"] = "base note " + num;
    in["rating"] = 3;
  } else if (resource == "Shop.Order") {
    in["total"] = 10.5;
    in["items"] = json::array{json::object{{"sku", "x-1"}, {"qty", 2}}};
  } else if (resource == "Shop.Tag") {
    in["code"] = "base-" + num;
  }
  return in;
}

const std::string& scratch_dir() {
  // Never destroyed: remove_scratch runs at exit and reads it, after the
  // destructors of function-local statics made before it was registered.
  static const std::string& dir = *[] {
    auto result = new std::string{make_scratch_dir()};
    std::atexit(remove_scratch);
    return result;
  }();
  return dir;
}

std::string scratch_file(std::string_view stem) {
  static uint64_t counter = 0;
  return scratch_dir() + "/" + std::string{stem} + "-"
         + std::to_string(++counter) + ".db";
}

void remove_db(const std::string& path) {
  std::error_code ec;
  for (auto suffix : {"", "-wal", "-shm", "-journal"})
    std::filesystem::remove(path + suffix, ec);
}

runtime_options fuzz_options(std::string path) {
  runtime_options opts;
  opts.path = std::move(path);
  opts.synchronous = sync_mode::normal;
  opts.call_timeout = std::chrono::milliseconds{
    env_number("EVENTACTORS_FUZZ_CALL_TIMEOUT_MS", 20'000)};
  // Large enough for values that once broke matching (a 40 KB email
  // overflowed std::regex's stack); scripts/fuzz.sh's -max_len covers it.
  opts.max_input_bytes = 64 * 1024;
  opts.cache_kib = 2048;
  opts.threads = 2;
  return opts;
}

std::unique_ptr<runtime> start_or_die(const std::string& path,
                                      runtime_options opts) {
  opts.path = path;
  auto rt = runtime::start(make_app(), std::move(opts));
  if (!rt) {
    std::fprintf(stderr, "fuzz: cannot start the runtime on %s: %s\n",
                 path.c_str(), render(rt.error()).c_str());
    std::abort();
  }
  return std::move(*rt);
}

void finding(const std::string& what) {
  std::fprintf(stderr, "\n==FINDING== %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

bool same_json(const json::value& x, const json::value& y) {
  auto num = [](const json::value& v, double& out) {
    if (v.is_double())
      out = v.get_double();
    else if (v.is_int64())
      out = static_cast<double>(v.get_int64());
    else if (v.is_uint64())
      out = static_cast<double>(v.get_uint64());
    else
      return false;
    return true;
  };
  if (x.is_double() || y.is_double()) {
    double a = 0;
    double b = 0;
    if (!num(x, a) || !num(y, b))
      return false;
    if (a == b)
      return true;
    auto scale = std::max(std::fabs(a), std::fabs(b));
    return std::fabs(a - b)
           <= scale * 8 * std::numeric_limits<double>::epsilon();
  }
  if (x.kind() != y.kind()) {
    // 5 and 5u are the same number.
    if ((x.is_int64() || x.is_uint64()) && (y.is_int64() || y.is_uint64()))
      return x == y;
    return false;
  }
  switch (x.kind()) {
    case json::kind::array: {
      auto& xs = x.get_array();
      auto& ys = y.get_array();
      if (xs.size() != ys.size())
        return false;
      for (size_t i = 0; i < xs.size(); ++i)
        if (!same_json(xs[i], ys[i]))
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
        if (!other || !same_json(kvp.value(), *other))
          return false;
      }
      return true;
    }
    default:
      return x == y;
  }
}

std::string describe(const caf::error& err) {
  return render(err);
}

bool is_timeout(const caf::error& err) {
  return is(err, errc::timeout);
}

uint64_t env_number(const char* name, uint64_t fallback) {
  if (auto str = std::getenv(name); str && *str)
    return std::strtoull(str, nullptr, 10);
  return fallback;
}

} // namespace eventactors::fuzz
