// The epoll adapter: level-triggered epoll, one min-heap of deadlines, and a
// pump per connection that runs the engine's loop ("what does it want?")
// without blocking. Only the core's public API is used.
#include "sanstls/adapters/epoll.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <utility>

namespace sanstls::epoll {
namespace {

constexpr size_t kReceiveChunk = 16384 + 256 + 5;
constexpr uint64_t kEventTag = 0;
constexpr uint64_t kListenerTag = uint64_t{1} << 63;
constexpr int kMaxEvents = 256;
constexpr int kAcceptsPerWake = 64;
constexpr int kPumpRounds = 64;

ErrorCode code_for_errno(int err) {
  switch (err) {
    case ECONNREFUSED: return ErrorCode::connection_refused;
    case ETIMEDOUT: return ErrorCode::timed_out;
    case ECONNRESET:
    case EPIPE: return ErrorCode::connection_reset;
    case ENETUNREACH:
    case EHOSTUNREACH: return ErrorCode::network_unreachable;
    default: return ErrorCode::transport_failed;
  }
}

Error errno_error(Stage stage, const char* what, const std::string& target, int err) {
  char text[Error::kMessageCapacity];
  std::snprintf(text, sizeof text, "%s %s %s (%s)", what, error_code_name(code_for_errno(err)),
                target.c_str(), std::strerror(err));
  return Error(code_for_errno(err), stage, text).with_system_error(err);
}

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
  return {};
}

std::string peer_of(int fd) {
  sockaddr_storage address{};
  socklen_t len = sizeof address;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &len) != 0) return {};
  return format_address(reinterpret_cast<sockaddr*>(&address));
}

bool closed_by_reset(ErrorCode code) { return code == ErrorCode::connection_reset; }

}  // namespace

const char* close_reason_name(CloseReason reason) noexcept {
  switch (reason) {
    case CloseReason::clean: return "clean";
    case CloseReason::truncated: return "truncated";
    case CloseReason::reset: return "reset";
    case CloseReason::timeout: return "timeout";
    case CloseReason::error: return "error";
  }
  return "unknown";
}

// ---------------------------------------------------------------- Conn

Conn::Conn(Loop* loop, uint64_t id, int fd, Connection connection,
           std::shared_ptr<Handler> handler, const ConnOptions& options, int64_t now_ms)
    : loop_(loop),
      id_(id),
      fd_(fd),
      connection_(std::move(connection)),
      handler_(std::move(handler)),
      options_(options),
      peer_address_(peer_of(fd)),
      started_ms_(now_ms),
      last_activity_ms_(now_ms) {}

bool Conn::write(ByteView data) {
  if (dead_ || closing_) return false;
  if (data.size() > options_.high_water || queued() + data.size() > options_.high_water) {
    drain_owed_ = true;
    return false;
  }
  if (out_head_ > 0 && out_head_ == out_.size()) {
    out_.clear();
    out_head_ = 0;
  }
  out_.insert(out_.end(), data.begin(), data.end());
  loop_->mark_dirty(*this);
  return true;
}

void Conn::pause_reading() { paused_ = true; }

void Conn::resume_reading() {
  if (!paused_) return;
  paused_ = false;
  loop_->mark_dirty(*this);
}

void Conn::close() {
  if (dead_ || closing_) return;
  closing_ = true;  // close_notify goes once the queued writes are in the engine
  loop_->mark_dirty(*this);
}

void Conn::abort() {
  if (dead_) return;
  const linger hard{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  loop_->finish(*this, CloseReason::reset,
                Error(ErrorCode::connection_reset, Stage::transport, "aborted by the application"));
}

Error Conn::provide_config(const Config& config) {
  const Error error = connection_.provide_config(config);
  loop_->mark_dirty(*this);
  return error;
}

void Conn::reject_server_name() {
  connection_.reject_server_name();
  loop_->mark_dirty(*this);
}

// ---------------------------------------------------------------- Loop

Loop::Loop(int epoll_fd, int event_fd) noexcept
    : epoll_fd_(epoll_fd), event_fd_(event_fd), buffer_(kReceiveChunk) {}

Result<std::unique_ptr<Loop>> Loop::create() {
  const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return errno_error(Stage::internal, "epoll_create1", "loop", errno);
  const int event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd < 0) {
    const int err = errno;
    ::close(epoll_fd);
    return errno_error(Stage::internal, "eventfd", "loop", err);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kEventTag;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, event_fd, &ev) != 0) {
    const int err = errno;
    ::close(event_fd);
    ::close(epoll_fd);
    return errno_error(Stage::internal, "epoll_ctl", "loop", err);
  }
  return Result<std::unique_ptr<Loop>>(std::unique_ptr<Loop>(new Loop(epoll_fd, event_fd)));
}

