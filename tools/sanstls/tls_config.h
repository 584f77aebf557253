// Building a sanstls Config from the flags client and server share:
// versions, cipher suites, groups, ALPN, identities (--cert/--key pairs),
// trust anchors and the key log file. Problems that are not usage errors
// (unreadable files, a Config that does not build) throw Fatal, which the
// commands report as a staged error and exit status 1.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "options.h"
#include "sanstls/config.h"
#include "sanstls/connection.h"
#include "sanstls/error.h"

namespace sanstls_cli {

struct Fatal : std::runtime_error {
  explicit Fatal(const sanstls::Error& e) : std::runtime_error(e.message()), error(e) {}
  sanstls::Error error;
};

// A config-stage Error with `message` (truncated to the Error's capacity).
sanstls::Error config_error(const std::string& message);

std::vector<uint8_t> read_file_or_throw(const std::string& path, const char* what);

// --preset, --min-version, --max-version, --ciphers, --groups, --sigalgs,
// --alpn, --max-send-fragment, --trace.
void apply_policy(sanstls::ConfigBuilder& builder, const Args& args);

// --trace: one readable line per TraceEntry on stderr ("<< record handshake
// 201 bytes", "<< handshake ClientHello 197", ">> record application_data 32
// bytes (encrypted)", "<< alert fatal handshake_failure").
void print_trace(const sanstls::TraceEntry& entry);

// Lower-case hex.
std::string hex(const std::vector<uint8_t>& bytes);

// --export-keying-material LABEL:LENGTH (RFC 5705 / RFC 8446 7.5, no context).
struct KeyingMaterialRequest {
  std::string label;  // empty: not asked for
  size_t length = 0;
};
KeyingMaterialRequest parse_keying_material(const Args& args);
// The material as lower-case hex, after the handshake.
sanstls::Result<std::string> export_keying_material(const sanstls::Connection& connection,
                                                    const KeyingMaterialRequest& request);
// --cert/--key pairs (in order) with --passphrase.
void apply_identities(sanstls::ConfigBuilder& builder, const Args& args);
// --keylog FILE: appends NSS key log lines, flushed after each.
void apply_key_log(sanstls::ConfigBuilder& builder, const Args& args);

sanstls::Config build_or_throw(const sanstls::ConfigBuilder& builder);

}  // namespace sanstls_cli
