// A minimal TLS echo server over sanstls::epoll::Loop, for the epoll
// benchmarks (issue 11): --workers loops, one per thread. With one worker
// the Loop listens itself; with more, the main thread accepts and hands each
// socket to the next loop (Loop::adopt through post()), so only the public
// API is used.
//
// --plain serves a plain TCP echo instead (no TLS, raw epoll): the upstream
// nginx's stream proxy needs to become a TLS echo server.
//
// Prints "port N" once listening; runs until SIGTERM/SIGINT, then prints
// the summed counters as one JSON line.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sanstls/adapters/epoll.h"
#include "sanstls/platform.h"
#include "sanstls/sanstls.h"

using namespace sanstls;

namespace {

std::atomic<bool> g_stop{false};
std::vector<epoll::Loop*> g_loops;  // set before the signal handlers

void on_signal(int) {
  g_stop.store(true);
  for (epoll::Loop* loop : g_loops) loop->stop();  // async-signal-safe
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "epoll_server: cannot read %s\n", path.c_str());
    std::exit(2);
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Echoes; a refused write holds the chunk and pauses reading until on_drain.
class Echo final : public epoll::Handler {
 public:
  void on_data(epoll::Conn& conn, ByteView data) override {
    if (!held_.empty() || !conn.write(data)) {
      held_.insert(held_.end(), data.begin(), data.end());
      conn.pause_reading();
    }
  }
  void on_drain(epoll::Conn& conn) override {
    if (conn.write(ByteView(held_))) {
      std::vector<uint8_t>().swap(held_);
      conn.resume_reading();
    }
  }

 private:
  std::vector<uint8_t> held_;
};

int listen_socket(const std::string& host, uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  ::inet_pton(AF_INET, host.c_str(), &address.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd, 4096) != 0) {
    std::perror("epoll_server: bind/listen");
    std::exit(1);
  }
  return fd;
}

uint16_t port_of(int fd) {
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  return ntohs(bound.sin_port);
}