Loop::~Loop() {
  for (auto& entry : conns_) ::close(entry.second->fd_);
  for (auto& listener : listeners_) ::close(listener->fd);
  ::close(event_fd_);
  ::close(epoll_fd_);
}

int64_t Loop::now_ms() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void Loop::stop() noexcept {
  stop_requested_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  ssize_t ignored = ::write(event_fd_, &one, sizeof one);
  (void)ignored;
}

void Loop::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    posted_.push_back(std::move(task));
  }
  const uint64_t one = 1;
  ssize_t ignored = ::write(event_fd_, &one, sizeof one);
  (void)ignored;
}

void Loop::run_posted() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) task();
}

Result<uint16_t> Loop::listen(const std::string& host, uint16_t port, const Config& config,
                              HandlerFactory factory, ListenOptions options) {
  if (!factory) {
    return Error(ErrorCode::invalid_argument, Stage::config, "listen: no handler factory");
  }
  if (config.role() != Role::server) {
    return Error(ErrorCode::invalid_argument, Stage::config,
                 "listen: the Config is not a server's");
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* addresses = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints,
                               &addresses);
  if (rc != 0) {
    char text[Error::kMessageCapacity];
    std::snprintf(text, sizeof text, "getaddrinfo ENOTFOUND %s (%s)", host.c_str(),
                  gai_strerror(rc));
    return Error(ErrorCode::name_not_found, Stage::resolve, text).with_system_error(rc);
  }
  int last_error = EADDRNOTAVAIL;
  for (const addrinfo* ai = addresses; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_error = errno;
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, options.backlog) != 0) {
      last_error = errno;
      ::close(fd);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    const uint16_t actual = ntohs(bound.ss_family == AF_INET6
                                      ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                      : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    ::freeaddrinfo(addresses);
    auto listener = std::make_unique<Listener>();
    listener->fd = fd;
    listener->config = &config;
    listener->factory = std::move(factory);
    listener->options = std::move(options);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenerTag | listeners_.size();
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      const int err = errno;
      ::close(fd);
      return errno_error(Stage::connect, "epoll_ctl", "listener", err);
    }
    listeners_.push_back(std::move(listener));
    return actual;
  }
  ::freeaddrinfo(addresses);
  return errno_error(Stage::connect, "listen", host + ":" + service, last_error);
}

Error Loop::adopt(int fd, const Config& config, Role role, const std::string& server_name,
                  std::shared_ptr<Handler> handler, ConnOptions options) {
  if (!handler) {
    ::close(fd);
    return Error(ErrorCode::invalid_argument, Stage::config, "adopt: no handler");
  }
  Result<Connection> connection = role == Role::server ? Connection::server(config)
                                  : server_name.empty()
                                      ? Connection::client_without_server_name(config)
                                      : Connection::client(config, server_name);
  if (!connection) {
    ::close(fd);
    return connection.error();
  }
  const int flags = ::fcntl(fd, F_GETFL, 0);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  Error error = add_conn(fd, std::move(connection).value(), std::move(handler), options);
  if (!error) ++counters_.adopted;
  return error;
}

