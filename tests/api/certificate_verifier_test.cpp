// ConfigBuilder::certificate_verifier: the application's own verification
// of the peer's chain (OpenSSL's SSL_CTX_set_cert_verify_callback, BoringSSL's
// SSL_set_custom_verify), in both roles; the BoGo shim maps -verify-fail,
// -expect-verify-result and -reverify-on-resume onto it.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <string>
#include <vector>

#include "support/expect.h"
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
  Pair pair(std::move(client).value(), std::move(server).value());
  pair.pump();
  return pair;
}

// Records every chain it is shown and answers `verdict`.
struct RecordingVerifier {
  std::vector<std::vector<CertificateInfo>> calls;
  Error verdict;
  CertificateVerifier callback() {
    return [this](const std::vector<CertificateInfo>& chain) {
      calls.push_back(chain);
      return verdict;
    };
  }
};

std::vector<uint8_t> der(const std::string& bytes) {
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

Error rejection() {
  return Error(ErrorCode::identity_rejected, Stage::certificate, "not the certificate we expect");
}

// A client without trust anchors (certificate_verifier replaces them).
ConfigBuilder bare_client(Sources& sources, TlsVersion version) {
  ConfigBuilder builder(Role::client);
  builder.random(sources.client_random).clock(sources.clock).versions(version, version);
  return builder;
}

}  // namespace

TEST_CASE("certificate_verifier: a client's verifier decides instead of trust anchors",
          "[verifier]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  RecordingVerifier verifier;
  const Config server_config = build_or_fail(server_builder(sources));

  SECTION("accepted: no trust anchors needed, even with required verification") {
    const Config client_config = build_or_fail(bare_client(sources, version)
                                                   .peer_verification(PeerVerification::required)
                                                   .certificate_verifier(verifier.callback()));
    Pair pair = pair_with(client_config, server_config);
    REQUIRE(pair.client.conn.error().ok());
    REQUIRE(pair.server.conn.error().ok());
    CHECK(pair.client.conn.info().authorized);
    REQUIRE(verifier.calls.size() == 1);
    // The chain as sent, leaf first: the ECDSA leaf and its intermediate.
    REQUIRE(verifier.calls[0].size() == 2);
    CHECK(verifier.calls[0][0].der == der(pki().ecdsa_leaf.certificate_der));
    CHECK(verifier.calls[0][1].der == der(pki().ecdsa_inter.certificate_der));
  }
  SECTION("rejected with required verification: the handshake fails, certificate_unknown") {
    verifier.verdict = rejection();
    const Config client_config = build_or_fail(bare_client(sources, version)
                                                   .peer_verification(PeerVerification::required)
                                                   .certificate_verifier(verifier.callback()));
    Pair pair = pair_with(client_config, server_config);
    CHECK(verifier.calls.size() == 1);
    expect_error(pair.client.conn.error(), "ERR_TLS_IDENTITY_REJECTED", Stage::certificate);
    CHECK(std::string(pair.client.conn.error().message()) == "not the certificate we expect");
    expect_alert(pair.client.conn.error(), Alert::certificate_unknown, AlertDirection::sent);
    expect_alert(pair.server.conn.error(), Alert::certificate_unknown, AlertDirection::received);
  }
  SECTION("rejected with optional verification: reported, not fatal") {
    verifier.verdict = rejection();
    const Config client_config = build_or_fail(bare_client(sources, version)
                                                   .peer_verification(PeerVerification::optional)
                                                   .certificate_verifier(verifier.callback()));
    Pair pair = pair_with(client_config, server_config);
    REQUIRE(pair.client.conn.error().ok());
    CHECK_FALSE(pair.client.conn.info().authorized);
    CHECK(pair.client.conn.info().authorization_error.code() == ErrorCode::identity_rejected);
  }
  SECTION("it overrides the built-in verdict: an untrusted chain accepted") {
    ConfigBuilder untrusted(Role::server);
    untrusted.random(sources.server_random)
        .clock(sources.clock)
        .certificate(pki().other_leaf.certificate_pem, pki().other_leaf.key.private_key_pem);
    const Config client_config = build_or_fail(client_builder(sources)
                                                   .versions(version, version)
                                                   .peer_verification(PeerVerification::required)
                                                   .certificate_verifier(verifier.callback()));
    Pair pair = pair_with(client_config, build_or_fail(untrusted));
    REQUIRE(pair.client.conn.error().ok());
    CHECK(pair.client.conn.info().authorized);
    REQUIRE(verifier.calls.size() == 1);
    CHECK(verifier.calls[0][0].der == der(pki().other_leaf.certificate_der));
  }
}

