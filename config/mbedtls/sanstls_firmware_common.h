/*
 * sanstls_firmware_common.h - mbedTLS 3.6 settings shared by both firmware
 * profiles (a Cortex-M TLS 1.3 client; see docs/firmware.md). Included by
 * sanstls_firmware_psk.h and sanstls_firmware_cert.h, which are the
 * MBEDTLS_CONFIG_FILEs; everything not listed is OFF.
 *
 * Differences from the host configuration (sanstls_mbedtls_config.h):
 *   - TLS 1.3 client only: no TLS 1.2, no server, no tickets, no 0-RTT; the
 *     core compiles those parts out (they key on the same mbedTLS macros);
 *   - no threads (SANSTLS_NO_THREADS in the core, no MBEDTLS_THREADING_C);
 *   - no OS entropy: PSA takes its random bytes from the Connection's
 *     injected RandomSource (MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG);
 *   - one AEAD (ChaCha20-Poly1305, or AES-128-GCM), SHA-256, small record buffers, and
 *     size-over-speed options everywhere; no error strings.
 */
#ifndef SANSTLS_FIRMWARE_COMMON_H
#define SANSTLS_FIRMWARE_COMMON_H

/* --- System ---------------------------------------------------------------- */
#define MBEDTLS_HAVE_TIME /* the clock is injected (hooks below) */
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_PLATFORM_CALLOC_MACRO sanstls_mbedtls_calloc
#define MBEDTLS_PLATFORM_FREE_MACRO sanstls_mbedtls_free
#define MBEDTLS_PLATFORM_TIME_ALT
#define MBEDTLS_PLATFORM_STD_TIME sanstls_mbedtls_time
#define MBEDTLS_PLATFORM_MS_TIME_ALT
/* No MBEDTLS_ERROR_C (13 KB of strings), MBEDTLS_DEBUG_C, MBEDTLS_VERSION_C:
 * the engine reports its own named errors. */

/* --- Randomness: injected ---------------------------------------------------
 * PSA asks mbedtls_psa_external_get_random() (src/core/mbedtls_hooks.cpp),
 * which reads the Connection's RandomSource. The board provides that source;
 * our QEMU image uses a deterministic, INSECURE test generator. */
/* No CTR_DRBG either: the core's mbedtls_ssl_conf_rng reads the RandomSource. */
#define MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG

/* --- PSA crypto (TLS 1.3 needs it), volatile keys only ---------------------- */
#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_USE_PSA_CRYPTO
/* PSA's algorithms listed explicitly: only what TLS 1.3 uses. */
#define MBEDTLS_PSA_CRYPTO_CONFIG
#define MBEDTLS_PSA_CRYPTO_CONFIG_FILE "sanstls_firmware_psa.h"
#define MBEDTLS_PSA_KEY_SLOT_COUNT 8

/* --- One AEAD -------------------------------------------------------------
 * ChaCha20-Poly1305 by default: in software it is smaller than AES-GCM (3 KB
 * less flash, no AES tables), faster, and constant-time by design. Define
 * SANSTLS_FIRMWARE_AES_GCM (CMake: -DSANSTLS_FIRMWARE_AEAD=aes-128-gcm) for
 * AES-128-GCM instead, for example to put a chip's AES accelerator behind
 * a PSA driver. */
#if defined(SANSTLS_FIRMWARE_AES_GCM)
#define MBEDTLS_CIPHER_C
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_AES_FEWER_TABLES
#define MBEDTLS_AES_ONLY_128_BIT_KEY_LENGTH
#define MBEDTLS_BLOCK_CIPHER_NO_DECRYPT /* GCM only encrypts */
#define MBEDTLS_GCM_C
#define SANSTLS_FIRMWARE_SUITE MBEDTLS_TLS1_3_AES_128_GCM_SHA256
#else
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
#define SANSTLS_FIRMWARE_SUITE MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256
#endif

/* --- Hashes ---------------------------------------------------------------- */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_HKDF_C

/* --- Key exchange: X25519 (psk_dhe_ke) ------------------------------------- */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECP_WINDOW_SIZE 2
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 0
#define MBEDTLS_MPI_WINDOW_SIZE 1
#define MBEDTLS_MPI_MAX_SIZE 32
#define MBEDTLS_HAVE_ASM /* Thumb-2 multiply-accumulate in bn_mul.h */

/* --- TLS 1.3 client ------------------------------------------------------------ */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_3
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE /* mbedTLS's TLS 1.3 requires it */
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_ENABLED
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL_ENABLED
#define MBEDTLS_SSL_RECORD_SIZE_LIMIT /* RFC 8449 where the peer supports it */
/* Servers send NewSessionTickets after every TLS 1.3 handshake; without
 * this mbedTLS treats them as unexpected messages. Also gives resumption. */
#define MBEDTLS_SSL_SESSION_TICKETS
#define MBEDTLS_SSL_ALPN /* e.g. MQTT over TLS on port 443 */
#define MBEDTLS_SSL_KEYING_MATERIAL_EXPORT
/* Record buffers for small devices. Incoming records above 4 KB fail: peers
 * that do not support record_size_limit (OpenSSL 3.0) must be told to send
 * small records (s_server -max_send_frag). */
#define MBEDTLS_SSL_IN_CONTENT_LEN 4096
#define MBEDTLS_SSL_OUT_CONTENT_LEN 2048
#define MBEDTLS_SSL_CIPHERSUITES SANSTLS_FIRMWARE_SUITE

/* --- Hook prototypes (implemented in src/core) ----------------------------- */
#if !defined(__ASSEMBLER__)
#include <stddef.h>
#include <time.h>
#ifdef __cplusplus
extern "C" {
#endif
void* sanstls_mbedtls_calloc(size_t nmemb, size_t size);
void sanstls_mbedtls_free(void* ptr);
time_t sanstls_mbedtls_time(time_t* timer);
#ifdef __cplusplus
}
#endif
#endif

#endif /* SANSTLS_FIRMWARE_COMMON_H */
