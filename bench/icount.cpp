// sanstls_bench_icount: fixed work for instruction counting under
//   valgrind --tool=callgrind --collect-atstart=no <this> <system> <mode> <n>
// system: sanstls | mbedtls | openssl | floor
// mode:   handshake       n full handshakes (TLS 1.3, ECDSA P-256, X25519, AES-128-GCM)
//         handshake12     the same in TLS 1.2
//         handshake_p256  TLS 1.3 with a P-256 key exchange
//         handshake_rsa   TLS 1.3 with the RSA-2048 certificate
//         bulk            n bytes client -> server in 16 KiB writes (TLS 1.3, AES-128-GCM)
//         bulk_chacha     the same with ChaCha20-Poly1305
// Only the measured loop is collected (CALLGRIND_TOGGLE_COLLECT); setup, a
// warm-up handshake and a warm-up transfer are not.
#include <valgrind/callgrind.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "support.h"

using namespace bench;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr,
                 "usage: %s sanstls|mbedtls|openssl|floor "
                 "handshake|handshake12|handshake_p256|handshake_rsa|bulk|bulk_chacha N\n",
                 argv[0]);
    return 2;
  }
  const std::string sys = argv[1], mode = argv[2];
  const long n = std::atol(argv[3]);
  Case c;
  if (mode == "handshake12") c.version = 12;
  if (mode == "handshake_p256") c.group = Group::p256;
  if (mode == "handshake_rsa") c.key = Key::rsa;
  if (mode == "bulk_chacha") c.suite = Suite::chacha20;
  const bool bulk = mode == "bulk" || mode == "bulk_chacha";
  if (sys == "floor") {
    auto f = make_crypto_floor(c);
    if (!f->handshake() || !f->transfer(65536, 16384, false)) return 1;
    CALLGRIND_TOGGLE_COLLECT;
    bool ok = true;
    if (bulk)
      ok = f->transfer(static_cast<size_t>(n), 16384, false);
    else
      for (long i = 0; i < n && ok; ++i) ok = f->handshake();
    CALLGRIND_TOGGLE_COLLECT;
    return ok ? 0 : 1;
  }
  System system = sys == "sanstls"   ? System::sanstls
                  : sys == "mbedtls" ? System::mbedtls
                  : sys == "openssl"
                      ? System::openssl
                      : (std::fprintf(stderr, "unknown system\n"), std::exit(2), System::sanstls);
  auto ctx = make_context(system, c);
  auto pair = ctx->make_pair();
  if (!pair || !pair->handshake() || !pair->transfer(65536, 16384, false)) {
    std::fprintf(stderr, "icount: warm-up failed\n");
    return 1;
  }
  bool ok = true;
  if (bulk) {
    CALLGRIND_TOGGLE_COLLECT;
    ok = pair->transfer(static_cast<size_t>(n), 16384, false);
    CALLGRIND_TOGGLE_COLLECT;
  } else {
    pair.reset();
    CALLGRIND_TOGGLE_COLLECT;
    for (long i = 0; i < n && ok; ++i) {
      auto p = ctx->make_pair();
      ok = p && p->handshake();
    }
    CALLGRIND_TOGGLE_COLLECT;
  }
  if (!ok) std::fprintf(stderr, "icount: run failed\n");
  return ok ? 0 : 1;
}
