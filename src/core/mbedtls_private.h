// The few facts mbedTLS 3.6 keeps only in private fields. All private
// access lives in mbedtls_private.cpp and (what needs mbedTLS's internal,
// C-only headers) mbedtls_internal.c, so an mbedTLS upgrade touches one place.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"
#include "sanstls/bytes.h"

// mbedtls_internal.c: what needs mbedTLS's internal (C-only) ssl_misc.h.
extern "C" {
// TLS 1.3 client, before mbedTLS parses a HelloRetryRequest that carries a
// cookie: lets mbedTLS 3.6 take the cookie it would otherwise refuse as an
// extension the first ClientHello did not send (mbedTLS issue #9543).
void sanstls_accept_hello_retry_cookie(mbedtls_ssl_context* ssl);
// TLS 1.3 client, before mbedTLS parses a HelloRetryRequest choosing
// `suite`: a resumed ticket of another hash is not offered again.
void sanstls_retry_without_other_hash_ticket(mbedtls_ssl_context* ssl, uint16_t suite);
}

namespace sanstls::detail {

// Whether a TLS 1.2 cipher suite's key exchange is ECDHE (ECDHE_RSA,
// ECDHE_ECDSA, ECDHE_PSK): it needs a group from the client's supported_groups.
bool tls12_suite_uses_ecdhe(uint16_t suite) noexcept;

#if defined(MBEDTLS_SSL_SRV_C)
// What a TLS 1.2 suite needs from the server besides being enabled on both
// sides, as mbedTLS 3.6's ssl_ciphersuite_match() checks it: a group the
// client offers (an ECC suite), a pre-shared key, a certificate key type.
struct Tls12SuiteNeeds {
  bool known = false;  // a TLS 1.2 suite whose needs are listed here
  bool group = false;
  bool psk = false;
  mbedtls_pk_type_t key = MBEDTLS_PK_NONE;  // RSA, ECDSA (signs) or ECKEY (ECDH)
};
Tls12SuiteNeeds tls12_suite_needs(uint16_t suite) noexcept;
#endif

// The description of the fatal alert mbedTLS just reported
// (after MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE).
uint8_t received_alert(const mbedtls_ssl_context& ssl) noexcept;
// Whether the record mbedTLS last processed was a warning alert, and which.
bool last_record_is_warning_alert(const mbedtls_ssl_context& ssl, uint8_t* description) noexcept;
// The peer's leaf certificate of the handshake in progress (null before its
// Certificate; mbedtls_ssl_get_peer_cert() answers only once it is over).
const mbedtls_x509_crt* handshake_peer_certificate(const mbedtls_ssl_context& ssl) noexcept;
// The level byte of the alert mbedTLS last read, -1 when the last record
// was no alert (mbedTLS ignores levels other than warning and fatal).
int last_record_alert_level(const mbedtls_ssl_context& ssl) noexcept;
// The handshake type of the message mbedTLS last read (post-handshake).
int last_handshake_type(const mbedtls_ssl_context& ssl) noexcept;
// The SignatureScheme of the CertificateVerify mbedTLS last read (decrypted
// in TLS 1.3), 0 when the last message read is no CertificateVerify.
uint16_t last_certificate_verify_scheme(const mbedtls_ssl_context& ssl) noexcept;

// TLS 1.2 client, around the step that reads a ServerKeyExchange signed
// with RSA-PSS: mbedTLS 3.6 verifies RSA-PSS there (ssl_tls12_client.c has
// the code) but first refuses the scheme through a TLS 1.2-only table. With
// `on`, the context answers that check by TLS 1.3's table, which has
// rsa_pss_rsae_*; off restores TLS 1.2. Only the version field changes.
void use_tls13_signature_table(mbedtls_ssl_context& ssl, bool on) noexcept;
// mbedtls_ssl_handshake_step() for a TLS 1.2 client whose ServerKeyExchange
// is already buffered (packed with earlier messages), with the table above
// on: the step dispatches on the same field, so it calls the TLS 1.2 client
// step itself (what mbedtls_ssl_handshake_step() does around it included).
int tls12_client_step_with_tls13_signature_table(mbedtls_ssl_context& ssl) noexcept;

// Reads the next record's message (decrypted) into mbedTLS's input and keeps
// it there for the next handshake step to parse, as mbedTLS itself does for a
// message one state reads and the next one parses: the engine can judge a
// protected handshake message before mbedTLS acts on it. 0 with the message's
// content type, for a handshake message its bytes (header included) and how
// many bytes follow it in its record, or what the step would have returned
// (MBEDTLS_ERR_SSL_WANT_READ: not here yet). TLS 1.3 only (the transcript is
// left to the step, as TLS 1.3 steps do).
// No ALPN list: the server ignores the client's ALPN offer and answers none
// (mbedtls_ssl_conf_alpn_protocols takes no empty list).
void clear_alpn_protocols(mbedtls_ssl_config& conf) noexcept;

int peek_next_message(mbedtls_ssl_context& ssl, int* content_type, ByteView* handshake,
                      size_t* bytes_after) noexcept;

// Whether the record mbedTLS just refused is an alert record whose length
// is not 2 (a fragmented alert, or two in one record).
bool last_record_is_malformed_alert(const mbedtls_ssl_context& ssl) noexcept;

// Whether the record mbedTLS last read was a ChangeCipherSpec that came
// protected (TLS 1.3 ignores it instead of refusing it).
bool last_record_is_protected_change_cipher_spec(const mbedtls_ssl_context& ssl) noexcept;

// Whether a TLS 1.2 renegotiation handshake is running.
bool renegotiating(const mbedtls_ssl_context& ssl) noexcept;

// Whether mbedTLS holds a record it could not hand to us yet (WANT_WRITE).
bool output_unflushed(const mbedtls_ssl_context& ssl) noexcept;

// The handshake state mbedTLS will run next (mbedtls_ssl_states).
int handshake_state(const mbedtls_ssl_context& ssl) noexcept;
// The handshake bytes that follow, in the same record, the message the last
// step read (0 when none or when the record was not a handshake record).
size_t handshake_bytes_after_message(const mbedtls_ssl_context& ssl) noexcept;
// Makes `target` present the certificate list held by `holder`
// (or none, when holder is null). Both configurations outlive the handshake.
void use_key_cert_of(mbedtls_ssl_config& target, const mbedtls_ssl_config* holder) noexcept;

// Servers with 0-RTT: mbedTLS 3.6 checks discarded early data in a full
// handshake against the negotiated session's limit, which is 0 there, and
// fails the handshake. Give it the configured limit before the ClientHello.
void set_negotiated_max_early_data(mbedtls_ssl_context& ssl, uint32_t bytes) noexcept;
// A resumed ticket that must not carry 0-RTT (replayed): clear its flag.
void forbid_early_data(mbedtls_ssl_session& session) noexcept;
bool session_allows_early_data(const mbedtls_ssl_session& session) noexcept;
// TLS 1.3 key exchange modes as mbedTLS's MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_*
// bits: those a resumed ticket allows, and those the configuration enables.
int session_ticket_kex_modes(const mbedtls_ssl_session& session) noexcept;
int config_kex_modes(const mbedtls_ssl_config& conf) noexcept;
bool session_is_tls13(const mbedtls_ssl_session& session) noexcept;
// The ticket's max_early_data_size when it allows 0-RTT, else 0.
uint32_t session_max_early_data(const mbedtls_ssl_session& session) noexcept;
// A loaded TLS 1.3 client session's host name is a C string within its
// allocation (mbedTLS 3.6.6 copies it unchecked from the blob, then strlen()s it).
bool session_hostname_terminated(const mbedtls_ssl_session& session) noexcept;
// A loaded TLS 1.3 client session's ticket reception time is not negative:
// mbedTLS 3.6.6 subtracts it from the current time unchecked (a signed
// overflow, found by fuzz_sessions).
bool session_reception_time_valid(const mbedtls_ssl_session& session) noexcept;
// Whether the session's peer presented a certificate that verified.
bool session_peer_verified(const mbedtls_ssl_session& session) noexcept;
// The session ID of the established session (empty when none, e.g. a TLS
// 1.2 server that issued a ticket instead).
ByteView current_session_id(const mbedtls_ssl_context& ssl) noexcept;

// Restarts the handshake transcript with one message (type, body), as
// received: for a ClientHello that mbedTLS parsed in a rewritten form.
bool restart_transcript(mbedtls_ssl_context& ssl, ByteView body, uint8_t type) noexcept;

// mbedTLS queues some fatal alerts through a "pending alert" field. We mark
// it before a call and read it after, to learn which alert it sent.
constexpr uint8_t kNoPendingAlert = 0xFF;
void mark_pending_alert(mbedtls_ssl_context& ssl) noexcept;
uint8_t pending_alert(const mbedtls_ssl_context& ssl) noexcept;

}  // namespace sanstls::detail

