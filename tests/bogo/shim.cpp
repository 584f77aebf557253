// The BoGo shim: BoringSSL's TLS test runner (ssl/test/runner) starts this
// program once per test with bssl_shim's flags. We connect to the runner's
// -port (also when we are the TLS server), run one connection per
// -resume-count + 1 over our engine (public API only) and a socket, echo
// what the runner sends XOR 0xff, and report failures on stderr in
// BoringSSL's ":REASON:" form (error_map.h). Flags we do not implement make
// us exit 89, which the runner counts as "unimplemented", not as a failure.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "error_map.h"
#include "sanstls/connection.h"
#include "sanstls/platform.h"
#include "sanstls/sessions.h"

namespace {

using namespace sanstls;

constexpr int kExitUnimplemented = 89;
constexpr int kIoTimeoutMs = 5000;  // every wait; the runner's own idle limit is longer

[[noreturn]] void unimplemented(const std::string& what) {
  std::fprintf(stderr, "sanstls shim: unimplemented: %s\n", what.c_str());
  // scripts/bogo.sh tallies the reasons (the runner does not keep our stderr).
  if (const char* log = std::getenv("SANSTLS_BOGO_UNIMPLEMENTED_LOG")) {
    if (FILE* f = std::fopen(log, "a")) {
      std::fprintf(f, "%s\n", what.c_str());
      std::fclose(f);
    }
  }
  std::exit(kExitUnimplemented);
}

// ---- flags -------------------------------------------------------------------

// bssl_shim's flags that take a parameter (test_config.cc); all others are
// boolean. A flag missing from both lists is unknown to this runner version.
const std::set<std::string> kParamFlags = {"-port",
                                           "-resume-count",
                                           "-write-settings",
                                           "-signing-prefs",
                                           "-verify-prefs",
                                           "-expect-peer-verify-pref",
                                           "-curves",
                                           "-key-file",
                                           "-cert-file",
                                           "-expect-server-name",
                                           "-ech-server-config",
                                           "-ech-server-key",
                                           "-ech-is-retry-config",
                                           "-expect-ech-name-override",
                                           "-expect-ech-retry-configs",
                                           "-ech-config-list",
                                           "-expect-certificate-types",
                                           "-advertise-npn",
                                           "-expect-next-proto",
                                           "-select-next-proto",
                                           "-expect-channel-id",
                                           "-send-channel-id",
                                           "-host-name",
                                           "-advertise-alpn",
                                           "-expect-alpn",
                                           "-expect-late-alpn",
                                           "-expect-advertised-alpn",
                                           "-select-alpn",
                                           "-application-settings",
                                           "-expect-peer-application-settings",
                                           "-quic-transport-params",
                                           "-expect-quic-transport-params",
                                           "-quic-use-legacy-codepoint",
                                           "-psk",
                                           "-psk-identity",
                                           "-srtp-profiles",
                                           "-expect-signed-cert-timestamps",
                                           "-min-version",
                                           "-max-version",
                                           "-expect-version",
                                           "-mtu",
                                           "-cipher",
                                           "-export-keying-material",
                                           "-export-label",
                                           "-export-context",
                                           "-ocsp-response",
                                           "-expect-ocsp-response",
                                           "-signed-cert-timestamps",
                                           "-expect-total-renegotiations",
                                           "-expect-peer-signature-algorithm",
                                           "-expect-curve-id",
                                           "-initial-timeout-duration-ms",
                                           "-use-client-ca-list",
                                           "-expect-client-ca-list",
                                           "-max-cert-list",
                                           "-ticket-key",
                                           "-expect-cipher-aes",
                                           "-expect-cipher-no-aes",
                                           "-expect-cipher",
                                           "-expect-peer-cert-file",
                                           "-resumption-delay",
                                           "-max-send-fragment",
                                           "-read-size",
                                           "-expect-ticket-age-skew",
                                           "-expect-msg-callback",
                                           "-install-one-cert-compression-alg",
                                           "-handshaker-path",
                                           "-delegated-credential",
                                           "-expect-early-data-reason",
                                           "-quic-early-data-context",
                                           "-early-write-after-message"};

// Boolean flags the shim honours, or that do not change what a peer observes
// of our side (-async: our socket loop behaves the same either way;
// -no-op-extra-handshake: our API has no handshake call to repeat).
const std::set<std::string> kSupportedBools = {"-server",
                                               "-async",
                                               "-implicit-handshake",
                                               "-shim-writes-first",
                                               "-shim-shuts-down",
                                               "-check-close-notify",
                                               "-no-tls13",
                                               "-no-tls12",
                                               "-no-tls11",
                                               "-no-tls1",
                                               "-no-ticket",
                                               "-expect-session-miss",
                                               "-expect-no-session",
                                               "-server-preference",
                                               "-decline-alpn",
                                               "-reject-alpn",
                                               "-partial-write",
                                               "-write-different-record-sizes",
                                               "-verify-peer",
                                               "-require-any-client-certificate",
                                               "-use-export-context",
                                               "-renegotiate-freely",
                                               "-expect-no-offer-early-data",
                                               "-enable-early-data",
                                               "-expect-accept-early-data",
                                               "-expect-reject-early-data",
                                               "-expect-ticket-supports-early-data",
                                               "-expect-hrr",
                                               "-expect-no-hrr",
                                               "-verify-fail",
                                               "-expect-verify-result",
                                               "-use-custom-verify-callback",
                                               "-reverify-on-resume",
                                               "-use-old-client-cert-callback",
                                               "-expect-session-id",
                                               "-expect-no-session-id",
                                               "-expect-extended-master-secret",
                                               "-renegotiate-ignore",
                                               "-expect-ticket-renewal",
                                               "-use-early-callback",
                                               "-renegotiate-explicit",
                                               "-no-op-extra-handshake",
                                               "-read-with-unfinished-write"};

const std::set<std::string> kSupportedParams = {"-port",
                                                "-resume-count",
                                                "-write-settings",
                                                "-key-file",
                                                "-cert-file",
                                                "-min-version",
                                                "-max-version",
                                                "-expect-version",
                                                "-host-name",
                                                "-advertise-alpn",
                                                "-select-alpn",
                                                "-expect-alpn",
                                                "-expect-server-name",
                                                "-curves",
                                                "-cipher",
                                                "-expect-curve-id",
                                                "-max-send-fragment",
                                                "-read-size",
                                                "-export-keying-material",
                                                "-export-label",
                                                "-export-context",
                                                "-psk",
                                                "-psk-identity",
                                                "-resumption-delay",
                                                "-expect-peer-cert-file",
                                                "-signing-prefs",
                                                "-verify-prefs",
                                                "-expect-total-renegotiations",
                                                "-expect-early-data-reason",
                                                "-expect-peer-signature-algorithm",
                                                "-expect-advertised-alpn",
                                                "-expect-cipher"};

// The settings of one connection: bool flags present, and each param flag's
// values in order.
struct ShimConfig {
  std::set<std::string> bools;
  std::map<std::string, std::vector<std::string>> params;

