// OpenSSL (Debian's libssl): two SSL objects over a BIO pair (the memory
// transport OpenSSL itself offers), with the same certificates, suite, group
// and signature algorithms as the other systems.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "support.h"

namespace bench {
namespace {

uint8_t g_scratch[16384];
uint8_t g_payload[65536];

bool retry(SSL* ssl, int r) {
  int e = SSL_get_error(ssl, r);
  return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

class OpensslPair final : public Pair {
 public:
  OpensslPair(SSL_CTX* cctx, SSL_CTX* sctx, SSL_SESSION* saved, bool* ok) {
    g_side = 0;
    c_ = SSL_new(cctx);
    g_side = 1;
    s_ = SSL_new(sctx);
    g_side = 2;
    BIO *cb = nullptr, *sb = nullptr;
    *ok = c_ != nullptr && s_ != nullptr && BIO_new_bio_pair(&cb, 0, &sb, 0) == 1;
    if (!*ok) return;
    SSL_set_bio(c_, cb, cb);
    SSL_set_bio(s_, sb, sb);
    g_side = 0;
    SSL_set_connect_state(c_);
    *ok = SSL_set_tlsext_host_name(c_, "localhost") == 1 && SSL_set1_host(c_, "localhost") == 1 &&
          (saved == nullptr || SSL_set_session(c_, saved) == 1);
    g_side = 1;
    SSL_set_accept_state(s_);
    g_side = 2;
  }
  ~OpensslPair() override {
    // Treat the connection as cleanly shut down (as after close_notify):
    // freeing an SSL that was not shut down marks its session not resumable.
    SSL_set_shutdown(c_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_set_shutdown(s_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    g_side = 0;
    SSL_free(c_);
    g_side = 1;
    SSL_free(s_);
    g_side = 2;
  }

  bool handshake() override {
    bool c_done = false, s_done = false;
    for (int guard = 0; guard < 1000 && !(c_done && s_done); ++guard) {
      if (!c_done) {
        g_side = 0;
        int r = SSL_do_handshake(c_);
        if (r == 1)
          c_done = true;
        else if (!retry(c_, r))
          return fail("client handshake");
      }
      if (!s_done) {
        g_side = 1;
        int r = SSL_do_handshake(s_);
        if (r == 1)
          s_done = true;
        else if (!retry(s_, r))
          return fail("server handshake");
      }
    }
    g_side = 2;
    if (!(c_done && s_done)) return false;
    // Whatever the server sent after its handshake (TLS 1.3 tickets).
    g_side = 0;
    while (BIO_ctrl_pending(SSL_get_rbio(c_)) > 0) {
      int r = SSL_read(c_, g_scratch, sizeof g_scratch);
      if (r <= 0) {
        if (retry(c_, r)) break;
        return fail("client read");
      }
    }
    g_side = 2;
    return true;
  }

  bool resumed() const override { return SSL_session_reused(c_) && SSL_session_reused(s_); }

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

  SSL* client() { return c_; }

 private:
  struct Flow {
    size_t written, in_chunk, received;
  };

  static bool write_some(SSL* ssl, Flow& f, size_t bytes, size_t chunk) {
    if (f.written >= bytes) return false;
    const size_t this_chunk = std::min(chunk, bytes - (f.written - f.in_chunk));
    int r = SSL_write(ssl, g_payload + f.in_chunk, static_cast<int>(this_chunk - f.in_chunk));
    if (r <= 0) return false;
    f.written += static_cast<size_t>(r);
    f.in_chunk += static_cast<size_t>(r);
    if (f.in_chunk == this_chunk) f.in_chunk = 0;
    return true;
  }

  static bool read_all(SSL* ssl, Flow& f) {
    bool progress = false;
    for (;;) {
      int r = SSL_read(ssl, g_scratch, sizeof g_scratch);
      if (r <= 0) return progress;
      f.received += static_cast<size_t>(r);
      progress = true;
    }
  }

  static bool fail(const char* what) {
    g_side = 2;
    std::fprintf(stderr, "bench: OpenSSL %s: ", what);
    ERR_print_errors_fp(stderr);
    std::fprintf(stderr, "\n");
    return false;
  }

  SSL* c_ = nullptr;
  SSL* s_ = nullptr;
};

X509* parse_cert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return x;
}

EVP_PKEY* parse_key(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return k;
}

class OpensslContext final : public Context {
 public:
  explicit OpensslContext(const Case& c) : case_(c) {
    const Credentials& creds = credentials(c.key);
    cctx_ = SSL_CTX_new(TLS_client_method());
    sctx_ = SSL_CTX_new(TLS_server_method());
    const int version = c.version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    // TLS 1.2: the groups also gate the ECDSA certificate's curve (see sys_sanstls.cpp).
    const char* group = c.group == Group::p256 ? "P-256"
                        : c.version == 12      ? "X25519:P-256"
                                               : "X25519";
    const char* sigalgs = c.key == Key::ecdsa ? "ecdsa_secp256r1_sha256"
                          : c.version == 13   ? "rsa_pss_rsae_sha256:rsa_pkcs1_sha256"
                                              : "rsa_pkcs1_sha256";
    const char* suite13 =
        c.suite == Suite::aes128gcm ? "TLS_AES_128_GCM_SHA256" : "TLS_CHACHA20_POLY1305_SHA256";
    const char* suite12 = c.key == Key::ecdsa
                              ? (c.suite == Suite::aes128gcm ? "ECDHE-ECDSA-AES128-GCM-SHA256"
                                                             : "ECDHE-ECDSA-CHACHA20-POLY1305")
                              : (c.suite == Suite::aes128gcm ? "ECDHE-RSA-AES128-GCM-SHA256"
                                                             : "ECDHE-RSA-CHACHA20-POLY1305");
    bool ok = cctx_ && sctx_;
    for (SSL_CTX* ctx : {cctx_, sctx_}) {
      ok = ok && SSL_CTX_set_min_proto_version(ctx, version) == 1 &&
           SSL_CTX_set_max_proto_version(ctx, version) == 1 &&
           SSL_CTX_set1_groups_list(ctx, group) == 1 &&
           SSL_CTX_set1_sigalgs_list(ctx, sigalgs) == 1 &&
           (c.version == 13 ? SSL_CTX_set_ciphersuites(ctx, suite13)
                            : SSL_CTX_set_cipher_list(ctx, suite12)) == 1;
      if (c.resume != Resume::ticket) SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    }
    X509* ca = parse_cert(creds.ca_pem);
    X509* leaf = parse_cert(creds.leaf_pem);
    EVP_PKEY* key = parse_key(creds.key_pem);
    ok = ok && ca && leaf && key && X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx_), ca) == 1 &&
         SSL_CTX_use_certificate(sctx_, leaf) == 1 && SSL_CTX_use_PrivateKey(sctx_, key) == 1;
    X509_free(ca);
    X509_free(leaf);
    EVP_PKEY_free(key);
    SSL_CTX_set_verify(cctx_, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_session_cache_mode(cctx_, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(sctx_, c.resume == Resume::ticket ? 1 : 0);
    if (c.resume == Resume::session_id) {
      SSL_CTX_set_session_cache_mode(sctx_, SSL_SESS_CACHE_SERVER);
      ok = ok && SSL_CTX_set_session_id_context(
                     sctx_, reinterpret_cast<const unsigned char*>("bench"), 5) == 1;
    } else {
      SSL_CTX_set_session_cache_mode(sctx_, SSL_SESS_CACHE_OFF);
    }
    if (!ok) {
      std::fprintf(stderr, "bench: OpenSSL setup failed: ");
      ERR_print_errors_fp(stderr);
      std::abort();
    }
  }
  ~OpensslContext() override {
    SSL_SESSION_free(saved_);
    SSL_CTX_free(cctx_);
    SSL_CTX_free(sctx_);
  }

  std::unique_ptr<Pair> make_pair() override {
    bool ok = false;
    auto pair = std::make_unique<OpensslPair>(cctx_, sctx_, saved_, &ok);
    if (!ok) return nullptr;
    return pair;
  }

  bool prime() override {
    SSL_SESSION_free(saved_);
    saved_ = nullptr;
    auto pair = make_pair();
    if (!pair || !pair->handshake()) return false;
    saved_ = SSL_get1_session(static_cast<OpensslPair&>(*pair).client());
    return saved_ != nullptr && SSL_SESSION_is_resumable(saved_) == 1;
  }

 private:
  Case case_;
  SSL_CTX* cctx_ = nullptr;
  SSL_CTX* sctx_ = nullptr;
  SSL_SESSION* saved_ = nullptr;
};

}  // namespace

std::unique_ptr<Context> make_openssl_context(const Case& c) {
  return std::make_unique<OpensslContext>(c);
}

}  // namespace bench