Error Loop::connect(const std::string& address, uint16_t port, const Config& config,
                    const std::string& server_name, std::shared_ptr<Handler> handler,
                    ConnOptions options) {
  if (!handler) return Error(ErrorCode::invalid_argument, Stage::config, "connect: no handler");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* addresses = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(address.c_str(), service.c_str(), &hints, &addresses);
  if (rc != 0) {
    char text[Error::kMessageCapacity];
    std::snprintf(text, sizeof text,
                  "getaddrinfo ENOTFOUND %s (the epoll adapter connects to numeric addresses "
                  "only: %s)",
                  address.c_str(), gai_strerror(rc));
    return Error(ErrorCode::name_not_found, Stage::resolve, text).with_system_error(rc);
  }
  const std::string target = format_address(addresses->ai_addr);
  const int fd = ::socket(addresses->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const int err = errno;
    ::freeaddrinfo(addresses);
    return errno_error(Stage::connect, "socket", target, err);
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const int connected = ::connect(fd, addresses->ai_addr, addresses->ai_addrlen);
  const int connect_errno = connected == 0 ? 0 : errno;
  ::freeaddrinfo(addresses);
  Result<Connection> connection = server_name.empty()
                                      ? Connection::client_without_server_name(config)
                                      : Connection::client(config, server_name);
  if (!connection) {
    ::close(fd);
    return connection.error();
  }
  if (connected != 0 && connect_errno != EINPROGRESS) {
    ::close(fd);
    return errno_error(Stage::connect, "connect", target, connect_errno);
  }
  const uint64_t id = next_id_;
  Error error = add_conn(fd, std::move(connection).value(), std::move(handler), options,
                         connected != 0);
  if (error) return error;
  Conn& conn = *conns_.at(id);
  conn.peer_address_ = target;
  if (connected == 0) ++counters_.connected;
  return Error();
}

Error Loop::add_conn(int fd, Connection connection, std::shared_ptr<Handler> handler,
                     const ConnOptions& options, bool connecting) {
  const uint64_t id = next_id_++;
  std::unique_ptr<Conn> conn(
      new Conn(this, id, fd, std::move(connection), std::move(handler), options, now_ms()));
  conn->connecting_ = connecting;
  epoll_event ev{};
  ev.events = 0;
  ev.data.u64 = id;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    const int err = errno;
    ::close(fd);
    return errno_error(Stage::connect, "epoll_ctl", "connection", err);
  }
  Conn& ref = *conn;
  conns_.emplace(id, std::move(conn));
  ++counters_.open;
  ++counters_.handshakes_in_progress;
  mark_dirty(ref);
  return Error();
}

void Loop::accept_ready(Listener& listener) {
  for (int i = 0; i < kAcceptsPerWake; ++i) {
    const int fd = ::accept4(listener.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error: level-triggered, retried
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Result<Connection> connection = Connection::server(*listener.config);
    std::shared_ptr<Handler> handler = connection ? listener.factory() : nullptr;
    if (!connection || !handler) {
      ::close(fd);
      continue;
    }
    ++counters_.accepted;
    (void)add_conn(fd, std::move(connection).value(), std::move(handler), listener.options);
  }
}

void Loop::mark_dirty(Conn& conn) {
  if (conn.dirty_ || conn.dead_) return;
  conn.dirty_ = true;
  dirty_.push_back(conn.id_);
}

void Loop::run_dirty() {
  // Pumping may dirty more connections (a handler writing to another one).
  for (int round = 0; round < 16 && !dirty_.empty(); ++round) {
    std::vector<uint64_t> ids;
    ids.swap(dirty_);
    for (uint64_t id : ids) {
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      it->second->dirty_ = false;
      pump(*it->second);
    }
  }
}

void Loop::receive(Conn& conn) {
  if (!conn.inbox_.empty()) return;  // the engine has not taken the last receive yet
  const ssize_t n = ::recv(conn.fd_, buffer_.data(), buffer_.size(), 0);
  if (n > 0) {
    counters_.bytes_in += static_cast<uint64_t>(n);
    conn.last_activity_ms_ = now_ms();
    conn.inbox_.assign(buffer_.data(), buffer_.data() + n);
    return;
  }
  if (n == 0) {
    conn.eof_ = true;
    conn.connection_.transport_eof();
    return;
  }
  const int err = errno;
  if (err == EINTR || err == EAGAIN || err == EWOULDBLOCK) return;
  if (err == ECONNRESET && conn.connection_.wants().read_closed &&
      conn.connection_.error().ok()) {
    conn.eof_ = true;  // after the peer's close_notify a reset is still a clean end
    conn.connection_.transport_eof();
    return;
  }
  finish(conn, closed_by_reset(code_for_errno(err)) ? CloseReason::reset : CloseReason::error,
         errno_error(Stage::transport, "recv", conn.peer_address_, err));
}

bool Loop::send_pending(Conn& conn) {
  conn.want_write_ = false;
  while (!conn.dead_) {
    const ByteView out = conn.connection_.pending_output();
    if (out.empty()) return true;
    const ssize_t n = ::send(conn.fd_, out.data(), out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      counters_.bytes_out += static_cast<uint64_t>(n);
      conn.last_activity_ms_ = now_ms();
      conn.connection_.consume_output(static_cast<size_t>(n));
      continue;
    }
    const int err = errno;
    if (n < 0 && err == EINTR) continue;
    if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK)) {
      conn.want_write_ = true;
      return false;
    }
    finish(conn, closed_by_reset(code_for_errno(err)) ? CloseReason::reset : CloseReason::error,
           errno_error(Stage::transport, "send", conn.peer_address_, err));
  }
  return false;
}

