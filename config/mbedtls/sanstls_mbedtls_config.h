/*
 * sanstls_mbedtls_config.h - curated, complete mbedTLS 3.6 configuration.
 *
 * Used as MBEDTLS_CONFIG_FILE (replaces mbedtls/mbedtls_config.h entirely).
 * Everything not listed here is OFF.  mbedTLS 3.6 runs check_config.h on this
 * automatically via build_info.h, so an inconsistent edit fails the build.
 *
 * Design constraints of the sans-I/O engine:
 *   - TLS 1.2 + 1.3 over streams only (no DTLS, no sockets, no timers);
 *   - the core never touches the file system or the wall clock directly:
 *     memory, time and (for deterministic builds) randomness go through hooks
 *     that src/core implements (declared at the bottom of this file).
 */
#ifndef SANSTLS_MBEDTLS_CONFIG_H
#define SANSTLS_MBEDTLS_CONFIG_H

/* ---------------------------------------------------------------------------
 * System support
 * ------------------------------------------------------------------------- */
/* Inline asm for bignum and AES-NI. */
#define MBEDTLS_HAVE_ASM
/* Certificate validity and session lifetimes need time; the clock itself is
 * ours (see MBEDTLS_PLATFORM_TIME_ALT below).  gmtime_r() from libc is used
 * only to split a time_t into calendar fields. */
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE

/* Threads: Connections may run on different threads (connection.h), and
 * they share PSA's key-slot table, which mbedTLS guards only with
 * MBEDTLS_THREADING_C. Without it, concurrent TLS 1.3 handshakes on two
 * threads corrupt each other (seen with the epoll adapter's tests). The core
 * starts no thread; it only takes mbedTLS's mutexes. A firmware build
 * without threads leaves these out. */
#define MBEDTLS_THREADING_C
#define MBEDTLS_THREADING_PTHREAD

/* ---------------------------------------------------------------------------
 * Platform hooks: all allocation and all clock reads go through sanstls.
 * ------------------------------------------------------------------------- */
#define MBEDTLS_PLATFORM_C
/* Memory: compile-time redirection, so no function-pointer indirection and no
 * reference to libc calloc/free from mbedTLS. */
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_PLATFORM_CALLOC_MACRO sanstls_mbedtls_calloc
#define MBEDTLS_PLATFORM_FREE_MACRO sanstls_mbedtls_free
/* Seconds clock: library/platform.c initialises its mbedtls_time pointer with
 * MBEDTLS_PLATFORM_STD_TIME, so libc time() is never referenced. */
#define MBEDTLS_PLATFORM_TIME_ALT
#define MBEDTLS_PLATFORM_STD_TIME sanstls_mbedtls_time
/* Millisecond clock (TLS 1.3 ticket age, early data): we define
 * mbedtls_ms_time_t mbedtls_ms_time(void) ourselves; this removes the
 * clock_gettime() based default from library/platform_util.c. */
#define MBEDTLS_PLATFORM_MS_TIME_ALT
/* No mbedtls_fopen / *_file APIs: the core reads no files. */
/* #undef MBEDTLS_FS_IO */

/* ---------------------------------------------------------------------------
 * Diagnostics
 * ------------------------------------------------------------------------- */
/* mbedtls_strerror() for readable error reports. */
#define MBEDTLS_ERROR_C
/* mbedtls_version_get_string() for the demo / bug reports. */
#define MBEDTLS_VERSION_C
/* mbedtls_ssl_conf_dbg() tracing (handshake traces in tests and the demo).
 * MBEDTLS_SSL_DEBUG_ALL stays off: it only adds noisy, slow dumps. */
#define MBEDTLS_DEBUG_C

/* ---------------------------------------------------------------------------
 * Randomness
 * ------------------------------------------------------------------------- */
/* Entropy from the OS (getrandom) feeding CTR_DRBG/HMAC_DRBG; used by PSA and
 * by the TLS 1.2 code's f_rng. */
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C
/* HMAC_DRBG is also required by deterministic ECDSA (RFC 6979). */
#define MBEDTLS_HMAC_DRBG_C
#if defined(SANSTLS_DETERMINISTIC)
/* Fuzz/test builds only: PSA takes its random bytes from
 * mbedtls_psa_external_get_random(), which sanstls implements with a seeded,
 * reproducible generator.  Never enable in production. */
#define MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG
#endif

/* ---------------------------------------------------------------------------
 * PSA crypto core (required by TLS 1.3).  Volatile keys only: no persistent
 * key storage / ITS.  MBEDTLS_USE_PSA_CRYPTO stays off so the TLS 1.2 and X.509
 * code keep using the legacy APIs (no need for psa_crypto_init() before
 * parsing keys); PSA_WANT_* settings are derived from the legacy options
 * below (MBEDTLS_PSA_CRYPTO_CONFIG is off).
 * ------------------------------------------------------------------------- */
#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_PSA_KEY_STORE_DYNAMIC

/* ---------------------------------------------------------------------------
 * Symmetric ciphers and AEAD
 * ------------------------------------------------------------------------- */
