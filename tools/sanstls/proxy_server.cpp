#include "proxy_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sanstls/adapters/blocking.h"
#include "sanstls/platform.h"

namespace sanstls_cli {
namespace {

using sanstls::ByteView;
using sanstls::Error;
using sanstls::ErrorCode;
using sanstls::Stage;
using sanstls::epoll::Conn;
using sanstls::tunnel::ConnectRequestParser;
using sanstls::tunnel::RequestState;

constexpr size_t kChunk = 16384;
// Bytes one direction may hold before the other side stops being read.
constexpr size_t kHighWater = 256 * 1024;
constexpr size_t kLowWater = 64 * 1024;
constexpr int64_t kTickMs = 100;

std::string format_address(const sockaddr* address) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  return "?";
}

// An IP literal needs no resolver.
bool numeric_address(const std::string& host, uint16_t port, ResolvedAddress* out) {
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out->address);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out->length = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out->address);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out->length = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

// Appends what is left of `buffer` from `head` on; compacts when half consumed.
void append(std::vector<uint8_t>& buffer, size_t& head, ByteView bytes) {
  if (head > 0 && head * 2 >= buffer.size()) {
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(head));
    head = 0;
  }
  buffer.insert(buffer.end(), bytes.begin(), bytes.end());
}

// Sends from buffer[head..] on a non-blocking socket; false on a hard error.
bool send_from(int fd, std::vector<uint8_t>& buffer, size_t& head, uint64_t* counted, int* err) {
  while (head < buffer.size()) {
    const ssize_t n = ::send(fd, buffer.data() + head, buffer.size() - head, MSG_NOSIGNAL);
    if (n > 0) {
      head += static_cast<size_t>(n);
      if (counted != nullptr) *counted += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    *err = errno;
    return false;
  }
  buffer.clear();
  head = 0;
  return true;
}

const char* reason_for(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    default:
      return "Error";
  }
}

}  // namespace

// ---------------------------------------------------------------- Resolver

Resolver::Resolver(sanstls::epoll::Loop& loop) : loop_(loop), thread_([this] { run(); }) {}

Resolver::~Resolver() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Resolver::resolve(const std::string& host, uint16_t port, Done done) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(Job{host, port, std::move(done)});
  }
  wake_.notify_one();
}

void Resolver::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(job.port);
    const int rc = ::getaddrinfo(job.host.c_str(), service.c_str(), &hints, &found);
    std::vector<ResolvedAddress> addresses;
    std::string error;
    if (rc != 0) {
      error = std::string("getaddrinfo ENOTFOUND ") + job.host + " (" + gai_strerror(rc) + ")";
    } else {
      for (const addrinfo* ai = found; ai != nullptr && addresses.size() < 16; ai = ai->ai_next) {
        ResolvedAddress a;
        std::memcpy(&a.address, ai->ai_addr, ai->ai_addrlen);
        a.length = ai->ai_addrlen;
        addresses.push_back(a);
      }
      ::freeaddrinfo(found);
    }
    // The answer runs on the loop thread.
    loop_.post(
        [done = std::move(job.done), addresses = std::move(addresses),
         error = std::move(error)]() mutable { done(std::move(addresses), std::move(error)); });
  }
}

// ---------------------------------------------------------------- Tunnel

enum class Phase : uint8_t { request, resolving, connecting, open, done };

struct Proxy::Tunnel {
  uint64_t id = 0;
  std::string client_address;
  int64_t started_ms = 0;
  int64_t phase_started_ms = 0;
  int64_t last_activity_ms = 0;
  Phase phase = Phase::request;
  // The client: a TLS Conn (an HTTPS proxy) or a plain socket.
  bool tls = false;
  Conn* conn = nullptr;  // known from on_secure; null once closed
  bool secure = false;
  int client_fd = -1;
  uint64_t client_watch = 0;
  bool client_reading = true;
  bool client_done_sending = false;
  std::vector<uint8_t> to_client;  // waiting for the client (plain socket, or a full Conn queue)
  size_t to_client_head = 0;
  ConnectRequestParser parser;
  std::string target = "-";
  int status = 0;
  // Upstream.
  std::vector<ResolvedAddress> addresses;
  size_t next_address = 0;
  std::string connect_error;
  int upstream_fd = -1;
  uint64_t upstream_watch = 0;
  bool upstream_reading = true;
  bool upstream_ended = false;  // upstream's EOF: the client is closed once it has everything
  bool upstream_write_shut = false;
  std::vector<uint8_t> to_upstream;
  size_t to_upstream_head = 0;
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;

