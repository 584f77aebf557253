// The epoll Loop's pieces for tunnels: watches on plain descriptors
// (Loop::watch/rewatch/unwatch) and TLS through an HTTP proxy
// (Loop::connect_through_proxy). The Loop runs on the test thread with a
// bound on its run time (a posted stop); a fake proxy on another thread
// reads CONNECT, answers, and on a 2xx plays the TLS origin on the same
// socket with the blocking adapter. Nothing sleeps.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "sanstls/adapters/blocking.h"
#include "sanstls/adapters/epoll.h"
#include "support/fixtures.h"

using namespace sanstls;
using namespace sanstls::test;
using sanstls::blocking::Milliseconds;
using sanstls::blocking::Stream;
using sanstls::epoll::CloseReason;
using sanstls::epoll::Conn;
using sanstls::epoll::Loop;

namespace {

constexpr Milliseconds kOp{20000};  // bounds a broken test only

std::unique_ptr<Loop> make_loop() {
  auto loop = Loop::create();
  REQUIRE(loop);
  return std::move(loop).value();
}

// Runs `loop` until something stops it, at most kOp.
void run_bounded(Loop& loop) {
  std::promise<void> done;
  std::thread guard([&loop, finished = done.get_future()]() mutable {
    if (finished.wait_for(kOp) == std::future_status::timeout) loop.stop();
  });
  REQUIRE_FALSE(loop.run());
  done.set_value();
  guard.join();
}

struct Listener {
  int fd = -1;
  uint16_t port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), length) == 0 &&
        ::listen(fd, 4) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port = ntohs(address.sin_port);
    }
  }
  ~Listener() {
    if (fd >= 0) ::close(fd);
  }
};

std::string read_head(int fd) {
  std::string head;
  char c = 0;
  while (head.size() < 4096 && ::recv(fd, &c, 1, 0) == 1) {
    head += c;
    if (head.size() >= 4 && head.compare(head.size() - 4, 4, "\r\n\r\n") == 0) break;
  }
  return head;
}

// One connection: reads the head, answers `reply`; with `origin`, then the
// TLS server echoing one message. `hold` keeps a silent proxy's socket open.
struct FakeProxy {
  Listener listener;
  std::string request;
  std::string echoed;
  std::promise<void> release;
  std::thread thread;

  FakeProxy(std::string reply, const Config* origin) {
    thread = std::thread([this, reply, origin, released = release.get_future()]() mutable {
      const int fd = ::accept(listener.fd, nullptr, nullptr);
      if (fd < 0) return;
      request = read_head(fd);
      if (!reply.empty()) (void)::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
      if (origin == nullptr) {
        released.wait_for(kOp);
        ::close(fd);
        return;
      }
      auto wrapped = Stream::wrap_server(fd, *origin);
      if (!wrapped || wrapped->handshake(kOp)) return;
      uint8_t buffer[64];
      auto n = wrapped->read(MutableByteView(buffer, sizeof buffer), kOp);
      if (!n || n.value() == 0) return;
      echoed.assign(reinterpret_cast<const char*>(buffer), n.value());
      (void)wrapped->write_all(ByteView(buffer, n.value()), kOp);
      (void)wrapped->shutdown(kOp);
    });
  }
  ~FakeProxy() {
    release.set_value();
    thread.join();
  }
};

// Sends "ping" once secure, records the echo and how the connection ended.
class Recorder : public epoll::Handler {
 public:
  explicit Recorder(Loop& loop) : loop_(loop) {}
  void on_secure(Conn& conn) override {
    secure = true;
    conn.write(ByteView("ping"));
  }
  void on_data(Conn& conn, ByteView data) override {
    received.append(reinterpret_cast<const char*>(data.data()), data.size());
    if (received == "ping") conn.close();
  }
  void on_close(Conn& conn, CloseReason why, const Error& e) override {
    peer = conn.peer_address();
    reason = why;
    error = e;
    closed = true;
    loop_.stop();
  }
  bool secure = false;
  bool closed = false;
  std::string received;
  std::string peer;
  CloseReason reason = CloseReason::clean;
  Error error;

 private:
  Loop& loop_;
};

}  // namespace

