// The blocking-socket adapter over real sockets (loopback only): connect,
// accept, echo, close_notify both ways, and every failure with its stage.
//
// Threads: the server side runs in a std::thread. Catch2 assertions are not
// thread-safe, so the server records what happened in a plain struct and the
// test asserts only after join(). Each side has its own Sources (SeededRandom
// is not thread-safe) and its own Config. Every wait is bounded by an adapter
// timeout or a future's wait_for; nothing sleeps.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <cerrno>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "sanstls/adapters/blocking.h"
#include "support/expect.h"
#include "support/fixtures.h"
#include "support/skip.h"

using namespace sanstls;
using namespace sanstls::test;
using sanstls::blocking::Listener;
using sanstls::blocking::Milliseconds;
using sanstls::blocking::Stream;

namespace {

// Generous per-operation timeouts: they only bound a broken test (ASan is slow).
constexpr Milliseconds kOp{10000};
constexpr Milliseconds kShort{300};

// A thread that is always joined, even when an assertion in the test body
// throws before the explicit join().
class ServerThread {
 public:
  explicit ServerThread(std::function<void()> body) : thread_(std::move(body)) {}
  ServerThread(const ServerThread&) = delete;
  ServerThread& operator=(const ServerThread&) = delete;
  ~ServerThread() { join(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::thread thread_;
};

// One side's sources and config, kept alive together (the Config points at
// the Sources).
struct ClientSide {
  explicit ClientSide(TlsVersion version = TlsVersion::tls1_3, uint64_t seed = 11,
                      uint32_t close_timeout_ms = 0)
      : sources(seed),
        config(build_or_fail(
            client_builder(sources).versions(version, version).close_timeout(close_timeout_ms))) {}
  Sources sources;
  Config config;
};

struct ServerSide {
  explicit ServerSide(TlsVersion version = TlsVersion::tls1_3, uint64_t seed = 23)
      : sources(seed), config(build_or_fail(server_builder(sources).versions(version, version))) {}
  Sources sources;
  Config config;
};

std::vector<uint8_t> pattern(size_t size, uint8_t salt) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>((i * 131 + salt) ^ (i >> 9));
  return bytes;
}

// Reads exactly `size` bytes (or until an error / clean end).
struct ReadOutcome {
  std::vector<uint8_t> data;
  Error error;
  bool ended = false;  // read() returned 0
};

ReadOutcome read_exactly(Stream& stream, size_t size, Milliseconds timeout = kOp) {
  ReadOutcome outcome;
  outcome.data.reserve(size);
  std::vector<uint8_t> buffer(16384);
  while (outcome.data.size() < size) {
    const size_t want = std::min(buffer.size(), size - outcome.data.size());
    auto n = stream.read(MutableByteView(buffer.data(), want), timeout);
    if (!n) {
      outcome.error = n.error();
      return outcome;
    }
    if (n.value() == 0) {
      outcome.ended = true;
      return outcome;
    }
    outcome.data.insert(outcome.data.end(), buffer.begin(),
                        buffer.begin() + static_cast<std::ptrdiff_t>(n.value()));
  }
  return outcome;
}

size_t first_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  const auto mismatch = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  return static_cast<size_t>(mismatch.first - a.begin());
}

bool fd_is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

const char* version_label(TlsVersion version) {
  return version == TlsVersion::tls1_3 ? "TLSv1.3" : "TLSv1.2";
}

std::string ms_text(std::chrono::steady_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

}  // namespace

TEST_CASE("blocking: the header is usable and Streams and Listeners move", "[blocking]") {
  static_assert(std::is_nothrow_move_constructible_v<Stream>);
  static_assert(std::is_nothrow_move_assignable_v<Stream>);
  static_assert(!std::is_copy_constructible_v<Stream>);
  static_assert(std::is_nothrow_move_constructible_v<Listener>);
  static_assert(std::is_nothrow_move_assignable_v<Listener>);
  static_assert(!std::is_copy_constructible_v<Listener>);
  static_assert(blocking::kDefaultTimeout == Milliseconds(30000));

  SECTION("Listener") {
    auto bound = Listener::bind("127.0.0.1", 0);
    REQUIRE(bound);
    Listener first = std::move(bound).value();
    const int fd = first.fd();
    const uint16_t port = first.port();
    CHECK(fd >= 0);
    CHECK(port != 0);

    Listener second(std::move(first));
    CHECK(second.fd() == fd);
    CHECK(second.port() == port);
    CHECK(first.fd() == -1);  // NOLINT(bugprone-use-after-move): moved-from state is specified here

    auto other = Listener::bind("127.0.0.1", 0);
    REQUIRE(other);
    const int other_fd = other->fd();
    second = std::move(other).value();  // closes the listener it held before
    CHECK(second.fd() == other_fd);
    CHECK_FALSE(fd_is_open(fd));
  }

  SECTION("Stream") {
    ClientSide client;
    ServerSide server;
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    auto c = Stream::wrap_client(fds[0], client.config, "localhost");
    REQUIRE(c);
    auto s = Stream::wrap_server(fds[1], server.config);
    REQUIRE(s);
    CHECK(c->fd() == fds[0]);
    CHECK(s->fd() == fds[1]);
    CHECK(c->connection().role() == Role::client);
    CHECK(s->connection().role() == Role::server);
    CHECK_FALSE(c->connection().wants().handshake_complete);

    Stream moved(std::move(c).value());
    CHECK(moved.fd() == fds[0]);
    CHECK(moved.connection().role() == Role::client);

    moved = std::move(s).value();  // closes fds[0]
    CHECK(moved.fd() == fds[1]);
    CHECK(moved.connection().role() == Role::server);
    CHECK_FALSE(fd_is_open(fds[0]));
    CHECK(fd_is_open(fds[1]));
  }
}

TEST_CASE("blocking: connect and echo both ways with close_notify both ways", "[blocking]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  struct Target {
    const char* connect_host;
    const char* bind_host;
    const char* peer_prefix;  // what the client's peer_address() starts with
  };
  const auto target =
      GENERATE(Target{"localhost", "127.0.0.1", "127.0.0.1:"},
               Target{"127.0.0.1", "127.0.0.1", "127.0.0.1:"}, Target{"::1", "::1", "[::1]:"});
  CAPTURE(version_label(version), target.connect_host);

