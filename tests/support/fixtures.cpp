#include "fixtures.h"

#include <catch2/catch_test_macros.hpp>

#include "mbedtls/base64.h"
#include "mbedtls/sha256.h"
#include "mbedtls/x509_crt.h"

namespace sanstls::test {
namespace {

testing::Identity must(std::optional<testing::Identity> identity, const testing::Pki& maker) {
  if (!identity) FAIL("test PKI: " << maker.last_error());
  return *identity;
}

TestPki make_pki() {
  testing::Pki maker(20261127);
  TestPki p;
  testing::CertificateSpec ca;
  ca.is_ca = true;
  ca.common_name = "sanstls test root ECDSA";
  p.ecdsa_root = must(maker.self_signed(ca), maker);
  ca.common_name = "sanstls test root RSA";
  ca.key_type = testing::KeyType::rsa2048;
  p.rsa_root = must(maker.self_signed(ca), maker);
  ca.common_name = "sanstls test intermediate";
  ca.key_type = testing::KeyType::ecdsa_p256;
  p.ecdsa_inter = must(maker.issue(p.ecdsa_root, ca), maker);
  ca.common_name = "untrusted root";
  p.other_root = must(maker.self_signed(ca), maker);

  testing::CertificateSpec leaf;
  leaf.common_name = "localhost";
  leaf.dns_names = {"localhost"};
  leaf.ip_addresses = {"127.0.0.1", "::1"};
  p.ecdsa_leaf = must(maker.issue(p.ecdsa_inter, leaf), maker);
  p.other_leaf = must(maker.issue(p.other_root, leaf), maker);
  p.self_signed_leaf = must(maker.self_signed(leaf), maker);
  testing::CertificateSpec rsa = leaf;
  rsa.key_type = testing::KeyType::rsa2048;
  rsa.ip_addresses = {"127.0.0.1"};
  p.rsa_leaf = must(maker.issue(p.rsa_root, rsa), maker);
  testing::CertificateSpec expired = leaf;
  expired.not_before = "20200101000000";
  expired.not_after = "20210101000000";
  p.expired_leaf = must(maker.issue(p.ecdsa_root, expired), maker);
  testing::CertificateSpec future = leaf;
  future.not_before = "20900101000000";
  future.not_after = "20950101000000";
  p.future_leaf = must(maker.issue(p.ecdsa_root, future), maker);
  testing::CertificateSpec client;
  client.common_name = "client.example";
  client.dns_names = {"client.example"};
  p.client_leaf = must(maker.issue(p.ecdsa_root, client), maker);
  return p;
}

}  // namespace

const TestPki& pki() {
  static const TestPki instance = make_pki();
  return instance;
}

std::string trusted_roots_pem() { return testing::chain_pem({&pki().ecdsa_root, &pki().rsa_root}); }

std::string ecdsa_chain_pem() {
  return testing::chain_pem({&pki().ecdsa_leaf, &pki().ecdsa_inter});
}

ConfigBuilder client_builder(Sources& sources) {
  ConfigBuilder builder(Role::client);
  builder.random(sources.client_random).clock(sources.clock).trust_anchors(trusted_roots_pem());
  return builder;
}

ConfigBuilder server_builder(Sources& sources, bool with_rsa) {
  ConfigBuilder builder(Role::server);
  builder.random(sources.server_random)
      .clock(sources.clock)
      .certificate(ecdsa_chain_pem(), pki().ecdsa_leaf.key.private_key_pem);
  if (with_rsa)
    builder.certificate(pki().rsa_leaf.certificate_pem, pki().rsa_leaf.key.private_key_pem);
  return builder;
}

Config build_or_fail(const ConfigBuilder& builder) {
  auto config = builder.build();
  if (!config)
    FAIL("Config::build failed: " << config.error().name() << ": " << config.error().message());
  return config.value();
}

std::string pin_of(const std::string& certificate_der) {
  mbedtls_x509_crt crt;
  mbedtls_x509_crt_init(&crt);
  REQUIRE(mbedtls_x509_crt_parse_der(&crt,
                                     reinterpret_cast<const unsigned char*>(certificate_der.data()),
                                     certificate_der.size()) == 0);
  unsigned char digest[32];
  mbedtls_sha256(crt.pk_raw.p, crt.pk_raw.len, digest, 0);
  mbedtls_x509_crt_free(&crt);
  unsigned char text[64];
  size_t length = 0;
  REQUIRE(mbedtls_base64_encode(text, sizeof text, &length, digest, sizeof digest) == 0);
  return "sha256/" + std::string(reinterpret_cast<char*>(text), length);
}

}  // namespace sanstls::test
