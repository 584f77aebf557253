// Checks the engine makes on handshake messages because mbedTLS 3.6.6 does
// not (flaws fixed in 3.6.7; docs/limitations.md lists each advisory). They
// read only what the record observers see, so they never touch mbedTLS state.
#pragma once

#include <cstdint>
#include <vector>

#include "sanstls/bytes.h"
#include "sanstls/config.h"
#include "sanstls/error.h"

namespace sanstls::detail {

struct AdvisoryGuards {
  // Client: the supported_groups of our first ClientHello.
  std::vector<uint16_t> offered_groups;
  bool offered_groups_known = false;
};

struct GuardVerdict {
  bool ok = true;
  ErrorCode code = ErrorCode::none;
  Alert alert = Alert::close_notify;  // sent in the clear: no keys are in use yet
  const char *message = "";
};

// A plaintext handshake message from the peer; `bytes_after` is what
// follows it in the same record.
GuardVerdict check_inbound_message(const AdvisoryGuards &guards, Role role, uint8_t type,
                                   ByteView body, size_t bytes_after);
// A plaintext handshake message we sent.
void note_outbound_message(AdvisoryGuards &guards, Role role, uint8_t type, ByteView body);

}  // namespace sanstls::detail