  auto bound = Listener::bind(target.bind_host, 0);
  if (!bound && std::string(target.bind_host) == "::1") {
    SANSTLS_SKIP("IPv6 loopback unavailable: " << bound.error().message());
  }
  REQUIRE(bound);
  Listener listener = std::move(bound).value();
  const uint16_t port = listener.port();

  // A bidirectional close: the client's shutdown() waits for the server's close_notify.
  ClientSide client(version, 11, static_cast<uint32_t>(kOp.count()));
  ServerSide server(version);

  const std::string greeting = "hello over TLS";
  const std::vector<uint8_t> big = pattern(1 << 20, 0x5a);

  struct ServerRecord {
    Error accept_error, handshake_error, error;
    std::string peer_address;
    std::string protocol;
    std::vector<uint8_t> greeting;
    size_t big_received = 0;
    bool big_matches = false;
    bool saw_close_notify = false;
    bool read_after_close_is_zero = false;
    Error shutdown_error;
  } record;

  ServerThread thread([&] {
    auto accepted = listener.accept(server.config, kOp);
    if (!accepted) {
      record.accept_error = accepted.error();
      return;
    }
    Stream stream = std::move(accepted).value();
    record.peer_address = stream.peer_address();
    record.handshake_error = stream.handshake(kOp);
    if (record.handshake_error) return;
    record.protocol = stream.connection().info().protocol;

    ReadOutcome hello = read_exactly(stream, greeting.size());
    record.greeting = hello.data;
    if (hello.error || hello.ended) {
      record.error = hello.error;
      return;
    }
    if ((record.error = stream.write_all(ByteView(hello.data), kOp))) return;

    ReadOutcome bulk = read_exactly(stream, big.size());
    record.big_received = bulk.data.size();
    record.big_matches = bulk.data == big;
    if (bulk.error || bulk.ended) {
      record.error = bulk.error;
      return;
    }
    if ((record.error = stream.write_all(ByteView(bulk.data), kOp))) return;

    // The client's close_notify ends reading; then answer with ours.
    uint8_t byte = 0;
    auto end = stream.read(MutableByteView(&byte, 1), kOp);
    if (!end) {
      record.error = end.error();
      return;
    }
    record.saw_close_notify = end.value() == 0;
    auto again = stream.read(MutableByteView(&byte, 1), kOp);
    record.read_after_close_is_zero = again && again.value() == 0;
    record.shutdown_error = stream.shutdown(kOp);
  });

  auto connected = Stream::connect(client.config, target.connect_host, port, kOp);
  if (!connected) {
    thread.join();
    INFO("server: accept " << record.accept_error.name() << ", handshake "
                           << record.handshake_error.name() << ": "
                           << record.handshake_error.message());
    FAIL("connect: " << connected.error().name() << " [" << stage_name(connected.error().stage())
                     << "]: " << connected.error().message());
  }
  Stream stream = std::move(connected).value();
  CHECK(stream.connection().wants().handshake_complete);
  CHECK(std::string(stream.connection().info().protocol) == version_label(version));
  CHECK(stream.connection().info().authorized);
  CHECK(stream.peer_address() == target.peer_prefix + std::to_string(port));

  Error write_greeting = stream.write_all(greeting, kOp);
  CHECK(write_greeting.ok());
  ReadOutcome echoed = read_exactly(stream, greeting.size());
  CHECK(echoed.error.ok());
  CHECK(std::string(echoed.data.begin(), echoed.data.end()) == greeting);

  Error write_big = stream.write_all(ByteView(big), kOp);
  CHECK(write_big.ok());
  ReadOutcome big_back = read_exactly(stream, big.size());
  INFO("big read error: " << big_back.error.name() << ": " << big_back.error.message());
  CHECK(big_back.error.ok());
  CHECK(big_back.data.size() == big.size());
  // Compare as a bool: Catch2 would try to print a 1 MiB vector.
  const bool big_matches = big_back.data == big;
  INFO("first difference at " << first_difference(big_back.data, big));
  CHECK(big_matches);

  // Our close_notify, then (bounded) the server's.
  Error shutdown = stream.shutdown(kOp);
  INFO("client shutdown: " << shutdown.name() << ": " << shutdown.message());
  CHECK(shutdown.ok());
  CHECK(stream.connection().wants().read_closed);
  CHECK(stream.connection().wants().write_closed);
  uint8_t byte = 0;
  auto after = stream.read(MutableByteView(&byte, 1), kOp);
  REQUIRE(after);
  CHECK(after.value() == 0);

