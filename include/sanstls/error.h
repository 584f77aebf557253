// Errors are values. Every failure the engine reports is an Error carrying
// the stage it happened in, the TLS alert sent or received (if any), a stable
// name users can search for (OpenSSL/Node names where one exists) and a
// human message. Errors never allocate.
//
// Build option SANSTLS_NO_ERROR_MESSAGES (firmware builds; docs/firmware.md):
// errors keep their code, stage, alert, backend code and stable name, but
// carry no human message, and message() gives the name. The message texts
// then compile out. Define it for the library and its users alike.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sanstls {

// Where in a connection's life the failure happened, in the order the source
// documents teach for debugging.
enum class Stage : uint8_t {
  none,         // no error
  config,       // building a Config or Connection, bad arguments
  resolve,      // adapters: name resolution (ENOTFOUND)
  connect,      // adapters: TCP connect (ECONNREFUSED, ETIMEDOUT)
  transport,    // the byte stream itself (truncation, resets, timeouts)
  handshake,    // negotiating: versions, suites, groups, ALPN, peer alerts
  certificate,  // verifying the peer's certificate chain or identity
  record,       // protecting application records after the handshake
  closed,       // using a connection that is already closed
  internal,     // out of memory, randomness failure, library bug
  proxy,        // an HTTP proxy's CONNECT exchange (refused, closed, bad reply)
};

// TLS alert descriptions (RFC 8446 section 6, RFC 5246 section 7.2).
enum class Alert : uint8_t {
  close_notify = 0,
  unexpected_message = 10,
  bad_record_mac = 20,
  record_overflow = 22,
  decompression_failure = 30,
  handshake_failure = 40,
  no_certificate = 41,
  bad_certificate = 42,
  unsupported_certificate = 43,
  certificate_revoked = 44,
  certificate_expired = 45,
  certificate_unknown = 46,
  illegal_parameter = 47,
  unknown_ca = 48,
  access_denied = 49,
  decode_error = 50,
  decrypt_error = 51,
  protocol_version = 70,
  insufficient_security = 71,
  internal_error = 80,
  inappropriate_fallback = 86,
  user_canceled = 90,
  no_renegotiation = 100,
  missing_extension = 109,
  unsupported_extension = 110,
  unrecognized_name = 112,
  bad_certificate_status_response = 113,
  unknown_psk_identity = 115,
  certificate_required = 116,
  no_application_protocol = 120,
};

// "handshake_failure"; "unknown" for values outside the registry.
const char* alert_name(Alert alert) noexcept;

enum class AlertDirection : uint8_t { none, sent, received };

