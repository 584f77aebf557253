#include "error_map.h"

#include <cctype>

namespace sanstls::bogo {
namespace {

// BoringSSL names a received fatal alert SSLV3_ALERT_* for the alerts SSLv3
// already had and TLSV1_ALERT_* (or its own names) for the later ones
// (ssl/ssl_lib.c, SSL_alert_desc_string_long and the SSL_R_*_ALERT_* codes).
std::string received_alert_reason(Alert alert) {
  switch (alert) {
    case Alert::close_notify:
      return ":SSLV3_ALERT_CLOSE_NOTIFY:";
    case Alert::unexpected_message:
      return ":SSLV3_ALERT_UNEXPECTED_MESSAGE:";
    case Alert::bad_record_mac:
      return ":SSLV3_ALERT_BAD_RECORD_MAC:";
    case Alert::decompression_failure:
      return ":SSLV3_ALERT_DECOMPRESSION_FAILURE:";
    case Alert::handshake_failure:
      return ":SSLV3_ALERT_HANDSHAKE_FAILURE:";
    case Alert::no_certificate:
      return ":SSLV3_ALERT_NO_CERTIFICATE:";
    case Alert::bad_certificate:
      return ":SSLV3_ALERT_BAD_CERTIFICATE:";
    case Alert::unsupported_certificate:
      return ":SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:";
    case Alert::certificate_revoked:
      return ":SSLV3_ALERT_CERTIFICATE_REVOKED:";
    case Alert::certificate_expired:
      return ":SSLV3_ALERT_CERTIFICATE_EXPIRED:";
    case Alert::certificate_unknown:
      return ":SSLV3_ALERT_CERTIFICATE_UNKNOWN:";
    case Alert::illegal_parameter:
      return ":SSLV3_ALERT_ILLEGAL_PARAMETER:";
    case Alert::record_overflow:
      return ":TLSV1_ALERT_RECORD_OVERFLOW:";
    case Alert::unknown_ca:
      return ":TLSV1_ALERT_UNKNOWN_CA:";
    case Alert::access_denied:
      return ":TLSV1_ALERT_ACCESS_DENIED:";
    case Alert::decode_error:
      return ":TLSV1_ALERT_DECODE_ERROR:";
    case Alert::decrypt_error:
      return ":TLSV1_ALERT_DECRYPT_ERROR:";
    case Alert::protocol_version:
      return ":TLSV1_ALERT_PROTOCOL_VERSION:";
    case Alert::insufficient_security:
      return ":TLSV1_ALERT_INSUFFICIENT_SECURITY:";
    case Alert::internal_error:
      return ":TLSV1_ALERT_INTERNAL_ERROR:";
    case Alert::inappropriate_fallback:
      return ":TLSV1_ALERT_INAPPROPRIATE_FALLBACK:";
    case Alert::user_canceled:
      return ":TLSV1_ALERT_USER_CANCELLED:";
    case Alert::no_renegotiation:
      return ":TLSV1_ALERT_NO_RENEGOTIATION:";
    case Alert::missing_extension:
      return ":TLSV1_ALERT_MISSING_EXTENSION:";
    case Alert::unsupported_extension:
      return ":TLSV1_ALERT_UNSUPPORTED_EXTENSION:";
    case Alert::unrecognized_name:
      return ":TLSV1_ALERT_UNRECOGNIZED_NAME:";
    case Alert::bad_certificate_status_response:
      return ":TLSV1_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE:";
    case Alert::unknown_psk_identity:
      return ":TLSV1_ALERT_UNKNOWN_PSK_IDENTITY:";
    case Alert::certificate_required:
      return ":TLSV1_ALERT_CERTIFICATE_REQUIRED:";
    case Alert::no_application_protocol:
      return ":TLSV1_ALERT_NO_APPLICATION_PROTOCOL:";
  }
  return ":UNKNOWN_ALERT_TYPE:";
}

}  // namespace

std::string boringssl_reason(const Error& error) {
  switch (error.code()) {
    case ErrorCode::peer_alert:
      return received_alert_reason(error.alert());
    case ErrorCode::unsupported_protocol:
      return ":UNSUPPORTED_PROTOCOL:";
    case ErrorCode::no_shared_cipher:
      return ":NO_SHARED_CIPHER:";
    case ErrorCode::no_shared_group:
      return ":NO_SHARED_GROUP:";
    case ErrorCode::no_application_protocol:
      return ":NO_APPLICATION_PROTOCOL:";
    case ErrorCode::handshake_failure:
      return ":HANDSHAKE_FAILURE:";
    case ErrorCode::http_request:
      return ":HTTP_REQUEST:";
    case ErrorCode::http_response:
      return ":HTTPS_PROXY_REQUEST:";
    case ErrorCode::wrong_version_number:
      return ":WRONG_VERSION_NUMBER:";
    case ErrorCode::unexpected_message:
      return ":UNEXPECTED_MESSAGE:";
    case ErrorCode::decode_error:
      return ":DECODE_ERROR:";
    case ErrorCode::illegal_parameter:
      return ":ILLEGAL_PARAMETER:";
    case ErrorCode::peer_did_not_return_certificate:
      return ":PEER_DID_NOT_RETURN_A_CERTIFICATE:";
    case ErrorCode::unrecognized_name:
      return ":UNRECOGNIZED_NAME:";
    case ErrorCode::renegotiation_refused:
      return ":NO_RENEGOTIATION:";
    case ErrorCode::unknown_psk_identity:
      return ":PSK_IDENTITY_NOT_FOUND:";
    case ErrorCode::bad_peer_certificate:
      return ":BAD_CERTIFICATE:";
    case ErrorCode::cert_signature_failure:
    case ErrorCode::identity_rejected:  // the certificate_verifier said no (-verify-fail)
      return ":CERTIFICATE_VERIFY_FAILED:";
    case ErrorCode::bad_record_mac:
      return ":DECRYPTION_FAILED_OR_BAD_RECORD_MAC:";
    case ErrorCode::record_overflow:
      return ":DATA_LENGTH_TOO_LONG:";
    case ErrorCode::unexpected_record_type:
      return ":UNEXPECTED_RECORD:";
    case ErrorCode::key_update_unsupported:
      return ":KEY_UPDATE_UNSUPPORTED:";
    case ErrorCode::unexpected_eof:
      return ":UNEXPECTED_EOF:";
    case ErrorCode::out_of_memory:
      return ":MALLOC_FAILURE:";
    case ErrorCode::bad_signature:
      return ":BAD_SIGNATURE:";
    case ErrorCode::version_range_conflict:  // no version left to speak (config)
      return ":NO_SUPPORTED_VERSIONS_ENABLED:";
    case ErrorCode::invalid_purpose:  // a key usage the certificate does not allow
      return ":KEY_USAGE_BIT_INCORRECT:";
    default:
      break;
  }
  return {};
}

}  // namespace sanstls::bogo
