#include "hello_parser.h"

#include <algorithm>
#include <cstring>

#include "cursor.h"
#include "mbedtls/build_info.h"

namespace sanstls::detail {
namespace {

// RFC 8422 5.1.2: a point format list always holds uncompressed (0).
bool lacks_uncompressed(ByteView data) noexcept {
  Cursor c(data);
  ByteView formats = c.vector8();
  if (!c.ok()) return false;  // malformed: left to mbedTLS
  for (uint8_t format : formats) {
    if (format == 0) return false;
  }
  return true;
}

constexpr uint16_t kExtServerName = 0;
constexpr uint16_t kExtSupportedGroups = 10;
constexpr uint16_t kExtEcPointFormats = 11;
constexpr uint16_t kExtSignatureAlgorithms = 13;
constexpr uint16_t kExtAlpn = 16;
constexpr uint16_t kExtExtendedMasterSecret = 23;
constexpr uint16_t kExtSessionTicket = 35;
constexpr uint16_t kExtPreSharedKey = 41;
constexpr uint16_t kExtEarlyData = 42;
constexpr uint16_t kExtSupportedVersions = 43;
constexpr uint16_t kExtCookie = 44;
constexpr uint16_t kExtPskKeyExchangeModes = 45;
constexpr uint16_t kExtKeyShare = 51;

// SHA-256("HelloRetryRequest"), RFC 8446 4.1.3.
constexpr uint8_t kHelloRetryRandom[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

std::vector<uint16_t> u16_list(ByteView bytes) {
  std::vector<uint16_t> out;
  Cursor c(bytes);
  while (c.remaining() >= 2) out.push_back(c.u16());
  return out;
}

}  // namespace

ServerHelloFacts parse_server_hello(ByteView body) noexcept {
  ServerHelloFacts facts;
  Cursor c(body);
  facts.legacy_version = c.u16();
  ByteView random = c.bytes(32);
  c.vector8();  // legacy_session_id_echo
  facts.cipher_suite = c.u16();
  c.u8();  // legacy_compression_method
  if (!c.ok()) return facts;
  facts.hello_retry_request =
      random.size() == 32 && std::memcmp(random.data(), kHelloRetryRandom, 32) == 0;
  if (!c.at_end()) {
    Cursor extensions(c.vector16());
    std::vector<uint16_t> seen;
    while (extensions.ok() && !extensions.at_end()) {
      const uint16_t type = extensions.u16();
      const ByteView extension = extensions.vector16();
      Cursor data(extension);
      if (std::find(seen.begin(), seen.end(), type) != seen.end()) facts.duplicate_extension = true;
      seen.push_back(type);
      facts.extension_types.push_back(type);
      if (type == kExtEcPointFormats) {
        facts.point_formats_lack_uncompressed = lacks_uncompressed(extension);
      } else if (type == kExtSupportedVersions) {
        facts.selected_version = data.u16();
        facts.tls13 = facts.selected_version == 0x0304;
      } else if (type == kExtKeyShare) {
        facts.key_share_group = data.u16();
        if (!data.at_end()) {  // a ServerHello's KeyShareEntry (a HelloRetryRequest has none)
          const ByteView key = data.vector16();
          facts.key_share_key.assign(key.begin(), key.end());
        }
      } else if (type == kExtPreSharedKey) {
        facts.pre_shared_key = true;
#if defined(MBEDTLS_SSL_PROTO_TLS1_2)  // (TLS 1.3 answers ALPN in EncryptedExtensions)
      } else if (type == kExtAlpn) {
        facts.alpn_extension.assign(extension.begin(), extension.end());
#endif
      } else if (type == kExtExtendedMasterSecret) {
        facts.extended_master_secret = true;
      } else if (type == kExtCookie) {
        const ByteView cookie = data.vector16();
        facts.cookie = true;
        facts.cookie_malformed = !data.ok() || !data.at_end() || cookie.empty();
      }
    }
    if (!extensions.ok()) return facts;
    facts.trailing_data = !c.at_end();
  }
  facts.parsed = c.ok();
  return facts;
}

ClientHelloFacts parse_client_hello(ByteView body) {
  ClientHelloFacts facts;
  Cursor c(body);
  const uint16_t legacy_version = c.u16();
  c.bytes(32);
  const bool session_id = !c.vector8().empty();
  facts.cipher_suites = u16_list(c.vector16());
  Cursor compression(c.vector8());
  if (!c.ok()) return facts;
  while (compression.ok() && !compression.at_end()) {
    if (compression.u8() == 0) facts.null_compression = true;
  }
  facts.legacy_version = legacy_version;
  facts.offers_tls12_resumption = session_id;
  // Without supported_versions, a legacy_version above TLS 1.2 offers TLS 1.2
  // (RFC 8446 4.2.1, RFC 5246 E.1).
  facts.versions.push_back(legacy_version > 0x0303 ? 0x0303 : legacy_version);
  if (!c.at_end()) {
    facts.has_extensions = true;
    Cursor extensions(c.vector16());
    std::vector<uint16_t> seen;
    while (extensions.ok() && !extensions.at_end()) {
      const uint16_t type = extensions.u16();
      ByteView data = extensions.vector16();
      Cursor inner(data);
      if (std::find(seen.begin(), seen.end(), type) != seen.end()) facts.duplicate_extension = true;
      seen.push_back(type);
      facts.extension_types.push_back(type);
      if (type == kExtEcPointFormats)
        facts.point_formats_lack_uncompressed = lacks_uncompressed(data);
      if (type == kExtServerName) {
        Cursor names(inner.vector16());
        while (names.ok() && !names.at_end()) {
          const uint8_t name_type = names.u8();
          ByteView name = names.vector16();
          if (names.ok() && name_type == 0 && facts.server_name.empty()) {
            facts.server_name.assign(name.as_text());
          }
        }
      } else if (type == kExtAlpn) {
        Cursor protocols(inner.vector16());
        // RFC 7301 3.1: ProtocolNameList<2..2^16-1> of ProtocolName<1..2^8-1>.
        facts.alpn_malformed = !protocols.ok() || protocols.at_end();
        while (protocols.ok() && !protocols.at_end()) {
          ByteView protocol = protocols.vector8();
          if (protocols.ok() && !protocol.empty()) facts.alpn.emplace_back(protocol.as_text());
          if (!protocols.ok() || protocol.empty()) facts.alpn_malformed = true;
        }
      } else if (type == kExtPreSharedKey) {
        facts.offers_psk = true;
#if defined(MBEDTLS_SSL_SRV_C)  // (a server's check; client-only firmware saves the bytes)
        // OfferedPsks: identities<7..2^16-1> (identity<1..2^16-1>, uint32
        // age), then binders<33..2^16-1> (PskBinderEntry<32..255>).
        Cursor identities(inner.vector16());
        Cursor binders(inner.vector16());
        while (identities.ok() && !identities.at_end()) {
          identities.vector16();
          identities.bytes(4);  // obfuscated_ticket_age
          if (identities.ok()) ++facts.psk_identity_count;
        }
        while (binders.ok() && !binders.at_end()) {
          binders.vector8();
          if (binders.ok()) ++facts.psk_binder_count;
        }
#endif
      } else if (type == kExtEarlyData) {
        facts.offers_early_data = true;
      } else if (type == kExtPskKeyExchangeModes) {
        facts.has_psk_key_exchange_modes = true;
        for (uint8_t mode : inner.vector8()) {
          facts.offers_psk_ke = facts.offers_psk_ke || mode == 0;
          facts.offers_psk_dhe_ke = facts.offers_psk_dhe_ke || mode == 1;
        }
      } else if (type == kExtExtendedMasterSecret) {
        facts.offers_extended_master_secret = true;
      } else if (type == kExtSessionTicket) {
        facts.offers_tls12_resumption = facts.offers_tls12_resumption || !data.empty();
      } else if (type == kExtSupportedGroups) {
        facts.has_supported_groups = true;
        facts.groups = u16_list(inner.vector16());
      } else if (type == kExtSupportedVersions) {
        facts.has_supported_versions = true;
        facts.versions = u16_list(inner.vector8());
      } else if (type == kExtSignatureAlgorithms) {
        facts.has_signature_algorithms = true;
        facts.signature_algorithms = u16_list(inner.vector16());
      } else if (type == kExtKeyShare) {
        facts.has_key_share = true;
        Cursor shares(inner.vector16());
        while (shares.ok() && !shares.at_end()) {
          KeyShareEntry entry;
          entry.group = shares.u16();
          ByteView key = shares.vector16();
          if (!shares.ok()) break;
          entry.key.assign(key.begin(), key.end());
          facts.key_shares.push_back(std::move(entry));
        }
        facts.key_share_malformed = !shares.ok() || !inner.ok() || !inner.at_end();
      }
    }
    if (!extensions.ok()) return facts;
    facts.trailing_data = !c.at_end();
  }
  facts.parsed = true;
  return facts;
}

uint16_t parse_server_key_exchange_group(ByteView body, bool psk_hint_first) noexcept {
  Cursor c(body);
  if (psk_hint_first) c.vector16();
  if (c.u8() != 3) return 0;  // ECCurveType named_curve
  const uint16_t group = c.u16();
  return c.ok() ? group : 0;
}

ByteView parse_server_key_exchange_point(ByteView body, bool psk_hint_first) noexcept {
  Cursor c(body);
  if (psk_hint_first) c.vector16();
  if (c.u8() != 3) return ByteView();  // ECCurveType named_curve
  c.u16();
  const ByteView point = c.vector8();
  return c.ok() ? point : ByteView();
}

ByteView parse_client_key_exchange_point(ByteView body, bool psk_identity_first,
                                         bool* trailing) noexcept {
  Cursor c(body);
  if (psk_identity_first) c.vector16();
  const ByteView point = c.vector8();
  *trailing = c.ok() && !c.at_end();
  return c.ok() ? point : ByteView();
}

uint16_t parse_server_key_exchange_signature_scheme(ByteView body) noexcept {
  Cursor c(body);
  if (c.u8() != 3) return 0;  // ECCurveType named_curve
  c.u16();                    // the group
  c.vector8();                // the public key
  const uint16_t scheme = c.u16();
  return c.ok() ? scheme : 0;
}

}  // namespace sanstls::detail
