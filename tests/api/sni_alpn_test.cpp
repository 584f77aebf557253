// Server name indication (contexts, wildcards, strict mode, deferred
// selection) and ALPN (server preference, selector, no overlap).
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <optional>
#include <string>

#include "support/expect.h"
#include "support/fixtures.h"
#include "support/pair.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

// Leaf certificates for the SNI names, issued by the trusted ECDSA root.
struct SniCerts {
  testing::Identity a;     // a.example
  testing::Identity wild;  // *.wild.example
};

const SniCerts& sni_certs() {
  static const SniCerts certs = [] {
    testing::Pki maker(777);
    testing::CertificateSpec spec;
    spec.common_name = "a.example";
    spec.dns_names = {"a.example"};
    SniCerts c;
    c.a = *maker.issue(pki().ecdsa_root, spec);
    spec.common_name = "*.wild.example";
    spec.dns_names = {"*.wild.example"};
    c.wild = *maker.issue(pki().ecdsa_root, spec);
    return c;
  }();
  return certs;
}

Config context_for(Sources& sources, const testing::Identity& identity,
                   TlsVersion max = TlsVersion::tls1_3) {
  ConfigBuilder builder(Role::server);
  builder.random(sources.server_random).clock(sources.clock).versions(TlsVersion::tls1_2, max);
  builder.certificate(identity.certificate_pem, identity.key.private_key_pem);
  return build_or_fail(builder);
}

std::string issuer_cn_of_leaf(const Connection& conn) {
  return conn.info().peer_certificates.at(0).subject;
}

}  // namespace

TEST_CASE("SNI contexts: exact names, one-label wildcards, and the default", "[sni]") {
  Sources sources;
  ConfigBuilder server = server_builder(sources);
  server.sni_context("a.example", context_for(sources, sni_certs().a))
      .sni_context("*.wild.example", context_for(sources, sni_certs().wild));
  const Config server_config = build_or_fail(server);
  const Config client_config = build_or_fail(client_builder(sources));

  Pair exact = connect(client_config, server_config, "a.example");
  REQUIRE(exact.client.conn.wants().handshake_complete);
  CHECK(exact.client.conn.info().authorized);
  CHECK(issuer_cn_of_leaf(exact.client.conn) == "CN=a.example, O=sanstls test");
  CHECK(exact.server.conn.info().server_name == "a.example");

  Pair upper = connect(client_config, server_config, "A.Example");
  REQUIRE(upper.client.conn.wants().handshake_complete);
  CHECK(issuer_cn_of_leaf(upper.client.conn) == "CN=a.example, O=sanstls test");

  Pair wildcard = connect(client_config, server_config, "x.wild.example");
  REQUIRE(wildcard.client.conn.wants().handshake_complete);
  CHECK(wildcard.client.conn.info().authorized);
  CHECK(issuer_cn_of_leaf(wildcard.client.conn) == "CN=*.wild.example, O=sanstls test");

  // A wildcard covers one label only: this name falls back to the default,
  // whose certificate does not match it.
  Pair deeper = connect(client_config, server_config, "y.x.wild.example");
  expect_error(deeper.client.conn.error(), "ERR_TLS_CERT_ALTNAME_INVALID", Stage::certificate);

  Pair fallback = connect(client_config, server_config, "localhost");
  REQUIRE(fallback.client.conn.wants().handshake_complete);
  CHECK(issuer_cn_of_leaf(fallback.client.conn) == "CN=localhost, O=sanstls test");

  // IP literals send no SNI: the default serves them.
  Pair by_ip = connect(client_config, server_config, "127.0.0.1");
  REQUIRE(by_ip.client.conn.wants().handshake_complete);
  CHECK(by_ip.server.conn.info().server_name.empty());
}

TEST_CASE("strict SNI refuses unknown names with unrecognized_name", "[sni]") {
  Sources sources;
  ConfigBuilder server = server_builder(sources);
  server.sni_context("a.example", context_for(sources, sni_certs().a)).strict_sni();
  Pair pair = connect(build_or_fail(client_builder(sources)), build_or_fail(server), "localhost");
  expect_error(pair.server.conn.error(), "ERR_SSL_UNRECOGNIZED_NAME", Stage::handshake);
  expect_alert(pair.server.conn.error(), Alert::unrecognized_name, AlertDirection::sent);
  expect_alert(pair.client.conn.error(), Alert::unrecognized_name, AlertDirection::received);
}

