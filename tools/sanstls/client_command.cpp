// sanstls client HOST:PORT: connect, report what was negotiated, move data.
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "client_relay.h"
#include "commands.h"
#include "describe.h"
#include "options.h"
#include "proxy_options.h"
#include "sanstls/adapters/blocking.h"
#include "sanstls/platform.h"
#include "tls_config.h"
#include "tls_features.h"

namespace sanstls_cli {
namespace {

using sanstls::ConfigBuilder;
using sanstls::Error;
using sanstls::Role;
using sanstls::blocking::Milliseconds;

const CommandSpec kSpec{
    "client",
    "HOST:PORT [options]",
    "Connects to HOST:PORT (IPv6 as [::1]:PORT) with TLS, prints what was negotiated to stderr,\n"
    "then relays standard input to the server and the server's data to standard output. With\n"
    "--send it sends one string instead; either way it sends close_notify when it has nothing\n"
    "more to say and reads until the server closes. --json prints one JSON object describing\n"
    "the connection (and the data received) instead. Exit status 1 when the connection fails.\n"
    "Saved sessions (--session-out) and key logs (--keylog) hold secrets: they are written 0600.",
    {
        {"--servername", "NAME", "name for SNI and certificate checks (default: HOST)"},
        {"--alpn", "LIST", "ALPN protocols to offer, comma-separated (h2,http/1.1)"},
        {"--ca", "FILE", "trusted CA certificates, PEM (default: the system's)"},
        {"--crl", "FILE",
         "certificate revocation list, PEM or DER: a server certificate\n"
         "                            it lists is refused (CERT_REVOKED)",
         true},
        {"--cert", "FILE", "client certificate chain, PEM"},
        {"--key", "FILE", "client private key, PEM"},
        {"--passphrase", "P", "passphrase of an encrypted --key"},
        {"--min-version", "V", "lowest TLS version: 1.2 or 1.3"},
        {"--max-version", "V", "highest TLS version: 1.2 or 1.3"},
        {"--ciphers", "LIST", "cipher suites, IANA or OpenSSL names, in preference order"},
        {"--groups", "LIST", "key exchange groups (X25519,P-256,...)"},
        {"--sigalgs", "LIST", "signature algorithms, IANA or OpenSSL names (ECDSA+SHA256,...)"},
        {"--preset", "NAME",
         "policy preset: modern (TLS 1.3 only) or intermediate; the\n"
         "                            version, suite and group flags refine it"},
        {"--max-send-fragment", "N", "largest plaintext per record we send, 512-16384"},
        {"--trace", nullptr, "print every record and handshake message to stderr"},
        {"--export-keying-material", "LABEL:LENGTH",
         "print LENGTH bytes of RFC 5705/8446 keying\n"
         "                            material for LABEL (no context), as hex"},
        {"--psk", "ID:HEXKEY",
         "offer the external pre-shared key HEXKEY under identity ID\n"
         "                            (no certificate needed; the system CAs are not loaded)"},
        {"--psk-mode", "MODE", "TLS 1.3 PSK key exchange: dhe (default), ke (no ECDHE) or both"},
        {"--pin", "sha256/BASE64",
         "accept only a server whose public key has this SHA-256\n"
         "                            (SubjectPublicKeyInfo, base64, as curl's --pinnedpubkey)",
         true},
        {"--insecure", nullptr, "do NOT enforce certificate verification (still reported)"},
        {"--keylog", "FILE", "append NSS key log lines (SSLKEYLOGFILE format) to FILE"},
        {"--session-out", "FILE", "save the session for resumption at exit"},
        {"--session-in", "FILE", "offer a session saved with --session-out"},
        {"--no-tickets", nullptr, "do not ask for session tickets (TLS 1.2 resumes by session ID)"},
        {"--early-data", "FILE",
         "send FILE's contents as TLS 1.3 0-RTT data on the --session-in\n"
         "                            session (resent after the handshake if refused);\n"
         "                            0-RTT can be replayed: idempotent requests only"},
        {"--send", "STRING", "send STRING, then read until the server closes"},
        {"--no-half-close", nullptr, "do not send close_notify before the server closes"},
        {"--timeout", "SECONDS",
         "limit for connect + handshake, each read, and the wait for\n"
         "                            the server to close once we are done (default 30)"},
        {"--renegotiate", nullptr,
         "after the handshake (and --send's data) ask for one TLS 1.2\n"
         "                            renegotiation; --json reports renegotiated: true/false"},
        {"--proxy", "URL",
         "go through the proxy http[s]://[user:pass@]host:port (CONNECT;\n"
         "                            https: TLS to the proxy, the origin's TLS inside it);\n"
         "                            default: $https_proxy or $HTTPS_PROXY, unless $no_proxy\n"
         "                            or $NO_PROXY names the host (as curl); \"\" for none"},
        {"--proxy-ca", "FILE",
         "trust anchors (PEM) for an https:// proxy's certificate\n"
         "                            (default: the system's)"},
        {"--proxy-servername", "NAME",
         "SNI and verified name of an https:// proxy (default: its host)"},
        {"--json", nullptr, "print one JSON object describing the connection"},
    },
    1,
    1};

// Master secrets derived (one per TLS 1.2 handshake), for --renegotiate.
std::atomic<uint64_t> g_master_secrets{0};

Milliseconds to_ms(double seconds) {
  return Milliseconds(static_cast<int64_t>(std::ceil(seconds * 1000.0)));
}

// The TLS connection to an https:// proxy: default policy, verification
// always on (--insecure is for the origin only), --proxy-ca or the system's.
sanstls::Config proxy_tls_config(const Args& args) {
  ConfigBuilder builder(Role::client);
  if (args.has("--proxy-ca")) {
    builder.trust_anchors(read_file_or_throw(args.value("--proxy-ca"), "proxy CA file"));
  } else {
    auto system = sanstls::platform::system_trust_anchors();
    if (!system) throw Fatal(system.error());
    builder.trust_anchors(system.value());
  }
  builder.random(sanstls::platform::os_random()).clock(sanstls::platform::system_clock());
  return build_or_throw(builder);
}

ConfigBuilder client_builder(const Args& args) {
  ConfigBuilder builder(Role::client);
  apply_policy(builder, args);
  apply_identities(builder, args);
  apply_key_log(builder, args);
  apply_client_features(builder, args);
  if (args.has("--ca")) {
    builder.trust_anchors(read_file_or_throw(args.value("--ca"), "CA file"));
  } else if (!args.has("--psk")) {
    auto system = sanstls::platform::system_trust_anchors();
    if (!system) throw Fatal(system.error());
    builder.trust_anchors(system.value());
  }
  for (const std::string& crl : args.values("--crl")) {
    builder.crl(read_file_or_throw(crl, "CRL file"));
  }
  if (args.has("--insecure")) builder.peer_verification(sanstls::PeerVerification::optional);
  if (args.has("--early-data")) builder.early_data(1);
  if (args.has("--renegotiate")) {
    builder.renegotiation(true);
    sanstls::KeyLogCallback file_log = builder.settings().key_log;
    builder.key_log([file_log](std::string_view line) {
      if (line.rfind("CLIENT_RANDOM ", 0) == 0) ++g_master_secrets;
      if (file_log) file_log(line);
    });
  }
  builder.random(sanstls::platform::os_random()).clock(sanstls::platform::system_clock());
  return builder;
}

void save_session(const sanstls::Connection& connection, const std::string& path) {
  auto blob = connection.save_session();
  if (!blob) {
    std::fprintf(stderr, "sanstls: no session saved to %s: %s\n", path.c_str(),
                 error_text(blob.error()).c_str());
    return;
  }
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    std::fprintf(stderr, "sanstls: cannot write %s\n", path.c_str());
    return;
  }
  ::chmod(path.c_str(), 0600);  // it holds the session's secrets
  std::fwrite(blob->data(), 1, blob->size(), file);
  std::fclose(file);
}

// TCP connect (each resolved address in turn, within `timeout`), for the
// 0-RTT path, which must write early data before the handshake runs.
int tcp_connect(const HostPort& target, Milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  const std::string service = std::to_string(target.port);
  const int rc = ::getaddrinfo(target.host.c_str(), service.c_str(), &hints, &addresses);
  if (rc != 0) {
    const std::string text = "getaddrinfo ENOTFOUND " + target.host + " (" + gai_strerror(rc) + ")";
    throw Fatal(Error(sanstls::ErrorCode::name_not_found, sanstls::Stage::resolve, text.c_str()));
  }
  int last_error = ECONNREFUSED;
  for (const addrinfo* ai = addresses; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_error = errno;
      continue;
    }
    int err = 0;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        const auto left =
            std::chrono::duration_cast<Milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count()))) <= 0) {
          err = ETIMEDOUT;
        } else {
          socklen_t len = sizeof err;
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        }
      }
    }
    if (err == 0) {
      ::freeaddrinfo(addresses);
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return fd;
    }
    ::close(fd);
    last_error = err;
    if (err == ETIMEDOUT) break;
  }
  ::freeaddrinfo(addresses);
  const sanstls::ErrorCode code = last_error == ECONNREFUSED
                                      ? sanstls::ErrorCode::connection_refused
                                  : last_error == ETIMEDOUT ? sanstls::ErrorCode::timed_out
                                                            : sanstls::ErrorCode::transport_failed;
  const std::string text = "connect " + format_host_port(target.host, target.port) + " (" +
                           std::strerror(last_error) + ")";
  throw Fatal(Error(code, sanstls::Stage::connect, text.c_str()).with_backend_code(last_error));
}