  size_t pending_to_client() const { return to_client.size() - to_client_head; }
  size_t pending_to_upstream() const { return to_upstream.size() - to_upstream_head; }
};

// The epoll adapter's callbacks for a TLS client, forwarded by tunnel id.
class Proxy::ClientHandler : public sanstls::epoll::Handler {
 public:
  ClientHandler(Proxy& proxy, uint64_t id) : proxy_(proxy), id_(id) {}
  void on_secure(Conn& conn) override {
    if (Tunnel* t = proxy_.find(id_)) {
      t->conn = &conn;
      t->secure = true;
      t->last_activity_ms = sanstls::epoll::Loop::now_ms();
    }
  }
  void on_data(Conn& conn, ByteView data) override {
    if (Tunnel* t = proxy_.find(id_)) {
      t->conn = &conn;
      proxy_.client_bytes(*t, data);
    }
  }
  void on_drain(Conn& conn) override {
    (void)conn;
    if (Tunnel* t = proxy_.find(id_)) proxy_.flush_to_client(*t);
  }
  void on_close(Conn& conn, sanstls::epoll::CloseReason reason, const Error& error) override {
    (void)conn;
    Tunnel* t = proxy_.find(id_);
    if (t == nullptr) return;
    t->conn = nullptr;
    std::string why = std::string("client ") + sanstls::epoll::close_reason_name(reason);
    if (error) why += std::string(" ") + error.name();
    proxy_.client_gone(*t, why);
  }

 private:
  Proxy& proxy_;
  uint64_t id_;
};

// ---------------------------------------------------------------- Proxy

Proxy::Proxy(sanstls::epoll::Loop& loop, const sanstls::Config* tls, ProxySettings settings)
    : loop_(loop), tls_(tls), settings_(std::move(settings)), resolver_(loop) {}

Proxy::~Proxy() {
  for (auto& [id, t] : tunnels_) {
    if (t->upstream_fd >= 0) {
      loop_.unwatch(t->upstream_watch);
      ::close(t->upstream_fd);
    }
    if (t->client_fd >= 0) {
      loop_.unwatch(t->client_watch);
      ::close(t->client_fd);
    }
  }
  if (listen_fd_ >= 0) {
    loop_.unwatch(listen_watch_);
    ::close(listen_fd_);
  }
  if (timer_fd_ >= 0) {
    loop_.unwatch(timer_watch_);
    ::close(timer_fd_);
  }
}

sanstls::Result<uint16_t> Proxy::listen(const std::string& host, uint16_t port) {
  auto listener = sanstls::blocking::Listener::bind(host, port, 1024);
  if (!listener) return listener.error();
  // Keep the descriptor: the blocking Listener would close it.
  listen_fd_ = ::dup(listener->fd());
  const uint16_t bound = listener->port();
  auto watched = loop_.watch(listen_fd_, EPOLLIN, [this](uint32_t) { accept_ready(); });
  if (!watched) return watched.error();
  listen_watch_ = watched.value();
  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  itimerspec every{};
  every.it_interval.tv_nsec = kTickMs * 1000000;
  every.it_value = every.it_interval;
  ::timerfd_settime(timer_fd_, 0, &every, nullptr);
  auto ticking = loop_.watch(timer_fd_, EPOLLIN, [this](uint32_t) {
    uint64_t expirations = 0;
    ssize_t got = ::read(timer_fd_, &expirations, sizeof expirations);
    (void)got;
    tick();
  });
  if (!ticking) return ticking.error();
  timer_watch_ = ticking.value();
  return bound;
}

Proxy::Tunnel* Proxy::find(uint64_t id) {
  auto it = tunnels_.find(id);
  if (it == tunnels_.end() || it->second->phase == Phase::done) return nullptr;
  return it->second.get();
}

bool Proxy::port_allowed(uint16_t port) const {
  for (const auto& [low, high] : settings_.allowed_ports) {
    if (port >= low && port <= high) return true;
  }
  return false;
}

std::string Proxy::stats_line() const {
  return "stats: accepted " + std::to_string(stats_.accepted) + ", established " +
         std::to_string(stats_.established) + ", refused " + std::to_string(stats_.refused) +
         ", bytes up " + std::to_string(stats_.bytes_up) + ", bytes down " +
         std::to_string(stats_.bytes_down);
}

