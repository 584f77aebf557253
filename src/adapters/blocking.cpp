// The blocking adapter: one small loop per operation over what the engine
// wants, with poll(2) and a deadline. Only the core's public API is used.
#include "sanstls/adapters/blocking.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

namespace sanstls::blocking {
namespace {

using SteadyClock = std::chrono::steady_clock;
using Deadline = SteadyClock::time_point;

constexpr size_t kReceiveChunk = 16384 + 256 + 5;
// Plaintext write_all() may set aside for read() while a renegotiation holds writes.
constexpr size_t kReadAheadLimit = size_t{1} << 20;

ErrorCode code_for_errno(int err) {
  switch (err) {
    case ECONNREFUSED:
      return ErrorCode::connection_refused;
    case ETIMEDOUT:
      return ErrorCode::timed_out;
    case ECONNRESET:
    case EPIPE:
      return ErrorCode::connection_reset;
    case ENETUNREACH:
    case EHOSTUNREACH:
      return ErrorCode::network_unreachable;
    default:
      return ErrorCode::transport_failed;
  }
}

Error errno_error(Stage stage, const char* what, const std::string& target, int err) {
  char text[Error::kMessageCapacity];
  std::snprintf(text, sizeof text, "%s %s %s (%s)", what, error_code_name(code_for_errno(err)),
                target.c_str(), std::strerror(err));
  return Error(code_for_errno(err), stage, text).with_system_error(err);
}

Error timeout_error(Stage stage, const char* what) {
  char text[Error::kMessageCapacity];
  std::snprintf(text, sizeof text, "%s timed out", what);
  return Error(ErrorCode::timed_out, stage, text);
}

int remaining_ms(Deadline deadline) {
  const auto left = std::chrono::duration_cast<Milliseconds>(deadline - SteadyClock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left > 1000000 ? 1000000 : left);
}

// Waits until `fd` is ready for `events`; false on timeout.
bool wait_for(int fd, short events, Deadline deadline, int* err) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0) {
      *err = ETIMEDOUT;
      return false;
    }
    if (errno != EINTR) {
      *err = errno;
      return false;
    }
  }
}

std::string format_address(const sockaddr* address) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
    port = ntohs(v4->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
    port = ntohs(v6->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return {};  // not an IP socket (AF_UNIX, ...): no address to show
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// Connects one address; returns the socket or -1 with *err set.
int connect_one(const addrinfo* ai, Deadline deadline, int* err) {
  const int fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) return fd;
  if (errno != EINPROGRESS) {
    *err = errno;
    ::close(fd);
    return -1;
  }
  if (!wait_for(fd, POLLOUT, deadline, err)) {
    ::close(fd);
    return -1;
  }
  int so_error = 0;
  socklen_t len = sizeof so_error;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
  if (so_error != 0) {
    *err = so_error;
    ::close(fd);
    return -1;
  }
  return fd;
}

// Resolves `host` and connects to the first address that answers; the socket
// (non-blocking, TCP_NODELAY) or -1 with *error set (stages resolve, connect).
int tcp_connect(const std::string& host, uint16_t port, Deadline deadline, const char* role,
                Error* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &addresses);
  if (rc != 0) {
    char text[Error::kMessageCapacity];
    std::snprintf(text, sizeof text, "getaddrinfo ENOTFOUND %s%s (%s)", host.c_str(), role,
                  gai_strerror(rc));
    *error = Error(ErrorCode::name_not_found, Stage::resolve, text).with_system_error(rc);
    return -1;
  }
  int fd = -1;
  int last_error = ECONNREFUSED;
  std::string target = host + ":" + service;
  for (const addrinfo* ai = addresses; ai != nullptr && fd < 0; ai = ai->ai_next) {
    target = format_address(ai->ai_addr);
    fd = connect_one(ai, deadline, &last_error);
    if (last_error == ETIMEDOUT && fd < 0) break;  // the deadline is spent
  }
  ::freeaddrinfo(addresses);
  if (fd < 0) {
    *error = errno_error(Stage::connect, "connect", target + role, last_error);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Runs the CONNECT exchange on `fd` (non-blocking) until the tunnel is
// established or fails, by `deadline`. Every failure is of Stage::proxy.
Error proxy_exchange(int fd, tunnel::ConnectClient& client, Deadline deadline) {
  const std::string& target = client.authority();
  while (client.state() == tunnel::ConnectState::sending) {
    const ByteView out = client.pending_output();
    const ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      client.consume_output(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    int err = errno;
    if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK) && wait_for(fd, POLLOUT, deadline, &err)) {
      continue;
    }
    if (err == ETIMEDOUT) return timeout_error(Stage::proxy, "sending CONNECT to the proxy");
    return errno_error(Stage::proxy, "send CONNECT", target, err);
  }
  // Reads at most what the reply may hold, so that bytes after it stay few.
  uint8_t buffer[4096];
  while (client.state() == tunnel::ConnectState::awaiting_reply) {
    int err = 0;
    if (!wait_for(fd, POLLIN, deadline, &err)) {
      if (err == ETIMEDOUT) return timeout_error(Stage::proxy, "waiting for the proxy's reply");
      return errno_error(Stage::proxy, "recv CONNECT reply", target, err);
    }
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
      client.transport_eof();
    } else if (n > 0) {
      client.feed(ByteView(buffer, static_cast<size_t>(n)));
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      return errno_error(Stage::proxy, "recv CONNECT reply", target, errno);
    }
  }
  return client.error();
}

