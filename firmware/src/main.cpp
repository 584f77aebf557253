// The firmware image: a TLS 1.3 client on a Cortex-M4 (QEMU mps2-an386),
// talking to a real TLS server through UART0, which QEMU connects to a TCP
// socket on the host (firmware/host/run_qemu.py, scripts/firmware.sh).
//
// It handshakes (PSK with X25519, or an ECDSA P-256 certificate chain,
// depending on the profile it was built with), sends one line, expects the
// server (openssl s_server -rev) to send it back reversed, closes, and prints
// one JSON line of measurements through semihosting.
#include <cstdio>
#include <cstring>
#include <optional>

#include "board.h"
#include "sanstls/sanstls.h"

using namespace sanstls;

extern "C" const unsigned char sanstls_fw_ca_der[];
extern "C" const unsigned sanstls_fw_ca_der_size;

namespace {

// TEST ONLY, INSECURE: every run with the same seed makes the same "random"
// bytes. A real board feeds its TRNG here (see docs/firmware.md).
struct HostSeed {
  uint64_t seed = 0;
  int64_t epoch_ms = 0;
};

// The engine's clock: the host's wall clock at boot plus SysTick since then.
class SysTickClock final : public Clock {
 public:
  explicit SysTickClock(int64_t boot_epoch_ms) : boot_(boot_epoch_ms) {}
  int64_t now_ms() noexcept override { return boot_ + static_cast<int64_t>(board_ms()); }