// Stable error codes. error_code_name() gives the stable string.
enum class ErrorCode : uint16_t {
  none = 0,
  // config stage
  invalid_argument,           // ERR_INVALID_ARG_VALUE
  certificate_parse_failed,   // ERR_TLS_CERT_PARSE_FAILED
  key_parse_failed,           // ERR_TLS_KEY_PARSE_FAILED
  key_passphrase_required,    // ERR_TLS_KEY_PASSPHRASE_REQUIRED
  key_passphrase_wrong,       // ERR_TLS_KEY_PASSPHRASE_WRONG
  key_certificate_mismatch,   // ERR_OSSL_X509_KEY_VALUES_MISMATCH
  trust_anchor_parse_failed,  // ERR_TLS_CA_PARSE_FAILED
  crl_parse_failed,           // ERR_TLS_CRL_PARSE_FAILED
  unknown_cipher_suite,       // ERR_SSL_NO_CIPHER_MATCH
  unknown_group,              // ERR_TLS_UNKNOWN_GROUP
  invalid_version,            // ERR_TLS_INVALID_PROTOCOL_VERSION
  version_range_conflict,     // ERR_TLS_PROTOCOL_VERSION_CONFLICT
  no_usable_cipher_suite,     // ERR_TLS_NO_USABLE_CIPHER_SUITE
  missing_certificate,        // ERR_TLS_MISSING_CERTIFICATE
  missing_trust_anchors,      // ERR_TLS_MISSING_CA
  missing_server_name,        // ERR_TLS_MISSING_SERVER_NAME
  invalid_alpn,               // ERR_TLS_INVALID_ALPN_PROTOCOL
  invalid_session,            // ERR_TLS_INVALID_SESSION
  invalid_psk,                // ERR_TLS_INVALID_PSK
  session_unavailable,        // ERR_TLS_SESSION_UNAVAILABLE
  session_not_trusted,        // ERR_TLS_SESSION_NOT_TRUSTED
  // handshake stage
  unsupported_protocol,             // ERR_SSL_UNSUPPORTED_PROTOCOL
  no_shared_cipher,                 // ERR_SSL_NO_SHARED_CIPHER
  no_shared_group,                  // ERR_SSL_NO_SUITABLE_KEY_SHARE
  no_application_protocol,          // ERR_SSL_NO_APPLICATION_PROTOCOL
  handshake_failure,                // ERR_SSL_HANDSHAKE_FAILURE
  peer_alert,                       // ERR_SSL_PEER_ALERT (see Error::alert())
  http_request,                     // ERR_SSL_HTTP_REQUEST
  http_response,                    // ERR_SSL_HTTP_RESPONSE
  wrong_version_number,             // ERR_SSL_WRONG_VERSION_NUMBER
  unexpected_message,               // ERR_SSL_UNEXPECTED_MESSAGE
  decode_error,                     // ERR_SSL_DECODE_ERROR
  illegal_parameter,                // ERR_SSL_ILLEGAL_PARAMETER
  peer_did_not_return_certificate,  // ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE
  handshake_timeout,                // ERR_TLS_HANDSHAKE_TIMEOUT
  export_unavailable,               // ERR_TLS_EXPORT_UNAVAILABLE
  unrecognized_name,                // ERR_SSL_UNRECOGNIZED_NAME
  renegotiation_limit,              // ERR_TLS_SESSION_ATTACK
  renegotiation_refused,            // ERR_SSL_NO_RENEGOTIATION
  unknown_psk_identity,             // ERR_SSL_PSK_IDENTITY_NOT_FOUND
  unexpected_eof,                   // ERR_SSL_UNEXPECTED_EOF_WHILE_READING
  // certificate stage (OpenSSL's X509_V_ERR_* names, as Node reports them)
  cert_has_expired,                   // CERT_HAS_EXPIRED
  cert_not_yet_valid,                 // CERT_NOT_YET_VALID
  depth_zero_self_signed_cert,        // DEPTH_ZERO_SELF_SIGNED_CERT
  self_signed_cert_in_chain,          // SELF_SIGNED_CERT_IN_CHAIN
  unable_to_get_issuer_cert_locally,  // UNABLE_TO_GET_ISSUER_CERT_LOCALLY
  unable_to_verify_leaf_signature,    // UNABLE_TO_VERIFY_LEAF_SIGNATURE
  hostname_mismatch,                  // ERR_TLS_CERT_ALTNAME_INVALID
  public_key_pin_mismatch,            // ERR_TLS_PUBLIC_KEY_PIN_MISMATCH
  identity_rejected,                  // ERR_TLS_IDENTITY_REJECTED
  cert_revoked,                       // CERT_REVOKED
  cert_signature_failure,             // CERT_SIGNATURE_FAILURE
  invalid_purpose,                    // INVALID_PURPOSE
  cert_rejected,                      // CERT_REJECTED
  bad_peer_certificate,               // ERR_SSL_BAD_CERTIFICATE (malformed)
  // record stage
  bad_record_mac,          // ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC
  record_overflow,         // ERR_SSL_RECORD_OVERFLOW
  unexpected_record_type,  // ERR_SSL_UNEXPECTED_RECORD
  key_update_unsupported,  // ERR_TLS_KEY_UPDATE_UNSUPPORTED
  // adapters: resolve, connect and transport stages (errno-style names)
  name_not_found,       // ENOTFOUND
  connection_refused,   // ECONNREFUSED
  timed_out,            // ETIMEDOUT
  connection_reset,     // ECONNRESET
  network_unreachable,  // ENETUNREACH
  transport_failed,     // ERR_TRANSPORT (errno in system_error)
  // proxy stage (the CONNECT exchange with an HTTP proxy, sanstls/tunnel.h)
  proxy_refused,    // ERR_PROXY_REFUSED (a non-2xx reply: status and reason)
  proxy_closed,     // ERR_PROXY_CLOSED (EOF before a complete reply)
  proxy_bad_reply,  // ERR_PROXY_BAD_REPLY (not HTTP, malformed or too long)
  // internal
  out_of_memory,   // ERR_TLS_OUT_OF_MEMORY
  random_failed,   // ERR_TLS_RANDOM_FAILED
  internal_error,  // ERR_TLS_INTERNAL
  // handshake stage, added later (new codes go last: the values are stable)
  bad_signature,  // ERR_SSL_BAD_SIGNATURE
};

const char* error_code_name(ErrorCode code) noexcept;
// The stage an error code belongs to by default.
Stage error_code_stage(ErrorCode code) noexcept;
const char* stage_name(Stage stage) noexcept;

class Error {
 public:
  static constexpr size_t kMessageCapacity = 200;

  Error() noexcept = default;  // "no error"
#if defined(SANSTLS_NO_ERROR_MESSAGES)
  Error(ErrorCode code, Stage stage, const char* /*message*/) noexcept
      : code_(code), stage_(stage) {}
#else
  Error(ErrorCode code, Stage stage, const char* message) noexcept;
#endif

  // Builders used by the engine; each returns *this for chaining.
  Error& with_alert(Alert alert, AlertDirection direction) noexcept;
  Error& with_backend_code(int code) noexcept;
  Error& with_system_error(int code) noexcept;

  bool ok() const noexcept { return code_ == ErrorCode::none; }
  explicit operator bool() const noexcept { return !ok(); }  // true when an error

  ErrorCode code() const noexcept { return code_; }
  Stage stage() const noexcept { return stage_; }
  const char* name() const noexcept { return error_code_name(code_); }
#if defined(SANSTLS_NO_ERROR_MESSAGES)
  const char* message() const noexcept { return name(); }
#else
  const char* message() const noexcept { return message_; }
#endif
  bool has_alert() const noexcept { return alert_direction_ != AlertDirection::none; }
  Alert alert() const noexcept { return alert_; }
  AlertDirection alert_direction() const noexcept { return alert_direction_; }
  // The mbedTLS error code behind it (negative), 0 when none. For bug reports.
  int backend_code() const noexcept { return backend_code_; }
  // The operating system's error behind an adapter's failure: errno (stages
  // connect, transport), or getaddrinfo()'s EAI_* code (stage resolve); 0
  // when none. Never mixed with backend_code().
  int system_error() const noexcept { return system_error_; }

 private:
  ErrorCode code_ = ErrorCode::none;
  Stage stage_ = Stage::none;
  Alert alert_ = Alert::close_notify;
  AlertDirection alert_direction_ = AlertDirection::none;
  int backend_code_ = 0;
  int system_error_ = 0;
#if !defined(SANSTLS_NO_ERROR_MESSAGES)
  char message_[kMessageCapacity] = {0};
#endif
};

}  // namespace sanstls
