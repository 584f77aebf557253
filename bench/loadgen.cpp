// Load generator for the epoll benchmarks (issue 11): one thread, one epoll
// set, many non-blocking TLS clients on the sans-I/O core (or plain TCP with
// --raw), against any TLS echo server (sanstls, nginx, Node).
//
//   --mode handshake  full handshakes per second: connect, handshake, close,
//                     again, with --concurrency clients at once, --duration-ms.
//   --mode echo       --concurrency connections each send --size bytes, read
//                     them back (checked) and repeat; MB/s of echoed bytes,
//                     counted once all connections are up, for --duration-ms.
//   --mode idle       opens --connections connections, each complete once the
//                     server has answered (TLS 1.3: its first NewSessionTicket,
//                     sent after the client's Finished), then drops the client
//                     state but keeps the socket. Prints a "ready" JSON line,
//                     holds until stdin ends (or --hold-ms), then closes.
//
// Every phase is bounded in time (--timeout-ms). Results: one JSON line per
// phase on stdout. Clients do not verify the certificate (the servers'
// costs are what is measured) and offer only TLS_AES_128_GCM_SHA256 with
// X25519, so every server negotiates the same thing.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sanstls/platform.h"
#include "sanstls/sanstls.h"

using namespace sanstls;

namespace {

int64_t now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

struct Options {
  std::string mode = "handshake";
  std::string host = "127.0.0.1";
  std::vector<std::string> sources;  // source addresses, used in turn
  uint16_t port = 0;
  int concurrency = 16;
  int64_t duration_ms = 3000;
  long connections = 1000;
  size_t size = 16384;
  int64_t timeout_ms = 300000;
  int64_t hold_ms = 600000;
  bool raw = false;
  bool tls12 = false;
  std::string server_name = "localhost";
};

[[noreturn]] void usage(const char* problem) {
  std::fprintf(stderr,
               "loadgen: %s\nusage: sanstls_bench_loadgen --port P [--host 127.0.0.1] "
               "[--source A[,B...]] --mode handshake|echo|idle [--concurrency C] "
               "[--duration-ms D] [--connections N] [--size S] [--timeout-ms T] "
               "[--hold-ms H] [--raw] [--tls12]\n",
               problem);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + arg).c_str());
      return argv[++i];
    };
    if (arg == "--mode")
      o.mode = value();
    else if (arg == "--host")
      o.host = value();
    else if (arg == "--source") {
      std::string list = value();
      size_t at = 0;
      while (at <= list.size()) {
        const size_t comma = list.find(',', at);
        const std::string one =
            list.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        if (!one.empty()) o.sources.push_back(one);
        if (comma == std::string::npos) break;
        at = comma + 1;
      }
    } else if (arg == "--port")
      o.port = static_cast<uint16_t>(std::atoi(value().c_str()));
    else if (arg == "--concurrency")
      o.concurrency = std::atoi(value().c_str());
    else if (arg == "--duration-ms")
      o.duration_ms = std::atoll(value().c_str());
    else if (arg == "--connections")
      o.connections = std::atol(value().c_str());
    else if (arg == "--size")
      o.size = static_cast<size_t>(std::atol(value().c_str()));
    else if (arg == "--timeout-ms")
      o.timeout_ms = std::atoll(value().c_str());
    else if (arg == "--hold-ms")
      o.hold_ms = std::atoll(value().c_str());
    else if (arg == "--raw")
      o.raw = true;
    else if (arg == "--tls12")
      o.tls12 = true;
    else
      usage(("unknown argument " + arg).c_str());
  }
  if (o.port == 0) usage("--port is required");
  if (o.mode != "handshake" && o.mode != "echo" && o.mode != "idle") usage("unknown --mode");
  if (o.concurrency < 1 || o.size < 1 || o.connections < 1) usage("counts must be positive");
  return o;
}

enum class Phase : uint8_t { connecting, handshaking, running, held };

struct Client {
  int fd = -1;
  Phase phase = Phase::connecting;
  std::optional<Connection> tls;
  std::vector<uint8_t> inbox;  // ciphertext the engine has not taken
  size_t round_sent = 0;       // echo: bytes of this round written
  size_t round_received = 0;   // echo: bytes of this round read back
  bool ticket = false;
  uint32_t interest = 0;
};