// The same error, its message saying it came from the proxy's connection
// (an HTTPS proxy's TLS handshake keeps its own stage and name).
Error about_proxy(const Error& error, const std::string& proxy) {
  const std::string text = "proxy " + proxy + ": " + error.message();
  Error tagged(error.code(), error.stage(), text.c_str());  // truncated to the capacity
  if (error.has_alert()) tagged.with_alert(error.alert(), error.alert_direction());
  if (error.backend_code() != 0) tagged.with_backend_code(error.backend_code());
  if (error.system_error() != 0) tagged.with_system_error(error.system_error());
  return tagged;
}

}  // namespace

// The CONNECT exchange inside an HTTPS proxy's TLS connection: the request
// and the reply are the carrier's plaintext. Failures are of Stage::proxy
// except the carrier's own TLS errors, which keep theirs.
static Error proxy_exchange_over(Stream& carrier, tunnel::ConnectClient& client,
                                 Deadline deadline) {
  const ByteView request = client.pending_output();
  if (Error error = carrier.write_all(request, Milliseconds(remaining_ms(deadline)))) {
    if (error.code() == ErrorCode::timed_out) {
      return timeout_error(Stage::proxy, "sending CONNECT to the proxy");
    }
    return error;
  }
  client.consume_output(request.size());
  uint8_t buffer[4096];
  while (client.state() == tunnel::ConnectState::awaiting_reply) {
    auto n =
        carrier.read(MutableByteView(buffer, sizeof buffer), Milliseconds(remaining_ms(deadline)));
    if (!n) {
      if (n.error().code() == ErrorCode::timed_out) {
        return timeout_error(Stage::proxy, "waiting for the proxy's reply");
      }
      // The proxy's end of stream without close_notify is the proxy closing.
      if (n.error().code() == ErrorCode::unexpected_eof ||
          n.error().code() == ErrorCode::connection_reset) {
        client.transport_eof();
        continue;
      }
      return n.error();
    }
    if (n.value() == 0) {
      client.transport_eof();
    } else {
      client.feed(ByteView(buffer, n.value()));
    }
  }
  return client.error();
}

// ---------------------------------------------------------------- Stream

Stream::Stream(int fd, Connection connection) noexcept
    : fd_(fd), connection_(std::move(connection)) {
  set_nonblocking(fd_);
  sockaddr_storage address{};
  socklen_t len = sizeof address;
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&address), &len) == 0) {
    peer_address_ = format_address(reinterpret_cast<sockaddr*>(&address));
  }
}

Stream::Stream(std::unique_ptr<Stream> carrier, Connection connection) noexcept
    : connection_(std::move(connection)), carrier_(std::move(carrier)) {
  peer_address_ = carrier_->peer_address();
}

