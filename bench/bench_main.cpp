// sanstls_bench: every figure, for every system, with Google Benchmark.
// Names: <figure>/<system>/<case...>; systems: sanstls, mbedtls (raw), openssl,
// floor (PSA crypto floor). Run with --benchmark_format=json for
// scripts/bench.sh; --benchmark_list_tests lists them.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "support.h"

using namespace bench;

namespace {

const System kSystems[] = {System::sanstls, System::mbedtls, System::openssl};

void handshakes(benchmark::State& state, System system, Case c) {
  auto ctx = make_context(system, c);
  if (c.resume != Resume::full && !ctx->prime()) {
    state.SkipWithError("prime failed");
    return;
  }
  for (auto _ : state) {
    auto pair = ctx->make_pair();
    if (!pair || !pair->handshake() || (c.resume != Resume::full && !pair->resumed())) {
      state.SkipWithError(c.resume != Resume::full && pair ? "not resumed" : "handshake failed");
      return;
    }
  }
  state.counters["handshakes_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void floor_handshakes(benchmark::State& state, Case c) {
  auto floor = make_crypto_floor(c);
  for (auto _ : state) {
    if (!floor->handshake()) {
      state.SkipWithError("floor failed");
      return;
    }
  }
  state.counters["handshakes_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void transfers(benchmark::State& state, System system, Case c, size_t bytes, size_t chunk,
               bool both) {
  auto ctx = make_context(system, c);
  auto pair = ctx->make_pair();
  if (!pair || !pair->handshake() || !pair->transfer(65536, chunk, both)) {
    state.SkipWithError("setup failed");
    return;
  }
  for (auto _ : state) {
    if (!pair->transfer(bytes, chunk, both)) {
      state.SkipWithError("transfer failed");
      return;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes * (both ? 2 : 1)));
}

void floor_transfers(benchmark::State& state, Case c, size_t bytes, size_t chunk, bool both) {
  auto floor = make_crypto_floor(c);
  for (auto _ : state) {
    if (!floor->transfer(bytes, chunk, both)) {
      state.SkipWithError("floor failed");
      return;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes * (both ? 2 : 1)));
}

template <class F>
void reg(const std::string& name, F&& f) {
  // CPU time: everything is single-threaded and in memory, and the CPU
  // clock is far less disturbed than wall time on a shared machine.
  benchmark::RegisterBenchmark(name.c_str(), std::forward<F>(f));
}

}  // namespace

int main(int argc, char** argv) {
  // Full handshakes: version x certificate x group.
  for (int version : {13, 12})
    for (Key key : {Key::ecdsa, Key::rsa})
      for (Group group : {Group::x25519, Group::p256}) {
        Case c;
        c.version = version;
        c.key = key;
        c.group = group;
        for (System s : kSystems)
          reg("handshake/" + std::string(system_name(s)) + "/" + case_name(c),
              [s, c](benchmark::State& st) { handshakes(st, s, c); });
        reg("handshake/floor/" + case_name(c),
            [c](benchmark::State& st) { floor_handshakes(st, c); });
      }
  // Resumption (ECDSA P-256 certificate, X25519).
  struct R {
    const char* name;
    int version;
    Resume resume;
  };
  for (R r : {R{"tls13_ticket", 13, Resume::ticket}, R{"tls12_ticket", 12, Resume::ticket},
              R{"tls12_session_id", 12, Resume::session_id}}) {
    Case c;
    c.version = r.version;
    c.resume = r.resume;
    for (System s : kSystems)
      reg("resume/" + std::string(system_name(s)) + "/" + r.name,
          [s, c](benchmark::State& st) { handshakes(st, s, c); });
    if (r.version == 13)
      reg(std::string("resume/floor/") + r.name,
          [c](benchmark::State& st) { floor_handshakes(st, c); });
  }
  // Bulk: TLS 1.3, suite x direction x write size. 256 KiB per iteration.
  for (Suite suite : {Suite::aes128gcm, Suite::chacha20})
    for (bool both : {false, true})
      for (size_t chunk : {size_t{16384}, size_t{1024}}) {
        Case c;
        c.suite = suite;
        const std::string tail = std::string(suite_name(suite)) + (both ? "/both/" : "/oneway/") +
                                 (chunk == 16384 ? "16k" : "1k");
        const size_t bytes = 256 * 1024;
        for (System s : kSystems)
          reg("bulk/" + std::string(system_name(s)) + "/" + tail,
              [=](benchmark::State& st) { transfers(st, s, c, bytes, chunk, both); });
        reg("bulk/floor/" + tail,
            [=](benchmark::State& st) { floor_transfers(st, c, bytes, chunk, both); });
      }
  // Latency of one small record (64 bytes) write -> decrypted read.
  {
    Case c;
    for (System s : kSystems)
      reg("latency/" + std::string(system_name(s)) + "/64B",
          [=](benchmark::State& st) { transfers(st, s, c, 64, 64, false); });
    reg("latency/floor/64B", [=](benchmark::State& st) { floor_transfers(st, c, 64, 64, false); });
  }
  // Individual PSA primitives (the floor's parts; the options study's lens).
  {
    struct P {
      const char* name;
      Key key;
      Group group;
      int version;
      int op;  // 0 keygen, 1 agree, 2 sign, 3 verify
    };
    for (P p : {P{"keygen/x25519", Key::ecdsa, Group::x25519, 13, 0},
                P{"keygen/p256", Key::ecdsa, Group::p256, 13, 0},
                P{"ecdh/x25519", Key::ecdsa, Group::x25519, 13, 1},
                P{"ecdh/p256", Key::ecdsa, Group::p256, 13, 1},
                P{"sign/ecdsa_p256", Key::ecdsa, Group::x25519, 13, 2},
                P{"verify/ecdsa_p256", Key::ecdsa, Group::x25519, 13, 3},
                P{"sign/rsa2048_pss", Key::rsa, Group::x25519, 13, 2},
                P{"verify/rsa2048_pss", Key::rsa, Group::x25519, 13, 3}}) {
      Case c;
      c.key = p.key;
      c.group = p.group;
      c.version = p.version;
      reg(std::string("crypto/floor/") + p.name, [c, p](benchmark::State& st) {
        auto f = make_crypto_floor(c);
        for (auto _ : st) {
          bool ok = p.op == 0   ? f->keygen()
                    : p.op == 1 ? f->agree()
                    : p.op == 2 ? f->sign()
                                : f->verify();
          if (!ok) {
            st.SkipWithError("op failed");
            return;
          }
        }
        st.counters["ops_per_s"] =
            benchmark::Counter(static_cast<double>(st.iterations()), benchmark::Counter::kIsRate);
      });
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