TEST_CASE("an SNI context brings its own settings, not just a certificate", "[sni]") {
  Sources sources;
  ConfigBuilder server = server_builder(sources);
  server.sni_context("a.example", context_for(sources, sni_certs().a, TlsVersion::tls1_2));
  Pair pair = connect(build_or_fail(client_builder(sources)), build_or_fail(server), "a.example");
  REQUIRE(pair.client.conn.wants().handshake_complete);
  CHECK(pair.client.conn.info().version == TlsVersion::tls1_2);
}

TEST_CASE("an SNI selector may answer later; the handshake waits", "[sni][async]") {
  Sources sources;
  std::vector<std::string> asked;
  ConfigBuilder server = server_builder(sources);
  server.sni_selector([&](std::string_view name) {
    asked.emplace_back(name);
    return SniAnswer::later();
  });
  const Config server_config = build_or_fail(server);
  const Config a_context = context_for(sources, sni_certs().a);
  const Config client_config = build_or_fail(client_builder(sources));

  SECTION("provide a Config") {
    Pair pair = connect(client_config, server_config, "a.example");
    CHECK(asked == std::vector<std::string>{"a.example"});
    CHECK(pair.server.has_event(EventKind::server_name_requested));
    CHECK(pair.server.conn.wants().awaiting_config);
    CHECK_FALSE(pair.server.conn.wants().wants_input);
    CHECK_FALSE(pair.client.conn.wants().handshake_complete);
    CHECK(pair.server.conn.info().server_name == "a.example");
    // ...the application loads the certificate, then answers.
    REQUIRE(pair.server.conn.provide_config(a_context).ok());
    CHECK_FALSE(pair.server.conn.wants().awaiting_config);
    REQUIRE(pair.handshake());
    CHECK(issuer_cn_of_leaf(pair.client.conn) == "CN=a.example, O=sanstls test");
    // A second answer is a usage error.
    CHECK(pair.server.conn.provide_config(a_context).code() == ErrorCode::invalid_argument);
  }
  SECTION("refuse the name") {
    Pair pair = connect(client_config, server_config, "a.example");
    pair.server.conn.reject_server_name();
    pair.pump();
    expect_error(pair.server.conn.error(), "ERR_SSL_UNRECOGNIZED_NAME", Stage::handshake);
    expect_alert(pair.client.conn.error(), Alert::unrecognized_name, AlertDirection::received);
  }
}

TEST_CASE("an SNI selector answering at once", "[sni]") {
  Sources sources;
  const Config a_context = context_for(sources, sni_certs().a);
  ConfigBuilder server = server_builder(sources);
  server.sni_selector([&](std::string_view name) {
    if (name == "a.example") return SniAnswer::use(a_context);
    if (name == "blocked.example") return SniAnswer::reject();
    return SniAnswer::use_default();
  });
  const Config server_config = build_or_fail(server);
  const Config client_config = build_or_fail(client_builder(sources));
  Pair a = connect(client_config, server_config, "a.example");
  REQUIRE(a.client.conn.wants().handshake_complete);
  CHECK(issuer_cn_of_leaf(a.client.conn) == "CN=a.example, O=sanstls test");
  Pair blocked = connect(client_config, server_config, "blocked.example");
  expect_error(blocked.server.conn.error(), "ERR_SSL_UNRECOGNIZED_NAME", Stage::handshake);
  Pair other = connect(client_config, server_config, "localhost");
  CHECK(other.client.conn.wants().handshake_complete);
}

TEST_CASE("SNI settings are refused on clients, and bad patterns are refused", "[sni][config]") {
  Sources sources;
  const Config context = context_for(sources, sni_certs().a);
  auto client = client_builder(sources).sni_context("a.example", context).build();
  REQUIRE_FALSE(client);
  CHECK(client.error().code() == ErrorCode::invalid_argument);
  auto bad = server_builder(sources).sni_context("a.*.example", context).build();
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code() == ErrorCode::invalid_argument);
  auto not_server = server_builder(sources)
                        .sni_context("a.example", build_or_fail(client_builder(sources)))
                        .build();
  REQUIRE_FALSE(not_server);
}