 private:
  int64_t boot_;
};

// "seed=N now_ms=M" from the semihosting command line (QEMU's arg=).
HostSeed read_host_arguments() {
  static char line[256];
  HostSeed out;
  if (semihost_cmdline(line, sizeof line) != 0) return out;
  for (char* word = std::strtok(line, " "); word != nullptr; word = std::strtok(nullptr, " ")) {
    if (std::strncmp(word, "seed=", 5) == 0) out.seed = std::strtoull(word + 5, nullptr, 10);
    if (std::strncmp(word, "now_ms=", 7) == 0) out.epoch_ms = std::strtoll(word + 7, nullptr, 10);
  }
  return out;
}

// The PSK the host gives openssl s_server too (scripts/firmware.sh).
constexpr char kPskIdentity[] = "sanstls-firmware";
constexpr uint8_t kPsk[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                              0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
// The one cipher suite the mbedTLS configuration builds in.
#if defined(SANSTLS_FIRMWARE_AES_GCM)
constexpr char kSuite[] = "TLS_AES_128_GCM_SHA256";
#else
constexpr char kSuite[] = "TLS_CHACHA20_POLY1305_SHA256";
#endif
constexpr char kLine[] = "hello from a cortex-m4\n";
// Bounds: the whole exchange in 20 s of emulated time.
constexpr uint32_t kDeadlineMs = 20000;

struct Outcome {
  bool handshake_ok = false;
  bool round_trip_ok = false;
  uint64_t handshake_ticks = 0;  // SysTick ticks spent inside engine calls
  const char* error = "";
  const char* suite = "";
  const char* group = "";
  size_t heap_peak = 0;
  size_t config_heap = 0;
};

Result<Config> make_config(RandomSource& random, Clock& clock) {
  ConfigBuilder builder(Role::client);
  builder.versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
      .cipher_suites(kSuite)
      .random(random)
      .clock(clock)
      .max_send_fragment(512);
#if defined(SANSTLS_FIRMWARE_CERT)
  builder.groups("X25519").trust_anchors(ByteView(sanstls_fw_ca_der, sanstls_fw_ca_der_size));
#else
  builder.groups("X25519")
      .psk(kPskIdentity, ByteView(kPsk, sizeof kPsk))
      .psk_mode(PskMode::with_ecdhe);
#endif
  return builder.build();
}

// What this profile's mbedTLS configuration leaves out must be refused by
// ConfigBuilder::build() with a clear error, not fail later in a handshake.
__attribute__((noinline)) bool refuses_what_is_not_built_in(RandomSource& random, Clock& clock) {
  auto refused = [&](ConfigBuilder& builder) {
    auto config = builder.random(random).clock(clock).build();
    if (config || config.error().code() != ErrorCode::invalid_argument) return false;
#if defined(SANSTLS_NO_ERROR_MESSAGES)
    return true;  // the message is the name (ERR_INVALID_ARG_VALUE), already checked
#else
    return std::strstr(config.error().message(), "not built in") != nullptr;
#endif
  };
  ConfigBuilder server(Role::server);
  server.psk(kPskIdentity, ByteView(kPsk, sizeof kPsk));
  ConfigBuilder tls12(Role::client);
  tls12.versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
      .psk(kPskIdentity, ByteView(kPsk, sizeof kPsk));
  ConfigBuilder early(Role::client);
  early.early_data(1024).psk(kPskIdentity, ByteView(kPsk, sizeof kPsk));
  bool all = refused(server) && refused(tls12) && refused(early);
  // And the defaults build: the default cipher suites are the ones built in.
  ConfigBuilder defaults(Role::client);
  defaults.psk(kPskIdentity, ByteView(kPsk, sizeof kPsk)).random(random).clock(clock);
  all = all && defaults.build().ok();
#if !defined(SANSTLS_FIRMWARE_CERT)
  ConfigBuilder anchors(Role::client);
  anchors.trust_anchors(ByteView(reinterpret_cast<const uint8_t*>("x"), 1));
  ConfigBuilder signatures(Role::client);
  signatures.signature_algorithms("ecdsa_secp256r1_sha256")
      .psk(kPskIdentity, ByteView(kPsk, sizeof kPsk));
  all = all && refused(anchors) && refused(signatures);
#endif
  return all;
}

// Sends what the engine has queued.
void flush(Connection& tls, uint64_t& engine_ticks) {
  for (;;) {
    ByteView out = tls.pending_output();
    if (out.empty()) return;
    uart_write(out.data(), out.size());
    uint64_t start = board_ticks();
    tls.consume_output(out.size());
    engine_ticks += board_ticks() - start;
  }
}

Outcome run(const Config& config) {
  Outcome outcome;
  outcome.config_heap = config.memory_bytes();
  uint64_t engine_ticks = 0;
  uint64_t start = board_ticks();
  auto made = Connection::client(config, "localhost");
  engine_ticks += board_ticks() - start;
  if (!made) {
    outcome.error = made.error().name();
    return outcome;
  }
  Connection& tls = made.value();
  static uint8_t wire[512];
  size_t wire_used = 0;
  bool sent = false;
  char echo[64];
  size_t echo_used = 0;
  const uint32_t deadline = board_ms() + kDeadlineMs;
  while (board_ms() < deadline && !tls.wants().closed) {
    flush(tls, engine_ticks);
    wire_used += uart_read_available(wire + wire_used, sizeof wire - wire_used);
    if (wire_used > 0 && tls.wants().wants_input) {
      start = board_ticks();
      size_t taken = tls.feed(ByteView(wire, wire_used));
      engine_ticks += board_ticks() - start;
      std::memmove(wire, wire + taken, wire_used - taken);
      wire_used -= taken;
    }
    while (auto event = tls.next_event()) {
      if (event->kind == EventKind::handshake_complete) {
        outcome.handshake_ok = true;
        outcome.handshake_ticks = engine_ticks;
        outcome.suite = tls.info().cipher.standard_name;
        outcome.group = tls.info().group;
      }
    }
    if (outcome.handshake_ok && !sent && tls.wants().can_write) {
      sent = tls.write(ByteView(reinterpret_cast<const uint8_t*>(kLine), sizeof kLine - 1)) ==
             sizeof kLine - 1;
    }
    if (tls.wants().has_plaintext) {
      echo_used += tls.read(
          MutableByteView(reinterpret_cast<uint8_t*>(echo) + echo_used, sizeof echo - echo_used));
      // s_server -rev answers each line reversed, newline last.
      const size_t text = sizeof kLine - 2;
      if (echo_used >= text + 1) {
        bool reversed = true;
        for (size_t i = 0; i < text; ++i) reversed &= echo[i] == kLine[text - 1 - i];
        outcome.round_trip_ok = reversed;
        tls.close();
        flush(tls, engine_ticks);
        break;
      }
    }
  }
  if (tls.error())
    outcome.error = tls.error().name();
  else if (!outcome.round_trip_ok)
    outcome.error = "timeout";
  outcome.heap_peak = tls.memory().peak_bytes;
  return outcome;
}

}  // namespace

int main() {
  board_init();
  const HostSeed host = read_host_arguments();
  semihost_write("sanstls firmware: INSECURE test randomness (seeded by the host)\n");
  SeededRandom random(host.seed);
  SysTickClock clock(host.epoch_ms);
  auto config = make_config(random, clock);
  Outcome outcome;
  if (!config) {
    outcome.error = config.error().name();
  } else {
    outcome = run(config.value());
  }
  // Measured before the refusal checks below, whose ConfigBuilders are the
  // application's stack, not the TLS connection's.
  const size_t peak_stack = board_peak_stack();
  const bool refusals_ok = refuses_what_is_not_built_in(random, clock);
  static char report[512];
  std::snprintf(report, sizeof report,
                "REPORT {\"profile\": \"%s\", \"handshake_ok\": %s, \"round_trip_ok\": %s, "
                "\"error\": \"%s\", \"suite\": \"%s\", \"group\": \"%s\", "
                "\"handshake_ticks\": %lu, \"ticks_per_second\": %u, "
                "\"connection_heap_peak\": %u, \"config_heap\": %u, \"peak_stack\": %u, "
                "\"refuses_missing_features\": %s}\n",
                SANSTLS_FIRMWARE_PROFILE, outcome.handshake_ok ? "true" : "false",
                outcome.round_trip_ok ? "true" : "false", outcome.error, outcome.suite,
                outcome.group, static_cast<unsigned long>(outcome.handshake_ticks),
                BOARD_TICKS_PER_SECOND, static_cast<unsigned>(outcome.heap_peak),
                static_cast<unsigned>(outcome.config_heap), static_cast<unsigned>(peak_stack),
                refusals_ok ? "true" : "false");
  semihost_write(report);
  return outcome.handshake_ok && outcome.round_trip_ok && refusals_ok ? 0 : 1;
}
