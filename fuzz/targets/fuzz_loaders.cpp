// fuzz_loaders: ConfigBuilder certificate/key/passphrase/trust-anchor and list
// parsing with arbitrary PEM/DER (fuzz/harness/loaders.cpp).
#include "harness/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sanstls::fuzz::run_loaders(data, size);
}
