#include "engine.h"

#include <cstdio>
#include <cstring>

#include "algorithms.h"
#include "error_text.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/error.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/sha256.h"
#include "mbedtls_private.h"
#include "session.h"

namespace sanstls::detail {
namespace {

constexpr int kPumpGuard = 100000;  // no legitimate call loops anywhere near this
// mbedTLS pads TLS 1.3 inner plaintexts to a multiple of
// MBEDTLS_SSL_CID_TLS1_3_PADDING_GRANULARITY: an alert's 3 bytes become 16.
constexpr size_t kTls13AlertPaddedLength = ((3 + MBEDTLS_SSL_CID_TLS1_3_PADDING_GRANULARITY - 1) /
                                            MBEDTLS_SSL_CID_TLS1_3_PADDING_GRANULARITY) *
                                           MBEDTLS_SSL_CID_TLS1_3_PADDING_GRANULARITY;
// A leaf the CertificateVerifier rejected: a flag that mbedTLS and
// alert_for_verify_flags() answer with certificate_unknown (as BoringSSL's
// custom verify does); verification_failure() reports the verifier's error.
constexpr uint32_t kRejectedByVerifier = MBEDTLS_X509_BADCERT_BAD_MD;

}  // namespace

// ---------------------------------------------------------------- lifecycle

Engine::Engine(std::shared_ptr<const ConfigState> config, Role role, MemoryAccount* account)
    : config_(std::move(config)),
      role_(role),
      account_(account),
      output_(config_->max_pending_output, account) {
  mbedtls_ssl_init(&ssl_);
}

Result<std::unique_ptr<Engine>> Engine::create(const Config& config, Role role,
                                               const std::string* server_name,
                                               ByteView saved_session) {
  const ConfigState& state = config.state();
  if (state.role != role) {
    return Error(ErrorCode::invalid_argument, Stage::config,
                 role == Role::client ? "a client connection needs a client Config"
                                      : "a server connection needs a server Config");
  }
  MemoryAccount* account = MemoryAccount::create();
  if (account == nullptr) return Error(ErrorCode::out_of_memory, Stage::internal, "out of memory");
  account->set_limit(state.max_connection_memory);
  account->on_alloc(sizeof(Engine));
  std::unique_ptr<Engine> engine(
      new Engine(std::shared_ptr<const ConfigState>(config.state_pointer()), role, account));
  CallScope scope(account, state.clock, state.random, &engine->info_.server_name);
  engine->max_fragment_ = state.max_send_fragment;
  if (state.handshake_timeout_ms > 0) {
    engine->handshake_deadline_ = state.clock->now_ms() + state.handshake_timeout_ms;
  }
  if (engine->is_server()) {
    // mbedTLS binds one configuration at setup, and the ClientHello is
    // checked and its server name known before mbedTLS parses it.
    engine->deferred_setup_ = true;
    return Result<std::unique_ptr<Engine>>(std::move(engine));
  }
  if (Error error = engine->start(server_name, saved_session)) return error;
  engine->pump();  // a client's ClientHello is ready at once
  if (engine->offered_saved_session_ && !engine->error_.ok()) {
    // mbedTLS loaded the session but cannot offer it (a corrupt blob whose
    // fields are inconsistent): that is the blob's fault, said at once.
    char text[Error::kMessageCapacity];
    SANSTLS_FORMAT_ERROR_TEXT(text, "the saved session cannot be offered: %.150s",
                              engine->error_.message());
    return Error(ErrorCode::invalid_session, Stage::config, text)
        .with_backend_code(engine->error_.backend_code());
  }
  return Result<std::unique_ptr<Engine>>(std::move(engine));
}

Engine::~Engine() {
  {
    CallScope scope(account_, config_->clock, config_->random, &info_.server_name);
    mbedtls_ssl_free(&ssl_);
  }
  // The saved session holds the session's secrets.
  mbedtls_platform_zeroize(saved_session_.data(), saved_session_.size());
  mbedtls_platform_zeroize(&tls12_exporter_, sizeof tls12_exporter_);
  account_->on_free(sizeof(Engine));
  account_->detach();  // the output queue's buffer is returned after this; the account waits for it
}

Error Engine::start(const std::string* server_name, ByteView saved_session,
                    const mbedtls_ssl_config* conf) {
  if (conf == nullptr && role_ == Role::client && config_->client_certificate_selector) {
    // A private copy of the configuration whose certificate list we can swap.
    conf_override_ = config_->conf;
    conf = &conf_override_;
  }
  int ret = mbedtls_ssl_setup(&ssl_, conf != nullptr ? conf : &config_->conf);
  if (ret != 0) {
    return Error(ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? ErrorCode::out_of_memory
                                                     : ErrorCode::internal_error,
                 Stage::internal, "cannot set up the TLS context")
        .with_backend_code(ret);
  }
  mbedtls_ssl_set_user_data_p(&ssl_, this);
  if (is_server()) {
    // With 0-RTT off, mbedTLS's budget for skipping rejected early data is
    // 0 and the first 0-RTT record fails the handshake. RFC 8446 4.2.10
    // wants it skipped: allow one maximal record, as BoringSSL does (16 KiB).
    set_negotiated_max_early_data(ssl_, config_->early_data > 0
                                            ? config_->early_data
                                            : static_cast<uint32_t>(kMaxCiphertextRecord));
  }
  mbedtls_ssl_set_bio(&ssl_, this, send_callback, recv_callback, nullptr);
#if defined(MBEDTLS_X509_CRT_PARSE_C)
  mbedtls_ssl_set_verify(&ssl_, verify_callback, this);
#endif
  // Key logging, counting TLS 1.2 renegotiations (each derives a new master
  // secret) and the TLS 1.2 exporter's inputs (export_keying_material()).
  mbedtls_ssl_set_export_keys_cb(&ssl_, export_keys_callback, this);
  if (role_ == Role::client) {
    const char* hostname = nullptr;
    if (server_name != nullptr) {
      server_name_ = *server_name;
      info_.server_name = server_name_;
      ip_literal_len_ = parse_ip_literal(server_name_, ip_literal_);
      // IP literals are verified against iPAddress names by our verify
      // callback and never sent as SNI (RFC 6066 section 3).
      if (ip_literal_len_ == 0) hostname = server_name_.c_str();
    }
#if defined(MBEDTLS_X509_CRT_PARSE_C)
    // Always called: a NULL name is mbedTLS's explicit "no hostname check".
    ret = mbedtls_ssl_set_hostname(&ssl_, hostname);
#else
    // mbedTLS 3.6 sends SNI only with X.509 built in: a PSK-only build
    // (the firmware's psk profile) keeps the name for info() alone.
    ret = hostname != nullptr && std::strlen(hostname) > 255 ? MBEDTLS_ERR_SSL_BAD_INPUT_DATA : 0;
#endif
    if (ret != 0) {
      return Error(ErrorCode::invalid_argument, Stage::config,
                   "the server name is not a valid host name (at most 255 bytes)")
          .with_backend_code(ret);
    }
    if (!saved_session.empty()) {
      if (Error error = load_session(ssl_, saved_session, server_name_, &resumed_)) return error;
      if (Error error = verify_saved_session()) return error;
      offered_saved_session_ = true;
      guards_.resumed_ems = static_cast<EmsUse>(resumed_.extended_master_secret & 3);
    }
  }
  return Error();
}

void Engine::capture_session() {
  if (role_ != Role::client) return;
  SessionFacts facts;
  for (const CertificateInfo& certificate : info_.peer_certificates) {
    facts.chain.push_back(certificate.der);
  }
  facts.extended_master_secret = static_cast<uint8_t>(session_ems(info_.version, server_hello_));
  std::vector<uint8_t> blob = store_session(ssl_, server_name_, facts);
  if (blob.empty()) return;
  mbedtls_platform_zeroize(saved_session_.data(), saved_session_.size());
  saved_session_ = std::move(blob);
}

Error Engine::verify_saved_session() {
  // A blob is unprotected and may come from a connection made under a weaker
  // policy (an --insecure run, other trust anchors, no pins): the verdict is
  // recomputed from its chain under this Config, never copied. A session
  // whose chain this Config would have rejected is refused: resuming it
  // would let a server that was never verified (a man in the middle) in.
  resumed_authorized_ = false;
  resumed_authorization_error_ = Error(ErrorCode::peer_did_not_return_certificate,
                                       Stage::certificate, "peer did not return a certificate");
  const bool required = config_->verification == PeerVerification::required;
  if (resumed_.chain.empty()) {
    // Only a session made with an external PSK has no certificate.
    if (required && config_->psk_key.empty()) {
      return Error(ErrorCode::session_not_trusted, Stage::certificate,
                   "the saved session has no server certificate to verify, and this Config "
                   "requires verification");
    }
    return Error();
  }
#if !defined(MBEDTLS_X509_CRT_PARSE_C)
  return Error(ErrorCode::invalid_session, Stage::config,
               "the saved session has server certificates, and this build has no X.509 "
               "(MBEDTLS_X509_CRT_PARSE_C) to verify them");
#else
  mbedtls_x509_crt chain;
  mbedtls_x509_crt_init(&chain);
  int ret = 0;
  for (const std::vector<uint8_t>& der : resumed_.chain) {
    if (ret == 0) ret = mbedtls_x509_crt_parse_der(&chain, der.data(), der.size());
  }
  uint32_t flags = 0;
  if (ret == 0) {
    const char* hostname =
        ip_literal_len_ == 0 && !server_name_.empty() ? server_name_.c_str() : nullptr;
    // Config never sets a certificate profile, so the handshake uses the default one too.
    ret = mbedtls_x509_crt_verify_with_profile(
        &chain,
        config_->has_trust_anchors ? const_cast<mbedtls_x509_crt*>(&config_->trust_anchors)
                                   : nullptr,
        config_->crl_pointer(), &mbedtls_x509_crt_profile_default, hostname, &flags,
        verify_callback, this);
  }
  mbedtls_x509_crt_free(&chain);
  Error verdict;
  if (ret != 0 && ret != MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
    verdict = Error(ErrorCode::invalid_session, Stage::config,
                    "the saved session's certificates cannot be read")
                  .with_backend_code(ret);
  } else if (pin_rejected_ || flags != 0) {
    verdict = verification_failure(flags);
  }
  chain_.clear();  // the handshake's own verification starts afresh
  custom_error_ = Error();
  verifier_rejected_ = false;
  name_mismatch_ = false;
  const bool pin_rejected = pin_rejected_;
  pin_rejected_ = false;
  if (verdict.code() == ErrorCode::invalid_session) return verdict;
  if (verdict && (required || pin_rejected)) {
    char text[Error::kMessageCapacity];
    SANSTLS_FORMAT_ERROR_TEXT(
        text,
        "the saved session's server fails this Config's verification (%s): it was "
        "saved under a weaker policy; connect without it",
        verdict.name());
    return Error(ErrorCode::session_not_trusted, Stage::certificate, text);
  }
  resumed_authorized_ = !verdict;
  resumed_authorization_error_ = verdict;
  return Error();
#endif
}

Result<std::vector<uint8_t>> Engine::save_session() const {
  if (role_ != Role::client) {
    return Error(ErrorCode::session_unavailable, Stage::config,
                 "sessions are saved on the client side");
  }
  if (saved_session_.empty()) {
    return Error(ErrorCode::session_unavailable, Stage::config,
                 "no resumable session yet: in TLS 1.2 wait for the handshake, in TLS 1.3 for "
                 "a session_ticket event");
  }
  return saved_session_;
}

void Engine::export_keys_callback(void* self, mbedtls_ssl_key_export_type type,
                                  const unsigned char* secret, size_t secret_len,
                                  const unsigned char client_random[32],
                                  const unsigned char* server_random, mbedtls_tls_prf_types prf) {
  auto* engine = static_cast<Engine*>(self);
  if (type == MBEDTLS_SSL_KEY_EXPORT_TLS12_MASTER_SECRET &&
      secret_len == sizeof engine->tls12_exporter_.master_secret) {
    Tls12ExporterInputs& inputs = engine->tls12_exporter_;
    std::memcpy(inputs.master_secret, secret, secret_len);
    std::memcpy(inputs.randoms, client_random, 32);
    std::memcpy(inputs.randoms + 32, server_random, 32);
    inputs.prf = prf;
  }
  if (type == MBEDTLS_SSL_KEY_EXPORT_TLS12_MASTER_SECRET && engine->handshake_done_) {
    ++engine->renegotiation_secrets_;
    if (!engine->renegotiation_by_us_) ++engine->peer_renegotiations_;
  }
  const char* label = key_log_label(type);
  if (label == nullptr || !engine->config_->key_log) return;
  const std::string line = key_log_line(label, client_random, secret, secret_len);
  engine->config_->key_log(line);
}

// ---------------------------------------------------------------- callbacks

int Engine::send_callback(void* self, const unsigned char* data, size_t len) {
  return static_cast<Engine*>(self)->on_send(ByteView(data, len));
}

int Engine::recv_callback(void* self, unsigned char* data, size_t len) {
  return static_cast<Engine*>(self)->on_recv(data, len);
}

int Engine::on_send(ByteView data) {
  if (guards_.ems_downgrade) {  // no ServerHello: abort (advisory_guards.cpp)
    apply_guard(ems_downgrade_verdict());
    return MBEDTLS_ERR_SSL_WANT_WRITE;
  }
  // All or nothing, and never 0: mbedTLS retries the same record after WANT_WRITE.
  if (!output_.append(data)) {
    // Under a memory cap the queue may refuse to grow: that is out of memory.
    return output_.over_memory_limit() ? MBEDTLS_ERR_SSL_ALLOC_FAILED : MBEDTLS_ERR_SSL_WANT_WRITE;
  }
  if (!is_server() && !initial_record_sent_ && data.size() > 5 && data[0] == kHandshake &&
      data[5] == kClientHello) {
    // RFC 8446 5.1: the initial ClientHello's record MAY say 0x0301, and
    // other stacks send that (old servers and middleboxes expect it);
    // mbedTLS writes 0x0303. Only this record: later ones say 0x0303.
    output_.tail(data.size())[2] = 0x01;
  }
  initial_record_sent_ = true;
  outbound_.observe(data);
  return static_cast<int>(data.size());
}

ByteView Engine::input() const noexcept {
  if (replay_used_ < replay_.size()) {
    return ByteView(replay_.data() + replay_used_, replay_.size() - replay_used_);
  }
  return feed_.skip(feed_used_);
}

void Engine::advance_input(size_t n) noexcept {
  if (replay_used_ < replay_.size()) {
    replay_used_ += n;
    if (replay_used_ == replay_.size()) {
      replay_.clear();
      replay_.shrink_to_fit();
      replay_used_ = 0;
    }
    return;
  }
  feed_used_ += n;
}

int Engine::on_recv(unsigned char* data, size_t len) {
  if (inbound_verdict_ != HeaderVerdict::ok) return MBEDTLS_ERR_SSL_WANT_READ;
  size_t produced = 0;
  // A verdict can also come from a record's body (a bad ChangeCipherSpec):
  // nothing after it reaches mbedTLS.
  while (produced < len && inbound_verdict_ == HeaderVerdict::ok) {
    if (awaiting_alert_body_) {
      // A fatal alert in the clear where records are protected: the peer
      // gave up (RFC 8446 6.2). Name it, and keep it from mbedTLS, which
      // would answer it with bad_record_mac.
      const ByteView body = input();
      if (body.size() < 2) break;
      awaiting_alert_body_ = false;
      if (body[0] == MBEDTLS_SSL_ALERT_LEVEL_FATAL) {
        trace(TraceEntry::Direction::received, TraceEntry::Kind::alert, body[0], body[1], 2);
        plaintext_fatal_alert_received_ = true;
        plaintext_fatal_alert_code_ = body[1];
        advance_input(2);
        inbound_verdict_ = HeaderVerdict::plaintext_alert;
        break;
      }
    }
    if (inbound_.in_header()) {
      // After the handshake mbedTLS silently loops over warning alerts; one
      // record per read lets pump() see (and count) each of them.
      if (one_record_per_call_ && inbound_.header_bytes() == 0 &&
          inbound_.records_completed() != records_at_call_start_) {
        break;
      }
      if (inbound_.header_bytes() < 5) {
        // Stage the header and judge it before mbedTLS sees any of it.
        advance_input(inbound_.add_header_bytes(input()));
        if (inbound_.header_bytes() < 5) break;
        const uint8_t* header = inbound_.header();
        inbound_verdict_ = judge_header(header, first_inbound_record_, is_server(),
                                        inbound_.encrypted(header[0]), inbound_protected_limit());
        first_inbound_record_ = false;
        if (inbound_verdict_ == HeaderVerdict::ok && header[0] == kHandshake &&
            tls13_records_protected_) {
          inbound_verdict_ = HeaderVerdict::plaintext_handshake;
        }
        if (inbound_verdict_ != HeaderVerdict::ok) break;
        header_delivered_ = 0;
        if (header[0] == kAlert && header[3] == 0 && header[4] == 2 && inbound_protected(ssl_)) {
          awaiting_alert_body_ = true;
          continue;
        }
      }
      size_t n = 5 - header_delivered_;
      if (n > len - produced) n = len - produced;
      uint8_t header[5];
      std::memcpy(header, inbound_.header(), 5);
      // ClientHello records may carry any 3.x version (RFC 8446 5.1,
      // RFC 5246 E.1); mbedTLS refuses one above its maximum.
      if (is_server() && header[0] == kHandshake && !server_hello_.parsed && header[2] > 3) {
        header[2] = 3;
      }
      std::memcpy(data + produced, header + header_delivered_, n);
      header_delivered_ += n;
      produced += n;
      if (header_delivered_ == 5) inbound_.begin_body();
      continue;
    }
    ByteView available = input();
    size_t n = len - produced;
    if (n > inbound_.body_remaining()) n = inbound_.body_remaining();
    if (n > available.size()) n = available.size();
    if (n == 0) break;
    std::memcpy(data + produced, available.data(), n);
    inbound_.add_body_bytes(available.first(n));
    advance_input(n);
    produced += n;
    if (!error_.ok()) return MBEDTLS_ERR_SSL_WANT_READ;  // an advisory guard refused it
  }
  return produced == 0 ? MBEDTLS_ERR_SSL_WANT_READ : static_cast<int>(produced);
}

int Engine::verify_callback(void* self, mbedtls_x509_crt* crt, int depth, uint32_t* flags) {
  auto* engine = static_cast<Engine*>(self);
  ChainRecord& chain = engine->chain_;
  if (depth >= 0 && depth < ChainRecord::kMaxDepth) {
    chain.flags[depth] = *flags;
    chain.self_signed[depth] =
        crt->issuer_raw.len == crt->subject_raw.len &&
        (crt->issuer_raw.len == 0 ||
         std::memcmp(crt->issuer_raw.p, crt->subject_raw.p, crt->issuer_raw.len) == 0);
    if (depth + 1 > chain.length) chain.length = depth + 1;
  }
  if (engine->config_->certificate_verifier) engine->run_certificate_verifier(*crt, depth, flags);
  if (depth == 0 && engine->role_ == Role::client) engine->check_leaf(*crt, flags);
  return 0;
}

// mbedTLS calls verify_callback from the top of the chain down to the leaf
// (depth 0): the application's verdict replaces the built-in checks' flags.
void Engine::run_certificate_verifier(const mbedtls_x509_crt& crt, int depth, uint32_t* flags) {
  if (depth < 0) return;
  const auto index = static_cast<size_t>(depth);
  if (verifier_chain_.size() <= index) verifier_chain_.resize(index + 1);
  verifier_chain_[index] = describe_certificate(crt);
  *flags = 0;
  if (depth != 0) return;
  Error verdict = config_->certificate_verifier(verifier_chain_);
  verifier_chain_.clear();
  verifier_rejected_ = static_cast<bool>(verdict);
  if (!verifier_rejected_) return;
  // Neither mbedTLS nor alert_for_verify_flags() reads BAD_MD as anything
  // but "certificate_unknown", the alert BoringSSL's custom verify sends.
  *flags |= kRejectedByVerifier;
  custom_error_ = verdict;
}

void Engine::check_leaf(const mbedtls_x509_crt& leaf, uint32_t* flags) {
  if (ip_literal_len_ > 0 && !certificate_has_ip(leaf, ip_literal_, ip_literal_len_)) {
    *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
  }
  name_mismatch_ = (*flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) != 0;
  // Our own checks mark the leaf with CN_MISMATCH (mbedTLS then sends
  // bad_certificate) and remember their precise error.
  if (!config_->pins.empty()) {
    uint8_t digest[32];
    mbedtls_sha256(leaf.pk_raw.p, leaf.pk_raw.len, digest, 0);
    bool pinned = false;
    for (const auto& pin : config_->pins)
      pinned = pinned || std::memcmp(pin.data(), digest, 32) == 0;
    if (!pinned) {
      // A pin is an explicit demand: it fails the handshake whatever the
      // verification mode (drive_handshake), as curl -k --pinnedpubkey does.
      pin_rejected_ = true;
      *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
      custom_error_ = Error(ErrorCode::public_key_pin_mismatch, Stage::certificate,
                            "the server's public key matches none of the pinned keys");
    }
  }
  if (config_->identity_check && custom_error_.ok()) {
    Error verdict = config_->identity_check(server_name_, describe_certificate(leaf));
    if (verdict) {
      *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
      custom_error_ = verdict.code() == ErrorCode::none
                          ? Error(ErrorCode::identity_rejected, Stage::certificate,
                                  "the identity check rejected the certificate")
                          : verdict;
    }
  }
}

Error Engine::verification_failure(uint32_t flags) const {
  // Chain problems and a real name mismatch come first, as in Node, where
  // checkServerIdentity only runs on a verified chain.
  uint32_t chain_flags = flags;
  if (!custom_error_.ok() && !name_mismatch_) chain_flags &= ~MBEDTLS_X509_BADCERT_CN_MISMATCH;
  if (verifier_rejected_) chain_flags &= ~kRejectedByVerifier;
  if (chain_flags != 0 || custom_error_.ok()) {
    return verification_error(chain_flags != 0 ? chain_flags : flags, chain_, server_name_);
  }
  return custom_error_;
}

int psk_callback(void* state, mbedtls_ssl_context* ssl, const unsigned char* identity,
                 size_t length) {
  const auto* config = static_cast<const ConfigState*>(state);
  const std::string_view name(reinterpret_cast<const char*>(identity), length);
  std::optional<std::vector<uint8_t>> looked_up = config->psk_lookup(name);
  if (!looked_up || looked_up->empty()) return -1;  // unknown identity
  const SecretBytes key{ByteView(*looked_up)};      // mbedTLS keeps its own copy
  secure_wipe(looked_up->data(), looked_up->size());
  if (mbedtls_ssl_set_hs_psk(ssl, key.data(), key.size()) != 0) return -1;
  auto* engine = static_cast<Engine*>(mbedtls_ssl_get_user_data_p(ssl));
  engine->info_.psk_identity.assign(name);
  return 0;
}

int server_name_callback(void*, mbedtls_ssl_context* ssl, const unsigned char* name,
                         size_t length) {
  auto* engine = static_cast<Engine*>(mbedtls_ssl_get_user_data_p(ssl));
  engine->info_.server_name.assign(reinterpret_cast<const char*>(name), length);
  return 0;
}

void Engine::Inbound::on_handshake_message(uint8_t type, ByteView body, bool truncated) {
  Engine& e = *engine;
  e.trace(TraceEntry::Direction::received, TraceEntry::Kind::handshake_message, type, 0,
          body.size());
  if (!e.first_message_seen_) e.first_message_type_ = type;
  e.first_message_seen_ = true;
  e.consecutive_warnings_ = 0;
  if (!e.is_server()) {
    e.on_server_message(type, body, truncated);
    if (type == kNewSessionTicket) e.info_.ticket_received = true;  // TLS 1.2, in the clear
  } else if (type == kClientKeyExchange && !truncated) {
    e.check_peer_key_exchange(type, body);
  } else if (type == kClientHello) {
    set_call_client_hello(&e.client_hello_);  // mbedTLS parses it (and its ticket) next
    if (e.hello_preparsed_) {
      e.hello_preparsed_ = false;  // the replay of the ClientHello read before setup
      e.note_client_offers();
      return;
    }
    e.client_hello_ = parse_client_hello(body);
    e.note_client_offers();
    e.client_hello_.complete = e.client_hello_.parsed && !truncated;
    // Too large to inspect fully: mbedTLS will judge it; we just cannot read SNI.
    if (truncated) e.client_hello_.parsed = true;
  }
  e.apply_guard(check_inbound_message(e.guards_, e.role_, type, body,
                                      e.inbound_.record_bytes_after_message()));
  note_inbound_message(e.guards_, e.role_, type, body);
}

void Engine::Inbound::on_plaintext_alert(uint8_t level, uint8_t description) {
  engine->trace(TraceEntry::Direction::received, TraceEntry::Kind::alert, level, description, 2);
  if (level == MBEDTLS_SSL_ALERT_LEVEL_FATAL) {
    engine->plaintext_fatal_alert_received_ = true;
    engine->plaintext_fatal_alert_code_ = description;
  }
  // Warnings during the handshake; after it, alerts are encrypted and seen
  // in pump(). A violation fails once mbedTLS returns (pump()).
  if (level == MBEDTLS_SSL_ALERT_LEVEL_WARNING && description != 0 && !engine->handshake_done_) {
    engine->note_warning_alert(description);
  }
}

void Engine::Inbound::on_change_cipher_spec(uint8_t value) {
  // RFC 8446 5: the only ChangeCipherSpec is the single byte 1, and only
  // during the handshake (TLS 1.3 middlebox compatibility).
  Engine& e = *engine;
  if (value != 1 || (e.handshake_done_ && e.server_hello_.tls13)) {
    e.inbound_verdict_ = HeaderVerdict::bad_change_cipher_spec;
  }
}

size_t Engine::inbound_protected_limit() const noexcept {
  const CipherSuite* suite = find_cipher_suite(server_hello_.cipher_suite);
  if (server_hello_.tls13) {
    // RFC 8446 5.2/5.4: the inner plaintext, padding included, is at most
    // 2^14 + 1 bytes; judged before mbedTLS strips the padding.
    const bool short_tag = server_hello_.cipher_suite == 0x1305;  // TLS_AES_128_CCM_8_SHA256
    return 16384 + 1 + (short_tag ? 8 : 16);
  }
  // RFC 5246 6.2.3: CBC records may carry up to 2048 bytes of overhead.
  if (suite != nullptr && std::strstr(suite->iana_name, "_CBC_") != nullptr) {
    return kMaxCbcCiphertextRecord;
  }
  return kMaxCiphertextRecord;
}

void Engine::Inbound::on_record(const RecordHeader& header) {
  engine->trace(TraceEntry::Direction::received, TraceEntry::Kind::record, header.type, 0,
                header.length, engine->inbound_.encrypted(header.type));
}

void Engine::trace(TraceEntry::Direction direction, TraceEntry::Kind kind, uint8_t a, uint8_t b,
                   size_t length, bool encrypted) {
  if (!config_->trace) return;
  // ClientHello records held for SNI are replayed into mbedTLS: trace them once.
  if (direction == TraceEntry::Direction::received && !deferred_setup_ &&
      (replay_used_ < replay_.size() || feed_used_ < replay_feed_end_)) {
    return;
  }
  TraceEntry entry;
  entry.direction = direction;
  entry.kind = kind;
  entry.length = length;
  entry.encrypted = encrypted;
  if (kind == TraceEntry::Kind::record) entry.content_type = a;
  if (kind == TraceEntry::Kind::handshake_message) {
    entry.content_type = kHandshake;
    entry.handshake_type = a;
  }
  if (kind == TraceEntry::Kind::alert) {
    entry.content_type = kAlert;
    entry.alert_level = a;
    entry.alert = b;
  }
  config_->trace(entry);
}

void Engine::Outbound::on_record(const RecordHeader& header) {
  engine->trace(TraceEntry::Direction::sent, TraceEntry::Kind::record, header.type, 0,
                header.length, engine->outbound_.encrypted(header.type));
  // TLS 1.2 alerts keep their outer type. A protected TLS 1.3 alert is
  // padded (mbedTLS pads the 3-byte inner plaintext to 16 bytes) and then
  // tagged; nothing else that short goes out in a failing step (the flag is
  // reset before each handshake step), so its length identifies it.
  if (header.type == kChangeCipherSpec) engine->change_cipher_spec_sent_ = true;
  const size_t tag = engine->server_hello_.cipher_suite == 0x1305 ? 8 : 16;
  if (header.type == kAlert || (engine->server_hello_.tls13 && header.type == kApplicationData &&
                                header.length == kTls13AlertPaddedLength + tag)) {
    engine->alert_record_sent_ = true;
  }
}

void Engine::Outbound::on_handshake_message(uint8_t type, ByteView body, bool truncated) {
  Engine& e = *engine;
  e.trace(TraceEntry::Direction::sent, TraceEntry::Kind::handshake_message, type, 0, body.size());
  note_outbound_message(e.guards_, e.role_, type, body);
  if (e.is_server()) e.on_server_message(type, body, truncated);
}

// The server's plaintext handshake messages, seen inbound on a client and
// outbound on a server: what info() reports about the negotiation.
void Engine::on_server_message(uint8_t type, ByteView body, bool truncated) {
  if (type == kServerHello && !truncated) on_server_hello(body);
  if (type == kServerKeyExchange) {
    const CipherSuite* suite = find_cipher_suite(server_hello_.cipher_suite);
    const bool psk = suite != nullptr && std::strstr(suite->iana_name, "_PSK_") != nullptr;
    tls12_group_ = parse_server_key_exchange_group(body, psk);
    const uint16_t scheme = psk ? 0 : parse_server_key_exchange_signature_scheme(body);
    if (!is_server()) peer_signature_scheme_ = scheme;
    if (!is_server() && !server_hello_.tls13 && scheme >= 0x0804 && scheme <= 0x0806 &&
        config_->max_version == TlsVersion::tls1_3) {
      // rsa_pss_rsae_*: RFC 8446 4.2.3 allows it in TLS 1.2, and a client
      // that offers TLS 1.3 offers it (mbedTLS writes its whole list then;
      // a TLS 1.2-only ClientHello leaves RSA-PSS out, and mbedTLS checks
      // against the Config's list, so only the former may accept it). The
      // message is read inside the step that parses it (its record arrived
      // now) or before it (packed with an earlier one): drive_handshake().
      tls12_pss_server_key_exchange_ = true;
      if (handshake_state(ssl_) == MBEDTLS_SSL_SERVER_KEY_EXCHANGE) accept_tls12_rsa_pss(true);
    }
  }
  if (type == kServerHelloDone) saw_server_hello_done_ = true;
  if (!is_server() && !truncated) check_peer_key_exchange(type, body);  // after the facts above
}

void Engine::Outbound::on_plaintext_alert(uint8_t level, uint8_t description) {
  engine->trace(TraceEntry::Direction::sent, TraceEntry::Kind::alert, level, description, 2);
  engine->plaintext_alert_sent_ = true;
  engine->plaintext_alert_code_ = description;
}

void Engine::on_server_hello(ByteView body) {
  ServerHelloFacts facts = parse_server_hello(body);
  if (!facts.parsed) return;
  server_hello_ = facts;
  if (facts.hello_retry_request) saw_hello_retry_ = true;
  // RFC 8446 5.2: after it every handshake record is protected (outer type
  // application_data); mbedTLS 3.6 read a plaintext one.
  if (facts.tls13 && !facts.hello_retry_request) tls13_records_protected_ = true;
  if (!is_server() && facts.hello_retry_request && facts.cookie && !facts.cookie_malformed) {
    // Seen as its last byte reaches mbedTLS, before mbedTLS parses it: RFC
    // 8446 4.2.2 has us echo the cookie, which mbedTLS 3.6 would refuse.
    sanstls_accept_hello_retry_cookie(&ssl_);
  }
  if (!is_server() && facts.hello_retry_request) {
    sanstls_retry_without_other_hash_ticket(&ssl_, facts.cipher_suite);
  }
  inbound_.set_tls13(facts.tls13);
  outbound_.set_tls13(facts.tls13);
  if (is_server() && facts.tls13 && !facts.hello_retry_request &&
      config_->verification == PeerVerification::required) {
    // mbedTLS 3.6 would reject a bad client certificate under the server's
    // handshake keys, which the client (already on application keys) cannot
    // read. Verify optionally and reject once the handshake is over instead.
#if defined(MBEDTLS_X509_CRT_PARSE_C)
    mbedtls_ssl_set_hs_authmode(&ssl_, MBEDTLS_SSL_VERIFY_OPTIONAL);
#endif
    reject_unauthorized_after_handshake_ = true;
  }
}

// ---------------------------------------------------------------- the pump

int Engine::drive_handshake() {
  // mbedtls_ssl_handshake() is this loop; running it step by step lets us
  // act between a CertificateRequest and our Certificate.
  HandshakeGuardScope guard_scope(is_server() ? &guards_ : nullptr,
                                  &client_hello_.offers_extended_master_secret);
  while (!mbedtls_ssl_is_handshake_over(&ssl_)) {
    if (certificate_requested_ && !certificate_chosen_ && config_->client_certificate_selector &&
        handshake_state(ssl_) == MBEDTLS_SSL_CLIENT_CERTIFICATE) {
      choose_client_certificate();
    }
    // RFC 8446 4.4.4: alerts after the server's Finished use application keys.
    protect_output_with_application_keys(ssl_);
    alert_record_sent_ = false;                    // only the failing step's records tell
#if !defined(SANSTLS_NO_PROTECTED_MESSAGE_CHECKS)  // the psk firmware's size option
    if (server_hello_.tls13 && reads_protected_handshake_message(handshake_state(ssl_))) {
      const int refused = check_protected_handshake_message();
      if (refused != 0) return refused;
    }
#endif
#if defined(MBEDTLS_SSL_PROTO_TLS1_2)
    const int state_before = handshake_state(ssl_);  // a Finished step: see below
#endif
    // An RSA-PSS ServerKeyExchange read before its step (packed with the
    // ServerHello): the step runs with the TLS 1.3 signature table.
    const int ret =
        tls12_pss_server_key_exchange_ && handshake_state(ssl_) == MBEDTLS_SSL_SERVER_KEY_EXCHANGE
            ? tls12_client_step_with_tls13_signature_table(ssl_)
            : mbedtls_ssl_handshake_step(&ssl_);
    accept_tls12_rsa_pss(false);  // switched on inside a step (on_server_message)
    if (!original_hello_.empty()) restore_hello_transcript();
    if (last_handshake_type(ssl_) == kCertificateRequest) certificate_requested_ = true;
    if (ret == 0 && last_handshake_type(ssl_) == kCertificateVerify) {
      peer_signature_scheme_ = last_certificate_verify_scheme(ssl_);
    }
#if defined(MBEDTLS_SSL_PROTO_TLS1_2)
    const int peer_finished =
        is_server() ? MBEDTLS_SSL_CLIENT_FINISHED : MBEDTLS_SSL_SERVER_FINISHED;
    if (ret == 0 && !server_hello_.tls13 && state_before == peer_finished &&
        handshake_state(ssl_) != state_before && handshake_bytes_after_message(ssl_) > 0) {
      // RFC 5246 7.4.9 and 6.2.1: the Finished ends the peer's flight, so
      // nothing may follow it in its record; mbedTLS 3.6 kept the bytes
      // and read them as the next message (TLS 1.3: check_protected_message).
      send_alert(Alert::unexpected_message);
      fail(Error(ErrorCode::unexpected_message, Stage::handshake,
                 SANSTLS_ERROR_TEXT("unexpected message: data follows the Finished in its record"))
               .with_alert(Alert::unexpected_message, AlertDirection::sent));
      return MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE;  // failed: the error above is the one reported
    }
#endif
    if (ret == 0 && role_ == Role::client && !server_key_type_checked_ &&
        handshake_state(ssl_) > MBEDTLS_SSL_SERVER_CERTIFICATE &&
        !check_server_key_matches_suite()) {
      return MBEDTLS_ERR_SSL_BAD_CERTIFICATE;
    }
    if (ret == 0 && role_ == Role::client && !server_key_usage_checked_ &&
        !check_server_key_usage()) {
      return MBEDTLS_ERR_SSL_BAD_CERTIFICATE;
    }
    if (pin_rejected_ && error_.ok() && config_->verification != PeerVerification::required) {
      // mbedTLS lets an optional verification pass; a pin mismatch may not.
      send_alert(Alert::bad_certificate);
      fail(Error(custom_error_).with_alert(Alert::bad_certificate, AlertDirection::sent));
      return MBEDTLS_ERR_X509_CERT_VERIFY_FAILED;
    }
    if (ret != 0) return ret;
  }
  return 0;
}

// mbedTLS then checks the scheme was offered, that the certificate's key
// can do RSA-PSS and verifies the signature (salt as long as the hash, RFC
// 8446 4.2.3) with its own TLS 1.2 code; only the table lookup changes.
void Engine::accept_tls12_rsa_pss(bool on) {
  if (on == tls13_signature_table_on_) return;
  tls13_signature_table_on_ = on;
  use_tls13_signature_table(ssl_, on);
}

// The server's key signs the handshake (ECDHE in TLS 1.2, TLS 1.3): a leaf
// whose keyUsage leaves out digitalSignature may not (RFC 5280 4.2.1.3, RFC
// 8446 4.4.2.2). mbedTLS checks key usage only while verifying the chain,
// so a client that does not verify took such a certificate.
bool Engine::check_server_key_usage() {
#if !defined(MBEDTLS_X509_CRT_PARSE_C)
  server_key_usage_checked_ = true;
  return true;
#else
  const mbedtls_x509_crt* leaf = handshake_peer_certificate(ssl_);
  if (leaf == nullptr) return true;  // not yet (or never: PSK, resumption)
  server_key_usage_checked_ = true;
  if (mbedtls_x509_crt_check_key_usage(leaf, MBEDTLS_X509_KU_DIGITAL_SIGNATURE) == 0) return true;
  send_alert(Alert::unsupported_certificate);
  fail(Error(ErrorCode::invalid_purpose, Stage::certificate,
             "the server's certificate does not allow digital signatures (keyUsage)")
           .with_alert(Alert::unsupported_certificate, AlertDirection::sent));
  return false;
#endif
}

// TLS 1.2: an ECDHE_ECDSA suite needs an EC key in the server's
// certificate, an ECDHE_RSA suite an RSA key (RFC 5246 7.4.2, RFC 8422
// 5.3). mbedTLS 3.6 checks only that the key can verify the signature the
// server chose, so a server could pick ECDHE_RSA and sign with ECDSA.
bool Engine::check_server_key_matches_suite() {
  server_key_type_checked_ = true;
  if (server_hello_.tls13) return true;
#if !defined(MBEDTLS_X509_CRT_PARSE_C)
  return true;  // a PSK-only build: no server certificate to check
#else
  const CipherSuite* suite = find_cipher_suite(server_hello_.cipher_suite);
  const mbedtls_x509_crt* leaf = handshake_peer_certificate(ssl_);
  if (suite == nullptr || leaf == nullptr) return true;
  const bool wants_ecdsa = std::strstr(suite->iana_name, "_ECDSA_") != nullptr;
  const bool wants_rsa = std::strstr(suite->iana_name, "_ECDHE_RSA_") != nullptr;
  const bool has_ec = mbedtls_pk_can_do(&leaf->pk, MBEDTLS_PK_ECDSA) != 0;
  const bool has_rsa = mbedtls_pk_can_do(&leaf->pk, MBEDTLS_PK_RSA) != 0;
  if ((!wants_ecdsa || has_ec) && (!wants_rsa || has_rsa)) return true;
  send_alert(Alert::illegal_parameter);
  fail(Error(ErrorCode::illegal_parameter, Stage::handshake,
             wants_ecdsa ? "illegal parameter: the server chose an ECDSA cipher suite for a "
                           "certificate without an EC key"
                         : "illegal parameter: the server chose an RSA cipher suite for a "
                           "certificate without an RSA key")
           .with_alert(Alert::illegal_parameter, AlertDirection::sent));
  return false;
#endif
}

// The TLS 1.3 handshake states whose step reads a protected message from
// the peer (not the server's EndOfEarlyData state: early data comes there).
bool Engine::reads_protected_handshake_message(int state) const {
  if (is_server()) {
    return state == MBEDTLS_SSL_CLIENT_CERTIFICATE ||
           state == MBEDTLS_SSL_CLIENT_CERTIFICATE_VERIFY || state == MBEDTLS_SSL_CLIENT_FINISHED;
  }
  return state == MBEDTLS_SSL_ENCRYPTED_EXTENSIONS || state == MBEDTLS_SSL_CERTIFICATE_REQUEST ||
         state == MBEDTLS_SSL_SERVER_CERTIFICATE || state == MBEDTLS_SSL_CERTIFICATE_VERIFY ||
         state == MBEDTLS_SSL_SERVER_FINISHED;
}

// mbedTLS parses a protected handshake message in the step that decrypts
// it, so the engine reads it ahead (peek_next_message) and judges it first:
// check_protected_message() (advisory_guards.cpp) and the signature scheme.
int Engine::check_protected_handshake_message() {
  int type = 0;
  ByteView message;
  size_t bytes_after = 0;
  const int ret = peek_next_message(ssl_, &type, &message, &bytes_after);
  if (ret != 0) return ret;
  if (type != MBEDTLS_SSL_MSG_HANDSHAKE || message.size() < 4) return 0;  // the step refuses it
  if (apply_guard(
          check_protected_message(guards_, role_, message[0], message.skip(4), bytes_after))) {
    return MBEDTLS_ERR_SSL_DECODE_ERROR;  // failed: the guard's error is the one reported
  }
  if (message[0] == kCertificateVerify && message.size() >= 6) {
    return check_certificate_verify_scheme(static_cast<uint16_t>((message[4] << 8) | message[5]));
  }
  return 0;
}

// RFC 8446 4.4.3 and 4.2.3: a TLS 1.3 CertificateVerify signs with a scheme
// we offered, never RSA PKCS#1 v1.5, SHA-1 or SHA-224, and one that suits the
// certificate's key (an ECDSA scheme names the key's curve). mbedTLS 3.6
// checks only that we offered it (our list has PKCS#1 v1.5 for TLS 1.2) and
// the key type, and refuses with decrypt_error, the alert for a signature
// that does not verify; the scheme is an illegal parameter (BoringSSL,
// OpenSSL).
int Engine::check_certificate_verify_scheme(uint16_t scheme) {
#if !defined(MBEDTLS_X509_CRT_PARSE_C)
  (void)scheme;
  return 0;
#else
  static constexpr uint16_t kTls13Schemes[] = {0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806};
  bool tls13_scheme = false;
  for (uint16_t allowed : kTls13Schemes) tls13_scheme = tls13_scheme || scheme == allowed;
  bool offered = config_->sig_algs.empty();  // mbedTLS's defaults: all of the above
  for (uint16_t ours : config_->sig_algs) offered = offered || (ours != 0 && ours == scheme);
  const mbedtls_x509_crt* leaf = handshake_peer_certificate(ssl_);
  const char* problem = nullptr;
  if (!tls13_scheme) {
    problem = SANSTLS_ERROR_TEXT(
        "illegal parameter: the peer's TLS 1.3 CertificateVerify uses a signature scheme "
        "TLS 1.3 forbids (RSA PKCS#1 v1.5, SHA-1 or SHA-224) or we do not support");
  } else if (!offered) {
    problem = SANSTLS_ERROR_TEXT(
        "illegal parameter: the peer's CertificateVerify uses a signature scheme we did not "
        "offer");
  } else if (leaf != nullptr && !tls13_scheme_fits_key(scheme, leaf->pk)) {
    problem = SANSTLS_ERROR_TEXT(
        "illegal parameter: the peer's CertificateVerify scheme does not suit its "
        "certificate's key (TLS 1.3: an ECDSA scheme names the key's curve)");
  }
  if (problem == nullptr) return 0;
  send_alert(Alert::illegal_parameter);
  fail(Error(ErrorCode::illegal_parameter, Stage::handshake, problem)
           .with_alert(Alert::illegal_parameter, AlertDirection::sent));
  return MBEDTLS_ERR_SSL_ILLEGAL_PARAMETER;
#endif
}

// The peer's ECDHE public value, before mbedTLS uses it (RFC 8446 4.2.8.2;
// RFC 8422 5.1.2, 5.4: we offer uncompressed points only). mbedTLS 3.6
// took compressed points in TLS 1.2 and answered a bad TLS 1.3 share with
// handshake_failure; a TLS 1.3 ServerHello with neither a key share nor a
// PSK with handshake_failure too (RFC 8446 9.2: missing_extension).
void Engine::check_peer_key_exchange(uint8_t type, ByteView body) {
  GuardVerdict verdict;
  const ServerHelloFacts& hello = server_hello_;
  if (type == kServerHello && hello.parsed && hello.tls13 && !hello.hello_retry_request) {
    if (hello.key_share_group == 0 && !hello.pre_shared_key) {
      verdict =
          refusal(ErrorCode::illegal_parameter, Alert::missing_extension,
                  SANSTLS_ERROR_TEXT("missing extension: the TLS 1.3 ServerHello has neither a key "
                                     "share nor a pre-shared key"));
    } else if (hello.key_share_group != 0 &&
               !valid_key_share(hello.key_share_group, ByteView(hello.key_share_key))) {
      verdict =
          refusal(ErrorCode::illegal_parameter, Alert::illegal_parameter,
                  SANSTLS_ERROR_TEXT("illegal parameter: the server's key_share is not a valid "
                                     "public key for its group"));
    }
  }
#if defined(MBEDTLS_SSL_PROTO_TLS1_2)
  const CipherSuite* suite = find_cipher_suite(hello.cipher_suite);
  if ((type == kServerKeyExchange || type == kClientKeyExchange) && !hello.tls13 &&
      suite != nullptr && std::strstr(suite->iana_name, "_ECDHE_") != nullptr) {
    const bool psk = std::strstr(suite->iana_name, "_PSK_") != nullptr;
    bool trailing = false;
    const ByteView point = type == kServerKeyExchange
                               ? parse_server_key_exchange_point(body, psk)
                               : parse_client_key_exchange_point(body, psk, &trailing);
    if (trailing) {
      // RFC 5246 7.4.7: the ClientKeyExchange is the point and nothing more
      // (mbedTLS 3.6 took the extra bytes, then failed the Finished).
      verdict = refusal(
          ErrorCode::decode_error, Alert::decode_error,
          SANSTLS_ERROR_TEXT("decode error: bytes follow the ClientKeyExchange's public key"));
    } else if (!point.empty() && !valid_key_share(tls12_group_, point)) {
      verdict =
          refusal(ErrorCode::illegal_parameter, Alert::illegal_parameter,
                  SANSTLS_ERROR_TEXT("illegal parameter: the peer's ECDHE public key is not an "
                                     "uncompressed point on the group's curve"));
    }
  }
#else
  (void)body;                                             // no TLS 1.2 in this build
#endif
  apply_guard(verdict);
}

void Engine::choose_client_certificate() {
  certificate_chosen_ = true;
  std::optional<Config> chosen = config_->client_certificate_selector(server_name_);
  chosen_certificate_ = chosen ? chosen->state_pointer() : nullptr;
  const bool usable = chosen_certificate_ != nullptr && !chosen_certificate_->identities.empty();
  use_key_cert_of(conf_override_, usable ? &chosen_certificate_->conf : nullptr);
}

bool Engine::output_has_room_for_record() const noexcept {
  return output_.free_space() >= kMaxRecordWireBytes;
}

void Engine::begin_backend_call() {
  alert_record_sent_ = false;
  plaintext_alert_sent_ = false;
  mark_pending_alert(ssl_);
}

void Engine::pump() {
  if (is_server() && deferred_setup_) {
    if (awaiting_config_ || !collect_client_hello()) return;
  }
  for (int guard = 0; guard < kPumpGuard && error_.ok(); ++guard) {
    if (!handshake_done_) {
      begin_backend_call();
      const int ret = drive_handshake();
      if (inbound_verdict_ != HeaderVerdict::ok) return fail_from_header(inbound_verdict_);
      if (warning_violation_ != 0) return fail_on_warning_alert();
      if (ret == 0) {
        on_handshake_complete();
        continue;
      }
      if (ret == MBEDTLS_ERR_SSL_WANT_READ) {
        blocked_on_output_ = false;
        if (mbedtls_ssl_check_pending(&ssl_)) continue;  // mbedTLS issue 9039
        return;
      }
      if (ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
        blocked_on_output_ = true;
        return;
      }
      if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
        on_session_ticket();
        continue;
      }
      if (ret == MBEDTLS_ERR_SSL_RECEIVED_EARLY_DATA) {
        receive_early_data();
        continue;
      }
      return fail_from_backend(ret);
    }
    if (!resend_.empty()) flush_resend();
    if (!finish_ticket_states()) return;  // advisory_guards.cpp
    if (read_closed_ || mbedtls_ssl_get_bytes_avail(&ssl_) > 0) return;
    // After the handshake mbedTLS may answer a record (an alert, a
    // renegotiation refusal); keep room for one so it never sees WANT_WRITE.
    if (!output_has_room_for_record()) {
      blocked_on_output_ = true;
      return;
    }
    blocked_on_output_ = false;
    const uint64_t records_before = inbound_.records_completed();
    const size_t fed_before = feed_used_;
    begin_backend_call();
    unsigned char unused = 0;
    one_record_per_call_ = true;
    records_at_call_start_ = records_before;
    const int ret = mbedtls_ssl_read(&ssl_, &unused, 0);  // decrypt, but leave plaintext in place
    one_record_per_call_ = false;
    for (; peer_renegotiations_ > 0; --peer_renegotiations_) {
      if (!note_peer_renegotiation()) return;
    }
    if (!renegotiating(ssl_)) {
      renegotiation_by_us_ = false;
      // Each renegotiation derives a master secret; once it is over, say so.
      for (; renegotiation_secrets_ > 0; --renegotiation_secrets_) {
        push_event(EventKind::renegotiated);
      }
    }
    if (inbound_verdict_ != HeaderVerdict::ok) return fail_from_header(inbound_verdict_);
    if (warning_violation_ != 0) return fail_on_warning_alert();
    const bool progressed =
        inbound_.records_completed() != records_before || feed_used_ != fed_before;
    if (ret >= 0) {
      if (mbedtls_ssl_get_bytes_avail(&ssl_) > 0) consecutive_warnings_ = 0;
      if (mbedtls_ssl_get_bytes_avail(&ssl_) > 0 || !progressed) return;
      continue;  // an empty record was skipped
    }
    if (ret == MBEDTLS_ERR_SSL_WANT_READ) {
      uint8_t description = 0;
      const int level =
          inbound_.records_completed() != records_before ? last_record_alert_level(ssl_) : -1;
      if (level != -1 && level != MBEDTLS_SSL_ALERT_LEVEL_WARNING &&
          level != MBEDTLS_SSL_ALERT_LEVEL_FATAL) {
        // An alert level that is neither warning nor fatal is an illegal
        // value (RFC 8446 6, RFC 5246 7.2); mbedTLS would ignore the alert.
        send_alert(Alert::illegal_parameter);
        return fail(Error(ErrorCode::illegal_parameter, Stage::record,
                          "illegal parameter: the peer sent an alert whose level is "
                          "neither warning nor fatal")
                        .with_alert(Alert::illegal_parameter, AlertDirection::sent));
      }
      if (inbound_.records_completed() != records_before && server_hello_.tls13 &&
          last_record_is_protected_change_cipher_spec(ssl_)) {
        // RFC 8446 5: a protected ChangeCipherSpec is unexpected_message;
        // mbedTLS 3.6 ignored it as it ignores the plaintext one.
        send_alert(Alert::unexpected_message);
        return fail(Error(ErrorCode::unexpected_message, Stage::record,
                          "unexpected message: a protected ChangeCipherSpec")
                        .with_alert(Alert::unexpected_message, AlertDirection::sent));
      }
      if (inbound_.records_completed() != records_before &&
          last_record_is_warning_alert(ssl_, &description)) {
        if (!note_warning_alert(description)) return fail_on_warning_alert();
        if (description == static_cast<uint8_t>(Alert::no_renegotiation) && renegotiation_by_us_ &&
            renegotiating(ssl_)) {
          // mbedTLS would wait for a ServerHello that never comes.
          return fail(Error(ErrorCode::renegotiation_refused, Stage::record,
                            "the peer refused to renegotiate (no_renegotiation)")
                          .with_alert(Alert::no_renegotiation, AlertDirection::received));
        }
      }
      if (mbedtls_ssl_check_pending(&ssl_) || inbound_.records_completed() != records_before) {
        continue;
      }
      return;
    }
    if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
      on_session_ticket();
      continue;
    }
    if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
      read_closed_ = true;
      push_event(EventKind::peer_closed);
      return;
    }
    if (ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
      // A renegotiation flight larger than the reserved room: resumed by consume_output().
      blocked_on_output_ = true;
      return;
    }
    return fail_from_backend(ret);
  }
  // Each turn either returns or makes progress; reaching the guard means
  // mbedTLS loops without either. Fail loudly rather than stall silently.
  if (error_.ok()) {
    fail(Error(ErrorCode::internal_error, Stage::internal,
               "internal error: the TLS engine made no progress (pump guard "
               "reached)"));
  }
}

