// sanstls server: the epoll Loop on --workers threads (SO_REUSEPORT), serving
// connections concurrently; one log line per connection; counters.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "commands.h"
#include "describe.h"
#include "options.h"
#include "sanstls/adapters/epoll.h"
#include "sanstls/platform.h"
#include "sanstls/sessions.h"
#include "server_session.h"
#include "tls_config.h"
#include "tls_features.h"

namespace sanstls_cli {
namespace {

using sanstls::ConfigBuilder;
using sanstls::Error;
using sanstls::Role;

const CommandSpec kSpec{
    "server",
    "--cert FILE --key FILE [options]  |  --psk IDENTITY:HEXKEY [options]",
    "Listens for TLS connections and serves them concurrently (an epoll loop per --workers\n"
    "thread): --echo (the default) sends back what it receives until the client closes;\n"
    "--www answers an HTTP request with a page describing the connection, like\n"
    "`openssl s_server -www`. The first line of output is `listening on HOST:PORT`; then one\n"
    "line per connection as it ends, and a `stats:` line at exit (after --exit-after N\n"
    "connections, or on SIGINT/SIGTERM); --stats adds a `counters:` line there and on SIGUSR1. "
    "--sni serves another certificate\n"
    "(with the same other settings) to clients asking for NAME; --psk accepts external PSKs,\n"
    "with or without a certificate. Ticket key files and PSKs are secrets: keep them 0600.\n"
    "SIGHUP re-reads every certificate, key and CA file: new connections get the new files,\n"
    "running ones keep theirs; broken files are logged (`reload failed: ERR_...`) and the\n"
    "previous configuration stays in service (`reloaded: N identities` on success).",
    {
        {"--host", "HOST", "address to listen on (default 127.0.0.1)"},
        {"--port", "PORT", "port to listen on (default 4433; 0 = any free port)"},
        {"--cert", "FILE", "certificate chain, PEM, leaf first", true},
        {"--key", "FILE", "private key for the preceding --cert", true},
        {"--passphrase", "P", "passphrase of encrypted keys"},
        {"--alpn", "LIST", "ALPN protocols, comma-separated, in preference order"},
        {"--min-version", "V", "lowest TLS version: 1.2 or 1.3"},
        {"--max-version", "V", "highest TLS version: 1.2 or 1.3"},
        {"--ciphers", "LIST", "cipher suites, IANA or OpenSSL names, in preference order"},
        {"--groups", "LIST", "key exchange groups (X25519,P-256,...)"},
        {"--sigalgs", "LIST", "signature algorithms, IANA or OpenSSL names (ECDSA+SHA256,...)"},
        {"--preset", "NAME",
         "policy preset: modern (TLS 1.3 only) or intermediate; the\n"
         "                            version, suite and group flags refine it"},
        {"--honor-cipher-order", nullptr,
         "choose the cipher suite by our --ciphers order (default:\n"
         "                            the client's in TLS 1.3, ours in TLS 1.2)"},
        {"--max-send-fragment", "N", "largest plaintext per record we send, 512-16384"},
        {"--early-data", "MAXBYTES",
         "accept up to MAXBYTES of TLS 1.3 0-RTT data on resumed\n"
         "                            sessions (tickets become single-use); with --echo and\n"
         "                            --www it is the start of the request"},
        {"--export-keying-material", "LABEL:LENGTH",
         "log LENGTH bytes of RFC 5705/8446 keying\n"
         "                            material for LABEL (no context), as hex"},
        {"--trace", nullptr, "print every record and handshake message to stderr"},
        {"--renegotiation", nullptr,
         "allow TLS 1.2 renegotiation (secure kind only; at most 3\n"
         "                            client-initiated ones per 10 minutes)"},
        {"--ca", "FILE", "CA certificates for client certificates, PEM"},
        {"--crl", "FILE",
         "certificate revocation list, PEM or DER, for client certificates\n"
         "                            (needs --ca)",
         true},
        {"--request-cert", nullptr, "ask for a client certificate (optional; needs --ca)"},
        {"--require-cert", nullptr, "require a valid client certificate (needs --ca)"},
        {"--sni", "NAME:CERT:KEY",
         "serve CERT/KEY (PEM) to clients asking for NAME, an exact\n"
         "                            name or a one-label wildcard (*.example.com)",
         true},
        {"--strict-sni", nullptr, "refuse names no --sni matches (alert unrecognized_name)"},
        {"--tickets", "N",
         "session tickets issued per TLS 1.3 handshake, 0-16 (default 1;\n"
         "                            0 = no tickets in TLS 1.2 or 1.3)"},
        {"--ticket-keys", "FILE",
         "ticket keys, 48 or 96 raw bytes; created with fresh keys when\n"
         "                            missing, so servers given the same FILE share tickets"},
        {"--session-cache", "N", "keep up to N TLS 1.2 sessions by session ID (default: none)"},
        {"--psk", "ID:HEXKEY", "accept the external pre-shared key HEXKEY for identity ID", true},
        {"--psk-mode", "MODE", "TLS 1.3 PSK key exchange: dhe (default), ke (no ECDHE) or both"},
        {"--keylog", "FILE", "append NSS key log lines (SSLKEYLOGFILE format) to FILE"},
        {"--echo", nullptr, "echo data until the client closes (default)"},
        {"--www", nullptr, "answer an HTTP request with a page describing the connection"},
        {"--handshake-timeout", "SECONDS", "time allowed for a handshake (default 120)"},
        {"--idle-timeout", "SECONDS", "time allowed without data after it (default 60)"},
        {"--exit-after", "N", "exit after N accepted connections (once they have ended)"},
        {"--workers", "N",
         "threads, each with its own epoll loop on the port (SO_REUSEPORT);\n"
         "                            default: the number of cores"},
        {"--stats", nullptr,
         "print the counters (connections accepted, handshakes in progress,\n"
         "                            secure, TLS client errors by name, closes by reason,\n"
         "                            bytes) on SIGUSR1 and at exit"},
    },
    0,
    0};

// What a reload must not replace: the ticket keys (tickets issued before
// stay valid), the TLS 1.2 session cache, the 0-RTT replay store (tickets
// already used for early data stay used) and the key log file.
struct KeptState {
  bool ready = false;
  sanstls::KeyLogCallback key_log;
  std::shared_ptr<sanstls::TicketKeys> ticket_keys;
  std::shared_ptr<sanstls::SessionStore> session_store;
  std::shared_ptr<sanstls::EarlyDataReplayStore> replay_store;
};

uint32_t to_ms(double seconds) {
  const double ms = std::ceil(seconds * 1000.0);
  return ms >= 4294967295.0 ? 4294967295u : static_cast<uint32_t>(ms);
}

sanstls::Config server_config(const Args& args, KeptState& kept) {
  if (!args.has("--cert") && !args.has("--psk")) {
    throw UsageError("--cert FILE --key FILE (or --psk IDENTITY:HEXKEY) is required");
  }
  const bool request = args.has("--request-cert");
  const bool require = args.has("--require-cert");
  if (request && require) throw UsageError("choose one of --request-cert and --require-cert");
  if ((request || require) && !args.has("--ca")) {
    throw UsageError("--request-cert/--require-cert need --ca FILE to verify client certificates");
  }
  if (args.has("--ca") && !request && !require) {
    throw UsageError("--ca is only used with --request-cert or --require-cert");
  }
  if (args.has("--crl") && !args.has("--ca")) {
    throw UsageError("--crl is only used with --ca and --request-cert or --require-cert");
  }
  // Everything but the identity, shared by the default Config and each --sni context.
  ConfigBuilder base(Role::server);
  apply_policy(base, args);
  if (!kept.ready) apply_key_log(base, args);
  sanstls::KeyLogCallback file_log = kept.ready ? kept.key_log : base.settings().key_log;
  if (args.has("--renegotiation")) {
    base.renegotiation(true);
    base.key_log([file_log](std::string_view line) {
      if (line.rfind("CLIENT_RANDOM ", 0) == 0) note_master_secret();
      if (file_log) file_log(line);
    });
  } else if (file_log) {
    base.key_log(file_log);
  }
  if (args.has("--ca")) {
    base.trust_anchors(read_file_or_throw(args.value("--ca"), "CA file"));
    for (const std::string& crl : args.values("--crl")) {
      base.crl(read_file_or_throw(crl, "CRL file"));
    }
    base.peer_verification(require ? sanstls::PeerVerification::required
                                   : sanstls::PeerVerification::optional);
  }
  if (!kept.ready) {
    apply_server_resumption(base, args);
  } else {
    base.session_tickets(args.has("--tickets") ? static_cast<uint32_t>(parse_count(
                                                     "--tickets", args.value("--tickets"), 16))
                                               : 1);
    if (kept.ticket_keys) base.ticket_keys(kept.ticket_keys);
    if (kept.session_store) base.session_store(kept.session_store);
    if (kept.replay_store) base.early_data_replay_store(kept.replay_store);
  }
  apply_server_psk(base, args);
  // Unset without the flag: mbedTLS's own choice (the server's order in TLS
  // 1.2, the client's in TLS 1.3). Not set to false: see docs/limitations.md
  // (a forced TLS 1.3 suite breaks PSKs bound to another hash).
  if (args.has("--honor-cipher-order")) base.honor_cipher_order(true);
  if (args.has("--early-data")) {
    const uint64_t bytes = parse_count("--early-data", args.value("--early-data"), 1u << 24);
    if (bytes == 0) throw UsageError("--early-data: expected at least 1 byte");
    base.early_data(static_cast<uint32_t>(bytes));
  }
  if (args.has("--handshake-timeout")) {
    const double seconds = parse_seconds("--handshake-timeout", args.value("--handshake-timeout"));
    const double ms = std::ceil(seconds * 1000.0);
    base.handshake_timeout(ms >= 4294967295.0 ? 4294967295u : static_cast<uint32_t>(ms));
  }
  base.random(sanstls::platform::os_random()).clock(sanstls::platform::system_clock());
  ConfigBuilder builder = base;
  apply_identities(builder, args);
  apply_sni(builder, base, args);
  sanstls::Config config = build_or_throw(builder);
  if (!kept.ready) {
    kept.key_log = file_log;
    kept.ticket_keys = base.settings().ticket_keys;
    kept.session_store = base.settings().session_store;
    kept.replay_store = config.early_data_replay_store();
    kept.ready = true;
  }
  return config;
}

// SIGHUP: rebuild from the same flags, re-reading every file. On failure the
// slot keeps the previous Config.
void reload(const Args& args, KeptState& kept, sanstls::ConfigSlot& slot);

void reload(const Args& args, KeptState& kept, sanstls::ConfigSlot& slot) {
  try {
    slot.store(server_config(args, kept));
  } catch (const Fatal& fatal) {
    say("reload failed: " + error_text(fatal.error) + "; still serving the previous configuration");
    return;
  } catch (const std::exception& e) {
    say(std::string("reload failed: ") + e.what() + "; still serving the previous configuration");
    return;
  }
  const size_t identities = args.values("--cert").size() + args.values("--sni").size();
  say("reloaded: " + std::to_string(identities) + (identities == 1 ? " identity" : " identities"));
}

}  // namespace

int server_command(int argc, char** argv, int first) {
  const Args args = parse_args(kSpec, argc, argv, first);
  if (args.help) {
    std::fputs(usage_text(kSpec).c_str(), stdout);
    return kExitOk;
  }
  if (args.has("--echo") && args.has("--www")) throw UsageError("choose one of --echo and --www");
  const std::string host = args.value("--host", "127.0.0.1");
  const uint16_t port = args.has("--port") ? parse_port("--port", args.value("--port")) : 4433;
  ServeOptions options;
  options.exit_after = args.has("--exit-after")
                           ? parse_count("--exit-after", args.value("--exit-after"), 1u << 30)
                           : 0;
  if (args.has("--exit-after") && options.exit_after == 0)
    throw UsageError("--exit-after: expected at least 1");
  const size_t workers_wanted =
      args.has("--workers")
          ? static_cast<size_t>(parse_count("--workers", args.value("--workers"), 1024))
          : 0;
  if (args.has("--workers") && workers_wanted == 0)
    throw UsageError("--workers: expected at least 1");
  const bool print_counters = args.has("--stats");
  options.mode = args.has("--www") ? ServeMode::www : ServeMode::echo;
  uint32_t idle_timeout_ms = 60000;
  if (args.has("--handshake-timeout")) {
    options.handshake_timeout_ms =
        to_ms(parse_seconds("--handshake-timeout", args.value("--handshake-timeout")));
  }
  if (args.has("--idle-timeout")) {
    idle_timeout_ms = to_ms(parse_seconds("--idle-timeout", args.value("--idle-timeout")));
  }
  options.early_data = args.has("--early-data");
  options.keying_material = parse_keying_material(args);
  options.renegotiation = args.has("--renegotiation");

  KeptState kept;
  sanstls::ConfigSlot slot = [&] {
    try {
      return sanstls::ConfigSlot(server_config(args, kept));
    } catch (const Fatal& fatal) {
      std::fprintf(stderr, "sanstls: error %s\n", error_text(fatal.error).c_str());
      std::exit(kExitFailure);
    }
  }();
  const sanstls::Config first_config = slot.load();

  // Signals go to one thread that waits for them (sigwaitinfo): every other
  // thread, the workers included (they inherit this mask), blocks them.
  sigset_t signals;
  sigemptyset(&signals);
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&signals, signal);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto workers = sanstls::epoll::Workers::create(workers_wanted);
  if (!workers) {
    std::fprintf(stderr, "sanstls: error %s\n", error_text(workers.error()).c_str());
    return kExitFailure;
  }
  sanstls::epoll::Workers& pool = *workers.value();
  // After --exit-after connections: the last alerts and close_notifys still
  // reach their peers (lingering sockets) before the loops return.
  ServerState state(options, [&pool] { pool.stop_when_drained(); });

