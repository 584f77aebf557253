/*
 * sanstls_firmware_common.h - mbedTLS 3.6 settings shared by both firmware
 * profiles (a Cortex-M TLS 1.3 client; see docs/firmware.md). Included by
 * sanstls_firmware_psk.h and sanstls_firmware_cert.h, which are the
 * MBEDTLS_CONFIG_FILEs.
 *
 * Starts from the host configuration (which the core is written against)
 * and takes away what a bare-metal Cortex-M lacks or does not need:
 *   - no threads (SANSTLS_NO_THREADS in the core, no MBEDTLS_THREADING_C);
 *   - no OS entropy: PSA takes its random bytes from the Connection's
 *     injected RandomSource (MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG);
 *   - no x86 AES-NI; small record buffers; size-over-speed options.
 */
#ifndef SANSTLS_FIRMWARE_COMMON_H
#define SANSTLS_FIRMWARE_COMMON_H

#include "sanstls_mbedtls_config.h"

#undef MBEDTLS_THREADING_C
#undef MBEDTLS_THREADING_PTHREAD
#undef MBEDTLS_AESNI_C
#undef MBEDTLS_DEBUG_C
#undef MBEDTLS_VERSION_C
#undef MBEDTLS_ECDH_VARIANT_EVEREST_ENABLED  /* x86-oriented; ECP does X25519 */

/* Randomness is injected: PSA asks mbedtls_psa_external_get_random()
 * (src/core/mbedtls_hooks.cpp), which reads the Connection's RandomSource.
 * The board provides that source; our QEMU image uses a deterministic,
 * INSECURE test generator. */
#undef MBEDTLS_ENTROPY_C
#define MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG
#define MBEDTLS_PSA_KEY_SLOT_COUNT 8

/* Size over speed. */
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_AES_FEWER_TABLES
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_SHA512_SMALLER
#undef MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_WINDOW_SIZE 2
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 0
#define MBEDTLS_MPI_WINDOW_SIZE 2

/* Record buffers for small devices. Incoming records above 4 KB fail: peers
 * that do not support record_size_limit (OpenSSL 3.0) must be told to send
 * small records (s_server -max_send_frag). */
#define MBEDTLS_SSL_IN_CONTENT_LEN  4096
#define MBEDTLS_SSL_OUT_CONTENT_LEN 2048

#endif /* SANSTLS_FIRMWARE_COMMON_H */
