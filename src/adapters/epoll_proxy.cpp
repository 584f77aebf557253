// Loop::connect_through_proxy (include/sanstls/adapters/epoll.h): the
// CONNECT exchange runs on a plain watch (the sans-I/O tunnel::ConnectClient
// over the socket, a timerfd for its limit); once the proxy says 2xx the
// socket becomes an ordinary client Conn, the proxy's leftover bytes in its
// inbox. A failure is reported through a Conn too, so that every outcome
// reaches Handler::on_close as it does for connect().
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

Error dial_errno(Stage stage, const char* what, const std::string& target, int err) {
  const ErrorCode code = err == ECONNREFUSED                 ? ErrorCode::connection_refused
                         : err == ECONNRESET || err == EPIPE ? ErrorCode::connection_reset
                         : err == ETIMEDOUT                  ? ErrorCode::timed_out
                                                             : ErrorCode::transport_failed;
  char text[Error::kMessageCapacity];
  std::snprintf(text, sizeof text, "%s %s %s (proxy) (%s)", what, error_code_name(code),
                target.c_str(), std::strerror(err));
  return Error(code, stage, text).with_system_error(err);
}

}  // namespace

struct Loop::ProxyDial {
  int fd = -1;
  int timer_fd = -1;
  uint64_t watch = 0;
  uint64_t timer_watch = 0;
  bool connected = false;  // the TCP connect to the proxy completed
  bool ended = false;
  std::string proxy_address;  // "127.0.0.1:3128"
  std::optional<tunnel::ConnectClient> client;
  std::optional<Connection> connection;  // the origin's TLS client, made up front
  std::shared_ptr<Handler> handler;
  ConnOptions options;
};

Error Loop::connect_through_proxy(const ProxyRoute& proxy, const std::string& host, uint16_t port,
                                  const Config& config, const std::string& server_name,
                                  std::shared_ptr<Handler> handler, ConnOptions options) {
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

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* address = nullptr;
  const int rc =
      ::getaddrinfo(proxy.address.c_str(), std::to_string(proxy.port).c_str(), &hints, &address);
  if (rc != 0) {
    char text[Error::kMessageCapacity];
    std::snprintf(text, sizeof text,
                  "getaddrinfo ENOTFOUND %s (proxy) (the epoll adapter connects to numeric "
                  "addresses only: %s)",
                  proxy.address.c_str(), gai_strerror(rc));
    return Error(ErrorCode::name_not_found, Stage::resolve, text).with_system_error(rc);
  }
  const std::string name = server_name.empty() ? host : server_name;
  auto connection = Connection::client(config, name);
  if (!connection) return connection.error();
  auto dial = std::make_shared<ProxyDial>();
  dial->proxy_address =
      (address->ai_family == AF_INET6 ? "[" + proxy.address + "]" : proxy.address) + ":" +
      std::to_string(proxy.port);
  dial->client.emplace(std::move(client).value());
  dial->connection.emplace(std::move(connection).value());
  dial->handler = std::move(handler);
  dial->options = options;
  dial->fd = ::socket(address->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (dial->fd < 0) {
    const int err = errno;
    ::freeaddrinfo(address);
    return dial_errno(Stage::connect, "socket", dial->proxy_address, err);
  }
  const int one = 1;
  ::setsockopt(dial->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const int connected = ::connect(dial->fd, address->ai_addr, address->ai_addrlen);
  const int connect_errno = connected == 0 ? 0 : errno;
  ::freeaddrinfo(address);
  if (connected != 0 && connect_errno != EINPROGRESS) {
    ::close(dial->fd);
    return dial_errno(Stage::connect, "connect", dial->proxy_address, connect_errno);
  }
  auto watched =
      watch(dial->fd, EPOLLOUT, [this, dial](uint32_t events) { proxy_dial_ready(dial, events); });
  if (!watched) {
    ::close(dial->fd);
    return watched.error();
  }
  dial->watch = watched.value();
  if (options.handshake_limit_ms > 0) {
    dial->timer_fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    itimerspec at{};
    at.it_value.tv_sec = options.handshake_limit_ms / 1000;
    at.it_value.tv_nsec = static_cast<long>(options.handshake_limit_ms % 1000) * 1000000L;
    if (dial->timer_fd >= 0 && ::timerfd_settime(dial->timer_fd, 0, &at, nullptr) == 0) {
      auto timer = watch(dial->timer_fd, EPOLLIN, [this, dial](uint32_t) {
        char text[Error::kMessageCapacity];
        std::snprintf(text, sizeof text, "the CONNECT exchange with the proxy %s timed out",
                      dial->proxy_address.c_str());
        proxy_dial_end(dial, Error(ErrorCode::timed_out, Stage::proxy, text));
      });
      if (timer) dial->timer_watch = timer.value();
    }
  }
  return Error();
}

void Loop::proxy_dial_ready(const std::shared_ptr<ProxyDial>& dial, uint32_t events) {
  if (dial->ended) return;
  tunnel::ConnectClient& client = *dial->client;
  if (!dial->connected) {
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(dial->fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
      return proxy_dial_end(dial,
                            dial_errno(Stage::connect, "connect", dial->proxy_address, so_error));
    }
    if (!(events & EPOLLOUT)) return;
    dial->connected = true;
    count_connected();
  }
  while (client.state() == tunnel::ConnectState::sending) {
    const ByteView out = client.pending_output();
    const ssize_t n = ::send(dial->fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n > 0) {
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

void Loop::proxy_dial_end(const std::shared_ptr<ProxyDial>& dial, const Error& error) {
  if (dial->ended) return;
  dial->ended = true;
  unwatch(dial->watch);
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
  if (error) {
    return finish(conn,
                  error.code() == ErrorCode::timed_out ? CloseReason::timeout : CloseReason::error,
                  error);
  }
  const ByteView rest = dial->client->leftover();
  conn.inbox_.assign(rest.begin(), rest.end());  // the origin's first bytes go first
}

}  // namespace sanstls::epoll