// Connects, offers the saved session, writes `early` as 0-RTT data (what the
// engine accepts: the ticket's limit and its output bound), then runs the
// handshake. Whatever was not accepted as 0-RTT is sent once it completes;
// what the server refuses the engine resends itself (early_data_rejected).
sanstls::blocking::Stream connect_with_early_data(
    const ConfigBuilder& builder, const sanstls::Config& config, const HostPort& target,
    const std::string& server_name, const std::vector<uint8_t>& saved,
    const std::vector<uint8_t>& early, Milliseconds timeout) {
  const int fd = tcp_connect(target, timeout);
  // The adapter wraps a fresh client; it is replaced below before anything
  // runs. Its Config leaves out --trace and --keylog so it leaves no trace.
  ConfigBuilder quiet = builder;
  quiet.trace(nullptr).key_log(nullptr);
  auto wrapped = sanstls::blocking::Stream::wrap_client(fd, build_or_throw(quiet), server_name);
  if (!wrapped) throw Fatal(wrapped.error());
  sanstls::blocking::Stream stream = std::move(wrapped).value();
  // Nothing has run yet: replace the fresh connection with one resuming the session.
  auto resuming = sanstls::Connection::client(config, server_name, sanstls::ByteView(saved));
  if (!resuming) throw Fatal(resuming.error());
  stream.connection() = std::move(resuming).value();
  stream.drive_timers(sanstls::platform::system_clock());
  const size_t sent = stream.connection().write_early_data(sanstls::ByteView(early));
  if (Error error = stream.handshake(timeout)) throw Fatal(error);
  if (sent < early.size()) {
    if (Error error = stream.write_all(sanstls::ByteView(early).skip(sent), timeout))
      throw Fatal(error);
  }
  return stream;
}

