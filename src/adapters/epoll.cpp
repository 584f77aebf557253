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
#include <condition_variable>
#include <deque>
#include <cstdio>
#include <cstring>
#include <functional>
#include <utility>

namespace sanstls::epoll {
namespace {

constexpr size_t kReceiveChunk = 16384 + 256 + 5;
constexpr uint64_t kEventTag = 0;
constexpr uint64_t kListenerTag = uint64_t{1} << 63;
constexpr uint64_t kLingerTag = uint64_t{1} << 62;
constexpr size_t kLingerReadPerWake = 64 * 1024;

thread_local Conn* t_current_conn = nullptr;

// Marks the Conn whose engine runs now (Loop::current_conn()).
class CurrentConn {
 public:
  explicit CurrentConn(Conn* conn) noexcept : saved_(t_current_conn) { t_current_conn = conn; }
  ~CurrentConn() { t_current_conn = saved_; }
  CurrentConn(const CurrentConn&) = delete;
  CurrentConn& operator=(const CurrentConn&) = delete;

 private:
  Conn* saved_;
};

int open_reserve_fd() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }
constexpr int kMaxEvents = 256;
constexpr int kAcceptsPerWake = 64;
constexpr int kPumpRounds = 64;

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

// Written on the loop thread only, read from any (snapshots): relaxed
// atomics for the numbers, a mutex for the maps (touched on errors only).
struct Loop::LiveCounters {
  std::atomic<uint64_t> accepted{0}, refused_no_descriptors{0}, adopted{0}, connected{0},
      handshakes_in_progress{0}, open{0}, secure{0}, closed_clean{0}, closed_truncated{0},
      closed_reset{0}, closed_timed_out{0}, closed_error{0}, bytes_in{0}, bytes_out{0};
  mutable std::mutex names_mutex;
  std::map<std::string, uint64_t> errors_by_name;
  std::map<std::string, uint64_t> handshake_errors_by_name;
};

namespace {
void bump(std::atomic<uint64_t>& counter, uint64_t by = 1) {
  counter.fetch_add(by, std::memory_order_relaxed);
}
void drop(std::atomic<uint64_t>& counter) { counter.fetch_sub(1, std::memory_order_relaxed); }
uint64_t get(const std::atomic<uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}
}  // namespace

// The resolver thread of one Loop: getaddrinfo() blocks, so it runs here
// and the answer (every address, in the resolver's order) comes back through
// post(). The Loop's destructor detaches it (a lookup may take seconds);
// `loop` is cleared first, so a late answer is dropped.
struct Loop::Resolver {
  struct Request {
    std::string host;
    uint16_t port;
    const char* label;                                        // static text
    std::function<void(const Error&, SocketAddresses)> done;  // run on the loop thread
  };
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Request> requests;
  Loop* loop = nullptr;
  Lookup lookup;  // the Loop's, copied when the thread starts
  bool quit = false;

  static Error not_found(const Request& request, const char* why, int gai_error) {
    char text[Error::kMessageCapacity];
    std::snprintf(text, sizeof text, "getaddrinfo ENOTFOUND %s%s (%s)", request.host.c_str(),
                  request.label, why);
    return Error(ErrorCode::name_not_found, Stage::resolve, text).with_system_error(gai_error);
  }

  Error look_up(const Request& request, SocketAddresses* addresses) const {
    if (lookup) {
      auto found = lookup(request.host);
      if (!found) return found.error();
      for (const std::string& numeric : found.value()) {
        SocketAddresses one = numeric_addresses(numeric, request.port);
        addresses->insert(addresses->end(), one.begin(), one.end());
      }
      return addresses->empty() ? not_found(request, "the lookup gave no numeric address", 0)
                                : Error();
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(request.port);
    const int rc = ::getaddrinfo(request.host.c_str(), service.c_str(), &hints, &found);
    if (rc != 0) return not_found(request, gai_strerror(rc), rc);
    for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
      const auto* bytes = reinterpret_cast<const uint8_t*>(ai->ai_addr);
      addresses->emplace_back(bytes, bytes + ai->ai_addrlen);
    }
    ::freeaddrinfo(found);
    return addresses->empty() ? not_found(request, "no address", 0) : Error();
  }

