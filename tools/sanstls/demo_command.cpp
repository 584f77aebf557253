// sanstls demo: a throwaway CA and server certificate, a server and a client
// on loopback, first with TLS 1.3 and then with TLS 1.2. It narrates each
// step for a newcomer: what is being done, what was negotiated, how the
// certificate was checked, the data exchanged and the clean close.
#include <cstdarg>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "describe.h"
#include "options.h"
#include "sanstls/adapters/blocking.h"
#include "sanstls/platform.h"
#include "sanstls/testing/pki.h"

namespace sanstls_cli {
namespace {

using sanstls::Error;
using sanstls::TlsVersion;
using sanstls::blocking::Milliseconds;
using sanstls::blocking::Stream;

const CommandSpec kSpec{
    "demo",
    "",
    "Makes a throwaway CA and a certificate for \"localhost\", starts a TLS server on\n"
    "127.0.0.1 and connects a client to it, first with TLS 1.3 and then with TLS 1.2,\n"
    "explaining each step. Exit status 0 when both runs succeed.",
    {},
    0,
    0};

constexpr Milliseconds kStepTimeout{10000};
const char kRequest[] = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";
const char kReply[] =
    "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 26\r\n\r\nhello from the TLS "
    "server\n";

void say(const char* format, ...) __attribute__((format(printf, 1, 2)));
void say(const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::vprintf(format, args);
  va_end(args);
  std::fflush(stdout);
}

// Shows text with \r and \n visible.
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text)
    out += c == '\r' ? std::string("\\r") : c == '\n' ? std::string("\\n") : std::string(1, c);
  return out + "\"";
}

struct DemoFailure {
  std::string what;
};

[[noreturn]] void fail(const std::string& who, const Error& error) {
  throw DemoFailure{who + ": " + error_text(error)};
}

sanstls::Config build(const sanstls::ConfigBuilder& builder, const char* who) {
  auto config = builder.build();
  if (!config) fail(who, config.error());
  return std::move(config).value();
}

// Reads until `done` says the text is complete, or the peer closes.
std::string read_message(Stream& stream, bool (*done)(const std::string&), const char* who) {
  std::string text;
  uint8_t buffer[4096];
  while (!done(text)) {
    auto n = stream.read(sanstls::MutableByteView(buffer, sizeof buffer), kStepTimeout);
    if (!n) fail(who, n.error());
    if (n.value() == 0) break;
    text.append(reinterpret_cast<const char*>(buffer), n.value());
  }
  return text;
}

bool has_request_head(const std::string& text) {
  return text.find("\r\n\r\n") != std::string::npos;
}
bool has_whole_reply(const std::string& text) { return text.size() >= sizeof kReply - 1; }

// The server side, on its own thread: one connection, then it is done. It
// notes what it sees in `log`, which the main thread prints after join(), so
// the story reads in order whatever the threads' timing.
struct ServerSide {
  std::vector<std::string> log;
  std::optional<std::string> failure;
  void note(const std::string& line) { log.push_back("  server: " + line + "\n"); }
};

void serve_once(sanstls::blocking::Listener& listener, const sanstls::Config& config,
                ServerSide* side) {
  try {
    auto accepted = listener.accept(config, kStepTimeout);
    if (!accepted) fail("server accept", accepted.error());
    Stream& stream = accepted.value();
    side->note("accepted a TCP connection from " + stream.peer_address());
    if (Error error = stream.handshake(kStepTimeout)) fail("server handshake", error);
    const sanstls::ConnectionInfo& info = stream.connection().info();
    side->note(std::string("handshake complete: ") + info.protocol + ", " +
               info.cipher.standard_name + "; the client asked for \"" + info.server_name +
               "\" (SNI)");
    const std::string request = read_message(stream, has_request_head, "server read");
    side->note("received " + std::to_string(request.size()) +
               " bytes of plaintext: " + quoted(request));
    if (Error error = stream.write_all(kReply, kStepTimeout)) fail("server write", error);
    side->note("sent its reply (" + std::to_string(sizeof kReply - 1) + " bytes of plaintext)");
    read_message(
        stream, [](const std::string&) { return false; }, "server read");
    side->note("received the client's close_notify and answered with its own");
    if (Error error = stream.shutdown(kStepTimeout)) fail("server close", error);
  } catch (const DemoFailure& failure) {
    side->failure = failure.what;
  }
}

void print_certificate_check(const sanstls::ConnectionInfo& info) {
  say("\n-- certificate check (done by the client during the handshake)\n");
  const sanstls::CertificateInfo& leaf = info.peer_certificates.front();
  say("  subject:     %s\n  issuer:      %s\n", leaf.subject.c_str(), leaf.issuer.c_str());
  say("  valid:       %s .. %s\n  alt names:   %s\n", leaf.valid_from.c_str(),
      leaf.valid_to.c_str(), leaf.subjectaltname.c_str());
  say("  sha256:      %s\n", leaf.fingerprint256.c_str());
  if (info.authorized) {
    say("  result:      authorized: the chain leads to the demo CA we trust, the dates are\n"
        "               current, and the certificate names \"localhost\", the name we asked for\n");
  } else {
    say("  result:      NOT authorized: %s\n", error_text(info.authorization_error).c_str());
  }
}