void Proxy::accept_ready() {
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error: the next wake retries
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const std::string peer = format_address(reinterpret_cast<sockaddr*>(&address));
    ++stats_.accepted;
    if (tunnels_.size() >= settings_.max_connections) {
      // Over the limit: a plain client is told why; TLS cannot be, before a handshake.
      if (tls_ == nullptr) {
        const std::string reply = sanstls::tunnel::connect_reply(503, "Service Unavailable");
        ssize_t sent = ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
        (void)sent;
      }
      ::close(fd);
      ++stats_.refused;
      settings_.log("tunnel - from " + peer + " to -: status " + (tls_ ? "-" : "503") +
                    ", 0 bytes up, 0 down, 0 ms, ended: connection limit (" +
                    std::to_string(settings_.max_connections) + ")");
      continue;
    }
    if (tls_ != nullptr) {
      start_tls_client(fd, peer);
    } else {
      start_plain_client(fd, peer);
    }
  }
}

void Proxy::start_tls_client(int fd, const std::string& peer) {
  const uint64_t id = next_id_++;
  auto t = std::make_unique<Tunnel>();
  t->id = id;
  t->client_address = peer;
  t->tls = true;
  t->started_ms = t->phase_started_ms = t->last_activity_ms = sanstls::epoll::Loop::now_ms();
  tunnels_.emplace(id, std::move(t));
  sanstls::epoll::ConnOptions options;
  options.handshake_limit_ms = static_cast<uint32_t>(settings_.request_timeout_ms);
  options.high_water = kHighWater;
  options.low_water = kLowWater;
  options.timer_clock = &sanstls::platform::system_clock();
  const Error error = loop_.adopt(fd, *tls_, sanstls::Role::server, "",
                                  std::make_shared<ClientHandler>(*this, id), options);
  if (error) {
    if (Tunnel* tunnel = find(id)) finish(*tunnel, std::string("adopt failed: ") + error.name());
  }
}

void Proxy::start_plain_client(int fd, const std::string& peer) {
  const uint64_t id = next_id_++;
  auto t = std::make_unique<Tunnel>();
  t->id = id;
  t->client_address = peer;
  t->client_fd = fd;
  t->started_ms = t->phase_started_ms = t->last_activity_ms = sanstls::epoll::Loop::now_ms();
  Tunnel& tunnel = *t;
  tunnels_.emplace(id, std::move(t));
  auto watched = loop_.watch(fd, EPOLLIN | EPOLLRDHUP,
                             [this, id](uint32_t events) { plain_client_ready(id, events); });
  if (!watched) {
    ::close(fd);
    tunnel.client_fd = -1;
    finish(tunnel, std::string("watch failed: ") + watched.error().message());
    return;
  }
  tunnel.client_watch = watched.value();
}

// ---- the client's side

void Proxy::plain_client_ready(uint64_t id, uint32_t events) {
  Tunnel* t = find(id);
  if (t == nullptr) return;
  if (events & EPOLLOUT) {
    flush_to_client(*t);
    if ((t = find(id)) == nullptr) return;
  }
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) || !t->client_reading) return;
  uint8_t buffer[kChunk];
  for (int round = 0; round < 16 && t->client_reading && !t->client_done_sending; ++round) {
    const ssize_t n = ::recv(t->client_fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      client_bytes(*t, ByteView(buffer, static_cast<size_t>(n)));
      if ((t = find(id)) == nullptr) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n == 0) {
      client_finished_sending(*t);
      return;
    }
    client_gone(*t, std::string("client ") + std::strerror(errno));
    return;
  }
}

void Proxy::client_bytes(Tunnel& t, ByteView bytes) {
  t.last_activity_ms = sanstls::epoll::Loop::now_ms();
  if (t.phase == Phase::request) {
    const size_t taken = t.parser.feed(bytes);
    if (t.parser.state() == RequestState::failed) {
      const int status = t.parser.reject_status();
      return reject(t, status, reason_for(status), "bad request: " + t.parser.detail());
    }
    if (t.parser.state() == RequestState::reading) return;
    // Bytes after the head (a pipelined ClientHello) open the tunnel's upstream direction.
    append(t.to_upstream, t.to_upstream_head, bytes.skip(taken));
    return request_complete(t);
  }
  append(t.to_upstream, t.to_upstream_head, bytes);
  if (t.phase == Phase::open) flush_upstream(t);
  // Back-pressure: stop reading the client while upstream lags.
  if (find(t.id) != nullptr && t.pending_to_upstream() > kHighWater) set_client_reading(t, false);
}

