// Failures: naming every error from mbedTLS or our record checks, and making
// sure the peer gets the alert the RFCs require.
#include "engine.h"

#include <cstdio>
#include <cstring>

#include "algorithms.h"
#include "error_text.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/error.h"
#include "mbedtls/x509.h"
#include "mbedtls/pk.h"
#include "mbedtls/rsa.h"
#include "mbedtls/asn1.h"
#include "mbedtls/bignum.h"
#include "mbedtls/cipher.h"
#include "mbedtls/ecp.h"
#include "mbedtls/md.h"
#include "mbedtls_private.h"

namespace sanstls::detail {

void Engine::fail(Error error) {
  if (!error_.ok()) return;
  // Never claim an alert the output does not hold (mbedTLS drops an alert
  // when a record is still pending, or the output may be full).
  if (error.alert_direction() == AlertDirection::sent && !alert_record_sent_ &&
      !plaintext_alert_sent_) {
    error.with_alert(error.alert(), AlertDirection::none);
  }
  error_ = error;
  read_closed_ = true;
  write_closed_ = true;
}

void Engine::rewrite_queued_alert(Alert alert) {
  // Only a plaintext alert record still at the tail of our queue can change.
  if (!plaintext_alert_sent_) return;
  uint8_t* record = output_.tail(7);
  if (record == nullptr || record[0] != kAlert || record[3] != 0 || record[4] != 2) return;
  record[6] = static_cast<uint8_t>(alert);
  plaintext_alert_code_ = static_cast<uint8_t>(alert);
}

void Engine::send_compatibility_change_cipher_spec() {
  // Compatibility mode (RFC 8446 D.4): the dummy ChangeCipherSpec goes before
  // the client's first protected record; a server in that mode expects it.
  if (change_cipher_spec_sent_) return;
  static const uint8_t kDummyChangeCipherSpec[] = {kChangeCipherSpec, 3, 3, 0, 1, 1};
  output_.append(ByteView(kDummyChangeCipherSpec, sizeof kDummyChangeCipherSpec));
  change_cipher_spec_sent_ = true;
}

void Engine::reprotect_client_alert() {
  // mbedTLS sent a TLS 1.3 client's alert in the clear after the ServerHello;
  // take it back (still unsent, at the tail) and send it under the
  // handshake keys, where the server reads it.
  const uint8_t* record = output_.tail(7);
  if (record == nullptr || record[0] != kAlert || record[3] != 0 || record[4] != 2) return;
  const uint8_t level = record[5], description = record[6];
  if (!protect_client_output_with_handshake_keys(ssl_)) return;
  output_.drop_tail(7);
  plaintext_alert_sent_ = false;
  send_compatibility_change_cipher_spec();
  // Should this fail (no room), fail() drops the alert from the error.
  mbedtls_ssl_send_alert_message(&ssl_, level, description);
}

bool Engine::send_alert(Alert alert) {
  // RFC 8446 6.2: one fatal alert, then close. If mbedTLS already sent one
  // in this call, that one stands.
  if (alert_record_sent_ || plaintext_alert_sent_) return true;
  if (deferred_setup_) {  // mbedTLS is not set up yet
    queue_plaintext_alert(alert);
    return plaintext_alert_sent_;
  }
  // mbedtls_ssl_send_alert_message() only flushes when a record is still
  // held, and drops the alert: hand the held record over first.
  // Released record buffers (release_buffers()) that could not come back:
  // no alert can be written.
  if (parked_.parked) return false;
  if (!flush_pending_output(ssl_)) return false;
  if (protect_client_output_with_handshake_keys(ssl_)) send_compatibility_change_cipher_spec();
  mbedtls_ssl_send_alert_message(&ssl_, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                 static_cast<unsigned char>(alert));
  return alert_record_sent_ || plaintext_alert_sent_;
}

void Engine::fail_from_header(HeaderVerdict verdict) {
  const Stage stage = handshake_done_ ? Stage::record : Stage::handshake;
  const uint8_t* h = inbound_.header();
  char text[Error::kMessageCapacity];
  switch (verdict) {
    case HeaderVerdict::http_request:
      // The peer speaks HTTP; a TLS alert would only be garbage to it.
      return fail(Error(ErrorCode::http_request, Stage::handshake,
                        "http request: the peer sent plain HTTP to a TLS server"));
    case HeaderVerdict::http_response:
      return fail(Error(ErrorCode::http_response, Stage::handshake,
                        "http response: the server answered with plain HTTP, not TLS"));
    case HeaderVerdict::bad_type:
      SANSTLS_FORMAT_ERROR_TEXT(text, "record with unknown content type %u", h[0]);
      send_alert(Alert::unexpected_message);
      return fail(Error(first_inbound_record_ || !handshake_done_
                            ? ErrorCode::wrong_version_number
                            : ErrorCode::unexpected_record_type,
                        stage, text)
                      .with_alert(Alert::unexpected_message, AlertDirection::sent));
    case HeaderVerdict::bad_version:
      SANSTLS_FORMAT_ERROR_TEXT(text, "wrong version number: record version %u.%u is not TLS", h[1],
                                h[2]);
      send_alert(Alert::protocol_version);
      return fail(Error(ErrorCode::wrong_version_number, stage, text)
                      .with_alert(Alert::protocol_version, AlertDirection::sent));
    case HeaderVerdict::too_long:
      SANSTLS_FORMAT_ERROR_TEXT(
          text, "record overflow: a %u-byte record exceeds the protocol limit", (h[3] << 8) | h[4]);
      send_alert(Alert::record_overflow);
      return fail(Error(ErrorCode::record_overflow, stage, text)
                      .with_alert(Alert::record_overflow, AlertDirection::sent));
    case HeaderVerdict::empty_handshake:
      send_alert(Alert::unexpected_message);
      return fail(Error(ErrorCode::unexpected_message, stage,
                        "empty handshake or alert record (forbidden by RFC 8446 5.1)")
                      .with_alert(Alert::unexpected_message, AlertDirection::sent));
    case HeaderVerdict::bad_change_cipher_spec:
      send_alert(Alert::unexpected_message);
      return fail(Error(ErrorCode::unexpected_message, stage,
                        handshake_done_ ? "unexpected message: ChangeCipherSpec after the handshake"
                                        : "unexpected message: malformed ChangeCipherSpec "
                                          "(RFC 8446 5 allows only the single byte 1)")
                      .with_alert(Alert::unexpected_message, AlertDirection::sent));
    case HeaderVerdict::plaintext_handshake:
      send_alert(Alert::unexpected_message);
      return fail(Error(ErrorCode::unexpected_message, stage,
                        "unexpected message: a handshake record in the clear after the TLS 1.3 "
                        "ServerHello (RFC 8446 5.2)")
                      .with_alert(Alert::unexpected_message, AlertDirection::sent));
    case HeaderVerdict::plaintext_alert: {
      // The peer gave up; we answer nothing (RFC 8446 6.2).
      const auto received = static_cast<Alert>(plaintext_fatal_alert_code_);
      SANSTLS_FORMAT_ERROR_TEXT(text, "the peer sent fatal alert %s (%u) %s", alert_name(received),
                                static_cast<unsigned>(received),
                                handshake_done_ ? "after the handshake" : "during the handshake");
      return fail(
          Error(ErrorCode::peer_alert, stage, text).with_alert(received, AlertDirection::received));
    }
    case HeaderVerdict::ok:
      break;
  }
}

void Engine::fail_from_backend(int code) {
  if (!error_.ok()) return;  // the first failure already named itself and sent its alert
  if ((code == MBEDTLS_ERR_SSL_INVALID_MAC || code == MBEDTLS_ERR_SSL_INVALID_RECORD) &&
      plaintext_fatal_alert_received_) {
    // Not a forgery: the peer's fatal alert arrived unprotected. Name it.
    const auto received = static_cast<Alert>(plaintext_fatal_alert_code_);
    char text[Error::kMessageCapacity];
    SANSTLS_FORMAT_ERROR_TEXT(text, "the peer sent fatal alert %s (%u) %s", alert_name(received),
                              static_cast<unsigned>(received),
                              handshake_done_ ? "after the handshake" : "during the handshake");
    return fail(
        Error(ErrorCode::peer_alert, handshake_done_ ? Stage::record : Stage::handshake, text)
            .with_alert(received, AlertDirection::received)
            .with_backend_code(code));
  }
  Alert alert = Alert::internal_error;
  Error error = describe_backend_error(code, &alert);
  const RecordHeader& record = inbound_.current_record();
  if (code == MBEDTLS_ERR_SSL_INVALID_RECORD && record.type == kApplicationData &&
      inner_plaintext_all_zero(ssl_, record.length,
                               server_hello_.cipher_suite == 0x1305 ? 8 : 16)) {
    // RFC 8446 5.4: no non-zero byte means no content type.
    alert = Alert::unexpected_message;
    error = Error(ErrorCode::unexpected_message, handshake_done_ ? Stage::record : Stage::handshake,
                  "unexpected message: a protected record's inner plaintext is "
                  "all zeros "
                  "(no content type)")
                .with_backend_code(code);
  }
  if (code == MBEDTLS_ERR_SSL_INVALID_RECORD && last_record_is_malformed_alert(ssl_)) {
    // RFC 8446 5.1: an alert record holds exactly one alert, never a part
    // of one. mbedTLS refuses it as an invalid record (bad_record_mac here,
    // as for a forgery); it is a malformed message: decode_error.
    alert = Alert::decode_error;
    error = Error(ErrorCode::decode_error, handshake_done_ ? Stage::record : Stage::handshake,
                  "decode error: an alert record that is not exactly one alert")
                .with_backend_code(code);
  }
  if (error.alert_direction() != AlertDirection::received) {
    if (plaintext_alert_sent_) {
      error.with_alert(static_cast<Alert>(plaintext_alert_code_), AlertDirection::sent);
      reprotect_client_alert();
    } else if (alert_record_sent_) {
      const uint8_t pending = pending_alert(ssl_);
      error.with_alert(pending != kNoPendingAlert ? static_cast<Alert>(pending) : alert,
                       AlertDirection::sent);
    } else if (error.code() != ErrorCode::out_of_memory) {
      // mbedTLS gave up without telling the peer; RFC 8446 6.2 wants an alert.
      send_alert(alert);
      error.with_alert(alert, AlertDirection::sent);
    }
  }
  if (error.code() == ErrorCode::internal_error &&
      error.alert_direction() == AlertDirection::sent) {
    // mbedTLS sometimes returns a generic code (FEATURE_UNAVAILABLE for a
    // compression method never offered) after queuing the precise alert:
    // the alert names the failure better than the code.
    ErrorCode named = ErrorCode::none;
    switch (error.alert()) {
      case Alert::illegal_parameter:
        named = ErrorCode::illegal_parameter;
        break;
      case Alert::decode_error:
        named = ErrorCode::decode_error;
        break;
      case Alert::unexpected_message:
        named = ErrorCode::unexpected_message;
        break;
      case Alert::handshake_failure:
        named = ErrorCode::handshake_failure;
        break;
      case Alert::protocol_version:
        named = ErrorCode::unsupported_protocol;
        break;
      default:
        break;
    }
    if (named != ErrorCode::none) {
      char text[Error::kMessageCapacity];
      SANSTLS_FORMAT_ERROR_TEXT(text, "%s sent: %.150s", alert_name(error.alert()),
                                error.message());
      error = Error(named, error.stage(), text)
                  .with_alert(error.alert(), AlertDirection::sent)
                  .with_backend_code(error.backend_code());
    }
  }
  fail(error);
}

namespace {

// mbedTLS adds a low-level module's code to a high-level one's; an
// allocation failure can hide in either part.
bool is_allocation_failure(int code) noexcept {
  const int high = -((-code) & 0xFF80);
  const int low = -((-code) & 0x007F);
  for (int part : {code, high, low}) {
    switch (part) {
      case MBEDTLS_ERR_SSL_ALLOC_FAILED:
      case MBEDTLS_ERR_X509_ALLOC_FAILED:
      case MBEDTLS_ERR_PK_ALLOC_FAILED:
      case MBEDTLS_ERR_MD_ALLOC_FAILED:
      case MBEDTLS_ERR_ECP_ALLOC_FAILED:
      case MBEDTLS_ERR_CIPHER_ALLOC_FAILED:
      case MBEDTLS_ERR_MPI_ALLOC_FAILED:
      case MBEDTLS_ERR_ASN1_ALLOC_FAILED:
        return true;
      default:
        break;
    }
  }
  return false;
}

#if defined(MBEDTLS_SSL_SRV_C)
// TLS 1.2: why none of the suites both sides enable can be used. mbedTLS
// 3.6 skips such a suite (ssl_ciphersuite_match) and answers only
// handshake_failure; nullptr when one looks usable (something else failed).
const char* unusable_tls12_suites(const ClientHelloFacts& hello, const ConfigState& config) {
  bool no_groups = false, no_psk = false, wrong_key = false;
  mbedtls_pk_type_t key_needed = MBEDTLS_PK_NONE;
  for (uint16_t offered : hello.cipher_suites) {
    bool ours = false;
    for (int mine : config.suites)
      ours = ours || (mine != 0 && static_cast<uint16_t>(mine) == offered);
    if (!ours || (offered >> 8) == 0x13) continue;
    const Tls12SuiteNeeds needs = tls12_suite_needs(offered);
    if (!needs.known) return nullptr;
    if (needs.group && hello.groups.empty()) {
      no_groups = true;  // RFC 8422 4 lets a server refuse ECC then (BoringSSL, OpenSSL do)
      continue;
    }
    if (needs.psk && config.psk_key.empty() && !config.psk_lookup) {
      no_psk = true;
      continue;
    }
    if (needs.key != MBEDTLS_PK_NONE) {
      bool fits = false;
#if defined(MBEDTLS_X509_CRT_PARSE_C)
      for (const auto& identity : config.identities) {
        fits = fits || mbedtls_pk_can_do(&identity->key, needs.key) != 0;
      }
#endif
      if (!fits) {
        wrong_key = true;
        key_needed =
            key_needed == MBEDTLS_PK_NONE || key_needed == needs.key ? needs.key : MBEDTLS_PK_NONE;
        continue;
      }
    }
    return nullptr;
  }
  if (no_groups + no_psk + wrong_key != 1) {
    return no_groups || no_psk || wrong_key
               ? SANSTLS_ERROR_TEXT(
                     "no shared cipher: none of the cipher suites we share can be "
                     "used (ECDHE without the client's groups, a PSK we lack, or "
                     "a certificate key of another type)")
               : nullptr;
  }
  if (no_groups) {
    return SANSTLS_ERROR_TEXT(
        "no shared cipher: the cipher suites we share use ECDHE and the client offered no "
        "supported groups");
  }
  if (no_psk) {
    return SANSTLS_ERROR_TEXT(
        "no shared cipher: the cipher suites we share need a pre-shared key and none is "
        "configured");
  }
  if (key_needed == MBEDTLS_PK_RSA) {
    return SANSTLS_ERROR_TEXT(
        "no shared cipher: the cipher suites we share need an RSA certificate and ours is not");
  }
  if (key_needed == MBEDTLS_PK_ECDSA || key_needed == MBEDTLS_PK_ECKEY) {
    return SANSTLS_ERROR_TEXT(
        "no shared cipher: the cipher suites we share need an ECDSA certificate and ours is "
        "not");
  }
  return SANSTLS_ERROR_TEXT(
      "no shared cipher: the cipher suites we share need a certificate key of another type "
      "than ours");
}
#endif

}  // namespace

bool Engine::max_memory_reached() const noexcept {
  return config_->max_connection_memory != 0 &&
         account_->current() + 4096 > config_->max_connection_memory;
}

Error Engine::describe_backend_error(int code, Alert* alert) {
  const Stage stage = handshake_done_ ? Stage::record : Stage::handshake;
  char reason[100];
#if defined(MBEDTLS_ERROR_C)
  mbedtls_strerror(code, reason, sizeof reason);
#else
  // Firmware builds leave mbedTLS's error strings out (13 KB of flash).
  SANSTLS_FORMAT_ERROR_TEXT(reason, "mbedTLS error -0x%04X", static_cast<unsigned>(-code));
#endif
  char text[Error::kMessageCapacity];
  auto make = [&](ErrorCode error_code, Stage error_stage, Alert default_alert,
                  const char* message) {
    *alert = default_alert;
    return Error(error_code, error_stage, message).with_backend_code(code);
  };
  if (is_allocation_failure(code)) {
    return make(ErrorCode::out_of_memory, Stage::internal, Alert::internal_error,
                max_memory_reached() ? "out of memory: the Connection reached its memory cap "
                                       "(max_connection_memory)"
                                     : "out of memory");
  }
  switch (code) {
    case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE: {
      const auto received = static_cast<Alert>(received_alert(ssl_));
      SANSTLS_FORMAT_ERROR_TEXT(text, "the peer sent fatal alert %s (%u) %s", alert_name(received),
                                static_cast<unsigned>(received),
                                handshake_done_ ? "after the handshake" : "during the handshake");
      return make(ErrorCode::peer_alert, stage, received, text)
          .with_alert(received, AlertDirection::received);
    }
    case MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION:
      return make(ErrorCode::unsupported_protocol, Stage::handshake, Alert::protocol_version,
                  "unsupported protocol: no TLS version is enabled on both sides");
    case MBEDTLS_ERR_SSL_UNKNOWN_IDENTITY:
      return make(ErrorCode::unknown_psk_identity, Stage::handshake, Alert::unknown_psk_identity,
                  "unknown PSK identity: the server has no key for the identity offered");
    case MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE: {
      if (is_server() && client_hello_.parsed) {
        bool shared_version = false;
        uint16_t negotiated = 0;  // the highest version both sides enable
        for (uint16_t offered : client_hello_.versions) {
          if (offered >= static_cast<uint16_t>(config_->min_version) &&
              offered <= static_cast<uint16_t>(config_->max_version)) {
            shared_version = true;
            if (offered > negotiated) negotiated = offered;
          }
        }
        if (!shared_version) {
          // mbedTLS answered handshake_failure; RFC 8446 4.2.1 wants protocol_version.
          rewrite_queued_alert(Alert::protocol_version);
          return make(ErrorCode::unsupported_protocol, Stage::handshake, Alert::protocol_version,
                      "unsupported protocol: the client offered no TLS version we enabled");
        }
        // A suite counts only in its own version: TLS 1.3 suites (0x13xx)
        // with TLS 1.3, the others with TLS 1.2.
        const bool tls13 = negotiated == static_cast<uint16_t>(TlsVersion::tls1_3);
        bool shared_suite = false;
        for (uint16_t offered : client_hello_.cipher_suites) {
          if (((offered >> 8) == 0x13) != tls13) continue;
          for (int ours : config_->suites) {
            if (ours != 0 && static_cast<uint16_t>(ours) == offered) shared_suite = true;
          }
        }
        if (!shared_suite) {
          return make(ErrorCode::no_shared_cipher, Stage::handshake, Alert::handshake_failure,
                      "no shared cipher: the client offered no cipher suite we enabled");
        }
        bool shared_group = client_hello_.groups.empty();
        for (uint16_t offered : client_hello_.groups) {
          for (uint16_t ours : config_->groups) {
            if (ours != 0 && ours == offered) shared_group = true;
          }
        }
        if (!shared_group) {
          return make(ErrorCode::no_shared_group, Stage::handshake, Alert::handshake_failure,
                      "no shared group: the client offered no key exchange group we enabled");
        }
#if defined(MBEDTLS_SSL_SRV_C)
        if (!tls13) {
          const char* why = unusable_tls12_suites(client_hello_, *config_);
          if (why != nullptr) {
            return make(ErrorCode::no_shared_cipher, Stage::handshake, Alert::handshake_failure,
                        why);
          }
        }
#endif
      }
      if (pending_alert(ssl_) == static_cast<uint8_t>(Alert::decrypt_error) &&
          (handshake_state(ssl_) == MBEDTLS_SSL_CERTIFICATE_VERIFY ||
           handshake_state(ssl_) == MBEDTLS_SSL_CLIENT_CERTIFICATE_VERIFY)) {
        // TLS 1.3: mbedTLS fails a CertificateVerify that does not verify
        // with a generic code and a decrypt_error alert (RFC 8446 4.4.3).
        return make(ErrorCode::bad_signature, Stage::handshake, Alert::decrypt_error,
                    "bad signature: the peer's CertificateVerify does not verify");
      }
      SANSTLS_FORMAT_ERROR_TEXT(text, "handshake failure (%s)", reason);
      return make(ErrorCode::handshake_failure, Stage::handshake, Alert::handshake_failure, text);
    }
    case MBEDTLS_ERR_ECP_VERIFY_FAILED:
    case MBEDTLS_ERR_RSA_VERIFY_FAILED:
    case MBEDTLS_ERR_RSA_INVALID_PADDING:  // an RSA-PSS signature that does not verify
    case MBEDTLS_ERR_PK_SIG_LEN_MISMATCH:
      // TLS 1.2: the peer's ServerKeyExchange or CertificateVerify signature
      // does not verify (RFC 5246 7.4.3, 7.4.8): decrypt_error.
      return make(ErrorCode::bad_signature, Stage::handshake, Alert::decrypt_error,
                  "bad signature: the peer's handshake signature does not verify");
    case MBEDTLS_ERR_SSL_INVALID_MAC:
    case MBEDTLS_ERR_SSL_INVALID_RECORD:
      return make(ErrorCode::bad_record_mac, stage, Alert::bad_record_mac,
                  "decryption failed or bad record mac: a record failed authentication");
    case MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE:
      if (handshake_done_ && last_handshake_type(ssl_) == kKeyUpdate) {
        return make(ErrorCode::key_update_unsupported, Stage::record, Alert::unexpected_message,
                    "the peer sent a TLS 1.3 KeyUpdate, which mbedTLS 3.6 cannot process");
      }
      return make(ErrorCode::unexpected_message, stage, Alert::unexpected_message,
                  "unexpected message: the peer sent a message out of order");
    case MBEDTLS_ERR_SSL_UNEXPECTED_RECORD:
      return make(ErrorCode::unexpected_record_type, stage, Alert::unexpected_message,
                  "unexpected record from the peer");
    case MBEDTLS_ERR_SSL_DECODE_ERROR:
      return make(ErrorCode::decode_error, stage, Alert::decode_error,
                  "decode error: a message from the peer is malformed");
    case MBEDTLS_ERR_SSL_ILLEGAL_PARAMETER:
      return make(ErrorCode::illegal_parameter, stage, Alert::illegal_parameter,
                  "illegal parameter in a message from the peer");
    case MBEDTLS_ERR_SSL_UNSUPPORTED_EXTENSION:
      return make(ErrorCode::illegal_parameter, stage, Alert::unsupported_extension,
                  "the peer sent an extension it must not send");
    case MBEDTLS_ERR_SSL_BAD_CERTIFICATE: {
      // mbedTLS's secondary checks (key usage, extended key usage) also end
      // here, with their verify flags set: name them as verification does.
      const uint32_t flags = mbedtls_ssl_get_verify_result(&ssl_);
      if (flags != 0 && flags != static_cast<uint32_t>(-1) &&
          (flags & (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE)) != 0) {
        *alert = alert_for_verify_flags(flags);
        return verification_failure(flags).with_backend_code(code);
      }
      return make(ErrorCode::bad_peer_certificate, Stage::certificate, Alert::bad_certificate,
                  "the peer's certificate message is malformed or unusable");
    }
    case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED: {
      const uint32_t flags = mbedtls_ssl_get_verify_result(&ssl_);
      Error error = verification_failure(flags).with_backend_code(code);
      *alert = alert_for_verify_flags(flags);
      return error;
    }
    case MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE:
      // certificate_required is TLS 1.3's (RFC 8446 4.4.2.4); TLS 1.2 has
      // handshake_failure (RFC 5246 7.4.6).
      return make(ErrorCode::peer_did_not_return_certificate, Stage::certificate,
                  server_hello_.tls13 ? Alert::certificate_required : Alert::handshake_failure,
                  "peer did not return a certificate, and one is required");
    case MBEDTLS_ERR_SSL_NO_APPLICATION_PROTOCOL:
      return make(ErrorCode::no_application_protocol, Stage::handshake,
                  Alert::no_application_protocol,
                  "no application protocol: the ALPN lists have nothing in common");

    case MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED:
      return make(ErrorCode::random_failed, Stage::internal, Alert::internal_error,
                  "the random source failed");
    default:
      SANSTLS_FORMAT_ERROR_TEXT(text, "TLS library error: %s", reason);
      return make(ErrorCode::internal_error, stage, Alert::internal_error, text);
  }
}

}  // namespace sanstls::detail
