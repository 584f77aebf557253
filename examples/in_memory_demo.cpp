// sanstls demo: a TLS client and server talking to each other in memory.
//
// sanstls never touches a socket: a Connection takes ciphertext in (feed),
// hands ciphertext out (pending_output/consume_output), and takes/returns
// plaintext (write/read). Here the "network" is two byte queues, so we can
// watch every record cross between the two sides.
//
// The story: make a throwaway CA and a "localhost" certificate (ECDSA P-256),
// then run one connection with TLS 1.3 and one with TLS 1.2, showing each
// flight of records, what was negotiated, the certificate check, an HTTP-ish
// exchange, a clean close_notify shutdown and the memory each side used.
// Uses only the public headers. Exits non-zero on any error.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sanstls/platform.h"
#include "sanstls/sanstls.h"
#include "sanstls/testing/pki.h"

using namespace sanstls;

namespace {

[[noreturn]] void fail(const char* who, const Error& e) {
  std::printf("\nFAILED (%s): %s [stage %s] %s", who, e.name(), stage_name(e.stage()), e.message());
  if (e.has_alert())
    std::printf(" (alert %s %s)", alert_name(e.alert()),
                e.alert_direction() == AlertDirection::sent ? "sent" : "received");
  std::printf("\n");
  std::exit(1);
}

[[noreturn]] void fail(const char* what) {
  std::printf("\nFAILED: %s\n", what);
  std::exit(1);
}

// Shows text with \r and \n visible.
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text)
    out += c == '\r' ? std::string("\\r") : c == '\n' ? std::string("\\n") : std::string(1, c);
  return out + "\"";
}

const char* content_type_name(uint8_t type) {
  static const char* const names[] = {"change_cipher_spec", "alert", "handshake",
                                      "application_data"};
  return type >= 20 && type <= 23 ? names[type - 20] : "unknown";
}

const char* handshake_name(uint8_t type) {
  static const struct {
    uint8_t type;
    const char* name;
  } names[] = {{0, "HelloRequest"},       {1, "ClientHello"},         {2, "ServerHello"},
               {4, "NewSessionTicket"},   {8, "EncryptedExtensions"}, {11, "Certificate"},
               {12, "ServerKeyExchange"}, {13, "CertificateRequest"}, {14, "ServerHelloDone"},
               {15, "CertificateVerify"}, {16, "ClientKeyExchange"},  {20, "Finished"},
               {24, "KeyUpdate"}};
  for (const auto& entry : names) {
    if (entry.type == type) return entry.name;
  }
  return "unknown handshake message";
}

