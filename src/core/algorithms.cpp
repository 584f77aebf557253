#include "algorithms.h"

#include <iterator>

#include "mbedtls/build_info.h"

namespace sanstls::detail {
namespace {

constexpr TlsVersion v12 = TlsVersion::tls1_2;
constexpr TlsVersion v13 = TlsVersion::tls1_3;

// Default order follows modern practice: AEAD only, AES-128 first (fastest
// with AES-NI), ChaCha20 for machines without it.
constexpr CipherSuite kSuites[] = {
    {0x1301, "TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", v13, true},
    {0x1302, "TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", v13, true},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256", v13, true},
    {0x1304, "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_SHA256", v13, false},
    {0x1305, "TLS_AES_128_CCM_8_SHA256", "TLS_AES_128_CCM_8_SHA256", v13, false},
#if defined(MBEDTLS_SSL_PROTO_TLS1_2)  // a TLS 1.3-only build (firmware) knows no 1.2 suite
    {0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256", v12, true},
    {0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", v12, true},
    {0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384", v12, true},
    {0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384", v12, true},
    {0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", v12,
     true},
    {0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305", v12,
     true},
    {0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", "ECDHE-ECDSA-AES128-CCM", v12, false},
    {0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", "ECDHE-ECDSA-AES256-CCM", v12, false},
    {0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256", v12, false},
    {0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "ECDHE-ECDSA-AES256-SHA384", v12, false},
    {0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256", v12, false},
    {0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "ECDHE-RSA-AES256-SHA384", v12, false},
    {0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA", v12, false},
    {0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA", v12, false},
    {0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA", v12, false},
    {0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA", v12, false},
    {0x00A8, "TLS_PSK_WITH_AES_128_GCM_SHA256", "PSK-AES128-GCM-SHA256", v12, false},
    {0x00A9, "TLS_PSK_WITH_AES_256_GCM_SHA384", "PSK-AES256-GCM-SHA384", v12, false},
    {0xCCAB, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256", "PSK-CHACHA20-POLY1305", v12, false},
    {0xCCAC, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-PSK-CHACHA20-POLY1305", v12,
     false},
    {0xC037, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256", "ECDHE-PSK-AES128-CBC-SHA256", v12, false},
    {0xC038, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384", "ECDHE-PSK-AES256-CBC-SHA384", v12, false},
#endif
};

constexpr Group kGroups[] = {
    {0x001D, "X25519", {"x25519", nullptr, nullptr}, true},
    {0x0017, "P-256", {"prime256v1", "secp256r1", nullptr}, true},
    {0x0018, "P-384", {"secp384r1", nullptr, nullptr}, true},
    {0x0019, "P-521", {"secp521r1", nullptr, nullptr}, false},
    {0x001E, "X448", {"x448", nullptr, nullptr}, false},
};

bool same_name(std::string_view a, const char* b) noexcept {
  if (b == nullptr) return false;
  size_t i = 0;
  for (; i < a.size(); ++i) {
    if (b[i] == '\0') return false;
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return b[i] == '\0';
}

}  // namespace

const CipherSuite* find_cipher_suite(std::string_view name) noexcept {
  for (const auto& suite : kSuites) {
    if (same_name(name, suite.iana_name) || same_name(name, suite.openssl_name)) return &suite;
  }
  return nullptr;
}

const CipherSuite* find_cipher_suite(uint16_t id) noexcept {
  for (const auto& suite : kSuites) {
    if (suite.id == id) return &suite;
  }
  return nullptr;
}

const CipherSuite* cipher_suites_begin() noexcept { return std::begin(kSuites); }
const CipherSuite* cipher_suites_end() noexcept { return std::end(kSuites); }

const Group* find_group(std::string_view name) noexcept {
  for (const auto& group : kGroups) {
    if (same_name(name, group.name)) return &group;
    for (const char* alias : group.aliases) {
      if (same_name(name, alias)) return &group;
    }
  }
  return nullptr;
}

const Group* find_group(uint16_t id) noexcept {
  for (const auto& group : kGroups) {
    if (group.id == id) return &group;
  }
  return nullptr;
}

const Group* groups_begin() noexcept { return std::begin(kGroups); }
const Group* groups_end() noexcept { return std::end(kGroups); }

const char* signature_scheme_name(uint16_t id) noexcept {
  // Every scheme a peer may sign with, also those we do not offer: info()
  // reports what happened.
  switch (id) {
    case 0x0401:
      return "rsa_pkcs1_sha256";
    case 0x0501:
      return "rsa_pkcs1_sha384";
    case 0x0601:
      return "rsa_pkcs1_sha512";
    case 0x0201:
      return "rsa_pkcs1_sha1";
    case 0x0203:
      return "ecdsa_sha1";
    case 0x0403:
      return "ecdsa_secp256r1_sha256";
    case 0x0503:
      return "ecdsa_secp384r1_sha384";
    case 0x0603:
      return "ecdsa_secp521r1_sha512";
    case 0x0804:
      return "rsa_pss_rsae_sha256";
    case 0x0805:
      return "rsa_pss_rsae_sha384";
    case 0x0806:
      return "rsa_pss_rsae_sha512";
    case 0x0807:
      return "ed25519";
    case 0x0808:
      return "ed448";
    case 0x0809:
      return "rsa_pss_pss_sha256";
    case 0x080a:
      return "rsa_pss_pss_sha384";
    case 0x080b:
      return "rsa_pss_pss_sha512";
    default:
      return "";
  }
}

}  // namespace sanstls::detail

namespace sanstls {

const char* handshake_type_name(uint8_t type) noexcept {
  switch (type) {
    case 0:
      return "HelloRequest";
    case 1:
      return "ClientHello";
    case 2:
      return "ServerHello";
    case 4:
      return "NewSessionTicket";
    case 5:
      return "EndOfEarlyData";
    case 8:
      return "EncryptedExtensions";
    case 11:
      return "Certificate";
    case 12:
      return "ServerKeyExchange";
    case 13:
      return "CertificateRequest";
    case 14:
      return "ServerHelloDone";
    case 15:
      return "CertificateVerify";
    case 16:
      return "ClientKeyExchange";
    case 20:
      return "Finished";
    case 24:
      return "KeyUpdate";
    case 254:
      return "message_hash";
    default:
      return "unknown";
  }
}

const char* content_type_name(uint8_t type) noexcept {
  switch (type) {
    case 20:
      return "change_cipher_spec";
    case 21:
      return "alert";
    case 22:
      return "handshake";
    case 23:
      return "application_data";
    default:
      return "unknown";
  }
}

}  // namespace sanstls
