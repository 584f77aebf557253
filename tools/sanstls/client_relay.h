// The client's data phase after the handshake: either send one string and
// read the answer (--send), or relay standard input to the connection and
// the connection to standard output. Received data goes to stdout, or is
// captured for the --json report.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "sanstls/adapters/blocking.h"

namespace sanstls_cli {

struct ClientSink {
  bool capture = false;  // --json: keep (up to 64 KiB) instead of printing
  std::string captured;
  uint64_t bytes = 0;
  void deliver(const uint8_t* data, size_t size);
};

struct DataPhase {
  sanstls::blocking::Milliseconds timeout{30000};
  bool half_close = true;  // send close_notify once our side has nothing more to say
  // --renegotiate: ask for one TLS 1.2 renegotiation (after --send's data, or
  // before relaying standard input). master_secrets counts the master
  // secrets derived (the Config's key log callback); one more means the new
  // handshake ran. *renegotiated says whether it completed.
  const std::atomic<uint64_t>* master_secrets = nullptr;
  bool* renegotiated = nullptr;
};

// Sends `data`, then reads until the peer's close_notify or the timeout.
sanstls::Error send_then_receive(sanstls::blocking::Stream& stream, const std::string& data,
                                 const DataPhase& phase, ClientSink& sink);

// stdin -> TLS and TLS -> sink. On stdin EOF: close_notify, then keep
// reading until the peer closes (bounded by the timeout).
sanstls::Error relay_stdio(sanstls::blocking::Stream& stream, const DataPhase& phase,
                           ClientSink& sink);

}  // namespace sanstls_cli
