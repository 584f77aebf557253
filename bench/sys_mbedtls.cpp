// Raw mbedTLS: two mbedtls_ssl_contexts joined by memory callbacks, built
// from the same mbedTLS library and configuration the engine uses
// (sanstls::mbedtls). What an expert would write by hand: the ceiling for the
// engine's overhead.
//
// Clock: outside engine calls the hooks' mbedtls_time() returns 0. The bench
// certificates are valid from 1970-01-01, so verification stays REQUIRED
// (as in the engine); tickets and the session cache see a constant time 0.
// Randomness: getrandom(2) for the TLS layer, like sanstls's os_random().
#include <sys/random.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "mbedtls/ssl.h"
#include "mbedtls/ssl_cache.h"
#include "mbedtls/ssl_ticket.h"
#include "mbedtls/x509_crt.h"
#include "support.h"

namespace bench {
namespace {

int os_rng(void*, unsigned char* out, size_t len) {
  while (len > 0) {
    ssize_t n = getrandom(out, len, 0);
    if (n <= 0) return -1;
    out += n;
    len -= static_cast<size_t>(n);
  }
  return 0;
}

// One direction of the wire.
struct Wire {
  static constexpr size_t kCapacity = 1 << 17;
  uint8_t buf[kCapacity];
  size_t head = 0, tail = 0;
  size_t total = 0;  // bytes ever sent
  size_t size() const { return tail - head; }
};

// The BIO context of one side: it sends on `out` and receives from `in`.
struct Ends {
  Wire* out;
  Wire* in;
};

int wire_send(void* ctx, const unsigned char* data, size_t len) {
  Wire* w = static_cast<Ends*>(ctx)->out;
  if (Wire::kCapacity - w->tail < len) {
    std::memmove(w->buf, w->buf + w->head, w->size());
    w->tail -= w->head;
    w->head = 0;
    if (Wire::kCapacity - w->tail < len) return MBEDTLS_ERR_SSL_WANT_WRITE;
  }
  std::memcpy(w->buf + w->tail, data, len);
  w->tail += len;
  w->total += len;
  return static_cast<int>(len);
}

int wire_recv(void* ctx, unsigned char* out, size_t len) {
  Wire* w = static_cast<Ends*>(ctx)->in;
  if (w->size() == 0) return MBEDTLS_ERR_SSL_WANT_READ;
  len = std::min(len, w->size());
  std::memcpy(out, w->buf + w->head, len);
  w->head += len;
  if (w->head == w->tail) w->head = w->tail = 0;
  return static_cast<int>(len);
}

uint8_t g_scratch[16384];
uint8_t g_payload[65536];

bool retry(int r) { return r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE; }

class MbedtlsPair final : public Pair {
 public:
  MbedtlsPair(const mbedtls_ssl_config* ccfg, const mbedtls_ssl_config* scfg,
              const mbedtls_ssl_session* saved, bool* ok) {
    to_server_ = std::make_unique<Wire>();
    to_client_ = std::make_unique<Wire>();
    c_ends_ = Ends{to_server_.get(), to_client_.get()};
    s_ends_ = Ends{to_client_.get(), to_server_.get()};
    g_side = 0;
    mbedtls_ssl_init(&c_);
    *ok = mbedtls_ssl_setup(&c_, ccfg) == 0 && mbedtls_ssl_set_hostname(&c_, "localhost") == 0 &&
          (saved == nullptr || mbedtls_ssl_set_session(&c_, saved) == 0);
    mbedtls_ssl_set_bio(&c_, &c_ends_, wire_send, wire_recv, nullptr);
    g_side = 1;
    mbedtls_ssl_init(&s_);
    *ok = *ok && mbedtls_ssl_setup(&s_, scfg) == 0;
    mbedtls_ssl_set_bio(&s_, &s_ends_, wire_send, wire_recv, nullptr);
    g_side = 2;
  }
  ~MbedtlsPair() override {
    g_side = 0;
    mbedtls_ssl_free(&c_);
    g_side = 1;
    mbedtls_ssl_free(&s_);
    g_side = 2;
  }

