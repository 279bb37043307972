// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "storage/sealing.hpp"

#include <boost/json/serialize.hpp>

namespace eventactors {

namespace {

/// Appends `text` length-prefixed: no two sequences of fields give the same
/// context.
void put_field(std::string& ctx, std::string_view text) {
  ctx += std::to_string(text.size());
  ctx += ':';
  ctx += text;
  ctx += '|';
}

/// Appends a key as its column stores it (an integer key in a text column
/// reads back as a string); null as `~`.
void put_key(std::string& ctx, const json::value* key) {
  if (!key || key->is_null())
    ctx += "~|";
  else if (key->is_string())
    put_field(ctx, key->get_string());
  else
    put_field(ctx, json::serialize(*key));
}

} // namespace

std::string sealing_context(const event_log& log, const json::value& event_id,
                            std::string_view field, const sealed_fields& ev) {
  std::string ctx{"eventactors/2|"};
  put_field(ctx, log.name());
  put_key(ctx, &event_id);
  put_field(ctx, field);
  put_field(ctx, ev.resource);
  put_key(ctx, &ev.record_id);
  put_field(ctx, ev.action);
  put_field(ctx, ev.action_type);
  for (auto& col : log.actor_columns()) {
    put_field(ctx, col.name);
    put_key(ctx, ev.actors.if_contains(col.name));
  }
  put_field(ctx, std::to_string(ev.version));
  put_field(ctx, ev.occurred_at);
  put_field(ctx, ev.key_id);
  return ctx;
}

} // namespace eventactors