  bool has(const std::string& flag) const { return bools.count(flag) > 0; }
  bool given(const std::string& flag) const { return params.count(flag) > 0; }
  std::string str(const std::string& flag, const std::string& fallback = {}) const {
    auto it = params.find(flag);
    return it == params.end() ? fallback : it->second.back();
  }
  long num(const std::string& flag, long fallback = 0) const {
    auto it = params.find(flag);
    return it == params.end() ? fallback : std::strtol(it->second.back().c_str(), nullptr, 10);
  }
  std::vector<long> nums(const std::string& flag) const {
    std::vector<long> out;
    auto it = params.find(flag);
    if (it != params.end()) {
      for (const auto& v : it->second) out.push_back(std::strtol(v.c_str(), nullptr, 10));
    }
    return out;
  }
};

// Plain flags apply to every connection; -on-initial-/-on-resume-/-on-retry-
// prefixed ones to that connection only (as in bssl_shim). The retry
// config is bssl_shim's for the handshake after a 0-RTT rejection: plain
// flags and -on-retry- ones, not -on-resume- ones.
void parse_flags(int argc, char** argv, ShimConfig& initial, ShimConfig& resume,
                 ShimConfig& retry) {
  for (int i = 1; i < argc; i++) {
    std::string flag = argv[i];
    bool to_initial = true, to_resume = true, to_retry = true;
    for (const char* prefix : {"-on-initial-", "-on-resume-", "-on-retry-"}) {
      const std::string p = prefix;
      if (flag.compare(0, p.size(), p) == 0) {
        to_initial = p == "-on-initial-";
        to_resume = p == "-on-resume-";
        to_retry = p == "-on-retry-";
        flag = "-" + flag.substr(p.size());
      }
    }
    const bool takes_param = kParamFlags.count(flag) > 0;
    std::string value;
    if (takes_param) {
      if (i + 1 >= argc) unimplemented("missing parameter for " + flag);
      value = argv[++i];
      if (!kSupportedParams.count(flag)) unimplemented(flag);
    } else if (!kSupportedBools.count(flag)) {
      unimplemented(flag);
    }
    for (ShimConfig* c : {to_initial ? &initial : nullptr, to_resume ? &resume : nullptr,
                          to_retry ? &retry : nullptr}) {
      if (c == nullptr) continue;
      if (takes_param) {
        c->params[flag].push_back(value);
      } else {
        c->bools.insert(flag);
      }
    }
  }
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) unimplemented("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// ALPN lists come in wire format (length-prefixed strings).
std::vector<std::string> alpn_wire_list(const std::string& wire) {
  std::vector<std::string> out;
  for (size_t i = 0; i < wire.size();) {
    const size_t n = static_cast<uint8_t>(wire[i]);
    out.push_back(wire.substr(i + 1, n));
    i += 1 + n;
  }
  return out;
}

// The DER of the first PEM block in `pem`.
std::vector<uint8_t> pem_first_der(const std::string& pem) {
  const size_t begin = pem.find("-----BEGIN");
  const size_t body = pem.find('\n', begin);
  const size_t end = pem.find("-----END", body);
  if (begin == std::string::npos || body == std::string::npos || end == std::string::npos) {
    unimplemented("not a PEM file");
  }
  std::vector<uint8_t> out;
  uint32_t bits = 0;
  int count = 0;
  for (size_t i = body; i < end; i++) {
    const char ch = pem[i];
    int v;
    if (ch >= 'A' && ch <= 'Z')
      v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z')
      v = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9')
      v = ch - '0' + 52;
    else if (ch == '+')
      v = 62;
    else if (ch == '/')
      v = 63;
    else
      continue;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    if (++count == 4) {
      out.push_back(static_cast<uint8_t>(bits >> 16));
      out.push_back(static_cast<uint8_t>(bits >> 8));
      out.push_back(static_cast<uint8_t>(bits));
      bits = 0;
      count = 0;
    }
  }
  if (count == 3) {
    out.push_back(static_cast<uint8_t>(bits >> 10));
    out.push_back(static_cast<uint8_t>(bits >> 2));
  } else if (count == 2) {
    out.push_back(static_cast<uint8_t>(bits >> 4));
  }
  return out;
}

const char* group_name(long id) {
  switch (id) {
    case 29:
      return "X25519";
    case 23:
      return "P-256";
    case 24:
      return "P-384";
    case 25:
      return "P-521";
    case 30:
      return "X448";
    default:
      return nullptr;
  }
}

const char* signature_algorithm_name(long id) {
  switch (id) {
    case 0x0401:
      return "rsa_pkcs1_sha256";
    case 0x0501:
      return "rsa_pkcs1_sha384";
    case 0x0601:
      return "rsa_pkcs1_sha512";
    case 0x0403:
      return "ecdsa_secp256r1_sha256";
    case 0x0503:
      return "ecdsa_secp384r1_sha384";
    case 0x0603:
      return "ecdsa_secp521r1_sha512";
    case 0x0804:
      return "rsa_pss_rsae_sha256";
    case 0x0805:
      return "rsa_pss_rsae_sha384";
    case 0x0806:
      return "rsa_pss_rsae_sha512";
    default:
      return nullptr;
  }
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ":") + p;
  return out;
}

// ---- failures ------------------------------------------------------------------

[[noreturn]] void fail_with(const Error& error) {
  std::fprintf(stderr, "sanstls: %s (stage %s%s%s): %s\n", error.name(), stage_name(error.stage()),
               error.has_alert() ? ", alert " : "",
               error.has_alert() ? alert_name(error.alert()) : "", error.message());
  const std::string reason = bogo::boringssl_reason(error);
  if (!reason.empty()) std::fprintf(stderr, "%s\n", reason.c_str());
  std::exit(1);
}

[[noreturn]] void fail_check(const std::string& what) {
  std::fprintf(stderr, "sanstls shim: %s\n", what.c_str());
  std::exit(1);
}

// ---- the socket loop -------------------------------------------------------------

int connect_to_runner(int port) {
  int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (fd >= 0) {
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(static_cast<uint16_t>(port));
    addr.sin6_addr = in6addr_loopback;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    ::close(fd);
  }
  fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr4{};
  addr4.sin_family = AF_INET;
  addr4.sin_port = htons(static_cast<uint16_t>(port));
  addr4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr4), sizeof addr4) != 0) {
    fail_check(std::string("cannot connect to the runner: ") + std::strerror(errno));
  }
  return fd;
}