void Engine::receive_early_data() {
#if defined(MBEDTLS_SSL_EARLY_DATA) && defined(MBEDTLS_SSL_SRV_C)
  uint8_t buffer[4096];
  for (;;) {
    const int n = mbedtls_ssl_read_early_data(&ssl_, buffer, sizeof buffer);
    if (n <= 0) break;
    // mbedTLS enforces max_early_data_size, which bounds this buffer.
    early_received_.insert(early_received_.end(), buffer, buffer + n);
  }
#endif
  info_.early_data.accepted = true;
  push_event(EventKind::early_data);
}

void Engine::note_client_offers() {
  // Sticky: a second ClientHello (after HRR) never carries early_data.
  if (client_hello_.offers_early_data) client_offered_early_data_ = true;
  if (client_hello_.offers_psk) client_offered_psk_ = true;
}

EarlyDataReason Engine::early_data_reason() {
  if (config_->early_data == 0) return EarlyDataReason::disabled;
  if (info_.version != TlsVersion::tls1_3) return EarlyDataReason::protocol_version;
  if (role_ == Role::server) {
    // BoringSSL's order: the session first, then the client's offer.
    if (config_->ticket_count > 0) info_.early_data.ticket_max_size = config_->early_data;
    if (!client_offered_psk_) return EarlyDataReason::no_session_offered;
    if (!info_.session_reused) return EarlyDataReason::session_not_resumed;
    if (!client_offered_early_data_) return EarlyDataReason::peer_declined;
    if (saw_hello_retry_) return EarlyDataReason::hello_retry_request;
    // Offered on a resumed ticket: accepted, or the ticket allows none or was spent.
    return info_.early_data.accepted ? EarlyDataReason::accepted
                                     : EarlyDataReason::unsupported_for_session;
  }
  if (!offered_saved_session_) return EarlyDataReason::no_session_offered;
  if (info_.session_reused) info_.early_data.ticket_max_size = resumed_.max_early_data;
  if (resumed_.max_early_data == 0) return EarlyDataReason::unsupported_for_session;
  if (saw_hello_retry_) return EarlyDataReason::hello_retry_request;
  if (!info_.session_reused) return EarlyDataReason::session_not_resumed;
#if defined(MBEDTLS_SSL_EARLY_DATA)
  if (mbedtls_ssl_get_early_data_status(&ssl_) == MBEDTLS_SSL_EARLY_DATA_STATUS_ACCEPTED) {
    return EarlyDataReason::accepted;
  }
#endif
  return EarlyDataReason::peer_declined;
}

