// Connection: one TLS session over one transport connection, as a pure
// state machine. It never touches a socket, a clock or a thread.
//
// THE CONTRACT
//
// Four buffer exchanges drive everything:
//
//   ciphertext in   feed(bytes) -> consumed     the engine takes what it can
//                                               hold; the caller keeps the rest
//                                               and offers it again later.
//   ciphertext out  pending_output() / consume_output(n)
//                                               a view into the engine's queue;
//                                               send from it directly, then
//                                               acknowledge what was sent.
//   plaintext in    write(bytes) -> accepted    bounded: when the output queue
//                                               is full it accepts less (or 0).
//   plaintext out   read(buffer) -> n           decrypted application data.
//
// wants() is level-triggered readiness: it describes the state right now and
// is cheap. An I/O loop is: while (!closed) { if has_output: send and
// consume_output; if has_plaintext: read; if wants_input: receive and feed;
// on transport end: transport_eof() }.
//
// In-memory transports: keep draining pending_output() even while the peer
// refuses input. If both sides write and neither reads, both output queues
// fill and feed() takes nothing on either side; a socket's kernel buffers
// absorb this, a pair of vectors must too.
//
// Buffer ownership: the engine never keeps a pointer to caller memory after a
// call returns. The view from pending_output() stays valid until the next
// call on the Connection.
//
// Events (next_event) report things that are not data: handshake complete,
// session ticket received, peer's close_notify, warning alerts.
//
// Errors are sticky: after the first fatal error every call is a no-op and
// error() keeps returning it, with one exception: plaintext decrypted before
// the error (say, data followed by truncation) can still be read(), and
// has_plaintext says so. A fatal alert the engine sends is still in
// pending_output(), so flush it before closing the transport.
//
// Closing: close() queues close_notify. A peer's close_notify is an event and
// ends reading (read returns 0, wants().read_closed). transport_eof() tells
// the engine the transport has ended: before the peer's close_notify that is
// truncation and becomes ERR_SSL_UNEXPECTED_EOF_WHILE_READING, except after
// our own close() when we did not ask to wait for the peer.
//
// Two ways to close, chosen by the Config's close_timeout:
//   - close_timeout 0 (default), unidirectional: wants().closed is true as
//     soon as close() has queued our close_notify; flush pending_output() and
//     close the transport. Feeding may go on (a half-close: data the peer
//     still sends is readable until its close_notify), and the transport's
//     end is then a clean end, not truncation.
//   - close_timeout > 0, bidirectional: closed waits for the peer's
//     close_notify, or for the deadline (next_deadline_ms/on_timer), which
//     ends reading cleanly. The transport ending first is truncation.
// close() before the handshake completes abandons it: a close_notify in the
// clear, and both directions end at once (closed; later input is ignored).
//
// Moving: a moved-from Connection is inert: every call is a no-op, wants()
// says closed, and error() is ERR_INVALID_ARG_VALUE ("moved from").
//
// Threads: a Connection is used by one thread at a time. Different
// Connections (even sharing a Config) may be used on different threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sanstls/bytes.h"
#include "sanstls/config.h"
#include "sanstls/error.h"
#include "sanstls/result.h"

