// Blocking sockets (POSIX, IPv4 and IPv6) over the sans-I/O core.
//
// A Stream owns a file descriptor and a Connection and runs the engine's
// loop ("what does the engine want?") with poll(2) and a deadline per call.
// It uses only the core's public API. Errors carry the stage where they
// happened, as the source documents teach: resolve (ENOTFOUND), connect
// (ECONNREFUSED, ETIMEDOUT), handshake, certificate, then transport/record
// after the handshake. The engine's own errors come through unchanged.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sanstls/connection.h"
#include "sanstls/sources.h"
#include "sanstls/tunnel.h"

namespace sanstls::blocking {

using Milliseconds = std::chrono::milliseconds;

// Default per-call timeout.
inline constexpr Milliseconds kDefaultTimeout{30000};

// What the proxy answered to CONNECT (status 0: no complete status line).
struct ProxyReply {
  int status = 0;
  std::string reason;
  std::string proxy_authenticate;  // a 407's first Proxy-Authenticate field
};

// An HTTP or HTTPS proxy to open the TLS connection through (CONNECT,
// sanstls/tunnel.h).
struct ProxyOptions {
  std::string host;  // the proxy: a name or an IP literal
  uint16_t port = 0;
  std::optional<tunnel::BasicCredentials> credentials;       // Proxy-Authorization: Basic
  std::vector<std::pair<std::string, std::string>> headers;  // extra CONNECT headers
  ProxyReply* reply = nullptr;  // when not null, filled in with the proxy's answer
  // An HTTPS proxy: when not null, TLS to the proxy first with this client
  // Config (its CA verifies the proxy's certificate; kept by reference for
  // the Stream's life), then CONNECT and the origin's TLS inside that
  // connection: two engines stacked (docs/tunnels.md). The proxy's handshake
  // failures keep their own stage and name (certificate, handshake...) and
  // say "proxy" in their message.
  const Config* tls = nullptr;
  std::string tls_server_name = {};  // SNI and verified name of the proxy; default: host
};

// Everything connect() can be told beyond where to go.
struct ConnectOptions {
  Milliseconds timeout = kDefaultTimeout;  // resolve + connect + handshake
  std::string server_name;                 // default: the host
  ByteView saved_session;                  // from Connection::save_session()
  // Drives the engine's timers (see Stream::drive_timers); null: not driven.
  Clock* timer_clock = nullptr;
  // Through an HTTP proxy: TCP to the proxy (and, with ProxyOptions::tls, the
  // TLS handshake with it), CONNECT host:port within the same timeout, then
  // the TLS handshake with the origin inside the tunnel.
  // Failures of the exchange are errors of Stage::proxy (ERR_PROXY_REFUSED,
  // ERR_PROXY_CLOSED, ERR_PROXY_BAD_REPLY; ETIMEDOUT and socket errors too);
  // resolving and connecting to the proxy are stages resolve and connect.
  std::optional<ProxyOptions> proxy;
};

class Stream {
 public:
  // Resolves `host` (a name or an IP literal), tries every address in order,
  // connects over TCP and runs the TLS handshake. `server_name` defaults to
  // `host` (used for SNI and certificate checks). With options.proxy, the
  // proxy is resolved and connected instead and `host` is only named in CONNECT.
  static Result<Stream> connect(const Config& config, const std::string& host, uint16_t port,
                                Milliseconds timeout = kDefaultTimeout,
                                const std::string& server_name = {});
  static Result<Stream> connect(const Config& config, const std::string& host, uint16_t port,
                                const ConnectOptions& options);

  // Wraps an already-connected descriptor (a socket, a pipe pair's end, a
  // tunnel) as a client; the Stream takes ownership and closes it. The
  // handshake runs in handshake(), or lazily on first read/write.
  static Result<Stream> wrap_client(int fd, const Config& config, const std::string& server_name);
  // Same for the server side (e.g. after accept(2)).
  static Result<Stream> wrap_server(int fd, const Config& config);

  Stream(Stream&& other) noexcept;
  Stream& operator=(Stream&& other) noexcept;
  ~Stream();  // closes the descriptor (without close_notify: call shutdown())