void warn_insecure() {
  std::fputs(
      "sanstls: WARNING: --insecure: the server's certificate is NOT verified; anyone on the path\n"
      "sanstls: WARNING: could be impersonating it. Use --ca FILE instead for anything real.\n",
      stderr);
}

}  // namespace

int client_command(int argc, char** argv, int first) {
  const Args args = parse_args(kSpec, argc, argv, first);
  if (args.help) {
    std::fputs(usage_text(kSpec).c_str(), stdout);
    return kExitOk;
  }
  const HostPort target = parse_host_port(args.positional[0]);
  const double timeout =
      args.has("--timeout") ? parse_seconds("--timeout", args.value("--timeout")) : 30.0;
  const bool json = args.has("--json");
  const bool insecure = args.has("--insecure");
  if (args.has("--early-data") && !args.has("--session-in")) {
    throw UsageError("--early-data needs --session-in (0-RTT needs a saved session)");
  }
  const KeyingMaterialRequest keying = parse_keying_material(args);
  std::optional<ProxyChoice> proxy = choose_proxy(
      args.has("--proxy") ? std::optional<std::string>(args.value("--proxy")) : std::nullopt,
      target.host);
  if (!(proxy && proxy->https) && (args.has("--proxy-ca") || args.has("--proxy-servername"))) {
    throw UsageError("--proxy-ca and --proxy-servername are for an https:// proxy");
  }
  if (proxy && args.has("--early-data")) {
    throw UsageError("--early-data through a proxy is not supported yet");
  }
  sanstls::blocking::ProxyReply proxy_reply;

  ClientReport report;
  report.servername = args.value("--servername", target.host);
  if (proxy) {
    proxy->options.reply = &proxy_reply;
    report.proxy_url = proxy->url;
    report.proxy_reply = &proxy_reply;
  }
  ClientSink sink;
  sink.capture = json;
  std::optional<sanstls::Config> proxy_config;  // outlives the Stream
  std::optional<sanstls::blocking::Stream> stream;
  try {
    if (proxy && proxy->https) {
      proxy_config.emplace(proxy_tls_config(args));
      proxy->options.tls = &*proxy_config;
      proxy->options.tls_server_name = args.value("--proxy-servername");
    }
    const ConfigBuilder builder = client_builder(args);
    const sanstls::Config config = build_or_throw(builder);
    std::vector<uint8_t> saved;
    if (args.has("--session-in"))
      saved = read_file_or_throw(args.value("--session-in"), "session file");
    std::vector<uint8_t> early;
    if (args.has("--early-data"))
      early = read_file_or_throw(args.value("--early-data"), "early data file");
    if (insecure) warn_insecure();

    if (args.has("--early-data")) {
      stream.emplace(connect_with_early_data(builder, config, target,
                                             args.value("--servername", target.host), saved, early,
                                             to_ms(timeout)));
    } else {
      sanstls::blocking::ConnectOptions options;
      options.timeout = to_ms(timeout);
      options.server_name = args.value("--servername");
      options.saved_session = sanstls::ByteView(saved);
      options.timer_clock = &sanstls::platform::system_clock();
      if (proxy) options.proxy = proxy->options;
      auto connected =
          sanstls::blocking::Stream::connect(config, target.host, target.port, options);
      if (!connected) throw Fatal(connected.error());
      stream.emplace(std::move(connected).value());
    }
    const sanstls::ConnectionInfo& info = stream->connection().info();
    report.info = &info;
    if (!keying.label.empty()) {
      auto material = export_keying_material(stream->connection(), keying);
      if (!material) throw Fatal(material.error());
      report.keying_material = material.value();
    }
    if (!json) {
      if (proxy) {
        std::fprintf(stderr, "sanstls: connected to %s through the proxy %s (%s)\n%s",
                     format_host_port(target.host, target.port).c_str(), proxy->url.c_str(),
                     stream->peer_address().c_str(), handshake_summary(info, !insecure).c_str());
      } else {
        std::fprintf(stderr, "sanstls: connected to %s\n%s", stream->peer_address().c_str(),
                     handshake_summary(info, !insecure).c_str());
      }
      if (args.has("--early-data")) {
        std::fprintf(stderr, "sanstls: early data: %zu bytes sent as 0-RTT, %s\n",
                     info.early_data.sent,
                     info.early_data.accepted ? "accepted"
                     : info.early_data.sent > 0
                         ? "refused (resent after the handshake)"
                         : "not possible with this session (sent after the handshake)");
      }
      if (!keying.label.empty()) {
        std::fprintf(stderr, "sanstls: keying material (%s, %zu bytes): %s\n", keying.label.c_str(),
                     keying.length, report.keying_material.c_str());
      }
    }
    if (insecure && !info.authorized) {
      std::fprintf(
          stderr,
          "sanstls: WARNING: continuing although the certificate failed verification (%s)\n",
          info.authorization_error.name());
    }
    DataPhase phase;
    phase.timeout = to_ms(timeout);
    phase.half_close = !args.has("--no-half-close");
    bool renegotiated = false;
    if (args.has("--renegotiate")) {
      phase.master_secrets = &g_master_secrets;
      phase.renegotiated = &renegotiated;
      report.renegotiated = false;
    }
    report.error = args.has("--send")
                       ? send_then_receive(*stream, args.value("--send"), phase, sink)
                       : relay_stdio(*stream, phase, sink);
    if (args.has("--renegotiate")) {
      report.renegotiated = renegotiated;
      if (!json) std::fprintf(stderr, "sanstls: renegotiated: %s\n", renegotiated ? "yes" : "no");
    }
    if (args.has("--session-out")) save_session(stream->connection(), args.value("--session-out"));
  } catch (const Fatal& fatal) {
    report.error = fatal.error;
  }
  report.received = sink.captured;
  report.bytes_received = sink.bytes;
  if (json) {
    std::printf("%s\n", client_json(report).c_str());
    std::fflush(stdout);
  }
  if (report.error) {
    std::fprintf(stderr, "sanstls: error %s\n", error_text(report.error).c_str());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace sanstls_cli