  bool handshake() override {
    bool c_done = false, s_done = false;
    for (int guard = 0; guard < 1000 && !(c_done && s_done); ++guard) {
      if (!c_done) {
        g_side = 0;
        int r = mbedtls_ssl_handshake(&c_);
        if (r == 0)
          c_done = true;
        else if (!retry(r))
          return fail("client handshake", r);
      }
      if (!s_done) {
        g_side = 1;
        int r = mbedtls_ssl_handshake(&s_);
        if (r == 0)
          s_done = true;
        else if (!retry(r))
          return fail("server handshake", r);
      }
    }
    g_side = 2;
    server_flight_ = to_client_->total;
    if (!(c_done && s_done)) return false;
    // Whatever the server sent after its handshake (TLS 1.3 tickets). A
    // ticket takes two reads: the first parks it (WANT_READ), the second
    // processes it (RECEIVED_NEW_SESSION_TICKET).
    if (to_client_->size() > 0) {
      g_side = 0;
      for (int idle = 0; idle < 2;) {
        int r = mbedtls_ssl_read(&c_, g_scratch, sizeof g_scratch);
        if (r == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) continue;
        if (retry(r)) {
          if (to_client_->size() == 0) ++idle;
          continue;
        }
        if (r <= 0) return fail("client read", r);
      }
      g_side = 2;
    }
    return true;
  }

  // mbedTLS 3.6 has no public "was this resumed" accessor: a resumed
  // handshake is one where the server sent less than its certificate.
  bool resumed() const override {
    return offered_ && server_flight_ + leaf_size_ / 2 < full_flight_;
  }
  size_t server_flight() const { return server_flight_; }

  bool transfer(size_t bytes, size_t chunk, bool both) override {
    Flow a{0, 0, 0}, b{0, 0, 0};
    for (int guard = 0; guard < 10000000; ++guard) {
      bool progress = false;
      g_side = 0;
      progress |= write_some(c_, a, bytes, chunk);
      if (both) {
        g_side = 1;
        progress |= write_some(s_, b, bytes, chunk);
      }
      g_side = 1;
      progress |= read_all(s_, a);
      g_side = 0;
      progress |= read_all(c_, b);
      g_side = 2;
      if (a.received == bytes && (!both || b.received == bytes)) return true;
      if (!progress) return false;
    }
    return false;
  }

  mbedtls_ssl_context& client() { return c_; }

 private:
  struct Flow {
    size_t written, in_chunk, received;
  };

  static bool write_some(mbedtls_ssl_context& ssl, Flow& f, size_t bytes, size_t chunk) {
    if (f.written >= bytes) return false;
    const size_t this_chunk = std::min(chunk, bytes - (f.written - f.in_chunk));
    int r = mbedtls_ssl_write(&ssl, g_payload + f.in_chunk, this_chunk - f.in_chunk);
    if (r <= 0) return false;
    f.written += static_cast<size_t>(r);
    f.in_chunk += static_cast<size_t>(r);
    if (f.in_chunk == this_chunk) f.in_chunk = 0;
    return true;
  }

  static bool read_all(mbedtls_ssl_context& ssl, Flow& f) {
    bool progress = false;
    for (;;) {
      int r = mbedtls_ssl_read(&ssl, g_scratch, sizeof g_scratch);
      if (r > 0) {
        f.received += static_cast<size_t>(r);
        progress = true;
        continue;
      }
      if (r == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) continue;
      return progress;
    }
  }

  bool fail(const char* what, int r) {
    g_side = 2;
    std::fprintf(stderr, "bench: raw mbedTLS %s: -0x%04x\n", what, -r);
    return false;
  }

