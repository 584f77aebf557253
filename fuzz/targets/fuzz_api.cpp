// fuzz_api: API interleavings on a client/server pair, engine contract checked
// with __builtin_trap() (fuzz/harness/api.cpp).
#include "harness/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sanstls::fuzz::run_api(data, size);
}
