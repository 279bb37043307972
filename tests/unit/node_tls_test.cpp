// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Nodes over mutual TLS (issue 13, docs/nodes.md): certificates made at
// test time; refusals of peers without a valid certificate, and the node
// serving the others meanwhile.

#include <string>

#include <catch2/catch.hpp>

#include "eventactors/all.hpp"
#include "eventactors/node.hpp"
#include "eventactors/remote.hpp"
#include "support/certs.hpp"
#include "support/temp_dir.hpp"

using namespace eventactors;
using namespace eventactors::test;
using namespace std::chrono_literals;

namespace {

app kv_app() {
  app a;
  a.add(event_log{"events"}).record_id_type(record_id_kind::string);
  auto& r = a.add(resource{"Item"});
  r.primary_key("id", key_kind::string).attribute("v", types::string());
  r.events("events");
  r.create("create").accept({"id", "v"});
  return a;
}

tls_files files(const cert_files& own, const cert_files& ca) {
  return tls_files{own.cert, own.key, ca.cert};
}

struct tls_node {
  temp_dir dir;
  test_certs certs = make_test_certs(dir.path().string());
  std::unique_ptr<runtime> rt;
  std::unique_ptr<node> nd;

  tls_node() {
    auto started = runtime::start(kv_app(), {.path = dir.file("t.db")});
    REQUIRE(started);
    rt = std::move(*started);
    auto n = node::start(*rt, {.tls = files(certs.server, certs.ca)});
    REQUIRE(n);
    nd = std::move(*n);
  }

  caf::expected<std::unique_ptr<remote_node>> connect(const cert_files& own,
                                                      const cert_files& ca) {
    connect_options opts;
    opts.port = nd->port();
    opts.tls = files(own, ca);
    opts.call_timeout = 20s;
    return remote_node::connect(opts);
  }
};

} // namespace

TEST_CASE("a client with a certificate of the node's CA is served over TLS",
          "[node][tls]") {
  tls_node n;
  auto client = n.connect(n.certs.client, n.certs.ca);
  REQUIRE(client);
  auto made = (*client)->run("Item", "create", {{"id", "a"}, {"v", "x"}});
  REQUIRE(made);
  CHECK(n.rt->get("Item", json::string{"a"})->get("v") == json::value("x"));
  // A payload larger than one TLS record and one read.
  std::string big(300000, 'y');
  auto large = (*client)->run("Item", "create", {{"id", "b"}, {"v", big}});
  REQUIRE(large);
  CHECK((*client)->get("Item", json::string{"b"})->get("v")
        == json::value(big));
}

TEST_CASE("peers without a valid certificate are refused; the node serves "
          "the others", "[node][tls]") {
  tls_node n;
  auto good = n.connect(n.certs.client, n.certs.ca);
  REQUIRE(good);
  SECTION("self-signed") {
    auto x = n.connect(n.certs.self_signed, n.certs.ca);
    REQUIRE_FALSE(x);
    CHECK(is(x.error(), errc::tls_failed));
  }
  SECTION("of another CA") {
    auto x = n.connect(n.certs.other, n.certs.ca);
    REQUIRE_FALSE(x);
    CHECK(is(x.error(), errc::tls_failed));
  }
  SECTION("expired") {
    auto x = n.connect(n.certs.expired, n.certs.ca);
    REQUIRE_FALSE(x);
    CHECK(is(x.error(), errc::tls_failed));
  }
  SECTION("a client that does not trust the node's CA") {
    auto x = n.connect(n.certs.other, n.certs.other_ca);
    REQUIRE_FALSE(x);
    CHECK(is(x.error(), errc::tls_failed));
  }
  SECTION("plaintext against a TLS node") {
    connect_options opts;
    opts.port = n.nd->port();
    opts.plaintext = true;
    opts.call_timeout = 10s;
    auto x = remote_node::connect(opts);
    REQUIRE_FALSE(x);
  }
  // Nothing of the refused peers was written; the good client goes on.
  CHECK((*good)->run("Item", "create", {{"id", "after"}}));
  auto page = n.rt->events({});
  REQUIRE(page);
  CHECK(page->events.size() == 1);
}

TEST_CASE("TLS files that do not load are named", "[node][tls]") {
  temp_dir dir;
  auto certs = make_test_certs(dir.path().string());
  auto rt = runtime::start(kv_app(), {.path = dir.file("f.db")});
  REQUIRE(rt);
  auto missing = node::start(**rt, {.tls = tls_files{dir.file("nope.pem"),
                                                     certs.server.key,
                                                     certs.ca.cert}});
  REQUIRE_FALSE(missing);
  CHECK(is(missing.error(), errc::tls_failed));
  CHECK_THAT(message(missing.error()), Catch::Contains("nope.pem"));
  auto mismatch = node::start(**rt, {.tls = tls_files{certs.server.cert,
                                                      certs.client.key,
                                                      certs.ca.cert}});
  REQUIRE_FALSE(mismatch);
  CHECK(is(mismatch.error(), errc::tls_failed));
}