#define MBEDTLS_CIPHER_C
/* AES with the x86-64 AES-NI/PCLMUL fast path (runtime-detected). */
#define MBEDTLS_AES_C
#define MBEDTLS_AESNI_C
/* TLS 1.2/1.3 AEAD suites. */
#define MBEDTLS_GCM_C
#define MBEDTLS_CCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
/* CBC: TLS 1.2 CBC suites (with ENCRYPT_THEN_MAC) and encrypted PEM/PKCS#8. */
#define MBEDTLS_CIPHER_MODE_CBC
#define MBEDTLS_CIPHER_PADDING_PKCS7
/* DES/3DES only to read legacy "DES-EDE3-CBC" encrypted PEM keys; no DES suites
 * exist in 3.6. */
#define MBEDTLS_DES_C

/* ---------------------------------------------------------------------------
 * Hashes, MACs, KDFs
 * ------------------------------------------------------------------------- */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA1_C /* TLS 1.2 HMAC-SHA1 suites, cert fingerprints, PKCS#12 */
#define MBEDTLS_SHA224_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_MD5_C    /* legacy OpenSSL-style encrypted PEM (EVP_BytesToKey) */
#define MBEDTLS_HKDF_C   /* enables PSA HKDF(-EXTRACT/-EXPAND) for TLS 1.3 */
#define MBEDTLS_PKCS5_C  /* PBKDF2/PBES2 encrypted PKCS#8 keys */
#define MBEDTLS_PKCS12_C /* PKCS#12 PBE encrypted keys */

/* ---------------------------------------------------------------------------
 * Public-key crypto
 * ------------------------------------------------------------------------- */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_GENPRIME /* RSA key generation in tests/tools */
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15 /* RSA signatures in TLS 1.2 and certificates */
#define MBEDTLS_PKCS1_V21 /* RSA-PSS: mandatory for TLS 1.3 */
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_NIST_OPTIM
/* The curves/groups anybody still negotiates. */
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_SECP521R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECP_DP_CURVE448_ENABLED
#define MBEDTLS_ECDH_C
/* Everest's formally verified X25519 (3rdparty/everest): about 8x faster key
 * agreement than the generic ECP code; bench/ measured -22% instructions per
 * TLS 1.3 handshake and -44% for TLS 1.2 (docs/performance.md). */
#define MBEDTLS_ECDH_VARIANT_EVEREST_ENABLED
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECDSA_DETERMINISTIC /* no RNG dependence when signing */
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_PK_PARSE_EC_EXTENDED
#define MBEDTLS_PK_PARSE_EC_COMPRESSED

/* ---------------------------------------------------------------------------
 * Encodings
 * ------------------------------------------------------------------------- */
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_OID_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_PEM_WRITE_C

/* ---------------------------------------------------------------------------
 * X.509: parsing and verification for TLS; writing for test certificates.
 * ------------------------------------------------------------------------- */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_CRL_PARSE_C
#define MBEDTLS_X509_CSR_PARSE_C
#define MBEDTLS_X509_CREATE_C
#define MBEDTLS_X509_CRT_WRITE_C
#define MBEDTLS_X509_RSASSA_PSS_SUPPORT
/* Lets the embedder supply trust anchors per certificate chain. */
#define MBEDTLS_X509_TRUSTED_CERTIFICATE_CALLBACK

/* ---------------------------------------------------------------------------
 * TLS: versions and roles
 * ------------------------------------------------------------------------- */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_PROTO_TLS1_3
/* Middlebox compatibility (RFC 8446 D.4): fake CCS + legacy session id. */
#define MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE
/* No DTLS, no sockets (MBEDTLS_NET_C), no timers (MBEDTLS_TIMING_C): the
 * engine is sans-I/O and drives time itself. */

/* TLS 1.3 key exchange modes: certificates, resumption PSK, PSK + (EC)DHE. */
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_ENABLED
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL_ENABLED

/* TLS 1.2 key exchanges: forward-secret ECDHE plus (EC)DHE-less PSK for IoT
 * peers.  Static RSA and finite-field DHE are deliberately off. */
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_PSK_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_PSK_ENABLED

/* ---------------------------------------------------------------------------
 * TLS: features
 * ------------------------------------------------------------------------- */
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_ALPN
#define MBEDTLS_SSL_SESSION_TICKETS
#define MBEDTLS_SSL_TICKET_C          /* server-side ticket keys */
#define MBEDTLS_SSL_CACHE_C           /* server-side session-id cache */
#define MBEDTLS_SSL_EARLY_DATA        /* TLS 1.3 0-RTT */
#define MBEDTLS_SSL_RECORD_SIZE_LIMIT /* RFC 8449 (TLS 1.3) */
#define MBEDTLS_SSL_MAX_FRAGMENT_LENGTH
#define MBEDTLS_SSL_KEYING_MATERIAL_EXPORT /* RFC 5705 / RFC 8446 7.5 exporters */
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE  /* required by TLS 1.3; lets us expose it */
#define MBEDTLS_SSL_RENEGOTIATION          /* TLS 1.2 only, off by default at runtime */
#define MBEDTLS_SSL_ENCRYPT_THEN_MAC
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES
#define MBEDTLS_SSL_CONTEXT_SERIALIZATION
/* Private-key operations may be delegated (HSM/remote signer) and resumed. */
#define MBEDTLS_SSL_ASYNC_PRIVATE

/* ---------------------------------------------------------------------------
 * Hook prototypes (implemented in src/core).  Declared here because the
 * macros above make mbedTLS sources call them directly.
 * ------------------------------------------------------------------------- */
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
#endif /* !__ASSEMBLER__ */

#endif /* SANSTLS_MBEDTLS_CONFIG_H */