size_t Engine::read_early_data(MutableByteView out) {
  const size_t n = out.size() < early_received_.size() ? out.size() : early_received_.size();
  if (n == 0) return 0;
  std::memcpy(out.data(), early_received_.data(), n);
  early_received_.erase(early_received_.begin(),
                        early_received_.begin() + static_cast<std::ptrdiff_t>(n));
  return n;
}

bool Engine::note_peer_renegotiation() {
  // Node's limit: 3 peer-initiated renegotiations in 10 minutes.
  constexpr int64_t kWindowMs = 10 * 60 * 1000;
  const int64_t now = config_->clock->now_ms();
  size_t recent = 0;
  for (int64_t at : renegotiations_) {
    if (at != 0 && now - at < kWindowMs) ++recent;
  }
  if (recent >= renegotiations_.size()) {
    send_alert(Alert::no_renegotiation);
    fail(Error(ErrorCode::renegotiation_limit, Stage::record,
               "TLS session renegotiation attack detected: more than 3 renegotiations in 10 "
               "minutes")
             .with_alert(Alert::no_renegotiation, AlertDirection::sent));
    return false;
  }
  renegotiations_[renegotiation_count_++ % renegotiations_.size()] = now;
  return true;
}

bool Engine::renegotiate() {
  if (!handshake_done_ || !error_.ok() || !config_->renegotiation ||
      info_.version != TlsVersion::tls1_2 || !output_has_room_for_record()) {
    return false;
  }
  // mbedTLS cannot start a renegotiation while it holds plaintext for the
  // application (and read() would then run the handshake first): read it first.
  if (mbedtls_ssl_get_bytes_avail(&ssl_) > 0 || write_closed_ || read_closed_) return false;
  CallScope scope(account_, config_->clock, config_->random, &info_.server_name);
  if (!restore_record_buffers()) return false;
  begin_backend_call();
#if defined(MBEDTLS_SSL_RENEGOTIATION)
  const int ret = mbedtls_ssl_renegotiate(&ssl_);
#else
  const int ret = MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE;    // unreachable: build() refuses it
#endif
  if (ret != 0 && ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
    fail_from_backend(ret);
    return false;
  }
  renegotiation_by_us_ = true;
  return true;
}

