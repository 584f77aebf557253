// What a user meets at mbedTLS 3.6's own limits (docs/limitations.md): the
// failure is named, as early as it can be, never a hang or a silent close.
#include <catch2/catch_test_macros.hpp>
#include <string>

#include "support/expect.h"
#include "support/fixtures.h"
#include "support/pair.h"

using namespace sanstls;
using namespace sanstls::test;

TEST_CASE("a chain whose Certificate message exceeds 16 KiB is refused when the Config is built",
          "[limits]") {
  Sources sources;
  // mbedTLS writes a handshake message in one 16 KiB buffer; without this
  // check the handshake failed with ERR_TLS_INTERNAL ("a buffer is too small").
  const std::string inter = testing::chain_pem({&pki().ecdsa_inter});
  std::string chain = ecdsa_chain_pem();
  for (int i = 0; i < 40; ++i) chain += inter;
  ConfigBuilder server(Role::server);
  server.random(sources.server_random)
      .clock(sources.clock)
      .certificate(chain, pki().ecdsa_leaf.key.private_key_pem);
  auto built = server.build();
  REQUIRE_FALSE(built);
  expect_error(built.error(), "ERR_INVALID_ARG_VALUE", Stage::config);
  CHECK(std::string(built.error().message()).find("Certificate message") != std::string::npos);
  // The same holds for a client's own certificate.
  ConfigBuilder client = client_builder(sources);
  client.certificate(chain, pki().ecdsa_leaf.key.private_key_pem);
  CHECK_FALSE(client.build());
}

TEST_CASE("TLS 1.2 has no RSA-PSS in mbedTLS 3.6: a PSS-only TLS 1.2 Config is refused",
          "[limits]") {
  Sources sources;
  ConfigBuilder server(Role::server);
  server.random(sources.server_random)
      .clock(sources.clock)
      .certificate(pki().rsa_leaf.certificate_pem, pki().rsa_leaf.key.private_key_pem);
  const Config server_config = build_or_fail(server);
  // TLS 1.3 with the same list works: RSA-PSS is TLS 1.3's RSA signature.
  Pair tls13 = connect(build_or_fail(client_builder(sources)
                                         .versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
                                         .signature_algorithms("rsa_pss_rsae_sha256")),
                       server_config);
  REQUIRE(tls13.handshake());
  // TLS 1.2 only: named when the Config is built (it used to fail the
  // handshake with ERR_TLS_INTERNAL before the ClientHello went out).
  auto tls12 = client_builder(sources)
                   .versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
                   .signature_algorithms("rsa_pss_rsae_sha256:rsa_pss_rsae_sha384")
                   .build();
  REQUIRE_FALSE(tls12);
  expect_error(tls12.error(), "ERR_INVALID_ARG_VALUE", Stage::config);
  CHECK(std::string(tls12.error().message()).find("RSA-PSS") != std::string::npos);
  // With a PKCS#1 v1.5 scheme too, TLS 1.2 signs with that one.
  Pair mixed =
      connect(build_or_fail(client_builder(sources)
                                .versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
                                .signature_algorithms("rsa_pss_rsae_sha256:rsa_pkcs1_sha256")),
              server_config);
  CHECK(mixed.handshake());
}
