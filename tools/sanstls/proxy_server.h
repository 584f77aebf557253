// The CONNECT proxy behind `sanstls proxy` (docs/tunnels.md): one epoll Loop
// thread serves every tunnel; a resolver thread runs getaddrinfo so that a
// slow name never stalls the loop. Clients speak plain HTTP or, with a
// Config, TLS (an HTTPS proxy: the epoll adapter's Conn); the request is
// parsed by tunnel::ConnectRequestParser; upstream sockets are plain
// descriptors on Loop::watch. Each tunnel ends with one log line.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sanstls/adapters/epoll.h"
#include "sanstls/tunnel.h"

namespace sanstls_cli {

struct ProxySettings {
  std::optional<sanstls::tunnel::BasicCredentials> auth;  // required credentials (407 without)
  std::vector<std::pair<uint16_t, uint16_t>> allowed_ports{{443, 443}};  // ranges; 403 outside
  size_t max_connections = 512;        // beyond: refused at accept (plain: 503)
  int64_t request_timeout_ms = 10000;  // accept to a complete CONNECT (TLS handshake included): 408
  int64_t connect_timeout_ms = 10000;  // resolving + connecting upstream: 504
  int64_t idle_timeout_ms = 300000;    // an open tunnel with no byte either way: closed
  uint64_t exit_after = 0;             // stop after this many tunnels ended (0: never)
  // Log lines go here (stdout in the CLI), one per tunnel.
  std::function<void(const std::string&)> log;
};

struct ProxyStats {
  uint64_t accepted = 0;
  uint64_t established = 0;  // 200 sent
  uint64_t refused = 0;      // 4xx/5xx sent, or refused at accept
  uint64_t ended = 0;        // tunnels logged
  uint64_t bytes_up = 0;     // client to upstream
  uint64_t bytes_down = 0;   // upstream to client
};

struct ResolvedAddress {
  sockaddr_storage address{};
  socklen_t length = 0;
};

// getaddrinfo on a thread of its own; answers come back through Loop::post.
class Resolver {
 public:
  using Done = std::function<void(std::vector<ResolvedAddress>, std::string error)>;
  explicit Resolver(sanstls::epoll::Loop& loop);
  ~Resolver();  // joins the thread; answers not yet delivered are dropped
  void resolve(const std::string& host, uint16_t port, Done done);

 private:
  struct Job {
    std::string host;
    uint16_t port;
    Done done;
  };
  void run();
  sanstls::epoll::Loop& loop_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

class Proxy {
 public:
  // `tls`: the HTTPS proxy's server Config (null: plain). Kept by reference.
  Proxy(sanstls::epoll::Loop& loop, const sanstls::Config* tls, ProxySettings settings);
  ~Proxy();
  // Binds and watches the listening socket; the port (0 picks one).
  sanstls::Result<uint16_t> listen(const std::string& host, uint16_t port);
  const ProxyStats& stats() const noexcept { return stats_; }
  std::string stats_line() const;

 private:
  struct Tunnel;
  class ClientHandler;
  friend class ClientHandler;

  void accept_ready();
  void start_tls_client(int fd, const std::string& peer);
  void start_plain_client(int fd, const std::string& peer);
  Tunnel* find(uint64_t id);
  // The client's side.
  void client_bytes(Tunnel& t, sanstls::ByteView bytes);
  void client_finished_sending(Tunnel& t);
  void client_gone(Tunnel& t, const std::string& why);
  void plain_client_ready(uint64_t id, uint32_t events);
  void send_to_client(Tunnel& t, sanstls::ByteView bytes);
  void flush_to_client(Tunnel& t);
  void set_client_reading(Tunnel& t, bool on);
  // The CONNECT request and the way upstream.
  void request_complete(Tunnel& t);
  void reject(Tunnel& t, int status, const char* reason, const std::string& why);
  void connect_next(Tunnel& t);
  void upstream_ready(uint64_t id, uint32_t events);
  void upstream_connected(Tunnel& t);
  void flush_upstream(Tunnel& t);
  void read_upstream(Tunnel& t);
  void update_upstream_interest(Tunnel& t);
  // Timers and the end.
  void tick();
  void finish(Tunnel& t, const std::string& how);
  bool port_allowed(uint16_t port) const;

  sanstls::epoll::Loop& loop_;
  const sanstls::Config* tls_;
  ProxySettings settings_;
  Resolver resolver_;
  int listen_fd_ = -1;
  uint64_t listen_watch_ = 0;
  int timer_fd_ = -1;
  uint64_t timer_watch_ = 0;
  std::map<uint64_t, std::unique_ptr<Tunnel>> tunnels_;
  uint64_t next_id_ = 1;
  ProxyStats stats_;
};

}  // namespace sanstls_cli
