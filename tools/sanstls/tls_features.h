// The feature flags beyond the basic policy: SNI contexts (--sni,
// --strict-sni), resumption (--tickets, --session-cache, --ticket-keys,
// --no-tickets), external PSKs (--psk, --psk-mode) and public key pins
// (--pin). Each helper reads its flags from Args and sets them on a builder;
// misuse throws UsageError, unreadable files and bad keys throw Fatal.
#pragma once

#include "options.h"
#include "sanstls/config.h"

namespace sanstls_cli {

// Servers: --tickets N, --session-cache N, --ticket-keys FILE (read, or
// generated and written when FILE does not exist, so servers can share it).
void apply_server_resumption(sanstls::ConfigBuilder& builder, const Args& args);
// Servers: every --psk IDENTITY:HEXKEY into a lookup map, and --psk-mode.
void apply_server_psk(sanstls::ConfigBuilder& builder, const Args& args);
// Servers: each --sni NAME:CERTFILE:KEYFILE becomes a context built from
// `base` (the shared flags) plus that identity; then --strict-sni.
void apply_sni(sanstls::ConfigBuilder& main, const sanstls::ConfigBuilder& base, const Args& args);

// Clients: --psk IDENTITY:HEXKEY and --psk-mode, --pin (repeatable), --no-tickets.
void apply_client_features(sanstls::ConfigBuilder& builder, const Args& args);

}  // namespace sanstls_cli
