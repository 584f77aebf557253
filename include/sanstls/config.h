// Config: what Node calls a secure context. Built once by ConfigBuilder,
// immutable afterwards, and shared (cheaply copied) by any number of
// Connections, on any threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include "sanstls/sync.h"
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sanstls/bytes.h"
#include "sanstls/result.h"
#include "sanstls/secret.h"
#include "sanstls/sessions.h"
#include "sanstls/sources.h"

namespace sanstls {

enum class Role : uint8_t { client, server };

enum class TlsVersion : uint16_t { tls1_2 = 0x0303, tls1_3 = 0x0304 };

// "TLSv1.2" / "TLSv1.3", the strings Node's getProtocol() returns.
const char* version_name(TlsVersion version) noexcept;

// How the peer's certificate is treated.
//  - none:     clients: do not verify (authorized is false, reason still
//              computed); servers: do not ask for a client certificate.
//  - optional: verify and report (Node's rejectUnauthorized: false); servers
//              request a client certificate but accept its absence.
//  - required: verify and fail the handshake on any problem (client default);
//              servers require a valid client certificate.
enum class PeerVerification : uint8_t { none, optional, required };

namespace detail {
struct ConfigState;
}

// Receives one NSS key log line (the SSLKEYLOGFILE format, without the
// newline) per secret. Whoever holds these lines can decrypt the traffic:
// use it for debugging (Wireshark, tshark), never by default.
using KeyLogCallback = std::function<void(std::string_view line)>;

class Config;
struct CertificateInfo;

// Servers: the key for a PSK identity, or nullopt when the identity is unknown.
using PskLookup = std::function<std::optional<std::vector<uint8_t>>(std::string_view identity)>;

// TLS 1.3 key exchange modes offered/accepted with an external PSK.
enum class PskMode : uint8_t {
  with_ecdhe,     // psk_dhe_ke: forward secrecy (default)
  without_ecdhe,  // psk_ke: the PSK alone
  either,         // both, preferring psk_dhe_ke
};

// Clients: an extra identity check after verification, like Node's
// checkServerIdentity. Return Error() to accept, or an Error (stage
// certificate) that becomes the connection's authorization error.
using IdentityCheck =
    std::function<Error(std::string_view server_name, const CertificateInfo& leaf)>;

// Both roles: the application's own verification of the peer's certificate
// chain (`chain`: as the peer sent it, leaf first), instead of the built-in
// one (trust anchors, validity, host name), like OpenSSL's
// SSL_CTX_set_cert_verify_callback and BoringSSL's SSL_set_custom_verify.
// Return Error() to accept, or an Error (e.g. ERR_TLS_IDENTITY_REJECTED,
// stage certificate) that becomes the connection's authorization error.
using CertificateVerifier = std::function<Error(const std::vector<CertificateInfo>& chain)>;

// Named policies. Apply a preset first; later setters refine it.
enum class Preset : uint8_t {
  modern,        // TLS 1.3 only: AES-GCM and ChaCha20 suites, X25519/P-256/P-384
  intermediate,  // Mozilla's intermediate profile as far as mbedTLS offers it:
                 // TLS 1.2-1.3, ECDHE AEAD suites (no DHE), X25519/P-256/P-384
};

// One traced record or handshake message (ConfigBuilder::trace).
struct TraceEntry {
  enum class Direction : uint8_t { received, sent };
  enum class Kind : uint8_t { record, handshake_message, alert };
  Direction direction = Direction::received;
  Kind kind = Kind::record;
  uint8_t content_type = 0;    // records: 20 ccs, 21 alert, 22 handshake, 23 application_data
  bool encrypted = false;      // records: protected (contents not visible)
  uint8_t handshake_type = 0;  // handshake messages: 1 ClientHello, 2 ServerHello, ...
  uint8_t alert_level = 0;     // alerts: 1 warning, 2 fatal
  uint8_t alert = 0;           // alerts: description (see alert_name())
  size_t length = 0;           // record payload or handshake message body length
};
using TraceCallback = std::function<void(const TraceEntry& entry)>;
// "ClientHello", "Certificate", ... ("unknown" otherwise).
const char* handshake_type_name(uint8_t type) noexcept;
// "handshake", "application_data", ...
const char* content_type_name(uint8_t type) noexcept;

// Clients: when a server asks for a certificate, the client Config whose
// certificate to present (only its certificate is used), or nullopt to
// present none.
using ClientCertificateSelector =
    std::function<std::optional<Config>(std::string_view server_name)>;

// What a server's SNI selector decides for one connection.
struct SniAnswer {
  enum class Kind : uint8_t { use_default, use, reject, later };
  Kind kind = Kind::use_default;
  std::shared_ptr<const detail::ConfigState> config;  // for Kind::use