void run(TlsVersion version, const sanstls::testing::Identity& ca, const std::string& chain,
         const std::string& key) {
  say("\n======== %s ========\n\n", sanstls::version_name(version));
  auto server_config = build(sanstls::ConfigBuilder(sanstls::Role::server)
                                 .versions(version, version)
                                 .certificate(chain, key)
                                 .random(sanstls::platform::os_random())
                                 .clock(sanstls::platform::system_clock()),
                             "server config");
  auto client_config = build(sanstls::ConfigBuilder(sanstls::Role::client)
                                 .versions(version, version)
                                 .trust_anchors(ca.certificate_pem)
                                 .random(sanstls::platform::os_random())
                                 .clock(sanstls::platform::system_clock()),
                             "client config");
  auto listener = sanstls::blocking::Listener::bind("127.0.0.1", 0);
  if (!listener) fail("listen", listener.error());
  const uint16_t port = listener->port();
  say("-- setup\n");
  say("  server: listening on 127.0.0.1:%u, %s only, with the \"localhost\" certificate\n", port,
      sanstls::version_name(version));
  say("  client: trusts only the demo CA, allows %s only, connects to 127.0.0.1:%u\n"
      "          and asks for the server name \"localhost\"\n",
      sanstls::version_name(version), port);

  ServerSide side;
  std::thread server([&] { serve_once(listener.value(), server_config, &side); });
  std::optional<std::string> client_failure;
  try {
    say("\n-- handshake\n");
    say("  client: connecting over TCP, then ClientHello -> ServerHello, certificate, key "
        "exchange, Finished\n");
    sanstls::blocking::ConnectOptions options;
    options.timeout = kStepTimeout;
    options.server_name = "localhost";
    auto connected = Stream::connect(client_config, "127.0.0.1", port, options);
    if (!connected) fail("client connect", connected.error());
    Stream& stream = connected.value();
    const sanstls::ConnectionInfo& info = stream.connection().info();
    say("  client: handshake complete\n");
    say("\n-- negotiated\n");
    say("  protocol:    %s\n  cipher:      %s (IANA name)\n               %s (OpenSSL name)\n",
        info.protocol, info.cipher.standard_name, info.cipher.name);
    say("  group:       %s (the key exchange)\n", *info.group ? info.group : "(none)");
    print_certificate_check(info);
    if (!info.authorized) fail("client", info.authorization_error);

    say("\n-- data exchange (encrypted on the wire, plaintext to the applications)\n");
    say("  client: sending %s\n", quoted(kRequest).c_str());
    if (Error error = stream.write_all(kRequest, kStepTimeout)) fail("client write", error);
    const std::string reply = read_message(stream, has_whole_reply, "client read");
    say("  client: received %zu bytes: %s\n", reply.size(), quoted(reply).c_str());
    if (reply != kReply) throw DemoFailure{"the client did not receive the reply intact"};

    say("\n-- clean close\n");
    say("  client: sending close_notify (\"I will send nothing more\")\n");
    if (Error error = stream.shutdown(kStepTimeout)) fail("client close", error);
    say("  client: received the server's close_notify: both sides closed cleanly,\n"
        "          so neither side could have been cut short by an attacker\n");
    server.join();
    say("\n-- the same connection, as the server saw it\n");
    for (const std::string& line : side.log) say("%s", line.c_str());
    if (side.failure) throw DemoFailure{*side.failure};
  } catch (const DemoFailure& failure) {
    client_failure = failure.what;
  }
  if (server.joinable()) server.join();
  if (client_failure) throw DemoFailure{*client_failure};
  if (side.failure) throw DemoFailure{*side.failure};
}

}  // namespace

int demo_command(int argc, char** argv, int first) {
  const Args args = parse_args(kSpec, argc, argv, first);
  if (args.help) {
    std::fputs(usage_text(kSpec).c_str(), stdout);
    return kExitOk;
  }
  try {
    uint64_t seed = 0;
    if (!sanstls::platform::os_random().fill(sanstls::MutableByteView(&seed, sizeof seed))) {
      throw DemoFailure{"no OS randomness"};
    }
    sanstls::testing::Pki pki(seed);
    sanstls::testing::CertificateSpec ca_spec;
    ca_spec.common_name = "sanstls demo CA";
    ca_spec.is_ca = true;
    auto ca = pki.self_signed(ca_spec);
    if (!ca) throw DemoFailure{"making the CA: " + pki.last_error()};
    sanstls::testing::CertificateSpec leaf_spec;
    leaf_spec.common_name = "localhost";
    leaf_spec.dns_names = {"localhost"};
    leaf_spec.ip_addresses = {"127.0.0.1"};
    leaf_spec.client_auth = false;
    auto leaf = pki.issue(*ca, leaf_spec);
    if (!leaf) throw DemoFailure{"making the server certificate: " + pki.last_error()};

    say("sanstls demo: a TLS server and client talking over loopback TCP\n\n");
    say("certificates made just now for this run only (ECDSA P-256, thrown away at exit):\n");
    say("  CA:     %s (self-signed; the client trusts it)\n", ca->subject.c_str());
    say("  server: %s, issued by the CA, for localhost and 127.0.0.1\n", leaf->subject.c_str());

    run(TlsVersion::tls1_3, *ca, leaf->certificate_pem, leaf->key.private_key_pem);
    run(TlsVersion::tls1_2, *ca, leaf->certificate_pem, leaf->key.private_key_pem);
  } catch (const DemoFailure& failure) {
    say("\nFAILED: %s\n", failure.what.c_str());
    return kExitFailure;
  }
  say("\nall done: TLS 1.3 and TLS 1.2 both handshook, verified the certificate, exchanged\n"
      "data and closed cleanly with close_notify in both directions.\n");
  return kExitOk;
}

}  // namespace sanstls_cli