namespace sanstls {

// `closed` never goes back to false. It becomes true after a fatal error,
// after close() once no wait for the peer is asked (close_timeout 0) or that
// wait is over (peer's close_notify, transport end, close timer), and after
// both close_notifys. See "Closing" above.
struct Readiness {
  bool wants_input = false;    // feed() would make progress
  bool has_output = false;     // pending_output() is not empty
  bool has_plaintext = false;  // read() would return data
  bool can_write = false;      // write() would accept bytes
  bool handshake_complete = false;
  bool read_closed = false;   // peer sent close_notify (or the stream ended, or we stopped reading)
  bool write_closed = false;  // we queued close_notify (or failed)
  bool closed = false;        // done (monotonic): flush output, close the transport
  bool awaiting_config = false;  // server: the SNI selector answered later()
};

enum class EventKind : uint8_t {
  handshake_complete,     // info() is now meaningful
  session_ticket,         // a TLS 1.3 NewSessionTicket arrived (client)
  peer_closed,            // the peer sent close_notify
  warning_alert,          // a non-fatal alert (Event::alert)
  server_name_requested,  // server: the SNI selector deferred; see provide_config()
  early_data,             // server: 0-RTT data arrived; see read_early_data()
  early_data_rejected,    // client: the server refused 0-RTT; the data was resent as 1-RTT
  renegotiated,           // a TLS 1.2 renegotiation completed (either side started it)
};

struct Event {
  EventKind kind;
  Alert alert = Alert::close_notify;  // for warning_alert
  uint32_t count = 1;                 // repeats of the same event coalesced
};

const char* event_kind_name(EventKind kind) noexcept;

struct CipherSuiteInfo {
  uint16_t id = 0;
  const char* standard_name = "";  // IANA: "TLS_AES_128_GCM_SHA256"
  const char* name = "";  // OpenSSL: "TLS_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"
};

// A TLS SignatureScheme (RFC 8446 4.2.3).
struct SignatureSchemeInfo {
  uint16_t id = 0;        // IANA code, e.g. 0x0403; 0 when none
  const char* name = "";  // IANA name, e.g. "ecdsa_secp256r1_sha256"; "" when none
};

struct CertificateInfo {
  std::vector<uint8_t> der;
  std::string subject;  // "CN=example.com, O=Example"
  std::string issuer;
  std::string valid_from;  // "Jan  1 00:00:00 2020 GMT", as Node prints it
  std::string valid_to;
  std::string subjectaltname;  // "DNS:example.com, IP Address:127.0.0.1"
  std::string fingerprint256;  // "AB:CD:..." SHA-256 of the DER
  std::string serial_number;   // upper-case hex
};

// Why 0-RTT was or was not used, in BoringSSL's vocabulary
// (ssl_early_data_reason_t), limited to the reasons that apply here.
enum class EarlyDataReason : uint8_t {
  unknown,                  // not decided (handshake not complete)
  disabled,                 // this side's Config has early data off
  accepted,                 // the server accepted 0-RTT
  protocol_version,         // TLS 1.2 was negotiated
  peer_declined,            // client: the server refused it; server: the client did not offer it
  no_session_offered,       // client: no saved session was offered
  session_not_resumed,      // the offered session was not resumed (full handshake)
  unsupported_for_session,  // the session's ticket does not allow 0-RTT (or was spent)
  hello_retry_request,      // a HelloRetryRequest ruled 0-RTT out
};
// Stable snake_case name: the enum value's name ("accepted",
// "peer_declined", ...), as BoringSSL's SSL_early_data_reason_string except
// that BoringSSL says "accept" for accepted.
const char* to_string(EarlyDataReason reason) noexcept;

// What was negotiated. Meaningful once the handshake is complete.
struct ConnectionInfo {
  TlsVersion version = TlsVersion::tls1_3;
  const char* protocol = "";  // "TLSv1.3"
  CipherSuiteInfo cipher;
  const char* group = "";     // "X25519"; "" when none (e.g. TLS 1.2 resumption)
  std::string alpn_protocol;  // "" when none
  std::string server_name;    // client: the name asked for; server: SNI received
  bool session_reused = false;
  bool ticket_received = false;  // client: the server sent a session ticket
  std::string psk_identity;      // the external PSK identity used, "" when none
  // TLS 1.3 0-RTT. Client: sent (bytes written with write_early_data) and
  // accepted (by the server). Server: accepted (early data was read).
  struct EarlyData {
    size_t sent = 0;
    bool accepted = false;
    // The 0-RTT limit in bytes the server's ticket allows, 0 when none.
    // Client: of the session it resumed, then of the newest ticket received.
    // Server: what its tickets advertise (TLS 1.3, tickets and 0-RTT on).
    uint32_t ticket_max_size = 0;
    EarlyDataReason reason = EarlyDataReason::unknown;
  } early_data;
  // Peer certificate chain, leaf first. Empty when the peer sent none.
  std::vector<CertificateInfo> peer_certificates;
  // Whether the peer's certificate verified (and, for clients, matched the
  // server name). When false, authorization_error says why, even when
  // verification was optional.
  bool authorized = false;
  Error authorization_error;
  // The scheme the peer signed this handshake with: its CertificateVerify
  // (TLS 1.3; TLS 1.2 client certificates) or, for a TLS 1.2 client, the
  // server's ServerKeyExchange. {0, ""} when the peer signed nothing in this
  // handshake: a resumption, a PSK, or no client certificate. (BoringSSL's
  // SSL_get_peer_signature_algorithm reports the original handshake's on a
  // resumption; we report what this handshake proved.)
  SignatureSchemeInfo peer_signature;
  // TLS 1.3: the server sent a HelloRetryRequest (asking the client for
  // another key share) in this handshake.
  bool hello_retry_request = false;
  // The master secret binds the handshake transcript: TLS 1.2 with the
  // extended master secret (RFC 7627) negotiated, and always TLS 1.3.
  bool extended_master_secret = false;
  // TLS 1.2: the session ID the ServerHello carried, as OpenSSL's
  // SSL_SESSION_get_id. Empty in TLS 1.3, and when a server that issues a
  // ticket (RFC 5077) sent none: it keeps no session by ID then.
  std::vector<uint8_t> session_id;
};

struct MemoryUsage {
  size_t current_bytes = 0;  // heap held now by this connection
  size_t peak_bytes = 0;     // most ever held at once
};

namespace detail {
class Engine;
}

class Connection {
 public:
  // A client connecting to `server_name` (a host name for SNI and hostname
  // verification, or an IP literal, which is verified but not sent as SNI).
  // An empty name is refused (ERR_TLS_MISSING_SERVER_NAME); use
  // client_without_server_name() to opt out of hostname checks explicitly.
  static Result<Connection> client(const Config& config, std::string_view server_name);
  static Result<Connection> client_without_server_name(const Config& config);
  // A client that offers a session saved by save_session() for resumption.
  // A blob that is not a session of this build, or was saved for another
  // server name, is refused (ERR_TLS_INVALID_SESSION). The blob's server
  // chain is verified again under `config`; when `config` would have rejected
  // it (verification required, or a pin), the blob is refused
  // (ERR_TLS_SESSION_NOT_TRUSTED): connect without it.
  static Result<Connection> client(const Config& config, std::string_view server_name,
                                   ByteView saved_session);
  static Result<Connection> server(const Config& config);

  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  // Ciphertext from the transport. Returns how many bytes were taken (maybe
  // fewer than offered when decrypted data waits to be read, or 0 once
  // closed or failed). Never blocks, never buffers without bound.
  size_t feed(ByteView ciphertext);

