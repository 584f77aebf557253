/*
 * sanstls_firmware_cert.h - firmware profile "cert": a TLS 1.3 client that
 * verifies the server's ECDSA P-256 certificate chain (X.509), as well as
 * the PSK modes. Budget: 128 KB flash for the TLS part, 48 KB RAM at peak.
 */
#ifndef SANSTLS_FIRMWARE_CERT_H
#define SANSTLS_FIRMWARE_CERT_H
#define SANSTLS_FIRMWARE_CERT_PROFILE /* for sanstls_firmware_psa.h */
#include "sanstls_firmware_common.h"

#define MBEDTLS_HAVE_TIME_DATE /* certificate validity (gmtime_r) */
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
#define MBEDTLS_SSL_SERVER_NAME_INDICATION /* needs X.509 in mbedTLS 3.6 */
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C /* ECDSA signature format conversion */
#define MBEDTLS_OID_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_PEM_PARSE_C /* trust anchors given as PEM */
#define MBEDTLS_BASE64_C
#endif