Stream::Stream(Stream&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      connection_(std::move(other.connection_)),
      peer_address_(std::move(other.peer_address_)),
      transport_error_(other.transport_error_),
      timer_clock_(other.timer_clock_),
      inbox_(std::move(other.inbox_)),
      readahead_(std::move(other.readahead_)),
      server_name_hook_(std::move(other.server_name_hook_)),
      carrier_(std::move(other.carrier_)) {}

Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    connection_ = std::move(other.connection_);
    peer_address_ = std::move(other.peer_address_);
    transport_error_ = other.transport_error_;
    timer_clock_ = other.timer_clock_;
    inbox_ = std::move(other.inbox_);
    readahead_ = std::move(other.readahead_);
    server_name_hook_ = std::move(other.server_name_hook_);
    carrier_ = std::move(other.carrier_);
  }
  return *this;
}

Stream::~Stream() {
  if (fd_ >= 0) ::close(fd_);
}

Result<Stream> Stream::connect(const Config& config, const std::string& host, uint16_t port,
                               Milliseconds timeout, const std::string& server_name) {
  ConnectOptions options;
  options.timeout = timeout;
  options.server_name = server_name;
  return connect(config, host, port, options);
}

Result<Stream> Stream::connect(const Config& config, const std::string& host, uint16_t port,
                               const ConnectOptions& options) {
  const Deadline deadline = SteadyClock::now() + options.timeout;
  std::optional<tunnel::ConnectClient> tunnel_client;
  if (options.proxy) {
    tunnel::ConnectRequest request;
    request.host = host;
    request.port = port;
    request.credentials = options.proxy->credentials;
    request.headers = options.proxy->headers;
    auto made = tunnel::ConnectClient::create(request);
    if (!made) return made.error();
    tunnel_client.emplace(std::move(made).value());
  }
  const std::string& tcp_host = options.proxy ? options.proxy->host : host;
  const uint16_t tcp_port = options.proxy ? options.proxy->port : port;
  Error tcp_error;
  const int fd =
      tcp_connect(tcp_host, tcp_port, deadline, options.proxy ? " (proxy)" : "", &tcp_error);
  if (fd < 0) return tcp_error;

  // An HTTPS proxy: TLS to the proxy first; CONNECT and the origin's TLS
  // then run inside it.
  std::unique_ptr<Stream> carrier;
  if (options.proxy && options.proxy->tls != nullptr) {
    const ProxyOptions& proxy = *options.proxy;
    const std::string proxy_name =
        proxy.tls_server_name.empty() ? proxy.host : proxy.tls_server_name;
    auto wrapped = wrap_client(fd, *proxy.tls, proxy_name);
    if (!wrapped) return about_proxy(wrapped.error(), tcp_host);
    carrier = std::make_unique<Stream>(std::move(wrapped).value());
    if (options.timer_clock != nullptr) carrier->drive_timers(*options.timer_clock);
    if (Error error = carrier->handshake(Milliseconds(remaining_ms(deadline)))) {
      return about_proxy(error, carrier->peer_address());
    }
  }

  std::vector<uint8_t> leftover;
  if (tunnel_client) {
    const Error error = carrier ? proxy_exchange_over(*carrier, *tunnel_client, deadline)
                                : proxy_exchange(fd, *tunnel_client, deadline);
    if (ProxyReply* reply = options.proxy->reply) {
      reply->status = tunnel_client->status();
      reply->reason = tunnel_client->reason();
      reply->proxy_authenticate = tunnel_client->proxy_authenticate();
    }
    if (error) {
      if (!carrier) ::close(fd);
      return error;
    }
    const ByteView rest = tunnel_client->leftover();
    leftover.assign(rest.begin(), rest.end());
  }

  const std::string& name = options.server_name.empty() ? host : options.server_name;
  auto connection = options.saved_session.empty()
                        ? Connection::client(config, name)
                        : Connection::client(config, name, options.saved_session);
  if (!connection) {
    if (!carrier) ::close(fd);
    return connection.error();
  }
  Stream stream = carrier ? Stream(std::move(carrier), std::move(connection).value())
                          : Stream(fd, std::move(connection).value());
  // The proxy's bytes after its reply are the origin's first TLS bytes:
  // receive_some() feeds the inbox before reading the socket again.
  stream.inbox_ = std::move(leftover);
  if (options.timer_clock != nullptr) stream.drive_timers(*options.timer_clock);
  const int left = remaining_ms(deadline);
  if (Error error = stream.handshake(Milliseconds(left))) return error;
  return Result<Stream>(std::move(stream));
}