  sanstls::epoll::ListenOptions listen_options;
  listen_options.config_slot = &slot;  // SIGHUP reloads reach new connections
  // The engine's handshake timer (--handshake-timeout) ends a stalled
  // handshake; the loop's limit is a backstop, a little later.
  listen_options.handshake_limit_ms = options.handshake_timeout_ms + 2000;
  listen_options.idle_timeout_ms = idle_timeout_ms;
  listen_options.timer_clock = &sanstls::platform::system_clock();
  listen_options.linger_ms =
      1000;  // our alert or HTTP 400 reaches the peer before the socket closes
  auto bound = pool.listen(
      host, port, first_config, [&state] { return state.make_handler(); }, listen_options);
  if (!bound) {
    std::fprintf(stderr, "sanstls: error %s\n", error_text(bound.error()).c_str());
    return kExitFailure;
  }
  say("listening on " + format_host_port(host, bound.value()));

  std::atomic<bool> exiting{false};
  std::thread signal_thread([&] {
    for (;;) {
      siginfo_t info{};
      const int signal = sigwaitinfo(&signals, &info);
      if (exiting.load()) return;
      if (signal == SIGHUP) {
        reload(args, kept, slot);
      } else if (signal == SIGUSR1) {
        if (print_counters) say(counters_line(pool.counters_snapshot()));
      } else if (signal == SIGINT || signal == SIGTERM) {
        pool.stop();
      }
    }
  });
  pool.start();
  pool.join();
  exiting.store(true);
  pthread_kill(signal_thread.native_handle(), SIGTERM);  // wakes sigwaitinfo
  signal_thread.join();
  if (Error error = pool.error())
    std::fprintf(stderr, "sanstls: error %s\n", error_text(error).c_str());
  if (print_counters) say(counters_line(pool.counters_snapshot()));
  say(state.stats_line());
  return kExitOk;
}

}  // namespace sanstls_cli
