// fuzz_client: server bytes into a client Connection after its ClientHello;
// input [config][mode][server bytes] (fuzz/harness/harness.h).
#include "harness/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sanstls::fuzz::run_client(data, size);
}