// One TLS connection over one socket, driven until what the caller waits
// for happens (handshake, data, close) or a wait exceeds kIoTimeoutMs.
class Link {
 public:
  Link(int fd, Connection connection) : fd_(fd), conn_(std::move(connection)) {}
  ~Link() { ::close(fd_); }

  Connection& conn() { return conn_; }

  // Sends everything queued; a peer that stopped reading ends the test.
  void flush() {
    while (conn_.wants().has_output) {
      ByteView out = conn_.pending_output();
      const ssize_t n = ::send(fd_, out.data(), out.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        sent_failed_ = true;
        return;
      }
      conn_.consume_output(static_cast<size_t>(n));
    }
  }

  // Flushes, then waits for and feeds one batch of input. False when nothing
  // more can happen (error, closed, timeout, transport gone).
  bool pump() {
    flush();
    if (!conn_.error().ok() || sent_failed_) return false;
    if (!pending_.empty()) {
      const size_t taken = conn_.feed(ByteView(pending_.data(), pending_.size()));
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(taken));
      if (taken > 0) return true;
    }
    if (eof_) return false;
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, kIoTimeoutMs);
    if (ready <= 0) {
      timed_out_ = true;
      return false;
    }
    uint8_t buf[16384 + 2048];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;
      conn_.transport_eof();
      flush();
      return conn_.error().ok();
    }
    pending_.insert(pending_.end(), buf, buf + n);
    const size_t taken = conn_.feed(ByteView(pending_.data(), pending_.size()));
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(taken));
    flush();
    count_events();
    return true;
  }

  // TLS 1.2 renegotiations completed so far (-expect-total-renegotiations).
  long renegotiations() {
    count_events();
    return renegotiations_;
  }

  // Stops the test on the connection's error (after sending its alert).
  [[noreturn]] void fail(const char* waiting_for) {
    flush();
    if (!conn_.error().ok()) fail_with(conn_.error());
    if (timed_out_) fail_check(std::string("timed out waiting for ") + waiting_for);
    fail_check(std::string("the transport ended while waiting for ") + waiting_for);
  }

  void handshake() {
    while (!conn_.wants().handshake_complete) {
      if (!conn_.error().ok() || conn_.wants().closed || !pump()) fail("the handshake");
    }
    flush();
  }

  // Application data (0-RTT data first, on servers), or 0 at the peer's
  // clean close.
  size_t read(uint8_t* out, size_t size) {
    for (;;) {
      if (const size_t early = conn_.read_early_data(MutableByteView(out, size))) return early;
      if (conn_.wants().has_plaintext) return conn_.read(MutableByteView(out, size));
      if (!conn_.error().ok()) fail("data");
      if (conn_.wants().read_closed) return 0;
      if (!pump()) {
        if (conn_.wants().has_plaintext) continue;
        if (conn_.wants().read_closed && conn_.error().ok()) return 0;
        fail("data");
      }
    }
  }

  void write_all(ByteView data) {
    while (!data.empty()) {
      const size_t n = conn_.write(data);
      data = data.skip(n);
      flush();
      if (n == 0 && !pump()) fail("room to write");
    }
    flush();
  }

  // -read-with-unfinished-write: `data` is accepted but only its first
  // byte reaches the socket; the rest goes with the next flush, which the
  // next read does (bssl_shim lets one byte through its async transport).
  void write_unfinished(ByteView data) {
    const size_t n = conn_.write(data);
    if (n != data.size()) fail("room to write");
    ByteView out = conn_.pending_output();
    if (out.empty()) return;
    const ssize_t sent = ::send(fd_, out.data(), 1, MSG_NOSIGNAL);
    if (sent == 1) conn_.consume_output(1);
  }

  // close_notify; with `await_peer`, the peer's close_notify is required.
  void shutdown(bool await_peer) {
    conn_.close();
    flush();
    if (!conn_.error().ok()) fail("our close_notify");
    if (!await_peer) return;
    while (!conn_.wants().read_closed) {
      if (conn_.wants().has_plaintext) {
        uint8_t sink[4096];
        conn_.read(MutableByteView(sink, sizeof sink));
        continue;
      }
      if (!pump() && !conn_.wants().read_closed) fail("the peer's close_notify");
    }
    if (!conn_.error().ok()) fail("the peer's close_notify");
  }

 private:
  int fd_;
  Connection conn_;
  std::vector<uint8_t> pending_;
  bool eof_ = false;
  bool timed_out_ = false;
  long renegotiations_ = 0;

  void count_events() {
    while (auto event = conn_.next_event()) {
      if (event->kind == EventKind::renegotiated) renegotiations_ += event->count;
    }
  }
  bool sent_failed_ = false;
};

