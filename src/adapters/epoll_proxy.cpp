// Loop::connect_through_proxy (include/sanstls/adapters/epoll.h).
//
// The dial (ProxyDial) runs on a plain watch beside the connections: the
// proxy's addresses one after the other, then, for an HTTPS proxy, the TLS
// handshake with it (the carrier), then the CONNECT exchange (the sans-I/O
// tunnel::ConnectClient, over the socket or as the carrier's plaintext),
// with a timerfd for the whole limit. Once the proxy says 2xx the socket
// becomes an ordinary client Conn, the proxy's leftover bytes in its inbox
// and, through an HTTPS proxy, the carrier kept underneath our engine. A
// failure is reported through a Conn too, so that every outcome reaches
// Handler::on_close as it does for connect().
//
// Two engines stacked (the Conn phase): received bytes go socket ->
// carrier_inbox -> carrier.feed -> carrier.read -> inbox_ -> our engine;
// our records go out as carrier.write(our pending_output) -> carrier's
// pending_output -> socket. Each buffer between them holds at most one
// receive and is refilled only once empty, so memory stays bounded and
// pausing our reading stops the socket's too.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "sanstls/adapters/epoll.h"

namespace sanstls::epoll {
namespace {

constexpr size_t kCarriedChunk = 16384 + 256 + 5;  // one TLS record of ours, whole
constexpr int kCarrierRounds = 64;

Error dial_errno(Stage stage, const char* what, const std::string& target, int err) {
  const ErrorCode code = err == ECONNREFUSED                 ? ErrorCode::connection_refused
                         : err == ECONNRESET || err == EPIPE ? ErrorCode::connection_reset
                         : err == ETIMEDOUT                  ? ErrorCode::timed_out
                         : err == ENETUNREACH || err == EHOSTUNREACH
                             ? ErrorCode::network_unreachable
                             : ErrorCode::transport_failed;
  char text[Error::kMessageCapacity];
  std::snprintf(text, sizeof text, "%s %s %s (proxy) (%s)", what, error_code_name(code),
                target.c_str(), std::strerror(err));
  return Error(code, stage, text).with_system_error(err);
}

// The same error, its message saying it came from the proxy's own TLS
// connection: it keeps its stage and name (certificate, handshake...).
Error about_proxy(const Error& error, const std::string& proxy) {
  const std::string text = "proxy " + proxy + ": " + error.message();
  Error tagged(error.code(), error.stage(), text.c_str());  // truncated to the capacity
  if (error.has_alert()) tagged.with_alert(error.alert(), error.alert_direction());
  if (error.backend_code() != 0) tagged.with_backend_code(error.backend_code());
  if (error.system_error() != 0) tagged.with_system_error(error.system_error());
  return tagged;
}

// The proxy's connection ending, with or without its close_notify: our
// engine then decides between a clean end and truncation.
bool is_end_of_stream(const Error& error) {
  return error.code() == ErrorCode::unexpected_eof || error.code() == ErrorCode::connection_reset;
}

std::string format_address(const std::vector<uint8_t>& bytes) {
  const auto* address = reinterpret_cast<const sockaddr*>(bytes.data());
  char host[INET6_ADDRSTRLEN] = "?";
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
  inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
  return std::string(host) + ":" + std::to_string(ntohs(v4->sin_port));
}

}  // namespace

struct Loop::ProxyDial {
  int fd = -1;
  int timer_fd = -1;
  uint64_t watch = 0;  // 0: none
  uint64_t timer_watch = 0;
  bool connected = false;  // the TCP connect to the proxy completed
  bool ended = false;
  std::string proxy_address;  // "127.0.0.1:3128" of the address tried now (the name before)
  SocketAddresses addresses;
  size_t next_address = 0;
  std::optional<tunnel::ConnectClient> client;
  std::optional<Connection> connection;  // the origin's TLS client, made up front
  // An HTTPS proxy: its TLS client, and socket bytes it has not taken.
  std::optional<Connection> carrier;
  std::vector<uint8_t> carrier_inbox;
  bool socket_eof = false;
  bool want_write = false;
  bool proxy_tls_failed = false;
  std::shared_ptr<Handler> handler;
  ConnOptions options;
};

Error Loop::connect_through_proxy(const ProxyRoute& proxy, const std::string& host, uint16_t port,
                                  const Config& config, const std::string& server_name,
                                  std::shared_ptr<Handler> handler, ConnOptions options) {
  if (!handler) {
    return Error(ErrorCode::invalid_argument, Stage::config, "connect_through_proxy: no handler");
  }
  const std::string name = server_name.empty() ? host : server_name;
  auto connection = Connection::client(config, name);
  if (!connection) return connection.error();
  return connect_through_proxy(proxy, host, port, std::move(connection).value(), std::move(handler),
                               options);
}

Error Loop::connect_through_proxy(const ProxyRoute& proxy, const std::string& host, uint16_t port,
                                  Connection connection, std::shared_ptr<Handler> handler,
                                  ConnOptions options) {
  if (!handler) {
    return Error(ErrorCode::invalid_argument, Stage::config, "connect_through_proxy: no handler");
  }
  tunnel::ConnectRequest request;
  request.host = host;
  request.port = port;
  request.credentials = proxy.credentials;
  request.headers = proxy.headers;
  auto client = tunnel::ConnectClient::create(request);
  if (!client) return client.error();
  auto dial = std::make_shared<ProxyDial>();
  dial->proxy_address =
      (proxy.address.find(':') != std::string::npos ? "[" + proxy.address + "]" : proxy.address) +
      ":" + std::to_string(proxy.port);
  if (proxy.tls != nullptr) {
    const std::string& proxy_name =
        proxy.tls_server_name.empty() ? proxy.address : proxy.tls_server_name;
    auto carrier = Connection::client(*proxy.tls, proxy_name);
    if (!carrier) return about_proxy(carrier.error(), dial->proxy_address);
    dial->carrier.emplace(std::move(carrier).value());
  }
  dial->client.emplace(std::move(client).value());
  dial->connection.emplace(std::move(connection));
  dial->handler = std::move(handler);
  dial->options = options;
  // One limit for the whole dial: resolving, connecting, the proxy's TLS
  // handshake and the CONNECT exchange.
  if (options.handshake_limit_ms > 0) {
    dial->timer_fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    itimerspec at{};
    at.it_value.tv_sec = options.handshake_limit_ms / 1000;
    at.it_value.tv_nsec = static_cast<long>(options.handshake_limit_ms % 1000) * 1000000L;
    if (dial->timer_fd >= 0 && ::timerfd_settime(dial->timer_fd, 0, &at, nullptr) == 0) {
      auto timer = watch(dial->timer_fd, EPOLLIN, [this, dial](uint32_t) {
        char text[Error::kMessageCapacity];
        std::snprintf(text, sizeof text, "the %s with the proxy %s timed out",
                      dial->connected ? "CONNECT exchange" : "connection",
                      dial->proxy_address.c_str());
        proxy_dial_end(dial, Error(ErrorCode::timed_out, Stage::proxy, text));
      });
      if (timer) dial->timer_watch = timer.value();
    }
  }
  dial->addresses = numeric_addresses(proxy.address, proxy.port);
  if (!dial->addresses.empty()) {
    proxy_dial_next(dial, Error());
    return Error();
  }
  // A name: resolved on the resolver thread, like connect()'s.
  resolve(proxy.address, proxy.port, " (proxy)",
          [this, dial](const Error& failure, SocketAddresses found) {
            if (dial->ended) return;  // timed out meanwhile
            if (failure) return proxy_dial_end(dial, failure);
            dial->addresses = std::move(found);
            proxy_dial_next(dial, Error());
          });
  return Error();
}

// Connects to the proxy's next address; when none is left, the dial ends
// with the last address's failure.
void Loop::proxy_dial_next(const std::shared_ptr<ProxyDial>& dial, const Error& last_failure) {
  Error failure = last_failure;
  if (dial->fd >= 0) {
    unwatch(dial->watch);
    dial->watch = 0;
    ::close(dial->fd);
    dial->fd = -1;
  }
  while (dial->next_address < dial->addresses.size()) {
    const std::vector<uint8_t>& address = dial->addresses[dial->next_address++];
    const auto* target = reinterpret_cast<const sockaddr*>(address.data());
    dial->proxy_address = format_address(address);
    const int fd = ::socket(target->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      failure = dial_errno(Stage::connect, "socket", dial->proxy_address, errno);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, target, static_cast<socklen_t>(address.size())) != 0 &&
        errno != EINPROGRESS) {
      failure = dial_errno(Stage::connect, "connect", dial->proxy_address, errno);
      ::close(fd);
      continue;
    }
    auto watched =
        watch(fd, EPOLLOUT, [this, dial](uint32_t events) { proxy_dial_ready(dial, events); });
    if (!watched) {
      ::close(fd);
      return proxy_dial_end(dial, watched.error());
    }
    dial->fd = fd;
    dial->watch = watched.value();
    return;
  }
  proxy_dial_end(dial, failure);
}

