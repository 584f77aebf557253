#include "sanstls/error.h"

#include <cstdio>
#include <cstring>

namespace sanstls {
namespace {

struct CodeEntry {
  ErrorCode code;
  const char* name;
  Stage stage;
};

// One table: the stable name and default stage of every code.
constexpr CodeEntry kCodes[] = {
    {ErrorCode::none, "OK", Stage::none},
    {ErrorCode::invalid_argument, "ERR_INVALID_ARG_VALUE", Stage::config},
    {ErrorCode::certificate_parse_failed, "ERR_TLS_CERT_PARSE_FAILED", Stage::config},
    {ErrorCode::key_parse_failed, "ERR_TLS_KEY_PARSE_FAILED", Stage::config},
    {ErrorCode::key_passphrase_required, "ERR_TLS_KEY_PASSPHRASE_REQUIRED", Stage::config},
    {ErrorCode::key_passphrase_wrong, "ERR_TLS_KEY_PASSPHRASE_WRONG", Stage::config},
    {ErrorCode::key_certificate_mismatch, "ERR_OSSL_X509_KEY_VALUES_MISMATCH", Stage::config},
    {ErrorCode::trust_anchor_parse_failed, "ERR_TLS_CA_PARSE_FAILED", Stage::config},
    {ErrorCode::crl_parse_failed, "ERR_TLS_CRL_PARSE_FAILED", Stage::config},
    {ErrorCode::unknown_cipher_suite, "ERR_SSL_NO_CIPHER_MATCH", Stage::config},
    {ErrorCode::unknown_group, "ERR_TLS_UNKNOWN_GROUP", Stage::config},
    {ErrorCode::invalid_version, "ERR_TLS_INVALID_PROTOCOL_VERSION", Stage::config},
    {ErrorCode::version_range_conflict, "ERR_TLS_PROTOCOL_VERSION_CONFLICT", Stage::config},
    {ErrorCode::no_usable_cipher_suite, "ERR_TLS_NO_USABLE_CIPHER_SUITE", Stage::config},
    {ErrorCode::missing_certificate, "ERR_TLS_MISSING_CERTIFICATE", Stage::config},
    {ErrorCode::missing_trust_anchors, "ERR_TLS_MISSING_CA", Stage::config},
    {ErrorCode::missing_server_name, "ERR_TLS_MISSING_SERVER_NAME", Stage::config},
    {ErrorCode::invalid_alpn, "ERR_TLS_INVALID_ALPN_PROTOCOL", Stage::config},
    {ErrorCode::invalid_psk, "ERR_TLS_INVALID_PSK", Stage::config},
    {ErrorCode::invalid_session, "ERR_TLS_INVALID_SESSION", Stage::config},
    {ErrorCode::session_unavailable, "ERR_TLS_SESSION_UNAVAILABLE", Stage::config},
    {ErrorCode::session_not_trusted, "ERR_TLS_SESSION_NOT_TRUSTED", Stage::certificate},
    {ErrorCode::unsupported_protocol, "ERR_SSL_UNSUPPORTED_PROTOCOL", Stage::handshake},
    {ErrorCode::no_shared_cipher, "ERR_SSL_NO_SHARED_CIPHER", Stage::handshake},
    {ErrorCode::no_shared_group, "ERR_SSL_NO_SUITABLE_KEY_SHARE", Stage::handshake},
    {ErrorCode::no_application_protocol, "ERR_SSL_NO_APPLICATION_PROTOCOL", Stage::handshake},
    {ErrorCode::handshake_failure, "ERR_SSL_HANDSHAKE_FAILURE", Stage::handshake},
    {ErrorCode::peer_alert, "ERR_SSL_PEER_ALERT", Stage::handshake},
    {ErrorCode::http_request, "ERR_SSL_HTTP_REQUEST", Stage::handshake},
    {ErrorCode::http_response, "ERR_SSL_HTTP_RESPONSE", Stage::handshake},
    {ErrorCode::wrong_version_number, "ERR_SSL_WRONG_VERSION_NUMBER", Stage::handshake},
    {ErrorCode::unexpected_message, "ERR_SSL_UNEXPECTED_MESSAGE", Stage::handshake},
    {ErrorCode::decode_error, "ERR_SSL_DECODE_ERROR", Stage::handshake},
    {ErrorCode::illegal_parameter, "ERR_SSL_ILLEGAL_PARAMETER", Stage::handshake},
    {ErrorCode::peer_did_not_return_certificate, "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE",
     Stage::certificate},
    {ErrorCode::unknown_psk_identity, "ERR_SSL_PSK_IDENTITY_NOT_FOUND", Stage::handshake},
    {ErrorCode::renegotiation_refused, "ERR_SSL_NO_RENEGOTIATION", Stage::record},
    {ErrorCode::renegotiation_limit, "ERR_TLS_SESSION_ATTACK", Stage::record},
    {ErrorCode::unrecognized_name, "ERR_SSL_UNRECOGNIZED_NAME", Stage::handshake},
    {ErrorCode::export_unavailable, "ERR_TLS_EXPORT_UNAVAILABLE", Stage::config},
    {ErrorCode::handshake_timeout, "ERR_TLS_HANDSHAKE_TIMEOUT", Stage::handshake},
    {ErrorCode::unexpected_eof, "ERR_SSL_UNEXPECTED_EOF_WHILE_READING", Stage::transport},
    {ErrorCode::cert_has_expired, "CERT_HAS_EXPIRED", Stage::certificate},
    {ErrorCode::cert_not_yet_valid, "CERT_NOT_YET_VALID", Stage::certificate},
    {ErrorCode::depth_zero_self_signed_cert, "DEPTH_ZERO_SELF_SIGNED_CERT", Stage::certificate},
    {ErrorCode::self_signed_cert_in_chain, "SELF_SIGNED_CERT_IN_CHAIN", Stage::certificate},
    {ErrorCode::unable_to_get_issuer_cert_locally, "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
     Stage::certificate},
    {ErrorCode::unable_to_verify_leaf_signature, "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
     Stage::certificate},
    {ErrorCode::hostname_mismatch, "ERR_TLS_CERT_ALTNAME_INVALID", Stage::certificate},
    {ErrorCode::public_key_pin_mismatch, "ERR_TLS_PUBLIC_KEY_PIN_MISMATCH", Stage::certificate},
    {ErrorCode::identity_rejected, "ERR_TLS_IDENTITY_REJECTED", Stage::certificate},
    {ErrorCode::cert_revoked, "CERT_REVOKED", Stage::certificate},
    {ErrorCode::cert_signature_failure, "CERT_SIGNATURE_FAILURE", Stage::certificate},
    {ErrorCode::invalid_purpose, "INVALID_PURPOSE", Stage::certificate},
    {ErrorCode::cert_rejected, "CERT_REJECTED", Stage::certificate},
    {ErrorCode::bad_peer_certificate, "ERR_SSL_BAD_CERTIFICATE", Stage::certificate},
    {ErrorCode::bad_record_mac, "ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC", Stage::record},
    {ErrorCode::record_overflow, "ERR_SSL_RECORD_OVERFLOW", Stage::record},
    {ErrorCode::unexpected_record_type, "ERR_SSL_UNEXPECTED_RECORD", Stage::record},
    {ErrorCode::key_update_unsupported, "ERR_TLS_KEY_UPDATE_UNSUPPORTED", Stage::record},
    {ErrorCode::name_not_found, "ENOTFOUND", Stage::resolve},
    {ErrorCode::connection_refused, "ECONNREFUSED", Stage::connect},
    {ErrorCode::timed_out, "ETIMEDOUT", Stage::transport},
    {ErrorCode::connection_reset, "ECONNRESET", Stage::transport},
    {ErrorCode::network_unreachable, "ENETUNREACH", Stage::connect},
    {ErrorCode::transport_failed, "ERR_TRANSPORT", Stage::transport},
    {ErrorCode::proxy_refused, "ERR_PROXY_REFUSED", Stage::proxy},
    {ErrorCode::proxy_closed, "ERR_PROXY_CLOSED", Stage::proxy},
    {ErrorCode::proxy_bad_reply, "ERR_PROXY_BAD_REPLY", Stage::proxy},
    {ErrorCode::out_of_memory, "ERR_TLS_OUT_OF_MEMORY", Stage::internal},
    {ErrorCode::random_failed, "ERR_TLS_RANDOM_FAILED", Stage::internal},
    {ErrorCode::internal_error, "ERR_TLS_INTERNAL", Stage::internal},
    {ErrorCode::bad_signature, "ERR_SSL_BAD_SIGNATURE", Stage::handshake},
};

const CodeEntry* find_code(ErrorCode code) noexcept {
  for (const auto& entry : kCodes) {
    if (entry.code == code) return &entry;
  }
  return nullptr;
}

struct AlertEntry {
  Alert alert;
  const char* name;
};

constexpr AlertEntry kAlerts[] = {
    {Alert::close_notify, "close_notify"},
    {Alert::unexpected_message, "unexpected_message"},
    {Alert::bad_record_mac, "bad_record_mac"},
    {Alert::record_overflow, "record_overflow"},
    {Alert::decompression_failure, "decompression_failure"},
    {Alert::handshake_failure, "handshake_failure"},
    {Alert::no_certificate, "no_certificate"},
    {Alert::bad_certificate, "bad_certificate"},
    {Alert::unsupported_certificate, "unsupported_certificate"},
    {Alert::certificate_revoked, "certificate_revoked"},
    {Alert::certificate_expired, "certificate_expired"},
    {Alert::certificate_unknown, "certificate_unknown"},
    {Alert::illegal_parameter, "illegal_parameter"},
    {Alert::unknown_ca, "unknown_ca"},
    {Alert::access_denied, "access_denied"},
    {Alert::decode_error, "decode_error"},
    {Alert::decrypt_error, "decrypt_error"},
    {Alert::protocol_version, "protocol_version"},
    {Alert::insufficient_security, "insufficient_security"},
    {Alert::internal_error, "internal_error"},
    {Alert::inappropriate_fallback, "inappropriate_fallback"},
    {Alert::user_canceled, "user_canceled"},
    {Alert::no_renegotiation, "no_renegotiation"},
    {Alert::missing_extension, "missing_extension"},
    {Alert::unsupported_extension, "unsupported_extension"},
    {Alert::unrecognized_name, "unrecognized_name"},
    {Alert::bad_certificate_status_response, "bad_certificate_status_response"},
    {Alert::unknown_psk_identity, "unknown_psk_identity"},
    {Alert::certificate_required, "certificate_required"},
    {Alert::no_application_protocol, "no_application_protocol"},
};

}  // namespace

const char* alert_name(Alert alert) noexcept {
  for (const auto& entry : kAlerts) {
    if (entry.alert == alert) return entry.name;
  }
  return "unknown";
}

const char* error_code_name(ErrorCode code) noexcept {
  const CodeEntry* entry = find_code(code);
  return entry ? entry->name : "ERR_TLS_UNKNOWN";
}

Stage error_code_stage(ErrorCode code) noexcept {
  const CodeEntry* entry = find_code(code);
  return entry ? entry->stage : Stage::internal;
}

const char* stage_name(Stage stage) noexcept {
  switch (stage) {
    case Stage::none:
      return "none";
    case Stage::config:
      return "config";
    case Stage::resolve:
      return "resolve";
    case Stage::connect:
      return "connect";
    case Stage::transport:
      return "transport";
    case Stage::handshake:
      return "handshake";
    case Stage::certificate:
      return "certificate";
    case Stage::record:
      return "record";
    case Stage::closed:
      return "closed";
    case Stage::internal:
      return "internal";
    case Stage::proxy:
      return "proxy";
  }
  return "internal";
}

#if !defined(SANSTLS_NO_ERROR_MESSAGES)
Error::Error(ErrorCode code, Stage stage, const char* message) noexcept
    : code_(code), stage_(stage) {
  std::snprintf(message_, sizeof message_, "%s", message ? message : "");
}
#endif

Error& Error::with_alert(Alert alert, AlertDirection direction) noexcept {
  alert_ = alert;
  alert_direction_ = direction;
  return *this;
}

Error& Error::with_system_error(int code) noexcept {
  system_error_ = code;
  return *this;
}

Error& Error::with_backend_code(int code) noexcept {
  backend_code_ = code;
  return *this;
}

}  // namespace sanstls