Result<Stream> Stream::wrap_client(int fd, const Config& config, const std::string& server_name) {
  auto connection = Connection::client(config, server_name);
  if (!connection) {
    ::close(fd);
    return connection.error();
  }
  return Result<Stream>(Stream(fd, std::move(connection).value()));
}

Result<Stream> Stream::wrap_server(int fd, const Config& config) {
  auto connection = Connection::server(config);
  if (!connection) {
    ::close(fd);
    return connection.error();
  }
  return Result<Stream>(Stream(fd, std::move(connection).value()));
}

Error Stream::fail(Error error) {
  if (transport_error_.ok()) transport_error_ = error;
  return transport_error_;
}

Error Stream::send_output(Deadline deadline) {
  // Carried: the carrier encrypts our records as its plaintext. A partial
  // write cannot be told apart, so any failure is final.
  const ByteView out = connection_.pending_output();
  Error error = carrier_->write_all(out, Milliseconds(remaining_ms(deadline)));
  if (error) return fail(error);
  connection_.consume_output(out.size());
  return Error();
}

Error Stream::flush(Deadline deadline) {
  while (carrier_ && !connection_.pending_output().empty()) {
    if (Error error = send_output(deadline)) return error;
  }
  while (!connection_.pending_output().empty()) {
    const ByteView out = connection_.pending_output();
    const ssize_t n = ::send(fd_, out.data(), out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      connection_.consume_output(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int err = 0;
      if (!wait_for(fd_, POLLOUT, deadline, &err)) {
        return err == ETIMEDOUT ? timeout_error(Stage::transport, "sending")
                                : fail(errno_error(Stage::transport, "send", peer_address_, err));
      }
      continue;
    }
    const int err = errno;
    if (err == EPIPE || err == ECONNRESET) {
      // The peer may have said why before it closed (a fatal alert): let the
      // engine read what is still in the socket so its error wins.
      if (Error reason = drain_after_reset()) return reason;
    }
    return fail(errno_error(Stage::transport, "send", peer_address_, err));
  }
  return Error();
}

size_t Stream::feed_inbox() {
  const size_t taken = connection_.feed(ByteView(inbox_));
  inbox_.erase(inbox_.begin(), inbox_.begin() + static_cast<std::ptrdiff_t>(taken));
  return taken;
}

void Stream::feed_received(ByteView received) {
  // What the engine cannot take yet waits in the inbox (back-pressure).
  const size_t taken = connection_.feed(received);
  inbox_.insert(inbox_.end(), received.begin() + taken, received.end());
}

Error Stream::drain_after_reset() {
  uint8_t buffer[kReceiveChunk];
  for (int i = 0; i < 64 && connection_.error().ok(); ++i) {
    if (!inbox_.empty()) {
      if (feed_inbox() == 0) break;
      continue;
    }
    ssize_t n = 0;
    if (carrier_) {
      auto got = carrier_->read(MutableByteView(buffer, sizeof buffer), Milliseconds(0));
      n = got ? static_cast<ssize_t>(got.value()) : -1;
    } else {
      n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
    }
    if (n <= 0) break;
    const ByteView received(buffer, static_cast<size_t>(n));
    feed_received(received);
  }
  return connection_.error();
}

bool Stream::run_due_timers() {
  if (timer_clock_ == nullptr) return false;
  const std::optional<int64_t> next = connection_.next_deadline_ms();
  if (!next) return false;
  const int64_t now = timer_clock_->now_ms();
  if (now < *next) return false;
  connection_.on_timer(now);
  return true;
}

Deadline Stream::timer_bound(Deadline deadline, bool* timer_first) {
  *timer_first = false;
  if (timer_clock_ == nullptr) return deadline;
  const std::optional<int64_t> next = connection_.next_deadline_ms();
  if (!next) return deadline;
  const int64_t left = *next - timer_clock_->now_ms();
  const Deadline at = SteadyClock::now() + Milliseconds(left > 0 ? left : 0);
  if (at >= deadline) return deadline;
  *timer_first = true;
  return at;
}

Error Stream::receive_some(Deadline deadline) {
  // Bytes the engine could not take yet go first (back-pressure). While it
  // cannot take them, nothing more is read from the socket: the inbox holds
  // at most one receive's worth.
  if (!inbox_.empty()) {
    feed_inbox();
    return Error();
  }
  // The engine's timers: a deadline that has passed is reported now; one
  // that comes before `deadline` shortens the wait.
  if (run_due_timers()) return Error();
  bool timer_first = false;
  const Deadline wait_until = timer_bound(deadline, &timer_first);
  if (carrier_) return receive_carried(wait_until, timer_first);
  int err = 0;
  if (!wait_for(fd_, POLLIN, wait_until, &err)) {
    if (err == ETIMEDOUT && timer_first) {
      (void)run_due_timers();
      return Error();  // the caller looks at the engine's state again
    }
    return err == ETIMEDOUT ? timeout_error(Stage::transport, "receiving")
                            : fail(errno_error(Stage::transport, "recv", peer_address_, err));
  }
  uint8_t buffer[kReceiveChunk];
  const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
  if (n == 0) {
    connection_.transport_eof();
    return Error();
  }
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) return Error();
    if (errno == ECONNRESET) {
      // A reset is the transport ending: the engine decides between a clean
      // close and truncation.
      connection_.transport_eof();
      if (connection_.wants().read_closed && connection_.error().ok()) return Error();
      return fail(errno_error(Stage::transport, "recv", peer_address_, errno));
    }
    return fail(errno_error(Stage::transport, "recv", peer_address_, errno));
  }
  const ByteView received(buffer, static_cast<size_t>(n));
  feed_received(received);
  return Error();
}

