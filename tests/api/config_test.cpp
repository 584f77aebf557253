// Every way building a Config or creating a Connection can fail, with the
// exact code, stable name, stage and a message that says what is wrong; the
// defaults; name spellings; and the error.h / platform.h helpers.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

#include "sanstls/platform.h"
#include "support/fixtures.h"
#include "support/pair.h"
#include "support/skip.h"

using namespace sanstls;
using namespace sanstls::test;
using Catch::Matchers::ContainsSubstring;

namespace {

// The whole contract of a config-time failure in one place.
void check_error(const Error& error, ErrorCode code, const char* name, const char* needle,
                 Stage stage = Stage::config) {
  INFO("got " << error.name() << " (" << stage_name(error.stage()) << "): " << error.message());
  CHECK_FALSE(error.ok());
  CHECK(static_cast<bool>(error));
  CHECK(error.code() == code);
  CHECK(std::string(error.name()) == name);
  CHECK(error.stage() == stage);
  CHECK_FALSE(error.has_alert());
  CHECK(std::strlen(error.message()) > 0);
  CHECK_THAT(std::string(error.message()), ContainsSubstring(needle));
}

template <class T>
void check_fails(const Result<T>& result, ErrorCode code, const char* name, const char* needle,
                 Stage stage = Stage::config) {
  REQUIRE_FALSE(result.ok());
  REQUIRE_FALSE(static_cast<bool>(result));
  check_error(result.error(), code, name, needle, stage);
}

Config must_build(const ConfigBuilder& builder) { return build_or_fail(builder); }

ConfigBuilder bare_server(Sources& sources) {
  ConfigBuilder builder(Role::server);
  builder.random(sources.server_random).clock(sources.clock);
  return builder;
}

const std::string& ecdsa_key_pem() { return pki().ecdsa_leaf.key.private_key_pem; }

Pair make_pair(const Config& client_config, const Config& server_config,
               const char* name = "localhost") {
  auto client = Connection::client(client_config, name);
  REQUIRE(client);
  auto server = Connection::server(server_config);
  REQUIRE(server);
  return Pair(std::move(client).value(), std::move(server).value());
}

// Encrypts `key_pem` with the openssl binary, or SKIPs when there is none.
std::string encrypted_or_skip(const std::string& key_pem, const std::string& passphrase) {
  std::string why;
  std::optional<std::string> encrypted =
      testing::encrypt_private_key_pem_with_openssl(key_pem, passphrase, &why);
  if (!encrypted) {
    const char* binary = std::getenv("OPENSSL");
    const std::string probe = std::string("command -v '") +
                              (binary && *binary ? binary : "openssl") + "' >/dev/null 2>&1";
    if (std::system(probe.c_str()) != 0) SANSTLS_SKIP("no openssl binary: " << why);
    FAIL("openssl could not encrypt the key: " << why);
  }
  return *encrypted;
}

class FailingRandom final : public RandomSource {
 public:
  bool fill(MutableByteView) noexcept override { return false; }
};

const std::vector<std::string> kDefaultSuites = {
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
};

}  // namespace

// ------------------------------------------------------------ sources

TEST_CASE("build() needs a random source and a clock", "[config]") {
  Sources sources;
  SECTION("no random source") {
    ConfigBuilder builder(Role::client);
    builder.clock(sources.clock).trust_anchors(trusted_roots_pem());
    check_fails(builder.build(), ErrorCode::invalid_argument, "ERR_INVALID_ARG_VALUE",
                "no random source");
    CHECK_THAT(std::string(builder.build().error().message()), ContainsSubstring("os_random"));
  }
  SECTION("no clock") {
    ConfigBuilder builder(Role::server);
    builder.random(sources.server_random).certificate(ecdsa_chain_pem(), ecdsa_key_pem());
    check_fails(builder.build(), ErrorCode::invalid_argument, "ERR_INVALID_ARG_VALUE", "no clock");
    CHECK_THAT(std::string(builder.build().error().message()), ContainsSubstring("system_clock"));
  }
  SECTION("neither: the random source is reported first") {
    check_fails(ConfigBuilder(Role::client).build(), ErrorCode::invalid_argument,
                "ERR_INVALID_ARG_VALUE", "random");
  }
}