  static SniAnswer use_default() { return SniAnswer{}; }
  static SniAnswer use(const Config& config);
  // Refuse the name: the handshake ends with unrecognized_name.
  static SniAnswer reject() { return SniAnswer{Kind::reject, nullptr}; }
  // Answer later through Connection::provide_config()/reject_server_name();
  // the handshake pauses (EventKind::server_name_requested) until then.
  static SniAnswer later() { return SniAnswer{Kind::later, nullptr}; }
};

// Called with the name the client asked for ("" when it sent none).
using SniSelector = std::function<SniAnswer(std::string_view server_name)>;
// Picks one of the client's ALPN protocols; "" to go on without ALPN (the
// ServerHello answers no protocol, as OpenSSL's SSL_TLSEXT_ERR_NOACK); or
// nullopt to refuse them all (no_application_protocol, as Node's
// ALPNCallback returning undefined).
using AlpnSelector =
    std::function<std::optional<std::string>(const std::vector<std::string>& offered)>;

class Config {
 public:
  Role role() const noexcept;
  TlsVersion min_version() const noexcept;
  TlsVersion max_version() const noexcept;
  PeerVerification peer_verification() const noexcept;
  // Cipher suites in preference order, as IANA names.
  std::vector<std::string> cipher_suite_names() const;
  std::vector<std::string> group_names() const;
  const std::vector<std::string>& alpn_protocols() const noexcept;
  // Servers: the ticket keys in use (to read, share or rotate them); null
  // when tickets are off.
  std::shared_ptr<TicketKeys> ticket_keys() const noexcept;
  // Servers with 0-RTT: the replay store in use (to share it with the next
  // Config on a reload); null when early data is off.
  std::shared_ptr<EarlyDataReplayStore> early_data_replay_store() const noexcept;
  // Bytes of heap this Config holds (certificates, keys, mbedTLS config,
  // and its 0-RTT replay store, which Configs sharing it each count).
  size_t memory_bytes() const noexcept;

  // Internal: the engine's view of the built state.
  const detail::ConfigState& state() const noexcept { return *state_; }
  const std::shared_ptr<const detail::ConfigState>& state_pointer() const noexcept {
    return state_;
  }

 private:
  friend class ConfigBuilder;
  friend struct SniAnswer;
  explicit Config(std::shared_ptr<const detail::ConfigState> state) noexcept
      : state_(std::move(state)) {}
  std::shared_ptr<const detail::ConfigState> state_;
};

// A Config that can be replaced while connections are being made from it,
// like Node's server.setSecureContext(): new connections take the current
// one, connections already made keep theirs. Thread-safe (e.g. a reload on
// SIGHUP in one thread, accepts in others).
class ConfigSlot {
 public:
  explicit ConfigSlot(Config initial) : current_(std::move(initial)) {}
  void store(Config next) {
    LockGuard lock(mutex_);
    current_ = std::move(next);
  }
  Config load() const {
    LockGuard lock(mutex_);
    return current_;
  }