Error Stream::receive_carried(Deadline wait_until, bool timer_first) {
  uint8_t buffer[kReceiveChunk];
  auto n = carrier_->read(MutableByteView(buffer, sizeof buffer),
                          Milliseconds(remaining_ms(wait_until)));
  if (!n) {
    if (n.error().code() == ErrorCode::timed_out) {
      if (timer_first) {
        (void)run_due_timers();
        return Error();
      }
      return timeout_error(Stage::transport, "receiving");
    }
    // The proxy's connection ending without close_notify ends ours too: the
    // engine decides between a clean close and truncation.
    if (n.error().code() == ErrorCode::unexpected_eof) {
      connection_.transport_eof();
      return Error();
    }
    return fail(n.error());
  }
  if (n.value() == 0) {
    connection_.transport_eof();
    return Error();
  }
  feed_received(ByteView(buffer, n.value()));
  return Error();
}

Error Stream::pump_until(bool (*done)(const Connection&), Milliseconds timeout) {
  const Deadline deadline = SteadyClock::now() + timeout;
  for (;;) {
    if (!transport_error_.ok()) return transport_error_;
    if (!connection_.error().ok()) {
      // Best effort: the fatal alert the engine queued should reach the peer.
      flush(SteadyClock::now() + Milliseconds(200));
      return connection_.error();
    }
    const Readiness r = connection_.wants();
    // Flush before testing `done`: the engine reports the handshake complete
    // as soon as its last flight is queued (e.g. a TLS 1.2 server's Finished),
    // not when it has reached the peer.
    if (r.has_output) {
      if (Error error = flush(deadline)) return error;
      continue;
    }
    if (done(connection_)) return Error();
    if (r.awaiting_config) {
      if (Error error = answer_server_name()) return error;
      continue;
    }
    if (!r.wants_input) return Error();  // nothing more can happen
    if (remaining_ms(deadline) == 0) {
      return timeout_error(r.handshake_complete ? Stage::transport : Stage::handshake,
                           r.handshake_complete ? "waiting for data" : "TLS handshake");
    }
    Error error = receive_some(deadline);
    if (error.code() == ErrorCode::timed_out && !r.handshake_complete) {
      return timeout_error(Stage::handshake, "TLS handshake");
    }
    if (error) return error;
  }
}

