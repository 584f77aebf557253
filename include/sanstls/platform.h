// OS-backed defaults for the core's injected sources, and file helpers.
// This is the only part of sanstls that reads the OS clock, the OS entropy
// pool or files; it is a separate library (sanstls::platform).
#pragma once

#include <string>
#include <vector>

#include "sanstls/result.h"
#include "sanstls/sources.h"

namespace sanstls::platform {

// getrandom(2)-backed randomness. Thread-safe, stateless.
RandomSource& os_random() noexcept;
// CLOCK_REALTIME. Thread-safe, stateless.
Clock& system_clock() noexcept;

// Reads a whole file (certificates, keys, CA bundles).
Result<std::vector<uint8_t>> read_file(const std::string& path);

// The system's CA bundle (Debian: /etc/ssl/certs/ca-certificates.crt; also
// honours SSL_CERT_FILE), as PEM bytes for ConfigBuilder::trust_anchors().
Result<std::vector<uint8_t>> system_trust_anchors();

}  // namespace sanstls::platform
