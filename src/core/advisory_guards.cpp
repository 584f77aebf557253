#include "advisory_guards.h"

#include <algorithm>

#include "engine.h"
#include "error_text.h"
#include "sanstls/sync.h"
#include "hello_parser.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls_private.h"

namespace sanstls::detail {

namespace {

// legacy_session_id of a ClientHello or ServerHello (same offset in both).
ByteView session_id_of_hello(ByteView body) noexcept {
  if (body.size() < 35) return ByteView();
  const size_t length = body[34];
  if (length > 32 || body.size() < 35 + length) return ByteView();
  return body.skip(35).first(length);
}

}  // namespace

EmsUse session_ems(TlsVersion version, const ServerHelloFacts& server_hello) noexcept {
  if (version != TlsVersion::tls1_2 || !server_hello.parsed) return EmsUse::unknown;
  return server_hello.extended_master_secret ? EmsUse::used : EmsUse::not_used;
}

namespace {

// RFC 5246 7.4, RFC 8446 4 and B.3 (with RFC 4366's certificate_url and
// certificate_status, and TLS 1.3's message_hash).
bool known_handshake_type(uint8_t type) {
  switch (type) {
    case 0:
    case 1:
    case 2:
    case 4:
    case 5:
    case 8:
    case 11:
    case 12:
    case 13:
    case 14:
    case 15:
    case 16:
    case 20:
    case 21:
    case 22:
    case 24:
    case 254:
      return true;
    default:
      return false;
  }
}

uint32_t read_u16(ByteView b, size_t at) { return (uint32_t{b[at]} << 8) | b[at + 1]; }

// RFC 7301 3.1, 3.2: the server's ALPN answer is one non-empty protocol name
// we offered. mbedTLS 3.6 failed an unoffered or empty name with
// internal_error or handshake_failure.
GuardVerdict check_alpn_answer(const AdvisoryGuards& guards, ByteView data) {
  if (data.size() < 3 || 2 + read_u16(data, 0) != data.size() ||
      size_t{data[2]} + 3 != data.size() || data[2] == 0) {
    return refusal(ErrorCode::decode_error, Alert::decode_error,
                   SANSTLS_ERROR_TEXT("decode error: the server's ALPN answer is not one "
                                      "non-empty protocol name"));
  }
  const std::string chosen(reinterpret_cast<const char*>(data.data()) + 3, data[2]);
  const auto& offered = guards.offered_alpn;
  if (std::find(offered.begin(), offered.end(), chosen) == offered.end()) {
    return refusal(ErrorCode::illegal_parameter, Alert::illegal_parameter,
                   SANSTLS_ERROR_TEXT("illegal parameter: the server selected an ALPN protocol "
                                      "we did not offer"));
  }
  return GuardVerdict();
}

}  // namespace

GuardVerdict check_inbound_message(const AdvisoryGuards& guards, Role role, uint8_t type,
                                   ByteView body, size_t bytes_after) {
  if (!known_handshake_type(type)) {
    // RFC 5246 7.4, RFC 8446 4: a handshake type that does not exist is an
    // unexpected message (mbedTLS 3.6's TLS 1.2 states: decode_error).
    return refusal(ErrorCode::unexpected_message, Alert::unexpected_message,
                   SANSTLS_ERROR_TEXT("unexpected message: a handshake message of no known "
                                      "type"));
  }
  if (role == Role::client && type == kServerHelloDone && bytes_after > 0) {
    // The server's flight ends with ServerHelloDone: nothing may follow it
    // before our answer (mbedTLS 3.6 read on and failed with bad_record_mac).
    return refusal(ErrorCode::unexpected_message, Alert::unexpected_message,
                   SANSTLS_ERROR_TEXT("unexpected message: data follows the ServerHelloDone in "
                                      "its record"));
  }
#if defined(MBEDTLS_SSL_SRV_C)  // (client-only firmware: no ClientHello comes in)
  if (role == Role::server && type == kClientHello && bytes_after > 0) {
    // CVE-2026-73096: RFC 8446 5.1 wants a ClientHello (a key change may
    // follow it) to end its record. mbedTLS 3.6.6 keeps the trailing bytes
    // and reads them after the key change: a forged EndOfEarlyData there
    // makes a 0-RTT server skip the client's real early data.
    return refusal(
        ErrorCode::unexpected_message, Alert::unexpected_message,
        SANSTLS_ERROR_TEXT("unexpected message: data follows the ClientHello in its record"));
  }
  if (role == Role::server && type == kClientHello) {
    // mbedTLS 3.6 takes a ClientHello with an extension twice (RFC 8446 4.2
    // and RFC 5246 7.4.1.4 forbid it) or with bytes after its extensions:
    // both are malformed, decode_error (RFC 8446 6.2).
    const ClientHelloFacts facts = parse_client_hello(body);
    if (facts.parsed && facts.point_formats_lack_uncompressed) {
      // RFC 8422 5.1.2: uncompressed points are mandatory, so a list
      // without them is illegal; mbedTLS 3.6 ignored the list.
      return refusal(ErrorCode::illegal_parameter, Alert::illegal_parameter,
                     "illegal parameter: ec_point_formats without uncompressed points");
    }
    if (facts.parsed && guards.retry_group != 0 && facts.has_key_share &&
        !facts.key_share_malformed &&
        (facts.key_shares.size() != 1 || facts.key_shares[0].group != guards.retry_group)) {
      // RFC 8446 4.1.2: after our HelloRetryRequest the key_share holds one
      // share, of the group it named (4.2.8: illegal_parameter otherwise).
      // mbedTLS 3.6 answered handshake_failure.
      return refusal(
          ErrorCode::illegal_parameter, Alert::illegal_parameter,
          SANSTLS_ERROR_TEXT(
              "illegal parameter: the second ClientHello's key share is not the one share of the "
              "group our HelloRetryRequest asked for"));
    }
    if (facts.parsed && (facts.duplicate_extension || facts.trailing_data)) {
      return refusal(
          ErrorCode::decode_error, Alert::decode_error,
          facts.duplicate_extension
              ? SANSTLS_ERROR_TEXT("decode error: the ClientHello has an extension twice")
              : SANSTLS_ERROR_TEXT("decode error: bytes follow the ClientHello's extensions"));
    }
  }
#endif
  // Parsed once for the ServerHello checks below.
  const ServerHelloFacts server_hello =
      role == Role::client && type == kServerHello ? parse_server_hello(body) : ServerHelloFacts();
  if (role == Role::client && type == kServerHello && guards.resumed_ems != EmsUse::unknown &&
      guards.session_id_known && !guards.offered_session_id.empty()) {
    // RFC 7627 5.3 for a TLS 1.2 client: a resumed session keeps its EMS
    // use. mbedTLS 3.6.6 records no EMS use in sessions, so cannot check.
    const ServerHelloFacts& facts = server_hello;
    const ByteView echo = session_id_of_hello(body);
    const bool resumed = !facts.tls13 && echo.size() == guards.offered_session_id.size() &&
                         std::equal(echo.begin(), echo.end(), guards.offered_session_id.begin());
    const bool had_ems = guards.resumed_ems == EmsUse::used;
    if (facts.parsed && resumed && facts.extended_master_secret != had_ems) {
      return refusal(
          ErrorCode::handshake_failure, Alert::handshake_failure,
          had_ems ? SANSTLS_ERROR_TEXT("handshake failure: the server resumes our extended master "
                                       "secret session without the extension (RFC 7627 5.3)")
                  : SANSTLS_ERROR_TEXT("handshake failure: the server adds the extended master "
                                       "secret to a session that did not use it (RFC 7627 5.3)"));
    }
  }
  if (role == Role::client && type == kServerHello) {
    // RFC 8446 4.1.3 and RFC 5246 7.4.1.3: the server picks one of the
    // suites we offered, of the version it negotiates (TLS 1.3's 0x13xx
    // suites only there), and RFC 8446 4.2 / RFC 5246 7.4.1.4 forbid an
    // extension twice. mbedTLS 3.6 answered a TLS 1.3 suite in a TLS 1.2
    // ServerHello with handshake_failure, an unknown suite with
    // internal_error, and took a repeated extension.
    const ServerHelloFacts& facts = server_hello;
    const auto& offered = guards.offered_cipher_suites;
    if (facts.parsed && (facts.tls13 || facts.hello_retry_request) && bytes_after > 0) {
      // RFC 8446 5.1: a ServerHello, which a key change follows, ends its
      // record; BoringSSL holds a HelloRetryRequest to it too. mbedTLS 3.6
      // read on into the next message.
      return refusal(
          ErrorCode::unexpected_message, Alert::unexpected_message,
          SANSTLS_ERROR_TEXT("unexpected message: data follows the ServerHello in its record"));
    }
    if (facts.parsed && guards.hello_retry_seen && !facts.hello_retry_request &&
        facts.selected_version != guards.hello_retry_version) {
      // RFC 8446 4.1.4: the ServerHello keeps the HelloRetryRequest's
      // selected_version, else illegal_parameter; mbedTLS 3.6 compared none.
      return refusal(
          ErrorCode::illegal_parameter, Alert::illegal_parameter,
          SANSTLS_ERROR_TEXT(
              "illegal parameter: the ServerHello's version differs from the HelloRetryRequest's"));
    }
    if (facts.parsed && !facts.tls13 && facts.point_formats_lack_uncompressed) {
      return refusal(ErrorCode::illegal_parameter, Alert::illegal_parameter,
                     "illegal parameter: ec_point_formats without uncompressed points");
    }
    if (facts.parsed && facts.duplicate_extension && facts.hello_retry_request) {
      // RFC 8446 4.2 names no alert; BoringSSL's is illegal_parameter here
      // (decode_error for a ServerHello).
      return refusal(ErrorCode::illegal_parameter, Alert::illegal_parameter,
                     "illegal parameter: the HelloRetryRequest has an extension twice");
    }
    if (facts.parsed && facts.trailing_data) {
      // RFC 8446 4.1.3, RFC 5246 7.4.1.3: the extensions end the message.
      // mbedTLS 3.6's TLS 1.3 client ignored what followed them.
      return refusal(ErrorCode::decode_error, Alert::decode_error,
                     SANSTLS_ERROR_TEXT("decode error: bytes follow the ServerHello's "
                                        "extensions"));
    }
    // RFC 8446 4.1.3, D.2: a version we did not offer is protocol_version
    // (mbedTLS 3.6 answered a TLS 1.2 ServerHello to a TLS 1.3-only client
    // with illegal_parameter).
    const uint16_t chosen = facts.tls13 ? uint16_t{0x0304} : facts.legacy_version;
    const auto& versions = guards.offered_versions;
    if (facts.parsed && !facts.hello_retry_request && !versions.empty() && chosen <= 0x0304 &&
        std::find(versions.begin(), versions.end(), chosen) == versions.end()) {
      return refusal(ErrorCode::unsupported_protocol, Alert::protocol_version,
                     SANSTLS_ERROR_TEXT("unsupported protocol: the server chose a version we "
                                        "did not offer"));
    }
    if (facts.parsed && facts.duplicate_extension) {
      return refusal(ErrorCode::decode_error, Alert::decode_error,
                     "decode error: the ServerHello has an extension twice");
    }
    if (facts.parsed && facts.hello_retry_request && facts.cookie_malformed) {
      // RFC 8446 4.2.2: opaque cookie<1..2^16-1>; mbedTLS 3.6 took an empty one.
      return refusal(ErrorCode::decode_error, Alert::decode_error,
                     "decode error: the HelloRetryRequest's cookie is empty or malformed");
    }
    if (facts.parsed && !offered.empty()) {
      // RFC 5246 7.4.1.4 and RFC 8446 4.2: a ServerHello (or a
      // HelloRetryRequest) answers extensions; one the client did not send
      // ends the handshake (unsupported_extension). Exceptions: TLS 1.2's
      // renegotiation_info may answer the SCSV (RFC 5746 3.6), and a
      // HelloRetryRequest brings its cookie unasked (RFC 8446 4.2.2).
      // mbedTLS 3.6 ignored such an extension in TLS 1.2 and refused it in
      // a TLS 1.3 ServerHello with illegal_parameter (the alert for an
      // extension not allowed in the message, which one we sent would be).
      const auto& sent = guards.offered_extensions;
      for (uint16_t answered : facts.extension_types) {
        const bool unasked_allowed =
            (!facts.tls13 && answered == 0xff01) || (facts.hello_retry_request && answered == 44);
        if (!unasked_allowed && std::find(sent.begin(), sent.end(), answered) == sent.end()) {
          return refusal(ErrorCode::illegal_parameter, Alert::unsupported_extension,
                         "the server answered with an extension we did not send");
        }
      }
    }
    if (facts.parsed && facts.hello_retry_request && facts.key_share_group == 0 && !facts.cookie) {
      // RFC 8446 4.1.4: a HelloRetryRequest that would not change the
      // ClientHello (neither a group nor a cookie) is illegal_parameter;
      // mbedTLS 3.6 sent the same ClientHello again.
      return refusal(
          ErrorCode::illegal_parameter, Alert::illegal_parameter,
          SANSTLS_ERROR_TEXT(
              "illegal parameter: the HelloRetryRequest asks for no change to the ClientHello"));
    }
#if defined(MBEDTLS_SSL_PROTO_TLS1_2)
    if (facts.parsed && !facts.tls13 && !facts.alpn_extension.empty()) {
      const GuardVerdict alpn = check_alpn_answer(guards, ByteView(facts.alpn_extension));
      if (!alpn.ok) return alpn;
    }
#endif
    if (facts.parsed && !offered.empty() &&
        (std::find(offered.begin(), offered.end(), facts.cipher_suite) == offered.end() ||
         ((facts.cipher_suite >> 8) == 0x13) != facts.tls13)) {
      return refusal(
          ErrorCode::illegal_parameter, Alert::illegal_parameter,
          "illegal parameter: the server chose a cipher suite we did not offer for its version");
    }
    const auto& shares = guards.key_share_groups;
    if (facts.parsed && facts.tls13 && !facts.hello_retry_request && facts.key_share_group != 0 &&
        !shares.empty() &&
        std::find(shares.begin(), shares.end(), facts.key_share_group) == shares.end()) {
      // RFC 8446 4.2.8: the server's share is in the group of one of ours
      // (after a HelloRetryRequest, the group it named), else
      // illegal_parameter; mbedTLS 3.6 said handshake_failure.
      return refusal(
          ErrorCode::illegal_parameter, Alert::illegal_parameter,
          SANSTLS_ERROR_TEXT(
              "illegal parameter: the ServerHello's key share is of a group we sent no share for"));
    }
  }
  if (role == Role::client && type == kServerHello && guards.offered_groups_known) {
    // CVE-2026-25832: mbedTLS 3.6.6 accepts a HelloRetryRequest selecting a
    // group absent from our supported_groups (its check is inverted).
    const ServerHelloFacts& facts = server_hello;
    const auto& offered = guards.offered_groups;
    if (facts.parsed && facts.hello_retry_request && facts.key_share_group != 0 &&
        std::find(offered.begin(), offered.end(), facts.key_share_group) == offered.end()) {
      return refusal(ErrorCode::illegal_parameter, Alert::illegal_parameter,
                     SANSTLS_ERROR_TEXT("illegal parameter: the HelloRetryRequest selects a "
                                        "group we did not offer"));
    }
  }
  return GuardVerdict();
}

namespace {

// RFC 8446 4.3.1 and 4.2: EncryptedExtensions answers what our ClientHello
// asked, each extension once; ALPN names one protocol we offered (RFC 7301
// 3.1). mbedTLS 3.6 refused an extension we did not send with
// illegal_parameter (RFC 8446: unsupported_extension), one twice with
// illegal_parameter (decode_error: malformed), and
// failed an unoffered or empty ALPN name with internal_error.
GuardVerdict check_encrypted_extensions(const AdvisoryGuards& guards, ByteView body) {
  if (body.size() < 2 || 2 + read_u16(body, 0) != body.size()) return GuardVerdict();  // mbedTLS
  std::vector<uint16_t> seen;
  for (size_t at = 2; at + 4 <= body.size(); at += 4 + read_u16(body, at + 2)) {
    const uint16_t type = static_cast<uint16_t>(read_u16(body, at));
    if (at + 4 + read_u16(body, at + 2) > body.size()) return GuardVerdict();  // mbedTLS's
    if (std::find(seen.begin(), seen.end(), type) != seen.end()) {
      return refusal(
          ErrorCode::decode_error, Alert::decode_error,
          SANSTLS_ERROR_TEXT("decode error: EncryptedExtensions has an extension twice"));
    }
    seen.push_back(type);
  }
  for (size_t at = 2; at + 4 <= body.size();) {
    const uint16_t type = static_cast<uint16_t>(read_u16(body, at));
    const size_t length = read_u16(body, at + 2);
    const ByteView data = body.skip(at + 4).first(length);
    at += 4 + length;
    const auto& sent = guards.offered_extensions;
    if (!sent.empty() && std::find(sent.begin(), sent.end(), type) == sent.end()) {
      return refusal(ErrorCode::illegal_parameter, Alert::unsupported_extension,
                     SANSTLS_ERROR_TEXT("the server answered with an extension we did not send"));
    }
    if (type == 16) {  // application_layer_protocol_negotiation
      const GuardVerdict alpn = check_alpn_answer(guards, data);
      if (!alpn.ok) return alpn;
    }
  }
  return GuardVerdict();
}

}  // namespace

GuardVerdict check_protected_message(const AdvisoryGuards& guards, Role role, uint8_t type,
                                     ByteView body, size_t bytes_after) {
  constexpr uint8_t kEncryptedExtensions = 8, kFinished = 20;
  if (type == kFinished && bytes_after > 0) {
    // RFC 8446 5.1: a message before a key change ends its record.
    // mbedTLS 3.6 read the rest under the next keys (bad_record_mac).
    return refusal(ErrorCode::unexpected_message, Alert::unexpected_message,
                   SANSTLS_ERROR_TEXT("unexpected message: data follows the Finished in its "
                                      "record (RFC 8446 5.1)"));
  }
  if (role == Role::client && type == kEncryptedExtensions) {
    return check_encrypted_extensions(guards, body);
  }
  if (role == Role::client && (type == kCertificate || type == kCertificateRequest) &&
      !body.empty() && body[0] != 0) {
    // RFC 8446 4.3.2, 4.4.2: certificate_request_context is empty during the
    // handshake (only post-handshake authentication fills it). mbedTLS 3.6
    // took a filled one.
    return refusal(ErrorCode::decode_error, Alert::decode_error,
                   SANSTLS_ERROR_TEXT("decode error: a certificate_request_context in the "
                                      "handshake"));
  }
#if !defined(SANSTLS_NO_PROTECTED_MESSAGE_CHECKS)
  if (role == Role::client && type == kCertificateRequest && !body.empty() &&
      size_t{1} + body[0] + 2 <= body.size()) {
    // RFC 8446 4.3.2: signature_algorithms MUST be in a CertificateRequest;
    // 6.2: a message without an extension it must carry is missing_extension,
    // and 4.2.3's list has at least one scheme (an empty one is malformed:
    // decode_error). mbedTLS 3.6 answered both with handshake_failure.
    size_t at = size_t{1} + body[0];
    const size_t end = at + 2 + read_u16(body, at);
    bool has_signature_algorithms = false, empty_list = false;
    for (at += 2; end == body.size() && at + 4 <= end; at += 4 + read_u16(body, at + 2)) {
      if (read_u16(body, at) != 13) continue;
      has_signature_algorithms = true;
      empty_list = read_u16(body, at + 2) == 2 && at + 6 <= end && read_u16(body, at + 4) == 0;
    }
    if (at == end && end == body.size() && (!has_signature_algorithms || empty_list)) {
      return empty_list ? refusal(ErrorCode::decode_error, Alert::decode_error,
                                  SANSTLS_ERROR_TEXT("decode error: the CertificateRequest's "
                                                     "signature_algorithms list is empty"))
                        : refusal(ErrorCode::illegal_parameter, Alert::missing_extension,
                                  SANSTLS_ERROR_TEXT("missing extension: the CertificateRequest "
                                                     "has no signature_algorithms (RFC 8446 "
                                                     "4.3.2)"));
    }
  }
#endif
  if (role == Role::client && type == kCertificate && body.size() == 4 && body[0] == 0 &&
      body[1] == 0 && body[2] == 0 && body[3] == 0) {
    // RFC 8446 4.4.2.4: an empty server Certificate is a decode_error.
    return refusal(ErrorCode::peer_did_not_return_certificate, Alert::decode_error,
                   SANSTLS_ERROR_TEXT("the server sent an empty Certificate message"));
  }
  if (type == kCertificateVerify && body.size() >= 4 && 4 + read_u16(body, 2) != body.size()) {
    // RFC 8446 4.4.3: the signature is the rest of the message; mbedTLS 3.6
    // ignored bytes after it or reported decrypt_error.
    return refusal(ErrorCode::decode_error, Alert::decode_error,
                   SANSTLS_ERROR_TEXT("decode error: the CertificateVerify's length does not "
                                      "match its signature"));
  }
  return GuardVerdict();
}

GuardVerdict ems_downgrade_verdict() noexcept {
  return refusal(ErrorCode::handshake_failure, Alert::handshake_failure,
                 SANSTLS_ERROR_TEXT("handshake failure: resuming a session with an extended master "
                                    "secret without offering it (RFC 7627 5.3)"));
}

void note_outbound_message(AdvisoryGuards& guards, Role role, uint8_t type, ByteView body) {
#if defined(MBEDTLS_SSL_SRV_C)
  if (role == Role::server && type == kServerHello) {
    const ServerHelloFacts facts = parse_server_hello(body);
    if (facts.parsed && facts.hello_retry_request) guards.retry_group = facts.key_share_group;
    return;
  }
#endif
  if (role != Role::client || type != kClientHello) return;
  if (!guards.session_id_known) {
    const ByteView id = session_id_of_hello(body);
    guards.offered_session_id.assign(id.begin(), id.end());
    guards.session_id_known = true;
  }
  const ClientHelloFacts facts = parse_client_hello(body);
  if (!facts.parsed) return;
  guards.key_share_groups.clear();  // each ClientHello's own (a second one's differ)
  for (const KeyShareEntry& share : facts.key_shares)
    guards.key_share_groups.push_back(share.group);
  if (guards.offered_groups_known) return;
  guards.offered_cipher_suites = facts.cipher_suites;
  guards.offered_extensions = facts.extension_types;
  guards.offered_alpn = facts.alpn;
  guards.offered_versions = facts.versions;
  if (facts.groups.empty()) return;
  guards.offered_groups = facts.groups;
  guards.offered_groups_known = true;
}

void note_inbound_message(AdvisoryGuards& guards, Role role, uint8_t type, ByteView body) {
  if (role != Role::client || type != kServerHello) return;
  const ServerHelloFacts facts = parse_server_hello(body);
  if (!facts.parsed || !facts.hello_retry_request) return;
  guards.hello_retry_seen = true;
  guards.hello_retry_version = facts.selected_version;
}

namespace {
SANSTLS_THREAD_LOCAL AdvisoryGuards* scope_guards = nullptr;
SANSTLS_THREAD_LOCAL const bool* scope_offer = nullptr;
}  // namespace

HandshakeGuardScope::HandshakeGuardScope(AdvisoryGuards* guards,
                                         const bool* client_offers_ems) noexcept
    : saved_guards_(scope_guards), saved_offer_(scope_offer) {
  scope_guards = guards;
  scope_offer = client_offers_ems;
}

HandshakeGuardScope::~HandshakeGuardScope() {
  scope_guards = saved_guards_;
  scope_offer = saved_offer_;
}

EmsUse current_handshake_ems() noexcept {
  if (scope_guards == nullptr || scope_offer == nullptr) return EmsUse::unknown;
  return *scope_offer ? EmsUse::used : EmsUse::not_used;
}

bool may_resume_tls12_session(EmsUse original) noexcept {
  if (scope_guards == nullptr || scope_offer == nullptr || original == EmsUse::unknown) {
    return true;
  }
  const bool offered = *scope_offer;
  if (original == EmsUse::used && !offered) {
    scope_guards->ems_downgrade = true;  // MUST abort
    return false;
  }
  // Not used before, offered now: MUST NOT resume; a full handshake follows.
  return !(original == EmsUse::not_used && offered);
}

// Refuses what a guard caught, and on_recv stops feeding mbedTLS. The alert
// goes out in the clear while no keys are in use (before the ServerHello),
// else under the keys the peer reads with (send_alert()): a TLS 1.2 client
// reads the server's plaintext NewSessionTicket after its own
// ChangeCipherSpec, a TLS 1.3 one the protected messages.
bool Engine::apply_guard(const GuardVerdict& verdict) {
  if (verdict.ok) return false;
  if (!error_.ok()) return true;
  if (outbound_protected(ssl_) || inbound_protected(ssl_)) {
    send_alert(verdict.alert);
  } else {
    queue_plaintext_alert(verdict.alert);
  }
  fail(Error(verdict.code, Stage::handshake, verdict.message)
           .with_alert(verdict.alert, AlertDirection::sent));
  return true;
}

// CVE-2026-73064: a TLS 1.3 server sends its NewSessionTickets in states
// after MBEDTLS_SSL_HANDSHAKE_OVER, driven by mbedtls_ssl_read/write. In
// 3.6.6 a failed random draw there returns 1, which mbedtls_ssl_write()
// reports as one byte written. Run those states here first, so a failure is
// an error and never a count of bytes. False: not settled (blocked or failed).
bool Engine::finish_ticket_states() {
  if (role_ != Role::server) return error_.ok();  // a client's ticket state is a received one
  while (error_.ok() && handshake_state(ssl_) > MBEDTLS_SSL_HANDSHAKE_OVER) {
    begin_backend_call();
    const int ret = mbedtls_ssl_handshake_step(&ssl_);
    if (ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
      blocked_on_output_ = true;
      return false;
    }
    if (ret == 1) {
      fail_from_backend(MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED);  // the only source of 1
      return false;
    }
    if (ret != 0) {
      fail_from_backend(ret);
      return false;
    }
  }
  return error_.ok();
}

}  // namespace sanstls::detail
