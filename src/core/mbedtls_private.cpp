#define MBEDTLS_ALLOW_PRIVATE_ACCESS
#include "mbedtls_private.h"

#include <cstring>
#include <type_traits>

#include "call_scope.h"
#include "mbedtls/platform.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/ssl_ciphersuites.h"

// Internal mbedTLS 3.6 functions (library/ssl_misc.h, defined in ssl_tls.c).
extern "C" {
int mbedtls_ssl_reset_checksum(mbedtls_ssl_context* ssl);
int mbedtls_ssl_add_hs_msg_to_checksum(mbedtls_ssl_context* ssl, unsigned hs_type,
                                       unsigned char const* msg, size_t msg_len);
int mbedtls_ssl_read_record(mbedtls_ssl_context* ssl, unsigned update_hs_digest);
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
#if defined(MBEDTLS_X509_CRT_PARSE_C)
  return ssl.session_negotiate != nullptr ? ssl.session_negotiate->peer_cert : nullptr;
#else
  (void)ssl;  // a PSK-only build: no certificates
  return nullptr;
#endif
}

int last_record_alert_level(const mbedtls_ssl_context& ssl) noexcept {
  if (ssl.in_msg == nullptr || ssl.in_msgtype != MBEDTLS_SSL_MSG_ALERT) return -1;
  return ssl.in_msg[0];
}

int last_handshake_type(const mbedtls_ssl_context& ssl) noexcept {
  if (ssl.in_msg == nullptr || ssl.in_msgtype != MBEDTLS_SSL_MSG_HANDSHAKE) return -1;
  return ssl.in_msg[0];
}

uint16_t last_certificate_verify_scheme(const mbedtls_ssl_context& ssl) noexcept {
  // Handshake header (4 bytes), then the scheme (RFC 8446 4.4.3, RFC 5246
  // 7.4.8 with 4.7's digitally-signed).
  if (last_handshake_type(ssl) != 15 || ssl.in_hslen < 6) return 0;
  return static_cast<uint16_t>((ssl.in_msg[4] << 8) | ssl.in_msg[5]);
}

int handshake_state(const mbedtls_ssl_context& ssl) noexcept { return ssl.state; }

size_t handshake_bytes_after_message(const mbedtls_ssl_context& ssl) noexcept {
  // in_hslen is the message's length; mbedTLS drops it from the record only
  // when it reads the next one.
  if (ssl.in_msgtype != MBEDTLS_SSL_MSG_HANDSHAKE || ssl.in_hslen == 0 ||
      ssl.in_msglen <= ssl.in_hslen) {
    return 0;
  }
  return ssl.in_msglen - ssl.in_hslen;
}

bool renegotiating(const mbedtls_ssl_context& ssl) noexcept {
#if defined(MBEDTLS_SSL_RENEGOTIATION)
  return ssl.renego_status == 1;  // MBEDTLS_SSL_RENEGOTIATION_IN_PROGRESS (ssl_misc.h)
#else
  (void)ssl;
  return false;
#endif
}

bool output_unflushed(const mbedtls_ssl_context& ssl) noexcept { return ssl.out_left != 0; }

// Firmware configurations (config/mbedtls/sanstls_firmware_*.h) leave out
// the server, 0-RTT and (PSK profile) X.509: these have nothing to touch then.
void use_key_cert_of(mbedtls_ssl_config& target, const mbedtls_ssl_config* holder) noexcept {
#if defined(MBEDTLS_X509_CRT_PARSE_C)
  target.key_cert = holder != nullptr ? holder->key_cert : nullptr;
#else
  (void)target, (void)holder;
#endif
}

void set_negotiated_max_early_data(mbedtls_ssl_context& ssl, uint32_t bytes) noexcept {
#if defined(MBEDTLS_SSL_EARLY_DATA) && defined(MBEDTLS_SSL_SRV_C)
  if (ssl.session_negotiate != nullptr) ssl.session_negotiate->max_early_data_size = bytes;
#else
  (void)ssl, (void)bytes;
#endif
}

void forbid_early_data(mbedtls_ssl_session& session) noexcept {
#if defined(MBEDTLS_SSL_EARLY_DATA)
  session.ticket_flags =
      static_cast<uint8_t>(session.ticket_flags & ~MBEDTLS_SSL_TLS1_3_TICKET_ALLOW_EARLY_DATA);
#else
  (void)session;
#endif
}