TEST_CASE("certificate_verifier: a server's verifier judges client certificates", "[verifier]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  RecordingVerifier verifier;
  // A client certificate no trust anchor of the server's vouches for.
  const Config client_config = build_or_fail(
      client_builder(sources)
          .versions(version, version)
          .certificate(pki().other_leaf.certificate_pem, pki().other_leaf.key.private_key_pem));
  auto server_config = [&](PeerVerification mode) {
    return build_or_fail(
        server_builder(sources).peer_verification(mode).certificate_verifier(verifier.callback()));
  };

  SECTION("accepted without trust anchors") {
    Pair pair = pair_with(client_config, server_config(PeerVerification::required));
    REQUIRE(pair.server.conn.error().ok());
    REQUIRE(pair.client.conn.error().ok());
    CHECK(pair.server.conn.info().authorized);
    REQUIRE(verifier.calls.size() == 1);
    CHECK(verifier.calls[0][0].der == der(pki().other_leaf.certificate_der));
  }
  SECTION("rejected, required: the handshake fails with certificate_unknown") {
    verifier.verdict = rejection();
    Pair pair = pair_with(client_config, server_config(PeerVerification::required));
    expect_error(pair.server.conn.error(), "ERR_TLS_IDENTITY_REJECTED", Stage::certificate);
    expect_alert(pair.server.conn.error(), Alert::certificate_unknown, AlertDirection::sent);
    expect_alert(pair.client.conn.error(), Alert::certificate_unknown, AlertDirection::received);
  }
  SECTION("rejected, optional: reported") {
    verifier.verdict = rejection();
    Pair pair = pair_with(client_config, server_config(PeerVerification::optional));
    REQUIRE(pair.server.conn.error().ok());
    CHECK_FALSE(pair.server.conn.info().authorized);
    CHECK(pair.server.conn.info().authorization_error.code() == ErrorCode::identity_rejected);
  }
  SECTION("none: no certificate asked for, the verifier is not called") {
    Pair pair = pair_with(client_config, server_config(PeerVerification::none));
    REQUIRE(pair.server.conn.error().ok());
    CHECK(verifier.calls.empty());
  }
}

TEST_CASE("certificate_verifier: a resuming client runs it again on the saved chain",
          "[verifier][session]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  RecordingVerifier verifier;
  const Config server_config = build_or_fail(server_builder(sources));
  const Config client_config = build_or_fail(bare_client(sources, version)
                                                 .peer_verification(PeerVerification::required)
                                                 .certificate_verifier(verifier.callback()));
  Pair first = pair_with(client_config, server_config);
  REQUIRE(first.client.conn.error().ok());
  auto saved = first.client.conn.save_session();
  REQUIRE(saved);
  REQUIRE(verifier.calls.size() == 1);

  SECTION("still accepted: resumed, verified again") {
    Pair second = pair_with(client_config, server_config, ByteView(saved.value()));
    REQUIRE(second.client.conn.error().ok());
    CHECK(second.client.conn.info().session_reused);
    CHECK(second.client.conn.info().authorized);
    CHECK(verifier.calls.size() == 2);
  }
  SECTION("now rejected: the saved session is refused") {
    verifier.verdict = rejection();
    auto client = Connection::client(client_config, "localhost", ByteView(saved.value()));
    REQUIRE_FALSE(client);
    CHECK(client.error().code() == ErrorCode::session_not_trusted);
    CHECK(verifier.calls.size() == 2);
  }
}
