// fuzz_connect_request: the proxy side's CONNECT request parser with
// arbitrary client bytes (fuzz/harness/connect_request.cpp).
#include "harness/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sanstls::fuzz::run_connect_request(data, size);
}