void Proxy::client_finished_sending(Tunnel& t) {
  t.client_done_sending = true;
  if (t.phase == Phase::request) {
    t.parser.transport_eof();
    return finish(t, "client closed before a complete request");
  }
  if (t.phase != Phase::open) return finish(t, "client closed before the tunnel opened");
  if (t.client_fd >= 0) {
    // Stop watching for input (EOF stays readable); keep EPOLLOUT if owed.
    set_client_reading(t, false);
  }
  flush_upstream(t);  // then shuts upstream's write side
}

void Proxy::client_gone(Tunnel& t, const std::string& why) {
  if (t.phase == Phase::done) return;
  finish(t, t.upstream_ended ? "upstream closed, then " + why : why);
}

void Proxy::set_client_reading(Tunnel& t, bool on) {
  if (t.client_reading == on) return;
  t.client_reading = on;
  if (t.conn != nullptr) {
    if (on)
      t.conn->resume_reading();
    else
      t.conn->pause_reading();
    return;
  }
  if (t.client_fd >= 0) {
    uint32_t events = on && !t.client_done_sending ? EPOLLIN | EPOLLRDHUP : 0;
    if (t.pending_to_client() > 0) events |= EPOLLOUT;
    (void)loop_.rewatch(t.client_watch, events);
  }
}

void Proxy::send_to_client(Tunnel& t, ByteView bytes) {
  append(t.to_client, t.to_client_head, bytes);
  flush_to_client(t);
}

void Proxy::flush_to_client(Tunnel& t) {
  const uint64_t id = t.id;
  if (t.tls) {
    // The Conn queues up to its high water; the rest waits here for on_drain.
    while (t.conn != nullptr && t.pending_to_client() > 0) {
      const size_t n = std::min(kChunk, t.pending_to_client());
      if (!t.conn->write(ByteView(t.to_client.data() + t.to_client_head, n))) break;
      t.to_client_head += n;
      t.bytes_down += t.phase == Phase::open ? n : 0;
    }
    if (t.pending_to_client() == 0) {
      t.to_client.clear();
      t.to_client_head = 0;
    }
  } else if (t.client_fd >= 0) {
    int err = 0;
    uint64_t sent = 0;
    if (!send_from(t.client_fd, t.to_client, t.to_client_head, &sent, &err)) {
      return client_gone(t, std::string("client send: ") + std::strerror(err));
    }
    if (t.phase == Phase::open) t.bytes_down += sent;
    uint32_t events = t.client_reading && !t.client_done_sending ? EPOLLIN | EPOLLRDHUP : 0;
    if (t.pending_to_client() > 0) events |= EPOLLOUT;
    (void)loop_.rewatch(t.client_watch, events);
  }
  if (find(id) == nullptr) return;
  if (t.upstream_ended && t.pending_to_client() == 0) {
    // Everything upstream sent has been handed over: pass its end on.
    if (!t.tls) return finish(t, "upstream closed");
    if (t.conn != nullptr) t.conn->close();  // queued bytes, then close_notify; on_close ends it
    return;
  }
  // Upstream is read again once the client has caught up.
  if (t.phase == Phase::open && !t.upstream_reading && !t.upstream_ended &&
      t.pending_to_client() <= kLowWater) {
    t.upstream_reading = true;
    update_upstream_interest(t);
  }
}

// ---- the request and the way upstream

void Proxy::reject(Tunnel& t, int status, const char* reason, const std::string& why) {
  t.status = status;
  ++stats_.refused;
  std::vector<std::string> headers;
  if (status == 407) headers.push_back("Proxy-Authenticate: Basic realm=\"sanstls proxy\"");
  const std::string reply = sanstls::tunnel::connect_reply(status, reason, headers);
  if (t.tls) {
    if (t.conn != nullptr) {
      t.conn->write(ByteView(reply));
      t.conn->close();  // flushes the reply, then close_notify
      t.conn = nullptr;
    }
  } else if (t.client_fd >= 0) {
    ssize_t sent = ::send(t.client_fd, reply.data(), reply.size(), MSG_NOSIGNAL);
    (void)sent;
    // Read what the client already sent, so that closing does not reset
    // the connection before it has read the reply.
    ::shutdown(t.client_fd, SHUT_WR);
    uint8_t sink[4096];
    while (::recv(t.client_fd, sink, sizeof sink, MSG_DONTWAIT) > 0) {
    }
  }
  finish(t, why);
}

