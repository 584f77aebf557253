// fuzz_connect_reply: the HTTP CONNECT client's reply parser with arbitrary
// proxy bytes (fuzz/harness/connect_reply.cpp).
#include "harness/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sanstls::fuzz::run_connect_reply(data, size);
}
