// ConnectionInfo's handshake facts BoGo checks (scripts/bogo.sh maps them to
// bssl_shim's -expect-peer-signature-algorithm and -expect-hrr): the scheme
// the peer signed with, and whether a HelloRetryRequest happened.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/fixtures.h"
#include "support/pair.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

Pair pair_with(const Config& client_config, const Config& server_config,
               ByteView saved = ByteView()) {
  auto client = saved.empty() ? Connection::client(client_config, "localhost")
                              : Connection::client(client_config, "localhost", saved);
  REQUIRE(client);
  auto server = Connection::server(server_config);
  REQUIRE(server);
  return Pair(std::move(client).value(), std::move(server).value());
}

std::string name_of(const SignatureSchemeInfo& scheme) { return scheme.name; }

}  // namespace

TEST_CASE("info().peer_signature: the scheme of the server's signature", "[info][signature]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  SECTION("ECDSA P-256") {
    const Config client_config = build_or_fail(client_builder(sources).versions(version, version));
    const Config server_config = build_or_fail(server_builder(sources));
    Pair pair = pair_with(client_config, server_config);
    REQUIRE(pair.handshake());
    CHECK(pair.client.conn.info().peer_signature.id == 0x0403);
    CHECK(name_of(pair.client.conn.info().peer_signature) == "ecdsa_secp256r1_sha256");
    // No client certificate: the client signed nothing.
    CHECK(pair.server.conn.info().peer_signature.id == 0);
    CHECK(name_of(pair.server.conn.info().peer_signature).empty());
  }
  SECTION("RSA: RSA-PSS in TLS 1.3, PKCS#1 v1.5 in TLS 1.2") {
    // mbedTLS 3.6 signs no RSA-PSS in TLS 1.2 (docs/limitations.md).
    const bool tls13 = version == TlsVersion::tls1_3;
    const Config client_config = build_or_fail(
        client_builder(sources)
            .versions(version, version)
            .signature_algorithms(tls13 ? "rsa_pss_rsae_sha384" : "rsa_pkcs1_sha384"));
    ConfigBuilder server = server_builder(sources, true);
    if (version == TlsVersion::tls1_2) {
      server.versions(version, version).cipher_suites("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    }
    const Config server_config = build_or_fail(server);
    Pair pair = pair_with(client_config, server_config);
    REQUIRE(pair.handshake());
    CHECK(pair.client.conn.info().peer_signature.id == (tls13 ? 0x0805 : 0x0501));
    CHECK(name_of(pair.client.conn.info().peer_signature) ==
          (tls13 ? "rsa_pss_rsae_sha384" : "rsa_pkcs1_sha384"));
  }
}

TEST_CASE("info().peer_signature: a server sees its client's CertificateVerify (mTLS)",
          "[info][signature]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  const Config client_config = build_or_fail(
      client_builder(sources)
          .versions(version, version)
          .certificate(pki().client_leaf.certificate_pem, pki().client_leaf.key.private_key_pem));
  const Config server_config = build_or_fail(server_builder(sources)
                                                 .trust_anchors(trusted_roots_pem())
                                                 .peer_verification(PeerVerification::required));
  Pair pair = pair_with(client_config, server_config);
  REQUIRE(pair.handshake());
  CHECK(pair.server.conn.info().authorized);
  CHECK(pair.server.conn.info().peer_signature.id == 0x0403);
  CHECK(name_of(pair.server.conn.info().peer_signature) == "ecdsa_secp256r1_sha256");
  CHECK(pair.client.conn.info().peer_signature.id == 0x0403);
}

TEST_CASE("info().peer_signature is none on a resumption and with a PSK", "[info][signature]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  const Config client_config = build_or_fail(client_builder(sources).versions(version, version));
  const Config server_config = build_or_fail(server_builder(sources));
  Pair first = pair_with(client_config, server_config);
  REQUIRE(first.handshake());
  CHECK(first.client.conn.info().peer_signature.id == 0x0403);
  auto saved = first.client.conn.save_session();
  REQUIRE(saved);

  Pair second = pair_with(client_config, server_config, ByteView(saved.value()));
  REQUIRE(second.handshake());
  REQUIRE(second.client.conn.info().session_reused);
  CHECK(second.client.conn.info().peer_signature.id == 0);
  CHECK(name_of(second.client.conn.info().peer_signature).empty());
  CHECK(second.server.conn.info().peer_signature.id == 0);
}

TEST_CASE("info().peer_signature is none with an external PSK", "[info][signature]") {
  Sources sources;
  const std::string key = "0123456789abcdef0123456789abcdef";
  const Config client_config = build_or_fail(client_builder(sources)
                                                 .versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
                                                 .psk("id", ByteView(key)));
  const Config server_config = build_or_fail(server_builder(sources).psk_lookup(
      [key](std::string_view id) -> std::optional<std::vector<uint8_t>> {
        if (id != "id") return std::nullopt;
        return std::vector<uint8_t>(key.begin(), key.end());
      }));
  Pair pair = pair_with(client_config, server_config);
  REQUIRE(pair.handshake());
  REQUIRE(pair.client.conn.info().psk_identity == "id");
  CHECK(pair.client.conn.info().peer_signature.id == 0);
  CHECK(pair.server.conn.info().peer_signature.id == 0);
}

TEST_CASE("info().hello_retry_request: both sides say whether the server asked again",
          "[info][hrr]") {
  Sources sources;
  // The client's first key share is its first group; a server that only
  // takes the second one asks for it with a HelloRetryRequest.
  const Config client_config = build_or_fail(client_builder(sources)
                                                 .versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
                                                 .groups("X25519:P-256"));
  SECTION("a HelloRetryRequest") {
    const Config server_config = build_or_fail(server_builder(sources).groups("P-256"));
    Pair pair = pair_with(client_config, server_config);
    REQUIRE(pair.handshake());
    CHECK(std::string(pair.client.conn.info().group) == "P-256");
    CHECK(pair.client.conn.info().hello_retry_request);
    CHECK(pair.server.conn.info().hello_retry_request);
  }
  SECTION("none") {
    const Config server_config = build_or_fail(server_builder(sources));
    Pair pair = pair_with(client_config, server_config);
    REQUIRE(pair.handshake());
    CHECK_FALSE(pair.client.conn.info().hello_retry_request);
    CHECK_FALSE(pair.server.conn.info().hello_retry_request);
  }
}