TEST_CASE("a random source that fails while a server Config is built is ERR_TLS_RANDOM_FAILED",
          "[config]") {
  // Not a misleading "key values mismatch" or "internal" error.
  Sources sources;
  FailingRandom broken;
  ConfigBuilder builder(Role::server);
  builder.random(broken).clock(sources.clock);
  SECTION("ECDSA identity: checking the key pair needs randomness") {
    builder.certificate(ecdsa_chain_pem(), ecdsa_key_pem());
    check_fails(builder.build(), ErrorCode::random_failed, "ERR_TLS_RANDOM_FAILED",
                "random source failed");
  }
  SECTION("RSA identity: the session ticket keys need randomness") {
    builder.certificate(pki().rsa_leaf.certificate_pem, pki().rsa_leaf.key.private_key_pem);
    check_fails(builder.build(), ErrorCode::random_failed, "ERR_TLS_RANDOM_FAILED",
                "random source failed");
  }
}

// ------------------------------------------------------------ versions

TEST_CASE("version range errors", "[config]") {
  Sources sources;
  SECTION("minimum above maximum") {
    check_fails(client_builder(sources).versions(TlsVersion::tls1_3, TlsVersion::tls1_2).build(),
                ErrorCode::version_range_conflict, "ERR_TLS_PROTOCOL_VERSION_CONFLICT",
                "minimum TLS version is above the maximum");
  }
  SECTION("a version that is neither TLS 1.2 nor TLS 1.3") {
    const auto tls1_1 = static_cast<TlsVersion>(0x0302);
    check_fails(client_builder(sources).versions(tls1_1, TlsVersion::tls1_3).build(),
                ErrorCode::invalid_version, "ERR_TLS_INVALID_PROTOCOL_VERSION", "TLS 1.2");
    check_fails(client_builder(sources)
                    .versions(TlsVersion::tls1_2, static_cast<TlsVersion>(0x0305))
                    .build(),
                ErrorCode::invalid_version, "ERR_TLS_INVALID_PROTOCOL_VERSION", "TLS 1.3");
  }
  SECTION("single-version ranges build and are reported") {
    for (TlsVersion v : {TlsVersion::tls1_2, TlsVersion::tls1_3}) {
      Config config = must_build(client_builder(sources).versions(v, v));
      CHECK(config.min_version() == v);
      CHECK(config.max_version() == v);
    }
  }
  CHECK(std::string(version_name(TlsVersion::tls1_2)) == "TLSv1.2");
  CHECK(std::string(version_name(TlsVersion::tls1_3)) == "TLSv1.3");
}

// ------------------------------------------------------------ cipher suites

TEST_CASE("an unknown cipher suite name is ERR_SSL_NO_CIPHER_MATCH naming the token", "[config]") {
  Sources sources;
  check_fails(client_builder(sources).cipher_suites("TLS_AES_128_GCM_SHA256:NOT-A-CIPHER").build(),
              ErrorCode::unknown_cipher_suite, "ERR_SSL_NO_CIPHER_MATCH", "'NOT-A-CIPHER'");
  // The first bad token is the one reported.
  check_fails(
      client_builder(sources).cipher_suites("BOGUS-ONE,TLS_AES_128_GCM_SHA256,BOGUS-TWO").build(),
      ErrorCode::unknown_cipher_suite, "ERR_SSL_NO_CIPHER_MATCH", "BOGUS-ONE");
  // A real OpenSSL name sanstls does not implement (RSA key exchange, CBC).
  check_fails(client_builder(sources).cipher_suites("AES128-SHA").build(),
              ErrorCode::unknown_cipher_suite, "ERR_SSL_NO_CIPHER_MATCH", "AES128-SHA");
  // A prefix of a real name is not a match.
  check_fails(client_builder(sources).cipher_suites("TLS_AES_128_GCM").build(),
              ErrorCode::unknown_cipher_suite, "ERR_SSL_NO_CIPHER_MATCH", "TLS_AES_128_GCM");
}