size_t Engine::write_early_data(ByteView data) {
  if (role_ != Role::client || handshake_done_ || !error_.ok() || write_closed_ ||
      config_->early_data == 0) {
    return 0;
  }
  CallScope scope(account_, config_->clock, config_->random, &info_.server_name);
  size_t accepted = 0;
  while (accepted < data.size() && output_has_room_for_record()) {
    const ByteView rest = data.skip(accepted).first(max_fragment_);
    begin_backend_call();
#if defined(MBEDTLS_SSL_EARLY_DATA)
    const int ret = mbedtls_ssl_write_early_data(&ssl_, rest.data(), rest.size());
#else
    const int ret = MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE;  // unreachable: build() refuses it
#endif
    if (ret > 0) {
      early_sent_.insert(early_sent_.end(), rest.data(), rest.data() + ret);
      accepted += static_cast<size_t>(ret);
      continue;
    }
    if (ret == MBEDTLS_ERR_SSL_CANNOT_WRITE_EARLY_DATA || ret == MBEDTLS_ERR_SSL_WANT_READ ||
        ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
      break;
    }
    fail_from_backend(ret);
    break;
  }
  info_.early_data.sent += accepted;
  return accepted;
}

void Engine::flush_resend() {
  while (!resend_.empty() && output_has_room_for_record() && error_.ok()) {
    const size_t chunk = resend_.size() < max_fragment_ ? resend_.size() : max_fragment_;
    begin_backend_call();
    const int ret = mbedtls_ssl_write(&ssl_, resend_.data(), chunk);
    if (ret <= 0) {
      fail_from_backend(ret == 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : ret);
      return;
    }
    resend_.erase(resend_.begin(), resend_.begin() + ret);
  }
}