// ---- configs -------------------------------------------------------------------

struct Shared {
  ManualClock clock{0};
  std::shared_ptr<TicketKeys> ticket_keys;
  std::shared_ptr<SessionStore> session_store = make_memory_session_store(64);
  std::string resource_dir;
};

constexpr const char* kEverySuite =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
    "TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256:"
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:"
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:"
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256:TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:"
    "TLS_ECDHE_ECDSA_WITH_AES_128_CCM:TLS_ECDHE_ECDSA_WITH_AES_256_CCM:"
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256:TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384:"
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256:TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384:"
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA:TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:"
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA";
constexpr const char* kEveryPskSuite =
    ":TLS_PSK_WITH_AES_128_GCM_SHA256:TLS_PSK_WITH_AES_256_GCM_SHA384:"
    "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256:TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256:"
    "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256:TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384";

// Whether the runner's key behind `cert_file` can sign with one of `schemes`
// in some version (TLS 1.2 takes any ECDSA hash and PKCS#1 v1.5).
bool key_signs_with_one_of(const std::string& cert_file, const std::vector<long>& schemes) {
  const std::string base = cert_file.substr(cert_file.find_last_of('/') + 1);
  const bool ecdsa = base.compare(0, 6, "ecdsa_") == 0;
  for (long id : schemes) {
    if (ecdsa) {
      if ((id & 0xff) == 0x03) return true;
    } else if (base.find("ed25519") == std::string::npos) {
      if (((id & 0xff) == 0x01 && id != 0x0201) || (id >= 0x0804 && id <= 0x0806)) return true;
    }
  }
  return false;
}

void add_runner_trust_anchors(ConfigBuilder& builder, const Shared& shared) {
  // The runner's certificates are self-signed; a server that requires a
  // client certificate trusts them all (bssl_shim accepts any certificate).
  for (const char* name : {"cert.pem", "ecdsa_p256_cert.pem", "ecdsa_p384_cert.pem",
                           "ecdsa_p521_cert.pem", "rsa_1024_cert.pem", "rsa_chain_cert.pem"}) {
    const std::string path = shared.resource_dir + "/" + name;
    std::ifstream probe(path);
    if (probe) builder.trust_anchors(read_text_file(path));
  }
}

// What the callbacks of one connection's Config saw or must do.
struct ConnectionState {
  // -verify-fail for the saved session's chain (checked when the client is
  // made) and for a chain the handshake brings: after a 0-RTT rejection,
  // bssl_shim's retry config decides (-on-retry-verify-fail).
  bool verify_fail_offer = false;
  bool verify_fail_handshake = false;
  bool offered = false;  // the client is made: later calls are the handshake's
  // -expect-advertised-alpn: the ALPN selector saw another list.
  std::optional<std::string> advertised_alpn_mismatch;
  bool early_callback_called = false;  // -use-early-callback
};

