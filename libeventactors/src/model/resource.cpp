// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/resource.hpp"

#include <algorithm>
#include <cctype>

namespace eventactors {

// -- value_source -------------------------------------------------------------

value_source::value_source(json::value constant)
  : constant_(std::move(constant)) {
  // nop
}

value_source::value_source(const char* constant)
  : constant_(json::string{constant}) {
  // nop
}

value_source::value_source(std::string constant)
  : constant_(json::string{constant}) {
  // nop
}

value_source::value_source(int constant) : constant_(int64_t{constant}) {
  // nop
}

value_source::value_source(int64_t constant) : constant_(constant) {
  // nop
}

value_source::value_source(double constant) : constant_(constant) {
  // nop
}

value_source::value_source(bool constant) : constant_(constant) {
  // nop
}

value_source::value_source(generator fn) : fn_(std::move(fn)) {
  // nop
}

value_source value_source::now() {
  return value_source{generator{[](const environment& env) -> json::value {
    return json::string{format_timestamp(env.clock())};
  }}};
}

value_source value_source::uuid_v4() {
  return value_source{generator{[](const environment& env) -> json::value {
    return json::string{env.uuid_v4()};
  }}};
}

value_source value_source::uuid_v7() {
  return value_source{generator{[](const environment& env) -> json::value {
    return json::string{env.uuid_v7()};
  }}};
}

json::value value_source::produce(const environment& env) const {
  if (fn_)
    return fn_(env);
  return constant_;
}

// -- enum names ---------------------------------------------------------------

std::string to_string(key_kind x) {
  switch (x) {
    case key_kind::uuid_v4:
      return "uuid_v4";
    case key_kind::uuid_v7:
      return "uuid_v7";
    case key_kind::integer:
      return "integer";
    case key_kind::string:
      return "string";
  }
  return "unknown";
}

std::string to_string(relationship_kind x) {
  switch (x) {
    case relationship_kind::belongs_to:
      return "belongs_to";
    case relationship_kind::has_one:
      return "has_one";
    case relationship_kind::has_many:
      return "has_many";
    case relationship_kind::many_to_many:
      return "many_to_many";
  }
  return "unknown";
}

std::string to_string(manage_mode x) {
  switch (x) {
    case manage_mode::create:
      return "create";
    case manage_mode::direct_control:
      return "direct_control";
    case manage_mode::append:
      return "append";
    case manage_mode::append_and_remove:
      return "append_and_remove";
  }
  return "unknown";
}

std::string to_string(replay_strategy x) {
  switch (x) {
    case replay_strategy::force_change:
      return "force_change";
    case replay_strategy::as_arguments:
      return "as_arguments";
  }
  return "unknown";
}

// -- action -------------------------------------------------------------------

action::action(std::string name, action_kind kind)
  : name_(std::move(name)), kind_(kind) {
  // nop
}

action& action::accept(std::vector<std::string> attributes) {
  for (auto& x : attributes)
    accept_.push_back(std::move(x));
  return *this;
}

action& action::argument(std::string name, attribute_type type,
                         argument_options opts) {
  arguments_.push_back(
    eventactors::argument{std::move(name), std::move(type), std::move(opts)});
  return *this;
}

action& action::change(eventactors::change c) {
  changes_.push_back(std::move(c));
  order_.push_back(false);
  return *this;
}

action& action::validate(eventactors::validation v) {
  validations_.push_back(std::move(v));
  order_.push_back(true);
  return *this;
}

std::vector<action::step> action::steps() const {
  std::vector<step> result;
  result.reserve(order_.size());
  size_t c = 0;
  size_t v = 0;
  for (auto is_validation : order_) {
    if (is_validation)
      result.push_back(step{nullptr, &validations_[v++]});
    else
      result.push_back(step{&changes_[c++], nullptr});
  }
  return result;
}

action& action::upsert(std::string identity) {
  upsert_identity_ = std::move(identity);
  return *this;
}

action& action::soft(bool value) {
  soft_ = value;
  return *this;
}

action& action::skip_unknown_inputs(bool value) {
  skip_unknown_ = value;
  return *this;
}

action& action::manage_relationship(std::string argument,
                                    std::string relationship,
                                    manage_options opts) {
  managed_.push_back(
    managed_relationship{std::move(argument), std::move(relationship),
                         std::move(opts)});
  return *this;
}

action& action::before_action(std::string name, before_hook fn) {
  return change(eventactors::change{
    std::move(name), [fn = std::move(fn)](changeset& cs) {
      cs.before_action(fn);
    }});
}

action& action::after_action(std::string name, after_action_hook fn) {
  return change(eventactors::change{
    std::move(name), [fn = std::move(fn)](changeset& cs) {
      cs.after_action(fn);
    }});
}

action& action::around_action(std::string name, around_hook fn) {
  return change(eventactors::change{
    std::move(name), [fn = std::move(fn)](changeset& cs) {
      cs.around_action(fn);
    }});
}

action& action::before_transaction(std::string name, before_hook fn) {
  return change(eventactors::change{
    std::move(name), [fn = std::move(fn)](changeset& cs) {
      cs.before_transaction(fn);
    }});
}

action& action::after_transaction(std::string name,
                                  after_transaction_hook fn) {
  return change(eventactors::change{
    std::move(name), [fn = std::move(fn)](changeset& cs) {
      cs.after_transaction(fn);
    }});
}

action& action::around_transaction(std::string name, around_hook fn) {
  return change(eventactors::change{
    std::move(name), [fn = std::move(fn)](changeset& cs) {
      cs.around_transaction(fn);
    }});
}

bool action::accepts(std::string_view attribute) const noexcept {
  return std::find(accept_.begin(), accept_.end(), attribute) != accept_.end();
}

const eventactors::argument*
action::find_argument(std::string_view name) const {
  for (auto& x : arguments_)
    if (x.name == name)
      return &x;
  return nullptr;
}

// -- events_config ------------------------------------------------------------

events_config::events_config(std::string event_log)
  : event_log_(std::move(event_log)) {
  // nop
}

events_config& events_config::only_actions(std::vector<std::string> names) {
  only_ = std::move(names);
  return *this;
}

events_config& events_config::ignore_actions(std::vector<std::string> names) {
  ignore_ = std::move(names);
  return *this;
}

events_config&
events_config::current_action_versions(std::map<std::string, int32_t> x) {
  for (auto& [k, v] : x)
    versions_[k] = v;
  return *this;
}

events_config& events_config::allowed_change_modules(
  std::map<std::string, std::vector<std::string>> x) {
  for (auto& [k, v] : x)
    allowed_changes_[k] = v;
  return *this;
}

events_config& events_config::create_timestamp(std::string attribute) {
  create_timestamp_ = std::move(attribute);
  return *this;
}

events_config& events_config::update_timestamp(std::string attribute) {
  update_timestamp_ = std::move(attribute);
  return *this;
}

events_config& events_config::replay_non_input_attribute_changes(
  std::map<std::string, replay_strategy> x) {
  for (auto& [k, v] : x)
    strategies_[k] = v;
  return *this;
}

bool events_config::tracks(std::string_view name) const {
  auto contains = [name](const std::vector<std::string>& xs) {
    return std::find(xs.begin(), xs.end(), name) != xs.end();
  };
  if (only_)
    return contains(*only_);
  if (ignore_)
    return !contains(*ignore_);
  return true;
}

int32_t events_config::version_of(std::string_view name) const {
  auto i = versions_.find(std::string{name});
  return i != versions_.end() ? i->second : 1;
}

replay_strategy events_config::strategy_of(std::string_view name) const {
  auto i = strategies_.find(std::string{name});
  return i != strategies_.end() ? i->second : replay_strategy::force_change;
}

// -- resource -----------------------------------------------------------------

namespace {

std::string default_table(std::string_view name) {
  std::string result;
  char prev = 0;
  for (auto c : name) {
    auto uc = static_cast<unsigned char>(c);
    if (std::isupper(uc)) {
      if (prev != 0 && (std::islower(static_cast<unsigned char>(prev))
                        || std::isdigit(static_cast<unsigned char>(prev))))
        result += '_';
      result += static_cast<char>(std::tolower(uc));
    } else if (std::isalnum(uc)) {
      result += c;
    } else if (!result.empty() && result.back() != '_') {
      result += '_';
    }
    prev = c;
  }
  return result;
}

} // namespace

resource::resource(std::string name)
  : name_(std::move(name)), table_(default_table(name_)) {
  attributes_.push_back(
    eventactors::attribute{"id", types::uuid(), {.allow_nil = false}});
}

resource& resource::primary_key(std::string name, key_kind kind,
                                bool writable) {
  auto type = kind == key_kind::integer  ? types::integer()
              : kind == key_kind::string ? types::string()
                                         : types::uuid();
  auto& pk = attributes_.front();
  pk.name = name;
  pk.type = std::move(type);
  pk.options.allow_nil = false;
  pk.options.writable = writable;
  primary_key_ = std::move(name);
  key_kind_ = kind;
  return *this;
}

resource& resource::attribute(std::string name, attribute_type type,
                              attribute_options opts) {
  attributes_.push_back(
    eventactors::attribute{std::move(name), std::move(type), std::move(opts)});
  return *this;
}

resource& resource::drop_attribute(std::string name) {
  dropped_attributes_.push_back(std::move(name));
  return *this;
}

resource& resource::timestamps(std::string created, std::string updated) {
  attribute(std::move(created), types::utc_datetime(),
            {.allow_nil = false, .default_value = value_source::now()});
  attribute(std::move(updated), types::utc_datetime(),
            {.allow_nil = false,
             .default_value = value_source::now(),
             .update_default = value_source::now()});
  return *this;
}

resource& resource::identity(std::string name,
                             std::vector<std::string> attributes) {
  identities_.push_back(
    eventactors::identity{std::move(name), std::move(attributes)});
  return *this;
}

resource& resource::relationship(relationship_kind kind, std::string name,
                                 std::string destination,
                                 relationship_options opts) {
  if (kind == relationship_kind::belongs_to && opts.source_attribute.empty())
    opts.source_attribute = name + "_id";
  relationships_.push_back(eventactors::relationship{
    std::move(name), kind, std::move(destination), std::move(opts)});
  return *this;
}

resource& resource::belongs_to(std::string name, std::string destination,
                               relationship_options opts) {
  return relationship(relationship_kind::belongs_to, std::move(name),
                      std::move(destination), std::move(opts));
}

resource& resource::has_one(std::string name, std::string destination,
                            relationship_options opts) {
  return relationship(relationship_kind::has_one, std::move(name),
                      std::move(destination), std::move(opts));
}

resource& resource::has_many(std::string name, std::string destination,
                             relationship_options opts) {
  return relationship(relationship_kind::has_many, std::move(name),
                      std::move(destination), std::move(opts));
}

resource& resource::many_to_many(std::string name, std::string destination,
                                 relationship_options opts) {
  return relationship(relationship_kind::many_to_many, std::move(name),
                      std::move(destination), std::move(opts));
}

resource& resource::change(eventactors::change c, std::vector<action_kind> on) {
  resource_changes_.emplace_back(std::move(c), std::move(on));
  return *this;
}

action& resource::create(std::string name) {
  return actions_.emplace_back(std::move(name), action_kind::create);
}

action& resource::update(std::string name) {
  return actions_.emplace_back(std::move(name), action_kind::update);
}

action& resource::destroy(std::string name) {
  return actions_.emplace_back(std::move(name), action_kind::destroy);
}

events_config& resource::events(std::string event_log) {
  events_.emplace(std::move(event_log));
  return *events_;
}

const eventactors::attribute*
resource::find_attribute(std::string_view name) const {
  for (auto& x : attributes_)
    if (x.name == name)
      return &x;
  return nullptr;
}

const eventactors::identity*
resource::find_identity(std::string_view name) const {
  for (auto& x : identities_)
    if (x.name == name)
      return &x;
  return nullptr;
}

const relationship* resource::find_relationship(std::string_view name) const {
  for (auto& x : relationships_)
    if (x.name == name)
      return &x;
  return nullptr;
}

const action* resource::find_action(std::string_view name) const {
  for (auto& x : actions_)
    if (x.name() == name)
      return &x;
  return nullptr;
}

resource& resource::table(std::string name) {
  table_ = std::move(name);
  return *this;
}

} // namespace eventactors