  thread.join();
  INFO("server error: " << record.error.name() << ": " << record.error.message());
  CHECK(record.accept_error.ok());
  CHECK(record.handshake_error.ok());
  CHECK(record.error.ok());
  CHECK(record.protocol == version_label(version));
  CHECK(std::string(record.greeting.begin(), record.greeting.end()) == greeting);
  CHECK(record.big_received == big.size());
  CHECK(record.big_matches);
  CHECK(record.saw_close_notify);
  CHECK(record.read_after_close_is_zero);
  INFO("server shutdown: " << record.shutdown_error.name() << ": "
                           << record.shutdown_error.message());
  CHECK(record.shutdown_error.ok());
  // The server saw the client's ephemeral port on the same loopback address.
  const std::string server_prefix =
      std::string(target.bind_host) == "::1" ? "[::1]:" : "127.0.0.1:";
  CHECK(record.peer_address.rfind(server_prefix, 0) == 0);
  CHECK(record.peer_address.size() > server_prefix.size());
  CHECK(record.peer_address != server_prefix + "0");
}

TEST_CASE("blocking: a name under .invalid is ENOTFOUND at the resolve stage", "[blocking]") {
  ClientSide client;
  auto connected = Stream::connect(client.config, "sanstls-no-such-host.invalid", 443, kOp);
  REQUIRE_FALSE(connected);
  expect_error(connected.error(), "ENOTFOUND", Stage::resolve);
}

TEST_CASE("blocking: a closed port is ECONNREFUSED at the connect stage", "[blocking]") {
  uint16_t port = 0;
  {
    auto bound = Listener::bind("127.0.0.1", 0);
    REQUIRE(bound);
    port = bound->port();
  }  // closed: nothing listens there any more
  ClientSide client;
  auto connected = Stream::connect(client.config, "127.0.0.1", port, kOp);
  REQUIRE_FALSE(connected);
  expect_error(connected.error(), "ECONNREFUSED", Stage::connect);
  // errno has its own field; backend_code() is only ever mbedTLS's.
  CHECK(connected.error().system_error() == ECONNREFUSED);
  CHECK(connected.error().backend_code() == 0);
}

TEST_CASE("blocking: a server that never answers times out the handshake", "[blocking]") {
  auto bound = Listener::bind("127.0.0.1", 0);
  REQUIRE(bound);
  Listener listener = std::move(bound).value();
  ServerSide server;

  std::promise<void> client_done;
  std::future<void> client_done_signal = client_done.get_future();
  Error accept_error;
  ServerThread thread([&] {
    // Accept the TCP connection, then neither read nor answer.
    auto accepted = listener.accept(server.config, kOp);
    if (!accepted) {
      accept_error = accepted.error();
      return;
    }
    client_done_signal.wait_for(kOp);
  });

  ClientSide client;
  const auto start = std::chrono::steady_clock::now();
  auto connected = Stream::connect(client.config, "127.0.0.1", listener.port(), kShort);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  client_done.set_value();
  thread.join();

  CHECK(accept_error.ok());
  REQUIRE_FALSE(connected);
  expect_error(connected.error(), "ETIMEDOUT", Stage::handshake);
  INFO("elapsed " << ms_text(elapsed));
  CHECK(elapsed >= kShort - Milliseconds(5));
  CHECK(elapsed < kOp);
}

TEST_CASE("blocking: a peer that closes without close_notify is truncation", "[blocking]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  CAPTURE(version_label(version));
  auto bound = Listener::bind("127.0.0.1", 0);
  REQUIRE(bound);
  Listener listener = std::move(bound).value();
  ClientSide client(version);
  ServerSide server(version);

  Error accept_error, handshake_error;
  ServerThread thread([&] {
    auto accepted = listener.accept(server.config, kOp);
    if (!accepted) {
      accept_error = accepted.error();
      return;
    }
    Stream stream = std::move(accepted).value();
    handshake_error = stream.handshake(kOp);
    // Leaving scope closes the descriptor without close_notify.
  });

  auto connected = Stream::connect(client.config, "127.0.0.1", listener.port(), kOp);
  INFO("connect: " << connected.error().name() << ": " << connected.error().message());
  REQUIRE(connected);
  Stream stream = std::move(connected).value();
  uint8_t buffer[64];
  auto n = stream.read(MutableByteView(buffer, sizeof buffer), kOp);
  thread.join();

  CHECK(accept_error.ok());
  CHECK(handshake_error.ok());
  REQUIRE_FALSE(n);
  expect_error(n.error(), "ERR_SSL_UNEXPECTED_EOF_WHILE_READING", Stage::transport);
  // Sticky: asking again gives the same answer.
  auto again = stream.read(MutableByteView(buffer, sizeof buffer), kOp);
  REQUIRE_FALSE(again);
  expect_error(again.error(), "ERR_SSL_UNEXPECTED_EOF_WHILE_READING", Stage::transport);
}

TEST_CASE("blocking: engine errors come through unchanged", "[blocking]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  CAPTURE(version_label(version));
  auto bound = Listener::bind("127.0.0.1", 0);
  REQUIRE(bound);
  Listener listener = std::move(bound).value();
  ServerSide server(version);

  // Trusts only the RSA root: the ECDSA chain's issuer is unknown.
  Sources client_sources(31);
  ConfigBuilder builder(Role::client);
  builder.random(client_sources.client_random)
      .clock(client_sources.clock)
      .trust_anchors(pki().rsa_root.certificate_pem)
      .versions(version, version);
  const Config client_config = build_or_fail(builder);

  Error accept_error, handshake_error;
  ServerThread thread([&] {
    auto accepted = listener.accept(server.config, kOp);
    if (!accepted) {
      accept_error = accepted.error();
      return;
    }
    Stream stream = std::move(accepted).value();
    handshake_error = stream.handshake(kOp);
  });

  auto connected = Stream::connect(client_config, "localhost", listener.port(), kOp);
  thread.join();

  REQUIRE_FALSE(connected);
  expect_error(connected.error(), "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", Stage::certificate);
  expect_alert(connected.error(), Alert::unknown_ca, AlertDirection::sent);
  CHECK(accept_error.ok());
  expect_error(handshake_error, "ERR_SSL_PEER_ALERT", Stage::handshake);
  expect_alert(handshake_error, Alert::unknown_ca, AlertDirection::received);
}

