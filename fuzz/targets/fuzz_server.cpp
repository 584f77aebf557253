// fuzz_server: client bytes into a server Connection from the ClientHello on;
// input [config][mode][client bytes] (fuzz/harness/harness.h).
#include "harness/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sanstls::fuzz::run_server(data, size);
}