class Generator {
 public:
  Generator(const Options& options, const Config* config)
      : o_(options), config_(config), buffer_(65536), payload_(options.size) {
    for (size_t i = 0; i < payload_.size(); ++i) payload_[i] = static_cast<uint8_t>(i * 131 + 7);
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  }

  int run();

 private:
  bool open_client(size_t slot);
  void drop(size_t slot, bool failed, const char* why);
  void on_ready(size_t slot, uint32_t events);
  void pump(size_t slot);
  bool flush(size_t slot);
  void secure(size_t slot);
  void plaintext(size_t slot, const uint8_t* data, size_t n);
  void fill_round(size_t slot);
  void set_interest(size_t slot, uint32_t events);
  void print(const char* phase);
  bool window_open() const { return measure_from_ >= 0 && now_ms() < measure_until_; }

  const Options& o_;
  const Config* config_;
  int epoll_fd_ = -1;
  std::vector<Client> clients_;
  std::vector<uint8_t> buffer_;
  std::vector<uint8_t> payload_;
  size_t next_source_ = 0;
  // Figures.
  uint64_t handshakes_ = 0;
  uint64_t failures_ = 0;
  std::map<std::string, uint64_t> failure_names_;
  uint64_t echoed_bytes_ = 0;
  uint64_t mismatches_ = 0;
  long established_ = 0;
  long opened_ = 0;
  long lost_ = 0;
  int secure_now_ = 0;
  int64_t started_ = 0;
  int64_t measure_from_ = -1;
  int64_t measure_until_ = -1;
  bool stopping_ = false;
};

bool Generator::open_client(size_t slot) {
  Client& c = clients_[slot];
  c = Client();
  ++opened_;  // attempts: a failure below counts as one too
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    drop(slot, true, "socket");
    return false;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!o_.sources.empty()) {
    // The port is chosen at connect() time, per destination: past the
    // 28k-ports-per-source-address limit of bind(port 0).
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in source{};
    source.sin_family = AF_INET;
    ::inet_pton(AF_INET, o_.sources[next_source_++ % o_.sources.size()].c_str(), &source.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0) {
      ::close(fd);
      drop(slot, true, "bind");
      return false;
    }
  }
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(o_.port);
  ::inet_pton(AF_INET, o_.host.c_str(), &target.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0 &&
      errno != EINPROGRESS) {
    const int err = errno;
    ::close(fd);
    drop(slot, true, err == EADDRNOTAVAIL ? "EADDRNOTAVAIL" : "connect");
    return false;
  }
  c.fd = fd;
  c.phase = Phase::connecting;
  if (!o_.raw) {
    Result<Connection> made = Connection::client(*config_, o_.server_name);
    if (!made) {
      ::close(fd);
      c.fd = -1;
      drop(slot, true, made.error().name());
      return false;
    }
    c.tls.emplace(std::move(made).value());
  }
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.u64 = slot;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  c.interest = EPOLLOUT;
  return true;
}

void Generator::drop(size_t slot, bool failed, const char* why) {
  Client& c = clients_[slot];
  if (failed) {
    ++failures_;
    ++failure_names_[why];
  }
  if (c.fd >= 0) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
  }
  if (c.phase == Phase::running && o_.mode == "echo") --secure_now_;
  c = Client();
}

