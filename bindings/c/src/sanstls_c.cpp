// The C API (bindings/c/include/sanstls.h) over the C++ core. Every entry
// point catches whatever C++ might throw (std::bad_alloc from the wrapper's
// own containers): no exception crosses into C.
#include "sanstls.h"

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "sanstls/platform.h"
#include "sanstls/sanstls.h"

using namespace sanstls;

namespace {

// C code <-> stable name. Mapped by name, not by position, so engine codes
// appended later never shift the C numbers; an engine code missing here comes
// out as SANSTLS_ERR_TLS_UNKNOWN with its exact name.
struct CName {
  sanstls_error_code code;
  const char* name;
};
#define C_OK \
  { SANSTLS_OK, "OK" }
#define C(name) \
  { SANSTLS_##name, #name }
constexpr CName kCodeNames[] = {
    C_OK,
    C(ERR_INVALID_ARG_VALUE),
    C(ERR_TLS_CERT_PARSE_FAILED),
    C(ERR_TLS_KEY_PARSE_FAILED),
    C(ERR_TLS_KEY_PASSPHRASE_REQUIRED),
    C(ERR_TLS_KEY_PASSPHRASE_WRONG),
    C(ERR_OSSL_X509_KEY_VALUES_MISMATCH),
    C(ERR_TLS_CA_PARSE_FAILED),
    C(ERR_TLS_CRL_PARSE_FAILED),
    C(ERR_SSL_NO_CIPHER_MATCH),
    C(ERR_TLS_UNKNOWN_GROUP),
    C(ERR_TLS_INVALID_PROTOCOL_VERSION),
    C(ERR_TLS_PROTOCOL_VERSION_CONFLICT),
    C(ERR_TLS_NO_USABLE_CIPHER_SUITE),
    C(ERR_TLS_MISSING_CERTIFICATE),
    C(ERR_TLS_MISSING_CA),
    C(ERR_TLS_MISSING_SERVER_NAME),
    C(ERR_TLS_INVALID_ALPN_PROTOCOL),
    C(ERR_TLS_INVALID_PSK),
    C(ERR_TLS_INVALID_SESSION),
    C(ERR_TLS_SESSION_UNAVAILABLE),
    C(ERR_TLS_SESSION_NOT_TRUSTED),
    C(ERR_SSL_UNSUPPORTED_PROTOCOL),
    C(ERR_SSL_NO_SHARED_CIPHER),
    C(ERR_SSL_NO_SUITABLE_KEY_SHARE),
    C(ERR_SSL_NO_APPLICATION_PROTOCOL),
    C(ERR_SSL_HANDSHAKE_FAILURE),
    C(ERR_SSL_PEER_ALERT),
    C(ERR_SSL_HTTP_REQUEST),
    C(ERR_SSL_HTTP_RESPONSE),
    C(ERR_SSL_WRONG_VERSION_NUMBER),
    C(ERR_SSL_UNEXPECTED_MESSAGE),
    C(ERR_SSL_DECODE_ERROR),
    C(ERR_SSL_ILLEGAL_PARAMETER),
    C(ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE),
    C(ERR_SSL_PSK_IDENTITY_NOT_FOUND),
    C(ERR_SSL_NO_RENEGOTIATION),
    C(ERR_TLS_SESSION_ATTACK),
    C(ERR_SSL_UNRECOGNIZED_NAME),
    C(ERR_TLS_EXPORT_UNAVAILABLE),
    C(ERR_TLS_HANDSHAKE_TIMEOUT),
    C(ERR_SSL_UNEXPECTED_EOF_WHILE_READING),
    C(CERT_HAS_EXPIRED),
    C(CERT_NOT_YET_VALID),
    C(DEPTH_ZERO_SELF_SIGNED_CERT),
    C(SELF_SIGNED_CERT_IN_CHAIN),
    C(UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
    C(UNABLE_TO_VERIFY_LEAF_SIGNATURE),
    C(ERR_TLS_CERT_ALTNAME_INVALID),
    C(ERR_TLS_PUBLIC_KEY_PIN_MISMATCH),
    C(ERR_TLS_IDENTITY_REJECTED),
    C(CERT_REVOKED),
    C(CERT_SIGNATURE_FAILURE),
    C(INVALID_PURPOSE),
    C(CERT_REJECTED),
    C(ERR_SSL_BAD_CERTIFICATE),
    C(ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC),
    C(ERR_SSL_RECORD_OVERFLOW),
    C(ERR_SSL_UNEXPECTED_RECORD),
    C(ERR_TLS_KEY_UPDATE_UNSUPPORTED),
    C(ENOTFOUND),
    C(ECONNREFUSED),
    C(ETIMEDOUT),
    C(ECONNRESET),
    C(ENETUNREACH),
    C(ERR_TRANSPORT),
    C(ERR_PROXY_REFUSED),
    C(ERR_PROXY_CLOSED),
    C(ERR_PROXY_BAD_REPLY),
    C(ERR_TLS_OUT_OF_MEMORY),
    C(ERR_TLS_RANDOM_FAILED),
    C(ERR_TLS_INTERNAL),
    C(ERR_SSL_BAD_SIGNATURE),
};
#undef C
#undef C_OK

sanstls_error_code c_code_for_name(const char* name) noexcept {
  for (const auto& entry : kCodeNames) {
    if (std::strcmp(entry.name, name) == 0) return entry.code;
  }
  return SANSTLS_ERR_TLS_UNKNOWN;
}

void clear_error(sanstls_error* out) noexcept {
  if (!out) return;
  out->code = SANSTLS_OK;
  out->name = "OK";
  out->stage = SANSTLS_STAGE_NONE;
  out->stage_name = stage_name(Stage::none);
  out->alert_direction = SANSTLS_ALERT_NONE;
  out->alert = -1;
  out->alert_name = "";
  out->backend_code = 0;
  out->message[0] = '\0';
}

sanstls_error_code fill_error(const Error& error, sanstls_error* out) noexcept {
  const sanstls_error_code code = error.ok() ? SANSTLS_OK : c_code_for_name(error.name());
  if (!out) return code;
  clear_error(out);
  out->code = code;
  out->name = error.name();
  out->stage = static_cast<sanstls_stage>(error.stage());
  out->stage_name = stage_name(error.stage());
  if (error.has_alert()) {
    out->alert_direction = error.alert_direction() == AlertDirection::sent ? SANSTLS_ALERT_SENT
                                                                           : SANSTLS_ALERT_RECEIVED;
    out->alert = static_cast<int>(error.alert());
    out->alert_name = alert_name(error.alert());
  }
  out->backend_code = error.backend_code();
  std::snprintf(out->message, sizeof out->message, "%s", error.message());
  return code;
}

sanstls_error_code fail(ErrorCode code, const char* message, sanstls_error* out) noexcept {
  return fill_error(Error(code, error_code_stage(code), message), out);
}

sanstls_error_code null_argument(const char* what, sanstls_error* out = nullptr) noexcept {
  char message[Error::kMessageCapacity];
  std::snprintf(message, sizeof message, "%s must not be NULL", what);
  return fail(ErrorCode::invalid_argument, message, out);
}

// Runs `body`, turning any C++ exception into a named error.
template <class Body>
sanstls_error_code guarded(sanstls_error* out, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(ErrorCode::out_of_memory, "out of memory in the C API", out);
  } catch (...) {
    return fail(ErrorCode::internal_error, "unexpected C++ exception in the C API", out);
  }
}

template <class T, class Body>
T guarded_value(T fallback, Body&& body) noexcept {
  try {
    return body();
  } catch (...) {
    return fallback;
  }
}

class CallbackRandom final : public RandomSource {
 public:
  CallbackRandom(sanstls_random_fn fn, void* user) : fn_(fn), user_(user) {}
  bool fill(MutableByteView out) noexcept override {
    return fn_(user_, out.data(), out.size()) != 0;
  }

 private:
  sanstls_random_fn fn_;
  void* user_;
};

class CallbackClock final : public Clock {
 public:
  CallbackClock(sanstls_clock_fn fn, void* user) : fn_(fn), user_(user) {}
  int64_t now_ms() noexcept override { return fn_(user_); }

 private:
  sanstls_clock_fn fn_;
  void* user_;
};

// What a built Config refers to but does not own: its sources, and the
// configs its SNI map or selector may hand out (which hold their own).
// Append-only: a source replaced on the builder stays alive for the configs
// already built with it.
struct KeepAlive {
  std::vector<std::unique_ptr<RandomSource>> randoms;
  std::vector<std::unique_ptr<Clock>> clocks;
  std::vector<std::shared_ptr<const void>> others;
};

void describe_certificate(const CertificateInfo& cert, sanstls_certificate* out) noexcept {
  out->der = cert.der.data();
  out->der_length = cert.der.size();
  out->subject = cert.subject.c_str();
  out->issuer = cert.issuer.c_str();
  out->valid_from = cert.valid_from.c_str();
  out->valid_to = cert.valid_to.c_str();
  out->subjectaltname = cert.subjectaltname.c_str();
  out->fingerprint256 = cert.fingerprint256.c_str();
  out->serial_number = cert.serial_number.c_str();
}

}  // namespace

struct sanstls_ticket_keys {
  std::shared_ptr<TicketKeys> keys;
};

struct sanstls_config_builder {
  explicit sanstls_config_builder(Role role) : builder(role) {}
  ConfigBuilder builder;
  std::shared_ptr<KeepAlive> keep = std::make_shared<KeepAlive>();
};

struct sanstls_config {
  sanstls_config(Config built, std::shared_ptr<KeepAlive> held)
      : config(std::move(built)), keep(std::move(held)) {}
  Config config;
  std::shared_ptr<KeepAlive> keep;
};

struct sanstls_connection {
  sanstls_connection(Connection made, std::shared_ptr<KeepAlive> held)
      : connection(std::move(made)), keep(std::move(held)) {}
  Connection connection;
  std::shared_ptr<KeepAlive> keep;
  std::vector<std::shared_ptr<KeepAlive>> provided;  // configs given by provide_config
};

struct sanstls_replay_store {
  std::shared_ptr<EarlyDataReplayStore> store;
};

// The C ConfigSlot: it must hand out the config together with what keeps its
// callbacks' sources alive, so it guards a whole sanstls_config (a Config and
// its KeepAlive) rather than wrapping sanstls::ConfigSlot.
struct sanstls_config_slot {
  explicit sanstls_config_slot(const sanstls_config& initial) : current(initial) {}
  mutable Mutex mutex;
  sanstls_config current;
};

namespace {

// A SessionStore over the C callbacks. Exceptions (allocation) never reach C:
// a save that cannot copy is dropped, a load that cannot is a miss.
class CallbackSessionStore final : public SessionStore {
 public:
  CallbackSessionStore(sanstls_session_save_fn save_fn, sanstls_session_load_fn load_fn,
                       sanstls_session_remove_fn remove_fn, void* user)
      : save_(save_fn), load_(load_fn), remove_(remove_fn), user_(user) {}

