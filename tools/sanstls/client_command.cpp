// sanstls client HOST:PORT: connect, report what was negotiated, move data.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client_relay.h"
#include "commands.h"
#include "describe.h"
#include "options.h"
#include "proxy_options.h"
#include "sanstls/adapters/epoll.h"
#include "sanstls/platform.h"
#include "tls_config.h"
#include "tls_features.h"

namespace sanstls_cli {
namespace {

using sanstls::ConfigBuilder;
using sanstls::Error;
using sanstls::Role;

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

uint32_t to_ms(double seconds) {
  const double ms = std::ceil(seconds * 1000.0);
  return ms >= 4.0e9 ? 4000000000u : static_cast<uint32_t>(ms);
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
  if (args.has("--renegotiate")) builder.renegotiation(true);
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
    report.proxy_url = proxy->url;
    report.proxy_reply = &proxy_reply;
  }
  ClientSink sink;
  sink.capture = json;
  if (!json) {
    struct stat out {};
    sink.stdout_pollable =
        ::fstat(STDOUT_FILENO, &out) == 0 && (S_ISFIFO(out.st_mode) || S_ISSOCK(out.st_mode));
  }
  std::optional<sanstls::Config> proxy_config;  // outlives the connection
  std::optional<sanstls::Config> config;
  std::unique_ptr<sanstls::epoll::Loop> loop;
  std::shared_ptr<ClientSession> session;
  bool renegotiated = false;
  try {
    sanstls::epoll::ProxyRoute route;
    if (proxy) {
      route.address = proxy->options.host;
      route.port = proxy->options.port;
      route.credentials = proxy->options.credentials;
      route.headers = proxy->options.headers;
    }
    if (proxy && proxy->https) {
      proxy_config.emplace(proxy_tls_config(args));
      route.tls = &*proxy_config;
      route.tls_server_name = args.value("--proxy-servername");
    }
    const ConfigBuilder builder = client_builder(args);
    config.emplace(build_or_throw(builder));
    std::vector<uint8_t> saved;
    if (args.has("--session-in"))
      saved = read_file_or_throw(args.value("--session-in"), "session file");
    std::vector<uint8_t> early;
    if (args.has("--early-data"))
      early = read_file_or_throw(args.value("--early-data"), "early data file");
    if (insecure) warn_insecure();

    // The client's engine, resuming a saved session (0-RTT data written
    // before the handshake runs: what the engine accepts, the ticket's limit
    // and its output bound; the rest follows the handshake, and what the
    // server refuses the engine resends itself).
    const std::string server_name = args.value("--servername", target.host);
    auto connection =
        saved.empty() ? sanstls::Connection::client(*config, server_name)
                      : sanstls::Connection::client(*config, server_name, sanstls::ByteView(saved));
    if (!connection) throw Fatal(connection.error());
    const size_t early_sent =
        early.empty() ? 0 : connection->write_early_data(sanstls::ByteView(early));

    auto made = sanstls::epoll::Loop::create();
    if (!made) throw Fatal(made.error());
    loop = std::move(made).value();
    DataPhase phase;
    phase.timeout_ms = to_ms(timeout);
    phase.half_close = !args.has("--no-half-close");
    phase.renegotiate = args.has("--renegotiate");
    if (args.has("--send")) phase.send = args.value("--send");
    phase.early_rest.assign(early.begin() + static_cast<std::ptrdiff_t>(early_sent), early.end());
    const size_t queue_needed = phase.early_rest.size() + (phase.send ? phase.send->size() : 0) + 1;
    session = std::make_shared<ClientSession>(*loop, std::move(phase), sink);
    session->on_connected = [&](sanstls::epoll::Conn& conn) -> Error {
      const sanstls::ConnectionInfo& info = conn.info();
      if (!keying.label.empty()) {
        auto material = export_keying_material(conn.connection(), keying);
        if (!material) return material.error();
        report.keying_material = material.value();
      }
      if (!json) {
        if (proxy) {
          std::fprintf(stderr, "sanstls: connected to %s through the proxy %s (%s)\n%s",
                       format_host_port(target.host, target.port).c_str(), proxy->url.c_str(),
                       conn.peer_address().c_str(), handshake_summary(info, !insecure).c_str());
        } else {
          std::fprintf(stderr, "sanstls: connected to %s\n%s", conn.peer_address().c_str(),
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
          std::fprintf(stderr, "sanstls: keying material (%s, %zu bytes): %s\n",
                       keying.label.c_str(), keying.length, report.keying_material.c_str());
        }
      }
      if (insecure && !info.authorized) {
        std::fprintf(
            stderr,
            "sanstls: WARNING: continuing although the certificate failed verification (%s)\n",
            info.authorization_error.name());
      }
      return Error();
    };
    if (args.has("--session-out")) {
      const std::string path = args.value("--session-out");
      session->on_ending = [path](sanstls::epoll::Conn& conn) {
        save_session(conn.connection(), path);
      };
    }
    sanstls::epoll::ConnOptions options;
    options.handshake_limit_ms = to_ms(timeout);  // connect + handshake
    options.timer_clock = &sanstls::platform::system_clock();
    options.half_close = true;  // close_notify, then read the answer
    options.high_water = std::max<size_t>(options.high_water, queue_needed);
    const Error started =
        proxy ? loop->connect_through_proxy(route, target.host, target.port,
                                            std::move(connection).value(), session, options)
              : loop->connect(target.host, target.port, std::move(connection).value(), session,
                              options);
    if (started) throw Fatal(started);
    if (Error error = loop->run()) throw Fatal(error);
    session->detach();
    const ClientOutcome& outcome = session->outcome();
    report.error = outcome.error;
    renegotiated = outcome.renegotiated;
    if (outcome.proxy) {
      proxy_reply.status = outcome.proxy->status;
      proxy_reply.reason = outcome.proxy->reason;
      proxy_reply.proxy_authenticate = outcome.proxy->proxy_authenticate;
    }
    if (outcome.info) report.info = &*outcome.info;
    if (args.has("--renegotiate") && outcome.info) {
      report.renegotiated = renegotiated;
      if (!json) std::fprintf(stderr, "sanstls: renegotiated: %s\n", renegotiated ? "yes" : "no");
    }
  } catch (const Fatal& fatal) {
    report.error = fatal.error;
  }
  sink.flush_all();
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
