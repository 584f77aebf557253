// sanstls client HOST:PORT: connect, report what was negotiated, move data.
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "client_relay.h"
#include "commands.h"
#include "describe.h"
#include "options.h"
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
        {"--cert", "FILE", "client certificate chain, PEM"},
        {"--key", "FILE", "client private key, PEM"},
        {"--passphrase", "P", "passphrase of an encrypted --key"},
        {"--min-version", "V", "lowest TLS version: 1.2 or 1.3"},
        {"--max-version", "V", "highest TLS version: 1.2 or 1.3"},
        {"--ciphers", "LIST", "cipher suites, IANA or OpenSSL names, in preference order"},
        {"--groups", "LIST", "key exchange groups (X25519,P-256,...)"},
        {"--psk", "ID:HEXKEY", "offer the external pre-shared key HEXKEY under identity ID\n"
                               "                            (no certificate needed; the system CAs are not loaded)"},
        {"--psk-mode", "MODE", "TLS 1.3 PSK key exchange: dhe (default), ke (no ECDHE) or both"},
        {"--pin", "sha256/BASE64", "accept only a server whose public key has this SHA-256\n"
                                   "                            (SubjectPublicKeyInfo, base64, as curl's --pinnedpubkey)", true},
        {"--insecure", nullptr, "do NOT enforce certificate verification (still reported)"},
        {"--keylog", "FILE", "append NSS key log lines (SSLKEYLOGFILE format) to FILE"},
        {"--session-out", "FILE", "save the session for resumption at exit"},
        {"--session-in", "FILE", "offer a session saved with --session-out"},
        {"--no-tickets", nullptr, "do not ask for session tickets (TLS 1.2 resumes by session ID)"},
        {"--send", "STRING", "send STRING, then read until the server closes"},
        {"--no-half-close", nullptr, "do not send close_notify before the server closes"},
        {"--timeout", "SECONDS", "limit for connect + handshake, each read, and the wait for\n"
                                  "                            the server to close once we are done (default 30)"},
        {"--json", nullptr, "print one JSON object describing the connection"},
    },
    1,
    1};

Milliseconds to_ms(double seconds) {
  return Milliseconds(static_cast<int64_t>(std::ceil(seconds * 1000.0)));
}

sanstls::Config client_config(const Args& args) {
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
  if (args.has("--insecure")) builder.peer_verification(sanstls::PeerVerification::optional);
  builder.random(sanstls::platform::os_random()).clock(sanstls::platform::system_clock());
  return build_or_throw(builder);
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
  const double timeout = args.has("--timeout") ? parse_seconds("--timeout", args.value("--timeout")) : 30.0;
  const bool json = args.has("--json");
  const bool insecure = args.has("--insecure");

  ClientReport report;
  report.servername = args.value("--servername", target.host);
  ClientSink sink;
  sink.capture = json;
  std::optional<sanstls::blocking::Stream> stream;
  try {
    const sanstls::Config config = client_config(args);
    std::vector<uint8_t> saved;
    if (args.has("--session-in")) saved = read_file_or_throw(args.value("--session-in"), "session file");
    if (insecure) warn_insecure();

    sanstls::blocking::ConnectOptions options;
    options.timeout = to_ms(timeout);
    options.server_name = args.value("--servername");
    options.saved_session = sanstls::ByteView(saved);
    auto connected = sanstls::blocking::Stream::connect(config, target.host, target.port, options);
    if (!connected) throw Fatal(connected.error());
    stream.emplace(std::move(connected).value());
    const sanstls::ConnectionInfo& info = stream->connection().info();
    report.info = &info;
    if (!json) {
      std::fprintf(stderr, "sanstls: connected to %s\n%s", stream->peer_address().c_str(),
                   handshake_summary(info, !insecure).c_str());
    }
    if (insecure && !info.authorized) {
      std::fprintf(stderr, "sanstls: WARNING: continuing although the certificate failed verification (%s)\n",
                   info.authorization_error.name());
    }
    DataPhase phase;
    phase.timeout = to_ms(timeout);
    phase.half_close = !args.has("--no-half-close");
    report.error = args.has("--send") ? send_then_receive(*stream, args.value("--send"), phase, sink)
                                      : relay_stdio(*stream, phase, sink);
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