void Proxy::request_complete(Tunnel& t) {
  t.target = t.parser.authority();
  if (settings_.auth) {
    const auto& given = t.parser.credentials();
    if (!given || given->user != settings_.auth->user ||
        given->password != settings_.auth->password) {
      return reject(t, 407, "Proxy Authentication Required",
                    given ? "wrong credentials" : "no credentials");
    }
  }
  // Refused destinations are never resolved or connected to.
  if (!port_allowed(t.parser.port())) {
    return reject(t, 403, "Forbidden", "port " + std::to_string(t.parser.port()) + " not allowed");
  }
  set_client_reading(t, false);  // until the tunnel opens (bounded buffering)
  t.phase_started_ms = sanstls::epoll::Loop::now_ms();
  ResolvedAddress literal;
  if (numeric_address(t.parser.host(), t.parser.port(), &literal)) {
    t.phase = Phase::connecting;
    t.addresses.push_back(literal);
    return connect_next(t);
  }
  t.phase = Phase::resolving;
  const uint64_t id = t.id;
  resolver_.resolve(t.parser.host(), t.parser.port(),
                    [this, id](std::vector<ResolvedAddress> addresses, std::string error) {
                      Tunnel* tunnel = find(id);
                      if (tunnel == nullptr || tunnel->phase != Phase::resolving) return;
                      if (addresses.empty()) {
                        return reject(*tunnel, 502, "Bad Gateway", error);
                      }
                      tunnel->phase = Phase::connecting;
                      tunnel->addresses = std::move(addresses);
                      connect_next(*tunnel);
                    });
}

void Proxy::connect_next(Tunnel& t) {
  while (t.next_address < t.addresses.size()) {
    const ResolvedAddress& a = t.addresses[t.next_address++];
    const int fd = ::socket(a.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      t.connect_error = std::strerror(errno);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&a.address), a.length) != 0 &&
        errno != EINPROGRESS) {
      t.connect_error = std::string("connect ") +
                        format_address(reinterpret_cast<const sockaddr*>(&a.address)) + ": " +
                        std::strerror(errno);
      ::close(fd);
      continue;
    }
    const uint64_t id = t.id;
    auto watched =
        loop_.watch(fd, EPOLLOUT, [this, id](uint32_t events) { upstream_ready(id, events); });
    if (!watched) {
      ::close(fd);
      t.connect_error = watched.error().message();
      continue;
    }
    t.upstream_fd = fd;
    t.upstream_watch = watched.value();
    return;
  }
  reject(t, 502, "Bad Gateway", t.connect_error.empty() ? "no address" : t.connect_error);
}

void Proxy::upstream_ready(uint64_t id, uint32_t events) {
  Tunnel* t = find(id);
  if (t == nullptr) return;
  if (t->phase == Phase::connecting) {
    int so_error = 0;
    socklen_t length = sizeof so_error;
    ::getsockopt(t->upstream_fd, SOL_SOCKET, SO_ERROR, &so_error, &length);
    if (so_error != 0) {
      const ResolvedAddress& a = t->addresses[t->next_address - 1];
      t->connect_error = std::string("connect ") +
                         format_address(reinterpret_cast<const sockaddr*>(&a.address)) + ": " +
                         std::strerror(so_error);
      loop_.unwatch(t->upstream_watch);
      ::close(t->upstream_fd);
      t->upstream_fd = -1;
      return connect_next(*t);
    }
    return upstream_connected(*t);
  }
  if (events & EPOLLOUT) {
    flush_upstream(*t);
    if ((t = find(id)) == nullptr) return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) read_upstream(*t);
}

void Proxy::upstream_connected(Tunnel& t) {
  t.status = 200;
  ++stats_.established;
  t.last_activity_ms = sanstls::epoll::Loop::now_ms();
  // Sent before the phase is open: the reply is not counted as tunnel bytes.
  send_to_client(t, ByteView(sanstls::tunnel::connect_reply(200, "Connection established")));
  if (find(t.id) == nullptr) return;
  t.phase = Phase::open;
  set_client_reading(t, true);
  flush_upstream(t);
  if (find(t.id) != nullptr) update_upstream_interest(t);
}

void Proxy::update_upstream_interest(Tunnel& t) {
  if (t.upstream_fd < 0) return;
  uint32_t events = t.upstream_reading ? EPOLLIN | EPOLLRDHUP : 0;
  if (t.pending_to_upstream() > 0) events |= EPOLLOUT;
  (void)loop_.rewatch(t.upstream_watch, events);
}

