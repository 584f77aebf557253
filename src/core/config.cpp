#include "sanstls/config.h"

#include <cstring>

#include "algorithms.h"
#include "error_text.h"
#include "config_state.h"
#include "mbedtls/base64.h"
#include "mbedtls/error.h"
#include "mbedtls/ctr_drbg.h"
#include "psa/crypto.h"

namespace sanstls {
namespace detail {

int random_callback(void* random_source, unsigned char* out, size_t len) {
  auto* source = static_cast<RandomSource*>(random_source);
  return source->fill(MutableByteView(out, len)) ? 0 : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}

#if defined(MBEDTLS_X509_TRUSTED_CERTIFICATE_CALLBACK)
// A CertificateVerifier without trust anchors: mbedTLS's required mode
// insists on a CA source, and this one offers no CA (the verifier decides).
int no_trust_anchors(void*, const mbedtls_x509_crt*, mbedtls_x509_crt** candidates) {
  *candidates = nullptr;
  return 0;
}
#endif

ConfigState::ConfigState() {
  account = MemoryAccount::create();
  CallScope scope(account, nullptr, nullptr);
#if defined(MBEDTLS_X509_CRT_PARSE_C)
  mbedtls_x509_crt_init(&trust_anchors);
#endif
#if defined(MBEDTLS_X509_CRL_PARSE_C)
  mbedtls_x509_crl_init(&crls);
#endif
  mbedtls_ssl_config_init(&conf);
}

ConfigState::~ConfigState() {
  {
    CallScope scope(account, clock, random);
    mbedtls_ssl_config_free(&conf);
#if defined(MBEDTLS_X509_CRT_PARSE_C)
    mbedtls_x509_crt_free(&trust_anchors);
#endif
#if defined(MBEDTLS_X509_CRL_PARSE_C)
    mbedtls_x509_crl_free(&crls);
#endif
    identities.clear();
  }
  if (account != nullptr) account->detach();
}

}  // namespace detail

namespace {

using detail::ConfigState;

Error config_error(ErrorCode code, const char* message) {
  return Error(code, Stage::config, message);
}

Error config_error(ErrorCode code, const char* what, int mbedtls_code) {
  char text[Error::kMessageCapacity];
#if defined(MBEDTLS_ERROR_C)
  char reason[96];
  mbedtls_strerror(mbedtls_code, reason, sizeof reason);
  SANSTLS_FORMAT_ERROR_TEXT(text, "%s (%s)", what, reason);
#else
  SANSTLS_FORMAT_ERROR_TEXT(text, "%s (mbedTLS error -0x%04X)", what,
                            static_cast<unsigned>(-mbedtls_code));
#endif
  return Error(code, Stage::config, text).with_backend_code(mbedtls_code);
}

// A setting that needs a part of mbedTLS this build's configuration left
// out (the firmware profiles, config/mbedtls/sanstls_firmware_*.h).
[[maybe_unused]] Error not_built_in(const char* feature, const char* option) {
  char text[Error::kMessageCapacity];
  SANSTLS_FORMAT_ERROR_TEXT(text, "%s is not built in (the mbedTLS configuration lacks %s)",
                            feature, option);
  return Error(ErrorCode::invalid_argument, Stage::config, text);
}

bool looks_like_pem(ByteView bytes) {
  const std::string_view text = bytes.as_text();
  return text.find("-----BEGIN ") != std::string_view::npos;
}

// mbedTLS parses PEM only from NUL-terminated buffers whose length counts the NUL.
[[maybe_unused]] std::vector<uint8_t> parser_input(ByteView bytes) {
  std::vector<uint8_t> out(bytes.begin(), bytes.end());
  if (looks_like_pem(bytes)) out.push_back(0);
  return out;
}

// The same for a private key: one exact-size copy, wiped when released.
[[maybe_unused]] SecretBytes secret_parser_input(ByteView bytes) {
  if (!looks_like_pem(bytes)) return SecretBytes(bytes);
  std::vector<uint8_t> terminated;
  terminated.reserve(bytes.size() + 1);
  terminated.assign(bytes.begin(), bytes.end());
  terminated.push_back(0);
  SecretBytes out{ByteView(terminated)};
  secure_wipe(terminated.data(), terminated.size());
  return out;
}

template <class Fn>
void for_each_item(std::string_view list, Fn&& fn) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find_first_of(":,", start);
    if (end == std::string_view::npos) end = list.size();
    std::string_view item = list.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) fn(item);
    start = end + 1;
  }
}

bool version_enabled(const ConfigState& s, TlsVersion v) {
  return static_cast<uint16_t>(v) >= static_cast<uint16_t>(s.min_version) &&
         static_cast<uint16_t>(v) <= static_cast<uint16_t>(s.max_version);
}

