// The engine behind Connection: mbedTLS's ssl context driven over memory.
// The contract is documented in include/sanstls/connection.h.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "certificates.h"
#include "config_state.h"
#include "advisory_guards.h"
#include "hello_parser.h"
#include "mbedtls_private.h"
#include "output_queue.h"
#include "record_stream.h"
#include "session.h"
#include "sanstls/connection.h"

namespace sanstls::detail {

// RFC 8446 4.2.3: whether a TLS 1.3 signature scheme suits the key (ECDSA:
// the scheme of its curve; RSA: rsa_pss_rsae_*). engine_server_config.cpp.
bool tls13_scheme_fits_key(uint16_t scheme, const mbedtls_pk_context& key);
// RFC 8446 4.2.8.2, RFC 8422 5.4: an ECDHE public value for `group` (X25519,
// X448: the length; NIST curves: an uncompressed point on the curve).
bool valid_key_share(uint16_t group, ByteView key);

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> create(const Config& config, Role role,
                                                const std::string* server_name,
                                                ByteView saved_session = ByteView());
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  size_t feed(ByteView ciphertext);
  ByteView pending_output() const noexcept { return output_.pending(); }
  void consume_output(size_t n);
  size_t read(MutableByteView out);
  size_t write(ByteView plaintext);
  Readiness wants() const noexcept;
  std::optional<Event> next_event();
  void close();
  void transport_eof();
  const Error& error() const noexcept { return error_; }
  Role role() const noexcept { return role_; }
  // Server-only branches test this: without mbedTLS's server side
  // (MBEDTLS_SSL_SRV_C off, as in the firmware profiles) it is false at
  // compile time and the server code drops out of the image.
  bool is_server() const noexcept {
#if defined(MBEDTLS_SSL_SRV_C)
    return role_ == Role::server;
#else
    return false;
#endif
  }
  const ConnectionInfo& info() const noexcept { return info_; }
  MemoryUsage memory() const noexcept;
  size_t release_buffers() noexcept;
  Result<std::vector<uint8_t>> save_session() const;
  Error provide_config(const Config& config);
  void reject_server_name();
  size_t write_early_data(ByteView data);
  bool renegotiate();
  size_t read_early_data(MutableByteView out);
  std::optional<int64_t> next_deadline_ms() const noexcept;
  void on_timer(int64_t now_ms);
  bool set_max_send_fragment(size_t bytes);
  Result<std::vector<uint8_t>> export_keying_material(std::string_view label, ByteView context,
                                                      size_t length) const;

 private:
  Engine(std::shared_ptr<const ConfigState> config, Role role, MemoryAccount* account);

  // Observers of the two record streams.
  struct Inbound final : RecordObserver {
    Engine* engine;
    explicit Inbound(Engine* e) : engine(e) {}
    void on_record(const RecordHeader& header) override;
    void on_handshake_message(uint8_t type, ByteView body, bool truncated) override;
    void on_plaintext_alert(uint8_t level, uint8_t description) override;
    void on_change_cipher_spec(uint8_t value) override;
  };
  struct Outbound final : RecordObserver {
    Engine* engine;
    explicit Outbound(Engine* e) : engine(e) {}
    void on_record(const RecordHeader& header) override;
    void on_handshake_message(uint8_t type, ByteView body, bool truncated) override;
    void on_plaintext_alert(uint8_t level, uint8_t description) override;
  };

  static int send_callback(void* self, const unsigned char* data, size_t len);
  static int recv_callback(void* self, unsigned char* data, size_t len);
  static int verify_callback(void* self, mbedtls_x509_crt* crt, int depth, uint32_t* flags);
  static void export_keys_callback(void* self, mbedtls_ssl_key_export_type type,
                                   const unsigned char* secret, size_t secret_len,
                                   const unsigned char client_random[32],
                                   const unsigned char server_random[32],
                                   mbedtls_tls_prf_types prf);
  friend int server_name_callback(void*, mbedtls_ssl_context*, const unsigned char*, size_t);
  friend int psk_callback(void*, mbedtls_ssl_context*, const unsigned char*, size_t);