bool session_reception_time_valid(const mbedtls_ssl_session& session) noexcept {
#if defined(MBEDTLS_SSL_PROTO_TLS1_3) && defined(MBEDTLS_SSL_SESSION_TICKETS) && \
    defined(MBEDTLS_HAVE_TIME) && defined(MBEDTLS_SSL_CLI_C)
  return session.ticket_reception_time >= 0;
#else
  (void)session;
  return true;
#endif
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
#if defined(MBEDTLS_SSL_EARLY_DATA)
  return (session.ticket_flags & MBEDTLS_SSL_TLS1_3_TICKET_ALLOW_EARLY_DATA) != 0;
#else
  (void)session;
  return false;
#endif
}

int session_ticket_kex_modes(const mbedtls_ssl_session& session) noexcept {
#if defined(MBEDTLS_SSL_PROTO_TLS1_3) && defined(MBEDTLS_SSL_SESSION_TICKETS)
  return session.ticket_flags & MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_ALL;
#else
  (void)session;
  return 0;
#endif
}

int config_kex_modes(const mbedtls_ssl_config& conf) noexcept {
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
  return conf.tls13_kex_modes;
#else
  (void)conf;
  return 0;
#endif
}

bool session_is_tls13(const mbedtls_ssl_session& session) noexcept {
  return session.tls_version == MBEDTLS_SSL_VERSION_TLS1_3;
}

uint32_t session_max_early_data(const mbedtls_ssl_session& session) noexcept {
#if defined(MBEDTLS_SSL_EARLY_DATA)
  return session_allows_early_data(session) ? session.max_early_data_size : 0;
#else
  (void)session;
  return 0;
#endif
}

ByteView current_session_id(const mbedtls_ssl_context& ssl) noexcept {
  if (ssl.session == nullptr) return ByteView();
  return ByteView(ssl.session->id, ssl.session->id_len);
}

bool session_peer_verified(const mbedtls_ssl_session& session) noexcept {
#if defined(MBEDTLS_X509_CRT_PARSE_C)
  return session.peer_cert != nullptr && session.verify_result == 0;
#else
  (void)session;
  return false;
#endif
}

void mark_pending_alert(mbedtls_ssl_context& ssl) noexcept { ssl.alert_type = kNoPendingAlert; }

uint8_t pending_alert(const mbedtls_ssl_context& ssl) noexcept { return ssl.alert_type; }

}  // namespace sanstls::detail

extern "C" int mbedtls_ssl_flush_output(mbedtls_ssl_context* ssl);           // ssl_misc.h
extern "C" int mbedtls_ssl_handle_pending_alert(mbedtls_ssl_context* ssl);   // ssl_misc.h
extern "C" int mbedtls_ssl_handshake_client_step(mbedtls_ssl_context* ssl);  // ssl_misc.h