Error parse_cipher_suites(ConfigState& s, bool set, const std::string& list, bool with_psk) {
  s.suites.clear();
  if (!set) {
    for (auto* it = detail::cipher_suites_begin(); it != detail::cipher_suites_end(); ++it) {
      if (it->default_enabled) s.suites.push_back(it->id);
    }
#if defined(MBEDTLS_SSL_PROTO_TLS1_2)  // else not in the suite table (algorithms.cpp)
    if (with_psk) {
      // TLS 1.2 needs PSK suites for an external PSK: the AEAD ones.
      for (uint16_t id : {0xCCACu, 0x00A8u, 0x00A9u, 0xCCABu})
        s.suites.push_back(static_cast<int>(id));
    }
#else
    (void)with_psk;
#endif
  } else {
    Error error;
    for_each_item(list, [&](std::string_view name) {
      const detail::CipherSuite* suite = detail::find_cipher_suite(name);
      if (suite == nullptr) {
        if (error.ok()) {
          char text[Error::kMessageCapacity];
          SANSTLS_FORMAT_ERROR_TEXT(text, "unknown or unsupported cipher suite '%.*s'",
                                    static_cast<int>(name.size()), name.data());
          error = config_error(ErrorCode::unknown_cipher_suite, text);
        }
        return;
      }
      s.suites.push_back(suite->id);
    });
    if (error) return error;
  }
  bool has12 = false, has13 = false;
  for (int id : s.suites) {
    const detail::CipherSuite* suite = detail::find_cipher_suite(static_cast<uint16_t>(id));
    (suite->version == TlsVersion::tls1_3 ? has13 : has12) = true;
  }
  if (version_enabled(s, TlsVersion::tls1_3) && !has13) {
    return config_error(ErrorCode::no_usable_cipher_suite,
                        "TLS 1.3 is enabled but no TLS 1.3 cipher suite is configured; "
                        "add one or set the maximum version to TLS 1.2");
  }
  if (version_enabled(s, TlsVersion::tls1_2) && !has12) {
    return config_error(ErrorCode::no_usable_cipher_suite,
                        "TLS 1.2 is enabled but no TLS 1.2 cipher suite is configured; "
                        "add one or set the minimum version to TLS 1.3");
  }
  s.suites.push_back(0);
  return Error();
}

Error parse_groups(ConfigState& s, bool set, const std::string& list) {
  s.groups.clear();
  if (!set) {
    for (auto* it = detail::groups_begin(); it != detail::groups_end(); ++it) {
      if (it->default_enabled) s.groups.push_back(it->id);
    }
  } else {
    Error error;
    for_each_item(list, [&](std::string_view name) {
      const detail::Group* group = detail::find_group(name);
      if (group == nullptr) {
        if (error.ok()) {
          char text[Error::kMessageCapacity];
          SANSTLS_FORMAT_ERROR_TEXT(text, "unknown or unsupported group '%.*s'",
                                    static_cast<int>(name.size()), name.data());
          error = config_error(ErrorCode::unknown_group, text);
        }
        return;
      }
      s.groups.push_back(group->id);
    });
    if (error) return error;
    if (s.groups.empty()) return config_error(ErrorCode::unknown_group, "the group list is empty");
  }
  s.groups.push_back(0);
  return Error();
}

// random_callback that also records whether the source failed, so a failing
// RandomSource is not misreported as a bad key.
struct RandomProbe {
  RandomSource* source;
  bool failed = false;
};

[[maybe_unused]] int probing_random(void* probe_pointer, unsigned char* out, size_t len) {
  auto* probe = static_cast<RandomProbe*>(probe_pointer);
  const int ret = detail::random_callback(probe->source, out, len);
  if (ret != 0) probe->failed = true;
  return ret;
}

[[maybe_unused]] Error random_failed_error() {
  return config_error(ErrorCode::random_failed,
                      "the random source failed while loading the private key");
}

Error load_identity(ConfigState& s, ByteView chain, ByteView key, ByteView passphrase) {
#if !defined(MBEDTLS_X509_CRT_PARSE_C)
  (void)s, (void)chain, (void)key, (void)passphrase;
  return not_built_in("certificates", "MBEDTLS_X509_CRT_PARSE_C");
#else
  RandomProbe probe{s.random};
  auto identity = std::make_unique<detail::OwnIdentity>();
  std::vector<uint8_t> chain_input = parser_input(chain);
  int ret = mbedtls_x509_crt_parse(&identity->chain, chain_input.data(), chain_input.size());
  if (ret != 0) {
    if (ret > 0) {
      return config_error(ErrorCode::certificate_parse_failed,
                          "some certificates of the chain could not be parsed");
    }
    return config_error(ErrorCode::certificate_parse_failed, "cannot parse certificate chain", ret);
  }
  // mbedTLS 3.6 writes a handshake message in one 16 KiB buffer: a chain
  // whose Certificate message is larger could never be sent. Judged in the
  // smallest form the Config allows (TLS 1.3 adds a context byte and two
  // bytes of extensions per certificate).
  const bool tls13_only = s.min_version == TlsVersion::tls1_3;
  size_t certificate_message = 4 + 3 + (tls13_only ? 1 : 0);  // header, (context), list length
  for (const mbedtls_x509_crt* crt = &identity->chain; crt != nullptr && crt->raw.p != nullptr;
       crt = crt->next) {
    certificate_message += 3 + crt->raw.len + (tls13_only ? 2 : 0);
  }
  if (certificate_message > MBEDTLS_SSL_OUT_CONTENT_LEN) {
    char text[Error::kMessageCapacity];
    SANSTLS_FORMAT_ERROR_TEXT(
        text,
        "the certificate chain makes a %zu-byte Certificate message; mbedTLS 3.6 "
        "sends at most %d bytes (drop certificates the peer does not need)",
        certificate_message, MBEDTLS_SSL_OUT_CONTENT_LEN);
    return config_error(ErrorCode::invalid_argument, text);
  }
  const SecretBytes key_input = secret_parser_input(key);
  ret = mbedtls_pk_parse_key(&identity->key, key_input.data(), key_input.size(), passphrase.data(),
                             passphrase.size(), probing_random, &probe);
  if (ret != 0 && probe.failed) return random_failed_error();
  if (ret == MBEDTLS_ERR_PK_PASSWORD_REQUIRED) {
    return config_error(ErrorCode::key_passphrase_required,
                        "the private key is encrypted and no passphrase was given");
  }
  if (ret == MBEDTLS_ERR_PK_PASSWORD_MISMATCH) {
    return config_error(ErrorCode::key_passphrase_wrong,
                        "wrong passphrase for the encrypted private key");
  }
  // A wrong passphrase decrypts to garbage whose CBC padding is still valid
  // about once in 256 tries; mbedTLS then reports a parse error.
  const std::string_view key_text = key.as_text();
  const bool encrypted_pem =
      looks_like_pem(key) && key_text.find("ENCRYPTED") != std::string_view::npos;
  if (ret != 0 && encrypted_pem && !passphrase.empty()) {
    return config_error(ErrorCode::key_passphrase_wrong,
                        "wrong passphrase for the encrypted private key", ret);
  }
  if (ret != 0) return config_error(ErrorCode::key_parse_failed, "cannot parse private key", ret);
  ret = mbedtls_pk_check_pair(&identity->chain.pk, &identity->key, probing_random, &probe);
  if (ret != 0 && probe.failed) return random_failed_error();
  if (ret != 0) {
    return config_error(ErrorCode::key_certificate_mismatch,
                        "key values mismatch: the private key does not belong to the "
                        "certificate");
  }
  s.identities.push_back(std::move(identity));
  return Error();
#endif
}

