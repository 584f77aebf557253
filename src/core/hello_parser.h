// Reads the few hello fields the engine reports or reasons about, through
// the bounded Cursor: the negotiated group, TLS 1.3 and resumption signals
// from ServerHello, and the client's offers from ClientHello.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sanstls/bytes.h"

namespace sanstls::detail {

enum HandshakeType : uint8_t {
  kClientHello = 1,
  kServerHello = 2,
  kNewSessionTicket = 4,
  kCertificate = 11,
  kServerKeyExchange = 12,
  kCertificateRequest = 13,
  kServerHelloDone = 14,
  kCertificateVerify = 15,
  kClientKeyExchange = 16,
  kKeyUpdate = 24,
};

struct ServerHelloFacts {
  bool parsed = false;
  bool hello_retry_request = false;
  bool tls13 = false;
  uint16_t legacy_version = 0;
  uint16_t selected_version = 0;  // supported_versions, 0 when absent
  uint16_t cipher_suite = 0;
  uint16_t key_share_group = 0;         // TLS 1.3 (HRR: the group asked for)
  std::vector<uint8_t> key_share_key;   // TLS 1.3 ServerHello: the share's key_exchange
  std::vector<uint8_t> alpn_extension;  // TLS 1.2: the ALPN answer's extension_data
  bool pre_shared_key = false;          // TLS 1.3 resumption or external PSK
  bool extended_master_secret = false;  // RFC 7627 (TLS 1.2)
  bool duplicate_extension = false;     // an extension type twice (RFC 8446 4.2, RFC 5246 7.4.1.4)
  std::vector<uint16_t> extension_types;         // in order
  bool point_formats_lack_uncompressed = false;  // ec_point_formats without 0 (RFC 8422 5.1.2)
  bool cookie = false;                           // a cookie extension (RFC 8446 4.2.2)
  // A cookie that is empty or not one opaque<1..2^16-1> (RFC 8446 4.2.2).
  bool cookie_malformed = false;
  bool trailing_data = false;  // bytes after the extensions (malformed)
};

struct KeyShareEntry {
  uint16_t group = 0;
  std::vector<uint8_t> key;  // key_exchange, copied (TLS 1.3 hellos only)
};

struct ClientHelloFacts {
  bool parsed = false;
  bool complete = false;  // every field below was read (not truncated at the tracking cap)
  uint16_t legacy_version = 0;
  bool has_extensions = false;    // the extensions block is present (optional in TLS 1.2)
  bool null_compression = false;  // compression_methods contains null (0)
  bool has_supported_versions = false;
  bool has_supported_groups = false;
  bool has_signature_algorithms = false;
  std::vector<uint16_t> signature_algorithms;
  bool has_key_share = false;
  bool key_share_malformed = false;  // left to mbedTLS (decode_error)
  std::vector<KeyShareEntry> key_shares;
  std::vector<uint16_t> cipher_suites;
  std::vector<uint16_t> groups;
  std::vector<uint16_t> versions;  // supported_versions, or {legacy_version}
  std::string server_name;         // SNI host_name, "" when absent
  std::vector<std::string> alpn;   // offered ALPN protocols
  bool alpn_malformed = false;     // an empty list or an empty name (RFC 7301 3.1)
  bool offers_psk = false;         // TLS 1.3 pre_shared_key (a ticket or an external PSK)
  size_t psk_identity_count = 0;   // ... its identities
  size_t psk_binder_count = 0;     // ... and binders (RFC 8446 4.2.11: as many)
  bool has_psk_key_exchange_modes = false;
  bool offers_psk_ke = false;                  // psk_key_exchange_modes lists psk_ke (0)
  bool offers_psk_dhe_ke = false;              // ... and psk_dhe_ke (1)
  bool offers_early_data = false;              // TLS 1.3 early_data (0-RTT follows)
  bool offers_extended_master_secret = false;  // RFC 7627 (TLS 1.2)
  bool offers_tls12_resumption = false;        // a legacy_session_id or a non-empty session_ticket
  bool duplicate_extension = false;  // an extension type twice (RFC 8446 4.2, RFC 5246 7.4.1.4)
  bool trailing_data = false;        // bytes after the extensions block
  std::vector<uint16_t> extension_types;         // in order
  bool point_formats_lack_uncompressed = false;  // ec_point_formats without 0 (RFC 8422 5.1.2)
};

ServerHelloFacts parse_server_hello(ByteView body) noexcept;
ClientHelloFacts parse_client_hello(ByteView body);
// TLS 1.2 ServerKeyExchange with ECDHE: the named group, or 0.
uint16_t parse_server_key_exchange_group(ByteView body, bool psk_hint_first) noexcept;
// The SignatureScheme of a signed TLS 1.2 ECDHE ServerKeyExchange
// (ECDHE_RSA, ECDHE_ECDSA), 0 when it cannot be read.
uint16_t parse_server_key_exchange_signature_scheme(ByteView body) noexcept;
// The ECDHE public value (ECPoint) of a TLS 1.2 ServerKeyExchange or
// ClientKeyExchange (RFC 8422 5.4, 5.7; RFC 5489 2 for ECDHE_PSK, whose
// hint or identity comes first); empty when it cannot be read.
ByteView parse_server_key_exchange_point(ByteView body, bool psk_hint_first) noexcept;
// `trailing`: bytes follow the point (the message is malformed).
ByteView parse_client_key_exchange_point(ByteView body, bool psk_identity_first,
                                         bool* trailing) noexcept;

}  // namespace sanstls::detail
