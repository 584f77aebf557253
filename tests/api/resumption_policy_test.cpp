// A saved session is verified again under the resuming Config: a blob made
// under a weaker policy (no verification, other trust anchors, no pins) must
// never let a server that this Config would reject in. And pins are demands
// in every verification mode.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <string>

#include "support/expect.h"
#include "support/fixtures.h"
#include "support/pair.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

// A server for "localhost" whose certificate chains to a root nobody trusts:
// what a man in the middle presents.
Config impostor_server(Sources& sources) {
  ConfigBuilder builder(Role::server);
  builder.random(sources.server_random)
      .clock(sources.clock)
      .certificate(pki().other_leaf.certificate_pem, pki().other_leaf.key.private_key_pem);
  return build_or_fail(builder);
}

// Handshakes once and returns the client's saved session.
std::vector<uint8_t> session_from(const Config& client_config, const Config& server_config) {
  Pair first = connect(client_config, server_config);
  REQUIRE(first.handshake());
  auto saved = first.client.conn.save_session();
  REQUIRE(saved);
  return saved.value();
}

}  // namespace

TEST_CASE("a session saved without verification does not resume under a verifying Config",
          "[session][security]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  const Config server = impostor_server(sources);
  // The --insecure run: the impostor is accepted and its session saved.
  const Config insecure = build_or_fail(
      client_builder(sources).versions(version, version).peer_verification(PeerVerification::none));
  const std::vector<uint8_t> blob = session_from(insecure, server);

  // The same user without --insecure: the blob must not smuggle the impostor in.
  const Config verifying = build_or_fail(client_builder(sources).versions(version, version));
  auto resumed = Connection::client(verifying, "localhost", ByteView(blob));
  REQUIRE_FALSE(resumed);
  expect_error(resumed.error(), "ERR_TLS_SESSION_NOT_TRUSTED", Stage::certificate);
  CHECK(std::string(resumed.error().message()).find("UNABLE_TO_VERIFY_LEAF_SIGNATURE") !=
        std::string::npos);

  // The insecure Config itself may still resume it, and says it is not authorized.
  auto lenient = Connection::client(insecure, "localhost", ByteView(blob));
  REQUIRE(lenient);
  Pair pair(std::move(lenient).value(), std::move(Connection::server(server)).value());
  REQUIRE(pair.handshake());
  CHECK(pair.client.conn.info().session_reused);
  CHECK_FALSE(pair.client.conn.info().authorized);
  CHECK(std::string(pair.client.conn.info().authorization_error.name()) ==
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
}

TEST_CASE("a session saved without verification from an honest server resumes verified",
          "[session][security]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  const Config server = build_or_fail(server_builder(sources));
  const Config insecure = build_or_fail(
      client_builder(sources).versions(version, version).peer_verification(PeerVerification::none));
  const std::vector<uint8_t> blob = session_from(insecure, server);

  const Config verifying = build_or_fail(client_builder(sources).versions(version, version));
  auto client = Connection::client(verifying, "localhost", ByteView(blob));
  REQUIRE(client);
  Pair pair(std::move(client).value(), std::move(Connection::server(server)).value());
  REQUIRE(pair.handshake());
  CHECK(pair.client.conn.info().session_reused);
  // The verdict is this Config's, computed from the saved chain.
  CHECK(pair.client.conn.info().authorized);
  REQUIRE(pair.client.conn.info().peer_certificates.size() >= 2);
  const std::vector<uint8_t>& leaf = pair.client.conn.info().peer_certificates[0].der;
  CHECK(std::string(leaf.begin(), leaf.end()) == pki().ecdsa_leaf.certificate_der);
}

TEST_CASE("a resumed session is held to the resuming Config's anchors, pins and identity check",
          "[session][security]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  const Config server = build_or_fail(server_builder(sources));
  const std::vector<uint8_t> blob =
      session_from(build_or_fail(client_builder(sources).versions(version, version)), server);

  SECTION("other trust anchors") {
    ConfigBuilder builder(Role::client);
    builder.random(sources.client_random)
        .clock(sources.clock)
        .versions(version, version)
        .trust_anchors(pki().other_root.certificate_pem);
    auto client = Connection::client(build_or_fail(builder), "localhost", ByteView(blob));
    REQUIRE_FALSE(client);
    expect_error(client.error(), "ERR_TLS_SESSION_NOT_TRUSTED", Stage::certificate);
  }
  SECTION("a CRL that now revokes the server's leaf") {
    testing::Pki maker(4347);
    auto crl = maker.crl(pki().ecdsa_inter, {&pki().ecdsa_leaf});
    REQUIRE(crl);
    auto client = Connection::client(
        build_or_fail(client_builder(sources).versions(version, version).crl(*crl)), "localhost",
        ByteView(blob));
    REQUIRE_FALSE(client);
    expect_error(client.error(), "ERR_TLS_SESSION_NOT_TRUSTED", Stage::certificate);
    CHECK(std::string(client.error().message()).find("CERT_REVOKED") != std::string::npos);
  }
  SECTION("a pin the server's key does not match, even with optional verification") {
    auto client = Connection::client(
        build_or_fail(client_builder(sources)
                          .versions(version, version)
                          .peer_verification(PeerVerification::optional)
                          .pin_public_key(pin_of(pki().rsa_leaf.certificate_der))),
        "localhost", ByteView(blob));
    REQUIRE_FALSE(client);
    expect_error(client.error(), "ERR_TLS_SESSION_NOT_TRUSTED", Stage::certificate);
    CHECK(std::string(client.error().message()).find("ERR_TLS_PUBLIC_KEY_PIN_MISMATCH") !=
          std::string::npos);
  }
  SECTION("the matching pin resumes") {
    auto client = Connection::client(
        build_or_fail(client_builder(sources)
                          .versions(version, version)
                          .pin_public_key(pin_of(pki().ecdsa_leaf.certificate_der))),
        "localhost", ByteView(blob));
    REQUIRE(client);
    Pair pair(std::move(client).value(), std::move(Connection::server(server)).value());
    REQUIRE(pair.handshake());
    CHECK(pair.client.conn.info().session_reused);
    CHECK(pair.client.conn.info().authorized);
  }
  SECTION("an identity check that rejects the server") {
    int calls = 0;
    auto client = Connection::client(
        build_or_fail(client_builder(sources)
                          .versions(version, version)
                          .check_server_identity([&](std::string_view, const CertificateInfo&) {
                            ++calls;
                            return Error(ErrorCode::identity_rejected, Stage::certificate,
                                         "not this one");
                          })),
        "localhost", ByteView(blob));
    REQUIRE_FALSE(client);
    CHECK(calls == 1);
    expect_error(client.error(), "ERR_TLS_SESSION_NOT_TRUSTED", Stage::certificate);
  }
  SECTION("a blob altered to carry no certificate") {
    // The chain count follows the magic, the name ("localhost") and the flags.
    constexpr size_t kCount = 4 + 1 + 9 + 1;
    std::vector<uint8_t> stripped(blob.begin(), blob.begin() + kCount);
    stripped.push_back(0);
    size_t at = kCount + 1;
    for (uint8_t i = 0; i < blob[kCount]; ++i) {
      const size_t length = (size_t(blob[at]) << 16) | (size_t(blob[at + 1]) << 8) | blob[at + 2];
      at += 3 + length;
    }
    stripped.insert(stripped.end(), blob.begin() + static_cast<std::ptrdiff_t>(at), blob.end());
    auto client =
        Connection::client(build_or_fail(client_builder(sources).versions(version, version)),
                           "localhost", ByteView(stripped));
    REQUIRE_FALSE(client);
    expect_error(client.error(), "ERR_TLS_SESSION_NOT_TRUSTED", Stage::certificate);
  }
}

TEST_CASE("a pin mismatch fails the handshake whatever the verification mode", "[verify][pin]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  const auto mode = GENERATE(PeerVerification::optional, PeerVerification::none);
  Sources sources;
  Pair pair = connect(build_or_fail(client_builder(sources)
                                        .versions(version, version)
                                        .peer_verification(mode)
                                        .pin_public_key(pin_of(pki().rsa_leaf.certificate_der))),
                      build_or_fail(server_builder(sources)));
  CHECK_FALSE(pair.client.conn.wants().handshake_complete);
  expect_error(pair.client.conn.error(), "ERR_TLS_PUBLIC_KEY_PIN_MISMATCH", Stage::certificate);
  expect_alert(pair.client.conn.error(), Alert::bad_certificate, AlertDirection::sent);
  expect_alert(pair.server.conn.error(), Alert::bad_certificate, AlertDirection::received);
  CHECK(pair.client.received.empty());
}

// mbedTLS 3.6.6 skips a ticket that no key exchange mode can resume (one the
// ticket allows, the server enables and the ClientHello offers) but leaks what
// it loaded from it; the engine refuses such a ticket itself. The outcome must
// stay a full handshake, and the ASan build of this test shows any leak.
TEST_CASE("a ticket that no shared key exchange mode can resume gives a full handshake",
          "[session][psk]") {
  Sources sources;
  const std::vector<uint8_t> key(32, 0x5a);
  // psk_dhe_ke only (and certificates): psk_ke tickets cannot resume here.
  const Config server = build_or_fail(
      server_builder(sources)
          .psk_lookup([](std::string_view) -> std::optional<std::vector<uint8_t>> { return {}; })
          .psk_mode(PskMode::with_ecdhe)
          .alpn({"h2"}));
  // With ALPN the loaded ticket holds an allocation (its protocol name).
  const Config client_config = build_or_fail(
      client_builder(sources).versions(TlsVersion::tls1_3, TlsVersion::tls1_3).alpn({"h2"}));
  // Offers psk_ke only (its external PSK is one the server does not know).
  const Config pure_only = build_or_fail(client_builder(sources)
                                             .versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
                                             .psk("unknown", ByteView(key))
                                             .psk_mode(PskMode::without_ecdhe)
                                             .alpn({"h2"}));
  Pair first = connect(client_config, server);
  REQUIRE(first.handshake());
  REQUIRE(first.client.conn.info().ticket_received);
  auto blob = first.client.conn.save_session();
  REQUIRE(blob);

  auto client = Connection::client(pure_only, "localhost", ByteView(blob.value()));
  REQUIRE(client);
  Pair second(std::move(client).value(), std::move(Connection::server(server)).value());
  REQUIRE(second.handshake());
  CHECK_FALSE(second.server.conn.info().session_reused);
  CHECK_FALSE(second.client.conn.info().session_reused);

  // The same ticket offered with psk_dhe_ke still resumes.
  auto again = Connection::client(client_config, "localhost", ByteView(blob.value()));
  REQUIRE(again);
  Pair third(std::move(again).value(), std::move(Connection::server(server)).value());
  REQUIRE(third.handshake());
  CHECK(third.server.conn.info().session_reused);
}