namespace sanstls::detail {

// Whether mbedTLS still holds a written record that the output did not take.
bool output_pending(const mbedtls_ssl_context& ssl) noexcept;
// Hands mbedTLS's held record to the send callback; false if it stays held.
bool flush_pending_output(mbedtls_ssl_context& ssl) noexcept;
// Whether inbound records are protected (a read transform is in place).
bool inbound_protected(const mbedtls_ssl_context& ssl) noexcept;
// Whether records we send are protected (TLS 1.2: after our ChangeCipherSpec).
bool outbound_protected(const mbedtls_ssl_context& ssl) noexcept;
// TLS 1.3 server between its Finished and the client's: RFC 8446 4.4.4 puts
// its records under the server application traffic keys, but mbedTLS 3.6
// switches only at the end of the handshake. Switch the outbound keys now
// (nothing but an alert can go out in this window). True if it switched.
bool protect_output_with_application_keys(mbedtls_ssl_context& ssl) noexcept;
// TLS 1.3 client between the ServerHello and the server's Finished: RFC
// 8446 protects everything after the ServerHello, alerts included, but
// mbedTLS 3.6 switches the client's outbound keys only for its second
// flight, so its alerts went out in the clear (and the server could not
// read them). Switch to the handshake keys for an alert. True if it switched.
bool protect_client_output_with_handshake_keys(mbedtls_ssl_context& ssl) noexcept;
// After MBEDTLS_ERR_SSL_INVALID_RECORD on a TLS 1.3 protected record of
// `length` bytes that authenticated: whether its inner plaintext was all
// zeros (no content type, RFC 8446 5.4). mbedTLS decrypts in place.
bool inner_plaintext_all_zero(const mbedtls_ssl_context& ssl, size_t length,
                              size_t tag_length) noexcept;

}  // namespace sanstls::detail