void Loop::proxy_dial_ready(const std::shared_ptr<ProxyDial>& dial, uint32_t events) {
  if (dial->ended) return;
  if (!dial->connected) {
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(dial->fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
      return proxy_dial_next(dial,
                             dial_errno(Stage::connect, "connect", dial->proxy_address, so_error));
    }
    if (!(events & EPOLLOUT)) return;
    dial->connected = true;
    count_connected();
  }
  if (dial->carrier) return proxy_dial_tls(dial);
  proxy_dial_exchange(dial, events);
}

// An HTTP proxy: CONNECT and its reply straight over the socket.
void Loop::proxy_dial_exchange(const std::shared_ptr<ProxyDial>& dial, uint32_t events) {
  (void)events;
  tunnel::ConnectClient& client = *dial->client;
  while (client.state() == tunnel::ConnectState::sending) {
    const ByteView out = client.pending_output();
    const ssize_t n = ::send(dial->fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      count_bytes(0, static_cast<uint64_t>(n));
      client.consume_output(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // EPOLLOUT again
    return proxy_dial_end(dial,
                          dial_errno(Stage::proxy, "send CONNECT", dial->proxy_address, errno));
  }
  if (client.state() == tunnel::ConnectState::awaiting_reply) {
    (void)rewatch(dial->watch, EPOLLIN | EPOLLRDHUP);
    uint8_t buffer[4096];
    for (int round = 0; round < 8 && client.state() == tunnel::ConnectState::awaiting_reply;
         ++round) {
      const ssize_t n = ::recv(dial->fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        count_bytes(static_cast<uint64_t>(n), 0);
        client.feed(ByteView(buffer, static_cast<size_t>(n)));
      } else if (n == 0 || (n < 0 && errno == ECONNRESET)) {
        client.transport_eof();
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return;
      } else if (errno != EINTR) {
        return proxy_dial_end(
            dial, dial_errno(Stage::proxy, "recv CONNECT reply", dial->proxy_address, errno));
      }
    }
  }
  if (client.state() == tunnel::ConnectState::established) return proxy_dial_end(dial, Error());
  if (client.state() == tunnel::ConnectState::failed) proxy_dial_end(dial, client.error());
}

// An HTTPS proxy: the carrier's handshake, then CONNECT and its reply as
// the carrier's plaintext. The carrier's own failures keep their stage and
// name; the proxy's connection ending after its handshake is the proxy
// closing (ERR_PROXY_CLOSED, from the ConnectClient).
void Loop::proxy_dial_tls(const std::shared_ptr<ProxyDial>& dial) {
  Connection& carrier = *dial->carrier;
  tunnel::ConnectClient& client = *dial->client;
  auto fail_tls = [&](const Error& error) {
    dial->proxy_tls_failed = true;
    proxy_dial_end(dial, about_proxy(error, dial->proxy_address));
  };
  dial->want_write = false;
  for (int round = 0; round < kCarrierRounds; ++round) {
    bool progress = false;
    const bool secure = carrier.wants().handshake_complete;
    if (secure && client.state() == tunnel::ConnectState::sending) {
      const size_t n = carrier.write(client.pending_output());
      if (n > 0) {
        client.consume_output(n);
        progress = true;
      }
    }
    while (!dial->want_write) {
      const ByteView out = carrier.pending_output();
      if (out.empty()) break;
      const ssize_t n = ::send(dial->fd, out.data(), out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        count_bytes(0, static_cast<uint64_t>(n));
        carrier.consume_output(static_cast<size_t>(n));
        progress = true;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        dial->want_write = true;
      } else if (!(n < 0 && errno == EINTR)) {
        const int err = errno;
        if (!secure)
          return fail_tls(dial_errno(Stage::transport, "send", dial->proxy_address, err));
        client.transport_eof();
        break;
      }
    }
    while (client.state() == tunnel::ConnectState::awaiting_reply &&
           carrier.wants().has_plaintext) {
      uint8_t reply[4096];
      const size_t n = carrier.read(MutableByteView(reply, sizeof reply));
      if (n == 0) break;
      client.feed(ByteView(reply, n));
      progress = true;
    }
    if (client.state() == tunnel::ConnectState::established) return proxy_dial_end(dial, Error());
    if (client.state() == tunnel::ConnectState::failed) {
      return proxy_dial_end(dial, client.error());
    }
    const Error& error = carrier.error();
    if (!error.ok() && !(secure && is_end_of_stream(error))) return fail_tls(error);
    if (secure && (carrier.wants().read_closed || !error.ok()) && !carrier.wants().has_plaintext) {
      client.transport_eof();  // the proxy closed before its reply was complete
      continue;
    }
    if (!dial->carrier_inbox.empty()) {
      const size_t taken = carrier.feed(ByteView(dial->carrier_inbox));
      if (taken > 0) {
        dial->carrier_inbox.erase(dial->carrier_inbox.begin(),
                                  dial->carrier_inbox.begin() + static_cast<std::ptrdiff_t>(taken));
        progress = true;
      }
    } else if (!dial->socket_eof && carrier.wants().wants_input) {
      uint8_t buffer[kCarriedChunk];
      const ssize_t n = ::recv(dial->fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        count_bytes(static_cast<uint64_t>(n), 0);
        dial->carrier_inbox.assign(buffer, buffer + n);
        progress = true;
      } else if (n == 0 || (n < 0 && errno == ECONNRESET)) {
        dial->socket_eof = true;
        carrier.transport_eof();  // before the handshake ends: the proxy's TLS failing
        progress = true;
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return fail_tls(dial_errno(Stage::transport, "recv", dial->proxy_address, errno));
      }
    }
    if (!progress) break;
  }
  uint32_t events = EPOLLIN | EPOLLRDHUP;
  if (dial->want_write) events |= EPOLLOUT;
  (void)rewatch(dial->watch, events);
}

void Loop::proxy_dial_end(const std::shared_ptr<ProxyDial>& dial, const Error& error) {
  if (dial->ended) return;
  dial->ended = true;
  if (dial->watch != 0) unwatch(dial->watch);
  if (dial->timer_fd >= 0) {
    unwatch(dial->timer_watch);
    ::close(dial->timer_fd);
  }
  // Either way a Conn takes the socket: the TLS client, or one that ends at
  // once to report the failure through on_close.
  const uint64_t id = next_id_;
  if (add_conn(dial->fd, std::move(*dial->connection), dial->handler, dial->options)) return;
  Conn& conn = *conns_.at(id);
  conn.peer_address_ = dial->proxy_address;
  conn.proxied_ = std::make_unique<Conn::Proxied>();
  ProxyInfo& info = conn.proxied_->info;
  const tunnel::ConnectClient& client = *dial->client;
  info.address = dial->proxy_address;
  info.tls = dial->carrier.has_value();
  info.status = client.status();
  info.reason = client.reason();
  info.proxy_authenticate = client.proxy_authenticate();
  info.proxy_tls_failed = dial->proxy_tls_failed;
  if (error) {
    return finish(conn,
                  error.code() == ErrorCode::timed_out ? CloseReason::timeout : CloseReason::error,
                  error);
  }
  const ByteView rest = client.leftover();
  conn.inbox_.assign(rest.begin(), rest.end());  // the origin's first bytes go first
  if (dial->carrier) {
    conn.proxied_->carrier.emplace(std::move(*dial->carrier));
    conn.proxied_->carrier_inbox = std::move(dial->carrier_inbox);
    conn.proxied_->socket_eof = dial->socket_eof;
  }
}

// ---------------------------------------------------------------- carried

bool Loop::carrier_has_output(const Conn& conn) noexcept {
  return conn.proxied_->carrier->wants().has_output;
}

void Loop::carried_receive(Conn& conn) {
  Conn::Proxied& proxied = *conn.proxied_;
  if (!proxied.carrier_inbox.empty() || proxied.socket_eof) return;
  const ssize_t n = ::recv(conn.fd_, buffer_.data(), buffer_.size(), 0);
  if (n > 0) {
    count_bytes(static_cast<uint64_t>(n), 0);
    conn.last_activity_ms_ = now_ms();
    proxied.carrier_inbox.assign(buffer_.data(), buffer_.data() + n);
    return;
  }
  const int err = n == 0 ? 0 : errno;
  if (err == EINTR || err == EAGAIN || err == EWOULDBLOCK) return;
  if (n == 0 || err == ECONNRESET) {
    // The carrier tells a clean end (its close_notify first) from
    // truncation; carrier_lift passes either on to our engine.
    proxied.socket_eof = true;
    proxied.carrier->transport_eof();
    return;
  }
  finish(conn, CloseReason::error, dial_errno(Stage::transport, "recv", conn.peer_address_, err));
}

// Moves received bytes up the stack; returns whether anything moved.
bool Loop::carrier_lift(Conn& conn) {
  Conn::Proxied& proxied = *conn.proxied_;
  Connection& carrier = *proxied.carrier;
  bool progress = false;
  if (!proxied.carrier_inbox.empty()) {
    const size_t taken = carrier.feed(ByteView(proxied.carrier_inbox));
    if (taken > 0) {
      proxied.carrier_inbox.erase(
          proxied.carrier_inbox.begin(),
          proxied.carrier_inbox.begin() + static_cast<std::ptrdiff_t>(taken));
      if (proxied.carrier_inbox.empty()) std::vector<uint8_t>().swap(proxied.carrier_inbox);
      progress = true;
    }
  }
  while (carrier.next_event()) {
    // The proxy's tickets and close_notify: wants().read_closed tells the end.
  }
  if (conn.inbox_.empty() && carrier.wants().has_plaintext) {
    conn.inbox_.resize(kCarriedChunk);
    const size_t n = carrier.read(MutableByteView(conn.inbox_.data(), conn.inbox_.size()));
    conn.inbox_.resize(n);
    if (n == 0) {
      std::vector<uint8_t>().swap(conn.inbox_);
    } else {
      progress = true;
    }
  }
  const Error& error = carrier.error();
  if (!error.ok() && !is_end_of_stream(error)) {
    proxied.info.proxy_tls_failed = true;
    const CloseReason reason =
        error.code() == ErrorCode::handshake_timeout ? CloseReason::timeout : CloseReason::error;
    finish(conn, reason, about_proxy(error, proxied.info.address));
    return false;
  }
  const Readiness r = carrier.wants();
  if (!conn.eof_ && !r.has_plaintext && conn.inbox_.empty() &&
      (r.read_closed || !error.ok() || proxied.socket_eof)) {
    conn.eof_ = true;
    conn.connection_.transport_eof();
    progress = true;
  }
  return progress;
}

bool Loop::carried_send(Conn& conn) {
  conn.want_write_ = false;
  Connection& carrier = *conn.proxied_->carrier;
  Connection& ours = conn.connection_;
  for (int round = 0; round < kCarrierRounds && !conn.dead_; ++round) {
    // Our records become the carrier's plaintext, as much as its queue takes.
    const ByteView records = ours.pending_output();
    if (!records.empty()) {
      const size_t n = carrier.write(records);
      if (n > 0) ours.consume_output(n);
    }
    const ByteView out = carrier.pending_output();
    if (out.empty()) return ours.pending_output().empty();  // nothing more the carrier takes
    const ssize_t n = ::send(conn.fd_, out.data(), out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      count_bytes(0, static_cast<uint64_t>(n));
      conn.last_activity_ms_ = now_ms();
      carrier.consume_output(static_cast<size_t>(n));
      continue;
    }
    const int err = errno;
    if (n < 0 && err == EINTR) continue;
    if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK)) {
      conn.want_write_ = true;
      return false;
    }
    finish(conn, err == ECONNRESET || err == EPIPE ? CloseReason::reset : CloseReason::error,
           dial_errno(Stage::transport, "send", conn.peer_address_, err));
  }
  if (!conn.dead_) mark_dirty(conn);  // more next turn
  return false;
}

// Our connection ended cleanly: the proxy's gets its close_notify too, best
// effort (the socket is closed right after).
void Loop::close_carrier(Conn& conn) {
  Connection& carrier = *conn.proxied_->carrier;
  if (!carrier.wants().write_closed) carrier.close();
  for (int round = 0; round < 4; ++round) {
    const ByteView out = carrier.pending_output();
    if (out.empty()) return;
    const ssize_t n = ::send(conn.fd_, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) return;
    count_bytes(0, static_cast<uint64_t>(n));
    carrier.consume_output(static_cast<size_t>(n));
  }
}

}  // namespace sanstls::epoll