  void save(ByteView session_id, ByteView session) override {
    save_(user_, session_id.data(), session_id.size(), session.data(), session.size());
  }

  std::optional<std::vector<uint8_t>> load(ByteView session_id) override {
    try {
      std::vector<uint8_t> buffer(kFirstCapacity);
      size_t length =
          load_(user_, session_id.data(), session_id.size(), buffer.data(), buffer.size());
      if (length > buffer.size()) {
        // Too big for the first buffer: once more with the size it asked for.
        secure_wipe(buffer.data(), buffer.size());
        buffer.assign(length, 0);
        length = load_(user_, session_id.data(), session_id.size(), buffer.data(), buffer.size());
      }
      if (length == 0 || length > buffer.size()) {
        secure_wipe(buffer.data(), buffer.size());
        return std::nullopt;
      }
      buffer.resize(length);
      return buffer;
    } catch (...) {
      return std::nullopt;
    }
  }

  void remove(ByteView session_id) override {
    if (remove_) remove_(user_, session_id.data(), session_id.size());
  }

 private:
  static constexpr size_t kFirstCapacity = 2048;
  sanstls_session_save_fn save_;
  sanstls_session_load_fn load_;
  sanstls_session_remove_fn remove_;
  void* user_;
};

}  // namespace

extern "C" {

const char* sanstls_error_code_name(sanstls_error_code code) {
  for (const auto& entry : kCodeNames) {
    if (entry.code == code) return entry.name;
  }
  return "ERR_TLS_UNKNOWN";
}

const char* sanstls_stage_name(sanstls_stage stage) {
  if (stage < SANSTLS_STAGE_NONE || stage > SANSTLS_STAGE_PROXY) return "unknown";
  return stage_name(static_cast<Stage>(stage));
}

const char* sanstls_alert_name(int alert) {
  if (alert < 0 || alert > 255) return "unknown";
  return alert_name(static_cast<Alert>(alert));
}

const char* sanstls_version(void) { return SANSTLS_VERSION; }
const char* sanstls_mbedtls_version(void) { return SANSTLS_MBEDTLS_VERSION_TEXT; }

// ---- builder

sanstls_error_code sanstls_config_builder_new(sanstls_role role, sanstls_config_builder** out) {
  if (!out) return null_argument("out");
  *out = nullptr;
  if (role != SANSTLS_ROLE_CLIENT && role != SANSTLS_ROLE_SERVER)
    return fail(ErrorCode::invalid_argument, "role must be SANSTLS_ROLE_CLIENT or _SERVER",
                nullptr);
  return guarded(nullptr, [&] {
    auto* builder =
        new sanstls_config_builder(role == SANSTLS_ROLE_CLIENT ? Role::client : Role::server);
    builder->builder.random(platform::os_random()).clock(platform::system_clock());
    *out = builder;
    return SANSTLS_OK;
  });
}

void sanstls_config_builder_free(sanstls_config_builder* builder) { delete builder; }

// A setter: NULL builder (or a NULL pointer argument) is a named error,
// anything else is recorded for build() to validate.
#define SETTER_BODY(check_ptr, what, ...)       \
  if (!b) return null_argument("builder");      \
  if (!(check_ptr)) return null_argument(what); \
  return guarded(nullptr, [&] {                 \
    __VA_ARGS__;                                \
    return SANSTLS_OK;                          \
  })

sanstls_error_code sanstls_config_builder_preset(sanstls_config_builder* b, sanstls_preset preset) {
  SETTER_BODY(
      true, "",
      b->builder.preset(preset == SANSTLS_PRESET_MODERN ? Preset::modern : Preset::intermediate));
}

sanstls_error_code sanstls_config_builder_versions(sanstls_config_builder* b,
                                                   sanstls_tls_version min,
                                                   sanstls_tls_version max) {
  // Any other number is kept and refused by build() (ERR_TLS_INVALID_PROTOCOL_VERSION).
  SETTER_BODY(true, "",
              b->builder.versions(static_cast<TlsVersion>(min), static_cast<TlsVersion>(max)));
}

sanstls_error_code sanstls_config_builder_cipher_suites(sanstls_config_builder* b,
                                                        const char* list) {
  SETTER_BODY(list, "list", b->builder.cipher_suites(list));
}

sanstls_error_code sanstls_config_builder_groups(sanstls_config_builder* b, const char* list) {
  SETTER_BODY(list, "list", b->builder.groups(list));
}

sanstls_error_code sanstls_config_builder_signature_algorithms(sanstls_config_builder* b,
                                                               const char* list) {
  SETTER_BODY(list, "list", b->builder.signature_algorithms(list));
}

sanstls_error_code sanstls_config_builder_certificate(sanstls_config_builder* b,
                                                      const uint8_t* chain, size_t chain_length,
                                                      const uint8_t* key, size_t key_length,
                                                      const char* passphrase) {
  if (b && !chain) return null_argument("chain");
  SETTER_BODY(key, "key",
              b->builder.certificate(ByteView(chain, chain_length), ByteView(key, key_length),
                                     passphrase ? passphrase : ""));
}

sanstls_error_code sanstls_config_builder_trust_anchors(sanstls_config_builder* b,
                                                        const uint8_t* pem_or_der, size_t length) {
  SETTER_BODY(pem_or_der, "pem_or_der", b->builder.trust_anchors(ByteView(pem_or_der, length)));
}

sanstls_error_code sanstls_config_builder_system_trust_anchors(sanstls_config_builder* b,
                                                               sanstls_error* error) {
  clear_error(error);
  if (!b) return null_argument("builder", error);
  return guarded(error, [&] {
    auto bundle = platform::system_trust_anchors();
    if (!bundle.ok()) return fill_error(bundle.error(), error);
    b->builder.trust_anchors(ByteView(bundle.value()));
    return SANSTLS_OK;
  });
}

sanstls_error_code sanstls_config_builder_crl(sanstls_config_builder* b, const uint8_t* pem_or_der,
                                              size_t length) {
  SETTER_BODY(pem_or_der, "pem_or_der", b->builder.crl(ByteView(pem_or_der, length)));
}

sanstls_error_code sanstls_config_builder_peer_verification(sanstls_config_builder* b,
                                                            sanstls_verification mode) {
  if (b && (mode < SANSTLS_VERIFY_NONE || mode > SANSTLS_VERIFY_REQUIRED))
    return fail(ErrorCode::invalid_argument, "verification mode out of range", nullptr);
  SETTER_BODY(true, "", b->builder.peer_verification(static_cast<PeerVerification>(mode)));
}

sanstls_error_code sanstls_config_builder_pin_public_key(sanstls_config_builder* b,
                                                         const char* sha256_base64) {
  SETTER_BODY(sha256_base64, "sha256_base64", b->builder.pin_public_key(sha256_base64));
}

sanstls_error_code sanstls_config_builder_alpn(sanstls_config_builder* b,
                                               const char* const* protocols, size_t count) {
  if (b && count > 0 && protocols) {
    for (size_t i = 0; i < count; ++i) {
      if (!protocols[i]) return null_argument("protocols[i]");
    }
  }
  SETTER_BODY(protocols || count == 0, "protocols",
              b->builder.alpn(std::vector<std::string>(protocols, protocols + count)));
}

sanstls_error_code sanstls_config_builder_honor_cipher_order(sanstls_config_builder* b,
                                                             int server_order) {
  SETTER_BODY(true, "", b->builder.honor_cipher_order(server_order != 0));
}

sanstls_error_code sanstls_config_builder_sni_context(sanstls_config_builder* b, const char* name,
                                                      const sanstls_config* context) {
  if (b && !context) return null_argument("context");
  SETTER_BODY(name, "name", {
    b->builder.sni_context(name, context->config);
    b->keep->others.push_back(context->keep);
  });
}

sanstls_error_code sanstls_config_builder_strict_sni(sanstls_config_builder* b, int strict) {
  SETTER_BODY(true, "", b->builder.strict_sni(strict != 0));
}

sanstls_error_code sanstls_config_builder_sni_selector(sanstls_config_builder* b,
                                                       sanstls_sni_fn selector, void* user_data) {
  SETTER_BODY(selector, "selector", {
    b->builder.sni_selector([selector, user_data](std::string_view name) -> SniAnswer {
      try {
        const std::string terminated(name);
        const sanstls_config* use = nullptr;
        switch (selector(user_data, terminated.c_str(), &use)) {
          case SANSTLS_SNI_MAX_ENUM:
            break;
          case SANSTLS_SNI_USE:
            // The engine holds the chosen config's state; its sources must be
            // kept by the caller for as long as the selector may return it.
            return use ? SniAnswer::use(use->config) : SniAnswer::reject();
          case SANSTLS_SNI_REJECT:
            return SniAnswer::reject();
          case SANSTLS_SNI_LATER:
            return SniAnswer::later();
          case SANSTLS_SNI_USE_DEFAULT:
            break;
        }
        return SniAnswer::use_default();
      } catch (...) {
        return SniAnswer::reject();
      }
    });
  });
}

sanstls_error_code sanstls_config_builder_random(sanstls_config_builder* b,
                                                 sanstls_random_fn random, void* user_data) {
  SETTER_BODY(random, "random", {
    b->keep->randoms.push_back(std::make_unique<CallbackRandom>(random, user_data));
    b->builder.random(*b->keep->randoms.back());
  });
}

sanstls_error_code sanstls_config_builder_clock(sanstls_config_builder* b, sanstls_clock_fn clock,
                                                void* user_data) {
  SETTER_BODY(clock, "clock", {
    b->keep->clocks.push_back(std::make_unique<CallbackClock>(clock, user_data));
    b->builder.clock(*b->keep->clocks.back());
  });
}

sanstls_error_code sanstls_config_builder_seeded_random(sanstls_config_builder* b, uint64_t seed) {
  SETTER_BODY(true, "", {
    b->keep->randoms.push_back(std::make_unique<SeededRandom>(seed));
    b->builder.random(*b->keep->randoms.back());
  });
}

sanstls_error_code sanstls_config_builder_psk(sanstls_config_builder* b, const char* identity,
                                              const uint8_t* key, size_t key_length) {
  if (b && !identity) return null_argument("identity");
  SETTER_BODY(key, "key", b->builder.psk(identity, ByteView(key, key_length)));
}

sanstls_error_code sanstls_config_builder_psk_lookup(sanstls_config_builder* b,
                                                     sanstls_psk_lookup_fn lookup,
                                                     void* user_data) {
  SETTER_BODY(lookup, "lookup", {
    b->builder.psk_lookup([lookup, user_data](
                              std::string_view identity) -> std::optional<std::vector<uint8_t>> {
      try {
        std::vector<uint8_t> key(256);
        const size_t length = lookup(user_data, reinterpret_cast<const uint8_t*>(identity.data()),
                                     identity.size(), key.data(), key.size());
        if (length == 0 || length > key.size()) {
          secure_wipe(key.data(), key.size());
          return std::nullopt;
        }
        std::vector<uint8_t> exact(key.begin(), key.begin() + static_cast<std::ptrdiff_t>(length));
        secure_wipe(key.data(), key.size());
        return exact;
      } catch (...) {
        return std::nullopt;
      }
    });
  });
}

sanstls_error_code sanstls_config_builder_psk_mode(sanstls_config_builder* b,
                                                   sanstls_psk_mode mode) {
  if (b && (mode < SANSTLS_PSK_WITH_ECDHE || mode > SANSTLS_PSK_EITHER))
    return fail(ErrorCode::invalid_argument, "PSK mode out of range", nullptr);
  SETTER_BODY(true, "", b->builder.psk_mode(static_cast<PskMode>(mode)));
}

sanstls_error_code sanstls_config_builder_session_tickets(sanstls_config_builder* b, uint32_t count,
                                                          uint32_t lifetime_seconds) {
  SETTER_BODY(true, "", b->builder.session_tickets(count, lifetime_seconds));
}

sanstls_error_code sanstls_config_builder_session_cache(sanstls_config_builder* b,
                                                        size_t max_entries) {
  SETTER_BODY(true, "", b->builder.session_store(make_memory_session_store(max_entries)));
}

sanstls_error_code sanstls_config_builder_renegotiation(sanstls_config_builder* b, int enabled) {
  SETTER_BODY(true, "", b->builder.renegotiation(enabled != 0));
}

sanstls_error_code sanstls_config_builder_early_data(sanstls_config_builder* b,
                                                     uint32_t max_bytes) {
  SETTER_BODY(true, "", b->builder.early_data(max_bytes));
}

sanstls_error_code sanstls_config_builder_handshake_timeout(sanstls_config_builder* b,
                                                            uint32_t milliseconds) {
  SETTER_BODY(true, "", b->builder.handshake_timeout(milliseconds));
}

sanstls_error_code sanstls_config_builder_close_timeout(sanstls_config_builder* b,
                                                        uint32_t milliseconds) {
  SETTER_BODY(true, "", b->builder.close_timeout(milliseconds));
}

sanstls_error_code sanstls_config_builder_max_send_fragment(sanstls_config_builder* b,
                                                            size_t bytes) {
  SETTER_BODY(true, "", b->builder.max_send_fragment(bytes));
}

sanstls_error_code sanstls_config_builder_max_pending_output(sanstls_config_builder* b,
                                                             size_t bytes) {
  SETTER_BODY(true, "", b->builder.max_pending_output(bytes));
}

sanstls_error_code sanstls_config_builder_max_connection_memory(sanstls_config_builder* b,
                                                                size_t bytes) {
  SETTER_BODY(true, "", b->builder.max_connection_memory(bytes));
}

sanstls_error_code sanstls_config_builder_key_log(sanstls_config_builder* b,
                                                  sanstls_key_log_fn callback, void* user_data) {
  SETTER_BODY(callback, "callback", {
    b->builder.key_log([callback, user_data](std::string_view line) {
      try {
        const std::string terminated(line);
        callback(user_data, terminated.c_str());
      } catch (...) {
        // A line that cannot be copied is dropped: key logging is best effort.
      }
    });
  });
}

sanstls_error_code sanstls_config_builder_trace(sanstls_config_builder* b,
                                                sanstls_trace_fn callback, void* user_data) {
  SETTER_BODY(callback, "callback", {
    b->builder.trace([callback, user_data](const TraceEntry& entry) {
      sanstls_trace_entry out;
      out.sent = entry.direction == TraceEntry::Direction::sent ? 1 : 0;
      out.kind = static_cast<int>(entry.kind);
      out.content_type = entry.content_type;
      out.encrypted = entry.encrypted ? 1 : 0;
      out.handshake_type = entry.handshake_type;
      out.alert_level = entry.alert_level;
      out.alert = entry.alert;
      out.length = entry.length;
      callback(user_data, &out);
    });
  });
}

sanstls_error_code sanstls_config_builder_alpn_selector(sanstls_config_builder* b,
                                                        sanstls_alpn_select_fn select,
                                                        void* user_data) {
  SETTER_BODY(select, "select", {
    b->builder.alpn_selector(
        [select, user_data](const std::vector<std::string>& offered) -> std::optional<std::string> {
          try {
            std::vector<const char*> names;
            names.reserve(offered.size());
            for (const std::string& name : offered) names.push_back(name.c_str());
            const int chosen = select(user_data, names.data(), names.size());
            if (chosen < 0 || static_cast<size_t>(chosen) >= offered.size()) return std::nullopt;
            return offered[static_cast<size_t>(chosen)];
          } catch (...) {
            return std::nullopt;
          }
        });
  });
}

sanstls_error_code sanstls_config_builder_check_server_identity(sanstls_config_builder* b,
                                                                sanstls_identity_check_fn check,
                                                                void* user_data) {
  SETTER_BODY(check, "check", {
    b->builder.check_server_identity(
        [check, user_data](std::string_view server_name, const CertificateInfo& leaf) -> Error {
          try {
            const std::string name(server_name);
            sanstls_certificate cert;
            describe_certificate(leaf, &cert);
            char reason[Error::kMessageCapacity] = {0};
            if (check(user_data, name.c_str(), &cert, reason, sizeof reason) != 0) return Error();
            reason[sizeof reason - 1] = '\0';
            return Error(ErrorCode::identity_rejected, Stage::certificate,
                         reason[0] ? reason : "rejected by check_server_identity");
          } catch (...) {
            return Error(ErrorCode::out_of_memory, Stage::internal, "out of memory in the C API");
          }
        });
  });
}

sanstls_error_code sanstls_config_builder_ticket_keys(sanstls_config_builder* b,
                                                      const sanstls_ticket_keys* keys) {
  SETTER_BODY(keys, "keys", b->builder.ticket_keys(keys->keys));
}

#undef SETTER_BODY

sanstls_error_code sanstls_ticket_keys_generate(sanstls_ticket_keys** out, sanstls_error* error) {
  clear_error(error);
  if (!out) return null_argument("out", error);
  *out = nullptr;
  return guarded(error, [&] {
    auto keys = TicketKeys::generate(platform::os_random());
    if (!keys.ok()) return fill_error(keys.error(), error);
    *out = new sanstls_ticket_keys{std::move(keys).value()};
    return SANSTLS_OK;
  });
}

sanstls_error_code sanstls_ticket_keys_from_bytes(const uint8_t* bytes, size_t length,
                                                  sanstls_ticket_keys** out, sanstls_error* error) {
  clear_error(error);
  if (!out) return null_argument("out", error);
  *out = nullptr;
  if (!bytes) return null_argument("bytes", error);
  return guarded(error, [&] {
    auto keys = TicketKeys::from_bytes(ByteView(bytes, length));
    if (!keys.ok()) return fill_error(keys.error(), error);
    *out = new sanstls_ticket_keys{std::move(keys).value()};
    return SANSTLS_OK;
  });
}

sanstls_error_code sanstls_ticket_keys_to_bytes(const sanstls_ticket_keys* keys, uint8_t* out,
                                                size_t* length) {
  if (!keys) return null_argument("keys");
  if (!length) return null_argument("length");
  return guarded(nullptr, [&] {
    std::vector<uint8_t> bytes = keys->keys->to_bytes();
    sanstls_error_code code = SANSTLS_OK;
    if (out && *length < bytes.size()) {
      code =
          fail(ErrorCode::invalid_argument, "buffer too small for the keys (see *length)", nullptr);
    } else if (out) {
      std::memcpy(out, bytes.data(), bytes.size());
    }
    *length = bytes.size();
    secure_wipe(bytes.data(), bytes.size());
    return code;
  });
}

sanstls_error_code sanstls_ticket_keys_rotate(sanstls_ticket_keys* keys) {
  if (!keys) return null_argument("keys");
  if (!keys->keys->rotate(platform::os_random()))
    return fail(ErrorCode::random_failed, "no randomness for a new ticket key", nullptr);
  return SANSTLS_OK;
}

void sanstls_ticket_keys_free(sanstls_ticket_keys* keys) { delete keys; }

sanstls_error_code sanstls_config_build(const sanstls_config_builder* b, sanstls_config** out,
                                        sanstls_error* error) {
  clear_error(error);
  if (!out) return null_argument("out", error);
  *out = nullptr;
  if (!b) return null_argument("builder", error);
  return guarded(error, [&] {
    Result<Config> built = b->builder.build();
    if (!built.ok()) return fill_error(built.error(), error);
    *out = new sanstls_config(std::move(built).value(), b->keep);
    return SANSTLS_OK;
  });
}

void sanstls_config_free(sanstls_config* config) { delete config; }

sanstls_role sanstls_config_role(const sanstls_config* config) {
  return config && config->config.role() == Role::server ? SANSTLS_ROLE_SERVER
                                                         : SANSTLS_ROLE_CLIENT;
}

size_t sanstls_config_memory_bytes(const sanstls_config* config) {
  return config ? config->config.memory_bytes() : 0;
}

// ---- connections

sanstls_error_code sanstls_connection_client(const sanstls_config* config, const char* server_name,
                                             const uint8_t* saved_session,
                                             size_t saved_session_length, sanstls_connection** out,
                                             sanstls_error* error) {
  clear_error(error);
  if (!out) return null_argument("out", error);
  *out = nullptr;
  if (!config) return null_argument("config", error);
  if (saved_session && !server_name)
    return fail(ErrorCode::invalid_argument,
                "a saved session needs the server name it was saved for", error);
  return guarded(error, [&] {
    Result<Connection> made =
        !server_name    ? Connection::client_without_server_name(config->config)
        : saved_session ? Connection::client(config->config, server_name,
                                             ByteView(saved_session, saved_session_length))
                        : Connection::client(config->config, server_name);
    if (!made.ok()) return fill_error(made.error(), error);
    *out = new sanstls_connection(std::move(made).value(), config->keep);
    return SANSTLS_OK;
  });
}

sanstls_error_code sanstls_connection_server(const sanstls_config* config, sanstls_connection** out,
                                             sanstls_error* error) {
  clear_error(error);
  if (!out) return null_argument("out", error);
  *out = nullptr;
  if (!config) return null_argument("config", error);
  return guarded(error, [&] {
    Result<Connection> made = Connection::server(config->config);
    if (!made.ok()) return fill_error(made.error(), error);
    *out = new sanstls_connection(std::move(made).value(), config->keep);
    return SANSTLS_OK;
  });
}

void sanstls_connection_free(sanstls_connection* conn) { delete conn; }

size_t sanstls_connection_feed(sanstls_connection* conn, const uint8_t* data, size_t length) {
  if (!conn || (!data && length)) return 0;
  return conn->connection.feed(ByteView(data, length));
}

const uint8_t* sanstls_connection_pending_output(sanstls_connection* conn, size_t* length) {
  if (!conn) {
    if (length) *length = 0;
    return nullptr;
  }
  const ByteView pending = conn->connection.pending_output();
  if (length) *length = pending.size();
  return pending.data();
}

void sanstls_connection_consume_output(sanstls_connection* conn, size_t n) {
  if (conn) conn->connection.consume_output(n);
}

size_t sanstls_connection_read(sanstls_connection* conn, uint8_t* out, size_t capacity) {
  if (!conn || !out) return 0;
  return conn->connection.read(MutableByteView(out, capacity));
}

size_t sanstls_connection_write(sanstls_connection* conn, const uint8_t* data, size_t length) {
  if (!conn || (!data && length)) return 0;
  return conn->connection.write(ByteView(data, length));
}

uint32_t sanstls_connection_wants(const sanstls_connection* conn) {
  if (!conn) return SANSTLS_CLOSED;
  const Readiness r = conn->connection.wants();
  uint32_t flags = 0;
  if (r.wants_input) flags |= SANSTLS_WANTS_INPUT;
  if (r.has_output) flags |= SANSTLS_HAS_OUTPUT;
  if (r.has_plaintext) flags |= SANSTLS_HAS_PLAINTEXT;
  if (r.can_write) flags |= SANSTLS_CAN_WRITE;
  if (r.handshake_complete) flags |= SANSTLS_HANDSHAKE_COMPLETE;
  if (r.read_closed) flags |= SANSTLS_READ_CLOSED;
  if (r.write_closed) flags |= SANSTLS_WRITE_CLOSED;
  if (r.closed) flags |= SANSTLS_CLOSED;
  if (r.awaiting_config) flags |= SANSTLS_AWAITING_CONFIG;
  return flags;
}

int sanstls_connection_next_event(sanstls_connection* conn, sanstls_event* event) {
  if (!conn || !event) return 0;
  const std::optional<Event> next = conn->connection.next_event();
  if (!next) return 0;
  event->kind = static_cast<sanstls_event_kind>(next->kind);
  event->name = event_kind_name(next->kind);
  event->alert = next->kind == EventKind::warning_alert ? static_cast<int>(next->alert) : -1;
  event->count = next->count;
  return 1;
}

sanstls_error_code sanstls_connection_provide_config(sanstls_connection* conn,
                                                     const sanstls_config* config,
                                                     sanstls_error* error) {
  clear_error(error);
  if (!conn) return null_argument("conn", error);
  if (!config) return null_argument("config", error);
  return guarded(error, [&] {
    conn->provided.push_back(config->keep);
    return fill_error(conn->connection.provide_config(config->config), error);
  });
}

sanstls_error_code sanstls_connection_reject_server_name(sanstls_connection* conn) {
  if (!conn) return null_argument("conn");
  conn->connection.reject_server_name();
  return SANSTLS_OK;
}

size_t sanstls_connection_write_early_data(sanstls_connection* conn, const uint8_t* data,
                                           size_t length) {
  if (!conn || (!data && length)) return 0;
  return conn->connection.write_early_data(ByteView(data, length));
}

size_t sanstls_connection_read_early_data(sanstls_connection* conn, uint8_t* out, size_t capacity) {
  if (!conn || !out) return 0;
  return conn->connection.read_early_data(MutableByteView(out, capacity));
}

int sanstls_connection_renegotiate(sanstls_connection* conn) {
  return conn && conn->connection.renegotiate() ? 1 : 0;
}

int sanstls_connection_next_deadline(const sanstls_connection* conn, int64_t* deadline_ms) {
  if (!conn) return 0;
  const std::optional<int64_t> deadline = conn->connection.next_deadline_ms();
  if (!deadline) return 0;
  if (deadline_ms) *deadline_ms = *deadline;
  return 1;
}

void sanstls_connection_on_timer(sanstls_connection* conn, int64_t now_ms) {
  if (conn) conn->connection.on_timer(now_ms);
}

sanstls_error_code sanstls_connection_set_max_send_fragment(sanstls_connection* conn,
                                                            size_t bytes) {
  if (!conn) return null_argument("conn");
  if (!conn->connection.set_max_send_fragment(bytes))
    return fail(ErrorCode::invalid_argument, "max send fragment must be 512..16384", nullptr);
  return SANSTLS_OK;
}

void sanstls_connection_close(sanstls_connection* conn) {
  if (conn) conn->connection.close();
}

void sanstls_connection_transport_eof(sanstls_connection* conn) {
  if (conn) conn->connection.transport_eof();
}

sanstls_error_code sanstls_connection_export_keying_material(const sanstls_connection* conn,
                                                             const char* label,
                                                             const uint8_t* context,
                                                             size_t context_length, uint8_t* out,
                                                             size_t length, sanstls_error* error) {
  clear_error(error);
  if (!conn) return null_argument("conn", error);
  if (!label) return null_argument("label", error);
  if (!out) return null_argument("out", error);
  return guarded(error, [&] {
    // ByteView() (no data) is "no context"; a non-NULL pointer with length 0 is an empty one.
    static const uint8_t kEmpty[1] = {0};
    const ByteView ctx =
        context ? ByteView(context_length ? context : kEmpty, context_length) : ByteView();
    auto keying = conn->connection.export_keying_material(label, ctx, length);
    if (!keying.ok()) return fill_error(keying.error(), error);
    std::memcpy(out, keying.value().data(), length);
    secure_wipe(keying.value().data(), keying.value().size());
    return SANSTLS_OK;
  });
}

sanstls_error_code sanstls_connection_save_session(const sanstls_connection* conn, uint8_t* out,
                                                   size_t* length, sanstls_error* error) {
  clear_error(error);
  if (!conn) return null_argument("conn", error);
  if (!length) return null_argument("length", error);
  return guarded(error, [&] {
    auto saved = conn->connection.save_session();
    if (!saved.ok()) return fill_error(saved.error(), error);
    std::vector<uint8_t>& blob = saved.value();
    sanstls_error_code code = SANSTLS_OK;
    if (out && *length < blob.size()) {
      code = fail(ErrorCode::invalid_argument, "buffer too small for the session (see *length)",
                  error);
    } else if (out) {
      std::memcpy(out, blob.data(), blob.size());
    }
    *length = blob.size();
    secure_wipe(blob.data(), blob.size());
    return code;
  });
}

sanstls_error_code sanstls_connection_error(const sanstls_connection* conn, sanstls_error* error) {
  clear_error(error);
  if (!conn) return null_argument("conn", error);
  return fill_error(conn->connection.error(), error);
}

sanstls_error_code sanstls_connection_info(const sanstls_connection* conn, sanstls_info* info) {
  if (!conn) return null_argument("conn");
  if (!info) return null_argument("info");
  const ConnectionInfo& i = conn->connection.info();
  info->version = static_cast<sanstls_tls_version>(i.version);
  info->protocol = i.protocol;
  info->cipher_id = i.cipher.id;
  info->cipher_standard_name = i.cipher.standard_name;
  info->cipher_name = i.cipher.name;
  info->group = i.group;
  info->alpn_protocol = i.alpn_protocol.c_str();
  info->server_name = i.server_name.c_str();
  info->psk_identity = i.psk_identity.c_str();
  info->session_reused = i.session_reused ? 1 : 0;
  info->ticket_received = i.ticket_received ? 1 : 0;
  info->early_data_sent = i.early_data.sent;
  info->early_data_accepted = i.early_data.accepted ? 1 : 0;
  info->peer_certificate_count = i.peer_certificates.size();
  info->authorized = i.authorized ? 1 : 0;
  fill_error(i.authorization_error, &info->authorization_error);
  return SANSTLS_OK;
}

sanstls_error_code sanstls_connection_peer_certificate(const sanstls_connection* conn, size_t index,
                                                       sanstls_certificate* out) {
  if (!conn) return null_argument("conn");
  if (!out) return null_argument("out");
  const auto& chain = conn->connection.info().peer_certificates;
  if (index >= chain.size())
    return fail(ErrorCode::invalid_argument, "no peer certificate at that index", nullptr);
  describe_certificate(chain[index], out);
  return SANSTLS_OK;
}

sanstls_error_code sanstls_connection_memory(const sanstls_connection* conn, size_t* current_bytes,
                                             size_t* peak_bytes) {
  if (!conn) return null_argument("conn");
  const MemoryUsage usage = conn->connection.memory();
  if (current_bytes) *current_bytes = usage.current_bytes;
  if (peak_bytes) *peak_bytes = usage.peak_bytes;
  return SANSTLS_OK;
}

// ---- appended after the first release

sanstls_error_code sanstls_config_builder_client_certificate_selector(
    sanstls_config_builder* b, sanstls_client_certificate_fn select, void* user_data) {
  if (!b) return null_argument("builder");
  if (!select) return null_argument("select");
  return guarded(nullptr, [&] {
    b->builder.client_certificate_selector(
        [select, user_data](std::string_view server_name) -> std::optional<Config> {
          try {
            const std::string name(server_name);
            const sanstls_config* use = nullptr;
            if (select(user_data, name.c_str(), &use) == 0 || !use) return std::nullopt;
            return use->config;  // a copy: the caller may free `use` now
          } catch (...) {
            return std::nullopt;
          }
        });
    return SANSTLS_OK;
  });
}

sanstls_error_code sanstls_config_builder_session_store(sanstls_config_builder* b,
                                                        sanstls_session_save_fn save,
                                                        sanstls_session_load_fn load,
                                                        sanstls_session_remove_fn remove,
                                                        void* user_data) {
  if (!b) return null_argument("builder");
  if (!save) return null_argument("save");
  if (!load) return null_argument("load");
  return guarded(nullptr, [&] {
    b->builder.session_store(std::make_shared<CallbackSessionStore>(save, load, remove, user_data));
    return SANSTLS_OK;
  });
}

sanstls_error_code sanstls_replay_store_new(size_t max_entries, sanstls_replay_store** out) {
  if (!out) return null_argument("out");
  *out = nullptr;
  return guarded(nullptr, [&] {
    *out = new sanstls_replay_store{EarlyDataReplayStore::create(
        max_entries ? max_entries : EarlyDataReplayStore::kDefaultEntries)};
    return SANSTLS_OK;
  });
}

size_t sanstls_replay_store_size(const sanstls_replay_store* store) {
  return store ? store->store->size() : 0;
}

void sanstls_replay_store_free(sanstls_replay_store* store) { delete store; }

sanstls_error_code sanstls_config_builder_early_data_replay_store(
    sanstls_config_builder* b, const sanstls_replay_store* store) {
  if (!b) return null_argument("builder");
  if (!store) return null_argument("store");
  return guarded(nullptr, [&] {
    b->builder.early_data_replay_store(store->store);
    return SANSTLS_OK;
  });
}

sanstls_error_code sanstls_config_replay_store(const sanstls_config* config,
                                               sanstls_replay_store** out) {
  if (!out) return null_argument("out");
  *out = nullptr;
  if (!config) return null_argument("config");
  return guarded(nullptr, [&] {
    std::shared_ptr<EarlyDataReplayStore> store = config->config.early_data_replay_store();
    if (!store)
      return fail(ErrorCode::invalid_argument, "this config has no 0-RTT replay store", nullptr);
    *out = new sanstls_replay_store{std::move(store)};
    return SANSTLS_OK;
  });
}

sanstls_error_code sanstls_config_slot_new(const sanstls_config* initial,
                                           sanstls_config_slot** out) {
  if (!out) return null_argument("out");
  *out = nullptr;
  if (!initial) return null_argument("initial");
  return guarded(nullptr, [&] {
    *out = new sanstls_config_slot(*initial);
    return SANSTLS_OK;
  });
}

sanstls_error_code sanstls_config_slot_store(sanstls_config_slot* slot,
                                             const sanstls_config* next) {
  if (!slot) return null_argument("slot");
  if (!next) return null_argument("next");
  return guarded(nullptr, [&] {
    sanstls_config replaced(*next);  // copied outside the lock; the old one dies outside too
    {
      LockGuard lock(slot->mutex);
      std::swap(slot->current, replaced);
    }
    return SANSTLS_OK;
  });
}

sanstls_error_code sanstls_config_slot_load(const sanstls_config_slot* slot, sanstls_config** out) {
  if (!out) return null_argument("out");
  *out = nullptr;
  if (!slot) return null_argument("slot");
  return guarded(nullptr, [&] {
    std::unique_ptr<sanstls_config> copy;
    {
      LockGuard lock(slot->mutex);
      copy = std::make_unique<sanstls_config>(slot->current);
    }
    *out = copy.release();
    return SANSTLS_OK;
  });
}

void sanstls_config_slot_free(sanstls_config_slot* slot) { delete slot; }

}  // extern "C"

// For the coverage test (bindings/c/tests/error_mapping_test.cpp): the C code
// an engine code maps to. Not in the public header, hidden from the .so.
sanstls_error_code sanstls_c_code_for_engine_code(ErrorCode code) noexcept {
  return c_code_for_name(error_code_name(code));
}
