#define MBEDTLS_ALLOW_PRIVATE_ACCESS
#include "raw_peer.h"

#include <stdlib.h>
#include <string.h>

#include "mbedtls/ssl.h"
#include "ssl_misc.h"

struct raw_peer {
  mbedtls_ssl_context ssl;
  mbedtls_ssl_config conf;
  mbedtls_x509_crt cert;
  mbedtls_pk_context key;
  uint64_t rng_state;
  uint8_t in[65536];
  size_t in_len;
  uint8_t out[65536];
  size_t out_len;
};

static int peer_rng(void* ctx, unsigned char* out, size_t len) {
  raw_peer* peer = (raw_peer*)ctx;
  for (size_t i = 0; i < len; ++i) {
    peer->rng_state = peer->rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    out[i] = (unsigned char)(peer->rng_state >> 56);
  }
  return 0;
}

static int peer_send(void* ctx, const unsigned char* buf, size_t len) {
  raw_peer* peer = (raw_peer*)ctx;
  if (len > sizeof peer->out - peer->out_len) return MBEDTLS_ERR_SSL_WANT_WRITE;
  memcpy(peer->out + peer->out_len, buf, len);
  peer->out_len += len;
  return (int)len;
}

static int peer_recv(void* ctx, unsigned char* buf, size_t len) {
  raw_peer* peer = (raw_peer*)ctx;
  if (peer->in_len == 0) return MBEDTLS_ERR_SSL_WANT_READ;
  if (len > peer->in_len) len = peer->in_len;
  memcpy(buf, peer->in, len);
  memmove(peer->in, peer->in + len, peer->in_len - len);
  peer->in_len -= len;
  return (int)len;
}

raw_peer* raw_peer_new_server(const char* cert_pem, const char* key_pem) {
  return raw_peer_new_server_version(cert_pem, key_pem, 0x0304);
}

raw_peer* raw_peer_new_server_version(const char* cert_pem, const char* key_pem, int version) {
  raw_peer* peer = (raw_peer*)calloc(1, sizeof *peer);
  if (peer == NULL) return NULL;
  peer->rng_state = 12345;
  mbedtls_ssl_init(&peer->ssl);
  mbedtls_ssl_config_init(&peer->conf);
  mbedtls_x509_crt_init(&peer->cert);
  mbedtls_pk_init(&peer->key);
  int ok =
      mbedtls_x509_crt_parse(&peer->cert, (const unsigned char*)cert_pem, strlen(cert_pem) + 1) ==
          0 &&
      mbedtls_pk_parse_key(&peer->key, (const unsigned char*)key_pem, strlen(key_pem) + 1, NULL, 0,
                           peer_rng, peer) == 0 &&
      mbedtls_ssl_config_defaults(&peer->conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                  MBEDTLS_SSL_PRESET_DEFAULT) == 0;
  if (ok) {
    mbedtls_ssl_conf_min_tls_version(&peer->conf, (mbedtls_ssl_protocol_version)version);
    mbedtls_ssl_conf_max_tls_version(&peer->conf, (mbedtls_ssl_protocol_version)version);
    mbedtls_ssl_conf_rng(&peer->conf, peer_rng, peer);
    mbedtls_ssl_conf_new_session_tickets(&peer->conf, 0);
    ok = mbedtls_ssl_conf_own_cert(&peer->conf, &peer->cert, &peer->key) == 0 &&
         mbedtls_ssl_setup(&peer->ssl, &peer->conf) == 0;
  }
  if (!ok) {
    raw_peer_free(peer);
    return NULL;
  }
  mbedtls_ssl_set_bio(&peer->ssl, peer, peer_send, peer_recv, NULL);
  return peer;
}

void raw_peer_disable_extended_master_secret(raw_peer* peer) {
  mbedtls_ssl_conf_extended_master_secret(&peer->conf, MBEDTLS_SSL_EXTENDED_MS_DISABLED);
}

void raw_peer_free(raw_peer* peer) {
  if (peer == NULL) return;
  mbedtls_ssl_free(&peer->ssl);
  mbedtls_ssl_config_free(&peer->conf);
  mbedtls_pk_free(&peer->key);
  mbedtls_x509_crt_free(&peer->cert);
  free(peer);
}

void raw_peer_feed(raw_peer* peer, const uint8_t* data, size_t len) {
  if (len > sizeof peer->in - peer->in_len) len = sizeof peer->in - peer->in_len;
  memcpy(peer->in + peer->in_len, data, len);
  peer->in_len += len;
}

size_t raw_peer_take_output(raw_peer* peer, uint8_t* out, size_t capacity) {
  size_t n = peer->out_len < capacity ? peer->out_len : capacity;
  memcpy(out, peer->out, n);
  memmove(peer->out, peer->out + n, peer->out_len - n);
  peer->out_len -= n;
  return n;
}

int raw_peer_handshake(raw_peer* peer) {
  int ret = mbedtls_ssl_handshake(&peer->ssl);
  if (ret == 0) return 0;
  if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) return 1;
  return ret;
}

int raw_peer_write(raw_peer* peer, const uint8_t* data, size_t len) {
  return mbedtls_ssl_write(&peer->ssl, data, len);
}

int raw_peer_send_alert(raw_peer* peer, int level, int description) {
  return mbedtls_ssl_send_alert_message(&peer->ssl, (unsigned char)level,
                                        (unsigned char)description);
}

int raw_peer_send_change_cipher_spec(raw_peer* peer) {
  mbedtls_ssl_context* ssl = &peer->ssl;
  ssl->out_msgtype = MBEDTLS_SSL_MSG_CHANGE_CIPHER_SPEC;
  ssl->out_msg[0] = 1;
  ssl->out_msglen = 1;
  return mbedtls_ssl_write_record(ssl, 1);
}

int raw_peer_send_key_update(raw_peer* peer) {
  mbedtls_ssl_context* ssl = &peer->ssl;
  ssl->out_msgtype = MBEDTLS_SSL_MSG_HANDSHAKE;
  ssl->out_msg[0] = 24; /* key_update */
  ssl->out_msg[1] = 0;
  ssl->out_msg[2] = 0;
  ssl->out_msg[3] = 1;
  ssl->out_msg[4] = 0; /* update_not_requested */
  ssl->out_msglen = 5;
  return mbedtls_ssl_write_record(ssl, 1);
}

int raw_peer_read_fatal_alert(raw_peer* peer) {
  unsigned char sink[256];
  int ret = 0;
  for (int i = 0; i < 16; ++i) {
    ret = mbedtls_ssl_read(&peer->ssl, sink, sizeof sink);
    if (ret <= 0) break;
  }
  if (ret != MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) return -1;
  return peer->ssl.in_msg[1];
}