// A HelloRetryRequest is a ServerHello whose random is SHA-256("HelloRetryRequest").
const uint8_t kHelloRetryRandom[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

// Watches one direction of the wire and describes its records. Display only,
// and bounded: between flights it keeps at most one partial record and one
// partial handshake message (capped at 64 KiB).
class Tap {
 public:
  explicit Tap(bool tls12) : tls12_(tls12) {}

  void show(ByteView bytes, const char* from, const char* to) {
    stream_.insert(stream_.end(), bytes.begin(), bytes.end());
    size_t records = 0;
    for (size_t at = 0; at + 5 <= stream_.size();) {
      size_t length = (size_t{stream_[at + 3]} << 8) | stream_[at + 4];
      if (at + 5 + length > stream_.size()) break;
      ++records;
      at += 5 + length;
    }
    std::printf("%s -> %s: %zu record%s, %zu bytes\n", from, to, records, records == 1 ? "" : "s",
                bytes.size());
    size_t at = 0;
    while (!broken_ && at + 5 <= stream_.size()) {
      uint8_t type = stream_[at];
      size_t length = (size_t{stream_[at + 3]} << 8) | stream_[at + 4];
      if (length > 16384 + 2048) {  // larger than any legal TLS record
        std::printf("    (record length %zu is not valid TLS; not parsing further)\n", length);
        broken_ = true;
        break;
      }
      if (at + 5 + length > stream_.size()) break;  // rest arrives in a later flight
      std::printf("    %-18s %5zu bytes  %s\n", content_type_name(type), length,
                  describe(type, ByteView(stream_.data() + at + 5, length)).c_str());
      at += 5 + length;
    }
    if (broken_)
      stream_.clear();
    else
      stream_.erase(stream_.begin(), stream_.begin() + static_cast<std::ptrdiff_t>(at));
  }

 private:
  std::string describe(uint8_t type, ByteView body) {
    if (type == 23 || encrypted_) {
      // In TLS 1.2 the only handshake message sent encrypted is Finished.
      return std::string("encrypted (") + content_type_name(type) + ")" +
             (type == 22 ? ": Finished" : "");
    }
    if (type == 20) {
      if (!tls12_) return "(TLS 1.3 middlebox compatibility; ignored)";
      encrypted_ = true;  // TLS 1.2: this sender encrypts everything after it
      return "ChangeCipherSpec: encryption starts now";
    }
    if (type == 21 && body.size() == 2)
      return std::string(body[0] == 2 ? "fatal " : "warning ") + alert_name(Alert(body[1]));
    if (type != 22) return "";
    // Handshake messages: 1-byte type, 3-byte length; they may span records.
    if (handshake_.size() + body.size() > 65536) {
      handshake_.clear();
      return "(handshake message too large to show)";
    }
    handshake_.insert(handshake_.end(), body.begin(), body.end());
    std::string names;
    size_t at = 0;
    while (at + 4 <= handshake_.size()) {
      size_t length = (size_t{handshake_[at + 1]} << 16) | (size_t{handshake_[at + 2]} << 8) |
                      handshake_[at + 3];
      if (at + 4 + length > handshake_.size()) break;
      bool retry = handshake_[at] == 2 && length >= 34 &&
                   std::memcmp(&handshake_[at + 6], kHelloRetryRandom, 32) == 0;
      names += (names.empty() ? "" : ", ") +
               std::string(retry ? "HelloRetryRequest" : handshake_name(handshake_[at]));
      at += 4 + length;
    }
    handshake_.erase(handshake_.begin(), handshake_.begin() + static_cast<std::ptrdiff_t>(at));
    if (!handshake_.empty())
      names += names.empty() ? "(start of a message)" : " (+ start of the next)";
    return names;
  }

  bool tls12_;
  bool encrypted_ = false;
  bool broken_ = false;
  std::vector<uint8_t> stream_;     // an incomplete record
  std::vector<uint8_t> handshake_;  // an incomplete handshake message
};

struct Peer {
  const char* name;
  Connection conn;
  Tap tap;                     // describes what this peer sends
  std::vector<uint8_t> inbox;  // ciphertext on its way to this peer
  std::string received;        // plaintext this peer has read
  bool peer_closed = false;
};

// Moves everything `from` wants to send onto the wire towards `to`.
bool transmit(Peer& from, Peer& to) {
  ByteView out = from.conn.pending_output();
  if (out.empty()) return false;
  from.tap.show(out, from.name, to.name);
  to.inbox.insert(to.inbox.end(), out.begin(), out.end());
  from.conn.consume_output(out.size());
  return true;
}

// Feeds `to` what arrived, reads its plaintext and reports its events.
bool receive(Peer& to) {
  bool progress = false;
  if (!to.inbox.empty()) {
    size_t n = to.conn.feed(to.inbox);
    to.inbox.erase(to.inbox.begin(), to.inbox.begin() + static_cast<std::ptrdiff_t>(n));
    progress = n > 0;
  }
  uint8_t buffer[4096];
  while (size_t n = to.conn.read(MutableByteView(buffer, sizeof buffer))) {
    to.received.append(reinterpret_cast<const char*>(buffer), n);
    progress = true;
  }
  while (auto event = to.conn.next_event()) {
    std::printf("  [%s] event: %s\n", to.name, event_kind_name(event->kind));
    if (event->kind == EventKind::peer_closed) to.peer_closed = true;
    progress = true;
  }
  if (to.conn.error()) fail(to.name, to.conn.error());
  return progress;
}

// Runs both sides until neither has anything left to do.
void pump(Peer& client, Peer& server) {
  for (int round = 0; round < 1000; ++round) {
    bool progress = transmit(client, server);
    progress = receive(server) || progress;
    progress = transmit(server, client) || progress;
    progress = receive(client) || progress;
    if (!progress) return;
  }
  fail("the connections never settled");
}

void print_certificate(const CertificateInfo& cert) {
  std::printf("  subject:     %s\n  issuer:      %s\n  valid:       %s .. %s\n",
              cert.subject.c_str(), cert.issuer.c_str(), cert.valid_from.c_str(),
              cert.valid_to.c_str());
  std::printf("  alt names:   %s\n  sha256:      %s\n", cert.subjectaltname.c_str(),
              cert.fingerprint256.c_str());
}

void run(TlsVersion version, const testing::Identity& ca, const testing::Identity& leaf) {
  std::printf("\n======== %s ========\n\n", version_name(version));
  Result<Config> client_config = ConfigBuilder(Role::client)
                                     .versions(version, version)
                                     .trust_anchors(ca.certificate_pem)
                                     .random(platform::os_random())
                                     .clock(platform::system_clock())
                                     .build();
  if (!client_config) fail("client config", client_config.error());
  Result<Config> server_config = ConfigBuilder(Role::server)
                                     .versions(version, version)
                                     .certificate(leaf.certificate_pem, leaf.key.private_key_pem)
                                     .random(platform::os_random())
                                     .clock(platform::system_clock())
                                     .build();
  if (!server_config) fail("server config", server_config.error());
  Result<Connection> c = Connection::client(client_config.value(), "localhost");
  if (!c) fail("client", c.error());
  Result<Connection> s = Connection::server(server_config.value());
  if (!s) fail("server", s.error());

  bool tls12 = version == TlsVersion::tls1_2;
  Peer client{"client", std::move(c).value(), Tap(tls12), {}, {}, false};
  Peer server{"server", std::move(s).value(), Tap(tls12), {}, {}, false};

  std::printf("-- handshake (client connects to \"localhost\")\n");
  if (!tls12)
    std::printf(
        "  (TLS 1.3 encrypts everything after ServerHello; such records travel as "
        "application_data)\n");
  pump(client, server);
  if (!client.conn.wants().handshake_complete || !server.conn.wants().handshake_complete)
    fail("the handshake did not complete");
  const ConnectionInfo& info = client.conn.info();
  if (std::strcmp(info.protocol, version_name(version)) != 0)
    fail("negotiated an unexpected version");

  std::printf("\n-- negotiated\n");
  std::printf("  protocol:    %s\n  cipher:      %s (OpenSSL: %s)\n  group:       %s\n",
              info.protocol, info.cipher.standard_name, info.cipher.name,
              *info.group ? info.group : "(none)");
  std::printf("  server saw:  %s, %s, SNI \"%s\"\n", server.conn.info().protocol,
              server.conn.info().cipher.standard_name, server.conn.info().server_name.c_str());
  if (info.authorized) {
    std::printf(
        "  certificate: verified against the demo CA, matches \"localhost\" (authorized)\n");
  } else {
    std::printf("  certificate: NOT authorized: %s\n", info.authorization_error.name());
  }
  if (info.peer_certificates.empty()) fail("the client saw no server certificate");
  print_certificate(info.peer_certificates.front());
  if (!info.authorized) fail("client", info.authorization_error);

  std::printf("\n-- data\n");
  const std::string request = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";
  if (client.conn.write(request) != request.size()) fail("the client could not write its request");
  pump(client, server);
  std::printf("  server read %zu bytes: %s\n", server.received.size(),
              quoted(server.received).c_str());
  if (server.received != request) fail("the server did not receive the request intact");
  const std::string reply = "HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n";
  if (server.conn.write(reply) != reply.size()) fail("the server could not write its reply");
  pump(client, server);
  std::printf("  client read %zu bytes: %s\n", client.received.size(),
              quoted(client.received).c_str());
  if (client.received != reply) fail("the client did not receive the reply intact");

  std::printf("\n-- close\n");
  std::printf("  client: close()\n");
  client.conn.close();
  pump(client, server);
  if (!server.peer_closed) fail("the server did not see the client's close_notify");
  std::printf("  server: close()\n");
  server.conn.close();
  pump(client, server);
  if (!client.peer_closed) fail("the client did not see the server's close_notify");
  std::printf("  both closed: client %s, server %s\n", client.conn.wants().closed ? "yes" : "no",
              server.conn.wants().closed ? "yes" : "no");

  std::printf("\n-- memory per connection (heap)\n");
  for (const Peer* peer : {&client, &server}) {
    MemoryUsage m = peer->conn.memory();
    std::printf("  %s: %zu bytes now, %zu bytes at peak\n", peer->name, m.current_bytes,
                m.peak_bytes);
  }
}

}  // namespace