 private:
  mutable Mutex mutex_;
  Config current_;
};

// Collects settings; build() validates everything and returns a Config or the
// first problem as an Error of stage `config`. Setters never fail on their
// own: errors surface in build(), so a chain of setters stays readable.
class ConfigBuilder {
 public:
  explicit ConfigBuilder(Role role);

  // Defaults: TLS 1.2 to TLS 1.3.
  ConfigBuilder& versions(TlsVersion min, TlsVersion max);

  // A named policy (see Preset).
  ConfigBuilder& preset(Preset preset);

  // Signature algorithms accepted and used, colon- or comma-separated, by
  // IANA ("ecdsa_secp256r1_sha256", "rsa_pss_rsae_sha256", "rsa_pkcs1_sha256")
  // or OpenSSL names ("ECDSA+SHA256", "RSA-PSS+SHA256", "RSA+SHA256").
  ConfigBuilder& signature_algorithms(std::string_view list);

  // Servers: choose the cipher suite by the server's order (true) or the
  // client's (false, Node's default for honorCipherOrder). Unset: mbedTLS's
  // own choice (server order in TLS 1.2, client order in TLS 1.3). A TLS 1.3
  // ClientHello offering a PSK or ticket keeps mbedTLS's choice, since the
  // PSK's hash must match the suite.
  ConfigBuilder& honor_cipher_order(bool server_order);

  // Colon- or comma-separated IANA names ("TLS_AES_128_GCM_SHA256") or
  // OpenSSL names ("ECDHE-ECDSA-AES128-GCM-SHA256"), in preference order.
  // Default: TLS 1.3 AES-GCM and ChaCha20 suites, TLS 1.2 ECDHE AEAD suites.
  ConfigBuilder& cipher_suites(std::string_view list);

  // Colon- or comma-separated: "X25519", "P-256"/"prime256v1"/"secp256r1",
  // "P-384"/"secp384r1", "P-521"/"secp521r1", "X448". Default X25519:P-256:P-384.
  ConfigBuilder& groups(std::string_view list);

  // Adds an identity: a certificate chain (leaf first; PEM bundle or one DER
  // certificate) and its private key (PEM or DER; encrypted PEM/PKCS#8 with
  // `passphrase`). A server may add an RSA and an ECDSA identity side by side.
  // A key that does not match its certificate makes build() fail.
  ConfigBuilder& certificate(ByteView chain, ByteView private_key,
                             std::string_view passphrase = {});

  // Adds trust anchors (PEM bundle or DER). May be called repeatedly. See
  // platform.h for the system bundle.
  ConfigBuilder& trust_anchors(ByteView pem_or_der);

  // Adds certificate revocation lists (PEM bundle or DER), like Node's `crl`
  // option. May be called repeatedly. A peer certificate a CRL from its
  // issuer lists fails verification with ERR_TLS_CERT_REVOKED.
  ConfigBuilder& crl(ByteView pem_or_der);

  // Default: required for clients, none for servers.
  ConfigBuilder& peer_verification(PeerVerification mode);

  // ALPN protocols, in preference order ("h2", "http/1.1"). A server picks
  // the first of its own protocols that the client offers.
  ConfigBuilder& alpn(std::vector<std::string> protocols);
  // Servers: choose the protocol with a callback instead (Node's ALPNCallback).
  ConfigBuilder& alpn_selector(AlpnSelector selector);

  // Servers, SNI: serve `context` (a server Config with its own certificate
  // and settings) to clients asking for `name`, an exact host name or a
  // wildcard "*.example.com" that matches exactly one label. Exact names win.
  // Other names, and clients without SNI, get this (default) Config.
  ConfigBuilder& sni_context(std::string name, const Config& context);
  // Refuse names that match no context with unrecognized_name.
  ConfigBuilder& strict_sni(bool strict = true);
  // Decide per connection, possibly later (see SniAnswer). Takes precedence
  // over the sni_context map.
  ConfigBuilder& sni_selector(SniSelector selector);