TEST_CASE("epoll watch: a pipe's readiness, rewatch, unwatch from the callback",
          "[tunnel][epoll]") {
  auto loop = make_loop();
  int fds[2];
  REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
  int calls = 0;
  uint64_t id = 0;
  auto watched = loop->watch(fds[0], EPOLLIN, [&](uint32_t events) {
    ++calls;
    CHECK((events & EPOLLIN) != 0);
    char c = 0;
    CHECK(::read(fds[0], &c, 1) == 1);
    if (c == 'a') {
      // Interest off: the second byte is not reported until it is back on.
      CHECK_FALSE(loop->rewatch(id, 0));
      CHECK(::write(fds[1], "b", 1) == 1);
      loop->post([&] {
        CHECK(calls == 1);
        CHECK_FALSE(loop->rewatch(id, EPOLLIN));
      });
      return;
    }
    loop->unwatch(id);  // itself, from its own callback
    loop->stop();
  });
  REQUIRE(watched);
  id = watched.value();
  REQUIRE(::write(fds[1], "a", 1) == 1);
  run_bounded(*loop);
  CHECK(calls == 2);
  CHECK(loop->rewatch(id, EPOLLIN).code() == ErrorCode::invalid_argument);
  CHECK(loop->watch(-1, EPOLLIN, [](uint32_t) {}).error().code() == ErrorCode::invalid_argument);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("epoll connect_through_proxy: TLS inside the tunnel, with Basic credentials",
          "[tunnel][epoll]") {
  Sources sources;
  const Config origin = build_or_fail(server_builder(sources));
  const Config client = build_or_fail(client_builder(sources));
  FakeProxy proxy("HTTP/1.1 200 Connection established\r\n\r\n", &origin);
  REQUIRE(proxy.listener.port != 0);
  auto loop = make_loop();
  auto recorder = std::make_shared<Recorder>(*loop);
  // The proxy by name: resolved off the loop thread (localhost is 127.0.0.1
  // in /etc/hosts, where the fake proxy listens).
  epoll::ProxyRoute route{
      "localhost", proxy.listener.port, tunnel::BasicCredentials{"alice", "s3cret"}, {}};
  REQUIRE_FALSE(
      loop->connect_through_proxy(route, "origin.example", 443, client, "localhost", recorder));
  run_bounded(*loop);
  CHECK(recorder->secure);
  CHECK(recorder->received == "ping");
  CHECK(recorder->error.ok());
  CHECK(recorder->peer == "127.0.0.1:" + std::to_string(proxy.listener.port));
  CHECK(proxy.request.rfind("CONNECT origin.example:443 HTTP/1.1\r\n", 0) == 0);
  CHECK(proxy.request.find("Proxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n") != std::string::npos);
  CHECK(loop->counters().connected == 1);
  CHECK(loop->counters().secure == 1);
}

TEST_CASE("epoll connect_through_proxy: each failure reaches on_close, named", "[tunnel][epoll]") {
  Sources sources;
  const Config client = build_or_fail(client_builder(sources));
  struct Case {
    const char* reply;
    ErrorCode code;
    Stage stage;
    CloseReason reason;
  };
  const Case cases[] = {
      {"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n",
       ErrorCode::proxy_refused, Stage::proxy, CloseReason::error},
      {"HTTP/1.1 403 Forbidden\r\n\r\n", ErrorCode::proxy_refused, Stage::proxy,
       CloseReason::error},
      {"\x15\x03\x03\x00\x02\x02\x28", ErrorCode::proxy_bad_reply, Stage::proxy,
       CloseReason::error},
      {"", ErrorCode::timed_out, Stage::proxy, CloseReason::timeout},  // a silent proxy
  };
  for (const Case& c : cases) {
    FakeProxy proxy(c.reply, nullptr);
    auto loop = make_loop();
    auto recorder = std::make_shared<Recorder>(*loop);
    epoll::ConnOptions options;
    options.handshake_limit_ms = 300;
    REQUIRE_FALSE(loop->connect_through_proxy({"127.0.0.1", proxy.listener.port, {}, {}},
                                              "origin.example", 443, client, "localhost", recorder,
                                              options));
    run_bounded(*loop);
    INFO(c.reply);
    CHECK(recorder->closed);
    CHECK_FALSE(recorder->secure);
    CHECK(recorder->reason == c.reason);
    CHECK(recorder->error.code() == c.code);
    CHECK(recorder->error.stage() == c.stage);
  }
  {
    // The proxy closes without a reply.
    Listener closing;
    std::thread closer([&] {
      const int fd = ::accept(closing.fd, nullptr, nullptr);
      if (fd >= 0) {
        read_head(fd);
        ::close(fd);
      }
    });
    auto loop = make_loop();
    auto recorder = std::make_shared<Recorder>(*loop);
    REQUIRE_FALSE(loop->connect_through_proxy({"127.0.0.1", closing.port, {}, {}}, "a", 443, client,
                                              "localhost", recorder));
    run_bounded(*loop);
    closer.join();
    CHECK(recorder->error.code() == ErrorCode::proxy_closed);
    CHECK(recorder->error.stage() == Stage::proxy);
  }
  {
    // Nothing listens: the TCP connect to the proxy fails at stage connect.
    uint16_t dead = 0;
    {
      Listener gone;
      dead = gone.port;
    }
    auto loop = make_loop();
    auto recorder = std::make_shared<Recorder>(*loop);
    REQUIRE_FALSE(loop->connect_through_proxy({"127.0.0.1", dead, {}, {}}, "a", 443, client,
                                              "localhost", recorder));
    run_bounded(*loop);
    CHECK(recorder->error.code() == ErrorCode::connection_refused);
    CHECK(recorder->error.stage() == Stage::connect);
    CHECK(std::string(recorder->error.message()).find("(proxy)") != std::string::npos);
  }
  {
    // A proxy name that does not resolve: stage resolve, through on_close.
    auto loop = make_loop();
    auto recorder = std::make_shared<Recorder>(*loop);
    REQUIRE_FALSE(loop->connect_through_proxy({"sanstls-no-such-proxy.invalid", 3128, {}, {}}, "a",
                                              443, client, "localhost", recorder));
    run_bounded(*loop);
    CHECK(recorder->error.code() == ErrorCode::name_not_found);
    CHECK(recorder->error.stage() == Stage::resolve);
    CHECK(std::string(recorder->error.message()).find("(proxy)") != std::string::npos);
  }
  // Refused at once: a bad target.
  auto loop = make_loop();
  auto recorder = std::make_shared<Recorder>(*loop);
  CHECK(loop->connect_through_proxy({"127.0.0.1", 3128, {}, {}}, "a b", 443, client, "a", recorder)
            .code() == ErrorCode::invalid_argument);
}