Error Stream::engine_failure() {
  // Best effort: the fatal alert the engine queued should reach the peer.
  flush(SteadyClock::now() + Milliseconds(200));
  return connection_.error();
}

Error Stream::answer_server_name() {
  if (server_name_hook_) server_name_hook_(connection_);
  if (!connection_.error().ok() || !connection_.wants().awaiting_config) return Error();
  return Error(ErrorCode::invalid_argument, Stage::handshake,
               server_name_hook_
                   ? "the SNI selector deferred its answer and the on_server_name_requested hook "
                     "did not answer (provide_config or reject_server_name)"
                   : "the SNI selector deferred its answer (SniAnswer::later) and no "
                     "on_server_name_requested hook answers it: answer on connection(), then "
                     "call handshake() again");
}

Error Stream::stash_plaintext() {
  uint8_t buffer[16384];
  for (;;) {
    const size_t n = connection_.read(MutableByteView(buffer, sizeof buffer));
    if (n == 0) return Error();
    if (readahead_.size() + n > kReadAheadLimit) {
      return fail(Error(ErrorCode::transport_failed, Stage::transport,
                        "write_all: more than 1 MiB of the peer's data arrived while a "
                        "renegotiation held writes; read it first"));
    }
    readahead_.insert(readahead_.end(), buffer, buffer + n);
  }
}

Error Stream::handshake(Milliseconds timeout) {
  return pump_until([](const Connection& c) { return c.wants().handshake_complete; }, timeout);
}

Result<size_t> Stream::read(MutableByteView out, Milliseconds timeout) {
  if (!connection_.wants().handshake_complete) {
    if (Error error = handshake(timeout)) return error;
  }
  // An empty buffer takes nothing: receiving now would only pile up input.
  if (out.empty()) return size_t{0};
  if (!readahead_.empty()) {
    const size_t n = std::min(out.size(), readahead_.size());
    std::memcpy(out.data(), readahead_.data(), n);
    readahead_.erase(readahead_.begin(), readahead_.begin() + static_cast<std::ptrdiff_t>(n));
    return n;
  }
  const Deadline deadline = SteadyClock::now() + timeout;
  for (;;) {
    const size_t n = connection_.read(out);
    if (n > 0) return n;
    if (!connection_.error().ok()) return engine_failure();
    if (!transport_error_.ok()) return transport_error_;
    const Readiness r = connection_.wants();
    if (r.has_output) {
      if (Error error = flush(deadline)) return error;
      continue;
    }
    if (r.read_closed) return size_t{0};  // the peer's close_notify
    if (Error error = receive_some(deadline)) return error;
  }
}

Error Stream::write_all(ByteView data, Milliseconds timeout) {
  if (!connection_.wants().handshake_complete) {
    if (Error error = handshake(timeout)) return error;
  }
  const Deadline deadline = SteadyClock::now() + timeout;
  size_t done = 0;
  while (done < data.size()) {
    if (!connection_.error().ok()) return engine_failure();
    if (!transport_error_.ok()) return transport_error_;
    if (connection_.wants().write_closed) {
      return Error(ErrorCode::invalid_argument, Stage::closed, "write after close");
    }
    const size_t accepted = connection_.write(data.skip(done));
    done += accepted;
    const Readiness r = connection_.wants();
    if (r.has_output) {
      if (Error error = flush(deadline)) return error;
      continue;
    }
    if (accepted > 0 || done == data.size()) continue;
    // Nothing accepted and nothing to send: a TLS 1.2 renegotiation holds
    // writes until the peer's flight arrives, so read it (bounded).
    if (remaining_ms(deadline) == 0) return timeout_error(Stage::transport, "sending");
    if (r.has_plaintext) {
      // The peer's data comes first in its stream: set it aside for read().
      if (Error error = stash_plaintext()) return error;
      continue;
    }
    if (!r.wants_input) {
      if (r.read_closed) {
        return Error(ErrorCode::invalid_argument, Stage::closed,
                     "write_all: writes wait for a renegotiation but the peer closed its side");
      }
      return timeout_error(Stage::transport, "sending");
    }
    if (Error error = receive_some(deadline)) return error;
  }
  return Error();
}

