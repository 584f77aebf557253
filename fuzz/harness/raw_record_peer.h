// A TLS peer driven by raw mbedTLS for fuzz_records: after a normal
// handshake it protects arbitrary (content type, payload) records with its
// real keys (mbedtls_ssl_write_record), which our engine never sends itself.
// C, because it reaches into mbedTLS internals (ssl_misc.h).
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fuzz_peer fuzz_peer;

// is_server: the peer's role; tls13: 1 for TLS 1.3 only, 0 for TLS 1.2 only.
// cert_pem/key_pem: the server identity (ignored for clients, which do not
// verify). NULL on failure.
fuzz_peer* fuzz_peer_new(int is_server, int tls13, const char* cert_pem, const char* key_pem);
void fuzz_peer_free(fuzz_peer* peer);
// Ciphertext from the engine (dropped beyond the peer's 64 KiB buffer).
void fuzz_peer_feed(fuzz_peer* peer, const uint8_t* data, size_t len);
// The peer's queued ciphertext; fuzz_peer_clear_output() drops it.
const uint8_t* fuzz_peer_output(const fuzz_peer* peer, size_t* len);
void fuzz_peer_clear_output(fuzz_peer* peer);
// 0 when complete, 1 while it needs input, <0 on error.
int fuzz_peer_handshake(fuzz_peer* peer);
int fuzz_peer_write(fuzz_peer* peer, const uint8_t* data, size_t len);
// Reads and discards application data until none is left; <0 on error.
int fuzz_peer_read_all(fuzz_peer* peer);
// One record of `type` with `payload` (clamped to the maximum record
// payload), protected under the current write keys.
int fuzz_peer_write_record(fuzz_peer* peer, uint8_t type, const uint8_t* payload, size_t len);
int fuzz_peer_close_notify(fuzz_peer* peer);
size_t fuzz_peer_max_payload(void);

#ifdef __cplusplus
}
#endif
