// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/changeset.hpp"

#include "eventactors/resource.hpp"

namespace eventactors {

namespace {

const json::value& null_value() {
  static const json::value null;
  return null;
}

/// Returns a condition holding where `first` (if set) and `second` hold.
condition both(condition first, condition second) {
  if (!first)
    return second;
  return [first = std::move(first),
          second = std::move(second)](const changeset& cs) {
    return first(cs) && second(cs);
  };
}

} // namespace

std::string to_string(action_kind x) {
  switch (x) {
    case action_kind::create:
      return "create";
    case action_kind::update:
      return "update";
    case action_kind::destroy:
      return "destroy";
  }
  return "unknown";
}

hook_context::~hook_context() {
  // nop
}

// -- change -------------------------------------------------------------------

change::change(std::string name, function_type fn)
  : name_(std::move(name)), fn_(std::move(fn)) {
  // nop
}

change change::where(condition cond) const {
  auto result = *this;
  result.where_ = both(where_, std::move(cond));
  return result;
}

change change::renamed(std::string name) const {
  auto result = *this;
  result.name_ = std::move(name);
  return result;
}

void change::apply(changeset& cs) const {
  if (where_ && !where_(cs))
    return;
  cs.current_change(name_);
  if (fn_)
    fn_(cs);
  cs.current_change({});
}

// -- validation ---------------------------------------------------------------

validation::validation(std::string name, function_type fn)
  : name_(std::move(name)), fn_(std::move(fn)) {
  // nop
}

validation validation::with_message(std::string msg) const {
  auto result = *this;
  result.message_ = std::move(msg);
  return result;
}

validation validation::where(condition cond) const {
  auto result = *this;
  result.where_ = both(where_, std::move(cond));
  return result;
}

std::optional<field_error> validation::check(const changeset& cs) const {
  if (where_ && !where_(cs))
    return std::nullopt;
  if (!fn_)
    return std::nullopt;
  auto result = fn_(cs);
  if (result && message_)
    result->message = *message_;
  return result;
}

// -- changeset ----------------------------------------------------------------

changeset::changeset(const eventactors::resource& res,
                     const eventactors::action& act)
  : resource_(&res), action_(&act) {
  // nop
}

action_kind changeset::kind() const noexcept {
  return action_->kind();
}

const json::value& changeset::attribute(std::string_view name) const noexcept {
  if (auto ptr = changes_.if_contains(name))
    return *ptr;
  if (original_)
    if (auto ptr = original_->if_contains(name))
      return *ptr;
  return null_value();
}

bool changeset::changing(std::string_view name) const noexcept {
  return changes_.contains(name);
}

void changeset::set_attribute(std::string_view name, json::value value) {
  auto attr = resource_->find_attribute(name);
  if (!attr) {
    add_error(std::string{name}, "no such attribute on " + resource_->name());
    return;
  }
  json::value cast;
  if (auto err = attr->type.cast(value, cast)) {
    add_error(std::string{name}, *err);
    return;
  }
  changes_[name] = std::move(cast);
}

const json::value& changeset::argument(std::string_view name) const noexcept {
  if (auto ptr = arguments_.if_contains(name))
    return *ptr;
  return null_value();
}

bool changeset::has_argument(std::string_view name) const noexcept {
  auto ptr = arguments_.if_contains(name);
  return ptr && !ptr->is_null();
}

void changeset::add_error(std::string field, std::string message) {
  errors_.push_back(field_error{std::move(field), std::move(message)});
}

void changeset::before_action(before_hook fn) {
  hooks_.before_action.push_back({current_change_, std::move(fn)});
}

void changeset::after_action(after_action_hook fn) {
  hooks_.after_action.push_back({current_change_, std::move(fn)});
}

void changeset::around_action(around_hook fn) {
  hooks_.around_action.push_back({current_change_, std::move(fn)});
}

void changeset::before_transaction(before_hook fn) {
  hooks_.before_transaction.push_back({current_change_, std::move(fn)});
}

void changeset::after_transaction(after_transaction_hook fn) {
  hooks_.after_transaction.push_back({current_change_, std::move(fn)});
}

void changeset::around_transaction(around_hook fn) {
  hooks_.around_transaction.push_back({current_change_, std::move(fn)});
}

void changeset::init(environment env,
                     std::optional<eventactors::actor> who,
                     std::optional<json::object> original, json::object input,
                     json::object arguments) {
  env_ = std::move(env);
  actor_ = std::move(who);
  original_ = std::move(original);
  input_ = std::move(input);
  arguments_ = std::move(arguments);
}

void changeset::set_replay(json::object changed_attributes) {
  replaying_ = true;
  replay_changed_ = std::move(changed_attributes);
}

void changeset::put(std::string_view name, json::value value) {
  changes_[name] = std::move(value);
}

void changeset::erase(std::string_view name) {
  changes_.erase(name);
}

} // namespace eventactors
