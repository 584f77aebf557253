#define MBEDTLS_ALLOW_PRIVATE_ACCESS
#include "raw_record_peer.h"

#include <stdlib.h>
#include <string.h>

#include "mbedtls/ssl.h"
#include "psa/crypto.h"
#include "ssl_misc.h"

struct fuzz_peer {
  mbedtls_ssl_context ssl;
  mbedtls_ssl_config conf;
  uint64_t rng_state;
  uint8_t in[65536];
  size_t in_len;
  uint8_t out[65536];
  size_t out_len;
};

static int peer_rng(void* ctx, unsigned char* out, size_t len) {
  fuzz_peer* peer = (fuzz_peer*)ctx;
  for (size_t i = 0; i < len; ++i) {
    peer->rng_state = peer->rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    out[i] = (unsigned char)(peer->rng_state >> 56);
  }
  return 0;
}

static int peer_rng_seeded(void* ctx, unsigned char* out, size_t len) {
  uint64_t* state = (uint64_t*)ctx;
  for (size_t i = 0; i < len; ++i) {
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    out[i] = (unsigned char)(*state >> 56);
  }
  return 0;
}

static int peer_send(void* ctx, const unsigned char* buf, size_t len) {
  fuzz_peer* peer = (fuzz_peer*)ctx;
  if (len > sizeof peer->out - peer->out_len) {
    if (peer->out_len == sizeof peer->out) return MBEDTLS_ERR_SSL_WANT_WRITE;
    len = sizeof peer->out - peer->out_len;
  }
  memcpy(peer->out + peer->out_len, buf, len);
  peer->out_len += len;
  return (int)len;
}

static int peer_recv(void* ctx, unsigned char* buf, size_t len) {
  fuzz_peer* peer = (fuzz_peer*)ctx;
  if (peer->in_len == 0) return MBEDTLS_ERR_SSL_WANT_READ;
  if (len > peer->in_len) len = peer->in_len;
  memcpy(buf, peer->in, len);
  memmove(peer->in, peer->in + len, peer->in_len - len);
  peer->in_len -= len;
  return (int)len;
}

/* The server identity, parsed once per process (parsing an EC key derives
 * its public point: too slow to repeat for every input). Read-only after. */
static mbedtls_x509_crt g_cert;
static mbedtls_pk_context g_key;
static int g_identity_state; /* 0 not yet, 1 ready, -1 failed */

static int load_identity(const char* cert_pem, const char* key_pem) {
  if (g_identity_state == 0) {
    uint64_t seed = 999;
    mbedtls_x509_crt_init(&g_cert);
    mbedtls_pk_init(&g_key);
    g_identity_state =
        mbedtls_x509_crt_parse(&g_cert, (const unsigned char*)cert_pem, strlen(cert_pem) + 1) ==
                    0 &&
                mbedtls_pk_parse_key(&g_key, (const unsigned char*)key_pem, strlen(key_pem) + 1,
                                     NULL, 0, peer_rng_seeded, &seed) == 0
            ? 1
            : -1;
  }
  return g_identity_state == 1;
}

fuzz_peer* fuzz_peer_new(int is_server, int tls13, const char* cert_pem, const char* key_pem) {
  fuzz_peer* peer = (fuzz_peer*)calloc(1, sizeof *peer);
  if (peer == NULL) return NULL;
  peer->rng_state = 12345;
  mbedtls_ssl_init(&peer->ssl);
  mbedtls_ssl_config_init(&peer->conf);
  const mbedtls_ssl_protocol_version version =
      tls13 ? MBEDTLS_SSL_VERSION_TLS1_3 : MBEDTLS_SSL_VERSION_TLS1_2;
  int ok = psa_crypto_init() == PSA_SUCCESS &&
           mbedtls_ssl_config_defaults(
               &peer->conf, is_server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
               MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT) == 0;
  if (ok) {
    mbedtls_ssl_conf_min_tls_version(&peer->conf, version);
    mbedtls_ssl_conf_max_tls_version(&peer->conf, version);
    mbedtls_ssl_conf_rng(&peer->conf, peer_rng, peer);
    mbedtls_ssl_conf_authmode(&peer->conf, MBEDTLS_SSL_VERIFY_NONE);
#if defined(MBEDTLS_SSL_SESSION_TICKETS) && defined(MBEDTLS_SSL_SRV_C)
    if (is_server) mbedtls_ssl_conf_new_session_tickets(&peer->conf, 0);
#endif
  }
  if (ok && is_server) {
    ok = load_identity(cert_pem, key_pem) &&
         mbedtls_ssl_conf_own_cert(&peer->conf, &g_cert, &g_key) == 0;
  }
  ok = ok && mbedtls_ssl_setup(&peer->ssl, &peer->conf) == 0;
  if (!ok) {
    fuzz_peer_free(peer);
    return NULL;
  }
  mbedtls_ssl_set_bio(&peer->ssl, peer, peer_send, peer_recv, NULL);
  return peer;
}

void fuzz_peer_free(fuzz_peer* peer) {
  if (peer == NULL) return;
  mbedtls_ssl_free(&peer->ssl);
  mbedtls_ssl_config_free(&peer->conf);
  free(peer);
}

void fuzz_peer_feed(fuzz_peer* peer, const uint8_t* data, size_t len) {
  if (len > sizeof peer->in - peer->in_len) len = sizeof peer->in - peer->in_len;
  if (len == 0) return;
  memcpy(peer->in + peer->in_len, data, len);
  peer->in_len += len;
}

const uint8_t* fuzz_peer_output(const fuzz_peer* peer, size_t* len) {
  *len = peer->out_len;
  return peer->out;
}

void fuzz_peer_clear_output(fuzz_peer* peer) { peer->out_len = 0; }

int fuzz_peer_handshake(fuzz_peer* peer) {
  const int ret = mbedtls_ssl_handshake(&peer->ssl);
  if (ret == 0) return 0;
  if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) return 1;
  return ret;
}

int fuzz_peer_write(fuzz_peer* peer, const uint8_t* data, size_t len) {
  size_t done = 0;
  while (done < len) {
    const int ret = mbedtls_ssl_write(&peer->ssl, data + done, len - done);
    if (ret <= 0) return ret;
    done += (size_t)ret;
  }
  return (int)done;
}

int fuzz_peer_read_all(fuzz_peer* peer) {
  unsigned char buffer[4096];
  for (;;) {
    const int ret = mbedtls_ssl_read(&peer->ssl, buffer, sizeof buffer);
    if (ret > 0) continue;
    if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) return 0;
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
    if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) continue;
#endif
    return ret == 0 ? 0 : ret;
  }
}

int fuzz_peer_write_record(fuzz_peer* peer, uint8_t type, const uint8_t* payload, size_t len) {
  mbedtls_ssl_context* ssl = &peer->ssl;
  if (len > MBEDTLS_SSL_OUT_CONTENT_LEN) len = MBEDTLS_SSL_OUT_CONTENT_LEN;
  ssl->out_msgtype = type;
  if (len > 0) memcpy(ssl->out_msg, payload, len);
  ssl->out_msglen = len;
  return mbedtls_ssl_write_record(ssl, 1);
}

int fuzz_peer_close_notify(fuzz_peer* peer) { return mbedtls_ssl_close_notify(&peer->ssl); }

size_t fuzz_peer_max_payload(void) { return MBEDTLS_SSL_OUT_CONTENT_LEN; }
