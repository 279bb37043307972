// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// A C++ application with the eventactors command line over its own
// resources, like Django's manage.py: its definitions are compiled in (no
// --app needed), and its own named step is usable from JSON definitions
// too.
//
//   shopctl --db shop.db run Shop.Product create '{"name": "Tea"}'
//   shopctl --db shop.db list Shop.Product
//   shopctl --db shop.db events --format jsonl

#include <cctype>

#include "eventactors/all.hpp"
#include "eventactors/cli.hpp"

using namespace eventactors;

namespace {

// --(rst-step-begin)--
/// A change of our own: upper-cases an attribute.
change upper_case(std::string attribute) {
  return change{"upper_case(" + attribute + ")", [attribute](changeset& cs) {
                  auto& value = cs.attribute(attribute);
                  if (!value.is_string())
                    return;
                  std::string text{value.get_string()};
                  for (auto& c : text)
                    c = static_cast<char>(
                      std::toupper(static_cast<unsigned char>(c)));
                  cs.set_attribute(attribute, json::string{text});
                }};
}
// --(rst-step-end)--

app shop() {
  app a;
  a.add(event_log{"events"})
    .persist_actor_primary_key("system_actor", "SystemActor",
                               {.type = actor_key_kind::string});
  auto& p = a.add(resource{"Shop.Product"});
  p.attribute("name", types::string(), {.allow_nil = false})
    .attribute("sku", types::string())
    .attribute("stock", types::integer(), {.default_value = 0})
    .timestamps();
  p.events("events").create_timestamp("created_at");
  p.create("create")
    .accept({"name", "sku"})
    .change(upper_case("sku"))
    .validate(validations::string_length("name", 2, 80));
  p.update("restock").change(changes::increment("stock", 10));
  return a;
}

} // namespace

// --(rst-main-begin)--
int main(int argc, char** argv) {
  cli::options opts;
  opts.name = "shopctl";
  opts.definitions = shop();
  // `--app` files may use the step as {"change": "upper_case", ...}.
  opts.library = [](const std::filesystem::path& base_dir) {
    auto lib = json_library::builtins(base_dir);
    lib.add_change("upper_case", [](const json::object& spec)
                                   -> caf::expected<change> {
      auto attr = spec.if_contains("attribute");
      if (!attr || !attr->is_string())
        return make_error(errc::invalid_definition,
                          "attribute: expected a name");
      return upper_case(std::string{attr->get_string()});
    });
    return lib;
  };
  return cli::run(argc, argv, std::move(opts));
}
// --(rst-main-end)--