  static void run(std::shared_ptr<Resolver> self) {
    for (;;) {
      Request request;
      {
        std::unique_lock<std::mutex> lock(self->mutex);
        self->wake.wait(lock, [&] { return self->quit || !self->requests.empty(); });
        if (self->quit) return;
        request = std::move(self->requests.front());
        self->requests.pop_front();
      }
      SocketAddresses addresses;
      Error error = self->look_up(request, &addresses);
      std::lock_guard<std::mutex> lock(self->mutex);
      if (self->loop == nullptr) return;
      self->loop->post(
          [done = std::move(request.done), error, addresses = std::move(addresses)]() mutable {
            done(error, std::move(addresses));
          });
    }
  }
};

void Loop::resolve(const std::string& host, uint16_t port, const char* label,
                   std::function<void(const Error&, SocketAddresses)> done) {
  if (!resolver_) {
    resolver_ = std::make_shared<Resolver>();
    resolver_->loop = this;
    resolver_->lookup = lookup_;
    std::thread(Resolver::run, resolver_).detach();
  }
  {
    std::lock_guard<std::mutex> lock(resolver_->mutex);
    resolver_->requests.push_back(Resolver::Request{host, port, label, std::move(done)});
  }
  resolver_->wake.notify_one();
}

Loop::SocketAddresses Loop::numeric_addresses(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  SocketAddresses addresses;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) == 0) {
    for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
      const auto* bytes = reinterpret_cast<const uint8_t*>(ai->ai_addr);
      addresses.emplace_back(bytes, bytes + ai->ai_addrlen);
    }
    ::freeaddrinfo(found);
  }
  return addresses;
}

Counters& Counters::operator+=(const Counters& other) {
  accepted += other.accepted;
  refused_no_descriptors += other.refused_no_descriptors;
  adopted += other.adopted;
  connected += other.connected;
  handshakes_in_progress += other.handshakes_in_progress;
  open += other.open;
  secure += other.secure;
  closed_clean += other.closed_clean;
  closed_truncated += other.closed_truncated;
  closed_reset += other.closed_reset;
  closed_timed_out += other.closed_timed_out;
  closed_error += other.closed_error;
  for (const auto& [name, count] : other.errors_by_name) errors_by_name[name] += count;
  for (const auto& [name, count] : other.handshake_errors_by_name) {
    handshake_errors_by_name[name] += count;
  }
  bytes_in += other.bytes_in;
  bytes_out += other.bytes_out;
  return *this;
}

uint64_t Counters::tls_client_errors() const noexcept {
  uint64_t total = 0;
  for (const auto& entry : handshake_errors_by_name) total += entry.second;
  return total;
}

const char* close_reason_name(CloseReason reason) noexcept {
  switch (reason) {
    case CloseReason::clean:
      return "clean";
    case CloseReason::truncated:
      return "truncated";
    case CloseReason::reset:
      return "reset";
    case CloseReason::timeout:
      return "timeout";
    case CloseReason::error:
      return "error";
  }
  return "unknown";
}

// ---------------------------------------------------------------- Conn

Conn::Conn(Loop* loop, uint64_t id, int fd, Connection connection, std::shared_ptr<Handler> handler,
           const ConnOptions& options, int64_t now_ms)
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
  if (dead_ || closing_ || connection_.wants().write_closed) return false;
  if (data.size() > options_.high_water || queued() + data.size() > options_.high_water) {
    drain_owed_ = true;
    return false;
  }
  if (out_head_ > 0 && out_head_ == out_.size()) release_write_queue();
  out_.insert(out_.end(), data.begin(), data.end());
  loop_->mark_dirty(*this);
  return true;
}