Error Stream::shutdown(Milliseconds timeout) {
  const Deadline deadline = SteadyClock::now() + timeout;
  const Error error = shutdown_own(timeout);
  // Then the HTTPS proxy's connection, best effort: ours is what was asked.
  if (carrier_) (void)carrier_->shutdown(Milliseconds(remaining_ms(deadline)));
  return error;
}

Error Stream::shutdown_own(Milliseconds timeout) {
  const Deadline deadline = SteadyClock::now() + timeout;
  connection_.close();
  if (Error error = flush(deadline)) return error;
  // Carried, the proxy's connection stays up until ours is done (the
  // carrier's close_notify comes at the end).
  if (!carrier_) ::shutdown(fd_, SHUT_WR);
  // Drain until the peer's close_notify or its end of stream (both clean
  // after our close_notify unless the Config asked to wait for the peer's),
  // so that closing the descriptor then does not reset the connection.
  // Data still arriving is dropped.
  const bool bidirectional = !connection_.wants().closed;  // close_timeout > 0
  uint8_t sink[4096];
  for (;;) {
    if (!connection_.error().ok()) return engine_failure();
    if (!transport_error_.ok()) return transport_error_;
    const Readiness r = connection_.wants();
    if (r.has_output) {
      if (Error error = flush(deadline)) return error;
      continue;
    }
    if (r.read_closed) return Error();
    while (connection_.read(MutableByteView(sink, sizeof sink)) > 0) {
    }
    if (!connection_.wants().wants_input) return Error();  // nothing more can happen
    if (remaining_ms(deadline) == 0) {
      // Not asked to wait for the peer: lingering was a courtesy.
      if (!bidirectional) return Error();
      return timeout_error(Stage::transport, "waiting for the peer's close_notify");
    }
    Error error = receive_some(deadline);
    if (error.code() == ErrorCode::timed_out && !bidirectional) return Error();
    if (error) return error;
  }
}

// ---------------------------------------------------------------- Listener

Result<Listener> Listener::bind(const std::string& host, uint16_t port, int backlog) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* addresses = nullptr;
  const std::string service = std::to_string(port);
  const int rc =
      ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &addresses);
  if (rc != 0) {
    char text[Error::kMessageCapacity];
    std::snprintf(text, sizeof text, "getaddrinfo ENOTFOUND %s (%s)", host.c_str(),
                  gai_strerror(rc));
    return Error(ErrorCode::name_not_found, Stage::resolve, text).with_system_error(rc);
  }
  int last_error = EADDRNOTAVAIL;
  for (const addrinfo* ai = addresses; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_error = errno;
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, backlog) != 0) {
      last_error = errno;
      ::close(fd);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    const uint16_t actual =
        ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    ::freeaddrinfo(addresses);
    set_nonblocking(fd);
    return Result<Listener>(Listener(fd, actual));
  }
  ::freeaddrinfo(addresses);
  return errno_error(Stage::connect, "listen", host + ":" + service, last_error);
}

Listener::Listener(Listener&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), port_(other.port_) {}

Listener& Listener::operator=(Listener&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    port_ = other.port_;
  }
  return *this;
}

Listener::~Listener() {
  if (fd_ >= 0) ::close(fd_);
}

Result<Stream> Listener::accept(const Config& config, Milliseconds timeout) {
  const Deadline deadline = SteadyClock::now() + timeout;
  for (;;) {
    int err = 0;
    if (!wait_for(fd_, POLLIN, deadline, &err)) {
      return err == ETIMEDOUT ? timeout_error(Stage::connect, "accept")
                              : errno_error(Stage::connect, "accept", "listener", err);
    }
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
      return errno_error(Stage::connect, "accept", "listener", errno);
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return Stream::wrap_server(fd, config);
  }
}

}  // namespace sanstls::blocking