void Loop::finish_engine_error(Conn& conn) {
  send_pending(conn);  // best effort: the fatal alert
  if (conn.dead_) return;
  const Error& error = conn.connection_.error();
  CloseReason reason = CloseReason::error;
  if (error.code() == ErrorCode::unexpected_eof) reason = CloseReason::truncated;
  if (error.code() == ErrorCode::handshake_timeout) reason = CloseReason::timeout;
  if (error.code() == ErrorCode::connection_reset) reason = CloseReason::reset;
  finish(conn, reason, error);
}

void Loop::pump(Conn& conn) {
  if (conn.connecting_) {  // nothing to do until the TCP connect completes
    update_interest(conn);
    schedule(conn);
    return;
  }
  Connection& c = conn.connection_;
  for (int round = 0; round < kPumpRounds && !conn.dead_; ++round) {
    bool progress = false;
    while (auto event = c.next_event()) {
      if (event->kind == EventKind::peer_closed && !conn.closing_) {
        conn.closing_ = true;  // no half-open connections: answer with ours
      }
    }
    if (!c.error().ok()) return finish_engine_error(conn);
    Readiness r = c.wants();
    if (r.awaiting_config && !conn.sni_asked_) {
      conn.sni_asked_ = true;
      if (!conn.options_.on_server_name_requested) {
        return finish(conn, CloseReason::error,
                      Error(ErrorCode::invalid_argument, Stage::handshake,
                            "the SNI selector deferred its answer and no "
                            "on_server_name_requested option answers it"));
      }
      conn.options_.on_server_name_requested(conn);
      if (conn.dead_) return;
      r = c.wants();
    }
    if (r.handshake_complete && !conn.secure_) {
      conn.secure_ = true;
      --counters_.handshakes_in_progress;
      ++counters_.secure;
      conn.handler_->on_secure(conn);
      if (conn.dead_) return;
      progress = true;
    }
    if (!conn.inbox_.empty()) {
      const size_t taken = c.feed(ByteView(conn.inbox_));
      if (taken > 0) {
        conn.inbox_.erase(conn.inbox_.begin(),
                          conn.inbox_.begin() + static_cast<std::ptrdiff_t>(taken));
        if (conn.inbox_.empty()) std::vector<uint8_t>().swap(conn.inbox_);
        progress = true;
      }
    }
    if (!conn.paused_ && c.wants().has_plaintext) {
      const size_t n = c.read(MutableByteView(buffer_.data(), buffer_.size()));
      if (n > 0) {
        conn.handler_->on_data(conn, ByteView(buffer_.data(), n));
        if (conn.dead_) return;
        progress = true;
      }
    }
    if (conn.queued() > 0 && c.wants().handshake_complete && !c.wants().write_closed) {
      const size_t n = c.write(ByteView(conn.out_.data() + conn.out_head_, conn.queued()));
      if (n > 0) {
        conn.out_head_ += n;
        if (conn.queued() == 0) {
          conn.out_.clear();
          conn.out_head_ = 0;
          if (conn.out_.capacity() > conn.options_.low_water) {
            std::vector<uint8_t>().swap(conn.out_);
          }
        }
        progress = true;
      }
    }
    if (conn.closing_ && conn.queued() == 0 && !c.wants().write_closed) {
      c.close();
      progress = true;
    }
    if (c.wants().has_output) {
      const size_t before = c.pending_output().size();
      send_pending(conn);
      if (conn.dead_) return;
      if (c.pending_output().size() != before) progress = true;
    }
    if (!c.error().ok()) return finish_engine_error(conn);
    r = c.wants();
    if (r.closed && !r.has_output) return finish(conn, CloseReason::clean, Error());
    if (conn.eof_ && !r.has_plaintext && conn.inbox_.empty()) {
      // The transport ended without an engine error: a clean end (after
      // the peer's close_notify, or our close without waiting).
      if (!r.has_output) return finish(conn, CloseReason::clean, Error());
    }
    if (conn.drain_owed_ && conn.queued() <= conn.options_.low_water) {
      conn.drain_owed_ = false;
      conn.handler_->on_drain(conn);
      if (conn.dead_) return;
      progress = true;
    }
    if (!progress) break;
    if (round == kPumpRounds - 1) mark_dirty(conn);  // fairness: continue next turn
  }
  update_interest(conn);
  schedule(conn);
}

