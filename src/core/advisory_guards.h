// Checks the engine makes on handshake messages because mbedTLS 3.6.6 does
// not (flaws fixed in 3.6.7; docs/limitations.md lists each advisory). They
// read only what the record observers see, so they never touch mbedTLS state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "error_text.h"
#include "hello_parser.h"
#include "sanstls/bytes.h"
#include "sanstls/config.h"
#include "sanstls/error.h"

namespace sanstls::detail {

// Whether a TLS 1.2 session's master secret is an extended one (RFC 7627).
enum class EmsUse : uint8_t { unknown = 0, used = 1, not_used = 2 };

struct AdvisoryGuards {
  // Client: the supported_groups of our first ClientHello.
  std::vector<uint16_t> offered_groups;
  bool offered_groups_known = false;
  // Server: a TLS 1.2 session that used the extended master secret was
  // offered without it (RFC 7627 5.3): abort before the ServerHello.
  bool ems_downgrade = false;
  // Client: the EMS use of the saved session we offer, and the session ID
  // of our first ClientHello (a TLS 1.2 server echoes it to resume).
  EmsUse resumed_ems = EmsUse::unknown;
  std::vector<uint8_t> offered_session_id;
  bool session_id_known = false;
  // Client: the cipher suites of our first ClientHello.
  std::vector<uint16_t> offered_cipher_suites;
  std::vector<uint16_t> offered_extensions;  // and its extension types
  std::vector<std::string> offered_alpn;     // and its ALPN protocols
  std::vector<uint16_t> offered_versions;    // and its versions
  // Client: the key_share groups of our latest ClientHello, and the version
  // a HelloRetryRequest chose (RFC 8446 4.2.8, 4.1.4).
  std::vector<uint16_t> key_share_groups;
  bool hello_retry_seen = false;
  uint16_t hello_retry_version = 0;  // its supported_versions
  // Server: the group our HelloRetryRequest asked a key share for.
  uint16_t retry_group = 0;
};

// What a TLS 1.2 session records about its master secret: the ServerHello
// answered the EMS offer (our client always offers it). Unknown for TLS 1.3.
EmsUse session_ems(TlsVersion version, const ServerHelloFacts& server_hello) noexcept;

// Set by the engine around each server handshake step: what the ClientHello
// offered, for the ticket and cache callbacks (sessions.cpp), which mbedTLS
// calls without a connection pointer.
class HandshakeGuardScope {
 public:
  // `client_offers_ems` is read when asked: the ClientHello arrives within the step.
  HandshakeGuardScope(AdvisoryGuards* guards, const bool* client_offers_ems) noexcept;
  ~HandshakeGuardScope();
  HandshakeGuardScope(const HandshakeGuardScope&) = delete;
  HandshakeGuardScope& operator=(const HandshakeGuardScope&) = delete;

 private:
  AdvisoryGuards* saved_guards_;
  const bool* saved_offer_;
};

// The EMS use of the session the current handshake creates (the server
// always accepts EMS, so it is the ClientHello's offer); unknown outside a
// guarded handshake step (e.g. a renegotiation).
EmsUse current_handshake_ems() noexcept;
// RFC 7627 5.3 for a server resuming a TLS 1.2 session: true to resume; false
// for a full handshake, and then a session with EMS offered without it also
// marks the connection for abort (handshake_failure).
bool may_resume_tls12_session(EmsUse original) noexcept;

struct GuardVerdict {
  bool ok = true;
  ErrorCode code = ErrorCode::none;
  Alert alert = Alert::close_notify;
  ErrorText message;  // "" with SANSTLS_NO_ERROR_MESSAGES (error_text.h)
};

inline GuardVerdict refusal(ErrorCode code, Alert alert, ErrorText message) noexcept {
  GuardVerdict verdict;
  verdict.ok = false;
  verdict.code = code;
  verdict.alert = alert;
  verdict.message = message;
  return verdict;
}

// A plaintext handshake message from the peer; `bytes_after` is what
// follows it in the same record.
GuardVerdict check_inbound_message(const AdvisoryGuards& guards, Role role, uint8_t type,
                                   ByteView body, size_t bytes_after);
// A TLS 1.3 handshake message from the peer in a protected record, read
// ahead of the step that parses it (peek_next_message); `bytes_after` as
// above. What mbedTLS 3.6 misses or answers with another alert than RFC 8446's.
GuardVerdict check_protected_message(const AdvisoryGuards& guards, Role role, uint8_t type,
                                     ByteView body, size_t bytes_after);
// What to send instead of a ServerHello once `ems_downgrade` is set.
GuardVerdict ems_downgrade_verdict() noexcept;
// A plaintext handshake message we sent.
void note_outbound_message(AdvisoryGuards& guards, Role role, uint8_t type, ByteView body);
// A plaintext handshake message from the peer that the guards let through.
void note_inbound_message(AdvisoryGuards& guards, Role role, uint8_t type, ByteView body);

}  // namespace sanstls::detail