void Conn::release_write_queue() {
  std::vector<uint8_t>().swap(out_);
  out_head_ = 0;
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

void Conn::wake() { loop_->mark_dirty(*this); }

// ---------------------------------------------------------------- Loop

void Loop::count_connected() noexcept { bump(counters_->connected); }
void Loop::count_bytes(uint64_t in, uint64_t out) noexcept {
  if (in > 0) bump(counters_->bytes_in, in);
  if (out > 0) bump(counters_->bytes_out, out);
}

Loop::Loop(int epoll_fd, int event_fd) noexcept
    : epoll_fd_(epoll_fd),
      event_fd_(event_fd),
      buffer_(kReceiveChunk),
      counters_(new LiveCounters),
      reserve_fd_(open_reserve_fd()) {}

Conn* Loop::current_conn() noexcept { return t_current_conn; }

Counters Loop::counters() const {
  Counters out;
  const LiveCounters& c = *counters_;
  out.accepted = get(c.accepted);
  out.refused_no_descriptors = get(c.refused_no_descriptors);
  out.adopted = get(c.adopted);
  out.connected = get(c.connected);
  out.handshakes_in_progress = get(c.handshakes_in_progress);
  out.open = get(c.open);
  out.secure = get(c.secure);
  out.closed_clean = get(c.closed_clean);
  out.closed_truncated = get(c.closed_truncated);
  out.closed_reset = get(c.closed_reset);
  out.closed_timed_out = get(c.closed_timed_out);
  out.closed_error = get(c.closed_error);
  out.bytes_in = get(c.bytes_in);
  out.bytes_out = get(c.bytes_out);
  std::lock_guard<std::mutex> lock(c.names_mutex);
  out.errors_by_name = c.errors_by_name;
  out.handshake_errors_by_name = c.handshake_errors_by_name;
  return out;
}

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
  if (resolver_) {
    std::lock_guard<std::mutex> lock(resolver_->mutex);
    resolver_->loop = nullptr;
    resolver_->quit = true;
    resolver_->wake.notify_all();
  }
  for (auto& entry : conns_) {
    if (entry.second->fd_ >= 0) ::close(entry.second->fd_);
  }
  for (auto& entry : lingering_) ::close(entry.second.fd);
  for (auto& listener : listeners_) ::close(listener->fd);
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
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

void Loop::stop_when_drained() noexcept {
  drain_requested_.store(true, std::memory_order_release);
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
    const int fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_error = errno;
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (options.reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      last_error = errno;
      ::close(fd);
      continue;
    }
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, options.backlog) != 0) {
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
  if (!error) bump(counters_->adopted);
  return error;
}

Error Loop::connect(const std::string& host, uint16_t port, const Config& config,
                    const std::string& server_name, std::shared_ptr<Handler> handler,
                    ConnOptions options) {
  if (!handler) return Error(ErrorCode::invalid_argument, Stage::config, "connect: no handler");
  Result<Connection> connection = server_name.empty()
                                      ? Connection::client_without_server_name(config)
                                      : Connection::client(config, server_name);
  if (!connection) return connection.error();
  return connect(host, port, std::move(connection).value(), std::move(handler), options);
}

Error Loop::connect(const std::string& host, uint16_t port, Connection connection,
                    std::shared_ptr<Handler> handler, ConnOptions options) {
  if (!handler) return Error(ErrorCode::invalid_argument, Stage::config, "connect: no handler");
  if (connection.role() != Role::client) {
    return Error(ErrorCode::invalid_argument, Stage::config, "connect: not a client Connection");
  }
  const std::string service = std::to_string(port);
  SocketAddresses addresses = numeric_addresses(host, port);
  const uint64_t id = next_id_;
  Error error = add_conn(-1, std::move(connection), std::move(handler), options);
  if (error) return error;
  Conn& conn = *conns_.at(id);
  conn.dialing_ = std::make_unique<Conn::Dialing>();
  conn.dialing_->host = host;
  conn.peer_address_ =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + service;
  if (!addresses.empty()) {
    conn.dialing_->addresses = std::move(addresses);
    connect_next(conn, Error());
    return Error();
  }
  // A name: getaddrinfo may block for seconds, so it runs on the resolver thread.
  conn.resolving_ = true;
  resolve(host, port, "", [this, id](const Error& failure, SocketAddresses found) {
    resolved(id, failure, std::move(found));
  });
  return Error();
}

void Loop::resolved(uint64_t id, const Error& error, SocketAddresses addresses) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;  // ended meanwhile (handshake limit, abort)
  Conn& conn = *it->second;
  conn.resolving_ = false;
  if (error) return finish(conn, CloseReason::error, error);
  conn.dialing_->addresses = std::move(addresses);
  connect_next(conn, Error());
}

