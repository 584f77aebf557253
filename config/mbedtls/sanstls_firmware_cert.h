/*
 * sanstls_firmware_cert.h - firmware profile "cert": a TLS 1.3 client that
 * verifies the server's ECDSA P-256 certificate chain (X.509), as well as
 * the PSK modes. Budget: 128 KB flash for the TLS part, 48 KB RAM at peak.
 */
#ifndef SANSTLS_FIRMWARE_CERT_H
#define SANSTLS_FIRMWARE_CERT_H
#include "sanstls_firmware_common.h"
#endif