namespace sanstls::detail {

// mbedTLS's record buffers (16 KiB + overhead each way) while a connection
// is idle, like OpenSSL's SSL_MODE_RELEASE_BUFFERS: between records, with
// nothing half-received, unread or unsent, they hold only the read sequence
// number and the record pointers' offsets. park_record_buffers() keeps
// those here and frees (wiping) both buffers; unpark_record_buffers()
// allocates them again and puts everything back.
struct ParkedRecordBuffers {
  static constexpr size_t kPrefix = 64;  // sequence number, header, explicit IV
  bool parked = false;
  size_t in_size = 0;
  size_t out_size = 0;
  size_t in_offsets[5] = {};   // in_ctr, in_hdr, in_len, in_iv, in_msg
  size_t out_offsets[5] = {};  // out_ctr, out_hdr, out_len, out_iv, out_msg
  uint8_t in_prefix[kPrefix] = {};
  uint8_t out_prefix[kPrefix] = {};
};
// Bytes freed; 0 when the connection is not idle (or already parked).
size_t park_record_buffers(mbedtls_ssl_context& ssl, ParkedRecordBuffers& parked) noexcept;
// false: out of memory (the buffers stay parked).
bool unpark_record_buffers(mbedtls_ssl_context& ssl, ParkedRecordBuffers& parked) noexcept;

}  // namespace sanstls::detail
