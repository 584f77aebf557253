// A test driver for the epoll Loop through a proxy (epoll_https_proxy_test.py):
// one Loop::connect_through_proxy, the payload read from stdin written with
// the Conn's bounded queue (refused at high water, resumed on drain), reading
// paused once mid-reply and resumed from a timerfd, and everything received
// written to stdout; one JSON line on stderr says how it went.
//
//   epoll_proxy_probe --proxy HOST:PORT [--proxy-ca FILE] [--proxy-servername NAME]
//                     [--auth USER:PASS] --connect HOST:PORT --ca FILE
//                     --servername NAME --version 1.2|1.3 [--expect BYTES]
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "sanstls/adapters/epoll.h"
#include "sanstls/platform.h"

using namespace sanstls;

namespace {

constexpr size_t kHighWater = 16 * 1024;  // small, so the payload meets it
constexpr size_t kLowWater = 4 * 1024;
constexpr size_t kChunk = 6000;

std::string json_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out;
}

struct Probe : epoll::Handler {
  epoll::Loop* loop = nullptr;
  std::string payload;
  size_t sent = 0;
  size_t expect = 0;
  std::string received;
  bool secure = false;
  bool closed = false;
  size_t refusals = 0, drains = 0, max_queued = 0, data_while_paused = 0;
  bool paused_once = false;
  int timer_fd = -1;
  uint64_t timer_watch = 0;
  epoll::CloseReason reason = epoll::CloseReason::clean;
  Error error;
  std::string protocol;
  bool authorized = false;
  epoll::ProxyInfo proxy;
  std::string proxy_protocol;

  void push(epoll::Conn& conn) {
    while (sent < payload.size()) {
      const size_t n = std::min(kChunk, payload.size() - sent);
      if (!conn.write(ByteView(reinterpret_cast<const uint8_t*>(payload.data()) + sent, n))) {
        ++refusals;
        return;  // on_drain resumes
      }
      sent += n;
      max_queued = std::max(max_queued, conn.queued());
    }
  }
  void on_secure(epoll::Conn& conn) override {
    secure = true;
    protocol = conn.info().protocol;
    authorized = conn.info().authorized;
    if (conn.proxy_connection() != nullptr) {
      proxy_protocol = conn.proxy_connection()->info().protocol;
    }
    push(conn);
  }
  void on_drain(epoll::Conn& conn) override {
    ++drains;
    push(conn);
  }
  void on_data(epoll::Conn& conn, ByteView data) override {
    if (conn.reading_paused()) ++data_while_paused;
    received.append(reinterpret_cast<const char*>(data.data()), data.size());
    if (!paused_once && received.size() >= expect / 2) {
      // Pause mid-reply; a timer resumes reading 100 ms later.
      paused_once = true;
      conn.pause_reading();
      timer_fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
      itimerspec at{};
      at.it_value.tv_nsec = 100 * 1000000L;
      ::timerfd_settime(timer_fd, 0, &at, nullptr);
      const uint64_t id = conn.id();
      auto watched = loop->watch(timer_fd, EPOLLIN, [this, &conn, id](uint32_t) {
        loop->unwatch(timer_watch);
        if (!closed && conn.id() == id) conn.resume_reading();
      });
      if (watched) timer_watch = watched.value();
    }
    if (received.size() >= expect) conn.close();
  }
  void on_close(epoll::Conn& conn, epoll::CloseReason why, const Error& e) override {
    closed = true;
    reason = why;
    error = e;
    if (conn.proxy() != nullptr) proxy = *conn.proxy();
    loop->stop();
  }
};

bool split_host_port(const std::string& text, std::string* host, uint16_t* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  *host = text.substr(0, colon);
  if (host->size() > 1 && host->front() == '[') *host = host->substr(1, host->size() - 2);
  *port = static_cast<uint16_t>(std::atoi(text.c_str() + colon + 1));
  return *port != 0;
}

Result<Config> client_config(const std::string& ca_file, TlsVersion max) {
  auto ca = platform::read_file(ca_file);
  if (!ca) return ca.error();
  return ConfigBuilder(Role::client)
      .versions(TlsVersion::tls1_2, max)
      .trust_anchors(ByteView(ca.value()))
      .peer_verification(PeerVerification::required)
      .random(platform::os_random())
      .clock(platform::system_clock())
      .build();
}

}  // namespace

