// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "write/idempotency.hpp"

#include <algorithm>

#include <caf/atom.hpp>

#include "base/crypto.hpp"
#include "base/json_text.hpp"
#include "eventactors/error.hpp"

namespace eventactors::idempotency {

namespace {

/// Appends `x` with the keys of every object sorted: two requests that
/// differ only in the order of their keys are the same request.
void canonical(std::string& out, const json::value& x) {
  if (auto obj = x.if_object()) {
    std::vector<const json::key_value_pair*> kvs;
    kvs.reserve(obj->size());
    for (auto& kv : *obj)
      kvs.push_back(&kv);
    std::sort(kvs.begin(), kvs.end(), [](auto* a, auto* b) {
      return a->key() < b->key();
    });
    out += '{';
    for (size_t i = 0; i < kvs.size(); ++i) {
      if (i > 0)
        out += ',';
      json_io::write(out, json::value(json::string(kvs[i]->key())));
      out += ':';
      canonical(out, kvs[i]->value());
    }
    out += '}';
    return;
  }
  if (auto arr = x.if_array()) {
    out += '[';
    for (size_t i = 0; i < arr->size(); ++i) {
      if (i > 0)
        out += ',';
      canonical(out, (*arr)[i]);
    }
    out += ']';
    return;
  }
  json_io::write(out, x);
}

json::value actor_value(const std::optional<actor>& who) {
  if (!who)
    return json::value(nullptr);
  json::array pair;
  pair.emplace_back(json::string{who->type});
  pair.emplace_back(who->id);
  return json::value(std::move(pair));
}

std::string hash_of(const json::array& request) {
  std::string text;
  canonical(text, json::value(request));
  return crypto::sha256_hex(text);
}

json::object record_json(const record& rec, std::optional<std::size_t> op) {
  json::object obj;
  obj["resource"] = rec.resource;
  obj["id"] = rec.id;
  obj["values"] = rec.values;
  if (op)
    obj["op"] = static_cast<uint64_t>(*op);
  else
    obj["op"] = nullptr;
  return obj;
}

json::object error_json(const caf::error& err) {
  json::object obj;
  if (err.category() != caf::atom("evact")) {
    // Not ours (none reach batch results in practice): kept as its text.
    obj["code"] = static_cast<int>(errc::storage_failure);
    obj["message"] = render(err);
    obj["fields"] = json::array{};
    return obj;
  }
  obj["code"] = static_cast<int>(err.code());
  obj["message"] = message(err);
  json::array fields;
  for (auto& f : field_errors(err)) {
    json::array pair;
    pair.emplace_back(json::string{f.field});
    pair.emplace_back(json::string{f.message});
    fields.emplace_back(std::move(pair));
  }
  obj["fields"] = std::move(fields);
  return obj;
}

caf::error malformed(const idempotency_entry& e) {
  return make_error(errc::storage_failure,
                    "idempotency key \"" + e.key
                      + "\": the stored result is malformed");
}

/// Reads a stored record and stamps it with the event id of its op.
bool read_record(const idempotency_entry& e, const json::value& x,
                 record& out) {
  auto obj = x.if_object();
  if (!obj)
    return false;
  auto res = obj->if_contains("resource");
  auto id = obj->if_contains("id");
  auto values = obj->if_contains("values");
  auto op = obj->if_contains("op");
  if (!res || !res->is_string() || !id || !values || !values->is_object()
      || !op)
    return false;
  out.resource = std::string{res->get_string()};
  out.id = *id;
  out.values = values->get_object();
  out.event_id = nullptr;
  if (auto n = op->if_uint64(); n && *n < e.event_ids.size())
    out.event_id = e.event_ids[*n];
  else if (auto m = op->if_int64(); m && *m >= 0
                                    && static_cast<uint64_t>(*m)
                                         < e.event_ids.size())
    out.event_id = e.event_ids[static_cast<size_t>(*m)];
  return true;
}

bool read_error(const json::value& x, caf::error& out) {
  auto obj = x.if_object();
  if (!obj)
    return false;
  auto code = obj->if_contains("code");
  auto msg = obj->if_contains("message");
  auto fields = obj->if_contains("fields");
  if (!code || !code->is_int64() || !msg || !msg->is_string() || !fields
      || !fields->is_array())
    return false;
  std::vector<field_error> fs;
  for (auto& f : fields->get_array()) {
    auto pair = f.if_array();
    if (!pair || pair->size() != 2 || !(*pair)[0].is_string()
        || !(*pair)[1].is_string())
      return false;
    fs.push_back({std::string{(*pair)[0].get_string()},
                  std::string{(*pair)[1].get_string()}});
  }
  auto c = static_cast<errc>(code->get_int64());
  std::string text{msg->get_string()};
  out = fs.empty() ? make_error(c, std::move(text))
                   : make_error(c, std::move(text), std::move(fs));
  return true;
}

caf::expected<json::object> parse_result(const idempotency_entry& e) {
  json::value v;
  if (json_io::parse_stored(e.result, v) || !v.is_object())
    return malformed(e);
  return std::move(v.get_object());
}

} // namespace

caf::error check_key(const std::string& key, const std::string& where) {
  std::string why;
  if (key.empty())
    why = "must not be empty";
  else if (key.size() > max_key_bytes)
    why = "must be at most " + std::to_string(max_key_bytes)
          + " bytes, got " + std::to_string(key.size());
  else if (!std::all_of(key.begin(), key.end(), [](char c) {
             return c >= 0x20 && c <= 0x7e;
           }))
    why = "must be printable ASCII (characters 0x20 to 0x7e)";
  if (why.empty())
    return {};
  return make_error(errc::invalid_input,
                    where + ": idempotency_key: " + why,
                    {field_error{"idempotency_key", why}});
}

caf::expected<idempotency_claim> claim(const call& c) {
  if (auto err = check_key(*c.idempotency_key, c.resource + "." + c.action))
    return err;
  idempotency_claim k;
  k.key = *c.idempotency_key;
  k.hash = request_hash(c);
  k.turn = turn_key(k.key);
  return k;
}

caf::expected<idempotency_claim> claim(const batch_call& c) {
  if (auto err = check_key(*c.idempotency_key, c.resource + "." + c.action))
    return err;
  idempotency_claim k;
  k.key = *c.idempotency_key;
  k.hash = request_hash(c);
  k.turn = turn_key(k.key);
  return k;
}

std::string turn_key(std::string_view key) {
  // Record turn keys start with a resource name, never with a separator.
  std::string result{"\x1fidempotency\x1f"};
  result += key;
  return result;
}

std::string request_hash(const call& c) {
  json::array request;
  request.emplace_back("call");
  request.emplace_back(json::string{c.resource});
  request.emplace_back(json::string{c.action});
  request.emplace_back(c.record_id);
  request.emplace_back(c.input);
  request.emplace_back(actor_value(c.actor));
  return hash_of(request);
}

std::string request_hash(const batch_call& c) {
  json::array items;
  items.reserve(c.items.size());
  for (auto& item : c.items) {
    json::array pair;
    pair.emplace_back(item.record_id);
    pair.emplace_back(item.input);
    items.emplace_back(std::move(pair));
  }
  json::array request;
  request.emplace_back("batch");
  request.emplace_back(json::string{c.resource});
  request.emplace_back(json::string{c.action});
  request.emplace_back(c.atomic);
  request.emplace_back(std::move(items));
  request.emplace_back(actor_value(c.actor));
  return hash_of(request);
}

std::string encode(const record& rec, std::optional<std::size_t> op) {
  json::object obj;
  obj["record"] = record_json(rec, op);
  std::string out;
  json_io::write(out, json::value(std::move(obj)));
  return out;
}

std::string encode(const std::vector<stored_item>& items) {
  json::array arr;
  arr.reserve(items.size());
  for (auto& item : items) {
    json::object obj;
    if (item.rec)
      obj["record"] = record_json(*item.rec, item.op);
    else
      obj["error"] = error_json(item.err);
    arr.push_back(std::move(obj));
  }
  json::object obj;
  obj["items"] = std::move(arr);
  std::string out;
  json_io::write(out, json::value(std::move(obj)));
  return out;
}

caf::expected<record> decode_record(const idempotency_entry& e) {
  auto obj = parse_result(e);
  if (!obj)
    return std::move(obj.error());
  auto rec = obj->if_contains("record");
  record out;
  if (!rec || !read_record(e, *rec, out))
    return make_error(errc::conflict,
                      "idempotency key \"" + e.key
                        + "\" was used for a batch, not for a single call");
  return out;
}

caf::expected<batch_result> decode_batch(const idempotency_entry& e) {
  auto obj = parse_result(e);
  if (!obj)
    return std::move(obj.error());
  auto items = obj->if_contains("items");
  if (!items || !items->is_array())
    return make_error(errc::conflict,
                      "idempotency key \"" + e.key
                        + "\" was used for a single call, not for a batch");
  batch_result out;
  auto& arr = items->get_array();
  out.records.resize(arr.size());
  out.errors.resize(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    auto item = arr[i].if_object();
    if (!item)
      return malformed(e);
    if (auto rec = item->if_contains("record")) {
      if (!read_record(e, *rec, out.records[i]))
        return malformed(e);
    } else if (auto err = item->if_contains("error")) {
      if (!read_error(*err, out.errors[i]))
        return malformed(e);
    } else {
      return malformed(e);
    }
  }
  return out;
}

} // namespace eventactors::idempotency