void Generator::set_interest(size_t slot, uint32_t events) {
  Client& c = clients_[slot];
  if (c.interest == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = slot;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  c.interest = events;
}

bool Generator::flush(size_t slot) {
  Client& c = clients_[slot];
  while (c.tls && c.tls->wants().has_output) {
    const ByteView out = c.tls->pending_output();
    const ssize_t n = ::send(c.fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.tls->consume_output(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    if (n < 0 && errno == EINTR) continue;
    drop(slot, true, "send");
    return false;
  }
  return true;
}

void Generator::fill_round(size_t slot) {
  Client& c = clients_[slot];
  if (o_.raw) {
    while (c.round_sent < payload_.size()) {
      const ssize_t n = ::send(c.fd, payload_.data() + c.round_sent, payload_.size() - c.round_sent,
                               MSG_NOSIGNAL);
      if (n <= 0) return;
      c.round_sent += static_cast<size_t>(n);
    }
    return;
  }
  while (c.round_sent < payload_.size()) {
    const size_t n =
        c.tls->write(ByteView(payload_.data() + c.round_sent, payload_.size() - c.round_sent));
    if (n == 0) return;
    c.round_sent += n;
  }
}

void Generator::plaintext(size_t slot, const uint8_t* data, size_t n) {
  Client& c = clients_[slot];
  if (o_.mode != "echo") return;
  for (size_t i = 0; i < n; ++i) {
    if (c.round_received >= c.round_sent || data[i] != payload_[c.round_received]) {
      ++mismatches_;
      return drop(slot, true, "echo_mismatch");
    }
    ++c.round_received;
  }
  if (window_open()) echoed_bytes_ += n;
  if (c.round_received == payload_.size()) {
    c.round_sent = 0;
    c.round_received = 0;
    fill_round(slot);
  }
}

void Generator::secure(size_t slot) {
  Client& c = clients_[slot];
  if (o_.mode == "handshake") {
    ++handshakes_;
    flush(slot);  // the Finished: the server completes its side
    drop(slot, false, "");
    if (!stopping_) open_client(slot);
    return;
  }
  if (o_.mode == "echo") {
    c.phase = Phase::running;
    ++handshakes_;
    if (++secure_now_ == o_.concurrency && measure_from_ < 0) {
      measure_from_ = now_ms();
      measure_until_ = measure_from_ + o_.duration_ms;
    }
    fill_round(slot);
    return;
  }
  // idle: the server has answered; keep only the socket.
  if (!flush(slot)) return;  // finish sending first (EPOLLOUT)
  c.phase = Phase::held;
  c.tls.reset();
  std::vector<uint8_t>().swap(c.inbox);
  ++handshakes_;
  ++established_;
  set_interest(slot, EPOLLRDHUP);
}

void Generator::pump(size_t slot) {
  Client& c = clients_[slot];
  if (o_.raw) return;
  for (int round = 0; round < 64 && c.fd >= 0 && c.tls; ++round) {
    bool progress = false;
    if (!c.inbox.empty()) {
      const size_t taken = c.tls->feed(ByteView(c.inbox));
      if (taken > 0) {
        c.inbox.erase(c.inbox.begin(), c.inbox.begin() + static_cast<std::ptrdiff_t>(taken));
        progress = true;
      }
    }
    while (auto event = c.tls->next_event()) {
      if (event->kind == EventKind::session_ticket) c.ticket = true;
    }
    if (!c.tls->error().ok()) return drop(slot, true, c.tls->error().name());
    const Readiness r = c.tls->wants();
    if (c.phase == Phase::handshaking && r.handshake_complete) {
      const bool answered =
          o_.mode != "idle" || c.ticket || c.tls->info().version == TlsVersion::tls1_2;
      if (answered) {
        secure(slot);
        // handshake mode: the slot holds a new client now; idle: held.
        if (c.fd < 0 || !c.tls || c.phase != Phase::running) return;
        progress = true;
      }
    }
    if (r.has_plaintext) {
      const size_t n = c.tls->read(MutableByteView(buffer_.data(), buffer_.size()));
      if (n > 0) {
        plaintext(slot, buffer_.data(), n);
        if (c.fd < 0) return;
        progress = true;
      }
    }
    if (c.phase == Phase::running && c.round_sent < payload_.size()) {
      const size_t before = c.round_sent;
      fill_round(slot);
      progress = progress || c.round_sent != before;
    }
    if (c.tls->wants().has_output) {
      const size_t before = c.tls->pending_output().size();
      flush(slot);
      if (c.fd < 0) return;
      progress = progress || c.tls->pending_output().size() != before;
    }
    if (r.closed || r.read_closed) return drop(slot, true, "server_closed");
    if (!progress) break;
  }
  if (c.fd < 0 || c.phase == Phase::held) return;
  uint32_t events = 0;
  if (c.inbox.empty()) events |= EPOLLIN;
  if (c.tls && c.tls->wants().has_output) events |= EPOLLOUT;
  set_interest(slot, events);
}

void Generator::on_ready(size_t slot, uint32_t events) {
  Client& c = clients_[slot];
  if (c.fd < 0) return;
  if (c.phase == Phase::held) {
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      ++lost_;
      --established_;
      drop(slot, false, "");
    }
    return;
  }
  if (c.phase == Phase::connecting) {
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0)
      return drop(slot, true, so_error == ECONNREFUSED ? "ECONNREFUSED" : "connect");
    if (!(events & EPOLLOUT)) return;
    c.phase = Phase::handshaking;
    if (o_.raw) {
      set_interest(slot, EPOLLIN);
      if (o_.mode == "handshake") {
        ++handshakes_;
        drop(slot, false, "");
        if (!stopping_) open_client(slot);
        return;
      }
      if (o_.mode == "idle") {
        c.phase = Phase::held;
        ++handshakes_;
        ++established_;
        set_interest(slot, EPOLLRDHUP);
        return;
      }
      c.phase = Phase::running;
      ++handshakes_;
      if (++secure_now_ == o_.concurrency && measure_from_ < 0) {
        measure_from_ = now_ms();
        measure_until_ = measure_from_ + o_.duration_ms;
      }
      fill_round(slot);
      return;
    }
    return pump(slot);
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    const ssize_t n = ::recv(c.fd, buffer_.data(), buffer_.size(), 0);
    if (n == 0) return drop(slot, true, "server_closed");
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return drop(slot, true, errno == ECONNRESET ? "ECONNRESET" : "recv");
    }
    if (n > 0) {
      if (o_.raw) {
        plaintext(slot, buffer_.data(), static_cast<size_t>(n));
        return;
      }
      c.inbox.insert(c.inbox.end(), buffer_.data(), buffer_.data() + n);
    }
  }
  if (o_.raw && (events & EPOLLOUT)) return fill_round(slot);
  pump(slot);
}

