// fuzz_ticketkeys: TicketKeys::from_bytes (the CLI's --ticket-keys file) and
// ticket open/seal/rotate; input [len u16][keys][ticket] (fuzz/harness/ticketkeys.cpp).
#include "harness/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sanstls::fuzz::run_ticketkeys(data, size);
}