// Plain TCP echo (nginx's upstream): level-triggered, one buffer per wake.
int run_plain(const std::string& host, uint16_t port) {
  const int listener = listen_socket(host, port);
  std::printf("port %u\n", port_of(listener));
  std::fflush(stdout);
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listener;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  std::vector<uint8_t> buffer(65536);
  std::vector<epoll_event> events(256);
  while (!g_stop.load()) {
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 500);
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<size_t>(i)].data.fd;
      if (fd == listener) {
        for (;;) {
          const int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);  // blocking I/O
          if (client < 0) break;
          const int one = 1;
          ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = client;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, client, &cev);
          pollfd p{listener, POLLIN, 0};
          if (::poll(&p, 1, 0) <= 0) break;
        }
        continue;
      }
      const ssize_t got = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) continue;
        ::close(fd);
        continue;
      }
      // Blocking send: the echo waits for the reader, like a proxy would.
      size_t sent = 0;
      while (sent < static_cast<size_t>(got)) {
        const ssize_t n2 =
            ::send(fd, buffer.data() + sent, static_cast<size_t>(got) - sent, MSG_NOSIGNAL);
        if (n2 <= 0) break;
        sent += static_cast<size_t>(n2);
      }
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  std::string cert_path;
  std::string key_path;
  uint16_t port = 0;
  int workers = 1;
  bool plain = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "epoll_server: missing value for %s\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--host")
      host = value();
    else if (arg == "--port")
      port = static_cast<uint16_t>(std::atoi(value().c_str()));
    else if (arg == "--cert")
      cert_path = value();
    else if (arg == "--key")
      key_path = value();
    else if (arg == "--workers")
      workers = std::atoi(value().c_str());
    else if (arg == "--plain")
      plain = true;
    else {
      std::fprintf(stderr,
                   "usage: sanstls_bench_epoll_server --cert chain.pem --key key.pem "
                   "[--host 127.0.0.1] [--port 0] [--workers 1] | --plain\n");
      return 2;
    }
  }
  struct sigaction action {};
  action.sa_handler = on_signal;
  ::sigemptyset(&action.sa_mask);
  ::signal(SIGPIPE, SIG_IGN);
  if (plain) {
    ::sigaction(SIGTERM, &action, nullptr);
    ::sigaction(SIGINT, &action, nullptr);
    return run_plain(host, port);
  }
  if (cert_path.empty() || key_path.empty() || workers < 1) {
    std::fprintf(stderr, "epoll_server: --cert and --key are required, --workers >= 1\n");
    return 2;
  }
  const std::string chain = read_file(cert_path);
  const std::string key = read_file(key_path);
  ConfigBuilder builder(Role::server);
  builder.random(platform::os_random())
      .clock(platform::system_clock())
      .certificate(ByteView(reinterpret_cast<const uint8_t*>(chain.data()), chain.size()),
                   ByteView(reinterpret_cast<const uint8_t*>(key.data()), key.size()));
  Result<Config> built = builder.build();
  if (!built) {
    std::fprintf(stderr, "epoll_server: %s\n", built.error().message());
    return 2;
  }
  const Config config = std::move(built).value();

  std::vector<std::unique_ptr<epoll::Loop>> loops;
  for (int i = 0; i < workers; ++i) {
    auto loop = epoll::Loop::create();
    if (!loop) {
      std::fprintf(stderr, "epoll_server: %s\n", loop.error().message());
      return 1;
    }
    loops.push_back(std::move(loop).value());
    g_loops.push_back(loops.back().get());
  }
  epoll::ListenOptions options;
  options.timer_clock = &platform::system_clock();
  const auto factory = [] { return std::make_shared<Echo>(); };
  int listener = -1;
  if (workers == 1) {
    auto bound = loops[0]->listen(host, port, config, factory, options);
    if (!bound) {
      std::fprintf(stderr, "epoll_server: %s\n", bound.error().message());
      return 1;
    }
    port = bound.value();
  } else {
    listener = listen_socket(host, port);
    port = port_of(listener);
  }
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);
  std::vector<std::thread> threads;
  for (auto& loop : loops) {
    epoll::Loop* raw = loop.get();
    threads.emplace_back([raw] { (void)raw->run(); });
  }
  std::printf("port %u\n", port);
  std::fflush(stdout);
  if (listener >= 0) {
    size_t next = 0;
    while (!g_stop.load()) {
      pollfd p{listener, POLLIN, 0};
      if (::poll(&p, 1, 500) <= 0) continue;
      const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) continue;
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      epoll::Loop* loop = loops[next++ % loops.size()].get();
      loop->post([loop, fd, &config, &factory, &options] {
        (void)loop->adopt(fd, config, Role::server, "", factory(), options);
      });
    }
    ::close(listener);
  }
  for (auto& thread : threads) thread.join();
  epoll::Counters total;
  for (auto& loop : loops) {
    const epoll::Counters& c = loop->counters();
    total.accepted += c.accepted + c.adopted;
    total.secure += c.secure;
    total.closed_clean += c.closed_clean;
    total.closed_truncated += c.closed_truncated;
    total.closed_reset += c.closed_reset;
    total.closed_timed_out += c.closed_timed_out;
    total.closed_error += c.closed_error;
    total.bytes_in += c.bytes_in;
    total.bytes_out += c.bytes_out;
  }
  std::printf(
      "{\"accepted\": %llu, \"secure\": %llu, \"closed_clean\": %llu, "
      "\"closed_truncated\": %llu, \"closed_reset\": %llu, \"closed_timed_out\": %llu, "
      "\"closed_error\": %llu, \"bytes_in\": %llu, \"bytes_out\": %llu}\n",
      static_cast<unsigned long long>(total.accepted),
      static_cast<unsigned long long>(total.secure),
      static_cast<unsigned long long>(total.closed_clean),
      static_cast<unsigned long long>(total.closed_truncated),
      static_cast<unsigned long long>(total.closed_reset),
      static_cast<unsigned long long>(total.closed_timed_out),
      static_cast<unsigned long long>(total.closed_error),
      static_cast<unsigned long long>(total.bytes_in),
      static_cast<unsigned long long>(total.bytes_out));
  return 0;
}