void Generator::print(const char* phase) {
  const int64_t now = now_ms();
  const double seconds =
      (o_.mode == "echo" ? (measure_from_ < 0 ? 0 : std::min(now, measure_until_) - measure_from_)
                         : now - started_) /
      1000.0;
  std::printf(
      "{\"phase\": \"%s\", \"mode\": \"%s\", \"raw\": %s, \"concurrency\": %d, "
      "\"seconds\": %.3f, \"handshakes\": %llu, \"handshakes_per_s\": %.1f, "
      "\"echoed_bytes\": %llu, \"mb_per_s\": %.2f, \"established\": %ld, \"opened\": %ld, "
      "\"lost\": %ld, \"failures\": %llu, \"mismatches\": %llu, \"failure_names\": {",
      phase, o_.mode.c_str(), o_.raw ? "true" : "false", o_.concurrency, seconds,
      static_cast<unsigned long long>(handshakes_),
      seconds > 0 ? static_cast<double>(handshakes_) / seconds : 0.0,
      static_cast<unsigned long long>(echoed_bytes_),
      seconds > 0 ? static_cast<double>(echoed_bytes_) / seconds / 1e6 : 0.0, established_, opened_,
      lost_, static_cast<unsigned long long>(failures_),
      static_cast<unsigned long long>(mismatches_));
  bool first = true;
  for (const auto& entry : failure_names_) {
    std::printf("%s\"%s\": %llu", first ? "" : ", ", entry.first.c_str(),
                static_cast<unsigned long long>(entry.second));
    first = false;
  }
  std::printf("}}\n");
  std::fflush(stdout);
}