TEST_CASE("blocking: TLS over any descriptor (socketpair)", "[blocking]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  CAPTURE(version_label(version));
  ClientSide client(version);
  ServerSide server(version);
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  auto wrapped_client = Stream::wrap_client(fds[0], client.config, "localhost");
  REQUIRE(wrapped_client);
  auto wrapped_server = Stream::wrap_server(fds[1], server.config);
  REQUIRE(wrapped_server);
  Stream client_stream = std::move(wrapped_client).value();
  Stream server_stream = std::move(wrapped_server).value();
  // Not an IP socket: no address to show.
  CHECK(client_stream.peer_address().empty());
  CHECK(server_stream.peer_address().empty());

  struct {
    Error handshake_error, error, shutdown_error;
    std::string request;
    bool saw_close_notify = false;
  } record;
  ServerThread thread([&] {
    record.handshake_error = server_stream.handshake(kOp);
    if (record.handshake_error) return;
    ReadOutcome request = read_exactly(server_stream, 4);
    record.request.assign(request.data.begin(), request.data.end());
    if ((record.error = request.error)) return;
    if ((record.error = server_stream.write_all("pong", kOp))) return;
    uint8_t byte = 0;
    auto end = server_stream.read(MutableByteView(&byte, 1), kOp);
    if (!end) {
      record.error = end.error();
      return;
    }
    record.saw_close_notify = end.value() == 0;
    record.shutdown_error = server_stream.shutdown(kOp);
  });

  // The handshake runs lazily on the first write.
  Error write = client_stream.write_all("ping", kOp);
  CHECK(write.ok());
  CHECK(client_stream.connection().wants().handshake_complete);
  ReadOutcome reply = read_exactly(client_stream, 4);
  CHECK(reply.error.ok());
  CHECK(std::string(reply.data.begin(), reply.data.end()) == "pong");
  Error shutdown = client_stream.shutdown(kOp);
  CHECK(shutdown.ok());
  uint8_t byte = 0;
  auto after = client_stream.read(MutableByteView(&byte, 1), kOp);
  REQUIRE(after);
  CHECK(after.value() == 0);
  thread.join();

  INFO("server: " << record.error.name() << ": " << record.error.message());
  CHECK(record.handshake_error.ok());
  CHECK(record.error.ok());
  CHECK(record.request == "ping");
  CHECK(record.saw_close_notify);
  CHECK(record.shutdown_error.ok());
  CHECK(std::string(client_stream.connection().info().protocol) == version_label(version));
}

TEST_CASE("blocking: Listener::accept times out", "[blocking]") {
  auto bound = Listener::bind("127.0.0.1", 0);
  REQUIRE(bound);
  ServerSide server;
  const auto start = std::chrono::steady_clock::now();
  auto accepted = bound->accept(server.config, kShort);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(accepted);
  expect_error(accepted.error(), "ETIMEDOUT", Stage::connect);
  INFO("elapsed " << ms_text(elapsed));
  CHECK(elapsed >= kShort - Milliseconds(5));
  CHECK(elapsed < kOp);
}

TEST_CASE("blocking: a silent peer times out reads and writing after shutdown fails",
          "[blocking]") {
  auto bound = Listener::bind("127.0.0.1", 0);
  REQUIRE(bound);
  Listener listener = std::move(bound).value();
  ClientSide client;
  ServerSide server;

  std::promise<void> go;
  std::future<void> go_signal = go.get_future();
  struct {
    Error accept_error, handshake_error, write_error, shutdown_error;
    bool signalled = false;
    bool saw_close_notify = false;
  } record;
  ServerThread thread([&] {
    auto accepted = listener.accept(server.config, kOp);
    if (!accepted) {
      record.accept_error = accepted.error();
      return;
    }
    Stream stream = std::move(accepted).value();
    if ((record.handshake_error = stream.handshake(kOp))) return;
    // Silent until the client has seen its read time out.
    record.signalled = go_signal.wait_for(kOp) == std::future_status::ready;
    if ((record.write_error = stream.write_all("late", kOp))) return;
    uint8_t byte = 0;
    auto end = stream.read(MutableByteView(&byte, 1), kOp);
    record.saw_close_notify = end && end.value() == 0;
    record.shutdown_error = stream.shutdown(kOp);
  });

  auto connected = Stream::connect(client.config, "127.0.0.1", listener.port(), kOp);
  if (!connected) go.set_value();
  REQUIRE(connected);
  Stream stream = std::move(connected).value();

  uint8_t buffer[16];
  const auto start = std::chrono::steady_clock::now();
  auto silent = stream.read(MutableByteView(buffer, sizeof buffer), kShort);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  go.set_value();
  REQUIRE_FALSE(silent);
  expect_error(silent.error(), "ETIMEDOUT", Stage::transport);
  INFO("elapsed " << ms_text(elapsed));
  CHECK(elapsed >= kShort - Milliseconds(5));

  // A timeout is not fatal: the data that comes later is still read.
  ReadOutcome late = read_exactly(stream, 4);
  CHECK(late.error.ok());
  CHECK(std::string(late.data.begin(), late.data.end()) == "late");

  Error shutdown = stream.shutdown(kOp);
  CHECK(shutdown.ok());
  Error write = stream.write_all("too late", kOp);
  CHECK(write);
  CHECK(write.stage() == Stage::closed);
  thread.join();

  CHECK(record.accept_error.ok());
  CHECK(record.handshake_error.ok());
  CHECK(record.signalled);
  CHECK(record.write_error.ok());
  CHECK(record.saw_close_notify);
  CHECK(record.shutdown_error.ok());
}

