#define MBEDTLS_ALLOW_PRIVATE_ACCESS
#include "mbedtls_private.h"

namespace sanstls::detail {

uint8_t received_alert(const mbedtls_ssl_context& ssl) noexcept {
  return ssl.in_msg != nullptr ? ssl.in_msg[1] : 0;
}

bool last_record_is_warning_alert(const mbedtls_ssl_context& ssl, uint8_t* description) noexcept {
  if (ssl.in_msg == nullptr || ssl.in_msgtype != MBEDTLS_SSL_MSG_ALERT || ssl.in_msglen < 2) {
    return false;
  }
  if (ssl.in_msg[0] != MBEDTLS_SSL_ALERT_LEVEL_WARNING) return false;
  *description = ssl.in_msg[1];
  return true;
}

int last_handshake_type(const mbedtls_ssl_context& ssl) noexcept {
  if (ssl.in_msg == nullptr || ssl.in_msgtype != MBEDTLS_SSL_MSG_HANDSHAKE) return -1;
  return ssl.in_msg[0];
}

int handshake_state(const mbedtls_ssl_context& ssl) noexcept { return ssl.state; }

bool renegotiating(const mbedtls_ssl_context& ssl) noexcept {
  return ssl.renego_status == 1;  // MBEDTLS_SSL_RENEGOTIATION_IN_PROGRESS (ssl_misc.h)
}

bool output_unflushed(const mbedtls_ssl_context& ssl) noexcept { return ssl.out_left != 0; }

void use_key_cert_of(mbedtls_ssl_config& target, const mbedtls_ssl_config* holder) noexcept {
  target.key_cert = holder != nullptr ? holder->key_cert : nullptr;
}

void set_negotiated_max_early_data(mbedtls_ssl_context& ssl, uint32_t bytes) noexcept {
  if (ssl.session_negotiate != nullptr) ssl.session_negotiate->max_early_data_size = bytes;
}

void forbid_early_data(mbedtls_ssl_session& session) noexcept {
  session.ticket_flags = static_cast<uint8_t>(session.ticket_flags &
                                              ~MBEDTLS_SSL_TLS1_3_TICKET_ALLOW_EARLY_DATA);
}

bool session_peer_verified(const mbedtls_ssl_session& session) noexcept {
  return session.peer_cert != nullptr && session.verify_result == 0;
}

void mark_pending_alert(mbedtls_ssl_context& ssl) noexcept { ssl.alert_type = kNoPendingAlert; }

uint8_t pending_alert(const mbedtls_ssl_context& ssl) noexcept { return ssl.alert_type; }

}  // namespace sanstls::detail
