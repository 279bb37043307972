// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <cstdint>

#include <caf/expected.hpp>

#include "eventactors/app.hpp"
#include "eventactors/json.hpp"

namespace eventactors {

/// The format version `describe` writes and the newest one
/// `app_from_description` reads.
constexpr int64_t description_format = 1;

/// Returns the app description of `a`: a JSON document (`"format": 1`)
/// of what a client of a node needs to know about its app without the app
/// file. It lists the event logs (id and record id types, the resources
/// writing to each, public fields, actor columns, whether encrypted) and
/// the resources (table, primary key, attributes with their types and
/// options, identities, relationships, and the actions with their kind,
/// accepted attributes, arguments, managed relationships, whether they are
/// tracked and their current version). Changes, validations, hooks, key
/// providers and what only the node's replay and migrations use are left
/// out. See docs/concepts.md, "The app description".
///
/// The definitions are described as the runtime runs them: the foreign
/// keys and relationship keys that `runtime::start` fills in are listed.
/// Deterministic: the same definitions give the same document, key for key
/// and in the same order, hence the same text when serialized.
json::object describe(const app& a);

/// Rebuilds an app from an app description: the same event logs,
/// resources, attributes, relationships and actions, without callbacks
/// (computed defaults produce null, encrypted logs have a key provider
/// that refuses every key). Such an app serves display and routing only:
/// `app::from_description()` is true and `runtime::start` refuses it with
/// an `errc::invalid_definition` error.
///
/// A document that is not a description, has a newer `format`, a value of
/// the wrong type, a missing key, more than 64 levels of nesting or more
/// than 1,000,000 values, or that describes definitions that do not pass
/// `app::validate`, gives an `errc::invalid_input` error naming the JSON
/// path of the first problem (every problem found is in its field errors),
/// e.g. `resources[0].attributes[2].type: unknown type "strin"`. Keys this
/// version does not know are ignored, so that a newer node can add
/// information old clients do not need; a change old clients would
/// misread raises `format`.
caf::expected<app> app_from_description(const json::object& doc);

} // namespace eventactors