TEST_CASE("a cipher list without suites for an enabled version is ERR_TLS_NO_USABLE_CIPHER_SUITE",
          "[config]") {
  Sources sources;
  SECTION("only TLS 1.2 suites while TLS 1.3 is enabled") {
    const char* list = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
    check_fails(client_builder(sources).cipher_suites(list).build(),
                ErrorCode::no_usable_cipher_suite, "ERR_TLS_NO_USABLE_CIPHER_SUITE",
                "no TLS 1.3 cipher suite");
    Config config = must_build(client_builder(sources).cipher_suites(list).versions(
        TlsVersion::tls1_2, TlsVersion::tls1_2));
    CHECK(config.cipher_suite_names() ==
          std::vector<std::string>{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                                   "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"});
  }
  SECTION("only TLS 1.3 suites while TLS 1.2 is enabled") {
    const char* list = "TLS_AES_256_GCM_SHA384";
    check_fails(server_builder(sources).cipher_suites(list).build(),
                ErrorCode::no_usable_cipher_suite, "ERR_TLS_NO_USABLE_CIPHER_SUITE",
                "no TLS 1.2 cipher suite");
    Config config = must_build(server_builder(sources).cipher_suites(list).versions(
        TlsVersion::tls1_3, TlsVersion::tls1_3));
    CHECK(config.cipher_suite_names() == std::vector<std::string>{"TLS_AES_256_GCM_SHA384"});
  }
  SECTION("an empty list") {
    auto config = client_builder(sources).cipher_suites(" : , ").build();
    REQUIRE_FALSE(config);
    CHECK(config.error().code() == ErrorCode::no_usable_cipher_suite);
    CHECK(config.error().stage() == Stage::config);
  }
}

