// sanstls proxy: a CONNECT proxy server (plain, or TLS-terminated: an HTTPS
// proxy) on the epoll loop. The work is in proxy_server.cpp.
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "describe.h"
#include "options.h"
#include "proxy_server.h"
#include "sanstls/adapters/epoll.h"
#include "sanstls/platform.h"
#include "tls_config.h"

namespace sanstls_cli {
namespace {

const CommandSpec kSpec{
    "proxy",
    "[--cert FILE --key FILE] [options]",
    "A CONNECT proxy (RFC 9110 9.3.6) on one epoll loop thread: clients ask for\n"
    "`CONNECT host:port`, the proxy connects and relays bytes both ways. With --cert/--key\n"
    "clients reach it over TLS (an HTTPS proxy: curl --proxy https://, sanstls client\n"
    "--proxy https://). Refusals: 407 without the --auth credentials, 403 for a port outside\n"
    "--allow-ports (never resolved nor connected to), 400/405/431 for a bad request, 408 when\n"
    "the request is late, 502 when the destination cannot be resolved or reached, 504 when\n"
    "that takes too long, 503 over --max-connections (plain listeners). Names are resolved on\n"
    "a thread of their own. The first line of output is `listening on HOST:PORT`; then one\n"
    "line per tunnel (`tunnel N from ADDR to HOST:PORT: status S, U bytes up, D down, MS ms,\n"
    "ended: HOW`), and a `stats:` line at exit (after --exit-after N tunnels, or on\n"
    "SIGINT/SIGTERM).",
    {
        {"--host", "HOST", "address to listen on (default 127.0.0.1)"},
        {"--port", "PORT", "port to listen on (default 3128; 0 = any free port)"},
        {"--cert", "FILE", "certificate chain, PEM: serve TLS (an HTTPS proxy)", true},
        {"--key", "FILE", "private key for the preceding --cert", true},
        {"--passphrase", "P", "passphrase of encrypted keys"},
        {"--auth", "USER:PASS", "require Proxy-Authorization: Basic with these credentials"},
        {"--allow-ports", "LIST",
         "destination ports allowed, e.g. 443,8443,9000-9100 or * (default 443)"},
        {"--max-connections", "N", "clients served at once (default 512)"},
        {"--request-timeout", "SECONDS",
         "accept to a complete CONNECT, TLS handshake included (default 10)"},
        {"--connect-timeout", "SECONDS",
         "resolving and connecting to the destination (default 10)"},
        {"--idle-timeout", "SECONDS",
         "an open tunnel with no byte either way is closed (default 300)"},
        {"--exit-after", "N", "exit after N tunnels have ended"},
    },
    0,
    0};

volatile std::sig_atomic_t g_stop_requested = 0;
sanstls::epoll::Loop* g_loop = nullptr;

void on_stop_signal(int) {
  g_stop_requested = 1;
  if (g_loop != nullptr) g_loop->stop();  // async-signal-safe
}

int64_t to_ms(const std::string& flag, const std::string& text) {
  return static_cast<int64_t>(parse_seconds(flag, text) * 1000.0 + 0.5);
}

std::vector<std::pair<uint16_t, uint16_t>> parse_ports(const std::string& text) {
  if (text == "*") return {{1, 65535}};
  std::vector<std::pair<uint16_t, uint16_t>> ranges;
  for (const std::string& item : split_list("--allow-ports", text)) {
    const size_t dash = item.find('-');
    const uint16_t low = parse_port("--allow-ports", item.substr(0, dash));
    const uint16_t high =
        dash == std::string::npos ? low : parse_port("--allow-ports", item.substr(dash + 1));
    if (low == 0 || high < low) throw UsageError("--allow-ports: bad port or range '" + item + "'");
    ranges.emplace_back(low, high);
  }
  return ranges;
}

void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace

int proxy_command(int argc, char** argv, int first) {
  const Args args = parse_args(kSpec, argc, argv, first);
  if (args.help) {
    std::fputs(usage_text(kSpec).c_str(), stdout);
    return kExitOk;
  }
  const std::string host = args.value("--host", "127.0.0.1");
  const uint16_t port = args.has("--port") ? parse_port("--port", args.value("--port")) : 3128;
  ProxySettings settings;
  if (args.has("--auth")) {
    const std::string auth = args.value("--auth");
    const size_t colon = auth.find(':');
    if (colon == std::string::npos || colon == 0) {
      throw UsageError("--auth: expected USER:PASS (the user without ':')");
    }
    settings.auth =
        sanstls::tunnel::BasicCredentials{auth.substr(0, colon), auth.substr(colon + 1)};
  }
  if (args.has("--allow-ports")) settings.allowed_ports = parse_ports(args.value("--allow-ports"));
  if (args.has("--max-connections")) {
    settings.max_connections =
        parse_count("--max-connections", args.value("--max-connections"), 1u << 20);
    if (settings.max_connections == 0) throw UsageError("--max-connections: expected at least 1");
  }
  if (args.has("--request-timeout")) {
    settings.request_timeout_ms = to_ms("--request-timeout", args.value("--request-timeout"));
  }
  if (args.has("--connect-timeout")) {
    settings.connect_timeout_ms = to_ms("--connect-timeout", args.value("--connect-timeout"));
  }
  if (args.has("--idle-timeout")) {
    settings.idle_timeout_ms = to_ms("--idle-timeout", args.value("--idle-timeout"));
  }
  if (args.has("--exit-after")) {
    settings.exit_after = parse_count("--exit-after", args.value("--exit-after"), 1u << 30);
    if (settings.exit_after == 0) throw UsageError("--exit-after: expected at least 1");
  }
  if (args.has("--cert") != args.has("--key")) throw UsageError("--cert and --key go together");
  settings.log = say;

  std::unique_ptr<sanstls::Config> tls;
  try {
    if (args.has("--cert")) {
      sanstls::ConfigBuilder builder(sanstls::Role::server);
      apply_identities(builder, args);
      builder.random(sanstls::platform::os_random()).clock(sanstls::platform::system_clock());
      tls = std::make_unique<sanstls::Config>(build_or_throw(builder));
    }
  } catch (const Fatal& fatal) {
    std::fprintf(stderr, "sanstls: error %s\n", error_text(fatal.error).c_str());
    return kExitFailure;
  }
  auto loop = sanstls::epoll::Loop::create();
  if (!loop) {
    std::fprintf(stderr, "sanstls: error %s\n", error_text(loop.error()).c_str());
    return kExitFailure;
  }
  int status = kExitOk;
  {
    Proxy proxy(*loop.value(), tls.get(), settings);
    auto bound = proxy.listen(host, port);
    if (!bound) {
      std::fprintf(stderr, "sanstls: error %s\n", error_text(bound.error()).c_str());
      return kExitFailure;
    }
    g_loop = loop.value().get();
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    say("listening on " + format_host_port(host, bound.value()));
    if (const sanstls::Error error = loop.value()->run()) {
      std::fprintf(stderr, "sanstls: error %s\n", error_text(error).c_str());
      status = kExitFailure;
    }
    g_loop = nullptr;
    say(proxy.stats_line());
  }
  return status;
}

}  // namespace sanstls_cli