  // Runs the handshake to completion. A server whose SNI selector answered
  // SniAnswer::later() pauses (wants().awaiting_config): the handshake then
  // calls the on_server_name_requested() hook, which must answer with
  // Connection::provide_config() or reject_server_name(). Without a hook, or
  // when the hook leaves the question open, handshake() fails at once with
  // ERR_INVALID_ARG_VALUE (stage handshake), "the SNI selector deferred...";
  // answer on connection() and call handshake() again to continue.
  Error handshake(Milliseconds timeout = kDefaultTimeout);
  // Servers: answers a deferred SNI selector from inside handshake() (and
  // the lazy handshake of read/write_all). Called with this Stream's
  // Connection; info().server_name is the name the client asked for.
  void on_server_name_requested(std::function<void(Connection&)> answer) {
    server_name_hook_ = std::move(answer);
  }
  // Reads up to out.size() bytes of plaintext; 0 means the peer closed
  // cleanly (close_notify, or the transport's end after our shutdown()).
  // Truncation is ERR_SSL_UNEXPECTED_EOF_WHILE_READING. An empty `out`
  // returns 0 at once (after the handshake) and reads nothing from the socket.
  Result<size_t> read(MutableByteView out, Milliseconds timeout = kDefaultTimeout);
  // Writes all of `data` or fails (ETIMEDOUT once `timeout` has passed).
  // While a TLS 1.2 renegotiation holds writes it reads the peer's records
  // to complete it; application data that arrives meanwhile is kept for
  // read() (at most 1 MiB, beyond that write_all fails).
  Error write_all(ByteView data, Milliseconds timeout = kDefaultTimeout);
  // Sends close_notify (Connection::close()), flushes it, shuts down the
  // socket's sending side, then drains the socket until the peer's
  // close_notify or its end of stream, at most `timeout`, so that closing
  // the descriptor does not reset the connection. With the default
  // close_timeout 0 (unidirectional close) the peer's end of stream without
  // a close_notify is a clean end and running out of `timeout` is not an
  // error either. With close_timeout > 0 (bidirectional) the peer's
  // close_notify is required: end of stream first is truncation
  // (ERR_SSL_UNEXPECTED_EOF_WHILE_READING), and `timeout` passing is
  // ETIMEDOUT, unless drive_timers() lets the close timer end the wait.
  Error shutdown(Milliseconds timeout = Milliseconds{2000});

  // Drives the engine's timers (handshake timeout, close_notify wait): before
  // each wait for input, the poll timeout is clamped to
  // Connection::next_deadline_ms() relative to `clock`, and on_timer(now) is
  // called once that moment passes. `clock` must be the Config's clock (e.g.
  // platform::system_clock()) and outlive the Stream. Off by default: a
  // Config on a ManualClock keeps its timers under the caller's control.
  void drive_timers(Clock& clock) noexcept { timer_clock_ = &clock; }

  Connection& connection() noexcept { return connection_; }
  const Connection& connection() const noexcept { return connection_; }
  // The socket to poll for input: the proxy's for a Stream carried inside an
  // HTTPS proxy's TLS (bytes may then wait decrypted in the carrier: a
  // read() with a 0 ms timeout takes them without polling).
  int fd() const noexcept { return carrier_ ? carrier_->fd() : fd_; }
  // The TLS connection to an HTTPS proxy this Stream runs inside; null
  // when the Stream owns its socket.
  Stream* carrier() noexcept { return carrier_.get(); }
  // "127.0.0.1:443" / "[::1]:443" of the peer, when known.
  const std::string& peer_address() const noexcept { return peer_address_; }

 private:
  Stream(int fd, Connection connection) noexcept;
  Stream(std::unique_ptr<Stream> carrier, Connection connection) noexcept;
  Error send_output(std::chrono::steady_clock::time_point deadline);
  Error pump_until(bool (*done)(const Connection&), Milliseconds timeout);
  Error flush(std::chrono::steady_clock::time_point deadline);
  Error receive_some(std::chrono::steady_clock::time_point deadline);
  Error shutdown_own(Milliseconds timeout);
  Error receive_carried(std::chrono::steady_clock::time_point wait_until, bool timer_first);
  Error drain_after_reset();
  size_t feed_inbox();
  void feed_received(ByteView received);
  Error engine_failure();
  Error answer_server_name();
  Error stash_plaintext();
  Error fail(Error error);
  bool run_due_timers();
  std::chrono::steady_clock::time_point timer_bound(std::chrono::steady_clock::time_point deadline,
                                                    bool* timer_first);

  int fd_ = -1;
  Connection connection_;
  std::string peer_address_;
  Error transport_error_;
  Clock* timer_clock_ = nullptr;  // drive_timers()
  std::vector<uint8_t> inbox_;    // received bytes the engine has not taken yet
  // Plaintext read while write_all() waited for a renegotiation; read() first.
  std::vector<uint8_t> readahead_;
  std::function<void(Connection&)> server_name_hook_;
  // TLS inside TLS: the ciphertext travels as the carrier's plaintext.
  std::unique_ptr<Stream> carrier_;
};

// A listening TCP socket.
class Listener {
 public:
  // Binds and listens; port 0 picks a free port (see port()).
  static Result<Listener> bind(const std::string& host, uint16_t port, int backlog = 64);
  Listener(Listener&& other) noexcept;
  Listener& operator=(Listener&& other) noexcept;
  ~Listener();

  // Accepts one TCP connection and wraps it as a server Stream (the
  // handshake has not run yet: call handshake() to control its timeout).
  Result<Stream> accept(const Config& config, Milliseconds timeout = kDefaultTimeout);
  uint16_t port() const noexcept { return port_; }
  int fd() const noexcept { return fd_; }

 private:
  explicit Listener(int fd, uint16_t port) noexcept : fd_(fd), port_(port) {}
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace sanstls::blocking
