// One accepted connection of `sanstls server`: the handshake (with its
// timeout), then --echo or --www, then close_notify. Returns what happened
// as one log line's worth of text plus the facts the statistics need.
#pragma once

#include <atomic>
#include <csignal>
#include <cstdint>
#include <string>

#include "sanstls/adapters/blocking.h"
#include "tls_config.h"

namespace sanstls_cli {

enum class ServeMode { echo, www };

struct ServeOptions {
  ServeMode mode = ServeMode::echo;
  // The engine's handshake timer (ConfigBuilder::handshake_timeout) ends a
  // stalled handshake; this is the adapter's backstop, a little later.
  sanstls::blocking::Milliseconds handshake_timeout{120000};
  sanstls::blocking::Milliseconds idle_timeout{60000};
  const volatile std::sig_atomic_t* stop = nullptr;  // set by SIGINT/SIGTERM
  bool early_data = false;                 // --early-data: log 0-RTT, serve it as the request's start
  KeyingMaterialRequest keying_material;   // --export-keying-material: log it
  // --renegotiation: TLS 1.2 master secrets derived so far (the Config's key
  // log callback counts them); the difference over a connection, minus its
  // first handshake, is logged as renegotiations=N.
  const std::atomic<uint64_t>* master_secrets = nullptr;
};

struct ServeOutcome {
  bool secure = false;           // the handshake completed
  sanstls::Error handshake_error;  // when it did not
  std::string description;       // "TLSv1.3 ... : closed cleanly, 42 bytes in, 512 bytes out"
};

ServeOutcome serve_connection(sanstls::blocking::Stream& stream, const ServeOptions& options);

}  // namespace sanstls_cli