  // Ciphertext to send. Valid until the next call on this Connection.
  ByteView pending_output() const noexcept;
  // Acknowledge that the first `n` bytes of pending_output() were sent.
  void consume_output(size_t n);

  // Decrypted application data; returns 0 when none is available.
  size_t read(MutableByteView out);
  // Application data to encrypt; returns how many bytes were accepted (0
  // before the handshake completes, once closed, or while output is full).
  size_t write(ByteView plaintext);

  Readiness wants() const noexcept;
  std::optional<Event> next_event();

  // Servers, after server_name_requested: continue the handshake with
  // `config` (a server Config), or refuse the name with unrecognized_name.
  Error provide_config(const Config& config);
  void reject_server_name();

  // Client, TLS 1.3 0-RTT: before the handshake completes, send `data` as
  // early data on a resumed session that allows it. Returns bytes accepted
  // (0 when early data is impossible). Early data is replayable: send only
  // idempotent requests. If the server rejects it, the engine resends it as
  // ordinary data after the handshake (event early_data_rejected).
  size_t write_early_data(ByteView data);
  // Server: the 0-RTT data received (event early_data), before the handshake
  // completes. Apply your replay policy before acting on it.
  size_t read_early_data(MutableByteView out);

  // TLS 1.2 with renegotiation enabled: start a (secure) renegotiation.
  // Returns false when it cannot start (TLS 1.3, disabled, not established,
  // closing, or plaintext waiting to be read: read it first).
  bool renegotiate();

  // Timers. The next moment (ms on the Config's clock) at which the engine
  // needs to be told the time, if any; then call on_timer(now). Expiry of the
  // handshake timer is ERR_TLS_HANDSHAKE_TIMEOUT (stage handshake).
  std::optional<int64_t> next_deadline_ms() const noexcept;
  void on_timer(int64_t now_ms);

  // Node's setMaxSendFragment: 512..16384; false when out of range.
  bool set_max_send_fragment(size_t bytes);

  // RFC 5705 / RFC 8446 7.5 keying material, after the handshake. An empty
  // `context` means none (TLS 1.2 distinguishes "none" from "empty").
  Result<std::vector<uint8_t>> export_keying_material(std::string_view label, ByteView context,
                                                      size_t length) const;

  // Queue close_notify (see "Closing" above: whether `closed` then waits for
  // the peer's close_notify depends on the Config's close_timeout). Input
  // still fed is processed until the peer's close_notify.
  void close();
  // The transport delivered end-of-stream: a clean end after the peer's
  // close_notify, or after our close() without a wait for the peer;
  // truncation (ERR_SSL_UNEXPECTED_EOF_WHILE_READING) otherwise.
  void transport_eof();

  // Client: the session to resume later, as an opaque versioned blob.
  // Available after the handshake in TLS 1.2 and after a session_ticket
  // event in TLS 1.3 (ERR_TLS_SESSION_UNAVAILABLE before). It holds the
  // session's secrets: store it like a private key (docs/features.md).
  Result<std::vector<uint8_t>> save_session() const;

  // The sticky error; ok() when there is none.
  const Error& error() const noexcept;

  Role role() const noexcept;
  // Negotiated parameters; see ConnectionInfo.
  const ConnectionInfo& info() const noexcept;
  MemoryUsage memory() const noexcept;
  // Frees the record buffers (about 33 KB: mbedTLS's 16 KiB input and output
  // records) while the connection is idle: handshake over, nothing
  // half-received, unread or unsent. Like OpenSSL's SSL_MODE_RELEASE_BUFFERS,
  // but asked for: servers holding many quiet connections call it once a
  // burst of traffic is over. The next call that needs them (feed, write,
  // read, close...) allocates them again, transparently (under a
  // max_connection_memory cap that refuses, it fails with
  // ERR_TLS_OUT_OF_MEMORY). Returns the bytes freed: 0 when not idle,
  // already released, or failed.
  size_t release_buffers() noexcept;

 private:
  explicit Connection(std::unique_ptr<detail::Engine> engine) noexcept;
  std::unique_ptr<detail::Engine> engine_;
};

// Client, before connecting: the 0-RTT limit in bytes of a session saved by
// Connection::save_session() (its ticket's max_early_data_size), or 0 when
// the session does not allow 0-RTT or the blob is not a readable session.
uint32_t session_max_early_data(ByteView saved_session) noexcept;
inline bool session_allows_early_data(ByteView saved_session) noexcept {
  return session_max_early_data(saved_session) > 0;
}

}  // namespace sanstls