TEST_CASE("cipher suite names: IANA and OpenSSL spellings, any case, order kept", "[config]") {
  Sources sources;
  Config config = must_build(client_builder(sources).cipher_suites(
      "ecdhe-rsa-aes256-gcm-sha384:TLS_CHACHA20_POLY1305_SHA256, "
      "tls_ecdhe_ecdsa_with_aes_128_gcm_sha256 : "
      "Tls_Aes_128_Gcm_Sha256,ECDHE-ECDSA-CHACHA20-POLY1305"));
  CHECK(config.cipher_suite_names() == std::vector<std::string>{
                                           "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                                           "TLS_CHACHA20_POLY1305_SHA256",
                                           "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                                           "TLS_AES_128_GCM_SHA256",
                                           "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                                       });
  // Suites that are off by default can still be asked for by name.
  Config cbc =
      must_build(client_builder(sources)
                     .versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
                     .cipher_suites("ECDHE-ECDSA-AES128-SHA256:TLS_ECDHE_ECDSA_WITH_AES_128_CCM"));
  CHECK(cbc.cipher_suite_names() ==
        std::vector<std::string>{"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
                                 "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"});
}

// ------------------------------------------------------------ groups

TEST_CASE("group names: unknown names fail, aliases map to canonical names", "[config]") {
  Sources sources;
  SECTION("unknown group") {
    check_fails(client_builder(sources).groups("X25519:ffdhe2048").build(),
                ErrorCode::unknown_group, "ERR_TLS_UNKNOWN_GROUP", "'ffdhe2048'");
    check_fails(client_builder(sources).groups("P-999").build(), ErrorCode::unknown_group,
                "ERR_TLS_UNKNOWN_GROUP", "P-999");
  }
  SECTION("empty group list") {
    check_fails(client_builder(sources).groups("").build(), ErrorCode::unknown_group,
                "ERR_TLS_UNKNOWN_GROUP", "empty");
    check_fails(client_builder(sources).groups(" :, ").build(), ErrorCode::unknown_group,
                "ERR_TLS_UNKNOWN_GROUP", "empty");
  }
  SECTION("aliases and case") {
    Config config =
        must_build(client_builder(sources).groups("prime256v1:secp384r1,x25519:SECP521R1:X448"));
    CHECK(config.group_names() ==
          std::vector<std::string>{"P-256", "P-384", "X25519", "P-521", "X448"});
    Config other = must_build(client_builder(sources).groups("secp256r1, p-384"));
    CHECK(other.group_names() == std::vector<std::string>{"P-256", "P-384"});
  }
}

// ------------------------------------------------------------ defaults

TEST_CASE("defaults: suites, groups, versions, verification", "[config]") {
  Sources sources;
  Config client = must_build(client_builder(sources));
  Config server = must_build(server_builder(sources));
  for (const Config* config : {&client, &server}) {
    CHECK(config->cipher_suite_names() == kDefaultSuites);
    CHECK(config->group_names() == std::vector<std::string>{"X25519", "P-256", "P-384"});
    CHECK(config->min_version() == TlsVersion::tls1_2);
    CHECK(config->max_version() == TlsVersion::tls1_3);
    CHECK(config->alpn_protocols().empty());
    for (const std::string& name : config->cipher_suite_names()) {
      CHECK(name.find("CBC") == std::string::npos);
      CHECK(name.find("CCM") == std::string::npos);
    }
  }
  CHECK(client.role() == Role::client);
  CHECK(server.role() == Role::server);
  CHECK(client.peer_verification() == PeerVerification::required);
  CHECK(server.peer_verification() == PeerVerification::none);
}

// ------------------------------------------------------------ identities

TEST_CASE("certificate and key parse failures", "[config]") {
  Sources sources;
  SECTION("garbage certificate (not PEM, not DER)") {
    auto config =
        bare_server(sources).certificate("this is not a certificate", ecdsa_key_pem()).build();
    check_fails(config, ErrorCode::certificate_parse_failed, "ERR_TLS_CERT_PARSE_FAILED",
                "cannot parse certificate chain");
    CHECK(config.error().backend_code() < 0);
  }
  SECTION("a PEM block with a garbage body") {
    const std::string pem =
        "-----BEGIN CERTIFICATE-----\nAAAAAAAAAAAAAAAA\n-----END CERTIFICATE-----\n";
    check_fails(bare_server(sources).certificate(pem, ecdsa_key_pem()).build(),
                ErrorCode::certificate_parse_failed, "ERR_TLS_CERT_PARSE_FAILED", "certificate");
  }
  SECTION("empty certificate") {
    check_fails(bare_server(sources).certificate(ByteView(), ecdsa_key_pem()).build(),
                ErrorCode::certificate_parse_failed, "ERR_TLS_CERT_PARSE_FAILED", "certificate");
  }
  SECTION("garbage key") {
    auto config = bare_server(sources).certificate(ecdsa_chain_pem(), "not a key").build();
    check_fails(config, ErrorCode::key_parse_failed, "ERR_TLS_KEY_PARSE_FAILED",
                "cannot parse private key");
    CHECK(config.error().backend_code() < 0);
  }
  SECTION("truncated DER key") {
    const std::string& der = pki().ecdsa_leaf.key.private_key_der;
    check_fails(bare_server(sources)
                    .certificate(pki().ecdsa_leaf.certificate_der, der.substr(0, der.size() / 2))
                    .build(),
                ErrorCode::key_parse_failed, "ERR_TLS_KEY_PARSE_FAILED", "private key");
  }
  SECTION("empty key") {
    check_fails(bare_server(sources).certificate(ecdsa_chain_pem(), ByteView()).build(),
                ErrorCode::key_parse_failed, "ERR_TLS_KEY_PARSE_FAILED", "private key");
  }
}

TEST_CASE("a key that does not belong to its certificate is ERR_OSSL_X509_KEY_VALUES_MISMATCH",
          "[config]") {
  Sources sources;
  SECTION("two ECDSA P-256 identities, keys swapped") {
    check_fails(
        bare_server(sources)
            .certificate(pki().ecdsa_leaf.certificate_pem, pki().client_leaf.key.private_key_pem)
            .build(),
        ErrorCode::key_certificate_mismatch, "ERR_OSSL_X509_KEY_VALUES_MISMATCH",
        "does not belong to the certificate");
  }
  SECTION("an RSA certificate with an ECDSA key") {
    check_fails(
        bare_server(sources).certificate(pki().rsa_leaf.certificate_pem, ecdsa_key_pem()).build(),
        ErrorCode::key_certificate_mismatch, "ERR_OSSL_X509_KEY_VALUES_MISMATCH",
        "key values mismatch");
  }
  SECTION("the second identity is the bad one") {
    check_fails(
        server_builder(sources)
            .certificate(pki().rsa_leaf.certificate_pem, pki().client_leaf.key.private_key_pem)
            .build(),
        ErrorCode::key_certificate_mismatch, "ERR_OSSL_X509_KEY_VALUES_MISMATCH", "private key");
  }
}

TEST_CASE("DER certificates and DER or PKCS#8 keys are accepted", "[config]") {
  Sources sources;
  const testing::Identity& rsa = pki().rsa_leaf;
  const testing::Identity& ecdsa = pki().ecdsa_leaf;
  SECTION("DER certificate + DER key, and it handshakes") {
    Config server =
        must_build(bare_server(sources).certificate(rsa.certificate_der, rsa.key.private_key_der));
    Config client = must_build(client_builder(sources));
    Pair pair = make_pair(client, server);
    REQUIRE(pair.handshake());
    CHECK(pair.client.conn.info().authorized);
    must_build(bare_server(sources).certificate(ecdsa.certificate_der, ecdsa.key.private_key_der));
  }
  SECTION("PKCS#8 PEM and DER keys") {
    for (const testing::Identity* id : {&ecdsa, &rsa}) {
      std::optional<std::string> pem = testing::pkcs8_private_key_pem(id->key);
      std::optional<std::string> der = testing::pkcs8_private_key_der(id->key);
      REQUIRE(pem);
      REQUIRE(der);
      CHECK_THAT(*pem, ContainsSubstring("-----BEGIN PRIVATE KEY-----"));
      must_build(bare_server(sources).certificate(id->certificate_pem, *pem));
      must_build(bare_server(sources).certificate(id->certificate_der, *der));
    }
  }
}

TEST_CASE("encrypted PEM keys need the right passphrase", "[config]") {
  Sources sources;
  const std::string passphrase = "correct horse battery staple";
  const std::string encrypted = encrypted_or_skip(ecdsa_key_pem(), passphrase);
  REQUIRE_THAT(encrypted, ContainsSubstring("-----BEGIN ENCRYPTED PRIVATE KEY-----"));

  SECTION("right passphrase") {
    Config server =
        must_build(bare_server(sources).certificate(ecdsa_chain_pem(), encrypted, passphrase));
    Config client = must_build(client_builder(sources));
    Pair pair = make_pair(client, server);
    REQUIRE(pair.handshake());
  }
  SECTION("no passphrase") {
    check_fails(bare_server(sources).certificate(ecdsa_chain_pem(), encrypted).build(),
                ErrorCode::key_passphrase_required, "ERR_TLS_KEY_PASSPHRASE_REQUIRED",
                "no passphrase was given");
  }
  SECTION("wrong passphrase") {
    check_fails(
        bare_server(sources).certificate(ecdsa_chain_pem(), encrypted, "Tr0ub4dor&3").build(),
        ErrorCode::key_passphrase_wrong, "ERR_TLS_KEY_PASSPHRASE_WRONG", "wrong passphrase");
  }
  SECTION("many wrong passphrases: never reported as a parse failure") {
    // A wrong passphrase decrypts to garbage whose CBC padding is valid about
    // once in 256 tries; that must still be reported as a wrong passphrase.
    for (int i = 0; i < 300; ++i) {
      const std::string wrong = "wrong-" + std::to_string(i);
      auto config = bare_server(sources).certificate(ecdsa_chain_pem(), encrypted, wrong).build();
      REQUIRE_FALSE(config);
      INFO("passphrase " << wrong << ": " << config.error().name() << ": "
                         << config.error().message());
      REQUIRE(config.error().code() == ErrorCode::key_passphrase_wrong);
    }
  }
}

// ------------------------------------------------------------ roles, trust

TEST_CASE("a server needs a certificate", "[config]") {
  Sources sources;
  check_fails(bare_server(sources).build(), ErrorCode::missing_certificate,
              "ERR_TLS_MISSING_CERTIFICATE", "a server needs a certificate");
  // Trust anchors are not a certificate of its own.
  check_fails(bare_server(sources).trust_anchors(trusted_roots_pem()).build(),
              ErrorCode::missing_certificate, "ERR_TLS_MISSING_CERTIFICATE", "private key");
}

TEST_CASE("required verification needs trust anchors", "[config]") {
  Sources sources;
  ConfigBuilder client(Role::client);
  client.random(sources.client_random).clock(sources.clock);
  check_fails(client.build(), ErrorCode::missing_trust_anchors, "ERR_TLS_MISSING_CA",
              "no trust anchors");
  CHECK_THAT(std::string(client.build().error().message()),
             ContainsSubstring("system_trust_anchors"));
  check_fails(ConfigBuilder(client).peer_verification(PeerVerification::required).build(),
              ErrorCode::missing_trust_anchors, "ERR_TLS_MISSING_CA", "required");

  Config optional = must_build(ConfigBuilder(client).peer_verification(PeerVerification::optional));
  CHECK(optional.peer_verification() == PeerVerification::optional);
  Config none = must_build(ConfigBuilder(client).peer_verification(PeerVerification::none));
  CHECK(none.peer_verification() == PeerVerification::none);

  // A server that requires client certificates needs anchors too.
  check_fails(server_builder(sources).peer_verification(PeerVerification::required).build(),
              ErrorCode::missing_trust_anchors, "ERR_TLS_MISSING_CA", "no trust anchors");
  Config server = must_build(server_builder(sources)
                                 .peer_verification(PeerVerification::required)
                                 .trust_anchors(trusted_roots_pem()));
  CHECK(server.peer_verification() == PeerVerification::required);
}

TEST_CASE("garbage trust anchors are ERR_TLS_CA_PARSE_FAILED", "[config]") {
  Sources sources;
  SECTION("not PEM, not DER") {
    auto config = client_builder(sources).trust_anchors("definitely not a CA bundle").build();
    check_fails(config, ErrorCode::trust_anchor_parse_failed, "ERR_TLS_CA_PARSE_FAILED",
                "cannot parse trust anchors");
    CHECK(config.error().backend_code() < 0);
  }
  SECTION("a PEM bundle with nothing parseable") {
    check_fails(ConfigBuilder(Role::client)
                    .random(sources.client_random)
                    .clock(sources.clock)
                    .trust_anchors("-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n")
                    .build(),
                ErrorCode::trust_anchor_parse_failed, "ERR_TLS_CA_PARSE_FAILED", "trust anchors");
  }
  SECTION("DER trust anchors are accepted") {
    Config config = must_build(ConfigBuilder(Role::client)
                                   .random(sources.client_random)
                                   .clock(sources.clock)
                                   .trust_anchors(pki().ecdsa_root.certificate_der));
    Config server = must_build(server_builder(sources));
    Pair pair = make_pair(config, server);
    REQUIRE(pair.handshake());
    CHECK(pair.client.conn.info().authorized);
  }
}

// ------------------------------------------------------------ ALPN

TEST_CASE("ALPN protocol names must be 1 to 255 bytes", "[config]") {
  Sources sources;
  check_fails(client_builder(sources).alpn({"h2", ""}).build(), ErrorCode::invalid_alpn,
              "ERR_TLS_INVALID_ALPN_PROTOCOL", "1 to 255 bytes");
  check_fails(client_builder(sources).alpn({std::string(256, 'x')}).build(),
              ErrorCode::invalid_alpn, "ERR_TLS_INVALID_ALPN_PROTOCOL", "1 to 255 bytes");
  Config config =
      must_build(client_builder(sources).alpn({"h2", std::string(255, 'y'), "http/1.1"}));
  CHECK(config.alpn_protocols() ==
        std::vector<std::string>{"h2", std::string(255, 'y'), "http/1.1"});
}

// ------------------------------------------------------------ Connection creation

TEST_CASE("Connection::client needs a server name unless told otherwise", "[config]") {
  Sources sources;
  Config client_config = must_build(client_builder(sources));
  auto empty = Connection::client(client_config, "");
  check_fails(empty, ErrorCode::missing_server_name, "ERR_TLS_MISSING_SERVER_NAME",
              "client_without_server_name");

  auto anonymous = Connection::client_without_server_name(client_config);
  REQUIRE(anonymous);
  CHECK(anonymous->role() == Role::client);
  CHECK(anonymous->error().ok());
  CHECK(anonymous->wants().has_output);  // the ClientHello is ready at once
  CHECK(anonymous->info().server_name.empty());
}

TEST_CASE("server names longer than 255 bytes are refused", "[config]") {
  Sources sources;
  Config client_config = must_build(client_builder(sources));
  check_fails(Connection::client(client_config, std::string(256, 'a')), ErrorCode::invalid_argument,
              "ERR_INVALID_ARG_VALUE", "255 bytes");
  auto longest = Connection::client(client_config, std::string(255, 'a'));
  REQUIRE(longest);
  CHECK(longest->info().server_name == std::string(255, 'a'));
}

TEST_CASE("a Connection's role must match its Config's", "[config]") {
  Sources sources;
  Config client_config = must_build(client_builder(sources));
  Config server_config = must_build(server_builder(sources));
  check_fails(Connection::client(server_config, "localhost"), ErrorCode::invalid_argument,
              "ERR_INVALID_ARG_VALUE", "a client connection needs a client Config");
  check_fails(Connection::client_without_server_name(server_config), ErrorCode::invalid_argument,
              "ERR_INVALID_ARG_VALUE", "client Config");
  check_fails(Connection::server(client_config), ErrorCode::invalid_argument,
              "ERR_INVALID_ARG_VALUE", "a server connection needs a server Config");
}

// ------------------------------------------------------------ sharing, lifetime

TEST_CASE("one Config serves many Connections", "[config]") {
  Sources sources;
  Config client_config = must_build(client_builder(sources));
  Config server_config = must_build(server_builder(sources));
  Pair first = make_pair(client_config, server_config);
  Pair second = make_pair(client_config, server_config);
  // Interleave the two handshakes.
  first.pump(1);
  second.pump(1);
  REQUIRE(first.handshake());
  REQUIRE(second.handshake());
  CHECK(first.client.conn.info().authorized);
  CHECK(second.client.conn.info().authorized);
  CHECK(first.client.conn.info().peer_certificates.at(0).der ==
        second.client.conn.info().peer_certificates.at(0).der);
}

TEST_CASE("a Config holds memory and outlives its builder and inputs", "[config]") {
  Sources sources;
  std::optional<Config> server_config;
  std::optional<Config> client_config;
  {
    std::string chain = ecdsa_chain_pem();
    std::string key = ecdsa_key_pem();
    std::string roots = trusted_roots_pem();
    ConfigBuilder server(Role::server);
    server.random(sources.server_random).clock(sources.clock).certificate(chain, key).alpn({"h2"});
    ConfigBuilder client(Role::client);
    client.random(sources.client_random).clock(sources.clock).trust_anchors(roots).alpn({"h2"});
    server_config = must_build(server);
    client_config = must_build(client);
    // Scribble over the inputs before they go away.
    std::fill(chain.begin(), chain.end(), 'X');
    std::fill(key.begin(), key.end(), 'X');
    std::fill(roots.begin(), roots.end(), 'X');
  }
  CHECK(server_config->memory_bytes() > 0);
  CHECK(client_config->memory_bytes() > 0);
  // The server holds its parsed chain and key: more than the bare client.
  CHECK(server_config->memory_bytes() > 1000);

  // Copies share the state; the original may go first.
  Config server_copy = *server_config;
  server_config.reset();
  CHECK(server_copy.memory_bytes() > 0);

  Pair pair = make_pair(*client_config, server_copy);
  REQUIRE(pair.handshake());
  CHECK(pair.client.conn.info().authorized);
  CHECK(pair.client.conn.info().alpn_protocol == "h2");
}

// ------------------------------------------------------------ platform

TEST_CASE("platform helpers: read_file, os_random, system_clock", "[config]") {
  SECTION("read_file on a missing file names it") {
    const std::string path = "/nonexistent-sanstls-dir/missing.pem";
    auto bytes = platform::read_file(path);
    check_fails(bytes, ErrorCode::invalid_argument, "ERR_INVALID_ARG_VALUE", path.c_str());
    CHECK_THAT(std::string(bytes.error().message()), ContainsSubstring("No such file"));
  }
  SECTION("read_file reads a whole file") {
    char path[] = "/tmp/sanstls-config-test-XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    std::string content(100000, '\0');
    for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7);
    REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    close(fd);
    auto bytes = platform::read_file(path);
    std::remove(path);
    REQUIRE(bytes);
    CHECK(std::string(bytes->begin(), bytes->end()) == content);
  }
  SECTION("os_random fills, and two fills differ") {
    uint8_t a[32] = {0};
    uint8_t b[32] = {0};
    REQUIRE(platform::os_random().fill(MutableByteView(a, sizeof a)));
    REQUIRE(platform::os_random().fill(MutableByteView(b, sizeof b)));
    CHECK(std::memcmp(a, b, sizeof a) != 0);
    CHECK(platform::os_random().fill(MutableByteView()));
  }
  SECTION("system_clock is after 2024") {
    const int64_t jan_2024_ms = 1704067200000LL;
    CHECK(platform::system_clock().now_ms() > jan_2024_ms);
  }
  SECTION("OS sources build a working Config") {
    Config config = must_build(ConfigBuilder(Role::server)
                                   .random(platform::os_random())
                                   .clock(platform::system_clock())
                                   .certificate(ecdsa_chain_pem(), ecdsa_key_pem()));
    CHECK(config.memory_bytes() > 0);
  }
}

// ------------------------------------------------------------ error.h

TEST_CASE("error.h helpers: alert, code and stage names", "[config]") {
  CHECK(std::string(alert_name(Alert::handshake_failure)) == "handshake_failure");
  CHECK(std::string(alert_name(Alert::close_notify)) == "close_notify");
  CHECK(std::string(alert_name(Alert::no_application_protocol)) == "no_application_protocol");
  CHECK(std::string(alert_name(static_cast<Alert>(200))) == "unknown");
  CHECK(std::string(alert_name(static_cast<Alert>(1))) == "unknown");

  CHECK(std::string(error_code_name(ErrorCode::none)) == "OK");
  CHECK(std::string(error_code_name(ErrorCode::invalid_argument)) == "ERR_INVALID_ARG_VALUE");
  CHECK(std::string(error_code_name(ErrorCode::key_certificate_mismatch)) ==
        "ERR_OSSL_X509_KEY_VALUES_MISMATCH");
  CHECK(std::string(error_code_name(ErrorCode::hostname_mismatch)) ==
        "ERR_TLS_CERT_ALTNAME_INVALID");
  CHECK(std::string(error_code_name(ErrorCode::unexpected_eof)) ==
        "ERR_SSL_UNEXPECTED_EOF_WHILE_READING");
  CHECK(std::string(error_code_name(ErrorCode::internal_error)) == "ERR_TLS_INTERNAL");
  CHECK(std::string(error_code_name(static_cast<ErrorCode>(9999))) == "ERR_TLS_UNKNOWN");

  CHECK(error_code_stage(ErrorCode::none) == Stage::none);
  CHECK(error_code_stage(ErrorCode::certificate_parse_failed) == Stage::config);
  CHECK(error_code_stage(ErrorCode::invalid_alpn) == Stage::config);
  CHECK(error_code_stage(ErrorCode::no_shared_cipher) == Stage::handshake);
  CHECK(error_code_stage(ErrorCode::cert_has_expired) == Stage::certificate);
  CHECK(error_code_stage(ErrorCode::unexpected_eof) == Stage::transport);
  CHECK(error_code_stage(ErrorCode::bad_record_mac) == Stage::record);
  CHECK(error_code_stage(ErrorCode::random_failed) == Stage::internal);

  CHECK(std::string(stage_name(Stage::none)) == "none");
  CHECK(std::string(stage_name(Stage::config)) == "config");
  CHECK(std::string(stage_name(Stage::certificate)) == "certificate");
  CHECK(std::string(stage_name(Stage::internal)) == "internal");
}

TEST_CASE("every ErrorCode has a distinct registered name", "[config]") {
  const auto last = static_cast<uint16_t>(ErrorCode::internal_error);
  std::set<std::string> names;
  for (uint16_t i = 0; i <= last; ++i) {
    const auto code = static_cast<ErrorCode>(i);
    const std::string name = error_code_name(code);
    CAPTURE(i, name);
    CHECK_FALSE(name.empty());
    CHECK(name != "ERR_TLS_UNKNOWN");
    CHECK(names.insert(name).second);
    // Everything between invalid_argument and invalid_alpn belongs to the config stage.
    if (i >= static_cast<uint16_t>(ErrorCode::invalid_argument) &&
        i <= static_cast<uint16_t>(ErrorCode::invalid_alpn)) {
      CHECK(error_code_stage(code) == Stage::config);
    }
  }
  CHECK(names.size() == static_cast<size_t>(last) + 1);
}

TEST_CASE("Error values: default, truncation, null message", "[config]") {
  Error none;
  CHECK(none.ok());
  CHECK_FALSE(static_cast<bool>(none));
  CHECK(none.stage() == Stage::none);
  CHECK(std::string(none.name()) == "OK");
  CHECK(std::string(none.message()).empty());

  const std::string long_text(500, 'm');
  Error truncated(ErrorCode::internal_error, Stage::internal, long_text.c_str());
  CHECK(std::strlen(truncated.message()) == Error::kMessageCapacity - 1);

  Error null_message(ErrorCode::invalid_argument, Stage::config, nullptr);
  CHECK(std::string(null_message.message()).empty());

  Error with_alert = Error(ErrorCode::peer_alert, Stage::handshake, "peer said no")
                         .with_alert(Alert::handshake_failure, AlertDirection::received)
                         .with_backend_code(-0x7780);
  CHECK(with_alert.has_alert());
  CHECK(with_alert.alert() == Alert::handshake_failure);
  CHECK(with_alert.alert_direction() == AlertDirection::received);
  CHECK(with_alert.backend_code() == -0x7780);
}
