// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// A cluster client (docs/nodes.md, "Cluster client").
//
// Two nodes serve two apps of a library: the books and the loans. The
// client connects to both at once and calls them through one `service&`:
// each call goes to the node that serves its resource, and requests about
// an event log go to the node that serves that log. The nodes run in this
// process to keep the example short; in production each is a process of
// its own (`eventactors serve`, examples/nodes).
//
// Usage: eventactors_example_cluster DIR   (DIR for the database files)

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "eventactors/all.hpp"
#include "eventactors/cluster.hpp"
#include "eventactors/node.hpp"

using namespace eventactors;

namespace {

app books_app() {
  app a;
  a.add(event_log{"book_events"}).record_id_type(record_id_kind::string);
  auto& b = a.add(resource{"Library.Book"});
  b.primary_key("isbn", key_kind::string)
    .attribute("title", types::string(), {.allow_nil = false})
    .attribute("copies", types::integer(), {.default_value = 0});
  b.events("book_events");
  b.create("add").accept({"isbn", "title", "copies"});
  b.update("lend")
    .change(changes::increment("copies", -1))
    .validate(validations::numeric_range("copies", 0, 1e9)
                .with_message("no copy left"));
  return a;
}

app loans_app() {
  app a;
  a.add(event_log{"loan_events"});
  auto& l = a.add(resource{"Library.Loan"});
  l.attribute("isbn", types::string(), {.allow_nil = false})
    .attribute("reader", types::string(), {.allow_nil = false});
  l.events("loan_events");
  l.create("open").accept({"isbn", "reader"});
  return a;
}

/// Written against `service&`: a runtime, a remote node or a cluster.
caf::expected<record> lend(service& library, const std::string& isbn,
                           const std::string& reader) {
  auto taken = library.run(call{"Library.Book", "lend", {},
                                json::string{isbn}});
  if (!taken)
    return taken;
  // Two nodes, two commits: not atomic across nodes (docs/nodes.md).
  return library.run("Library.Loan", "open",
                     {{"isbn", isbn}, {"reader", reader}});
}

int demo(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  for (auto name : {"books.db", "loans.db"})
    for (auto suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(dir / (std::string{name} + suffix));
  auto books_rt = runtime::start(books_app(),
                                 {.path = (dir / "books.db").string()});
  auto loans_rt = runtime::start(loans_app(),
                                 {.path = (dir / "loans.db").string()});
  if (!books_rt || !loans_rt) {
    std::cerr << "cannot start the runtimes\n";
    return 1;
  }
  auto books = node::start(**books_rt, {.plaintext = true, .name = "books"});
  auto loans = node::start(**loans_rt, {.plaintext = true, .name = "loans"});
  if (!books || !loans) {
    std::cerr << "cannot start the nodes\n";
    return 1;
  }
  std::vector<std::string> addresses{(*books)->address(),
                                     (*loans)->address()};
  // --(rst-cluster-begin)--
  std::vector<connect_options> nodes;
  for (auto& address : addresses) {
    connect_options co;
    if (auto err = parse_address(address, co)) {
      std::cerr << render(err) << '\n';
      return 1;
    }
    co.plaintext = true;
    nodes.push_back(co);
  }
  auto library = cluster::connect(nodes);
  if (!library) {
    std::cerr << render(library.error()) << '\n';
    return 1;
  }
  service& svc = **library;
  auto added = svc.run("Library.Book", "add", {{"isbn", "0-14-044913-8"},
                                               {"title", "Odyssey"},
                                               {"copies", 1}});
  for (auto reader : {"ada", "bob"}) {
    auto loan = lend(svc, "0-14-044913-8", reader);
    std::cout << "loan for " << reader << ": "
              << (loan ? "open" : render(loan.error())) << '\n';
  }
  // Requests about events name the log (or a resource) to be routed.
  auto loan_events = svc.events({.log = "loan_events"});
  auto unnamed = svc.stats();
  // --(rst-cluster-end)--
  if (!added || !loan_events || unnamed) {
    std::cerr << "unexpected answers\n";
    return 1;
  }
  std::cout << "loan events = " << loan_events->events.size() << '\n'
            << "stats without a log: " << render(unnamed.error()) << '\n';
  auto book = svc.get("Library.Book", json::string{"0-14-044913-8"});
  auto loans_made = svc.list("Library.Loan");
  if (!book || !loans_made)
    return 1;
  std::cout << "copies left = " << to_json_text(book->get("copies"))
            << "\nloans = " << loans_made->size() << '\n';
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  auto dir = argc > 1 ? std::filesystem::path{argv[1]}
                      : std::filesystem::temp_directory_path()
                          / "cluster-demo";
  return demo(dir);
}
