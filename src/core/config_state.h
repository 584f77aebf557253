// What a built Config holds. Private to the core; mbedTLS stays behind here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "call_scope.h"
#include "mbedtls/pk.h"
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crl.h"
#include "mbedtls/x509_crt.h"
#include "sanstls/config.h"

namespace sanstls::detail {

// mbedTLS's SNI callback for server configs (engine.cpp): records the name.
int server_name_callback(void* unused, mbedtls_ssl_context* ssl, const unsigned char* name,
                         size_t length);

// mbedTLS's PSK callback for servers (engine.cpp): looks the identity up.
int psk_callback(void* state, mbedtls_ssl_context* ssl, const unsigned char* identity,
                 size_t length);

// mbedTLS's ticket and session-cache callbacks (sessions.cpp).
int ticket_write(void* state, const mbedtls_ssl_session* session, unsigned char* start,
                 const unsigned char* end, size_t* length, uint32_t* lifetime);
int ticket_parse(void* state, mbedtls_ssl_session* session, unsigned char* buffer, size_t length);
int cache_get(void* state, const unsigned char* id, size_t id_length, mbedtls_ssl_session* session);
int cache_set(void* state, const unsigned char* id, size_t id_length,
              const mbedtls_ssl_session* session);

// mbedTLS's f_rng over our RandomSource.
int random_callback(void* random_source, unsigned char* out, size_t len);

// Bytes one maximal TLS record can occupy on the wire (header + 2^14 +
// expansion); output space is reserved in these units so a write never
// has to be retried by mbedTLS.
constexpr size_t kMaxRecordWireBytes = 5 + 16384 + 256;

// (Builds without X.509, such as the firmware PSK profile, never fill one.)
struct OwnIdentity {
  mbedtls_x509_crt chain;
  mbedtls_pk_context key;
#if defined(MBEDTLS_X509_CRT_PARSE_C)
  OwnIdentity() {
    mbedtls_x509_crt_init(&chain);
    mbedtls_pk_init(&key);
  }
  ~OwnIdentity() {
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&chain);
  }
#else
  OwnIdentity() = default;
#endif
  OwnIdentity(const OwnIdentity&) = delete;
  OwnIdentity& operator=(const OwnIdentity&) = delete;
};

struct ConfigState {
  ConfigState();
  ~ConfigState();
  ConfigState(const ConfigState&) = delete;
  ConfigState& operator=(const ConfigState&) = delete;

  Role role = Role::client;
  TlsVersion min_version = TlsVersion::tls1_2;
  TlsVersion max_version = TlsVersion::tls1_3;
  PeerVerification verification = PeerVerification::none;
  std::vector<int> suites;       // zero-terminated, as mbedTLS wants
  std::vector<uint16_t> groups;  // zero-terminated
  std::vector<std::string> alpn;
  std::vector<const char*> alpn_pointers;  // null-terminated
  std::vector<std::unique_ptr<OwnIdentity>> identities;
  mbedtls_x509_crt trust_anchors;
  bool has_trust_anchors = false;
  mbedtls_x509_crl crls;  // revocation lists (ConfigBuilder::crl)
  bool has_crls = false;
  mbedtls_x509_crl* crl_pointer() const {
    return has_crls ? const_cast<mbedtls_x509_crl*>(&crls) : nullptr;
  }
  uint32_t ticket_count = 1;
  uint32_t ticket_lifetime = 7200;
  std::shared_ptr<TicketKeys> ticket_keys;      // servers with tickets on
  std::shared_ptr<SessionStore> session_store;  // servers keeping TLS 1.2 session IDs
  mbedtls_ssl_config conf;
  RandomSource* random = nullptr;
  Clock* clock = nullptr;
  size_t max_pending_output = 0;
  size_t max_connection_memory = 0;  // 0: none
  KeyLogCallback key_log;
  AlpnSelector alpn_selector;
  std::vector<std::pair<std::string, std::shared_ptr<const ConfigState>>> sni_contexts;
  bool strict_sni = false;
  SniSelector sni_selector;
  std::string psk_identity;
  SecretBytes psk_key;
  PskLookup psk_lookup;
  IdentityCheck identity_check;
  CertificateVerifier certificate_verifier;
  ClientCertificateSelector client_certificate_selector;
  std::vector<std::vector<uint8_t>> pins;
  uint32_t handshake_timeout_ms = 0;  // 0: none
  uint32_t early_data = 0;
  bool renegotiation = false;  // servers: max 0-RTT bytes; clients: >0 offers it
  // Servers with 0-RTT: tickets whose early data was accepted (single use).
  std::shared_ptr<EarlyDataReplayStore> replay_store;
  std::vector<uint16_t> sig_algs;  // zero-terminated, empty: mbedTLS's defaults
  std::optional<bool> honor_cipher_order;
  uint32_t close_timeout_ms = 0;
  size_t max_send_fragment = 16384;
  TraceCallback trace;  // SHA-256 digests of SubjectPublicKeyInfo
  // Servers that must read the ClientHello before choosing their Config.
  bool decides_on_client_hello() const {
    return role == Role::server &&
           (!sni_contexts.empty() || sni_selector || alpn_selector || honor_cipher_order);
  }
  MemoryAccount* account = nullptr;
};

}  // namespace sanstls::detail
