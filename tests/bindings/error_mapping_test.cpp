// Every engine ErrorCode has a C code of the same stable name (sanstls.h).
// The C numbers are mapped by name, so codes appended to ErrorCode never shift
// them; this test fails when one is appended without its SANSTLS_* twin.
#include <cstdio>
#include <cstring>

#include "sanstls.h"
#include "sanstls/error.h"

sanstls_error_code sanstls_c_code_for_engine_code(sanstls::ErrorCode code) noexcept;

int main() {
  int mapped = 0;
  int failed = 0;
  for (unsigned raw = 0; raw < 4096; ++raw) {
    const auto code = static_cast<sanstls::ErrorCode>(raw);
    const char* name = sanstls::error_code_name(code);
    if (std::strcmp(name, "ERR_TLS_UNKNOWN") == 0) continue;  // not an engine code
    const sanstls_error_code c_code = sanstls_c_code_for_engine_code(code);
    if (c_code == SANSTLS_ERR_TLS_UNKNOWN ||
        std::strcmp(sanstls_error_code_name(c_code), name) != 0) {
      std::printf("engine code %u (%s) has no SANSTLS_%s in sanstls.h\n", raw, name, name);
      ++failed;
    } else {
      ++mapped;
    }
  }
  // The C numbers are fixed: spot-check a few against their documented values.
  if (SANSTLS_OK != 0 || SANSTLS_ERR_INVALID_ARG_VALUE != 1 || SANSTLS_ERR_TLS_INTERNAL != 71) {
    std::printf("C error numbers changed\n");
    ++failed;
  }
  std::printf("error_mapping: %d passed, %d failed\n", mapped, failed);
  return failed == 0 && mapped > 70 ? 0 : 1;
}