namespace {

// TLS 1.2 with renegotiation allowed on both sides.
struct RenegotiatingPair {
  RenegotiatingPair()
      : client_sources(41),
        server_sources(43),
        client(build_or_fail(client_builder(client_sources)
                                 .versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
                                 .renegotiation(true))),
        server(build_or_fail(server_builder(server_sources)
                                 .versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
                                 .renegotiation(true))) {}
  Sources client_sources, server_sources;
  Config client, server;
};

uint32_t count_events(Connection& connection, EventKind kind) {
  uint32_t count = 0;
  while (auto event = connection.next_event()) {
    if (event->kind == kind) count += event->count;
  }
  return count;
}

}  // namespace

TEST_CASE("blocking: write_all reads while a renegotiation holds writes",
          "[blocking][renegotiation]") {
  auto bound = Listener::bind("127.0.0.1", 0);
  REQUIRE(bound);
  Listener listener = std::move(bound).value();
  RenegotiatingPair configs;
  const std::vector<uint8_t> big = pattern(1 << 20, 0x33);

  struct {
    Error accept_error, handshake_error, error, shutdown_error;
    size_t received = 0;
    bool matches = false;
    bool saw_close_notify = false;
    uint32_t renegotiations = 0;
  } record;
  ServerThread thread([&] {
    auto accepted = listener.accept(configs.server, kOp);
    if (!accepted) {
      record.accept_error = accepted.error();
      return;
    }
    Stream stream = std::move(accepted).value();
    if ((record.handshake_error = stream.handshake(kOp))) return;
    ReadOutcome bulk = read_exactly(stream, big.size());
    record.received = bulk.data.size();
    record.matches = bulk.data == big;
    if ((record.error = bulk.error)) return;
    if ((record.error = stream.write_all("done", kOp))) return;
    uint8_t byte = 0;
    auto end = stream.read(MutableByteView(&byte, 1), kOp);
    record.saw_close_notify = end && end.value() == 0;
    record.renegotiations = count_events(stream.connection(), EventKind::renegotiated);
    record.shutdown_error = stream.shutdown(kOp);
  });

  auto connected = Stream::connect(configs.client, "127.0.0.1", listener.port(), kOp, "localhost");
  REQUIRE(connected);
  Stream stream = std::move(connected).value();
  // Our ClientHello is queued; writes are held until the server's flight is read.
  REQUIRE(stream.connection().renegotiate());
  const auto start = std::chrono::steady_clock::now();
  Error write = stream.write_all(ByteView(big), kOp);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  INFO("write_all: " << write.name() << ": " << write.message() << " after " << ms_text(elapsed));
  CHECK(write.ok());
  ReadOutcome done = read_exactly(stream, 4);
  CHECK(std::string(done.data.begin(), done.data.end()) == "done");
  CHECK(count_events(stream.connection(), EventKind::renegotiated) == 1);
  CHECK(stream.shutdown(kOp).ok());
  thread.join();

  CHECK(record.accept_error.ok());
  CHECK(record.handshake_error.ok());
  INFO("server: " << record.error.name() << ": " << record.error.message());
  CHECK(record.error.ok());
  CHECK(record.received == big.size());
  CHECK(record.matches);
  CHECK(record.saw_close_notify);
  CHECK(record.renegotiations == 1);
  CHECK(record.shutdown_error.ok());
}

TEST_CASE("blocking: write_all held by a renegotiation respects its deadline",
          "[blocking][renegotiation]") {
  auto bound = Listener::bind("127.0.0.1", 0);
  REQUIRE(bound);
  Listener listener = std::move(bound).value();
  RenegotiatingPair configs;

  std::promise<void> client_done;
  std::future<void> client_done_signal = client_done.get_future();
  Error accept_error, handshake_error;
  ServerThread thread([&] {
    auto accepted = listener.accept(configs.server, kOp);
    if (!accepted) {
      accept_error = accepted.error();
      return;
    }
    Stream stream = std::move(accepted).value();
    handshake_error = stream.handshake(kOp);
    // Never reads again: the client's renegotiation gets no answer.
    client_done_signal.wait_for(kOp);
  });

  auto connected = Stream::connect(configs.client, "127.0.0.1", listener.port(), kOp, "localhost");
  if (!connected) client_done.set_value();
  REQUIRE(connected);
  Stream stream = std::move(connected).value();
  REQUIRE(stream.connection().renegotiate());
  const auto start = std::chrono::steady_clock::now();
  Error write = stream.write_all("held", kShort);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  client_done.set_value();
  thread.join();

  CHECK(accept_error.ok());
  CHECK(handshake_error.ok());
  expect_error(write, "ETIMEDOUT", Stage::transport);
  INFO("elapsed " << ms_text(elapsed));
  CHECK(elapsed >= kShort - Milliseconds(5));
  CHECK(elapsed < kOp);
}