void Loop::update_interest(Conn& conn) {
  const Readiness r = conn.connection_.wants();
  uint32_t events = 0;
  if (conn.connecting_) events |= EPOLLOUT;
  if (!conn.connecting_ && !conn.paused_ && !conn.eof_ && conn.inbox_.empty() && r.wants_input) {
    events |= EPOLLIN;
  }
  if (conn.want_write_) events |= EPOLLOUT;
  if (events == conn.interest_) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = conn.id_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, conn.fd_, &ev);
  conn.interest_ = events;
}

int64_t Loop::deadline_of(const Conn& conn) const {
  int64_t at = -1;
  auto take = [&at](int64_t candidate) {
    if (at < 0 || candidate < at) at = candidate;
  };
  if (!conn.secure_ && conn.options_.handshake_limit_ms > 0) {
    take(conn.started_ms_ + conn.options_.handshake_limit_ms);
  }
  if (conn.options_.idle_timeout_ms > 0) {
    take(conn.last_activity_ms_ + conn.options_.idle_timeout_ms);
  }
  if (conn.options_.timer_clock != nullptr) {
    if (const auto next = conn.connection_.next_deadline_ms()) {
      const int64_t left = *next - conn.options_.timer_clock->now_ms();
      take(now_ms() + (left > 0 ? left : 0));
    }
  }
  return at;
}

void Loop::schedule(Conn& conn) {
  const int64_t at = deadline_of(conn);
  // Deadlines that move later (idle timers on every byte) keep their heap
  // entry; it is checked and pushed again when it comes up.
  if (at < 0 || (conn.timer_at_ >= 0 && conn.timer_at_ <= at)) return;
  conn.timer_at_ = at;
  timers_.push_back(Timer{at, conn.id_, ++conn.timer_generation_});
  std::push_heap(timers_.begin(), timers_.end(), std::greater<Timer>());
}

void Loop::run_timers() {
  const int64_t now = now_ms();
  while (!timers_.empty() && timers_.front().at <= now) {
    std::pop_heap(timers_.begin(), timers_.end(), std::greater<Timer>());
    const Timer timer = timers_.back();
    timers_.pop_back();
    auto it = conns_.find(timer.id);
    if (it == conns_.end() || it->second->timer_generation_ != timer.generation) continue;
    Conn& conn = *it->second;
    conn.timer_at_ = -1;
    fire_timer(conn, now);
    if (!conn.dead_) schedule(conn);
  }
}

void Loop::fire_timer(Conn& conn, int64_t now) {
  char text[Error::kMessageCapacity];
  if (!conn.secure_ && conn.options_.handshake_limit_ms > 0 &&
      now >= conn.started_ms_ + conn.options_.handshake_limit_ms) {
    std::snprintf(text, sizeof text, "TLS handshake not complete %u ms after accept (%s)",
                  conn.options_.handshake_limit_ms, conn.peer_address_.c_str());
    return finish(conn, CloseReason::timeout, Error(ErrorCode::timed_out, Stage::handshake, text));
  }
  if (conn.options_.idle_timeout_ms > 0 &&
      now >= conn.last_activity_ms_ + conn.options_.idle_timeout_ms) {
    std::snprintf(text, sizeof text, "idle for %u ms (%s)", conn.options_.idle_timeout_ms,
                  conn.peer_address_.c_str());
    return finish(conn, CloseReason::timeout,
                  Error(ErrorCode::timed_out, conn.secure_ ? Stage::transport : Stage::handshake,
                        text));
  }
  if (conn.options_.timer_clock != nullptr) {
    const auto next = conn.connection_.next_deadline_ms();
    const int64_t engine_now = conn.options_.timer_clock->now_ms();
    if (next && engine_now >= *next) {
      conn.connection_.on_timer(engine_now);
      pump(conn);
    }
  }
}

