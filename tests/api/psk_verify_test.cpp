// External PSKs (TLS 1.3 psk_dhe_ke/psk_ke, TLS 1.2 PSK suites) and the
// client's verification hooks: public key pins and a custom identity check.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <string>

#include "support/expect.h"
#include "support/fixtures.h"
#include "support/pair.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

const std::vector<uint8_t> kKey = {0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x70, 0x81,
                                   0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8, 0x09};

ConfigBuilder psk_client(Sources& sources, const std::string& identity, std::vector<uint8_t> key) {
  ConfigBuilder builder(Role::client);
  builder.random(sources.client_random).clock(sources.clock).psk(identity, ByteView(key));
  return builder;
}

ConfigBuilder psk_server(Sources& sources) {
  ConfigBuilder builder(Role::server);
  builder.random(sources.server_random)
      .clock(sources.clock)
      .psk_lookup([](std::string_view identity) -> std::optional<std::vector<uint8_t>> {
        if (identity == "device-17") return kKey;
        return std::nullopt;
      });
  return builder;
}

}  // namespace

TEST_CASE("TLS 1.3 external PSK, with and without ECDHE, no certificates", "[psk]") {
  struct Case {
    PskMode mode;
    const char* group;
  };
  const Case c = GENERATE(values<Case>({{PskMode::with_ecdhe, "X25519"},
                                        {PskMode::without_ecdhe, ""},
                                        {PskMode::either, "X25519"}}));
  Sources sources;
  Pair pair = connect(build_or_fail(psk_client(sources, "device-17", kKey).psk_mode(c.mode)),
                      build_or_fail(psk_server(sources).psk_mode(c.mode)));
  REQUIRE(pair.handshake());
  for (Endpoint* side : {&pair.client, &pair.server}) {
    const ConnectionInfo& info = side->conn.info();
    CHECK(info.version == TlsVersion::tls1_3);
    CHECK(info.psk_identity == "device-17");
    CHECK_FALSE(info.session_reused);
    CHECK(info.peer_certificates.empty());
    CHECK(std::string(info.group) == c.group);
  }
  pair.send(pair.client, {'p', 's', 'k'});
  pair.pump();
  CHECK(std::string(pair.server.received.begin(), pair.server.received.end()) == "psk");
}

TEST_CASE("TLS 1.2 PSK and ECDHE-PSK suites", "[psk]") {
  const std::string suite =
      GENERATE(std::string("PSK-AES128-GCM-SHA256"), std::string("ECDHE-PSK-CHACHA20-POLY1305"));
  Sources sources;
  Pair pair = connect(build_or_fail(psk_client(sources, "device-17", kKey)
                                        .versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
                                        .cipher_suites(suite)),
                      build_or_fail(psk_server(sources)));
  REQUIRE(pair.handshake());
  CHECK(std::string(pair.client.conn.info().cipher.name) == suite);
  CHECK(pair.client.conn.info().psk_identity == "device-17");
  CHECK(pair.server.conn.info().psk_identity == "device-17");
  CHECK_FALSE(pair.client.conn.info().session_reused);
}

TEST_CASE("an unknown PSK identity or a wrong key fails with a named error", "[psk]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  SECTION("unknown identity") {
    Pair pair =
        connect(build_or_fail(psk_client(sources, "stranger", kKey).versions(version, version)),
                build_or_fail(psk_server(sources)));
    REQUIRE_FALSE(pair.server.conn.error().ok());
    INFO(pair.server.conn.error().name() << ": " << pair.server.conn.error().message());
    CHECK(pair.server.conn.error().stage() == Stage::handshake);
    CHECK(pair.server.conn.error().has_alert());
    CHECK_FALSE(pair.client.conn.error().ok());
    if (version == TlsVersion::tls1_2) {
      expect_error(pair.server.conn.error(), "ERR_SSL_PSK_IDENTITY_NOT_FOUND", Stage::handshake);
      expect_alert(pair.client.conn.error(), Alert::unknown_psk_identity, AlertDirection::received);
    }
  }
  SECTION("wrong key") {
    std::vector<uint8_t> wrong = kKey;
    wrong[0] ^= 1;
    Pair pair =
        connect(build_or_fail(psk_client(sources, "device-17", wrong).versions(version, version)),
                build_or_fail(psk_server(sources)));
    CHECK_FALSE(pair.server.conn.error().ok());
    CHECK_FALSE(pair.client.conn.error().ok());
    CHECK_FALSE(pair.server.conn.wants().handshake_complete);
    INFO(pair.server.conn.error().name() << " / " << pair.client.conn.error().name());
    CHECK(pair.server.conn.error().code() != ErrorCode::internal_error);
    CHECK(pair.client.conn.error().code() != ErrorCode::internal_error);
  }
}

TEST_CASE("PSK settings are validated when the Config is built", "[psk][config]") {
  Sources sources;
  auto empty_identity = psk_client(sources, "", kKey).build();
  REQUIRE_FALSE(empty_identity);
  CHECK(std::string(empty_identity.error().name()) == "ERR_TLS_INVALID_PSK");
  auto long_key = psk_client(sources, "id", std::vector<uint8_t>(100, 1)).build();
  REQUIRE_FALSE(long_key);
  CHECK(std::string(long_key.error().name()) == "ERR_TLS_INVALID_PSK");
  auto server_psk = server_builder(sources).psk("id", ByteView(kKey)).build();
  REQUIRE_FALSE(server_psk);
  CHECK(server_psk.error().code() == ErrorCode::invalid_argument);
  // A PSK-only server needs no certificate; a PSK client needs no trust anchors.
  CHECK(psk_server(sources).build().ok());
  CHECK(psk_client(sources, "id", kKey).build().ok());
}