int main() {
  // Throwaway certificates: a fresh random seed each run.
  uint64_t seed = 0;
  if (!platform::os_random().fill(MutableByteView(&seed, sizeof seed))) fail("no OS randomness");
  testing::Pki pki(seed);

  testing::CertificateSpec ca_spec;
  ca_spec.common_name = "sanstls demo CA";
  ca_spec.is_ca = true;
  std::optional<testing::Identity> ca = pki.self_signed(ca_spec);
  if (!ca) fail(("making the CA: " + pki.last_error()).c_str());

  testing::CertificateSpec leaf_spec;
  leaf_spec.common_name = "localhost";
  leaf_spec.dns_names = {"localhost"};
  leaf_spec.client_auth = false;
  std::optional<testing::Identity> leaf = pki.issue(*ca, leaf_spec);
  if (!leaf) fail(("making the server certificate: " + pki.last_error()).c_str());

  std::printf("sanstls demo: an in-memory TLS client and server\n\n");
  std::printf("certificates made just now (ECDSA P-256):\n");
  std::printf("  CA:     subject %s (self-signed)\n", ca->subject.c_str());
  std::printf("  server: subject %s, issuer %s\n", leaf->subject.c_str(), ca->subject.c_str());

  run(TlsVersion::tls1_3, *ca, *leaf);
  run(TlsVersion::tls1_2, *ca, *leaf);
  std::printf("\nall done: both versions handshook, exchanged data and closed cleanly.\n");
  return 0;
}
