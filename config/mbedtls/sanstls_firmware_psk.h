/*
 * sanstls_firmware_psk.h - firmware profile "psk": a TLS 1.3 client with an
 * external PSK (psk_ke and psk_dhe_ke with X25519), AES-128-GCM.
 * Budget: 64 KB flash for the TLS part, 32 KB RAM at peak.
 */
#ifndef SANSTLS_FIRMWARE_PSK_H
#define SANSTLS_FIRMWARE_PSK_H
#include "sanstls_firmware_common.h"
#endif
