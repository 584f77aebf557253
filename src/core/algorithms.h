// The cipher suites and groups sanstls knows, by IANA id and by the names
// users type (IANA and OpenSSL spellings).
#pragma once

#include <cstdint>
#include <string_view>

#include "sanstls/config.h"

namespace sanstls::detail {

struct CipherSuite {
  uint16_t id;
  const char* iana_name;
  const char* openssl_name;
  TlsVersion version;  // the only version it can be used with
  bool default_enabled;
};

struct Group {
  uint16_t id;
  const char* name;  // the canonical name we print: "X25519", "P-256"
  const char* aliases[3];
  bool default_enabled;
};

const CipherSuite* find_cipher_suite(std::string_view name) noexcept;
const CipherSuite* find_cipher_suite(uint16_t id) noexcept;
const CipherSuite* cipher_suites_begin() noexcept;
const CipherSuite* cipher_suites_end() noexcept;

const Group* find_group(std::string_view name) noexcept;
const Group* find_group(uint16_t id) noexcept;
const Group* groups_begin() noexcept;
const Group* groups_end() noexcept;

// The IANA name of a TLS SignatureScheme (RFC 8446 4.2.3), "" when unknown.
const char* signature_scheme_name(uint16_t id) noexcept;

}  // namespace sanstls::detail