TEST_CASE("ALPN: the server picks from its own list, in its own order", "[alpn]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  const Config client_config =
      build_or_fail(client_builder(sources).versions(version, version).alpn({"http/1.1", "h2"}));
  Pair pair = connect(client_config,
                      build_or_fail(server_builder(sources).alpn({"h2", "http/1.1"})), "localhost");
  REQUIRE(pair.client.conn.wants().handshake_complete);
  CHECK(pair.client.conn.info().alpn_protocol == "h2");
  CHECK(pair.server.conn.info().alpn_protocol == "h2");

  Pair none = connect(client_config, build_or_fail(server_builder(sources)), "localhost");
  REQUIRE(none.client.conn.wants().handshake_complete);
  CHECK(none.client.conn.info().alpn_protocol.empty());

  Pair disjoint =
      connect(client_config, build_or_fail(server_builder(sources).alpn({"imap"})), "localhost");
  expect_error(disjoint.server.conn.error(), "ERR_SSL_NO_APPLICATION_PROTOCOL", Stage::handshake);
  expect_alert(disjoint.server.conn.error(), Alert::no_application_protocol, AlertDirection::sent);
  expect_alert(disjoint.client.conn.error(), Alert::no_application_protocol,
               AlertDirection::received);
}

TEST_CASE("ALPN selector chooses, or refuses with no_application_protocol", "[alpn]") {
  Sources sources;
  const Config client_config =
      build_or_fail(client_builder(sources).alpn({"h2", "http/1.1", "x-custom"}));
  std::vector<std::string> offered;
  ConfigBuilder server = server_builder(sources);
  server.alpn_selector(
      [&](const std::vector<std::string>& protocols) -> std::optional<std::string> {
        offered = protocols;
        return protocols.back();
      });
  Pair pair = connect(client_config, build_or_fail(server), "localhost");
  REQUIRE(pair.client.conn.wants().handshake_complete);
  CHECK(offered == std::vector<std::string>{"h2", "http/1.1", "x-custom"});
  CHECK(pair.client.conn.info().alpn_protocol == "x-custom");
  CHECK(pair.server.conn.info().alpn_protocol == "x-custom");

  ConfigBuilder refusing = server_builder(sources);
  refusing.alpn_selector(
      [](const std::vector<std::string>&) { return std::optional<std::string>(); });
  Pair refused = connect(client_config, build_or_fail(refusing), "localhost");
  expect_error(refused.server.conn.error(), "ERR_SSL_NO_APPLICATION_PROTOCOL", Stage::handshake);
  expect_alert(refused.client.conn.error(), Alert::no_application_protocol,
               AlertDirection::received);
}

TEST_CASE("an ALPN selector answering a protocol the client never offered is an error", "[alpn]") {
  Sources sources;
  const Config client_config = build_or_fail(client_builder(sources).alpn({"h2", "http/1.1"}));
  ConfigBuilder server = server_builder(sources);
  server.alpn_selector(
      [](const std::vector<std::string>&) { return std::optional<std::string>("spdy/3"); });
  Pair pair = connect(client_config, build_or_fail(server), "localhost");
  CHECK_FALSE(pair.client.conn.wants().handshake_complete);
  expect_error(pair.server.conn.error(), "ERR_INVALID_ARG_VALUE", Stage::config);
  expect_alert(pair.server.conn.error(), Alert::internal_error, AlertDirection::sent);
  expect_alert(pair.client.conn.error(), Alert::internal_error, AlertDirection::received);
}

TEST_CASE("an ALPN selector answering \"\" declines: the handshake goes on without ALPN",
          "[alpn]") {
  Sources sources;
  const auto version = GENERATE(TlsVersion::tls1_2, TlsVersion::tls1_3);
  const Config client_config =
      build_or_fail(client_builder(sources).versions(version, version).alpn({"h2", "http/1.1"}));
  ConfigBuilder server = server_builder(sources);
  server.alpn_selector(
      [](const std::vector<std::string>&) { return std::optional<std::string>(""); });
  Pair pair = connect(client_config, build_or_fail(server), "localhost");
  INFO("server: " << pair.server.conn.error().name()
                  << ", client: " << pair.client.conn.error().name());
  REQUIRE(pair.client.conn.wants().handshake_complete);
  REQUIRE(pair.server.conn.wants().handshake_complete);
  CHECK(pair.client.conn.info().alpn_protocol.empty());
  CHECK(pair.server.conn.info().alpn_protocol.empty());
}
