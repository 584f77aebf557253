// A TLS peer driven by raw mbedTLS, outside our engine, for what the engine
// must survive but never sends itself (a TLS 1.3 KeyUpdate, warning alerts). Written in C
// because it reaches into mbedTLS internals (ssl_misc.h).
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct raw_peer raw_peer;

// A TLS 1.3-only server with the given PEM identity. NULL on failure.
raw_peer* raw_peer_new_server(const char* cert_pem, const char* key_pem);
// The same for one version: 0x0303 (TLS 1.2) or 0x0304 (TLS 1.3).
raw_peer* raw_peer_new_server_version(const char* cert_pem, const char* key_pem, int version);
void raw_peer_free(raw_peer* peer);
// Before the handshake: a TLS 1.2 server that does not negotiate the
// extended master secret (RFC 7627).
void raw_peer_disable_extended_master_secret(raw_peer* peer);
// Appends ciphertext from the other side.
void raw_peer_feed(raw_peer* peer, const uint8_t* data, size_t len);
// Moves queued ciphertext out; returns bytes written to `out`.
size_t raw_peer_take_output(raw_peer* peer, uint8_t* out, size_t capacity);
// Runs the handshake: 0 when complete, 1 while it needs more input, <0 on error.
int raw_peer_handshake(raw_peer* peer);
// Sends application data; returns bytes sent or <0.
int raw_peer_write(raw_peer* peer, const uint8_t* data, size_t len);
// Sends an alert of any level (1 warning, 2 fatal) under the current keys.
int raw_peer_send_alert(raw_peer* peer, int level, int description);
// Sends a ChangeCipherSpec record under the current keys (protected, in
// TLS 1.3 once keys are in use).
int raw_peer_send_change_cipher_spec(raw_peer* peer);
// Sends a TLS 1.3 KeyUpdate(update_not_requested) under the current keys.
int raw_peer_send_key_update(raw_peer* peer);
// Reads what was fed: the description of the fatal alert it holds, or -1
// when it holds none.
int raw_peer_read_fatal_alert(raw_peer* peer);

#ifdef __cplusplus
}
#endif