// Connects to the next address of the Conn's host; when none is left, the
// Conn ends with the last failure (stage connect), its message saying how
// many addresses were tried.
void Loop::connect_next(Conn& conn, Error failure) {
  Conn::Dialing& dialing = *conn.dialing_;
  while (dialing.next < dialing.addresses.size()) {
    const Error error = start_connect(conn, dialing.addresses[dialing.next++]);
    if (!error) return;
    failure = error;
  }
  if (dialing.addresses.size() > 1 && failure) {
    const std::string text = std::string(failure.message()) + "; the last of " +
                             std::to_string(dialing.addresses.size()) + " addresses of " +
                             dialing.host + " tried";
    Error last(failure.code(), failure.stage(), text.c_str());  // truncated to the capacity
    if (failure.system_error() != 0) last.with_system_error(failure.system_error());
    failure = last;
  }
  finish(conn, CloseReason::error, failure);
}

// Creates the socket and starts the non-blocking connect to one address; a
// failure (stage connect) leaves the Conn without a socket.
Error Loop::start_connect(Conn& conn, const std::vector<uint8_t>& address) {
  const auto* target = reinterpret_cast<const sockaddr*>(address.data());
  conn.peer_address_ = format_address(target);
  const int fd = ::socket(target->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_error(Stage::connect, "socket", conn.peer_address_, errno);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const int connected = ::connect(fd, target, static_cast<socklen_t>(address.size()));
  const int connect_errno = connected == 0 ? 0 : errno;
  if (connected != 0 && connect_errno != EINPROGRESS) {
    ::close(fd);
    return errno_error(Stage::connect, "connect", conn.peer_address_, connect_errno);
  }
  epoll_event ev{};
  ev.events = 0;
  ev.data.u64 = conn.id_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    const int err = errno;
    ::close(fd);
    return errno_error(Stage::connect, "epoll_ctl", "connection", err);
  }
  conn.fd_ = fd;
  conn.interest_ = 0;
  conn.connecting_ = connected != 0;
  if (connected == 0) {
    bump(counters_->connected);
    conn.dialing_.reset();
  }
  mark_dirty(conn);
  return Error();
}

Error Loop::add_conn(int fd, Connection connection, std::shared_ptr<Handler> handler,
                     const ConnOptions& options, bool connecting) {
  const uint64_t id = next_id_++;
  std::unique_ptr<Conn> conn(
      new Conn(this, id, fd, std::move(connection), std::move(handler), options, now_ms()));
  conn->connecting_ = connecting;
  if (fd >= 0) {  // connect() registers its socket once it exists
    epoll_event ev{};
    ev.events = 0;
    ev.data.u64 = id;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      const int err = errno;
      ::close(fd);
      return errno_error(Stage::connect, "epoll_ctl", "connection", err);
    }
  }
  Conn& ref = *conn;
  conns_.emplace(id, std::move(conn));
  bump(counters_->open);
  bump(counters_->handshakes_in_progress);
  mark_dirty(ref);
  return Error();
}

