// Peer certificates: describing them the way Node does, checking an IP
// literal against iPAddress names, and naming verification failures with the
// OpenSSL X509_V_ERR_* names users search for.
#pragma once

#include <cstdint>
#include <string>

#include "mbedtls/x509_crt.h"
#include "sanstls/connection.h"
#include "sanstls/error.h"

namespace sanstls::detail {

CertificateInfo describe_certificate(const mbedtls_x509_crt& crt);

// True when `ip` (4 or 16 bytes) is among the certificate's iPAddress names.
bool certificate_has_ip(const mbedtls_x509_crt& crt, const uint8_t* ip, size_t ip_len);

// Parses a textual IPv4/IPv6 literal; returns its length (4 or 16) or 0.
size_t parse_ip_literal(const std::string& text, uint8_t out[16]);

// What the verify callback saw of the chain mbedTLS built.
struct ChainRecord {
  static constexpr int kMaxDepth = 16;
  int length = 0;  // certificates seen (depth 0 .. length-1)
  uint32_t flags[kMaxDepth] = {0};
  bool self_signed[kMaxDepth] = {false};
  void clear() { *this = ChainRecord(); }
};

// The alert mbedTLS sends for these flags (mirrors ssl_tls.c), so our own
// rejections match what mbedTLS would have sent.
Alert alert_for_verify_flags(uint32_t flags);

// Names the failure described by mbedTLS verification `flags`.
Error verification_error(uint32_t flags, const ChainRecord& chain, const std::string& host);

}  // namespace sanstls::detail