namespace sanstls::detail {

// mbedTLS stores a peer's unchecked version number in the enum field (0x0500
// from a fuzzed ServerHello): reading it as the enum is undefined behaviour,
// so it is read as the integer it is.
static bool version_is_tls13(const mbedtls_ssl_context& ssl) noexcept {
  std::underlying_type_t<mbedtls_ssl_protocol_version> raw;
  static_assert(sizeof raw == sizeof ssl.tls_version, "an enum's storage");
  std::memcpy(&raw, &ssl.tls_version, sizeof raw);
  return raw == static_cast<decltype(raw)>(MBEDTLS_SSL_VERSION_TLS1_3);
}

bool last_record_is_malformed_alert(const mbedtls_ssl_context& ssl) noexcept {
  return ssl.in_msgtype == MBEDTLS_SSL_MSG_ALERT && ssl.in_msglen != 2;
}

bool last_record_is_protected_change_cipher_spec(const mbedtls_ssl_context& ssl) noexcept {
  return ssl.in_msgtype == MBEDTLS_SSL_MSG_CHANGE_CIPHER_SPEC && ssl.transform_in != nullptr;
}

void use_tls13_signature_table(mbedtls_ssl_context& ssl, bool on) noexcept {
#if defined(MBEDTLS_SSL_PROTO_TLS1_2) && defined(MBEDTLS_SSL_PROTO_TLS1_3)
  ssl.tls_version = on ? MBEDTLS_SSL_VERSION_TLS1_3 : MBEDTLS_SSL_VERSION_TLS1_2;
#else
  (void)ssl;
  (void)on;
#endif
}

int tls12_client_step_with_tls13_signature_table(mbedtls_ssl_context& ssl) noexcept {
#if defined(MBEDTLS_SSL_PROTO_TLS1_2) && defined(MBEDTLS_SSL_PROTO_TLS1_3) && \
    defined(MBEDTLS_SSL_CLI_C)
  if (ssl.conf == nullptr || ssl.handshake == nullptr || ssl.state == MBEDTLS_SSL_HANDSHAKE_OVER ||
      ssl.conf->endpoint != MBEDTLS_SSL_IS_CLIENT) {
    return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
  }
  int ret = mbedtls_ssl_flush_output(&ssl);
  if (ret != 0) return ret;
  ret = mbedtls_ssl_handle_pending_alert(&ssl);
  if (ret != 0) return ret;
  use_tls13_signature_table(ssl, true);
  ret = mbedtls_ssl_handshake_client_step(&ssl);
  use_tls13_signature_table(ssl, false);
  if (ret != 0 && ssl.send_alert) ret = mbedtls_ssl_handle_pending_alert(&ssl);
  return ret;
#else
  return mbedtls_ssl_handshake_step(&ssl);
#endif
}

void clear_alpn_protocols(mbedtls_ssl_config& conf) noexcept {
#if defined(MBEDTLS_SSL_ALPN)
  conf.alpn_list = nullptr;
#else
  (void)conf;
#endif
}

int peek_next_message(mbedtls_ssl_context& ssl, int* content_type, ByteView* handshake,
                      size_t* bytes_after) noexcept {
  if (ssl.keep_current_message == 0) {
    int ret = mbedtls_ssl_flush_output(&ssl);
    if (ret == 0) ret = mbedtls_ssl_handle_pending_alert(&ssl);
    // The transcript is not updated here: the TLS 1.3 step that parses the
    // message adds it (its fetch reads with update_hs_digest 0 as well).
    if (ret == 0) ret = mbedtls_ssl_read_record(&ssl, 0);
    if (ret != 0) return ret;
    ssl.keep_current_message = 1;
  }
  const bool handshake_message =
      ssl.in_msgtype == MBEDTLS_SSL_MSG_HANDSHAKE && ssl.in_msg != nullptr;
  *content_type = ssl.in_msgtype;
  *handshake = handshake_message ? ByteView(ssl.in_msg, ssl.in_hslen) : ByteView();
  *bytes_after =
      handshake_message && ssl.in_msglen > ssl.in_hslen ? ssl.in_msglen - ssl.in_hslen : 0;
  return 0;
}

bool output_pending(const mbedtls_ssl_context& ssl) noexcept { return ssl.out_left != 0; }

bool flush_pending_output(mbedtls_ssl_context& ssl) noexcept {
  if (ssl.out_left == 0) return true;
  return mbedtls_ssl_flush_output(&ssl) == 0 && ssl.out_left == 0;
}

bool inbound_protected(const mbedtls_ssl_context& ssl) noexcept {
  return ssl.transform_in != nullptr;
}

bool outbound_protected(const mbedtls_ssl_context& ssl) noexcept {
  return ssl.transform_out != nullptr;
}

bool protect_client_output_with_handshake_keys(mbedtls_ssl_context& ssl) noexcept {
  if (ssl.conf == nullptr || ssl.conf->endpoint != MBEDTLS_SSL_IS_CLIENT ||
      !version_is_tls13(ssl) || ssl.transform_in == nullptr || ssl.transform_out != nullptr ||
      ssl.out_left != 0) {
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
  for (auto& byte : ssl.cur_out_ctr) byte = 0;
  return true;
}

bool protect_output_with_application_keys(mbedtls_ssl_context& ssl) noexcept {
  if (ssl.conf == nullptr || ssl.conf->endpoint != MBEDTLS_SSL_IS_SERVER ||
      !version_is_tls13(ssl) || ssl.transform_application == nullptr ||
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
  for (auto& byte : ssl.cur_out_ctr) byte = 0;
  return true;
}

bool inner_plaintext_all_zero(const mbedtls_ssl_context& ssl, size_t length,
                              size_t tag_length) noexcept {
  if (ssl.transform_in == nullptr || !version_is_tls13(ssl) || ssl.in_msg == nullptr ||
      length <= tag_length) {
    return false;
  }
  for (size_t i = 0; i < length - tag_length; ++i) {
    if (ssl.in_msg[i] != 0) return false;
  }
  return true;
}

}  // namespace sanstls::detail

namespace sanstls::detail {

namespace {

template <size_t N>
bool offsets_of(const unsigned char* base, const unsigned char* const (&pointers)[N],
                size_t (&offsets)[N], size_t* highest) noexcept {
  *highest = 0;
  for (size_t i = 0; i < N; ++i) {
    if (pointers[i] < base) return false;
    offsets[i] = static_cast<size_t>(pointers[i] - base);
    if (offsets[i] > *highest) *highest = offsets[i];
  }
  return true;
}

}  // namespace

size_t park_record_buffers(mbedtls_ssl_context& ssl, ParkedRecordBuffers& parked) noexcept {
#if defined(MBEDTLS_SSL_DTLS_CONNECTION_ID) || defined(MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH)
  (void)ssl;
  (void)parked;
  return 0;  // more pointers and lengths to carry: not supported
#else
  if (parked.parked || ssl.in_buf == nullptr || ssl.out_buf == nullptr) return 0;
  // Idle: the handshake is over (no post-handshake message pending either;
  // TLS 1.3 keeps ssl.handshake for tickets, which does not matter here), no
  // record is half-received or has unread plaintext, nothing is unsent.
  if (ssl.state != MBEDTLS_SSL_HANDSHAKE_OVER) return 0;
  if (ssl.in_left != 0 || ssl.in_offt != nullptr || ssl.in_hslen != 0 ||
      ssl.keep_current_message != 0 || ssl.out_left != 0 || ssl.send_alert != 0) {
    return 0;
  }
  size_t in_high = 0;
  size_t out_high = 0;
  const unsigned char* const in_pointers[5] = {ssl.in_ctr, ssl.in_hdr, ssl.in_len, ssl.in_iv,
                                               ssl.in_msg};
  const unsigned char* const out_pointers[5] = {ssl.out_ctr, ssl.out_hdr, ssl.out_len, ssl.out_iv,
                                                ssl.out_msg};
  if (!offsets_of(ssl.in_buf, in_pointers, parked.in_offsets, &in_high) ||
      !offsets_of(ssl.out_buf, out_pointers, parked.out_offsets, &out_high) ||
      in_high > ParkedRecordBuffers::kPrefix || out_high > ParkedRecordBuffers::kPrefix) {
    return 0;
  }
  parked.in_size = allocated_size(ssl.in_buf);
  parked.out_size = allocated_size(ssl.out_buf);
  if (parked.in_size < ParkedRecordBuffers::kPrefix ||
      parked.out_size < ParkedRecordBuffers::kPrefix) {
    return 0;
  }
  std::memcpy(parked.in_prefix, ssl.in_buf, ParkedRecordBuffers::kPrefix);
  std::memcpy(parked.out_prefix, ssl.out_buf, ParkedRecordBuffers::kPrefix);
  // Plaintext passed through them: wiped, as mbedtls_ssl_free() does.
  mbedtls_platform_zeroize(ssl.in_buf, parked.in_size);
  mbedtls_platform_zeroize(ssl.out_buf, parked.out_size);
  mbedtls_free(ssl.in_buf);
  mbedtls_free(ssl.out_buf);
  ssl.in_buf = ssl.in_ctr = ssl.in_hdr = ssl.in_len = ssl.in_iv = ssl.in_msg = nullptr;
  ssl.out_buf = ssl.out_ctr = ssl.out_hdr = ssl.out_len = ssl.out_iv = ssl.out_msg = nullptr;
  parked.parked = true;
  return parked.in_size + parked.out_size;
#endif
}

bool unpark_record_buffers(mbedtls_ssl_context& ssl, ParkedRecordBuffers& parked) noexcept {
  if (!parked.parked) return true;
  auto* in = static_cast<unsigned char*>(mbedtls_calloc(1, parked.in_size));
  auto* out =
      in != nullptr ? static_cast<unsigned char*>(mbedtls_calloc(1, parked.out_size)) : nullptr;
  if (out == nullptr) {
    mbedtls_free(in);
    return false;
  }
  std::memcpy(in, parked.in_prefix, ParkedRecordBuffers::kPrefix);
  std::memcpy(out, parked.out_prefix, ParkedRecordBuffers::kPrefix);
  mbedtls_platform_zeroize(parked.in_prefix, sizeof parked.in_prefix);
  mbedtls_platform_zeroize(parked.out_prefix, sizeof parked.out_prefix);
  ssl.in_buf = in;
  ssl.in_ctr = in + parked.in_offsets[0];
  ssl.in_hdr = in + parked.in_offsets[1];
  ssl.in_len = in + parked.in_offsets[2];
  ssl.in_iv = in + parked.in_offsets[3];
  ssl.in_msg = in + parked.in_offsets[4];
  ssl.out_buf = out;
  ssl.out_ctr = out + parked.out_offsets[0];
  ssl.out_hdr = out + parked.out_offsets[1];
  ssl.out_len = out + parked.out_offsets[2];
  ssl.out_iv = out + parked.out_offsets[3];
  ssl.out_msg = out + parked.out_offsets[4];
  parked.parked = false;
  return true;
}

bool tls12_suite_uses_ecdhe(uint16_t suite) noexcept {
  const mbedtls_ssl_ciphersuite_t* info = mbedtls_ssl_ciphersuite_from_id(suite);
  if (info == nullptr || info->MBEDTLS_PRIVATE(min_tls_version) > MBEDTLS_SSL_VERSION_TLS1_2) {
    return false;
  }
  switch (info->MBEDTLS_PRIVATE(key_exchange)) {
    case MBEDTLS_KEY_EXCHANGE_ECDHE_RSA:
    case MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA:
    case MBEDTLS_KEY_EXCHANGE_ECDHE_PSK:
      return true;
    default:
      return false;
  }
}

#if defined(MBEDTLS_SSL_SRV_C)
Tls12SuiteNeeds tls12_suite_needs(uint16_t suite) noexcept {
  Tls12SuiteNeeds needs;
  const mbedtls_ssl_ciphersuite_t* info = mbedtls_ssl_ciphersuite_from_id(suite);
  if (info == nullptr || info->MBEDTLS_PRIVATE(min_tls_version) > MBEDTLS_SSL_VERSION_TLS1_2) {
    return needs;
  }
  needs.known = true;
  switch (info->MBEDTLS_PRIVATE(key_exchange)) {
    case MBEDTLS_KEY_EXCHANGE_ECDHE_RSA:
      needs.group = true;
      needs.key = MBEDTLS_PK_RSA;
      break;
    case MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA:
      needs.group = true;
      needs.key = MBEDTLS_PK_ECDSA;
      break;
    case MBEDTLS_KEY_EXCHANGE_ECDH_RSA:
    case MBEDTLS_KEY_EXCHANGE_ECDH_ECDSA:
      needs.group = true;
      needs.key = MBEDTLS_PK_ECKEY;
      break;
    case MBEDTLS_KEY_EXCHANGE_ECDHE_PSK:
      needs.group = true;
      needs.psk = true;
      break;
    case MBEDTLS_KEY_EXCHANGE_RSA:
    case MBEDTLS_KEY_EXCHANGE_DHE_RSA:
      needs.key = MBEDTLS_PK_RSA;
      break;
    case MBEDTLS_KEY_EXCHANGE_RSA_PSK:
      needs.key = MBEDTLS_PK_RSA;
      needs.psk = true;
      break;
    case MBEDTLS_KEY_EXCHANGE_PSK:
    case MBEDTLS_KEY_EXCHANGE_DHE_PSK:
      needs.psk = true;
      break;
    default:  // EC J-PAKE: not ours to judge
      needs.known = false;
      break;
  }
  return needs;
}
#endif

}  // namespace sanstls::detail
