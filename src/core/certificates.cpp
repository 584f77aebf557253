#include "certificates.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

#include "error_text.h"
#include "mbedtls/sha256.h"
#include "mbedtls/x509.h"

namespace sanstls::detail {
namespace {

std::string format_time(const mbedtls_x509_time& t) {
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const char* month = (t.mon >= 1 && t.mon <= 12) ? kMonths[t.mon - 1] : "???";
  char text[40];
  std::snprintf(text, sizeof text, "%s %2d %02d:%02d:%02d %d GMT", month, t.day, t.hour, t.min,
                t.sec, t.year);
  return text;
}

std::string format_dn(const mbedtls_x509_name& name) {
  char text[1024];
  const int n = mbedtls_x509_dn_gets(text, sizeof text, &name);
  return n < 0 ? std::string() : std::string(text, static_cast<size_t>(n));
}

std::string hex_with_colons(const uint8_t* bytes, size_t n) {
  std::string out;
  char byte[4];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(byte, sizeof byte, i == 0 ? "%02X" : ":%02X", bytes[i]);
    out += byte;
  }
  return out;
}

std::string format_ip(const uint8_t* p, size_t len) {
  char text[64] = {0};
  if (len == 4) {
    std::snprintf(text, sizeof text, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
  } else if (len == 16) {
    // Node prints every group, without :: compression.
    size_t at = 0;
    for (int i = 0; i < 8; ++i) {
      at += static_cast<size_t>(std::snprintf(text + at, sizeof text - at, i ? ":%X" : "%X",
                                              (p[2 * i] << 8) | p[2 * i + 1]));
    }
  }
  return text;
}

template <class Fn>
void for_each_san(const mbedtls_x509_crt& crt, Fn&& fn) {
  for (const mbedtls_x509_sequence* cur = &crt.subject_alt_names; cur != nullptr && cur->buf.p;
       cur = cur->next) {
    mbedtls_x509_subject_alternative_name san;
    std::memset(&san, 0, sizeof san);
    if (mbedtls_x509_parse_subject_alt_name(&cur->buf, &san) != 0) continue;
    fn(san);
    mbedtls_x509_free_subject_alt_name(&san);
  }
}

}  // namespace

CertificateInfo describe_certificate(const mbedtls_x509_crt& crt) {
  CertificateInfo info;
  info.der.assign(crt.raw.p, crt.raw.p + crt.raw.len);
  info.subject = format_dn(crt.subject);
  info.issuer = format_dn(crt.issuer);
  info.valid_from = format_time(crt.valid_from);
  info.valid_to = format_time(crt.valid_to);
  std::string sans;
  for_each_san(crt, [&](const mbedtls_x509_subject_alternative_name& san) {
    std::string item;
    if (san.type == MBEDTLS_X509_SAN_DNS_NAME) {
      item = "DNS:" + std::string(reinterpret_cast<const char*>(san.san.unstructured_name.p),
                                  san.san.unstructured_name.len);
    } else if (san.type == MBEDTLS_X509_SAN_IP_ADDRESS) {
      item = "IP Address:" + format_ip(san.san.unstructured_name.p, san.san.unstructured_name.len);
    } else if (san.type == MBEDTLS_X509_SAN_RFC822_NAME) {
      item = "email:" + std::string(reinterpret_cast<const char*>(san.san.unstructured_name.p),
                                    san.san.unstructured_name.len);
    } else if (san.type == MBEDTLS_X509_SAN_UNIFORM_RESOURCE_IDENTIFIER) {
      item = "URI:" + std::string(reinterpret_cast<const char*>(san.san.unstructured_name.p),
                                  san.san.unstructured_name.len);
    }
    if (item.empty()) return;
    if (!sans.empty()) sans += ", ";
    sans += item;
  });
  info.subjectaltname = sans;
  uint8_t digest[32];
  mbedtls_sha256(crt.raw.p, crt.raw.len, digest, 0);
  info.fingerprint256 = hex_with_colons(digest, sizeof digest);
  std::string serial;
  char byte[3];
  for (size_t i = 0; i < crt.serial.len; ++i) {
    std::snprintf(byte, sizeof byte, "%02X", crt.serial.p[i]);
    serial += byte;
  }
  info.serial_number = serial;
  return info;
}

bool certificate_has_ip(const mbedtls_x509_crt& crt, const uint8_t* ip, size_t ip_len) {
  bool found = false;
  for_each_san(crt, [&](const mbedtls_x509_subject_alternative_name& san) {
    if (san.type == MBEDTLS_X509_SAN_IP_ADDRESS && san.san.unstructured_name.len == ip_len &&
        std::memcmp(san.san.unstructured_name.p, ip, ip_len) == 0) {
      found = true;
    }
  });
  return found;
}

size_t parse_ip_literal(const std::string& text, uint8_t out[16]) {
  // inet_pton is pure parsing (no I/O); accept "[::1]" too.
  std::string host = text;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (inet_pton(AF_INET, host.c_str(), out) == 1) return 4;
  if (inet_pton(AF_INET6, host.c_str(), out) == 1) return 16;
  return 0;
}

Alert alert_for_verify_flags(uint32_t flags) {
  if (flags & MBEDTLS_X509_BADCERT_OTHER) return Alert::access_denied;
  if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) return Alert::bad_certificate;
  if (flags & (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE |
               MBEDTLS_X509_BADCERT_BAD_PK | MBEDTLS_X509_BADCERT_BAD_KEY)) {
    return Alert::unsupported_certificate;
  }
  if (flags & MBEDTLS_X509_BADCERT_EXPIRED) return Alert::certificate_expired;
  if (flags & MBEDTLS_X509_BADCERT_REVOKED) return Alert::certificate_revoked;
  if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) return Alert::unknown_ca;
  return Alert::certificate_unknown;
}