void Engine::on_session_ticket() {
  consecutive_warnings_ = 0;
  info_.ticket_received = true;
  capture_session();
  info_.early_data.ticket_max_size = saved_session_max_early_data(saved_session_);
  push_event(EventKind::session_ticket);
}

void Engine::on_handshake_complete() {
  handshake_done_ = true;
  const auto version = mbedtls_ssl_get_version_number(&ssl_);
  info_.version = version == MBEDTLS_SSL_VERSION_TLS1_3 ? TlsVersion::tls1_3 : TlsVersion::tls1_2;
  info_.protocol = version_name(info_.version);
  const auto suite_id = static_cast<uint16_t>(mbedtls_ssl_get_ciphersuite_id_from_ssl(&ssl_));
  if (const CipherSuite* suite = find_cipher_suite(suite_id)) {
    info_.cipher = CipherSuiteInfo{suite->id, suite->iana_name, suite->openssl_name};
  } else {
    info_.cipher = CipherSuiteInfo{suite_id, mbedtls_ssl_get_ciphersuite(&ssl_),
                                   mbedtls_ssl_get_ciphersuite(&ssl_)};
  }
  const uint16_t group_id =
      info_.version == TlsVersion::tls1_3 ? server_hello_.key_share_group : tls12_group_;
  const Group* group = find_group(group_id);
  info_.group = group != nullptr ? group->name : "";
  const char* alpn = mbedtls_ssl_get_alpn_protocol(&ssl_);
  info_.alpn_protocol = alpn != nullptr ? alpn : "";
  if (info_.version == TlsVersion::tls1_3) {
    // A pre_shared_key in TLS 1.3 is either a resumed ticket or an external PSK.
    if (role_ == Role::client && server_hello_.pre_shared_key && !offered_saved_session_) {
      info_.psk_identity = config_->psk_identity;
    }
    info_.session_reused = server_hello_.pre_shared_key && info_.psk_identity.empty();
  } else {
    info_.session_reused = !saw_server_hello_done_;
    const bool psk_suite = std::strstr(info_.cipher.standard_name, "_PSK_") != nullptr;
    if (psk_suite && role_ == Role::client) info_.psk_identity = config_->psk_identity;
  }
  info_.peer_certificates.clear();
#if defined(MBEDTLS_X509_CRT_PARSE_C)
  for (const mbedtls_x509_crt* crt = mbedtls_ssl_get_peer_cert(&ssl_);
       crt != nullptr && crt->raw.p != nullptr; crt = crt->next) {
    info_.peer_certificates.push_back(describe_certificate(*crt));
  }
#endif
  const uint32_t flags = mbedtls_ssl_get_verify_result(&ssl_);
  if (info_.session_reused && role_ == Role::client) {
    // The server proved itself in the handshake that created the session,
    // and its chain passed this Config's verification again at start().
    info_.authorized = resumed_authorized_;
    info_.authorization_error = resumed_authorization_error_;
    if (!resumed_.chain.empty()) {
      // mbedTLS's own session keeps the leaf at most; ours has the chain.
      info_.peer_certificates.clear();
#if defined(MBEDTLS_X509_CRT_PARSE_C)
      for (const std::vector<uint8_t>& der : resumed_.chain) {
        mbedtls_x509_crt crt;
        mbedtls_x509_crt_init(&crt);
        if (mbedtls_x509_crt_parse_der(&crt, der.data(), der.size()) == 0) {
          info_.peer_certificates.push_back(describe_certificate(crt));
        }
        mbedtls_x509_crt_free(&crt);
      }
#endif
    }
  } else if (info_.session_reused && is_server() &&
             config_->verification == PeerVerification::required) {
    // Tickets for such servers are only honoured when the client's
    // certificate verified when they were issued (sessions.cpp).
    info_.authorized = true;
    info_.authorization_error = Error();
  } else if (info_.peer_certificates.empty()) {
    info_.authorized = false;
    info_.authorization_error = Error(ErrorCode::peer_did_not_return_certificate,
                                      Stage::certificate, "peer did not return a certificate");
  } else if (flags == 0) {
    info_.authorized = true;
    info_.authorization_error = Error();
  } else {
    info_.authorized = false;
    info_.authorization_error = verification_failure(flags);
  }
  info_.early_data.reason = early_data_reason();
  info_.hello_retry_request = saw_hello_retry_;
  // A resumed handshake has no signature, whatever an earlier one had.
  const uint16_t signed_with = info_.session_reused ? 0 : peer_signature_scheme_;
  info_.peer_signature = SignatureSchemeInfo{signed_with, signature_scheme_name(signed_with)};
  info_.extended_master_secret =
      info_.version == TlsVersion::tls1_3 || server_hello_.extended_master_secret;
  const ByteView id = info_.version == TlsVersion::tls1_2 ? current_session_id(ssl_) : ByteView();
  info_.session_id.assign(id.begin(), id.end());
  peer_signature_scheme_ = 0;  // a renegotiation reports its own
  // Hello parsing is over: release its memory.
  inbound_.stop_tracking();
  outbound_.stop_tracking();
  client_hello_ = ClientHelloFacts();
  if (reject_unauthorized_after_handshake_ && !info_.authorized && !info_.session_reused) {
    const Alert alert = info_.peer_certificates.empty() ? Alert::certificate_required
                                                        : alert_for_verify_flags(flags);
    send_alert(alert);
    return fail(Error(info_.authorization_error).with_alert(alert, AlertDirection::sent));
  }
  if (info_.version == TlsVersion::tls1_2) capture_session();
  push_event(EventKind::handshake_complete);
  if (role_ == Role::client && info_.early_data.sent > 0) {
#if defined(MBEDTLS_SSL_EARLY_DATA)
    const bool accepted =
        mbedtls_ssl_get_early_data_status(&ssl_) == MBEDTLS_SSL_EARLY_DATA_STATUS_ACCEPTED;
#else
    const bool accepted = false;                          // nothing was sent: build() refuses early data
#endif
    if (accepted) {
      info_.early_data.accepted = true;
    } else {
      // Nothing is lost: the server never processed it, so it goes again as 1-RTT.
      resend_ = std::move(early_sent_);
      push_event(EventKind::early_data_rejected);
    }
    early_sent_.clear();
    early_sent_.shrink_to_fit();
  }
}