Error set_up_resumption(const ConfigBuilder::Settings& b, ConfigState& s) {
  s.ticket_count = b.ticket_count;
  s.ticket_lifetime = b.ticket_lifetime;
  if (s.ticket_lifetime == 0 || s.ticket_lifetime > 7 * 24 * 3600) {
    return config_error(ErrorCode::invalid_argument,
                        "a ticket lifetime is 1 second to 7 days (RFC 8446 4.6.1)");
  }
  if (s.role == Role::client) {
    mbedtls_ssl_conf_session_tickets(&s.conf, s.ticket_count > 0
                                                  ? MBEDTLS_SSL_SESSION_TICKETS_ENABLED
                                                  : MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
    return Error();
  }
#if defined(MBEDTLS_SSL_SRV_C)
  if (b.session_store) {
    s.session_store = b.session_store;
    mbedtls_ssl_conf_session_cache(&s.conf, &s, detail::cache_get, detail::cache_set);
  }
  if (s.ticket_count == 0) {
    mbedtls_ssl_conf_new_session_tickets(&s.conf, 0);
    return Error();
  }
  if (b.ticket_keys) {
    s.ticket_keys = b.ticket_keys;
  } else {
    auto keys = TicketKeys::generate(*s.random);
    if (!keys) return keys.error();
    s.ticket_keys = keys.value();
  }
  mbedtls_ssl_conf_session_tickets_cb(&s.conf, detail::ticket_write, detail::ticket_parse, &s);
  mbedtls_ssl_conf_new_session_tickets(
      &s.conf, static_cast<uint16_t>(s.ticket_count > 16 ? 16 : s.ticket_count));
#endif
  return Error();
}

Error build_state(const ConfigBuilder::Settings& b, ConfigState& s);

struct SignatureName {
  uint16_t id;
  const char* iana;
  const char* openssl;
};

constexpr SignatureName kSignatures[] = {
    {0x0403, "ecdsa_secp256r1_sha256", "ECDSA+SHA256"},
    {0x0503, "ecdsa_secp384r1_sha384", "ECDSA+SHA384"},
    {0x0603, "ecdsa_secp521r1_sha512", "ECDSA+SHA512"},
    {0x0804, "rsa_pss_rsae_sha256", "RSA-PSS+SHA256"},
    {0x0805, "rsa_pss_rsae_sha384", "RSA-PSS+SHA384"},
    {0x0806, "rsa_pss_rsae_sha512", "RSA-PSS+SHA512"},
    {0x0401, "rsa_pkcs1_sha256", "RSA+SHA256"},
    {0x0501, "rsa_pkcs1_sha384", "RSA+SHA384"},
    {0x0601, "rsa_pkcs1_sha512", "RSA+SHA512"},
};

bool same_text(std::string_view a, const char* b) {
  if (a.size() != std::strlen(b)) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

// A client offering TLS 1.2 and 1.3 sends one signature_algorithms list.
// mbedTLS 3.6 offers rsa_pss_rsae_* in it (TLS 1.3 needs them) ahead of
// rsa_pkcs1_*, yet its TLS 1.2 client rejects a ServerKeyExchange signed
// with RSA-PSS (illegal_parameter): a TLS 1.2 server with an RSA key that
// follows the client's order (OpenSSL, Go, BoringSSL) picks RSA-PSS and the
// handshake fails. So such a client lists rsa_pkcs1_* before rsa_pss_rsae_*:
// TLS 1.2 servers then pick PKCS#1 v1.5, and TLS 1.3 servers, which may not
// sign with PKCS#1 v1.5, still use RSA-PSS. Other schemes keep their order.
void prefer_pkcs1_for_tls12_servers(const ConfigBuilder::Settings& b, ConfigState& s) {
#if !defined(MBEDTLS_SSL_PROTO_TLS1_2)
  return;  // a TLS 1.3-only build; and X.509-less ones would refuse the list
#endif
  if (b.role != Role::client || b.min != TlsVersion::tls1_2 || b.max != TlsVersion::tls1_3) {
    return;
  }
  if (s.sig_algs.empty()) {
    for (const SignatureName& known : kSignatures) s.sig_algs.push_back(known.id);
    s.sig_algs.push_back(0);
  }
  auto is_rsa_pss_rsae = [](uint16_t id) { return id >= 0x0804 && id <= 0x0806; };
  auto is_rsa_pkcs1 = [](uint16_t id) { return (id & 0xff) == 1; };
  std::vector<uint16_t> ordered;
  bool pkcs1_placed = false;
  for (uint16_t id : s.sig_algs) {
    if (id == 0 || is_rsa_pkcs1(id)) continue;
    if (is_rsa_pss_rsae(id) && !pkcs1_placed) {
      for (uint16_t pkcs1 : s.sig_algs) {
        if (pkcs1 != 0 && is_rsa_pkcs1(pkcs1)) ordered.push_back(pkcs1);
      }
      pkcs1_placed = true;
    }
    ordered.push_back(id);
  }
  if (!pkcs1_placed) {
    for (uint16_t id : s.sig_algs) {
      if (id != 0 && is_rsa_pkcs1(id)) ordered.push_back(id);
    }
  }
  ordered.push_back(0);
  s.sig_algs = std::move(ordered);
}

Error parse_signature_algorithms(const ConfigBuilder::Settings& b, ConfigState& s) {
#if !defined(MBEDTLS_X509_CRT_PARSE_C)
  // Signatures only authenticate certificates: refused, and no names to parse.
  if (b.sig_algs_set) return not_built_in("signature algorithms", "MBEDTLS_X509_CRT_PARSE_C");
  return Error();
#endif
  if (!b.sig_algs_set) {
    prefer_pkcs1_for_tls12_servers(b, s);
    return Error();
  }
  Error error;
  for_each_item(b.sig_algs, [&](std::string_view name) {
    for (const SignatureName& known : kSignatures) {
      if (same_text(name, known.iana) || same_text(name, known.openssl)) {
        s.sig_algs.push_back(known.id);
        return;
      }
    }
    if (error.ok()) {
      char text[Error::kMessageCapacity];
      SANSTLS_FORMAT_ERROR_TEXT(text, "unknown or unsupported signature algorithm '%.*s'",
                                static_cast<int>(name.size()), name.data());
      error = config_error(ErrorCode::invalid_argument, text);
    }
  });
  if (error) return error;
  if (s.sig_algs.empty()) {
    return config_error(ErrorCode::invalid_argument, "the signature algorithm list is empty");
  }
  // mbedTLS 3.6 signs and verifies TLS 1.2 handshakes with ECDSA and RSA
  // PKCS#1 v1.5 only (docs/limitations.md): a TLS 1.2-only Config without
  // one of those could not even write its hello.
  if (b.max == TlsVersion::tls1_2) {
    bool usable = false;
    for (uint16_t id : s.sig_algs) {
      const uint8_t signature = static_cast<uint8_t>(id & 0xff);
      usable = usable || signature == 1 /* rsa */ || signature == 3 /* ecdsa */;
    }
    if (!usable) {
      return config_error(ErrorCode::invalid_argument,
                          "no signature algorithm usable in TLS 1.2: mbedTLS 3.6 has no RSA-PSS "
                          "in TLS 1.2; add ECDSA or RSA (PKCS#1 v1.5) schemes");
    }
  }
  s.sig_algs.push_back(0);
  prefer_pkcs1_for_tls12_servers(b, s);
  return Error();
}

Error set_up_psk_and_pins(const ConfigBuilder::Settings& b, ConfigState& s) {
  const bool client_psk = !b.psk_identity.empty() || !b.psk_key.empty();
  if (client_psk && b.role != Role::client) {
    return config_error(ErrorCode::invalid_argument,
                        "psk() is a client setting; servers use psk_lookup()");
  }
  if (b.psk_lookup && b.role != Role::server) {
    return config_error(ErrorCode::invalid_argument, "psk_lookup() is a server setting");
  }
  if (client_psk) {
    // mbedTLS 3.6.6 checks room for the identity in a TLS 1.2 ECDHE-PSK
    // ClientKeyExchange but not for the EC point after it (CVE-2026-50580):
    // keep 140 bytes (header, lengths, a P-521 point) of the output record.
    constexpr size_t kMaxIdentity = MBEDTLS_SSL_OUT_CONTENT_LEN - 140;
    if (b.psk_identity.empty() || b.psk_identity.size() > kMaxIdentity) {
      char text[Error::kMessageCapacity];
      SANSTLS_FORMAT_ERROR_TEXT(text, "a PSK identity must be 1 to %zu bytes", kMaxIdentity);
      return config_error(ErrorCode::invalid_psk, text);
    }
    if (b.psk_key.empty() || b.psk_key.size() > MBEDTLS_PSK_MAX_LEN) {
      char text[Error::kMessageCapacity];
      SANSTLS_FORMAT_ERROR_TEXT(text, "a PSK must be 1 to %d bytes long", MBEDTLS_PSK_MAX_LEN);
      return config_error(ErrorCode::invalid_psk, text);
    }
    s.psk_identity = b.psk_identity;
    s.psk_key.assign(b.psk_key.view());
  }
  s.psk_lookup = b.psk_lookup;
  if ((b.identity_check || !b.pins.empty()) && b.role != Role::client) {
    return config_error(ErrorCode::invalid_argument,
                        "identity checks and public key pins are client settings");
  }
  s.identity_check = b.identity_check;
  s.certificate_verifier = b.certificate_verifier;
  if (b.client_certificate_selector && b.role != Role::client) {
    return config_error(ErrorCode::invalid_argument,
                        "client_certificate_selector() is a client setting");
  }
  s.client_certificate_selector = b.client_certificate_selector;
  for (std::string pin : b.pins) {
#if !defined(MBEDTLS_X509_CRT_PARSE_C)
    return not_built_in("public key pins", "MBEDTLS_X509_CRT_PARSE_C");
#endif
    if (pin.rfind("sha256/", 0) == 0) pin.erase(0, 7);
    unsigned char digest[64];
    size_t length = 0;
    if (mbedtls_base64_decode(digest, sizeof digest, &length,
                              reinterpret_cast<const unsigned char*>(pin.data()),
                              pin.size()) != 0 ||
        length != 32) {
      return config_error(ErrorCode::invalid_argument,
                          "a public key pin is the base64 SHA-256 of a SubjectPublicKeyInfo "
                          "(44 characters, optionally prefixed with sha256/)");
    }
    s.pins.emplace_back(digest, digest + 32);
  }
  return Error();
}

}  // namespace

const char* version_name(TlsVersion version) noexcept {
  return version == TlsVersion::tls1_3 ? "TLSv1.3" : "TLSv1.2";
}

ConfigBuilder::ConfigBuilder(Role role) { settings_.role = role; }

ConfigBuilder& ConfigBuilder::versions(TlsVersion min, TlsVersion max) {
  settings_.min = min;
  settings_.max = max;
  return *this;
}

ConfigBuilder& ConfigBuilder::cipher_suites(std::string_view list) {
  settings_.ciphers_set = true;
  settings_.ciphers.assign(list);
  return *this;
}

ConfigBuilder& ConfigBuilder::groups(std::string_view list) {
  settings_.groups_set = true;
  settings_.groups.assign(list);
  return *this;
}

ConfigBuilder& ConfigBuilder::certificate(ByteView chain, ByteView private_key,
                                          std::string_view passphrase) {
  settings_.identities.push_back(
      Settings::Identity{std::vector<uint8_t>(chain.begin(), chain.end()), SecretBytes(private_key),
                         SecretBytes(ByteView(passphrase))});
  return *this;
}

ConfigBuilder& ConfigBuilder::trust_anchors(ByteView pem_or_der) {
  settings_.trust_anchors.emplace_back(pem_or_der.begin(), pem_or_der.end());
  return *this;
}

ConfigBuilder& ConfigBuilder::crl(ByteView pem_or_der) {
  settings_.crls.emplace_back(pem_or_der.begin(), pem_or_der.end());
  return *this;
}

ConfigBuilder& ConfigBuilder::peer_verification(PeerVerification mode) {
  settings_.verification_set = true;
  settings_.verification = mode;
  return *this;
}

ConfigBuilder& ConfigBuilder::alpn(std::vector<std::string> protocols) {
  settings_.alpn = std::move(protocols);
  return *this;
}

ConfigBuilder& ConfigBuilder::random(RandomSource& source) {
  settings_.random = &source;
  return *this;
}

ConfigBuilder& ConfigBuilder::clock(Clock& clock) {
  settings_.clock = &clock;
  return *this;
}

SniAnswer SniAnswer::use(const Config& config) { return SniAnswer{Kind::use, config.state_}; }

ConfigBuilder& ConfigBuilder::alpn_selector(AlpnSelector selector) {
  settings_.alpn_selector = std::move(selector);
  return *this;
}

ConfigBuilder& ConfigBuilder::sni_context(std::string name, const Config& context) {
  settings_.sni_contexts.emplace_back(std::move(name), context.state_pointer());
  return *this;
}

ConfigBuilder& ConfigBuilder::strict_sni(bool strict) {
  settings_.strict_sni = strict;
  return *this;
}

ConfigBuilder& ConfigBuilder::sni_selector(SniSelector selector) {
  settings_.sni_selector = std::move(selector);
  return *this;
}

ConfigBuilder& ConfigBuilder::psk(std::string identity, ByteView key) {
  settings_.psk_identity = std::move(identity);
  settings_.psk_key.assign(key);
  return *this;
}

ConfigBuilder& ConfigBuilder::psk_lookup(PskLookup lookup) {
  settings_.psk_lookup = std::move(lookup);
  return *this;
}

ConfigBuilder& ConfigBuilder::psk_mode(PskMode mode) {
  settings_.psk_mode = mode;
  return *this;
}

ConfigBuilder& ConfigBuilder::client_certificate_selector(ClientCertificateSelector selector) {
  settings_.client_certificate_selector = std::move(selector);
  return *this;
}

ConfigBuilder& ConfigBuilder::preset(Preset preset) {
  settings_.min = preset == Preset::modern ? TlsVersion::tls1_3 : TlsVersion::tls1_2;
  settings_.max = TlsVersion::tls1_3;
  settings_.ciphers_set = true;
  settings_.ciphers =
      preset == Preset::modern
          ? "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
          : "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
            "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
            "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
  settings_.groups_set = true;
  settings_.groups = "X25519:P-256:P-384";
  return *this;
}

ConfigBuilder& ConfigBuilder::signature_algorithms(std::string_view list) {
  settings_.sig_algs_set = true;
  settings_.sig_algs.assign(list);
  return *this;
}

ConfigBuilder& ConfigBuilder::honor_cipher_order(bool server_order) {
  settings_.honor_cipher_order = server_order;
  return *this;
}

ConfigBuilder& ConfigBuilder::renegotiation(bool enabled) {
  settings_.renegotiation = enabled;
  return *this;
}

ConfigBuilder& ConfigBuilder::early_data(uint32_t max_bytes) {
  settings_.early_data = max_bytes;
  return *this;
}

ConfigBuilder& ConfigBuilder::handshake_timeout(uint32_t handshake_ms) {
  settings_.handshake_timeout_ms = handshake_ms;
  return *this;
}

ConfigBuilder& ConfigBuilder::close_timeout(uint32_t close_ms) {
  settings_.close_timeout_ms = close_ms;
  return *this;
}

ConfigBuilder& ConfigBuilder::max_send_fragment(size_t bytes) {
  settings_.max_send_fragment = bytes;
  return *this;
}

ConfigBuilder& ConfigBuilder::trace(TraceCallback callback) {
  settings_.trace = std::move(callback);
  return *this;
}

ConfigBuilder& ConfigBuilder::check_server_identity(IdentityCheck check) {
  settings_.identity_check = std::move(check);
  return *this;
}

ConfigBuilder& ConfigBuilder::certificate_verifier(CertificateVerifier verifier) {
  settings_.certificate_verifier = std::move(verifier);
  return *this;
}

ConfigBuilder& ConfigBuilder::pin_public_key(std::string sha256_base64) {
  settings_.pins.push_back(std::move(sha256_base64));
  return *this;
}

ConfigBuilder& ConfigBuilder::session_tickets(uint32_t count, uint32_t lifetime_seconds) {
  settings_.ticket_count = count;
  settings_.ticket_lifetime = lifetime_seconds;
  return *this;
}

ConfigBuilder& ConfigBuilder::ticket_keys(std::shared_ptr<TicketKeys> keys) {
  settings_.ticket_keys = std::move(keys);
  return *this;
}

ConfigBuilder& ConfigBuilder::early_data_replay_store(std::shared_ptr<EarlyDataReplayStore> store) {
  settings_.replay_store = std::move(store);
  return *this;
}

ConfigBuilder& ConfigBuilder::session_store(std::shared_ptr<SessionStore> store) {
  settings_.session_store = std::move(store);
  return *this;
}

ConfigBuilder& ConfigBuilder::key_log(KeyLogCallback callback) {
  settings_.key_log = std::move(callback);
  return *this;
}

ConfigBuilder& ConfigBuilder::max_connection_memory(size_t bytes) {
  settings_.max_connection_memory = bytes;
  return *this;
}

ConfigBuilder& ConfigBuilder::max_pending_output(size_t bytes) {
  settings_.max_pending_output = bytes;
  return *this;
}

Result<Config> ConfigBuilder::build() const {
  const Settings& b = settings_;
  if (b.random == nullptr) {
    return config_error(ErrorCode::invalid_argument,
                        "no random source: call random() (platform::os_random() for the OS)");
  }
  if (b.clock == nullptr) {
    return config_error(ErrorCode::invalid_argument,
                        "no clock: call clock() (platform::system_clock() for the OS)");
  }
  {
    // PSA's global state is mbedTLS's, not any Config's: keep it unaccounted.
    detail::CallScope scope(nullptr, b.clock, b.random);
    if (psa_crypto_init() != PSA_SUCCESS) {
      return config_error(ErrorCode::random_failed, "cannot initialise PSA crypto");
    }
  }
  auto state = std::make_shared<ConfigState>();
  if (state->account == nullptr) return config_error(ErrorCode::out_of_memory, "out of memory");
  state->random = b.random;
  state->clock = b.clock;
  Error error;
  {
    detail::CallScope scope(state->account, b.clock, b.random);
    error = build_state(b, *state);
  }
  if (error) return error;
  return Config(std::move(state));
}

namespace {

Error build_state(const ConfigBuilder::Settings& b, ConfigState& s) {
  s.role = b.role;
  const auto valid_version = [](TlsVersion v) {
    return v == TlsVersion::tls1_2 || v == TlsVersion::tls1_3;
  };
  if (!valid_version(b.min) || !valid_version(b.max)) {
    return config_error(ErrorCode::invalid_version, "only TLS 1.2 and TLS 1.3 are supported");
  }
  if (static_cast<uint16_t>(b.min) > static_cast<uint16_t>(b.max)) {
    return config_error(ErrorCode::version_range_conflict,
                        "the minimum TLS version is above the maximum");
  }
  s.min_version = b.min;
  s.max_version = b.max;
#if !defined(MBEDTLS_SSL_SRV_C)
  if (b.role == Role::server) return not_built_in("a TLS server", "MBEDTLS_SSL_SRV_C");
#endif
#if !defined(MBEDTLS_SSL_PROTO_TLS1_2)
  // A TLS 1.3-only build narrows a range that includes TLS 1.2.
  if (s.max_version == TlsVersion::tls1_2)
    return not_built_in("TLS 1.2", "MBEDTLS_SSL_PROTO_TLS1_2");
  s.min_version = TlsVersion::tls1_3;
#endif
  s.verification = b.verification_set       ? b.verification
                   : b.role == Role::client ? PeerVerification::required
                                            : PeerVerification::none;
  s.max_connection_memory = b.max_connection_memory;
  s.max_pending_output = b.max_pending_output < 2 * detail::kMaxRecordWireBytes
                             ? 2 * detail::kMaxRecordWireBytes
                             : b.max_pending_output;

  s.key_log = b.key_log;
  s.trace = b.trace;
  s.handshake_timeout_ms = b.handshake_timeout_ms.value_or(b.role == Role::server ? 120000u : 0u);
  s.close_timeout_ms = b.close_timeout_ms;
  if (b.max_send_fragment < 512 || b.max_send_fragment > 16384) {
    return config_error(ErrorCode::invalid_argument,
                        "max_send_fragment must be between 512 and 16384 bytes");
  }
  s.max_send_fragment = b.max_send_fragment;
  s.alpn_selector = b.alpn_selector;
  s.strict_sni = b.strict_sni;
  s.sni_selector = b.sni_selector;
  for (const auto& [name, context] : b.sni_contexts) {
    const bool wildcard = name.size() > 2 && name[0] == '*' && name[1] == '.';
    if (name.empty() || (name.find('*') != std::string::npos && !wildcard) ||
        name.find('*', 1) != std::string::npos) {
      return config_error(ErrorCode::invalid_argument,
                          "an SNI name is a host name or a wildcard of the form *.example.com");
    }
    if (context == nullptr || context->role != Role::server) {
      return config_error(ErrorCode::invalid_argument, "an SNI context must be a server Config");
    }
    s.sni_contexts.emplace_back(name, context);
  }
  if (s.role != Role::server &&
      (!s.sni_contexts.empty() || s.sni_selector || s.alpn_selector || s.strict_sni)) {
    return config_error(ErrorCode::invalid_argument,
                        "SNI contexts and selectors are server settings");
  }
  const bool with_psk = !b.psk_identity.empty() || !b.psk_key.empty() || b.psk_lookup;
  if (Error e = parse_cipher_suites(s, b.ciphers_set, b.ciphers, with_psk)) return e;
  if (Error e = set_up_psk_and_pins(b, s)) return e;
  if (Error e = parse_signature_algorithms(b, s)) return e;
  if (b.honor_cipher_order && b.role != Role::server) {
    return config_error(ErrorCode::invalid_argument, "honor_cipher_order() is a server setting");
  }
  s.honor_cipher_order = b.honor_cipher_order;
  if (Error e = parse_groups(s, b.groups_set, b.groups)) return e;

  size_t alpn_total = 0;
  for (const std::string& protocol : b.alpn) {
    if (protocol.empty() || protocol.size() > 255) {
      return config_error(ErrorCode::invalid_alpn,
                          "each ALPN protocol name must be 1 to 255 bytes long");
    }
    alpn_total += protocol.size() + 1;
  }
  if (alpn_total > 65535) {
    return config_error(ErrorCode::invalid_alpn, "the ALPN protocol list is too long");
  }
  s.alpn = b.alpn;

  for (const auto& identity : b.identities) {
    if (Error e = load_identity(s, ByteView(identity.chain.data(), identity.chain.size()),
                                identity.key.view(), identity.passphrase.view())) {
      return e;
    }
  }
  for (const auto& anchors : b.trust_anchors) {
#if !defined(MBEDTLS_X509_CRT_PARSE_C)
    (void)anchors;
    return not_built_in("trust anchors", "MBEDTLS_X509_CRT_PARSE_C");
#else
    std::vector<uint8_t> input = parser_input(ByteView(anchors.data(), anchors.size()));
    int ret = mbedtls_x509_crt_parse(&s.trust_anchors, input.data(), input.size());
    if (ret < 0) {
      return config_error(ErrorCode::trust_anchor_parse_failed, "cannot parse trust anchors", ret);
    }
    // ret > 0: some certificates of a system bundle were skipped; the rest count.
    if (s.trust_anchors.raw.p != nullptr) s.has_trust_anchors = true;
#endif
  }
  for (const auto& crl : b.crls) {
#if !defined(MBEDTLS_X509_CRL_PARSE_C)
    (void)crl;
    return not_built_in("certificate revocation lists", "MBEDTLS_X509_CRL_PARSE_C");
#else
    std::vector<uint8_t> input = parser_input(ByteView(crl.data(), crl.size()));
    int ret = mbedtls_x509_crl_parse(&s.crls, input.data(), input.size());
    if (ret != 0) {
      return config_error(ErrorCode::crl_parse_failed,
                          "cannot parse the certificate revocation list", ret);
    }
    s.has_crls = true;
#endif
  }

  const bool has_psk = !s.psk_key.empty() || s.psk_lookup;
  if (s.role == Role::server && s.identities.empty() && !has_psk) {
    return config_error(ErrorCode::missing_certificate,
                        "a server needs a certificate and private key");
  }
#if defined(MBEDTLS_X509_TRUSTED_CERTIFICATE_CALLBACK)
  const bool verifier_decides = static_cast<bool>(s.certificate_verifier);
#else
  const bool verifier_decides = false;  // mbedTLS's required mode needs a CA source
#endif
  if (s.verification == PeerVerification::required && !s.has_trust_anchors &&
      !(s.role == Role::client && has_psk) && !verifier_decides) {
    return config_error(ErrorCode::missing_trust_anchors,
                        "peer verification is required but no trust anchors were given "
                        "(see platform::system_trust_anchors())");
  }

  mbedtls_ssl_config* conf = &s.conf;
  int ret = mbedtls_ssl_config_defaults(
      conf, s.role == Role::client ? MBEDTLS_SSL_IS_CLIENT : MBEDTLS_SSL_IS_SERVER,
      MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
  if (ret != 0) return config_error(ErrorCode::internal_error, "mbedTLS defaults failed", ret);
  mbedtls_ssl_conf_min_tls_version(
      conf, static_cast<mbedtls_ssl_protocol_version>(static_cast<uint16_t>(s.min_version)));
  mbedtls_ssl_conf_max_tls_version(
      conf, static_cast<mbedtls_ssl_protocol_version>(static_cast<uint16_t>(s.max_version)));
  mbedtls_ssl_conf_rng(conf, detail::random_callback, s.random);
  mbedtls_ssl_conf_ciphersuites(conf, s.suites.data());
  mbedtls_ssl_conf_groups(conf, s.groups.data());
#if defined(MBEDTLS_X509_CRT_PARSE_C)
  if (!s.sig_algs.empty()) mbedtls_ssl_conf_sig_algs(conf, s.sig_algs.data());
#else
  if (!s.sig_algs.empty()) return not_built_in("signature algorithms", "MBEDTLS_X509_CRT_PARSE_C");
#endif

  int authmode = MBEDTLS_SSL_VERIFY_NONE;
  if (s.role == Role::client) {
    // Clients always verify so `authorized` and its reason are known; only
    // `required` makes a failure fatal.
    authmode = s.verification == PeerVerification::required ? MBEDTLS_SSL_VERIFY_REQUIRED
                                                            : MBEDTLS_SSL_VERIFY_OPTIONAL;
  } else if (s.verification == PeerVerification::optional) {
    authmode = MBEDTLS_SSL_VERIFY_OPTIONAL;
  } else if (s.verification == PeerVerification::required) {
    authmode = MBEDTLS_SSL_VERIFY_REQUIRED;
  }
  mbedtls_ssl_conf_authmode(conf, authmode);
#if defined(MBEDTLS_X509_CRT_PARSE_C)
  if (s.has_trust_anchors) mbedtls_ssl_conf_ca_chain(conf, &s.trust_anchors, s.crl_pointer());
#if defined(MBEDTLS_X509_TRUSTED_CERTIFICATE_CALLBACK)
  if (s.certificate_verifier && !s.has_trust_anchors) {
    mbedtls_ssl_conf_ca_cb(conf, detail::no_trust_anchors, nullptr);
  }
#endif

  for (auto& identity : s.identities) {
    ret = mbedtls_ssl_conf_own_cert(conf, &identity->chain, &identity->key);
    if (ret != 0) return config_error(ErrorCode::internal_error, "cannot use certificate", ret);
  }
#endif

  if (!s.alpn.empty()) {
    for (const std::string& protocol : s.alpn) s.alpn_pointers.push_back(protocol.c_str());
    s.alpn_pointers.push_back(nullptr);
    ret = mbedtls_ssl_conf_alpn_protocols(conf, s.alpn_pointers.data());
    if (ret != 0) return config_error(ErrorCode::invalid_alpn, "invalid ALPN list", ret);
  }

  if (s.role == Role::client) {
    // Without this mbedTLS 3.6 silently drops TLS 1.3 tickets.
    mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(
        conf, MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
  } else {
#if defined(MBEDTLS_SSL_SRV_C)
    mbedtls_ssl_conf_sni(conf, detail::server_name_callback, nullptr);
#endif
  }
  if (Error e = set_up_resumption(b, s)) return e;
  s.early_data = b.early_data;
  if (s.early_data > 0) {
    if (s.role == Role::server && s.ticket_count == 0) {
      return config_error(ErrorCode::invalid_argument,
                          "0-RTT needs session tickets (early data rides on a resumed session)");
    }
#if defined(MBEDTLS_SSL_EARLY_DATA)
    mbedtls_ssl_conf_early_data(conf, MBEDTLS_SSL_EARLY_DATA_ENABLED);
#if defined(MBEDTLS_SSL_SRV_C)
    if (s.role == Role::server) {
      mbedtls_ssl_conf_max_early_data_size(conf, s.early_data);
      s.replay_store = b.replay_store ? b.replay_store : EarlyDataReplayStore::create();
    }
#endif
#else
    return not_built_in("0-RTT early data", "MBEDTLS_SSL_EARLY_DATA");
#endif
  }
  s.renegotiation = b.renegotiation;
#if defined(MBEDTLS_SSL_RENEGOTIATION)
  mbedtls_ssl_conf_renegotiation(conf, s.renegotiation ? MBEDTLS_SSL_RENEGOTIATION_ENABLED
                                                       : MBEDTLS_SSL_RENEGOTIATION_DISABLED);
#else
  if (s.renegotiation) return not_built_in("renegotiation", "MBEDTLS_SSL_RENEGOTIATION");
#endif
  // Only secure renegotiation (RFC 5746), never the legacy kind.
  mbedtls_ssl_conf_legacy_renegotiation(conf, MBEDTLS_SSL_LEGACY_NO_RENEGOTIATION);
  if (has_psk) {
    if (!s.psk_key.empty()) {
      ret = mbedtls_ssl_conf_psk(conf, s.psk_key.data(), s.psk_key.size(),
                                 reinterpret_cast<const unsigned char*>(s.psk_identity.data()),
                                 s.psk_identity.size());
      if (ret != 0) return config_error(ErrorCode::invalid_psk, "cannot use the PSK", ret);
    }
#if defined(MBEDTLS_SSL_SRV_C)
    if (s.psk_lookup) mbedtls_ssl_conf_psk_cb(conf, detail::psk_callback, &s);
#endif
    int modes =
        b.psk_mode == PskMode::with_ecdhe      ? MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL
        : b.psk_mode == PskMode::without_ecdhe ? MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK
                                               : MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_ALL;
    // Certificates still work beside the PSK when this side has what they need.
    if (!s.identities.empty() || (s.role == Role::client && s.has_trust_anchors)) {
      modes |= MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL;
    }
    mbedtls_ssl_conf_tls13_key_exchange_modes(conf, modes);
  }
  return Error();
}

}  // namespace

Role Config::role() const noexcept { return state_->role; }
TlsVersion Config::min_version() const noexcept { return state_->min_version; }
TlsVersion Config::max_version() const noexcept { return state_->max_version; }
PeerVerification Config::peer_verification() const noexcept { return state_->verification; }

std::vector<std::string> Config::cipher_suite_names() const {
  std::vector<std::string> names;
  for (int id : state_->suites) {
    if (id == 0) break;
    names.emplace_back(detail::find_cipher_suite(static_cast<uint16_t>(id))->iana_name);
  }
  return names;
}

std::vector<std::string> Config::group_names() const {
  std::vector<std::string> names;
  for (uint16_t id : state_->groups) {
    if (id == 0) break;
    names.emplace_back(detail::find_group(id)->name);
  }
  return names;
}

const std::vector<std::string>& Config::alpn_protocols() const noexcept { return state_->alpn; }

std::shared_ptr<TicketKeys> Config::ticket_keys() const noexcept { return state_->ticket_keys; }

std::shared_ptr<EarlyDataReplayStore> Config::early_data_replay_store() const noexcept {
  return state_->replay_store;
}

size_t Config::memory_bytes() const noexcept {
  size_t bytes = state_->account != nullptr ? state_->account->current() : 0;
  if (state_->replay_store) bytes += state_->replay_store->memory_bytes();
  return bytes;
}

}  // namespace sanstls
