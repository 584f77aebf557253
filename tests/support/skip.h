// SANSTLS_SKIP(reason): SKIP() the current test case because something it
// needs is missing from this machine (a peer binary, IPv6 loopback), unless
// SANSTLS_REQUIRE_PEERS=1 is set (.ci/run sets it): then a missing
// prerequisite is a FAIL(), so CI cannot pass by skipping.
#pragma once

#include <cstdlib>
#include <cstring>

#include <catch2/catch_test_macros.hpp>

namespace sanstls::test {
inline bool peers_required() {
  const char* value = std::getenv("SANSTLS_REQUIRE_PEERS");
  return value != nullptr && std::strcmp(value, "1") == 0;
}
}  // namespace sanstls::test

#define SANSTLS_SKIP(reason)                                                            \
  do {                                                                                  \
    if (::sanstls::test::peers_required()) FAIL("SANSTLS_REQUIRE_PEERS=1: " << reason); \
    SKIP(reason);                                                                       \
  } while (false)
