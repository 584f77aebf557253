#include "session.h"

#include <cstring>

#include "cursor.h"
#include "mbedtls_private.h"
#include "mbedtls/platform_util.h"

namespace sanstls::detail {
namespace {

// Blob layout: "STS2" | name length (1) | server name | flags (1: bits 1-2
// TLS 1.2 extended master secret use) | certificate count (1) | per
// certificate: length (3) | DER | mbedTLS session. The mbedTLS part carries
// its own version and configuration check. "STS1" blobs carried a copied
// verification verdict and are refused.
constexpr uint8_t kMagic[4] = {'S', 'T', 'S', '2'};
constexpr size_t kMaxChain = 16;

Error invalid(const char* message, int code = 0) {
  return Error(ErrorCode::invalid_session, Stage::config, message).with_backend_code(code);
}

void put_u24(std::vector<uint8_t>& out, size_t value) {
  out.push_back(static_cast<uint8_t>(value >> 16));
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value));
}

}  // namespace

std::vector<uint8_t> store_session(const mbedtls_ssl_context& ssl, const std::string& server_name,
                                   const SessionFacts& facts) {
  std::vector<uint8_t> blob;
  if (server_name.size() > 255 || facts.chain.size() > kMaxChain) return blob;
  mbedtls_ssl_session session;
  mbedtls_ssl_session_init(&session);
  if (mbedtls_ssl_get_session(&ssl, &session) == 0) {
    size_t needed = 0;
    mbedtls_ssl_session_save(&session, nullptr, 0, &needed);
    if (needed > 0) {
      blob.assign(kMagic, kMagic + 4);
      blob.push_back(static_cast<uint8_t>(server_name.size()));
      blob.insert(blob.end(), server_name.begin(), server_name.end());
      blob.push_back(static_cast<uint8_t>((facts.extended_master_secret & 3) << 1));
      blob.push_back(static_cast<uint8_t>(facts.chain.size()));
      for (const std::vector<uint8_t>& der : facts.chain) {
        put_u24(blob, der.size());
        blob.insert(blob.end(), der.begin(), der.end());
      }
      const size_t header = blob.size();
      blob.resize(header + needed);
      size_t written = 0;
      if (mbedtls_ssl_session_save(&session, blob.data() + header, needed, &written) != 0) {
        mbedtls_platform_zeroize(blob.data(), blob.size());
        blob.clear();
      } else {
        blob.resize(header + written);
      }
    }
  }
  mbedtls_ssl_session_free(&session);
  return blob;
}

Error load_session(mbedtls_ssl_context& ssl, ByteView blob, const std::string& server_name,
                   SessionFacts* facts) {
  Cursor c(blob);
  ByteView magic = c.bytes(4);
  ByteView name = c.vector8();
  const uint8_t flags = c.u8();
  const uint8_t count = c.u8();
  if (!c.ok() || std::memcmp(magic.data(), kMagic, 4) != 0) {
    return invalid("not a saved sanstls session (bad header, or saved by an older version)");
  }
  if (count > kMaxChain) return invalid("the saved session is corrupt (certificate count)");
  facts->chain.clear();
  for (uint8_t i = 0; i < count; ++i) {
    ByteView der = c.vector24();
    if (!c.ok() || der.empty()) return invalid("the saved session is corrupt (certificate)");
    facts->chain.emplace_back(der.begin(), der.end());
  }
  if (name.as_text() != server_name) {
    return invalid("the saved session belongs to another server name");
  }
  ByteView rest = c.bytes(c.remaining());
  facts->extended_master_secret = static_cast<uint8_t>((flags >> 1) & 3);
  mbedtls_ssl_session session;
  mbedtls_ssl_session_init(&session);
  int ret = mbedtls_ssl_session_load(&session, rest.data(), rest.size());
  Error error;
  if (ret == MBEDTLS_ERR_SSL_VERSION_MISMATCH) {
    error = invalid("the saved session comes from a different sanstls/mbedTLS build", ret);
  } else if (ret != 0) {
    error = invalid("the saved session is corrupt", ret);
  } else if (!session_hostname_terminated(session)) {
    error = invalid("the saved session is corrupt (host name)");
  } else if (!session_reception_time_valid(session)) {
    error = invalid("the saved session is corrupt (ticket time)");
  } else if ((ret = mbedtls_ssl_set_session(&ssl, &session)) != 0) {
    error = invalid("the saved session cannot be offered with this Config", ret);
  } else {
    facts->max_early_data = session_max_early_data(session);
  }
  mbedtls_ssl_session_free(&session);  // zeroizes the copy of the secrets
  return error;
}

uint32_t saved_session_max_early_data(ByteView blob) noexcept {
  // The same layout load_session() reads; any doubt means "no 0-RTT".
  Cursor c(blob);
  ByteView magic = c.bytes(4);
  c.vector8();  // server name
  c.u8();       // flags
  const uint8_t count = c.u8();
  if (!c.ok() || std::memcmp(magic.data(), kMagic, 4) != 0 || count > kMaxChain) return 0;
  for (uint8_t i = 0; i < count; ++i) c.vector24();
  if (!c.ok()) return 0;
  ByteView rest = c.bytes(c.remaining());
  mbedtls_ssl_session session;
  mbedtls_ssl_session_init(&session);
  uint32_t limit = 0;
  if (mbedtls_ssl_session_load(&session, rest.data(), rest.size()) == 0) {
    limit = session_max_early_data(session);
  }
  mbedtls_ssl_session_free(&session);
  return limit;
}

const char* key_log_label(mbedtls_ssl_key_export_type type) noexcept {
  switch (type) {
    case MBEDTLS_SSL_KEY_EXPORT_TLS12_MASTER_SECRET:
      return "CLIENT_RANDOM";
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_CLIENT_EARLY_SECRET:
      return "CLIENT_EARLY_TRAFFIC_SECRET";
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_EARLY_EXPORTER_SECRET:
      return "EARLY_EXPORTER_SECRET";
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_CLIENT_HANDSHAKE_TRAFFIC_SECRET:
      return "CLIENT_HANDSHAKE_TRAFFIC_SECRET";
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_SERVER_HANDSHAKE_TRAFFIC_SECRET:
      return "SERVER_HANDSHAKE_TRAFFIC_SECRET";
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_CLIENT_APPLICATION_TRAFFIC_SECRET:
      return "CLIENT_TRAFFIC_SECRET_0";
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_SERVER_APPLICATION_TRAFFIC_SECRET:
      return "SERVER_TRAFFIC_SECRET_0";
  }
  return nullptr;
}

std::string key_log_line(const char* label, const unsigned char client_random[32],
                         const unsigned char* secret, size_t secret_len) {
  static const char* const kHex = "0123456789abcdef";
  std::string line(label);
  line += ' ';
  for (size_t i = 0; i < 32; ++i) {
    line += kHex[client_random[i] >> 4];
    line += kHex[client_random[i] & 15];
  }
  line += ' ';
  for (size_t i = 0; i < secret_len; ++i) {
    line += kHex[secret[i] >> 4];
    line += kHex[secret[i] & 15];
  }
  return line;
}

}  // namespace sanstls::detail