  // Sources of randomness and time. Both are required; platform.h has
  // OS-backed defaults. They must outlive the Config and its Connections.
  ConfigBuilder& random(RandomSource& source);
  ConfigBuilder& clock(Clock& clock);

  // Clients: an external pre-shared key and its identity. TLS 1.3 uses
  // psk_dhe_ke/psk_ke (see psk_mode); TLS 1.2 uses the PSK and ECDHE-PSK
  // suites (added to the default suite list). No certificate is needed then.
  // The identity is 1 to 16244 bytes (room for a TLS 1.2 ECDHE-PSK point).
  ConfigBuilder& psk(std::string identity, ByteView key);
  // Servers: find the key for the identity a client presents.
  ConfigBuilder& psk_lookup(PskLookup lookup);
  ConfigBuilder& psk_mode(PskMode mode);

  // Clients: choose the certificate when the server asks for one (after its
  // CertificateRequest, in both versions), instead of always presenting
  // certificate()'s.
  ConfigBuilder& client_certificate_selector(ClientCertificateSelector selector);

  // Clients: run `check` on the verified leaf (Node's checkServerIdentity).
  ConfigBuilder& check_server_identity(IdentityCheck check);
  // Both roles: verify the peer's chain with `verifier` instead of the
  // built-in checks (CertificateVerifier). peer_verification() still says
  // what a rejection does: required fails the handshake (certificate_unknown
  // alert), optional (and a client's none) only reports it in
  // info().authorized; a server with none asks for no certificate. Trust
  // anchors become optional. Pins, check_server_identity() and key usage
  // checks still apply. A client resuming a saved session runs it again on
  // the saved chain (Connection::client), as BoringSSL's reverify_on_resume.
  ConfigBuilder& certificate_verifier(CertificateVerifier verifier);
  // Clients: accept only servers whose leaf public key has this SHA-256
  // (base64 of the SubjectPublicKeyInfo digest, with or without a "sha256/"
  // prefix, as in HPKP and curl's --pinnedpubkey). Repeatable: any pin matches.
  // A mismatch fails the handshake whatever peer_verification() says.
  ConfigBuilder& pin_public_key(std::string sha256_base64);

  // Session tickets. Servers: how many TLS 1.3 tickets to issue after each
  // handshake (default 1; 0 turns tickets off in both versions) and their
  // lifetime (default 7200 s). Clients: 0 stops asking for tickets.
  ConfigBuilder& session_tickets(uint32_t count, uint32_t lifetime_seconds = 7200);
  // Servers: the keys that seal tickets (default: fresh keys for this Config).
  ConfigBuilder& ticket_keys(std::shared_ptr<TicketKeys> keys);
  // Servers: keep TLS 1.2 sessions by ID (e.g. make_memory_session_store()).
  ConfigBuilder& session_store(std::shared_ptr<SessionStore> store);
  // Servers with 0-RTT: the store of tickets already used for early data;
  // share one across Configs (reloads) so a reload forgets no ticket.
  // Default: a fresh EarlyDataReplayStore per Config.
  ConfigBuilder& early_data_replay_store(std::shared_ptr<EarlyDataReplayStore> store);

  // TLS 1.2 renegotiation, off by default (TLS 1.3 has none). When on, only
  // the secure kind (RFC 5746); peer-initiated renegotiations are limited to
  // 3 in 10 minutes, like Node (ERR_TLS_SESSION_ATTACK beyond that).
  ConfigBuilder& renegotiation(bool enabled);

  // TLS 1.3 0-RTT. Servers: accept up to `max_bytes` of early data on
  // resumed sessions (0 = off, the default); tickets then become single-use
  // (a bounded replay cache, see docs/features.md). Clients: offer early data
  // (Connection::write_early_data) when the saved session allows it.
  ConfigBuilder& early_data(uint32_t max_bytes);