void Proxy::flush_upstream(Tunnel& t) {
  if (t.phase != Phase::open || t.upstream_fd < 0) return;
  int err = 0;
  if (!send_from(t.upstream_fd, t.to_upstream, t.to_upstream_head, &t.bytes_up, &err)) {
    return finish(t, std::string("upstream send: ") + std::strerror(err));
  }
  if (t.pending_to_upstream() <= kLowWater && !t.client_done_sending) set_client_reading(t, true);
  // The client finished sending and all of it went upstream: pass the half-close on.
  if (t.client_done_sending && t.pending_to_upstream() == 0 && !t.upstream_write_shut) {
    ::shutdown(t.upstream_fd, SHUT_WR);
    t.upstream_write_shut = true;
  }
  update_upstream_interest(t);
}

void Proxy::read_upstream(Tunnel& t) {
  const uint64_t id = t.id;
  uint8_t buffer[kChunk];
  for (int round = 0; round < 16; ++round) {
    Tunnel* live = find(id);
    if (live == nullptr || !live->upstream_reading) return;
    const ssize_t n = ::recv(t.upstream_fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      t.last_activity_ms = sanstls::epoll::Loop::now_ms();
      send_to_client(t, ByteView(buffer, static_cast<size_t>(n)));
      if (find(id) == nullptr) return;
      if (t.pending_to_client() > kHighWater) {
        t.upstream_reading = false;  // until the client catches up
        update_upstream_interest(t);
        return;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0) return finish(t, std::string("upstream ") + std::strerror(errno));
    // Upstream's end: the client gets what is left, then the end too
    // (flush_to_client passes it on once nothing waits here).
    t.upstream_reading = false;
    t.upstream_ended = true;
    update_upstream_interest(t);
    return flush_to_client(t);
  }
}

// ---- timers and the end

void Proxy::tick() {
  const int64_t now = sanstls::epoll::Loop::now_ms();
  std::vector<uint64_t> ids;
  ids.reserve(tunnels_.size());
  for (const auto& [id, t] : tunnels_) ids.push_back(id);
  for (const uint64_t id : ids) {
    Tunnel* t = find(id);
    if (t == nullptr) continue;
    if (t->phase == Phase::request && now - t->started_ms >= settings_.request_timeout_ms) {
      // A TLS client still in its handshake is the Conn's handshake limit's.
      if (!t->tls || t->conn != nullptr) {
        reject(*t, 408, "Request Timeout", "no complete request in time");
      }
      continue;
    }
    if ((t->phase == Phase::resolving || t->phase == Phase::connecting) &&
        now - t->phase_started_ms >= settings_.connect_timeout_ms) {
      reject(*t, 504, "Gateway Timeout",
             std::string(t->phase == Phase::resolving ? "resolving" : "connecting to") + " " +
                 t->target + " took too long");
      continue;
    }
    if (t->phase == Phase::open && settings_.idle_timeout_ms > 0 &&
        now - t->last_activity_ms >= settings_.idle_timeout_ms) {
      finish(*t, "idle timeout");
    }
  }
}

void Proxy::finish(Tunnel& t, const std::string& how) {
  if (t.phase == Phase::done) return;
  t.phase = Phase::done;
  if (t.upstream_fd >= 0) {
    loop_.unwatch(t.upstream_watch);
    ::close(t.upstream_fd);
    t.upstream_fd = -1;
  }
  if (t.client_fd >= 0) {
    loop_.unwatch(t.client_watch);
    ::close(t.client_fd);
    t.client_fd = -1;
  }
  if (t.conn != nullptr) {
    t.conn->close();  // graceful: what is queued, then close_notify
    t.conn = nullptr;
  }
  stats_.bytes_up += t.bytes_up;
  stats_.bytes_down += t.bytes_down;
  ++stats_.ended;
  const int64_t ms = sanstls::epoll::Loop::now_ms() - t.started_ms;
  settings_.log("tunnel " + std::to_string(t.id) + " from " + t.client_address + " to " + t.target +
                ": status " + (t.status ? std::to_string(t.status) : std::string("-")) + ", " +
                std::to_string(t.bytes_up) + " bytes up, " + std::to_string(t.bytes_down) +
                " down, " + std::to_string(ms) + " ms, ended: " + how);
  // Freed later: callers up the stack may still hold a reference.
  const uint64_t id = t.id;
  loop_.post([this, id] { tunnels_.erase(id); });
  if (settings_.exit_after > 0 && stats_.ended >= settings_.exit_after) loop_.stop();
}

}  // namespace sanstls_cli