 public:
  bool offered_ = false;
  size_t leaf_size_ = 0;
  size_t full_flight_ = 0;

 private:
  size_t server_flight_ = 0;
  Ends c_ends_{}, s_ends_{};
  std::unique_ptr<Wire> to_server_;
  std::unique_ptr<Wire> to_client_;
  mbedtls_ssl_context c_;
  mbedtls_ssl_context s_;
};

class MbedtlsContext final : public Context {
 public:
  explicit MbedtlsContext(const Case& c) : case_(c) {
    ensure_psa();
    const Credentials& creds = credentials(c.key);
    mbedtls_ssl_config_init(&ccfg_);
    mbedtls_ssl_config_init(&scfg_);
    mbedtls_x509_crt_init(&ca_);
    mbedtls_x509_crt_init(&chain_);
    mbedtls_pk_init(&key_);
    mbedtls_ssl_ticket_init(&ticket_);
    mbedtls_ssl_cache_init(&cache_);
    mbedtls_ssl_session_init(&saved_);

    const bool tls13 = c.version == 13;
    if (tls13)
      suites_[0] = c.suite == Suite::aes128gcm ? MBEDTLS_TLS1_3_AES_128_GCM_SHA256
                                               : MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256;
    else if (c.key == Key::ecdsa)
      suites_[0] = c.suite == Suite::aes128gcm
                       ? MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                       : MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256;
    else
      suites_[0] = c.suite == Suite::aes128gcm
                       ? MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
                       : MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256;
    groups_[0] = c.group == Group::x25519 ? MBEDTLS_SSL_IANA_TLS_GROUP_X25519
                                          : MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1;
    // TLS 1.2: the groups also gate the ECDSA certificate's curve (see sys_sanstls.cpp).
    if (!tls13 && c.group == Group::x25519) groups_[1] = MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1;
    if (c.key == Key::ecdsa) {
      sig_algs_[0] = MBEDTLS_TLS1_3_SIG_ECDSA_SECP256R1_SHA256;
    } else if (tls13) {
      sig_algs_[0] = MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA256;
      sig_algs_[1] = MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA256;
    } else {
      sig_algs_[0] = MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA256;
    }

    bool ok =
        mbedtls_x509_crt_parse(&ca_, reinterpret_cast<const unsigned char*>(creds.ca_pem.c_str()),
                               creds.ca_pem.size() + 1) == 0 &&
        mbedtls_x509_crt_parse(&chain_,
                               reinterpret_cast<const unsigned char*>(creds.leaf_pem.c_str()),
                               creds.leaf_pem.size() + 1) == 0 &&
        mbedtls_pk_parse_key(&key_, reinterpret_cast<const unsigned char*>(creds.key_pem.c_str()),
                             creds.key_pem.size() + 1, nullptr, 0, os_rng, nullptr) == 0;
    const auto version = tls13 ? MBEDTLS_SSL_VERSION_TLS1_3 : MBEDTLS_SSL_VERSION_TLS1_2;
    for (mbedtls_ssl_config* conf : {&ccfg_, &scfg_}) {
      const bool client = conf == &ccfg_;
      ok = ok && mbedtls_ssl_config_defaults(
                     conf, client ? MBEDTLS_SSL_IS_CLIENT : MBEDTLS_SSL_IS_SERVER,
                     MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT) == 0;
      mbedtls_ssl_conf_min_tls_version(conf, version);
      mbedtls_ssl_conf_max_tls_version(conf, version);
      mbedtls_ssl_conf_rng(conf, os_rng, nullptr);
      mbedtls_ssl_conf_ciphersuites(conf, suites_);
      mbedtls_ssl_conf_groups(conf, groups_);
      mbedtls_ssl_conf_sig_algs(conf, sig_algs_);
      mbedtls_ssl_conf_tls13_key_exchange_modes(
          conf, MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL |
                    MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL);
    }
    // Client: verify the chain and the name, as the engine does.
    mbedtls_ssl_conf_authmode(&ccfg_, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&ccfg_, &ca_, nullptr);
    mbedtls_ssl_conf_session_tickets(&ccfg_, c.resume == Resume::ticket
                                                 ? MBEDTLS_SSL_SESSION_TICKETS_ENABLED
                                                 : MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
    mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(
        &ccfg_, MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
    // Server.
    mbedtls_ssl_conf_authmode(&scfg_, MBEDTLS_SSL_VERIFY_NONE);
    ok = ok && mbedtls_ssl_conf_own_cert(&scfg_, &chain_, &key_) == 0;
    if (c.resume == Resume::ticket) {
      ok = ok && mbedtls_ssl_ticket_setup(&ticket_, os_rng, nullptr, MBEDTLS_CIPHER_AES_256_GCM,
                                          7200) == 0;
      mbedtls_ssl_conf_session_tickets_cb(&scfg_, mbedtls_ssl_ticket_write,
                                          mbedtls_ssl_ticket_parse, &ticket_);
      mbedtls_ssl_conf_new_session_tickets(&scfg_, 1);
    } else {
      mbedtls_ssl_conf_new_session_tickets(&scfg_, 0);
    }
    if (c.resume == Resume::session_id) {
      mbedtls_ssl_conf_session_cache(&scfg_, &cache_, mbedtls_ssl_cache_get, mbedtls_ssl_cache_set);
    }
    if (!ok) {
      std::fprintf(stderr, "bench: raw mbedTLS setup failed\n");
      std::abort();
    }
  }

  ~MbedtlsContext() override {
    mbedtls_ssl_session_free(&saved_);
    mbedtls_ssl_cache_free(&cache_);
    mbedtls_ssl_ticket_free(&ticket_);
    mbedtls_ssl_config_free(&ccfg_);
    mbedtls_ssl_config_free(&scfg_);
    mbedtls_pk_free(&key_);
    mbedtls_x509_crt_free(&chain_);
    mbedtls_x509_crt_free(&ca_);
  }

  std::unique_ptr<Pair> make_pair() override {
    bool ok = false;
    auto pair = std::make_unique<MbedtlsPair>(&ccfg_, &scfg_, have_saved_ ? &saved_ : nullptr, &ok);
    if (!ok) return nullptr;
    pair->offered_ = have_saved_;
    pair->leaf_size_ = credentials(case_.key).leaf_der.size();
    pair->full_flight_ = full_flight_;
    return pair;
  }

  bool prime() override {
    have_saved_ = false;
    auto pair = make_pair();
    if (!pair || !pair->handshake()) return false;
    full_flight_ = static_cast<MbedtlsPair&>(*pair).server_flight();
    mbedtls_ssl_session_free(&saved_);
    mbedtls_ssl_session_init(&saved_);
    if (mbedtls_ssl_get_session(&static_cast<MbedtlsPair&>(*pair).client(), &saved_) != 0)
      return false;
    have_saved_ = true;
    return true;
  }

 private:
  Case case_;
  mbedtls_ssl_config ccfg_, scfg_;
  mbedtls_x509_crt ca_, chain_;
  mbedtls_pk_context key_;
  mbedtls_ssl_ticket_context ticket_;
  mbedtls_ssl_cache_context cache_;
  mbedtls_ssl_session saved_;
  bool have_saved_ = false;
  size_t full_flight_ = 0;
  int suites_[2] = {0, 0};
  uint16_t groups_[3] = {0, 0, 0};
  uint16_t sig_algs_[3] = {MBEDTLS_TLS1_3_SIG_NONE, MBEDTLS_TLS1_3_SIG_NONE,
                           MBEDTLS_TLS1_3_SIG_NONE};
};

}  // namespace

std::unique_ptr<Context> make_mbedtls_context(const Case& c) {
  return std::make_unique<MbedtlsContext>(c);
}

}  // namespace bench
