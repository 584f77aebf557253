#include "session.h"

#include <cstring>

#include "cursor.h"

namespace sanstls::detail {
namespace {

// Blob layout: "STS1" | name length (1) | server name | authorized (bit 0) and
// TLS 1.2 extended master secret use (bits 1-2) (1) |
// authorization error code (2) | leaf length (2) | leaf DER | mbedTLS session.
// The mbedTLS part carries its own version and configuration check.
constexpr uint8_t kMagic[4] = {'S', 'T', 'S', '1'};

Error invalid(const char* message, int code = 0) {
  return Error(ErrorCode::invalid_session, Stage::config, message).with_backend_code(code);
}

}  // namespace

std::vector<uint8_t> store_session(const mbedtls_ssl_context& ssl, const std::string& server_name,
                                   const SessionFacts& facts) {
  std::vector<uint8_t> blob;
  mbedtls_ssl_session session;
  mbedtls_ssl_session_init(&session);
  if (mbedtls_ssl_get_session(&ssl, &session) == 0) {
    size_t needed = 0;
    mbedtls_ssl_session_save(&session, nullptr, 0, &needed);
    if (needed > 0 && server_name.size() <= 255) {
      blob.assign(kMagic, kMagic + 4);
      blob.push_back(static_cast<uint8_t>(server_name.size()));
      blob.insert(blob.end(), server_name.begin(), server_name.end());
      blob.push_back(static_cast<uint8_t>((facts.authorized ? 1 : 0) |
                                          ((facts.extended_master_secret & 3) << 1)));
      const auto code = static_cast<uint16_t>(facts.authorization_error.code());
      blob.push_back(static_cast<uint8_t>(code >> 8));
      blob.push_back(static_cast<uint8_t>(code));
      const size_t leaf_size = facts.leaf.size() <= 65535 ? facts.leaf.size() : 0;
      blob.push_back(static_cast<uint8_t>(leaf_size >> 8));
      blob.push_back(static_cast<uint8_t>(leaf_size));
      blob.insert(blob.end(), facts.leaf.begin(), facts.leaf.begin() + static_cast<std::ptrdiff_t>(leaf_size));
      const size_t header = blob.size();
      blob.resize(header + needed);
      size_t written = 0;
      if (mbedtls_ssl_session_save(&session, blob.data() + header, needed, &written) != 0) {
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
  const bool authorized = (flags & 1) != 0;
  const auto code = static_cast<ErrorCode>(c.u16());
  ByteView leaf = c.vector16();
  if (!c.ok() || std::memcmp(magic.data(), kMagic, 4) != 0) {
    return invalid("not a saved sanstls session (bad header)");
  }
  if (name.as_text() != server_name) {
    return invalid("the saved session belongs to another server name");
  }
  ByteView rest = c.bytes(c.remaining());
  facts->authorized = authorized;
  facts->extended_master_secret = static_cast<uint8_t>((flags >> 1) & 3);
  facts->authorization_error =
      authorized ? Error()
                 : Error(code, Stage::certificate,
                         "the session was saved from a connection whose peer was not authorized");
  facts->leaf.assign(leaf.begin(), leaf.end());
  mbedtls_ssl_session session;
  mbedtls_ssl_session_init(&session);
  int ret = mbedtls_ssl_session_load(&session, rest.data(), rest.size());
  Error error;
  if (ret == MBEDTLS_ERR_SSL_VERSION_MISMATCH) {
    error = invalid("the saved session comes from a different sanstls/mbedTLS build", ret);
  } else if (ret != 0) {
    error = invalid("the saved session is corrupt", ret);
  } else if ((ret = mbedtls_ssl_set_session(&ssl, &session)) != 0) {
    error = invalid("the saved session cannot be offered with this Config", ret);
  }
  mbedtls_ssl_session_free(&session);
  return error;
}

const char* key_log_label(mbedtls_ssl_key_export_type type) noexcept {
  switch (type) {
    case MBEDTLS_SSL_KEY_EXPORT_TLS12_MASTER_SECRET: return "CLIENT_RANDOM";
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_CLIENT_EARLY_SECRET: return "CLIENT_EARLY_TRAFFIC_SECRET";
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_EARLY_EXPORTER_SECRET: return "EARLY_EXPORTER_SECRET";
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