Config build_config(const ShimConfig& c, Shared& shared,
                    const std::shared_ptr<ConnectionState>& state) {
  const bool server = c.has("-server");
  ConfigBuilder b(server ? Role::server : Role::client);
  b.random(platform::os_random()).clock(shared.clock);

  // Versions: we speak TLS 1.2 and 1.3 only.
  int min = static_cast<int>(c.num("-min-version", 0x0303));
  int max = static_cast<int>(c.num("-max-version", 0x0304));
  if (c.has("-no-tls13")) max = std::min(max, 0x0303);
  if (c.has("-no-tls12")) min = std::max(min, 0x0304);
  if (min < 0x0303) min = 0x0303;
  if (max > 0x0304) max = 0x0304;
  // -no-tls13 with -no-tls12 leaves nothing: our builder refuses the
  // empty range (below), as BoringSSL refuses to connect.
  const bool none_left = c.has("-no-tls13") && c.has("-no-tls12");
  if (!none_left && (max < 0x0303 || min > max)) {
    unimplemented("a version range without TLS 1.2 or 1.3");
  }
  b.versions(static_cast<TlsVersion>(min), static_cast<TlsVersion>(max));

  // bssl_shim's default enables every suite BoringSSL has; ours enables every
  // suite the engine can negotiate (our own default leaves out CBC and CCM).
  if (c.given("-cipher")) {
    b.cipher_suites(c.str("-cipher"));
  } else {
    b.cipher_suites(std::string(kEverySuite) + (c.given("-psk") ? kEveryPskSuite : ""));
  }
  if (c.given("-curves")) {
    std::vector<std::string> names;
    for (long id : c.nums("-curves")) {
      const char* name = group_name(id);
      // P-224 (21), which we do not offer, is left out of a list that has
      // others (bssl_shim's list of every group it knows has it).
      if (name == nullptr && id == 21) continue;
      if (name == nullptr) unimplemented("group " + std::to_string(id));
      names.push_back(name);
    }
    if (names.empty()) unimplemented("group 21 (P-224) alone");
    b.groups(join(names));
  }
  if (c.given("-signing-prefs") || c.given("-verify-prefs")) {
    // One list serves both signing and verifying (ConfigBuilder::signature_algorithms).
    if (c.given("-signing-prefs") && c.given("-verify-prefs") &&
        c.nums("-signing-prefs") != c.nums("-verify-prefs")) {
      unimplemented("different signing and verifying preferences");
    }
    if (!c.given("-signing-prefs") && c.given("-cert-file") &&
        !key_signs_with_one_of(c.str("-cert-file"), c.nums("-verify-prefs"))) {
      // BoringSSL keeps signing with its defaults; our one list would leave
      // our own key nothing to sign with (in any version: the runner picks).
      unimplemented("-verify-prefs that our own key cannot sign with (one list for both)");
    }
    std::vector<std::string> names;
    const std::vector<long> ids =
        c.nums(c.given("-signing-prefs") ? "-signing-prefs" : "-verify-prefs");
    for (long id : ids) {
      const char* name = signature_algorithm_name(id);
      // SHA-1 schemes (rsa_pkcs1_sha1, ecdsa_sha1), which our Config does
      // not offer, are left out of a list that has others.
      if (name == nullptr && (id == 0x0201 || id == 0x0203) && ids.size() > 1) continue;
      if (name == nullptr) unimplemented("signature algorithm " + std::to_string(id));
      names.push_back(name);
    }
    if (names.empty()) unimplemented("SHA-1 signature algorithms alone");
    b.signature_algorithms(join(names));
  }
  if (c.given("-cert-file") != c.given("-key-file")) unimplemented("a certificate without key");
  if (c.given("-cert-file")) {
    b.certificate(read_text_file(c.str("-cert-file")), read_text_file(c.str("-key-file")));
  }
  if (c.given("-max-send-fragment")) {
    b.max_send_fragment(static_cast<size_t>(c.num("-max-send-fragment")));
  }
  if (c.has("-server-preference")) b.honor_cipher_order(true);
  if (c.has("-check-close-notify")) b.close_timeout(kIoTimeoutMs);
  // -renegotiate-explicit: BoringSSL's application starts the renegotiation
  // a HelloRequest asks for; our engine answers it itself (same on the wire).
  if (c.has("-renegotiate-freely") || c.has("-renegotiate-explicit")) b.renegotiation(true);
  // bssl_shim always verifies with a callback of its own that accepts any
  // certificate, or rejects it with -verify-fail: our certificate_verifier.
  // (BoringSSL's legacy callback fails with handshake_failure, its custom
  // one with certificate_unknown; ours always sends certificate_unknown.)
  b.certificate_verifier([state](const std::vector<CertificateInfo>&) {
    const bool fail = state->offered ? state->verify_fail_handshake : state->verify_fail_offer;
    return fail ? Error(ErrorCode::identity_rejected, Stage::certificate,
                        "rejected by the shim (-verify-fail)")
                : Error();
  });
  // 0-RTT: servers accept up to BoringSSL's limit (14336 bytes, which the
  // runner's tests assume); clients offer it when the ticket allows.
  if (c.has("-enable-early-data")) b.early_data(14336);

  if (server) {
    if (c.has("-require-any-client-certificate")) {
      b.peer_verification(PeerVerification::required);
      add_runner_trust_anchors(b, shared);
    } else if (c.has("-verify-peer")) {
      b.peer_verification(PeerVerification::optional);
    }
    if (c.has("-no-ticket")) {
      b.session_tickets(0);
    } else if (shared.ticket_keys) {
      b.ticket_keys(shared.ticket_keys);
    }
    b.session_store(shared.session_store);
    if (c.has("-use-early-callback")) {
      // BoringSSL's early (ClientHello) callback: our SNI selector is the
      // callback that sees each ClientHello first; it keeps the default.
      b.sni_selector([state](std::string_view) {
        state->early_callback_called = true;
        return SniAnswer::use_default();
      });
    }
    if (c.given("-select-alpn") || c.has("-decline-alpn") || c.has("-reject-alpn") ||
        c.given("-expect-advertised-alpn")) {
      const std::string select = c.str("-select-alpn");
      const bool decline = c.has("-decline-alpn"), reject = c.has("-reject-alpn");
      const bool check = c.given("-expect-advertised-alpn");
      const std::vector<std::string> advertised = alpn_wire_list(c.str("-expect-advertised-alpn"));
      b.alpn_selector([select, decline, reject, check, advertised, state](
                          const std::vector<std::string>& offered) -> std::optional<std::string> {
        // As bssl_shim's ALPN callback: the client's list, when it is asked.
        if (check && offered != advertised) {
          state->advertised_alpn_mismatch = join(offered);
        }
        if (reject) return std::nullopt;
        if (decline) return std::string();  // no protocol: ALPN is not negotiated
        for (const auto& p : offered) {
          if (p == select) return p;
        }
        return select;
      });
    }
    if (c.given("-psk")) {
      const std::string key = c.str("-psk"), identity = c.str("-psk-identity");
      b.psk_lookup([key, identity](std::string_view id) -> std::optional<std::vector<uint8_t>> {
        if (id != identity) return std::nullopt;
        return std::vector<uint8_t>(key.begin(), key.end());
      });
    }
  } else {
    // -verify-peer (SSL_VERIFY_PEER): a rejection is fatal. Without it
    // BoringSSL's client verifies but goes on: our none (clients always
    // verify; info().authorized tells).
    b.peer_verification(c.has("-verify-peer") ? PeerVerification::required
                                              : PeerVerification::none);
    if (c.has("-no-ticket")) b.session_tickets(0);
    if (c.given("-advertise-alpn")) b.alpn(alpn_wire_list(c.str("-advertise-alpn")));
    if (c.given("-psk")) b.psk(c.str("-psk-identity"), ByteView(c.str("-psk")));
  }

  auto built = b.build();
  if (!built) {
    // What our Config refuses is what we do not offer (Ed25519 or P-224
    // keys, cipher suites mbedTLS lacks, ...): unimplemented, not a failure.
    const Error& e = built.error();
    if (e.code() == ErrorCode::version_range_conflict) fail_with(e);
    unimplemented(std::string("configuration refused: ") + e.name() + ": " + e.message());
  }
  if (server && !shared.ticket_keys) shared.ticket_keys = built->ticket_keys();
  return std::move(built).value();
}

