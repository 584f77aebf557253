// fuzz_sessions: arbitrary saved-session blobs into Connection::client(config,
// name, blob), then the resuming handshake; input [config][len u16][blob]
// [mode][server bytes] (fuzz/harness/sessions.cpp).
#include "harness/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sanstls::fuzz::run_sessions(data, size);
}