int main(int argc, char** argv) {
  std::string proxy_at, proxy_ca, proxy_name, auth, connect_to, ca, server_name, version = "1.3";
  size_t expect = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--proxy")
      proxy_at = value;
    else if (flag == "--proxy-ca")
      proxy_ca = value;
    else if (flag == "--proxy-servername")
      proxy_name = value;
    else if (flag == "--auth")
      auth = value;
    else if (flag == "--connect")
      connect_to = value;
    else if (flag == "--ca")
      ca = value;
    else if (flag == "--servername")
      server_name = value;
    else if (flag == "--version")
      version = value;
    else if (flag == "--expect")
      expect = std::strtoul(value.c_str(), nullptr, 10);
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  epoll::ProxyRoute route;
  std::string host;
  uint16_t port = 0;
  if (!split_host_port(proxy_at, &route.address, &route.port) ||
      !split_host_port(connect_to, &host, &port)) {
    std::fprintf(stderr, "--proxy and --connect take HOST:PORT\n");
    return 2;
  }
  if (!auth.empty()) {
    const size_t colon = auth.find(':');
    route.credentials = tunnel::BasicCredentials{auth.substr(0, colon), auth.substr(colon + 1)};
  }
  const TlsVersion max = version == "1.2" ? TlsVersion::tls1_2 : TlsVersion::tls1_3;
  auto origin_config = client_config(ca, max);
  if (!origin_config) {
    std::fprintf(stderr, "config: %s\n", origin_config.error().message());
    return 2;
  }
  std::optional<Config> proxy_config;
  if (!proxy_ca.empty()) {
    auto made = client_config(proxy_ca, TlsVersion::tls1_3);
    if (!made) {
      std::fprintf(stderr, "proxy config: %s\n", made.error().message());
      return 2;
    }
    proxy_config.emplace(std::move(made).value());
    route.tls = &*proxy_config;
    route.tls_server_name = proxy_name;
  }
  auto loop = epoll::Loop::create();
  if (!loop) return 2;
  auto probe = std::make_shared<Probe>();
  probe->loop = loop.value().get();
  probe->payload.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  probe->expect = expect != 0 ? expect : probe->payload.size();
  epoll::ConnOptions options;
  options.high_water = kHighWater;
  options.low_water = kLowWater;
  options.handshake_limit_ms = 15000;
  options.timer_clock = &platform::system_clock();
  if (Error e = loop.value()->connect_through_proxy(route, host, port, origin_config.value(),
                                                    server_name, probe, options)) {
    std::fprintf(stderr,
                 "{\"ok\": false, \"error\": \"%s\", \"stage\": \"%s\", \"at_once\": true}\n",
                 e.name(), stage_name(e.stage()));
    return 1;
  }
  if (Error e = loop.value()->run()) return 2;
  std::cout.write(probe->received.data(), static_cast<std::streamsize>(probe->received.size()));
  std::cout.flush();
  const Probe& p = *probe;
  std::fprintf(
      stderr,
      "{\"ok\": %s, \"secure\": %s, \"reason\": \"%s\", \"error\": \"%s\", \"stage\": "
      "\"%s\", \"message\": \"%s\", \"protocol\": \"%s\", \"authorized\": %s, "
      "\"proxy_protocol\": \"%s\", \"proxy_status\": %d, \"proxy_tls\": %s, "
      "\"proxy_tls_failed\": %s, \"proxy_authenticate\": \"%s\", \"sent\": %zu, "
      "\"received\": %zu, \"refusals\": %zu, \"drains\": %zu, \"max_queued\": %zu, "
      "\"high_water\": %zu, \"paused_once\": %s, \"data_while_paused\": %zu}\n",
      p.error.ok() ? "true" : "false", p.secure ? "true" : "false",
      epoll::close_reason_name(p.reason), p.error.ok() ? "" : p.error.name(),
      p.error.ok() ? "" : stage_name(p.error.stage()), json_escape(p.error.message()).c_str(),
      p.protocol.c_str(), p.authorized ? "true" : "false", p.proxy_protocol.c_str(), p.proxy.status,
      p.proxy.tls ? "true" : "false", p.proxy.proxy_tls_failed ? "true" : "false",
      json_escape(p.proxy.proxy_authenticate).c_str(), p.sent, p.received.size(), p.refusals,
      p.drains, p.max_queued, kHighWater, p.paused_once ? "true" : "false", p.data_while_paused);
  if (p.timer_fd >= 0) ::close(p.timer_fd);
  return p.error.ok() ? 0 : 1;
}
