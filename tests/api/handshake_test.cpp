// Full handshakes in memory: both versions, every default suite and group,
// ECDSA and RSA certificates, HelloRetryRequest.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <string>

#include "support/fixtures.h"
#include "support/pair.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

Pair make_pair(const Config& client_config, const Config& server_config,
               const char* name = "localhost") {
  auto client = Connection::client(client_config, name);
  REQUIRE(client);
  auto server = Connection::server(server_config);
  REQUIRE(server);
  return Pair(std::move(client).value(), std::move(server).value());
}

}  // namespace

TEST_CASE("TLS 1.3 and TLS 1.2 handshakes report what was negotiated", "[handshake]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  Config client_config = build_or_fail(client_builder(sources).versions(version, version));
  Config server_config = build_or_fail(server_builder(sources));
  Pair pair = make_pair(client_config, server_config);

  REQUIRE(pair.handshake());
  for (Endpoint* side : {&pair.client, &pair.server}) {
    const ConnectionInfo& info = side->conn.info();
    CHECK(info.version == version);
    CHECK(std::string(info.protocol) == (version == TlsVersion::tls1_3 ? "TLSv1.3" : "TLSv1.2"));
    CHECK(std::string(info.group) == "X25519");
    CHECK_FALSE(info.session_reused);
    CHECK(side->has_event(EventKind::handshake_complete));
  }
  CHECK(pair.client.conn.info().cipher.id == pair.server.conn.info().cipher.id);
  const std::string expected_suite = version == TlsVersion::tls1_3
                                         ? "TLS_AES_128_GCM_SHA256"
                                         : "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
  CHECK(std::string(pair.client.conn.info().cipher.standard_name) == expected_suite);
  if (version == TlsVersion::tls1_2) {
    CHECK(std::string(pair.client.conn.info().cipher.name) == "ECDHE-ECDSA-AES128-GCM-SHA256");
  }
  // The client verified the server's chain and name; the server sees its SNI.
  const ConnectionInfo& client_info = pair.client.conn.info();
  CHECK(client_info.authorized);
  CHECK(client_info.authorization_error.ok());
  REQUIRE(client_info.peer_certificates.size() == 2);
  CHECK(client_info.peer_certificates[0].subject == "CN=localhost, O=sanstls test");
  CHECK(client_info.peer_certificates[0].subjectaltname ==
        "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
  CHECK(client_info.peer_certificates[0].valid_from == "Jan  1 00:00:00 2020 GMT");
  CHECK(client_info.peer_certificates[0].fingerprint256.size() == 32 * 3 - 1);
  CHECK(client_info.peer_certificates[0].der ==
        std::vector<uint8_t>(pki().ecdsa_leaf.certificate_der.begin(),
                             pki().ecdsa_leaf.certificate_der.end()));
  CHECK(pair.server.conn.info().server_name == "localhost");
  CHECK(pair.server.conn.info().peer_certificates.empty());
}

TEST_CASE("every default cipher suite negotiates with ECDSA and RSA certificates",
          "[handshake][suites]") {
  struct Case {
    const char* suite;
    TlsVersion version;
    bool rsa;
  };
  const Case c = GENERATE(values<Case>({
      {"TLS_AES_128_GCM_SHA256", TlsVersion::tls1_3, false},
      {"TLS_AES_256_GCM_SHA384", TlsVersion::tls1_3, false},
      {"TLS_CHACHA20_POLY1305_SHA256", TlsVersion::tls1_3, false},
      {"TLS_AES_128_GCM_SHA256", TlsVersion::tls1_3, true},
      {"TLS_CHACHA20_POLY1305_SHA256", TlsVersion::tls1_3, true},
      {"ECDHE-ECDSA-AES128-GCM-SHA256", TlsVersion::tls1_2, false},
      {"ECDHE-ECDSA-AES256-GCM-SHA384", TlsVersion::tls1_2, false},
      {"ECDHE-ECDSA-CHACHA20-POLY1305", TlsVersion::tls1_2, false},
      {"ECDHE-RSA-AES128-GCM-SHA256", TlsVersion::tls1_2, true},
      {"ECDHE-RSA-AES256-GCM-SHA384", TlsVersion::tls1_2, true},
      {"ECDHE-RSA-CHACHA20-POLY1305", TlsVersion::tls1_2, true},
  }));
  CAPTURE(c.suite, c.rsa);
  Sources sources;
  Config client_config =
      build_or_fail(client_builder(sources).versions(c.version, c.version).cipher_suites(c.suite));
  // The RSA case offers only the RSA identity, so the RSA certificate is what gets used.
  ConfigBuilder server =
      ConfigBuilder(Role::server).random(sources.server_random).clock(sources.clock);
  if (c.rsa) {
    server.certificate(pki().rsa_leaf.certificate_pem, pki().rsa_leaf.key.private_key_pem);
  } else {
    server.certificate(ecdsa_chain_pem(), pki().ecdsa_leaf.key.private_key_pem);
  }
  Pair pair = make_pair(client_config, build_or_fail(server));
  REQUIRE(pair.handshake());
  const CipherSuiteInfo& cipher = pair.client.conn.info().cipher;
  CHECK((std::string(cipher.name) == c.suite || std::string(cipher.standard_name) == c.suite));
  CHECK(pair.client.conn.info().authorized);
  const std::string issuer = pair.client.conn.info().peer_certificates.at(0).issuer;
  CHECK(issuer == (c.rsa ? "CN=sanstls test root RSA, O=sanstls test"
                         : "CN=sanstls test intermediate, O=sanstls test"));
}

TEST_CASE("every default group is used for key exchange", "[handshake][groups]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  const std::string group =
      GENERATE(std::string("X25519"), std::string("P-256"), std::string("P-384"));
  CAPTURE(group);
  Sources sources;
  // In TLS 1.2 the client's group list also governs the curve of the server's
  // ECDSA certificate (RFC 8422 5.1), so P-256 stays on it, after `group`.
  const std::string groups =
      version == TlsVersion::tls1_2 && group != "P-256" ? group + ":P-256" : group;
  Config client_config =
      build_or_fail(client_builder(sources).versions(version, version).groups(groups));
  // mbedTLS's TLS 1.2 server follows its own group order; give it the same list.
  Config server_config = build_or_fail(server_builder(sources).groups(groups));
  Pair pair = make_pair(client_config, server_config);
  INFO(pair.client.conn.error().name()
       << " / " << pair.server.conn.error().name() << ": " << pair.server.conn.error().message());
  REQUIRE(pair.handshake());
  CHECK(pair.client.conn.info().group == group);
  CHECK(pair.server.conn.info().group == group);
}

TEST_CASE("HelloRetryRequest when the client's first key share is not acceptable",
          "[handshake][hrr]") {
  Sources sources;
  // The client sends an X25519 share first; the server only accepts P-256.
  Config client_config = build_or_fail(client_builder(sources)
                                           .versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
                                           .groups("X25519:P-256"));
  Config server_config = build_or_fail(server_builder(sources).groups("P-256"));
  Pair pair = make_pair(client_config, server_config);
  REQUIRE(pair.handshake());
  CHECK(std::string(pair.client.conn.info().group) == "P-256");
  CHECK(std::string(pair.server.conn.info().group) == "P-256");
  // Two ClientHellos travelled: the client's first flight is followed by a second hello.
  int client_hellos = 0;
  for (const RecordSummary& record : split_records(pair.client_to_server)) {
    if (record.type == 22) ++client_hellos;
  }
  CHECK(client_hellos == 2);
}

TEST_CASE("a server with RSA and ECDSA identities picks what the client supports", "[handshake]") {
  Sources sources;
  Config server_config = build_or_fail(server_builder(sources, /*with_rsa=*/true));
  Config rsa_only = build_or_fail(client_builder(sources)
                                      .versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
                                      .cipher_suites("ECDHE-RSA-AES128-GCM-SHA256"));
  Pair pair = make_pair(rsa_only, server_config);
  REQUIRE(pair.handshake());
  CHECK(pair.client.conn.info().peer_certificates.at(0).issuer ==
        "CN=sanstls test root RSA, O=sanstls test");
}

TEST_CASE("IP literals are verified against iPAddress names and not sent as SNI",
          "[handshake][sni]") {
  Sources sources;
  Config client_config = build_or_fail(client_builder(sources));
  Config server_config = build_or_fail(server_builder(sources));
  Pair pair = make_pair(client_config, server_config, "127.0.0.1");
  REQUIRE(pair.handshake());
  CHECK(pair.client.conn.info().authorized);
  CHECK(pair.server.conn.info().server_name.empty());

  Pair wrong_ip = make_pair(client_config, server_config, "10.1.2.3");
  wrong_ip.pump();
  CHECK(std::string(wrong_ip.client.conn.error().name()) == "ERR_TLS_CERT_ALTNAME_INVALID");
}