TEST_CASE("blocking: shutdown against a peer that closes the transport without replying",
          "[blocking][close]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  CAPTURE(version_label(version));
  auto bound = Listener::bind("127.0.0.1", 0);
  REQUIRE(bound);
  Listener listener = std::move(bound).value();
  ServerSide server(version);

  struct {
    Error accept_error, handshake_error;
    bool saw_close_notify = false;
  } record;
  std::promise<void> closed;
  std::future<void> closed_signal = closed.get_future();
  ServerThread thread([&] {
    auto accepted = listener.accept(server.config, kOp);
    if (!accepted) {
      record.accept_error = accepted.error();
      closed.set_value();
      return;
    }
    {
      Stream stream = std::move(accepted).value();
      record.handshake_error = stream.handshake(kOp);
      if (record.handshake_error.ok()) {
        uint8_t byte = 0;
        auto end = stream.read(MutableByteView(&byte, 1), kOp);
        record.saw_close_notify = end && end.value() == 0;
      }
    }  // closes the descriptor without a close_notify of its own
    closed.set_value();
  });

  SECTION("default close_timeout 0: shutdown does not wait, a later end is clean") {
    ClientSide client(version);
    auto connected = Stream::connect(client.config, "127.0.0.1", listener.port(), kOp, "localhost");
    REQUIRE(connected);
    Stream stream = std::move(connected).value();
    Error shutdown = stream.shutdown(kOp);
    INFO("shutdown: " << shutdown.name() << ": " << shutdown.message());
    CHECK(shutdown.ok());
    CHECK(stream.connection().wants().closed);
    REQUIRE(closed_signal.wait_for(kOp) == std::future_status::ready);
    // The peer's end of stream after our close_notify is not truncation.
    uint8_t byte = 0;
    auto after = stream.read(MutableByteView(&byte, 1), kOp);
    INFO("read: " << (after ? "ok" : after.error().name()));
    REQUIRE(after);
    CHECK(after.value() == 0);
    CHECK(stream.connection().error().ok());
  }
  SECTION("close_timeout asks to wait: a missing close_notify is truncation") {
    ClientSide client(version, 11, static_cast<uint32_t>(kOp.count()));
    auto connected = Stream::connect(client.config, "127.0.0.1", listener.port(), kOp, "localhost");
    REQUIRE(connected);
    Stream stream = std::move(connected).value();
    Error shutdown = stream.shutdown(kOp);
    expect_error(shutdown, "ERR_SSL_UNEXPECTED_EOF_WHILE_READING", Stage::transport);
  }
  thread.join();
  CHECK(record.accept_error.ok());
  CHECK(record.handshake_error.ok());
  CHECK(record.saw_close_notify);
}

TEST_CASE("blocking: a deferred SNI selector is answered by a hook or fails clearly",
          "[blocking][sni]") {
  Sources server_sources(23);
  const Config context = build_or_fail(server_builder(server_sources));
  ConfigBuilder deferring = server_builder(server_sources);
  deferring.sni_selector([](std::string_view) { return SniAnswer::later(); });
  const Config server_config = build_or_fail(deferring);
  ClientSide client;
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  auto wrapped_client = Stream::wrap_client(fds[0], client.config, "localhost");
  REQUIRE(wrapped_client);
  auto wrapped_server = Stream::wrap_server(fds[1], server_config);
  REQUIRE(wrapped_server);
  Stream client_stream = std::move(wrapped_client).value();
  Stream server_stream = std::move(wrapped_server).value();

  SECTION("the hook provides the Config") {
    std::string asked;
    server_stream.on_server_name_requested([&](Connection& connection) {
      asked = connection.info().server_name;
      (void)connection.provide_config(context);
    });
    Error server_handshake;
    ServerThread thread([&] { server_handshake = server_stream.handshake(kOp); });
    Error handshake = client_stream.handshake(kOp);
    thread.join();
    INFO("server: " << server_handshake.name() << ": " << server_handshake.message());
    CHECK(server_handshake.ok());
    CHECK(handshake.ok());
    CHECK(asked == "localhost");
    CHECK(server_stream.connection().wants().handshake_complete);
    CHECK(client_stream.connection().wants().handshake_complete);
  }
  SECTION("no hook: a named error, and answering later continues") {
    Error server_handshake, server_retry;
    bool awaiting = false;
    ServerThread thread([&] {
      server_handshake = server_stream.handshake(kOp);
      awaiting = server_stream.connection().wants().awaiting_config;
      if (!awaiting) return;
      (void)server_stream.connection().provide_config(context);
      server_retry = server_stream.handshake(kOp);
    });
    Error handshake = client_stream.handshake(kOp);
    thread.join();
    INFO("server: " << server_handshake.name() << ": " << server_handshake.message());
    expect_error(server_handshake, "ERR_INVALID_ARG_VALUE", Stage::handshake);
    CHECK(std::string(server_handshake.message()).find("SNI selector deferred") !=
          std::string::npos);
    CHECK(awaiting);
    CHECK(server_retry.ok());
    CHECK(handshake.ok());
  }
}

TEST_CASE("blocking: reading into an empty buffer reads nothing from the socket", "[blocking]") {
  ClientSide client;
  ServerSide server;
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  auto wrapped_client = Stream::wrap_client(fds[0], client.config, "localhost");
  REQUIRE(wrapped_client);
  auto wrapped_server = Stream::wrap_server(fds[1], server.config);
  REQUIRE(wrapped_server);
  Stream client_stream = std::move(wrapped_client).value();
  Stream server_stream = std::move(wrapped_server).value();
  const std::vector<uint8_t> data = pattern(64 * 1024, 0x11);

  Error server_handshake, server_write;
  ServerThread thread([&] {
    if ((server_handshake = server_stream.handshake(kOp))) return;
    server_write = server_stream.write_all(ByteView(data), kOp);
  });
  REQUIRE(client_stream.handshake(kOp).ok());
  // Until the first record has arrived.
  uint8_t first = 0;
  auto one = client_stream.read(MutableByteView(&first, 1), kOp);
  REQUIRE(one);
  REQUIRE(one.value() == 1);
  thread.join();
  REQUIRE(server_handshake.ok());
  REQUIRE(server_write.ok());

  int queued_before = 0;
  REQUIRE(::ioctl(client_stream.fd(), FIONREAD, &queued_before) == 0);
  REQUIRE(queued_before > 0);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) {
    auto empty = client_stream.read(MutableByteView(), kShort);
    REQUIRE(empty);
    CHECK(empty.value() == 0);
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  int queued_after = 0;
  REQUIRE(::ioctl(client_stream.fd(), FIONREAD, &queued_after) == 0);
  INFO("elapsed " << ms_text(elapsed));
  CHECK(elapsed < kShort);
  CHECK(queued_after == queued_before);  // nothing moved from the socket into the Stream

  // Everything is still there for a real read.
  ReadOutcome rest = read_exactly(client_stream, data.size() - 1);
  CHECK(rest.error.ok());
  CHECK(rest.data.size() == data.size() - 1);
  CHECK(first == data[0]);
  CHECK(std::equal(rest.data.begin(), rest.data.end(), data.begin() + 1));
}

