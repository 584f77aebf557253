/*
 * sanstls_firmware_psa.h - the PSA crypto configuration of the firmware
 * profiles (MBEDTLS_PSA_CRYPTO_CONFIG_FILE, see sanstls_firmware_common.h).
 * Without it mbedTLS 3.6 derives PSA's algorithm set from the legacy options
 * and so builds in, for example, the TLS 1.2 PRF and PSK-to-master-secret
 * key derivations, which a TLS 1.3 client never runs. Listing only what TLS
 * 1.3 needs here takes them out of PSA's dispatch code.
 */
#ifndef SANSTLS_FIRMWARE_PSA_H
#define SANSTLS_FIRMWARE_PSA_H

/* The key schedule: SHA-256, HMAC, HKDF-Extract and HKDF-Expand. */
#define PSA_WANT_ALG_SHA_256 1
#define PSA_WANT_ALG_HMAC 1
#define PSA_WANT_KEY_TYPE_HMAC 1
#define PSA_WANT_ALG_HKDF_EXTRACT 1
#define PSA_WANT_ALG_HKDF_EXPAND 1
#define PSA_WANT_KEY_TYPE_DERIVE 1
#define PSA_WANT_KEY_TYPE_RAW_DATA 1

/* The one AEAD. */
#if defined(SANSTLS_FIRMWARE_AES_GCM)
#define PSA_WANT_ALG_GCM 1
#define PSA_WANT_KEY_TYPE_AES 1
#else
#define PSA_WANT_ALG_CHACHA20_POLY1305 1
#define PSA_WANT_KEY_TYPE_CHACHA20 1
#endif

/* Key exchange: X25519 (psk_dhe_ke, and ECDHE in the cert profile). */
#define PSA_WANT_ALG_ECDH 1
#define PSA_WANT_ECC_MONTGOMERY_255 1
#define PSA_WANT_KEY_TYPE_ECC_PUBLIC_KEY 1
#define PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_BASIC 1
#define PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_IMPORT 1
#define PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_EXPORT 1
#define PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_GENERATE 1

/* The cert profile: the server's ECDSA P-256 signatures (verification). */
#if defined(SANSTLS_FIRMWARE_CERT_PROFILE)
#define PSA_WANT_ALG_ECDSA 1
#define PSA_WANT_ECC_SECP_R1_256 1
#endif

#endif /* SANSTLS_FIRMWARE_PSA_H */