void Loop::accept_ready(Listener& listener) {
  for (int i = 0; i < kAcceptsPerWake; ++i) {
    const int fd = ::accept4(listener.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      if ((err == EMFILE || err == ENFILE) && accept_without_descriptors(listener)) continue;
      return;  // EAGAIN, or a transient error: level-triggered, retried
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Result<Connection> connection = Connection::server(listener.options.config_slot != nullptr
                                                           ? listener.options.config_slot->load()
                                                           : *listener.config);
    std::shared_ptr<Handler> handler = connection ? listener.factory() : nullptr;
    if (!connection || !handler) {
      ::close(fd);
      continue;
    }
    bump(counters_->accepted);
    (void)add_conn(fd, std::move(connection).value(), std::move(handler), listener.options);
  }
}

// Out of descriptors, the pending connection would stay in the backlog and
// the level-triggered listener would wake the loop forever: give up the
// reserve descriptor, accept the connection and close it at once (the
// client sees its connection end), then take the reserve back.
bool Loop::accept_without_descriptors(Listener& listener) {
  if (reserve_fd_ < 0) return false;
  ::close(reserve_fd_);
  reserve_fd_ = -1;
  const int fd = ::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd >= 0) {
    const struct linger hard { 1, 0 };
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::close(fd);
    bump(counters_->refused_no_descriptors);
  }
  reserve_fd_ = open_reserve_fd();
  return fd >= 0;
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
  if (conn.proxied_ && conn.proxied_->carrier) return carried_receive(conn);
  if (!conn.inbox_.empty()) return;  // the engine has not taken the last receive yet
  const ssize_t n = ::recv(conn.fd_, buffer_.data(), buffer_.size(), 0);
  if (n > 0) {
    bump(counters_->bytes_in, static_cast<uint64_t>(n));
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
  if (err == ECONNRESET && conn.connection_.wants().read_closed && conn.connection_.error().ok()) {
    conn.eof_ = true;  // after the peer's close_notify a reset is still a clean end
    conn.connection_.transport_eof();
    return;
  }
  finish(conn, closed_by_reset(code_for_errno(err)) ? CloseReason::reset : CloseReason::error,
         errno_error(Stage::transport, "recv", conn.peer_address_, err));
}

bool Loop::send_pending(Conn& conn) {
  if (conn.proxied_ && conn.proxied_->carrier) return carried_send(conn);
  conn.want_write_ = false;
  while (!conn.dead_) {
    const ByteView out = conn.connection_.pending_output();
    if (out.empty()) return true;
    const ssize_t n = ::send(conn.fd_, out.data(), out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bump(counters_->bytes_out, static_cast<uint64_t>(n));
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

// Hands the engine's events to the handler; false once the Conn is dead.
bool Loop::deliver_events(Conn& conn) {
  while (auto event = conn.connection_.next_event()) {
    if (event->kind == EventKind::peer_closed) conn.peer_closed_ = true;
    conn.handler_->on_event(conn, *event);
    if (conn.dead_) return false;
  }
  return true;
}

void Loop::pump(Conn& conn) {
  const CurrentConn current(&conn);
  if (conn.connecting_ || conn.resolving_) {  // nothing to do until the TCP connect completes
    update_interest(conn);
    schedule(conn);
    return;
  }
  Connection& c = conn.connection_;
  const bool carried = conn.proxied_ && conn.proxied_->carrier;
  for (int round = 0; round < kPumpRounds && !conn.dead_; ++round) {
    bool progress = false;
    // Through an HTTPS proxy: the carrier's plaintext becomes our inbox.
    if (carried && carrier_lift(conn)) progress = true;
    if (conn.dead_) return;
    if (!deliver_events(conn)) return;
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
      drop(counters_->handshakes_in_progress);
      bump(counters_->secure);
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
    // Plaintext only after on_secure: one feed can complete the handshake
    // and bring application data (a 0-RTT client's Finished and its next
    // request), and on_secure (which reads the early data) must come first.
    if (!conn.paused_ && conn.secure_ && c.wants().has_plaintext) {
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
        // Drained: free the buffer, so an idle connection holds none.
        if (conn.queued() == 0) conn.release_write_queue();
        progress = true;
      }
    }
    // No half-open connections: the peer's close_notify is answered with ours,
    // but only once the application has seen every byte that came before it
    // (including 0-RTT data read in on_secure), so its replies still go out.
    if (conn.peer_closed_ && !conn.closing_ && !c.wants().has_plaintext) conn.closing_ = true;
    if (conn.closing_ && conn.queued() == 0 && !c.wants().write_closed) {
      c.close();
      progress = true;
    }
    if (c.wants().has_output || (carried && carrier_has_output(conn))) {
      const size_t before = c.pending_output().size();
      const bool carrier_before = carried && carrier_has_output(conn);
      send_pending(conn);
      if (conn.dead_) return;
      if (c.pending_output().size() != before) progress = true;
      if (carried && carrier_has_output(conn) != carrier_before) progress = true;
    }
    if (!c.error().ok()) return finish_engine_error(conn);
    if (!deliver_events(conn)) return;  // before a close: the peer's close_notify, last tickets
    r = c.wants();
    // Our last records may still wait in the carrier's queue.
    const bool output_left = r.has_output || (carried && carrier_has_output(conn));
    // A half-close goes on reading after our close_notify, until the peer's.
    const bool reading_on =
        conn.options_.half_close && !r.read_closed && !conn.eof_ && !conn.peer_closed_;
    if (r.closed && !output_left && !reading_on) return finish(conn, CloseReason::clean, Error());
    if (conn.eof_ && !r.has_plaintext && conn.inbox_.empty()) {
      // The transport ended without an engine error: a clean end (after
      // the peer's close_notify, or our close without waiting).
      if (!output_left) return finish(conn, CloseReason::clean, Error());
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
  // Quiet now (the engine checks that nothing is half-received, unread or
  // unsent): its record buffers go back to the heap until the next bytes.
  if (conn.options_.release_idle_buffers && conn.secure_ && conn.inbox_.empty() && !conn.dead_) {
    c.release_buffers();
    if (carried && conn.proxied_->carrier_inbox.empty()) conn.proxied_->carrier->release_buffers();
  }
  update_interest(conn);
  schedule(conn);
}

void Loop::update_interest(Conn& conn) {
  if (conn.fd_ < 0) return;
  const Readiness r = conn.connection_.wants();
  uint32_t events = 0;
  if (conn.connecting_) events |= EPOLLOUT;
  bool receive =
      !conn.connecting_ && !conn.paused_ && !conn.eof_ && conn.inbox_.empty() && r.wants_input;
  if (receive && conn.proxied_ && conn.proxied_->carrier) {
    // Each layer holds at most one receive: read the socket only once the
    // carrier has taken the last one and has no plaintext for us.
    const Conn::Proxied& proxied = *conn.proxied_;
    receive = !proxied.socket_eof && proxied.carrier_inbox.empty() &&
              !proxied.carrier->wants().has_plaintext && proxied.carrier->wants().wants_input;
  }
  if (receive) events |= EPOLLIN;
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
    if (timer.id & kLingerTag) {
      auto lingering = lingering_.find(timer.id);
      if (lingering != lingering_.end()) {
        ::close(lingering->second.fd);  // closing drops it from the epoll set
        lingering_.erase(lingering);
      }
      continue;
    }
    auto it = conns_.find(timer.id);
    if (it == conns_.end() || it->second->timer_generation_ != timer.generation) continue;
    Conn& conn = *it->second;
    conn.timer_at_ = -1;
    fire_timer(conn, now);
    if (!conn.dead_) schedule(conn);
  }
}

void Loop::fire_timer(Conn& conn, int64_t now) {
  const CurrentConn current(&conn);
  char text[Error::kMessageCapacity];
  if (!conn.secure_ && conn.options_.handshake_limit_ms > 0 &&
      now >= conn.started_ms_ + conn.options_.handshake_limit_ms) {
    std::snprintf(text, sizeof text, "TLS handshake not complete %u ms after %s (%s)",
                  conn.options_.handshake_limit_ms,
                  conn.connection_.role() == Role::server ? "accept" : "connect",
                  conn.peer_address_.c_str());
    return finish(conn, CloseReason::timeout, Error(ErrorCode::timed_out, Stage::handshake, text));
  }
  if (conn.options_.idle_timeout_ms > 0 &&
      now >= conn.last_activity_ms_ + conn.options_.idle_timeout_ms) {
    std::snprintf(text, sizeof text, "idle for %u ms (%s)", conn.options_.idle_timeout_ms,
                  conn.peer_address_.c_str());
    return finish(
        conn, CloseReason::timeout,
        Error(ErrorCode::timed_out, conn.secure_ ? Stage::transport : Stage::handshake, text));
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

void Loop::count_close(CloseReason reason, const Error& error, bool secure) {
  if (!secure) drop(counters_->handshakes_in_progress);
  drop(counters_->open);
  switch (reason) {
    case CloseReason::clean:
      bump(counters_->closed_clean);
      break;
    case CloseReason::truncated:
      bump(counters_->closed_truncated);
      break;
    case CloseReason::reset:
      bump(counters_->closed_reset);
      break;
    case CloseReason::timeout:
      bump(counters_->closed_timed_out);
      break;
    case CloseReason::error:
      bump(counters_->closed_error);
      break;
  }
  if (error.ok()) return;
  std::lock_guard<std::mutex> lock(counters_->names_mutex);
  ++counters_->errors_by_name[error.name()];
  if (!secure) ++counters_->handshake_errors_by_name[error.name()];
}

void Loop::finish(Conn& conn, CloseReason reason, const Error& error) {
  if (conn.dead_) return;
  conn.dead_ = true;
  count_close(reason, error, conn.secure_);
  const int fd = conn.fd_;
  if (fd >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  if (fd >= 0 && reason == CloseReason::clean) {
    if (conn.proxied_ && conn.proxied_->carrier) close_carrier(conn);  // its close_notify too
    ::shutdown(fd, SHUT_WR);
  }
  conn.handler_->on_close(conn, reason, error);
  const bool lingers = conn.options_.linger_ms > 0 && fd >= 0 && !conn.eof_ &&
                       reason != CloseReason::reset && reason != CloseReason::timeout;
  if (lingers) {
    linger(fd, conn.options_.linger_ms);
  } else if (fd >= 0) {
    ::close(fd);
  }
  conn.fd_ = -1;
  auto it = conns_.find(conn.id_);
  if (it != conns_.end()) {
    graveyard_.push_back(std::move(it->second));
    conns_.erase(it);
  }
}

// Half-closes `fd` and drops what the peer still sends until it closes or
// `ms` pass (see ConnOptions::linger_ms).
void Loop::linger(int fd, uint32_t ms) {
  ::shutdown(fd, SHUT_WR);
  const uint64_t tag = kLingerTag | next_id_++;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    ::close(fd);
    return;
  }
  const int64_t until = now_ms() + ms;
  lingering_[tag] = Lingering{fd, until};
  timers_.push_back(Timer{until, tag, 0});
  std::push_heap(timers_.begin(), timers_.end(), std::greater<Timer>());
}

void Loop::linger_ready(uint64_t tag) {
  auto it = lingering_.find(tag);
  if (it == lingering_.end()) return;
  for (size_t dropped = 0; dropped < kLingerReadPerWake;) {
    const ssize_t n = ::recv(it->second.fd, buffer_.data(), buffer_.size(), 0);
    if (n > 0) {
      dropped += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    break;  // the peer's end, or an error: done
  }
  ::close(it->second.fd);  // its timer entry finds nothing later
  lingering_.erase(it);
}

void Loop::conn_ready(Conn& conn, uint32_t events) {
  if (conn.connecting_) {
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(conn.fd_, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
      const Error failure = errno_error(Stage::connect, "connect", conn.peer_address_, so_error);
      if (!conn.dialing_) return finish(conn, CloseReason::error, failure);
      // The next address, on a new socket.
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn.fd_, nullptr);
      ::close(conn.fd_);
      conn.fd_ = -1;
      conn.connecting_ = false;
      conn.interest_ = 0;
      return connect_next(conn, failure);
    }
    if (!(events & EPOLLOUT)) return;
    conn.connecting_ = false;
    conn.dialing_.reset();
    bump(counters_->connected);
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
      return finish(
          conn, closed_by_reset(code_for_errno(so_error)) ? CloseReason::reset : CloseReason::error,
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
    if (drain_requested_.load(std::memory_order_acquire) && conns_.empty() && lingering_.empty()) {
      break;
    }
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
      if (tag & kLingerTag) {
        linger_ready(tag);
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
  drain_requested_.store(false, std::memory_order_release);
  run_dirty();
  graveyard_.clear();
  return result;
}

}  // namespace sanstls::epoll

namespace sanstls::epoll {

// ---------------------------------------------------------------- Workers

Result<std::unique_ptr<Workers>> Workers::create(size_t count) {
  if (count == 0) count = std::max(1u, std::thread::hardware_concurrency());
  std::unique_ptr<Workers> workers(new Workers);
  for (size_t i = 0; i < count; ++i) {
    auto loop = Loop::create();
    if (!loop) return loop.error();
    workers->loops_.push_back(std::move(loop).value());
  }
  return Result<std::unique_ptr<Workers>>(std::move(workers));
}

Workers::~Workers() {
  stop();
  join();
}

Result<uint16_t> Workers::listen(const std::string& host, uint16_t port, const Config& config,
                                 HandlerFactory factory, ListenOptions options) {
  options.reuse_port = true;
  for (auto& loop : loops_) {
    // Port 0 picks a free port on the first Loop; the others join it.
    auto bound = loop->listen(host, port, config, factory, options);
    if (!bound) return bound.error();
    port = bound.value();
  }
  return port;
}

void Workers::start() {
  for (auto& loop : loops_) {
    Loop* raw = loop.get();
    threads_.emplace_back([this, raw] {
      Error error = raw->run();
      if (error) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (error_.ok()) error_ = error;
      }
    });
  }
}

void Workers::stop() noexcept {
  for (auto& loop : loops_) loop->stop();
}

void Workers::stop_when_drained() noexcept {
  for (auto& loop : loops_) loop->stop_when_drained();
}

void Workers::join() {
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

Counters Workers::counters_snapshot() const {
  Counters total;
  for (const auto& loop : loops_) total += loop->counters();
  return total;
}

Error Workers::error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

}  // namespace sanstls::epoll