  // Timers, on the injected clock (Connection::next_deadline_ms()). The
  // handshake must complete within `handshake_ms` (default 120 s for servers,
  // like Node's handshakeTimeout; none for clients; 0 = none).
  ConfigBuilder& handshake_timeout(uint32_t handshake_ms);
  // After close(), wait at most this long for the peer's close_notify: a
  // bidirectional close (wants().closed waits for it or for the deadline; the
  // transport ending first is truncation). Default 0: do not wait; the
  // connection is closed once ours is queued, and the transport's end after
  // it is clean. See "Closing" in connection.h.
  ConfigBuilder& close_timeout(uint32_t close_ms);

  // Largest plaintext per record sent (Node's setMaxSendFragment): 512 to
  // 16384, default 16384.
  ConfigBuilder& max_send_fragment(size_t bytes);

  // One structured entry per record and per plaintext handshake message or
  // alert, both directions (TLS 1.3 encrypts handshake messages after the
  // ServerHello: they appear as encrypted records).
  ConfigBuilder& trace(TraceCallback callback);

  // Key logging for every connection made from this Config (see KeyLogCallback).
  ConfigBuilder& key_log(KeyLogCallback callback);

  // Upper bound on ciphertext queued for the transport before write() and the
  // handshake pause (back-pressure). Minimum and default: two full records.
  ConfigBuilder& max_pending_output(size_t bytes);

  // A cap on the heap one Connection may hold (Connection::memory()): an
  // allocation past it fails, and so does the connection, with
  // ERR_TLS_OUT_OF_MEMORY (no alert: sending one could need memory).
  // 0 (the default): no cap. docs/architecture.md gives typical figures;
  // below about 64 KiB handshakes start failing.
  ConfigBuilder& max_connection_memory(size_t bytes);

  Result<Config> build() const;

  // The settings as given; build() validates them.
  struct Settings {
    struct Identity {
      std::vector<uint8_t> chain;
      SecretBytes key;
      SecretBytes passphrase;
    };
    Role role = Role::client;
    TlsVersion min = TlsVersion::tls1_2;
    TlsVersion max = TlsVersion::tls1_3;
    bool ciphers_set = false;
    std::string ciphers;
    bool groups_set = false;
    std::string groups;
    std::vector<Identity> identities;
    std::vector<std::vector<uint8_t>> trust_anchors;
    std::vector<std::vector<uint8_t>> crls;
    bool verification_set = false;
    PeerVerification verification = PeerVerification::none;
    std::vector<std::string> alpn;
    RandomSource* random = nullptr;
    Clock* clock = nullptr;
    size_t max_pending_output = 0;
    size_t max_connection_memory = 0;
    KeyLogCallback key_log;
    AlpnSelector alpn_selector;
    std::vector<std::pair<std::string, std::shared_ptr<const detail::ConfigState>>> sni_contexts;
    bool strict_sni = false;
    SniSelector sni_selector;
    std::string psk_identity;
    SecretBytes psk_key;
    PskLookup psk_lookup;
    PskMode psk_mode = PskMode::with_ecdhe;
    IdentityCheck identity_check;
    CertificateVerifier certificate_verifier;
    ClientCertificateSelector client_certificate_selector;
    std::vector<std::string> pins;
    std::optional<uint32_t> handshake_timeout_ms;
    uint32_t early_data = 0;
    bool renegotiation = false;
    bool sig_algs_set = false;
    std::string sig_algs;
    std::optional<bool> honor_cipher_order;
    uint32_t close_timeout_ms = 0;
    size_t max_send_fragment = 16384;
    TraceCallback trace;
    uint32_t ticket_count = 1;
    uint32_t ticket_lifetime = 7200;
    std::shared_ptr<TicketKeys> ticket_keys;
    std::shared_ptr<SessionStore> session_store;
    std::shared_ptr<EarlyDataReplayStore> replay_store;
  };
  const Settings& settings() const noexcept { return settings_; }

 private:
  Settings settings_;
};

}  // namespace sanstls