// ---------------------------------------------------------------- the API

size_t Engine::feed(ByteView ciphertext) {
  if (!error_.ok() || eof_ || ciphertext.empty()) return 0;
  // Data after the peer's close_notify is ignored (RFC 8446 6.1).
  if (read_closed_) return ciphertext.size();
  CallScope scope(account_, config_->clock, config_->random, &info_.server_name);
  if (!restore_record_buffers()) return 0;
  feed_ = ciphertext;
  feed_used_ = 0;
  pump();
  feed_ = ByteView();
  replay_feed_end_ = 0;
  return feed_used_;
}

void Engine::consume_output(size_t n) {
  output_.consume(n);
  if (!error_.ok()) return;
  CallScope scope(account_, config_->clock, config_->random, &info_.server_name);
  if (!restore_record_buffers()) return;
  if (close_pending_) queue_close_notify();
  // An abandoned handshake goes no further (close() before it completed).
  if (blocked_on_output_ && !(write_closed_ && !handshake_done_)) pump();
  if (!resend_.empty() && handshake_done_) flush_resend();
}

size_t Engine::read(MutableByteView out) {
  if (out.empty() || !handshake_done_ || mbedtls_ssl_get_bytes_avail(&ssl_) == 0) return 0;
  CallScope scope(account_, config_->clock, config_->random, &info_.server_name);
  if (!restore_record_buffers()) return 0;
  begin_backend_call();
  const int ret = mbedtls_ssl_read(&ssl_, out.data(), out.size());
  if (ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
    // A renegotiation step needs more output room: resumed by consume_output().
    blocked_on_output_ = true;
    return 0;
  }
  if (ret == MBEDTLS_ERR_SSL_WANT_READ && renegotiating(ssl_)) return 0;
  if (ret < 0) {
    fail_from_backend(ret);
    return 0;
  }
  if (mbedtls_ssl_get_bytes_avail(&ssl_) == 0 && mbedtls_ssl_check_pending(&ssl_)) pump();
  return static_cast<size_t>(ret);
}

