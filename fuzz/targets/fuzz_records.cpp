// fuzz_records: post-handshake traffic protected by a raw mbedTLS peer with its
// real keys, plus raw bytes and ciphertext mutations (fuzz/harness/records.cpp).
#include "harness/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sanstls::fuzz::run_records(data, size);
}