int Generator::run() {
  if (epoll_fd_ < 0) {
    std::perror("epoll_create1");
    return 1;
  }
  started_ = now_ms();
  const int64_t give_up = started_ + o_.timeout_ms;
  const bool idle = o_.mode == "idle";
  clients_.resize(idle ? static_cast<size_t>(o_.connections) : static_cast<size_t>(o_.concurrency));
  const int64_t end = started_ + o_.duration_ms;
  if (o_.mode == "handshake") measure_from_ = started_;
  // Idle: at most --concurrency handshakes in flight.
  size_t next_slot = 0;
  auto in_flight = [&] { return opened_ - established_ - lost_ - static_cast<long>(failures_); };
  auto open_more = [&] {
    while (next_slot < clients_.size() &&
           (!idle || in_flight() < static_cast<long>(o_.concurrency))) {
      open_client(next_slot++);
    }
  };
  open_more();
  // Idle: the end of stdin (the driver gone) also ends the build-up.
  constexpr uint64_t kStdinTag = ~uint64_t{0};
  if (idle) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kStdinTag;
    (void)::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, 0, &ev);  // fails harmlessly for a file
  }
  std::vector<epoll_event> events(512);
  bool ready_printed = false;
  int64_t hold_until = -1;
  for (;;) {
    const int64_t now = now_ms();
    if (o_.mode == "handshake" && now >= end) break;
    if (o_.mode == "echo" && measure_until_ >= 0 && now >= measure_until_) break;
    if (!ready_printed && now >= give_up) {
      std::fprintf(stderr, "loadgen: gave up after %lld ms\n",
                   static_cast<long long>(o_.timeout_ms));
      if (!idle) {
        print("timeout");
        return 3;
      }
      // Idle: drop the clients still in their handshake, and hold the
      // established ones as if ready, so the server's memory can still be
      // measured for them (the "timeout" line says how many).
      for (size_t slot = 0; slot < clients_.size(); ++slot) {
        if (clients_[slot].fd >= 0 && clients_[slot].phase != Phase::held) drop(slot, false, "");
      }
      next_slot = clients_.size();
      opened_ = established_ + lost_ + static_cast<long>(failures_);
      (void)::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, 0, nullptr);
      print("timeout");
      ready_printed = true;
      hold_until = now + o_.hold_ms;
      continue;
    }
    if (idle && !ready_printed && next_slot == clients_.size() && in_flight() == 0) {
      (void)::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, 0, nullptr);  // poll() watches it now
      print("ready");
      ready_printed = true;
      hold_until = now + o_.hold_ms;
    }
    if (ready_printed) {
      // Hold: stdin's end (or the hold limit) releases the connections.
      pollfd p[2] = {{0, POLLIN, 0}, {epoll_fd_, POLLIN, 0}};
      const int64_t left = hold_until - now;
      if (left <= 0) break;
      ::poll(p, 2, static_cast<int>(std::min<int64_t>(left, 1000)));
      if (p[0].revents & (POLLIN | POLLHUP)) {
        char sink[256];
        if (::read(0, sink, sizeof sink) <= 0) break;
      }
      const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 0);
      for (int i = 0; i < n; ++i)
        on_ready(events[static_cast<size_t>(i)].data.u64, events[static_cast<size_t>(i)].events);
      continue;
    }
    const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 100);
    bool stdin_ended = false;
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[static_cast<size_t>(i)].data.u64;
      if (tag == kStdinTag) {
        char sink[256];
        if (::read(0, sink, sizeof sink) <= 0) stdin_ended = true;
        continue;
      }
      on_ready(tag, events[static_cast<size_t>(i)].events);
    }
    if (stdin_ended) {
      std::fprintf(stderr, "loadgen: stdin ended before all connections were up\n");
      print("aborted");
      return 3;
    }
    if (idle) open_more();
    if (o_.mode != "idle") {
      // Keep --concurrency clients going (a failed one is replaced).
      for (size_t slot = 0; slot < clients_.size(); ++slot) {
        if (clients_[slot].fd < 0 && now_ms() < give_up) open_client(slot);
      }
    }
  }
  stopping_ = true;
  print(idle ? "released" : "done");
  for (size_t slot = 0; slot < clients_.size(); ++slot) {
    if (clients_[slot].fd >= 0) ::close(clients_[slot].fd);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  std::optional<Config> config;
  if (!options.raw) {
    ConfigBuilder builder(Role::client);
    builder.random(platform::os_random())
        .clock(platform::system_clock())
        .peer_verification(PeerVerification::none)
        .cipher_suites(options.tls12 ? "ECDHE-ECDSA-AES128-GCM-SHA256" : "TLS_AES_128_GCM_SHA256")
        .groups("x25519");
    if (options.tls12)
      builder.versions(TlsVersion::tls1_2, TlsVersion::tls1_2);
    else
      builder.versions(TlsVersion::tls1_3, TlsVersion::tls1_3);
    Result<Config> built = builder.build();
    if (!built) {
      std::fprintf(stderr, "loadgen: %s\n", built.error().message());
      return 2;
    }
    config.emplace(std::move(built).value());
  }
  Generator generator(options, config ? &*config : nullptr);
  return generator.run();
}