void Loop::finish(Conn& conn, CloseReason reason, const Error& error) {
  if (conn.dead_) return;
  conn.dead_ = true;
  if (!conn.secure_) --counters_.handshakes_in_progress;
  --counters_.open;
  switch (reason) {
    case CloseReason::clean: ++counters_.closed_clean; break;
    case CloseReason::truncated: ++counters_.closed_truncated; break;
    case CloseReason::reset: ++counters_.closed_reset; break;
    case CloseReason::timeout: ++counters_.closed_timed_out; break;
    case CloseReason::error: ++counters_.closed_error; break;
  }
  if (!error.ok()) ++counters_.errors_by_name[error.name()];
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn.fd_, nullptr);
  if (reason == CloseReason::clean) ::shutdown(conn.fd_, SHUT_WR);
  conn.handler_->on_close(conn, reason, error);
  ::close(conn.fd_);
  auto it = conns_.find(conn.id_);
  if (it != conns_.end()) {
    graveyard_.push_back(std::move(it->second));
    conns_.erase(it);
  }
}

void Loop::conn_ready(Conn& conn, uint32_t events) {
  if (conn.connecting_) {
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(conn.fd_, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
      return finish(conn, CloseReason::error,
                    errno_error(Stage::connect, "connect", conn.peer_address_, so_error));
    }
    if (!(events & EPOLLOUT)) return;
    conn.connecting_ = false;
    ++counters_.connected;
    return pump(conn);
  }
  if (events & EPOLLERR) {
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(conn.fd_, SOL_SOCKET, SO_ERROR, &so_error, &len);
    // Reading SO_ERROR clears it (recv would then see a plain end of
    // stream): a pending error ends the connection here.
    if (so_error != 0 && conn.connection_.wants().read_closed && conn.connection_.error().ok()) {
      return finish(conn, CloseReason::clean, Error());  // after the peer's close_notify
    }
    if (so_error != 0) {
      return finish(conn,
                    closed_by_reset(code_for_errno(so_error)) ? CloseReason::reset
                                                              : CloseReason::error,
                    errno_error(Stage::transport, "socket", conn.peer_address_, so_error));
    }
  }
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && (conn.interest_ & EPOLLIN)) receive(conn);
  if (conn.dead_) return;
  pump(conn);
}

Error Loop::run() {
  std::vector<epoll_event> events(kMaxEvents);
  Error result;
  while (!stop_requested_.load(std::memory_order_acquire)) {
    run_dirty();
    graveyard_.clear();
    int timeout = -1;
    if (!dirty_.empty()) {
      timeout = 0;
    } else if (!timers_.empty()) {
      const int64_t left = timers_.front().at - now_ms();
      timeout = left <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left, 60000));
    }
    const int n = ::epoll_wait(epoll_fd_, events.data(), kMaxEvents, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      result = errno_error(Stage::internal, "epoll_wait", "loop", errno);
      break;
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[static_cast<size_t>(i)].data.u64;
      if (tag == kEventTag) {
        uint64_t count = 0;
        ssize_t ignored = ::read(event_fd_, &count, sizeof count);
        (void)ignored;
        run_posted();
        continue;
      }
      if ((tag & kWatchTag) && !(tag & kListenerTag)) {  // plain descriptors (epoll_watch.cpp)
        watch_ready(tag & ~kWatchTag, events[static_cast<size_t>(i)].events);
        continue;
      }
      if (tag & kListenerTag) {
        accept_ready(*listeners_[static_cast<size_t>(tag & ~kListenerTag)]);
        continue;
      }
      auto it = conns_.find(tag);
      if (it == conns_.end()) continue;
      conn_ready(*it->second, events[static_cast<size_t>(i)].events);
    }
    run_timers();
  }
  stop_requested_.store(false, std::memory_order_release);
  run_dirty();
  graveyard_.clear();
  return result;
}

}  // namespace sanstls::epoll