size_t Engine::write(ByteView plaintext) {
  if (!error_.ok() || !handshake_done_ || write_closed_) return 0;
  if (!resend_.empty()) {
    CallScope scope(account_, config_->clock, config_->random, &info_.server_name);
    if (!restore_record_buffers()) return 0;
    flush_resend();  // rejected early data keeps its place in the stream
    if (!resend_.empty()) return 0;
  }
  CallScope scope(account_, config_->clock, config_->random, &info_.server_name);
  if (!restore_record_buffers()) return 0;
  if (!finish_ticket_states()) return 0;  // advisory_guards.cpp
  size_t accepted = 0;
  while (accepted < plaintext.size() && output_has_room_for_record()) {
    const ByteView rest = plaintext.skip(accepted).first(max_fragment_);
    begin_backend_call();
    const int ret = mbedtls_ssl_write(&ssl_, rest.data(), rest.size());
    if (ret > 0) {
      accepted += static_cast<size_t>(ret);
      continue;
    }
    // A renegotiation in progress holds writes until it completes.
    if (ret == MBEDTLS_ERR_SSL_WANT_READ && renegotiating(ssl_)) break;
    // A record's worth of room is reserved above, but a renegotiation flight
    // that mbedTLS continues here may need more: resumed by consume_output().
    if (ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
      blocked_on_output_ = true;
      break;
    }
    fail_from_backend(ret);
    break;
  }
  return accepted;
}

Readiness Engine::wants() const noexcept {
  Readiness r;
  r.has_output = output_.size() > 0;
  r.handshake_complete = handshake_done_;
  if (!error_.ok()) {
    r.read_closed = r.write_closed = r.closed = true;
    r.has_plaintext = handshake_done_ && mbedtls_ssl_get_bytes_avail(&ssl_) > 0;
    return r;
  }
  r.has_plaintext = handshake_done_ && mbedtls_ssl_get_bytes_avail(&ssl_) > 0;
  r.read_closed = read_closed_ || eof_;
  r.write_closed = write_closed_;
  r.can_write =
      handshake_done_ && !write_closed_ && output_has_room_for_record() && resend_.empty();
  r.awaiting_config = awaiting_config_;
  r.wants_input = !r.read_closed && !r.has_plaintext && !blocked_on_output_ && !awaiting_config_;
  // Every input is monotonic (close_wait_ is only ever cleared, and only set
  // together with write_closed_), so `closed` never goes back to false.
  r.closed = r.write_closed && (r.read_closed || !close_wait_);
  return r;
}

std::optional<Event> Engine::next_event() {
  if (event_count_ == 0) return std::nullopt;
  Event event = events_[event_head_];
  event_head_ = (event_head_ + 1) % kMaxEvents;
  --event_count_;
  return event;
}