  Error start(const std::string* server_name, ByteView saved_session,
              const mbedtls_ssl_config* conf = nullptr);
  ByteView input() const noexcept;
  void advance_input(size_t n) noexcept;
  bool collect_client_hello();
  static bool needs_rewrite(const ClientHelloFacts& hello);
  void rewrite_client_hello();
  void restore_hello_transcript();
  bool check_client_hello();
  bool choose_config();
  bool finish_setup(std::shared_ptr<const ConfigState> chosen);
  void refuse_name();
  void queue_plaintext_alert(Alert alert);
  void reprotect_client_alert();
  bool check_server_key_matches_suite();
  bool check_server_key_usage();
  bool reads_protected_handshake_message(int state) const;
  int check_protected_handshake_message();
  void check_peer_key_exchange(uint8_t type, ByteView body);
  int check_certificate_verify_scheme(uint16_t scheme);
  void send_compatibility_change_cipher_spec();
  void capture_session();
  Error verify_saved_session();
  void receive_early_data();
  EarlyDataReason early_data_reason();  // at handshake completion
  void note_client_offers();            // server: what each ClientHello offered
  void flush_resend();
  bool note_peer_renegotiation();
  int drive_handshake();
  void accept_tls12_rsa_pss(bool on);
  void choose_client_certificate();
  void check_leaf(const mbedtls_x509_crt& leaf, uint32_t* flags);
  void run_certificate_verifier(const mbedtls_x509_crt& crt, int depth, uint32_t* flags);
  Error verification_failure(uint32_t flags) const;
  int on_send(ByteView data);
  int on_recv(unsigned char* data, size_t len);
  void on_server_hello(ByteView body);
  void on_server_message(uint8_t type, ByteView body, bool truncated);
  // True when `verdict` refused (the connection has failed).
  bool apply_guard(const GuardVerdict& verdict);  // advisory_guards.cpp
  bool finish_ticket_states();                    // advisory_guards.cpp

  // Allocates the record buffers again after release_buffers(); false (and
  // the engine failed with ERR_TLS_OUT_OF_MEMORY) when that is impossible.
  bool restore_record_buffers();
  // Runs mbedTLS until it needs input, output room, or the application.
  void pump();
  bool output_has_room_for_record() const noexcept;
  void begin_backend_call();
  void fail(Error error);
  void fail_from_backend(int code);
  void fail_from_header(HeaderVerdict verdict);
  Error describe_backend_error(int code, Alert* default_alert);
  bool max_memory_reached() const noexcept;
  // Queues a fatal alert; true only if its record really is in the output.
  bool send_alert(Alert alert);
  size_t inbound_protected_limit() const noexcept;
  void rewrite_queued_alert(Alert alert);
  void queue_close_notify();
  void on_handshake_complete();
  void on_session_ticket();
  void push_event(EventKind kind, Alert alert = Alert::close_notify);
  // A warning alert from the peer; false when it must end the connection
  // (fail_on_warning_alert() then says why, once mbedTLS has returned).
  bool note_warning_alert(uint8_t description);
  void fail_on_warning_alert();
  void trace(TraceEntry::Direction direction, TraceEntry::Kind kind, uint8_t a, uint8_t b,
             size_t length, bool encrypted = false);

  std::shared_ptr<const ConfigState> config_;
  Role role_;
  MemoryAccount* account_;  // first: outlives everything it counts
  OutputQueue output_;
  mbedtls_ssl_context ssl_;
  ParkedRecordBuffers parked_;  // mbedTLS's record buffers while released
  Inbound inbound_observer_{this};
  Outbound outbound_observer_{this};
  RecordStream inbound_{inbound_observer_};
  RecordStream outbound_{outbound_observer_};

  // The ciphertext offered by the current feed() call.
  ByteView feed_;
  size_t feed_used_ = 0;
  // Servers choosing their Config from the ClientHello hold its records here
  // and replay them into mbedTLS once the Config is set up.
  bool deferred_setup_ = false;
  bool awaiting_config_ = false;
  bool first_message_seen_ = false;
  uint8_t first_message_type_ = 0;
  std::vector<uint8_t> replay_;
  size_t replay_used_ = 0;
  size_t hello_bytes_ = 0;        // ClientHello bytes collected so far (bounded)
  size_t replay_feed_end_ = 0;    // feed_ before this offset is a ClientHello replayed in place
  bool hello_preparsed_ = false;  // the replayed ClientHello was parsed already
  std::vector<uint8_t> original_hello_;  // a rewritten ClientHello as received (transcript)
  mbedtls_ssl_config conf_override_{};   // per-connection copy (ALPN selector's choice)
  std::string alpn_choice_;
  std::vector<int> suites_override_;  // honor_cipher_order's per-connection list
  const char* alpn_choice_list_[2] = {nullptr, nullptr};
  bool first_inbound_record_ = true;
  bool initial_record_sent_ = false;  // the first record we sent (a client's ClientHello)
  size_t header_delivered_ = 0;
  HeaderVerdict inbound_verdict_ = HeaderVerdict::ok;

  // What the current backend call sent, to name the alert of a failure.
  bool alert_record_sent_ = false;
  bool change_cipher_spec_sent_ = false;   // TLS 1.3 compatibility mode
  bool server_key_type_checked_ = false;   // TLS 1.2 client: leaf key vs suite
  bool server_key_usage_checked_ = false;  // client: the leaf may sign
  bool plaintext_alert_sent_ = false;
  uint8_t plaintext_alert_code_ = 0;
  // A fatal alert the peer sent in the clear while we expected protection
  // (mbedTLS's TLS 1.3 client does this before it has handshake keys).
  bool plaintext_fatal_alert_received_ = false;
  bool awaiting_alert_body_ = false;  // a 2-byte alert header where records are protected
  uint8_t plaintext_fatal_alert_code_ = 0;