TEST_CASE("blocking: shutdown lingers (bounded) for a silent peer without failing",
          "[blocking][close]") {
  ClientSide client;
  ServerSide server;
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  auto wrapped_client = Stream::wrap_client(fds[0], client.config, "localhost");
  REQUIRE(wrapped_client);
  auto wrapped_server = Stream::wrap_server(fds[1], server.config);
  REQUIRE(wrapped_server);
  Stream client_stream = std::move(wrapped_client).value();
  Stream server_stream = std::move(wrapped_server).value();
  std::promise<void> client_done;
  std::future<void> client_done_signal = client_done.get_future();
  Error server_handshake;
  ServerThread thread([&] {
    server_handshake = server_stream.handshake(kOp);
    client_done_signal.wait_for(kOp);  // neither answers nor closes
  });
  const Error handshake = client_stream.handshake(kOp);
  const auto start = std::chrono::steady_clock::now();
  const Error shutdown = client_stream.shutdown(kShort);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  client_done.set_value();
  thread.join();
  CHECK(server_handshake.ok());
  CHECK(handshake.ok());
  INFO("shutdown: " << shutdown.name() << " after " << ms_text(elapsed));
  CHECK(shutdown.ok());  // close_timeout 0: not waiting for the peer was asked
  CHECK(client_stream.connection().wants().closed);
  CHECK(elapsed < kOp);
}

TEST_CASE("blocking: a peer that resets the connection mid-handshake is ECONNRESET", "[blocking]") {
  // A raw TCP listener that reads the ClientHello, then aborts (SO_LINGER 0: RST).
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  const uint16_t port = ntohs(address.sin_port);
  std::thread resetter([listener] {
    const int peer = ::accept(listener, nullptr, nullptr);
    if (peer < 0) return;
    char hello[512];
    (void)::recv(peer, hello, sizeof hello, 0);
    const linger abort_now{1, 0};
    ::setsockopt(peer, SOL_SOCKET, SO_LINGER, &abort_now, sizeof abort_now);
    ::close(peer);
  });
  ClientSide client;
  auto connected = Stream::connect(client.config, "127.0.0.1", port, kOp);
  resetter.join();
  ::close(listener);
  REQUIRE_FALSE(connected);
  expect_error(connected.error(), "ECONNRESET", Stage::transport);
  CHECK(connected.error().system_error() == ECONNRESET);
}

// ---- Through an HTTP proxy (ConnectOptions::proxy). A raw TCP listener plays
// the proxy: it reads the CONNECT request, answers `reply`, and then (on a
// 2xx) plays the origin TLS server on the same socket, echoing one message.
namespace {

struct FakeProxy {
  int listener = -1;
  uint16_t port = 0;
  FakeProxy() {
    listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listener >= 0 && ::bind(listener, reinterpret_cast<sockaddr*>(&address), length) == 0 &&
        ::listen(listener, 1) == 0 &&
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port = ntohs(address.sin_port);
    }
  }
  ~FakeProxy() {
    if (listener >= 0) ::close(listener);
  }
};

struct ProxyRecord {
  std::string request;
  Error handshake_error;
  std::string echoed;
};

// Reads the request head (up to its blank line) byte by byte, so nothing
// after it is taken from the socket.
std::string read_request_head(int fd) {
  std::string head;
  char c = 0;
  while (head.size() < 4096 && ::recv(fd, &c, 1, 0) == 1) {
    head += c;
    if (head.size() >= 4 && head.compare(head.size() - 4, 4, "\r\n\r\n") == 0) break;
  }
  return head;
}

void run_fake_proxy(FakeProxy& proxy, const std::string& reply, const Config* origin,
                    std::future<void>* client_done, ProxyRecord& record) {
  const int fd = ::accept(proxy.listener, nullptr, nullptr);
  if (fd < 0) return;
  record.request = read_request_head(fd);
  if (!reply.empty()) (void)::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
  if (origin == nullptr) {
    if (client_done != nullptr) client_done->wait_for(kOp);  // silent, or closes at once
    ::close(fd);
    return;
  }
  auto wrapped = Stream::wrap_server(fd, *origin);
  if (!wrapped) return;
  Stream stream = std::move(wrapped).value();
  if ((record.handshake_error = stream.handshake(kOp))) return;
  uint8_t buffer[64];
  auto n = stream.read(MutableByteView(buffer, sizeof buffer), kOp);
  if (!n) return;
  record.echoed.assign(reinterpret_cast<const char*>(buffer), n.value());
  (void)stream.write_all(ByteView(buffer, n.value()), kOp);
  (void)stream.shutdown(kOp);
}

blocking::ConnectOptions via(const FakeProxy& proxy, Milliseconds timeout = kOp) {
  blocking::ConnectOptions options;
  options.timeout = timeout;
  options.proxy = blocking::ProxyOptions{"127.0.0.1", proxy.port, {}, {}};
  return options;
}

}  // namespace