void Engine::push_event(EventKind kind, Alert alert) {
  // Repeats (tickets, warning alerts) coalesce, so the queue stays bounded
  // whatever the peer sends. Warning alerts take at most kMaxWarningEvents
  // slots, so the state events (one slot per kind at most) always fit.
  size_t warnings = 0;
  for (size_t i = 0; i < event_count_; ++i) {
    Event& queued = events_[(event_head_ + i) % kMaxEvents];
    if (queued.kind == kind && queued.alert == alert) {
      ++queued.count;
      return;
    }
    if (queued.kind == EventKind::warning_alert) ++warnings;
  }
  if (kind == EventKind::warning_alert && warnings >= kMaxWarningEvents) {
    ++dropped_warnings_;  // a distinct warning beyond the bound; documented
    return;
  }
  if (event_count_ == kMaxEvents) return;  // unreachable: see the bound above
  events_[(event_head_ + event_count_) % kMaxEvents] = Event{kind, alert, 1};
  ++event_count_;
}

bool Engine::note_warning_alert(uint8_t description) {
  // RFC 8446 6: TLS 1.3 has no warning alerts but close_notify and
  // user_canceled; any other is an error alert whatever its level.
  const bool tls13 = handshake_done_ ? info_.version == TlsVersion::tls1_3 : server_hello_.tls13;
  if (tls13 && description != static_cast<uint8_t>(Alert::user_canceled)) {
    warning_violation_ = description;
    warning_flood_ = false;
    return false;
  }
  // Like OpenSSL (and so Node): a run of warning alerts with nothing else
  // between them is a denial of service, not a conversation.
  if (++consecutive_warnings_ >= kMaxConsecutiveWarnings) {
    warning_violation_ = description;
    warning_flood_ = true;
    return false;
  }
  push_event(EventKind::warning_alert, static_cast<Alert>(description));
  return true;
}

void Engine::fail_on_warning_alert() {
  const auto alert = static_cast<Alert>(warning_violation_);
  const Stage stage = handshake_done_ ? Stage::record : Stage::handshake;
  warning_violation_ = 0;
  if (warning_flood_) {
    char text[Error::kMessageCapacity];
    SANSTLS_FORMAT_ERROR_TEXT(
        text, "too many warning alerts: %d in a row (the last %s) with nothing between them",
        kMaxConsecutiveWarnings, alert_name(alert));
    send_alert(Alert::unexpected_message);
    return fail(Error(ErrorCode::unexpected_message, stage, text)
                    .with_alert(Alert::unexpected_message, AlertDirection::sent));
  }
  // RFC 8446 6 makes every alert but close_notify and user_canceled fatal
  // in TLS 1.3, so a peer that sends one as a warning sent a malformed
  // alert and may still be listening: answer decode_error (rustls,
  // BoringSSL), naming its alert in the message.
  char text[Error::kMessageCapacity];
  SANSTLS_FORMAT_ERROR_TEXT(
      text, "decode error: the peer sent alert %s (%u) as a warning, which TLS 1.3 forbids",
      alert_name(alert), static_cast<unsigned>(alert));
  send_alert(Alert::decode_error);
  fail(Error(ErrorCode::decode_error, stage, text)
           .with_alert(Alert::decode_error, AlertDirection::sent));
}

void Engine::close() {
  if (write_closed_ || !error_.ok()) return;
  write_closed_ = true;
  if (!handshake_done_) {
    // Abandoning a handshake ends both directions: nothing the peer sends
    // is processed any more (read_closed), so `closed` stays true.
    read_closed_ = true;
  } else if (config_->close_timeout_ms > 0 && !read_closed_) {
    // Asked for a bidirectional close: wait (bounded) for the peer's close_notify.
    close_wait_ = true;
    close_deadline_ = config_->clock->now_ms() + config_->close_timeout_ms;
  }
  CallScope scope(account_, config_->clock, config_->random, &info_.server_name);
  if (!restore_record_buffers()) return;
  queue_close_notify();
}

void Engine::queue_close_notify() {
  if (!restore_record_buffers()) return;
  if (!output_has_room_for_record()) {
    close_pending_ = true;
    return;
  }
  close_pending_ = false;
  // A warning alert works in every state (mbedtls_ssl_close_notify sends
  // nothing while a handshake or renegotiation runs). Before a handshake
  // completes it goes in the clear. A record mbedTLS could not queue yet
  // (WANT_WRITE) is flushed first, and then the alert has to be asked again.
  const bool flush_first = output_unflushed(ssl_);
  int ret = mbedtls_ssl_send_alert_message(&ssl_, MBEDTLS_SSL_ALERT_LEVEL_WARNING,
                                           MBEDTLS_SSL_ALERT_MSG_CLOSE_NOTIFY);
  if (ret == 0 && flush_first) {
    if (!output_has_room_for_record()) {
      close_pending_ = true;
      return;
    }
    ret = mbedtls_ssl_send_alert_message(&ssl_, MBEDTLS_SSL_ALERT_LEVEL_WARNING,
                                         MBEDTLS_SSL_ALERT_MSG_CLOSE_NOTIFY);
  }
  if (ret == MBEDTLS_ERR_SSL_WANT_WRITE) close_pending_ = true;
}

void Engine::transport_eof() {
  if (eof_ || !error_.ok()) return;
  eof_ = true;
  if (read_closed_) return;  // after close_notify: a clean end
  // After our close_notify, when we did not ask to wait for the peer's
  // (close_timeout 0), the transport's end is the expected end.
  if (write_closed_ && !close_wait_) return;
  if (!handshake_done_) {
    return fail(Error(ErrorCode::unexpected_eof, Stage::handshake,
                      "the transport ended during the handshake (socket hang up before the "
                      "secure connection was established)"));
  }
  fail(Error(ErrorCode::unexpected_eof, Stage::transport,
             "unexpected eof while reading: the transport ended without close_notify "
             "(possible truncation)"));
}

std::optional<int64_t> Engine::next_deadline_ms() const noexcept {
  if (!error_.ok()) return std::nullopt;
  // An abandoned handshake (close() before it completed) has no timer left.
  if (!handshake_done_ && handshake_deadline_ && !write_closed_) return handshake_deadline_;
  if (close_wait_ && !read_closed_ && !eof_) return close_deadline_;
  return std::nullopt;
}

void Engine::on_timer(int64_t now_ms) {
  if (!error_.ok()) return;
  if (!handshake_done_ && handshake_deadline_ && !write_closed_ && now_ms >= *handshake_deadline_) {
    char text[Error::kMessageCapacity];
    SANSTLS_FORMAT_ERROR_TEXT(text, "the TLS handshake did not complete within %u ms",
                              static_cast<unsigned>(config_->handshake_timeout_ms));
    return fail(Error(ErrorCode::handshake_timeout, Stage::handshake, text));
  }
  if (close_wait_ && !read_closed_ && close_deadline_ && now_ms >= *close_deadline_) {
    // We stop waiting for the peer's close_notify; reading is over.
    read_closed_ = true;
    close_wait_ = false;
    close_deadline_.reset();
  }
}

bool Engine::set_max_send_fragment(size_t bytes) {
  if (bytes < 512 || bytes > 16384) return false;
  max_fragment_ = bytes;
  return true;
}

Result<std::vector<uint8_t>> Engine::export_keying_material(std::string_view label,
                                                            ByteView context, size_t length) const {
  if (!handshake_done_ || !error_.ok()) {
    return Error(ErrorCode::export_unavailable, Stage::config,
                 "keying material can be exported only after a successful handshake");
  }
  if (length == 0 || length > 16 * 1024) {
    return Error(ErrorCode::invalid_argument, Stage::config,
                 "exported keying material is 1 to 16384 bytes");
  }
  std::vector<uint8_t> out(length);
  CallScope scope(account_, config_->clock, config_->random, &info_.server_name);
  if (info_.version == TlsVersion::tls1_2 && tls12_exporter_.prf != MBEDTLS_SSL_TLS_PRF_NONE) {
    // RFC 5705 4: PRF(master_secret, label, client_random + server_random
    // [+ context length + context]) with the connection's PRF.
    if (context.size() > 0xffff) {
      return Error(ErrorCode::invalid_argument, Stage::config,
                   "an exporter context is at most 65535 bytes");
    }
    std::vector<uint8_t> seed(tls12_exporter_.randoms, tls12_exporter_.randoms + 64);
    if (!context.empty()) {
      seed.push_back(static_cast<uint8_t>(context.size() >> 8));
      seed.push_back(static_cast<uint8_t>(context.size()));
      seed.insert(seed.end(), context.begin(), context.end());
    }
    const std::string label_text(label);  // mbedTLS takes a C string
    const int ret = mbedtls_ssl_tls_prf(tls12_exporter_.prf, tls12_exporter_.master_secret,
                                        sizeof tls12_exporter_.master_secret, label_text.c_str(),
                                        seed.data(), seed.size(), out.data(), out.size());
    if (ret != 0) {
      return Error(ErrorCode::export_unavailable, Stage::config,
                   "mbedTLS cannot export keying material for this connection")
          .with_backend_code(ret);
    }
    return out;
  }
  // mbedTLS takes a non-const context here but only reads it.
  const int ret = mbedtls_ssl_export_keying_material(
      const_cast<mbedtls_ssl_context*>(&ssl_), out.data(), out.size(), label.data(), label.size(),
      context.data(), context.size(), context.empty() ? 0 : 1);
  if (ret != 0) {
    return Error(ErrorCode::export_unavailable, Stage::config,
                 "mbedTLS cannot export keying material for this connection")
        .with_backend_code(ret);
  }
  return out;
}

size_t Engine::release_buffers() noexcept {
  if (!error_.ok() || !handshake_done_ || deferred_setup_) return 0;
  // mbedTLS's blocks carry their account: freeing needs no CallScope.
  return park_record_buffers(ssl_, parked_);
}

bool Engine::restore_record_buffers() {
  if (!parked_.parked) return true;
  if (unpark_record_buffers(ssl_, parked_)) return true;
  fail(Error(ErrorCode::out_of_memory, Stage::record,
             "out of memory: the released record buffers could not be allocated again"));
  return false;
}

MemoryUsage Engine::memory() const noexcept {
  return MemoryUsage{account_->current(), account_->peak()};
}

}  // namespace sanstls::detail