  std::string server_name_;
  uint8_t ip_literal_[16] = {0};
  size_t ip_literal_len_ = 0;
  ChainRecord chain_;
  Error custom_error_;                           // from a pin or identity check on the leaf
  std::vector<CertificateInfo> verifier_chain_;  // for the CertificateVerifier, leaf first
  bool verifier_rejected_ = false;               // the CertificateVerifier said no
  bool name_mismatch_ = false;                   // the leaf really does not match the name
  bool pin_rejected_ = false;                    // the leaf's key matches none of the pins
  bool offered_saved_session_ = false;
  bool saw_hello_retry_ = false;            // an HRR was sent or received
  bool tls13_records_protected_ = false;    // a TLS 1.3 ServerHello (not an HRR) went by
  uint16_t peer_signature_scheme_ = 0;      // of the peer's CertificateVerify/ServerKeyExchange
  bool client_offered_early_data_ = false;  // server: the first ClientHello had early_data
  bool client_offered_psk_ = false;         // server: the first ClientHello had pre_shared_key
  SessionFacts resumed_;                    // what the saved session says about the server
  // The saved session's chain, verified again under this Config (verify_saved_session).
  bool resumed_authorized_ = false;
  Error resumed_authorization_error_;
  bool certificate_requested_ = false;  // the server sent a CertificateRequest
  bool certificate_chosen_ = false;
  std::shared_ptr<const ConfigState> chosen_certificate_;  // keeps the chosen identity alive
  ServerHelloFacts server_hello_;
  ClientHelloFacts client_hello_;
  uint16_t tls12_group_ = 0;
  // TLS 1.2 client: the ServerKeyExchange is signed with RSA-PSS, and
  // whether mbedTLS answers its signature check by TLS 1.3's table now.
  bool tls12_pss_server_key_exchange_ = false;
  bool tls13_signature_table_on_ = false;
  AdvisoryGuards guards_;  // checks mbedTLS 3.6.6 lacks (advisory_guards.cpp)
  bool saw_server_hello_done_ = false;
  bool reject_unauthorized_after_handshake_ = false;

  bool handshake_done_ = false;
  bool read_closed_ = false;
  bool write_closed_ = false;
  bool close_pending_ = false;  // close_notify waits for output room
  bool close_wait_ = false;     // close() waits (close_timeout) for the peer's close_notify
  bool eof_ = false;
  bool blocked_on_output_ = false;
  std::optional<int64_t> handshake_deadline_;
  std::optional<int64_t> close_deadline_;
  size_t max_fragment_ = 16384;
  std::array<int64_t, 3> renegotiations_{};  // when the peer last renegotiated
  size_t renegotiation_count_ = 0;
  bool renegotiation_by_us_ = false;
  int peer_renegotiations_ = 0;  // counted by the key export callback
  // TLS 1.2: the exporter's inputs (RFC 5705), kept from the key export
  // callback. mbedTLS 3.6's own exporter runs the PRF with the suite's MAC
  // hash, SHA-1 for the CBC_SHA suites, where TLS 1.2's PRF is SHA-256.
  struct Tls12ExporterInputs {
    uint8_t master_secret[48] = {0};
    uint8_t randoms[64] = {0};  // client_random, server_random
    mbedtls_tls_prf_types prf = MBEDTLS_SSL_TLS_PRF_NONE;
  } tls12_exporter_;
  int renegotiation_secrets_ = 0;        // renegotiations whose completion is not yet reported
  std::vector<uint8_t> early_sent_;      // client: 0-RTT bytes, kept until accepted
  std::vector<uint8_t> resend_;          // client: rejected 0-RTT bytes to resend as 1-RTT
  std::vector<uint8_t> early_received_;  // server: 0-RTT bytes for read_early_data()
  Error error_;
  ConnectionInfo info_;
  std::vector<uint8_t> saved_session_;  // the latest resumable session (client)

  static constexpr size_t kMaxEvents = 16;
  static constexpr size_t kMaxWarningEvents = 8;     // the other 8 kinds always fit
  static constexpr int kMaxConsecutiveWarnings = 5;  // OpenSSL's MAX_WARN_ALERT_COUNT
  bool one_record_per_call_ = false;                 // on_recv stops at the next record (pump)
  uint64_t records_at_call_start_ = 0;
  int consecutive_warnings_ = 0;   // warning alerts since the last handshake message or data
  uint8_t warning_violation_ = 0;  // the alert that must end the connection, 0: none
  bool warning_flood_ = false;
  uint32_t dropped_warnings_ = 0;
  std::array<Event, kMaxEvents> events_{};
  size_t event_head_ = 0;
  size_t event_count_ = 0;
};

}  // namespace sanstls::detail