Error verification_error(uint32_t flags, const ChainRecord& chain, const std::string& host) {
  auto make = [&](ErrorCode code, const char* message) {
    return Error(code, Stage::certificate, message);
  };
  if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) {
    const int top = chain.length > 0 ? chain.length - 1 : 0;
    const bool top_self_signed = chain.length > 0 && chain.self_signed[top];
    if (chain.length <= 1 && top_self_signed) {
      return make(ErrorCode::depth_zero_self_signed_cert, "self-signed certificate");
    }
    if (top_self_signed) {
      return make(ErrorCode::self_signed_cert_in_chain,
                  "self-signed certificate in certificate chain");
    }
    if (chain.length <= 1) {
      return make(ErrorCode::unable_to_verify_leaf_signature,
                  "unable to verify the first certificate (its issuer is not among the trust "
                  "anchors, and the peer sent no intermediate)");
    }
    return make(ErrorCode::unable_to_get_issuer_cert_locally,
                "unable to get local issuer certificate (the chain's root is not among the "
                "trust anchors)");
  }
  if (flags & MBEDTLS_X509_BADCERT_EXPIRED) {
    return make(ErrorCode::cert_has_expired, "certificate has expired");
  }
  if (flags & MBEDTLS_X509_BADCERT_FUTURE) {
    return make(ErrorCode::cert_not_yet_valid, "certificate is not yet valid");
  }
  if (flags & MBEDTLS_X509_BADCERT_REVOKED) {
    return make(ErrorCode::cert_revoked, "certificate revoked");
  }
  if (flags & (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE |
               MBEDTLS_X509_BADCERT_NS_CERT_TYPE)) {
    return make(ErrorCode::invalid_purpose,
                "unsupported certificate purpose (key usage or extended key usage)");
  }
  if (flags & (MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK)) {
    return make(ErrorCode::cert_signature_failure,
                "certificate signature uses an algorithm that is not allowed");
  }
  if (flags & MBEDTLS_X509_BADCERT_BAD_KEY) {
    return make(ErrorCode::cert_rejected, "certificate key is too weak");
  }
  if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
    char text[Error::kMessageCapacity];
    SANSTLS_FORMAT_ERROR_TEXT(text,
                              "Hostname/IP does not match certificate's altnames: '%s' is not in "
                              "the certificate's names",
                              host.c_str());
    return make(ErrorCode::hostname_mismatch, text);
  }
  if (flags & (MBEDTLS_X509_BADCERT_MISSING | MBEDTLS_X509_BADCERT_SKIP_VERIFY)) {
    return make(ErrorCode::peer_did_not_return_certificate, "peer did not return a certificate");
  }
  return make(ErrorCode::cert_rejected, "certificate rejected");
}

}  // namespace sanstls::detail