// ---- one connection ---------------------------------------------------------------

// BoringSSL's name for an early data reason: ours, except "accept".
std::string bogo_reason_name(EarlyDataReason reason) {
  return reason == EarlyDataReason::accepted ? "accept" : to_string(reason);
}

// The -expect-early-data-reason values our EarlyDataReason covers; the
// others (alpn_mismatch, channel_id, ticket_age_skew, quic_*, alps_*) are
// checks mbedTLS does not make, so their tests are unimplemented.
bool known_reason(const std::string& name) {
  for (EarlyDataReason reason :
       {EarlyDataReason::disabled, EarlyDataReason::accepted, EarlyDataReason::protocol_version,
        EarlyDataReason::peer_declined, EarlyDataReason::no_session_offered,
        EarlyDataReason::session_not_resumed, EarlyDataReason::unsupported_for_session,
        EarlyDataReason::hello_retry_request}) {
    if (name == bogo_reason_name(reason)) return true;
  }
  return false;
}

std::vector<uint8_t> run_connection(const ShimConfig& c, const ShimConfig& retry, Shared& shared,
                                    bool is_resume, const std::vector<uint8_t>& session) {
  const bool server = c.has("-server");
  // A client whose 0-RTT data the test expects rejected: bssl_shim checks
  // the 0-RTT state with `c`, then runs the handshake again (its "retry")
  // and checks that with `retry`. Our engine does both in one handshake and
  // resends the early data itself; what info() reports is the retry's, so
  // `retry` governs the checks after the handshake. (The state before the
  // rejection, which bssl_shim checks with `c`, is not observable here.)
  const bool retries = !server && is_resume && c.has("-expect-reject-early-data");
  const ShimConfig& k = retries ? retry : c;
  auto state = std::make_shared<ConnectionState>();
  state->verify_fail_offer = c.has("-verify-fail");
  state->verify_fail_handshake = k.has("-verify-fail");
  Config config = build_config(c, shared, state);
  std::optional<Result<Connection>> made;
  const std::string host = c.str("-host-name");
  const std::string name = host.empty() ? "runner.invalid" : host;
  if (server) {
    made.emplace(Connection::server(config));
  } else {
    // Without -host-name bssl_shim sends no SNI; so do we when the test
    // does not resume. A session saved by a client without a server name
    // cannot be offered again (Connection::client wants the name it was
    // saved for), so resuming tests name a server that cannot exist.
    // Tests about 0-RTT tickets also name the server (they resume).
    const bool resumes = c.num("-resume-count", 0) > 0 || is_resume || c.has("-enable-early-data");
    if (is_resume && !session.empty()) {
      made.emplace(Connection::client(config, name, ByteView(session)));
    } else if (host.empty() && !resumes) {
      made.emplace(Connection::client_without_server_name(config));
    } else {
      made.emplace(Connection::client(config, name));
    }
  }
  if (!*made) fail_with(made->error());
  state->offered = true;
  const int fd = connect_to_runner(static_cast<int>(c.num("-port")));
  Link link(fd, std::move(*made).value());
  // bssl_shim's client writes its first message as 0-RTT data when it can;
  // on a rejection our engine resends it as 1-RTT data after the handshake
  // (as bssl_shim's retry does).
  // A ticket may allow fewer bytes than we have: the rest goes after the
  // handshake, as BoringSSL's SSL_write does.
  size_t wrote_early = 0;
  if (!server && c.has("-shim-writes-first") && c.has("-enable-early-data")) {
    wrote_early = link.conn().write_early_data(ByteView("hello"));
    link.flush();
  }
  link.handshake();

  // What the handshake should have negotiated.
  const ConnectionInfo& info = link.conn().info();
  if (k.given("-expect-version") && static_cast<long>(info.version) != k.num("-expect-version")) {
    fail_check("unexpected version " + std::to_string(static_cast<int>(info.version)));
  }
  const bool expect_resume = is_resume && !k.has("-expect-session-miss");
  if (info.session_reused != expect_resume) {
    fail_check(std::string("session unexpectedly was") + (info.session_reused ? "" : " not") +
               " reused");
  }
  if (c.has("-expect-accept-early-data") && !info.early_data.accepted) {
    fail_check("early data was not accepted, but we expected it to be");
  }
  if (c.has("-expect-reject-early-data") && info.early_data.accepted) {
    fail_check("early data was accepted, but we expected it not to be");
  }
  if (c.has("-expect-no-offer-early-data") && info.early_data.sent > 0) {
    fail_check("client unexpectedly offered early data");
  }
  if (k.given("-expect-early-data-reason")) {
    const std::string want = k.str("-expect-early-data-reason");
    const std::string got = bogo_reason_name(info.early_data.reason);
    if (got != want) fail_check("early data reason was '" + got + "', expected '" + want + "'");
  }
  // BoringSSL reports a resumed session's original signature scheme; our
  // info() reports this handshake's (none on a resumption): checked on full
  // handshakes only.
  if (k.given("-expect-peer-signature-algorithm") && !info.session_reused &&
      info.peer_signature.id != k.num("-expect-peer-signature-algorithm")) {
    fail_check("peer signature algorithm was " + std::to_string(info.peer_signature.id) + " (" +
               info.peer_signature.name + "), wanted " + k.str("-expect-peer-signature-algorithm"));
  }
  if ((k.has("-expect-hrr") && !info.hello_retry_request) ||
      (k.has("-expect-no-hrr") && info.hello_retry_request)) {
    fail_check(std::string("got ") + (info.hello_retry_request ? "" : "no ") +
               "HelloRetryRequest, but wanted the opposite");
  }
  if (k.given("-expect-cipher") && info.cipher.id != k.num("-expect-cipher")) {
    fail_check("unexpected cipher suite " + std::to_string(info.cipher.id));
  }
  if (k.has("-expect-extended-master-secret") && !info.extended_master_secret) {
    fail_check("no extended master secret, but we expected one");
  }
  // bssl_shim: whether the server cached the new session by ID (TLS 1.2
  // without a ticket), on the first connection.
  if (server && !is_resume && k.has("-expect-session-id") && info.session_id.empty()) {
    fail_check("the session was not cached on the server (no session ID)");
  }
  if (server && !is_resume && k.has("-expect-no-session-id") && !info.session_id.empty()) {
    fail_check("the session was unexpectedly cached on the server (session ID)");
  }
  if (state->advertised_alpn_mismatch) {
    fail_check("the client advertised ALPN '" + *state->advertised_alpn_mismatch + "'");
  }
  if (server && k.has("-use-early-callback") && !state->early_callback_called) {
    fail_check("early callback not called");
  }
  // A TLS 1.2 resumption with -expect-ticket-renewal: the server sent a new
  // ticket (bssl_shim's new-session check).
  if (!server && k.has("-expect-ticket-renewal") && info.version == TlsVersion::tls1_2 &&
      info.session_reused && !info.ticket_received) {
    fail_check("no renewed ticket on resumption, but we expected one");
  }
  if (k.has("-expect-verify-result")) {
    // X509_V_OK, or X509_V_ERR_APPLICATION_VERIFICATION with -verify-fail.
    // No certificate, no verification: X509_V_OK.
    const bool rejected =
        !info.authorized && info.authorization_error.code() == ErrorCode::identity_rejected;
    const bool ok = info.authorized || info.peer_certificates.empty();
    if (k.has("-verify-fail") ? !rejected : !ok) {
      fail_check(std::string("wrong certificate verification result: ") +
                 (info.authorized ? "authorized" : info.authorization_error.name()));
    }
  }
  if (k.given("-expect-alpn") && info.alpn_protocol != k.str("-expect-alpn")) {
    fail_check("unexpected ALPN protocol '" + info.alpn_protocol + "'");
  }
  if (k.given("-expect-server-name") && info.server_name != k.str("-expect-server-name")) {
    fail_check("unexpected server name '" + info.server_name + "'");
  }
  // A TLS 1.2 resumption exchanges no key: our info() reports no group where
  // BoringSSL reports the original handshake's (as for the signature above).
  if (k.given("-expect-curve-id") && !(info.session_reused && info.version == TlsVersion::tls1_2)) {
    const char* want = group_name(k.num("-expect-curve-id"));
    if (want == nullptr) unimplemented("group " + k.str("-expect-curve-id"));
    if (std::string(info.group) != want) fail_check(std::string("unexpected group ") + info.group);
  }
  if (k.given("-expect-peer-cert-file")) {
    const std::vector<uint8_t> want =
        pem_first_der(read_text_file(k.str("-expect-peer-cert-file")));
    if (info.peer_certificates.empty() || info.peer_certificates[0].der != want) {
      fail_check("the peer's certificate is not the expected one");
    }
  }

  if (k.given("-export-keying-material")) {
    const std::string context = k.str("-export-context");
    auto km =
        link.conn().export_keying_material(k.str("-export-label"), ByteView(context),
                                           static_cast<size_t>(k.num("-export-keying-material")));
    if (!km) fail_with(km.error());
    if (!k.has("-use-export-context") && !context.empty()) unimplemented("context without use");
    link.write_all(ByteView(km.value()));
  }

  if (k.has("-write-different-record-sizes")) {
    static const size_t kSizes[] = {0, 1, 255, 256, 257, 16383, 16384, 16385, 32767, 32768, 32769};
    std::vector<uint8_t> buf(32769, 0x42);
    for (size_t n : kSizes) link.write_all(ByteView(buf.data(), n));
  } else {
    if (c.has("-read-with-unfinished-write")) {
      link.write_unfinished(ByteView("hello").skip(wrote_early));
    } else if (c.has("-shim-writes-first")) {
      link.write_all(ByteView("hello").skip(wrote_early));
    }
    if (!k.has("-shim-shuts-down")) {
      const size_t read_size = static_cast<size_t>(k.num("-read-size", 512));
      std::vector<uint8_t> buf(read_size);
      for (;;) {
        const size_t n = link.read(buf.data(), buf.size());
        if (n == 0) break;
        for (size_t i = 0; i < n; i++) buf[i] ^= 0xff;
        link.write_all(ByteView(buf.data(), n));
      }
    }
  }

  if (link.renegotiations() != k.num("-expect-total-renegotiations")) {
    fail_check("unexpected number of renegotiations: " + std::to_string(link.renegotiations()));
  }

  std::vector<uint8_t> saved;
  if (!server) {
    if (info.version == TlsVersion::tls1_3) {
      const bool expect_ticket = !k.has("-expect-no-session") && !k.has("-shim-shuts-down");
      if (expect_ticket != info.ticket_received) {
        fail_check(std::string("new session was") + (info.ticket_received ? "" : " not") +
                   " cached, but we expected the opposite");
      }
    }
    auto blob = link.conn().save_session();
    if (blob) saved = std::move(blob).value();
    if (info.version == TlsVersion::tls1_3 && info.ticket_received) {
      const bool allows = session_allows_early_data(ByteView(saved));
      if (allows != k.has("-expect-ticket-supports-early-data")) {
        fail_check(std::string("new session did") + (allows ? "" : " not") +
                   " support early data, but we expected the opposite");
      }
    }
  }
  link.shutdown(c.has("-shim-shuts-down") && c.has("-check-close-notify"));
  return saved;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "-is-handshaker-supported") == 0) {
      std::printf("No\n");
      return 0;
    }
  }
  ShimConfig initial, resume, retry;
  parse_flags(argc, argv, initial, resume, retry);
  for (const char* flag : {"-dtls", "-quic"}) {
    if (initial.has(flag)) unimplemented(flag);
  }

  if (!resume.has("-server") && resume.has("-verify-fail") && !initial.has("-verify-fail") &&
      !resume.has("-reverify-on-resume") && initial.num("-resume-count", 0) > 0) {
    // BoringSSL's client keeps a resumed session's verdict unless told to
    // re-verify; ours always verifies a saved session's chain again.
    unimplemented("-on-resume-verify-fail without -reverify-on-resume");
  }
  for (const ShimConfig* c : {&initial, &resume, &retry}) {
    const std::string reason = c->str("-expect-early-data-reason", "accept");
    if (!known_reason(reason)) {
      unimplemented("-expect-early-data-reason " + reason);
    }
  }
  Shared shared;
  const char* dir = std::getenv("SANSTLS_BOGO_RESOURCE_DIR");
  shared.resource_dir = dir != nullptr ? dir : ".";
  // The runner's certificates (2014-2026) are mostly valid in July 2016:
  // our clock starts there, and only -resumption-delay moves it.
  shared.clock.set_ms(1468972800000LL);  // 2016-07-20T00:00:00Z

  std::vector<uint8_t> session;
  const long resume_count = initial.num("-resume-count", 0);
  for (long i = 0; i <= resume_count; i++) {
    const bool is_resume = i > 0;
    const ShimConfig& c = is_resume ? resume : initial;
    if (is_resume && !c.has("-server") && session.empty()) fail_check("no session to offer");
    session = run_connection(c, retry, shared, is_resume, session);
    if (c.given("-resumption-delay")) shared.clock.advance_ms(c.num("-resumption-delay") * 1000);
  }
  return 0;
}
