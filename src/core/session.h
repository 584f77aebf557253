// Saved sessions (an opaque, versioned blob around mbedTLS's own session
// serialisation) and NSS key log lines.
#pragma once

#include <string>
#include <vector>

#include "mbedtls/ssl.h"
#include "sanstls/bytes.h"
#include "sanstls/error.h"

namespace sanstls::detail {

// What a saved session remembers of the handshake that made it: the server's
// certificate chain (no certificate travels on resumption). The blob is not
// protected, so it carries no verdict: a client that resumes verifies this
// chain again under its own Config (Engine::verify_saved_session).
struct SessionFacts {
  std::vector<std::vector<uint8_t>> chain;  // DER, leaf first
  uint8_t extended_master_secret = 0;  // TLS 1.2 EMS use (EmsUse, advisory_guards.h); 0 unknown
  uint32_t max_early_data = 0;         // the ticket's 0-RTT limit; 0 when it allows none
};

// The client's current session as a blob, or empty when there is none.
std::vector<uint8_t> store_session(const mbedtls_ssl_context& ssl, const std::string& server_name,
                                   const SessionFacts& facts);
// Reads a blob's facts and offers its session on a fresh client context.
Error load_session(mbedtls_ssl_context& ssl, ByteView blob, const std::string& server_name,
                   SessionFacts* facts);

// A blob's 0-RTT limit (0 when none or unreadable); no server name check.
uint32_t saved_session_max_early_data(ByteView blob) noexcept;

// NSS key log label for an mbedTLS export type, or nullptr if NSS has none.
const char* key_log_label(mbedtls_ssl_key_export_type type) noexcept;
std::string key_log_line(const char* label, const unsigned char client_random[32],
                         const unsigned char* secret, size_t secret_len);

}  // namespace sanstls::detail
