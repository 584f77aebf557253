#define MBEDTLS_ALLOW_PRIVATE_ACCESS
#include "mbedtls_private.h"

#include <cstring>

#include "call_scope.h"

// Internal mbedTLS 3.6 functions (library/ssl_misc.h, defined in ssl_tls.c).
extern "C" {
int mbedtls_ssl_reset_checksum(mbedtls_ssl_context* ssl);
int mbedtls_ssl_add_hs_msg_to_checksum(mbedtls_ssl_context* ssl, unsigned hs_type,
                                       unsigned char const* msg, size_t msg_len);
}

namespace sanstls::detail {

bool restart_transcript(mbedtls_ssl_context& ssl, ByteView body, uint8_t type) noexcept {
  if (ssl.handshake == nullptr) return false;
  return mbedtls_ssl_reset_checksum(&ssl) == 0 &&
         mbedtls_ssl_add_hs_msg_to_checksum(&ssl, type, body.data(), body.size()) == 0;
}

uint8_t received_alert(const mbedtls_ssl_context& ssl) noexcept {
  return ssl.in_msg != nullptr ? ssl.in_msg[1] : 0;
}

bool last_record_is_warning_alert(const mbedtls_ssl_context& ssl, uint8_t* description) noexcept {
  // mbedTLS has consumed an ignored warning by now (in_msglen 0), but its
  // type and bytes stay until the next record is read.
  if (ssl.in_msg == nullptr || ssl.in_msgtype != MBEDTLS_SSL_MSG_ALERT) return false;
  if (ssl.in_msg[0] != MBEDTLS_SSL_ALERT_LEVEL_WARNING) return false;
  *description = ssl.in_msg[1];
  return true;
}

const mbedtls_x509_crt* handshake_peer_certificate(const mbedtls_ssl_context& ssl) noexcept {
  return ssl.session_negotiate != nullptr ? ssl.session_negotiate->peer_cert : nullptr;
}

int last_record_alert_level(const mbedtls_ssl_context& ssl) noexcept {
  if (ssl.in_msg == nullptr || ssl.in_msgtype != MBEDTLS_SSL_MSG_ALERT) return -1;
  return ssl.in_msg[0];
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

bool session_hostname_terminated(const mbedtls_ssl_session& session) noexcept {
#if defined(MBEDTLS_SSL_PROTO_TLS1_3) && defined(MBEDTLS_SSL_SESSION_TICKETS) && \
    defined(MBEDTLS_SSL_SERVER_NAME_INDICATION) && defined(MBEDTLS_SSL_CLI_C)
  const char* name = session.hostname;
  if (name == nullptr) return true;
  return std::memchr(name, 0, allocated_size(name)) != nullptr;
#else
  (void)session;
  return true;
#endif
}

bool session_allows_early_data(const mbedtls_ssl_session& session) noexcept {
  return (session.ticket_flags & MBEDTLS_SSL_TLS1_3_TICKET_ALLOW_EARLY_DATA) != 0;
}

bool session_peer_verified(const mbedtls_ssl_session& session) noexcept {
  return session.peer_cert != nullptr && session.verify_result == 0;
}

void mark_pending_alert(mbedtls_ssl_context& ssl) noexcept { ssl.alert_type = kNoPendingAlert; }

uint8_t pending_alert(const mbedtls_ssl_context& ssl) noexcept { return ssl.alert_type; }

}  // namespace sanstls::detail

extern "C" int mbedtls_ssl_flush_output(mbedtls_ssl_context *ssl); // ssl_misc.h

namespace sanstls::detail {

bool output_pending(const mbedtls_ssl_context &ssl) noexcept {
  return ssl.out_left != 0;
}

bool flush_pending_output(mbedtls_ssl_context &ssl) noexcept {
  if (ssl.out_left == 0) return true;
  return mbedtls_ssl_flush_output(&ssl) == 0 && ssl.out_left == 0;
}

bool inbound_protected(const mbedtls_ssl_context &ssl) noexcept {
  return ssl.transform_in != nullptr;
}

bool protect_client_output_with_handshake_keys(mbedtls_ssl_context &ssl) noexcept {
  if (ssl.conf == nullptr || ssl.conf->endpoint != MBEDTLS_SSL_IS_CLIENT ||
      ssl.tls_version != MBEDTLS_SSL_VERSION_TLS1_3 || ssl.transform_in == nullptr ||
      ssl.transform_out != nullptr || ssl.out_left != 0) {
    return false;
  }
  switch (ssl.state) {
  case MBEDTLS_SSL_ENCRYPTED_EXTENSIONS:
  case MBEDTLS_SSL_CERTIFICATE_REQUEST:
  case MBEDTLS_SSL_SERVER_CERTIFICATE:
  case MBEDTLS_SSL_CERTIFICATE_VERIFY:
  case MBEDTLS_SSL_SERVER_FINISHED:
    break;
  default:
    return false;
  }
  // In these states the inbound transform is the handshake transform, which
  // holds the keys of both directions; nothing went out under it yet.
  ssl.transform_out = ssl.transform_in;
  for (auto &byte : ssl.cur_out_ctr)
    byte = 0;
  return true;
}

bool protect_output_with_application_keys(mbedtls_ssl_context &ssl) noexcept {
  if (ssl.conf == nullptr || ssl.conf->endpoint != MBEDTLS_SSL_IS_SERVER ||
      ssl.tls_version != MBEDTLS_SSL_VERSION_TLS1_3 ||
      ssl.transform_application == nullptr ||
      ssl.transform_out == ssl.transform_application || ssl.out_left != 0) {
    return false;
  }
  switch (ssl.state) {
  case MBEDTLS_SSL_END_OF_EARLY_DATA:
  case MBEDTLS_SSL_CLIENT_CERTIFICATE:
  case MBEDTLS_SSL_CLIENT_CERTIFICATE_VERIFY:
  case MBEDTLS_SSL_CLIENT_FINISHED:
    break;
  default:
    return false;
  }
  // mbedtls_ssl_set_outbound_transform(): the wrap-up sets the same
  // transform again (and resets the counter, which nothing used meanwhile).
  ssl.transform_out = ssl.transform_application;
  for (auto &byte : ssl.cur_out_ctr)
    byte = 0;
  return true;
}

bool inner_plaintext_all_zero(const mbedtls_ssl_context &ssl, size_t length,
                              size_t tag_length) noexcept {
  if (ssl.transform_in == nullptr ||
      ssl.tls_version != MBEDTLS_SSL_VERSION_TLS1_3 || ssl.in_msg == nullptr ||
      length <= tag_length) {
    return false;
  }
  for (size_t i = 0; i < length - tag_length; ++i) {
    if (ssl.in_msg[i] != 0) return false;
  }
  return true;
}

} // namespace sanstls::detail