TEST_CASE("blocking: TLS through an HTTP proxy (CONNECT, Basic auth)", "[blocking][proxy]") {
  FakeProxy proxy;
  REQUIRE(proxy.port != 0);
  ServerSide server;
  ProxyRecord record;
  ServerThread thread([&] {
    run_fake_proxy(proxy, "HTTP/1.1 200 Connection established\r\n\r\n", &server.config, nullptr,
                   record);
  });
  ClientSide client;
  blocking::ConnectOptions options = via(proxy);
  options.proxy->credentials = tunnel::BasicCredentials{"u", "p"};
  // The origin is only named in CONNECT (never resolved by the client).
  auto connected = Stream::connect(client.config, "localhost", 4433, options);
  std::string echoed;
  if (connected) {
    Stream& stream = connected.value();
    CHECK_FALSE(stream.write_all(ByteView("through the tunnel"), kOp));
    uint8_t buffer[64];
    auto n = stream.read(MutableByteView(buffer, sizeof buffer), kOp);
    if (n) echoed.assign(reinterpret_cast<const char*>(buffer), n.value());
    (void)stream.shutdown(kOp);
  }
  thread.join();
  REQUIRE(connected);
  CHECK(record.request ==
        "CONNECT localhost:4433 HTTP/1.1\r\nHost: localhost:4433\r\n"
        "Proxy-Authorization: Basic dTpw\r\n\r\n");
  CHECK(record.handshake_error.ok());
  CHECK(record.echoed == "through the tunnel");
  CHECK(echoed == "through the tunnel");
}

TEST_CASE("blocking: proxy failures are errors of the proxy stage", "[blocking][proxy]") {
  struct Case {
    const char* reply;
    const char* name;
    const char* in_message;
  };
  const Case c = GENERATE(
      Case{"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic "
           "realm=\"x\"\r\n\r\n",
           "ERR_PROXY_REFUSED", "407 Proxy Authentication Required (Proxy-Authenticate: Basic)"},
      Case{"HTTP/1.1 403 Forbidden\r\n\r\n", "ERR_PROXY_REFUSED", "403 Forbidden"},
      Case{"HTTP/1.1 200 OK\r\n", "ERR_PROXY_CLOSED", "closed"},
      Case{"\x15\x03\x03\x00\x02\x02\x28", "ERR_PROXY_BAD_REPLY", "not HTTP"});
  CAPTURE(c.reply);
  FakeProxy proxy;
  REQUIRE(proxy.port != 0);
  ProxyRecord record;
  ServerThread thread([&] { run_fake_proxy(proxy, c.reply, nullptr, nullptr, record); });
  ClientSide client;
  auto connected = Stream::connect(client.config, "localhost", 443, via(proxy));
  thread.join();
  REQUIRE_FALSE(connected);
  expect_error(connected.error(), c.name, Stage::proxy);
  CHECK(std::string(connected.error().message()).find(c.in_message) != std::string::npos);
}

TEST_CASE("blocking: bytes after the proxy's 200 go to the TLS engine first", "[blocking][proxy]") {
  // The proxy's reply and a fatal handshake_failure alert record in one
  // segment: the alert is in the CONNECT client's leftover(), and only if the
  // adapter feeds it to the engine does the handshake fail with it (instead
  // of waiting for the socket until the timeout).
  const std::string reply = std::string("HTTP/1.1 200 Connection established\r\n\r\n") +
                            std::string("\x15\x03\x03\x00\x02\x02\x28", 7);
  FakeProxy proxy;
  REQUIRE(proxy.port != 0);
  std::promise<void> client_done;
  std::future<void> client_done_signal = client_done.get_future();
  ProxyRecord record;
  ServerThread thread([&] { run_fake_proxy(proxy, reply, nullptr, &client_done_signal, record); });
  ClientSide client;
  auto connected = Stream::connect(client.config, "localhost", 443, via(proxy, Milliseconds(2000)));
  client_done.set_value();
  thread.join();
  REQUIRE_FALSE(connected);
  expect_error(connected.error(), "ERR_SSL_PEER_ALERT", Stage::handshake);
  CHECK(connected.error().alert() == Alert::handshake_failure);
  CHECK(connected.error().alert_direction() == AlertDirection::received);
}

TEST_CASE("blocking: a silent proxy times out at the proxy stage", "[blocking][proxy]") {
  FakeProxy proxy;
  REQUIRE(proxy.port != 0);
  std::promise<void> client_done;
  std::future<void> client_done_signal = client_done.get_future();
  ProxyRecord record;
  ServerThread thread([&] { run_fake_proxy(proxy, "", nullptr, &client_done_signal, record); });
  ClientSide client;
  auto connected = Stream::connect(client.config, "localhost", 443, via(proxy, kShort));
  client_done.set_value();
  thread.join();
  REQUIRE_FALSE(connected);
  expect_error(connected.error(), "ETIMEDOUT", Stage::proxy);
}

TEST_CASE("blocking: a refused proxy port is ECONNREFUSED at the connect stage",
          "[blocking][proxy]") {
  uint16_t port = 0;
  {
    FakeProxy closed;  // bound, then closed: nothing listens there afterwards
    port = closed.port;
  }
  ClientSide client;
  blocking::ConnectOptions options;
  options.timeout = kOp;
  options.proxy = blocking::ProxyOptions{"127.0.0.1", port, {}, {}};
  auto connected = Stream::connect(client.config, "localhost", 443, options);
  REQUIRE_FALSE(connected);
  expect_error(connected.error(), "ECONNREFUSED", Stage::connect);
  CHECK(std::string(connected.error().message()).find("(proxy)") != std::string::npos);
}