TEST_CASE("public key pins accept the pinned key and refuse others", "[verify][pin]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  const std::string good = pin_of(pki().ecdsa_leaf.certificate_der);
  const std::string other = pin_of(pki().rsa_leaf.certificate_der);
  Pair pinned = connect(build_or_fail(client_builder(sources)
                                          .versions(version, version)
                                          .pin_public_key(other)
                                          .pin_public_key(good)),
                        build_or_fail(server_builder(sources)));
  REQUIRE(pinned.handshake());
  CHECK(pinned.client.conn.info().authorized);

  Pair wrong = connect(
      build_or_fail(client_builder(sources).versions(version, version).pin_public_key(other)),
      build_or_fail(server_builder(sources)));
  expect_error(wrong.client.conn.error(), "ERR_TLS_PUBLIC_KEY_PIN_MISMATCH", Stage::certificate);
  expect_alert(wrong.client.conn.error(), Alert::bad_certificate, AlertDirection::sent);
  expect_alert(wrong.server.conn.error(), Alert::bad_certificate, AlertDirection::received);

  auto invalid = client_builder(sources).pin_public_key("sha256/not-base64!").build();
  REQUIRE_FALSE(invalid);
  CHECK(invalid.error().code() == ErrorCode::invalid_argument);
}

TEST_CASE("chain errors are reported before a pin mismatch", "[verify][pin]") {
  Sources sources;
  ConfigBuilder server(Role::server);
  server.random(sources.server_random)
      .clock(sources.clock)
      .certificate(pki().other_leaf.certificate_pem, pki().other_leaf.key.private_key_pem);
  Pair pair = connect(build_or_fail(client_builder(sources).pin_public_key(
                          pin_of(pki().ecdsa_leaf.certificate_der))),
                      build_or_fail(server));
  expect_error(pair.client.conn.error(), "UNABLE_TO_VERIFY_LEAF_SIGNATURE", Stage::certificate);
}

TEST_CASE("a custom identity check (checkServerIdentity)", "[verify][identity]") {
  Sources sources;
  std::string seen_name, seen_subject;
  auto check = [&](std::string_view name, const CertificateInfo& leaf) {
    seen_name = std::string(name);
    seen_subject = leaf.subject;
    if (leaf.subjectaltname.find("DNS:localhost") == std::string::npos) return Error();
    return Error(ErrorCode::identity_rejected, Stage::certificate,
                 "this client does not talk to localhost");
  };
  Pair rejected = connect(build_or_fail(client_builder(sources).check_server_identity(check)),
                          build_or_fail(server_builder(sources)));
  CHECK(seen_name == "localhost");
  CHECK(seen_subject == "CN=localhost, O=sanstls test");
  expect_error(rejected.client.conn.error(), "ERR_TLS_IDENTITY_REJECTED", Stage::certificate);
  CHECK(std::string(rejected.client.conn.error().message()) ==
        "this client does not talk to localhost");

  // Optional verification completes and reports the hook's verdict.
  Pair lenient = connect(build_or_fail(client_builder(sources)
                                           .peer_verification(PeerVerification::optional)
                                           .check_server_identity(check)),
                         build_or_fail(server_builder(sources)));
  REQUIRE(lenient.handshake());
  CHECK_FALSE(lenient.client.conn.info().authorized);
  CHECK(std::string(lenient.client.conn.info().authorization_error.name()) ==
        "ERR_TLS_IDENTITY_REJECTED");

  Pair accepted = connect(build_or_fail(client_builder(sources).check_server_identity(
                              [](std::string_view, const CertificateInfo&) { return Error(); })),
                          build_or_fail(server_builder(sources)));
  REQUIRE(accepted.handshake());
  CHECK(accepted.client.conn.info().authorized);
}

TEST_CASE("a client chooses its certificate when the server asks for one", "[verify][mtls]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  const Config identity = build_or_fail(client_builder(sources).certificate(
      pki().client_leaf.certificate_pem, pki().client_leaf.key.private_key_pem));
  int calls = 0;
  std::string asked_for;
  bool present = true;
  const Config client_config = build_or_fail(
      client_builder(sources)
          .versions(version, version)
          .client_certificate_selector([&](std::string_view server_name) -> std::optional<Config> {
            ++calls;
            asked_for = std::string(server_name);
            if (!present) return std::nullopt;
            return identity;
          }));
  ConfigBuilder requiring = server_builder(sources);
  requiring.peer_verification(PeerVerification::required).trust_anchors(trusted_roots_pem());
  const Config requiring_config = build_or_fail(requiring);

  Pair pair = connect(client_config, requiring_config);
  REQUIRE(pair.handshake());
  CHECK(calls == 1);
  CHECK(asked_for == "localhost");
  CHECK(pair.server.conn.info().authorized);
  REQUIRE(pair.server.conn.info().peer_certificates.size() == 1);
  CHECK(pair.server.conn.info().peer_certificates[0].subject ==
        "CN=client.example, O=sanstls test");

  // A server that asks for nothing never triggers the selector.
  calls = 0;
  Pair plain = connect(client_config, build_or_fail(server_builder(sources)));
  REQUIRE(plain.handshake());
  CHECK(calls == 0);

  // Declining to present one: the server's requirement fails the handshake.
  present = false;
  Pair declined = connect(client_config, requiring_config);
  CHECK(calls == 1);
  expect_error(declined.server.conn.error(), "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE",
               Stage::certificate);
}
