// An epoll(7) event loop (Linux) over the sans-I/O core: one Loop per thread
// serves many non-blocking TLS connections. It uses only the core's public
// API, like the blocking adapter, and reports errors the same way: stage
// connect for accept/listen failures, transport for the byte stream (resets,
// truncation, idle timeouts), handshake for handshake time limits, and the
// engine's own errors unchanged.
//
// Threads: a Loop and its connections belong to the thread that calls run().
// listen(), adopt() and connect() are called on that thread (from a handler,
// or from post()), or while run() is not running. stop(), post() and
// counters() are safe from any thread; stop() is also async-signal-safe.
// Several cores: one Loop per thread, each listening on the same port with
// ListenOptions::reuse_port (the kernel spreads connections over them);
// Workers does exactly that.
//
// Time: the loop's clock is CLOCK_MONOTONIC in milliseconds (now_ms()); the
// handshake limit and the idle timeout run on it. The engine's own timers
// (Config::handshake_timeout, close_timeout) are deadlines on the Config's
// Clock, which is wall-clock time (platform::system_clock() is
// CLOCK_REALTIME; certificate validity needs it). Pass that same Clock as
// ConnOptions::timer_clock: the loop converts the engine's deadline into its
// own clock (deadline - timer_clock.now_ms() from now) and calls
// on_timer(timer_clock.now_ms()) once it passes. Without a timer_clock the
// engine's timers are not driven (a Config on a ManualClock stays under the
// caller's control).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <thread>

#include "sanstls/config.h"
#include "sanstls/connection.h"
#include "sanstls/sources.h"
#include "sanstls/tunnel.h"

namespace sanstls::epoll {

// Why a connection ended (Handler::on_close).
enum class CloseReason : uint8_t {
  clean,      // close_notify (ours and/or the peer's, as the Config's close_timeout asks)
  truncated,  // the transport ended before the peer's close_notify
  reset,      // ECONNRESET/EPIPE, or the application's abort()
  timeout,    // handshake limit, idle timeout, or the engine's handshake timer
  error,      // any other failure (the engine's, or the socket's)
};

const char* close_reason_name(CloseReason reason) noexcept;

class Conn;
class Loop;

// Per-connection callbacks, all on the loop thread; every one may call
// Conn's methods (write, pause_reading, close, abort...). After on_close
// the Conn is gone: keep no reference to it.
class Handler {
 public:
  virtual ~Handler() = default;
  // The handshake completed; conn.info() is meaningful.
  virtual void on_secure(Conn& conn) { (void)conn; }
  // Decrypted application data. `data` is valid only during the call.
  virtual void on_data(Conn& conn, ByteView data) {
    (void)conn;
    (void)data;
  }
  // Each engine event (Connection::next_event(): session tickets, warning
  // alerts, renegotiated, peer_closed...), as it is taken from the engine.
  virtual void on_event(Conn& conn, const Event& event) {
    (void)conn;
    (void)event;
  }
  // A write() was refused, and the queue has since fallen to the low-water
  // mark.
  virtual void on_drain(Conn& conn) { (void)conn; }
  // Exactly once per connection (handshake failures included). `error` is
  // ok() for CloseReason::clean.
  virtual void on_close(Conn& conn, CloseReason reason, const Error& error) {
    (void)conn;
    (void)reason;
    (void)error;
  }
};

// Makes the Handler of each accepted connection.
using HandlerFactory = std::function<std::shared_ptr<Handler>()>;

struct ConnOptions {
  // The whole handshake must complete within this many ms of accept/adopt
  // (slowloris); 0 = no limit. Expiry: CloseReason::timeout, ETIMEDOUT
  // (ErrorCode::timed_out), stage handshake.
  uint32_t handshake_limit_ms = 10000;
  // No byte received or sent for this long ends the connection; 0 = none.
  // Expiry: CloseReason::timeout, ETIMEDOUT, stage transport (handshake
  // before it completes).
  uint32_t idle_timeout_ms = 0;
  // Plaintext Conn::write() may queue beyond what the engine holds: a
  // write that would take the queue past high_water is refused (whole), and
  // on_drain fires once it falls to low_water.
  size_t high_water = 256 * 1024;
  size_t low_water = 64 * 1024;
  // The Config's Clock, to drive the engine's timers (see "Time" above).
  Clock* timer_clock = nullptr;
  // Once a connection has nothing in flight, free the engine's record
  // buffers (Connection::release_buffers(), ~33 KB per quiet connection);
  // the next bytes allocate them again.
  bool release_idle_buffers = true;
  // Servers whose SNI selector answers later(): called once, on the loop
  // thread, with the Conn (info().server_name is the name asked for); answer
  // with Conn::provide_config() or Conn::reject_server_name(), in the call or
  // later (from a post() task). Without it such a handshake fails
  // (ERR_INVALID_ARG_VALUE, stage handshake).
  std::function<void(Conn&)> on_server_name_requested;
  // After a connection ends with an error or a timeout (the fatal alert, or
  // an application's last words written to fd() in on_close, are sent),
  // the socket is half-closed and what the peer still sends is read and
  // dropped for up to this many ms before it is closed: closing with unread
  // input makes the kernel send a TCP reset, which can destroy those last
  // words before the peer reads them. 0: close at once. Lingering sockets
  // are no longer connections (no callbacks, not counted as open).
  uint32_t linger_ms = 0;
  // close() sends close_notify and goes on reading, a TCP-style half-close:
  // on_data continues until the peer's close_notify or its end of stream
  // (both a clean end), bounded by the idle timeout if any. Needs a Config
  // with close_timeout 0 (a bidirectional close waits for the peer anyway).
  // Clients that say "that is all" and then read the answer (`sanstls client`).
  bool half_close = false;
};

struct ListenOptions : ConnOptions {
  int backlog = 511;
  // SO_REUSEPORT: several Loops (threads, processes) listen on the same
  // port and the kernel spreads the connections over them.
  bool reuse_port = false;
  // When set, each accepted connection takes the slot's current Config
  // (ConfigSlot::load(): a reload on SIGHUP reaches new connections, running
  // ones keep theirs) instead of listen()'s `config`. It must outlive the Loop.
  const ConfigSlot* config_slot = nullptr;
};

// An HTTP or HTTPS proxy for Loop::connect_through_proxy (CONNECT,
// sanstls/tunnel.h).
struct ProxyRoute {
  // The proxy: an IP literal, or a name resolved on the Loop's resolver
  // thread (the loop never blocks on DNS); every address is tried in order.
  std::string address;
  uint16_t port = 0;
  std::optional<tunnel::BasicCredentials> credentials;       // Proxy-Authorization: Basic
  std::vector<std::pair<std::string, std::string>> headers;  // extra CONNECT headers
  // An HTTPS proxy: when not null, TLS to the proxy first with this client
  // Config (its CA verifies the proxy's certificate; kept by reference: it
  // must outlive the connection), then CONNECT and the origin's TLS inside
  // that connection, two engines stacked (docs/tunnels.md).
  const Config* tls = nullptr;
  std::string tls_server_name = {};  // SNI and verified name of the proxy; default: address
};

// How a connection made by connect_through_proxy went through its proxy
// (Conn::proxy()), readable in every callback, on_close included.
struct ProxyInfo {
  std::string address;  // the proxy's socket address, "127.0.0.1:3128" (or the name asked for)
  bool tls = false;     // an HTTPS proxy
  // The CONNECT reply: status (0 when no complete status line arrived),
  // reason phrase, and a 407's first Proxy-Authenticate field.
  int status = 0;
  std::string reason;
  std::string proxy_authenticate;
  // The error given to on_close is the proxy's own TLS connection failing
  // (its certificate, its handshake, its records), not the origin's: it
  // keeps its stage and name, and its message starts "proxy <address>: ".
  bool proxy_tls_failed = false;
};

// The loop's counters, in the vocabulary of Node.js servers ('connection',
// 'secureConnection', 'tlsClientError', 'close'). Gauges
// (handshakes_in_progress, open) and totals. A snapshot: Loop::counters()
// and Workers::counters_snapshot() copy them, from any thread.
struct Counters {
  uint64_t accepted = 0;  // TCP connections accepted by listeners
  // Accepted and closed at once because the process was out of file
  // descriptors (EMFILE/ENFILE; the loop keeps a reserve descriptor for it).
  uint64_t refused_no_descriptors = 0;
  uint64_t adopted = 0;                 // adopt() calls that made a connection
  uint64_t connected = 0;               // connect() calls whose TCP connect succeeded
  uint64_t handshakes_in_progress = 0;  // gauge
  uint64_t open = 0;                    // gauge: connections alive
  uint64_t secure = 0;                  // handshakes completed
  uint64_t closed_clean = 0;
  uint64_t closed_truncated = 0;
  uint64_t closed_reset = 0;
  uint64_t closed_timed_out = 0;
  uint64_t closed_error = 0;
  // Connections that ended with an error, by Error::name() ("ETIMEDOUT",
  // "ERR_SSL_UNEXPECTED_EOF_WHILE_READING", ...).
  std::map<std::string, uint64_t> errors_by_name;
  // The subset that ended before the handshake completed (Node's
  // 'tlsClientError'), by Error::name().
  std::map<std::string, uint64_t> handshake_errors_by_name;
  uint64_t bytes_in = 0;   // TCP bytes received (ciphertext)
  uint64_t bytes_out = 0;  // TCP bytes sent

  // Adds `other` (gauges and totals alike): the sum over several Loops.
  Counters& operator+=(const Counters& other);
  // Handshakes that failed: the sum of handshake_errors_by_name.
  uint64_t tls_client_errors() const noexcept;
};

// One connection. Owned by its Loop; the Handler gets references to it.
class Conn {
 public:
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Queues plaintext (sent once the handshake completes). Returns false, and
  // takes nothing, when queued() + data.size() would exceed high_water (a
  // write larger than high_water is always refused: split it), or after
  // close()/abort() or once our close_notify is out (the engine's write side
  // closed). on_drain follows a refusal at high_water.
  bool write(ByteView data);
  // Plaintext accepted by write() that the engine has not taken yet.
  size_t queued() const noexcept { return out_.size() - out_head_; }
  // Bytes held for write() (capacity of its queue): 0 once drained.
  size_t write_queue_capacity() const noexcept { return out_.capacity(); }
  // Stop delivering on_data: the engine is no longer fed and the socket no
  // longer read (EPOLLIN off). resume_reading() undoes it.
  void pause_reading();
  void resume_reading();
  bool reading_paused() const noexcept { return paused_; }
  // Graceful: flushes queued writes, sends close_notify, then ends with
  // CloseReason::clean (after the peer's close_notify if the Config's
  // close_timeout asks for it).
  void close();
  // Ends now with a TCP reset (SO_LINGER 0): on_close(reset) follows.
  void abort();
  // Answers a deferred SNI selector (ConnOptions::on_server_name_requested)
  // and lets the handshake go on: Connection::provide_config() /
  // reject_server_name().
  Error provide_config(const Config& config);
  void reject_server_name();
  // Runs the engine's loop again soon: after calling connection() directly
  // (renegotiate(), close()...) from outside a callback.
  void wake();

  const ConnectionInfo& info() const noexcept { return connection_.info(); }
  Connection& connection() noexcept { return connection_; }
  const Connection& connection() const noexcept { return connection_; }
  // "127.0.0.1:443" / "[::1]:443" of the peer, when known.
  const std::string& peer_address() const noexcept { return peer_address_; }
  uint64_t id() const noexcept { return id_; }
  int fd() const noexcept { return fd_; }
  // Made by connect_through_proxy: how the proxy answered; null otherwise.
  const ProxyInfo* proxy() const noexcept { return proxied_ ? &proxied_->info : nullptr; }
  // Through an HTTPS proxy: the TLS connection to the proxy that carries
  // ours (its info() names the proxy's certificate); null otherwise.
  const Connection* proxy_connection() const noexcept {
    return proxied_ && proxied_->carrier ? &*proxied_->carrier : nullptr;
  }
  Loop& loop() noexcept { return *loop_; }
  Handler& handler() noexcept { return *handler_; }

 private:
  friend class Loop;
  Conn(Loop* loop, uint64_t id, int fd, Connection connection, std::shared_ptr<Handler> handler,
       const ConnOptions& options, int64_t now_ms);
  void release_write_queue();

  // A connection through a proxy; with an HTTPS proxy, the proxy's TLS
  // (the carrier) runs on the socket and ours runs inside it: received
  // ciphertext goes socket -> carrier_inbox -> carrier -> inbox_, and our
  // records go out as the carrier's plaintext (epoll_proxy.cpp).
  struct Proxied {
    ProxyInfo info;
    std::optional<Connection> carrier;
    std::vector<uint8_t> carrier_inbox;  // socket bytes the carrier has not taken
    bool socket_eof = false;             // recv() returned 0 (eof_: the carrier's stream ended)
  };

  Loop* loop_;
  uint64_t id_;
  int fd_;
  Connection connection_;
  std::shared_ptr<Handler> handler_;
  ConnOptions options_;
  std::string peer_address_;
  std::vector<uint8_t> inbox_;  // received ciphertext the engine has not taken
  std::vector<uint8_t> out_;    // plaintext from write() not yet taken by the engine
  size_t out_head_ = 0;
  int64_t started_ms_ = 0;
  int64_t last_activity_ms_ = 0;
  int64_t timer_at_ = -1;  // earliest deadline in the heap for this Conn; -1: none
  uint64_t timer_generation_ = 0;
  uint32_t interest_ = 0;  // epoll events registered
  bool paused_ = false;
  bool want_write_ = false;  // the socket refused output: EPOLLOUT
  bool eof_ = false;         // recv() returned 0
  bool secure_ = false;
  bool closing_ = false;      // close() called
  bool peer_closed_ = false;  // the peer's close_notify arrived; ours follows the last data
  bool drain_owed_ = false;   // a write was refused
  bool dead_ = false;
  bool dirty_ = false;       // queued for pump
  bool connecting_ = false;  // Loop::connect(): waiting for the TCP connect
  bool sni_asked_ = false;   // on_server_name_requested was called
  bool resolving_ = false;   // Loop::connect(): waiting for the resolver thread (fd_ is -1)
  // Loop::connect() until the TCP connect succeeds: the host asked for, and
  // its addresses, tried in order (the next after each failure).
  struct Dialing {
    std::string host;
    std::vector<std::vector<uint8_t>> addresses;  // sockaddr bytes
    size_t next = 0;
  };
  std::unique_ptr<Dialing> dialing_;
  std::unique_ptr<Proxied> proxied_;  // connect_through_proxy only
};

class Loop {
 public:
  // epoll_create1 + eventfd; fails with the errno (stage internal).
  static Result<std::unique_ptr<Loop>> create();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;
  // Closes every connection and listener without callbacks.
  ~Loop();

  // Runs until stop(). A stop() before run() makes run() return at once;
  // run() then clears the request. Returns an error only if epoll_wait fails.
  Error run();
  // Asks run() to return (eventfd write). Thread- and async-signal-safe.
  void stop() noexcept;
  // Asks run() to return once no connection is open and no socket lingers
  // (ConnOptions::linger_ms): the last words reach their peers. Listeners
  // keep accepting meanwhile. Thread- and async-signal-safe.
  void stop_when_drained() noexcept;
  // Runs `task` on the loop thread (soon, inside run()). Thread-safe.
  void post(std::function<void()> task);

  // Binds and listens (port 0 picks one); returns the port. Accepted
  // connections are TLS servers with `config` (kept by reference: it must
  // outlive the Loop) and a Handler from `factory`.
  Result<uint16_t> listen(const std::string& host, uint16_t port, const Config& config,
                          HandlerFactory factory, ListenOptions options = {});
  // Takes ownership of a connected socket (made non-blocking) and runs TLS
  // on it as `role` (`server_name`: the client's SNI / verified name). The fd
  // is closed on failure too.
  Error adopt(int fd, const Config& config, Role role, const std::string& server_name,
              std::shared_ptr<Handler> handler, ConnOptions options = {});

  // Outbound: a TLS client to `host` (a numeric IPv4/IPv6 address, or a
  // name resolved on the Loop's resolver thread, so the loop never blocks on
  // DNS), connected without blocking; `server_name` is for SNI and
  // verification. Every address the name resolves to is tried in the
  // resolver's order, the next one after each failed TCP connect (::1
  // refused, then 127.0.0.1). Failures come through on_close
  // (CloseReason::error): a name that does not resolve with stage resolve
  // (ENOTFOUND), a refused connect with stage connect (ECONNREFUSED...; with
  // several addresses, the last one's failure, its message saying how many
  // were tried). The handshake limit counts from here, every address
  // included. Returns an error at once only for a missing handler or a
  // Connection that cannot be made.
  Error connect(const std::string& host, uint16_t port, const Config& config,
                const std::string& server_name, std::shared_ptr<Handler> handler,
                ConnOptions options = {});
  // The same with a client Connection made by the caller: one resuming a
  // saved session (Connection::client(config, name, blob)), maybe with 0-RTT
  // data already written (write_early_data()). It must not have run yet.
  Error connect(const std::string& host, uint16_t port, Connection connection,
                std::shared_ptr<Handler> handler, ConnOptions options = {});

  // Outbound through an HTTP or HTTPS proxy (src/adapters/epoll_proxy.cpp):
  // TCP to the proxy (a name is resolved off the loop thread, each address
  // tried in order), with ProxyRoute::tls the TLS handshake with the proxy,
  // then `CONNECT host:port` (the proxy resolves `host`, which may be a
  // name), then TLS inside the tunnel as connect() does, with the proxy's
  // bytes after its reply fed to the engine first. Through an HTTPS proxy
  // the two engines stack: our records are the proxy connection's plaintext;
  // the write queue, pause_reading() and the memory bounds work as on a
  // direct connection (each layer holds at most one receive). The Conn (and
  // its handshake limit) begins once the tunnel is open; until then the
  // exchange has its own limit of options.handshake_limit_ms. Failures come
  // through on_close (CloseReason::error, or timeout) with a Conn that never
  // carried TLS (Conn::proxy() tells how far it got): stage resolve for the
  // proxy's name, connect for the TCP connect to the proxy, the proxy's own
  // TLS failures keep their stage and name (certificate, handshake...) with
  // ProxyInfo::proxy_tls_failed set and "proxy <address>: " in the message,
  // and stage proxy for the exchange (ERR_PROXY_REFUSED, ERR_PROXY_CLOSED,
  // ERR_PROXY_BAD_REPLY, ETIMEDOUT). Returns an error at once only for a
  // request ConnectClient refuses, a Connection that cannot be made (stage
  // config) or a socket that cannot be made.
  Error connect_through_proxy(const ProxyRoute& proxy, const std::string& host, uint16_t port,
                              const Config& config, const std::string& server_name,
                              std::shared_ptr<Handler> handler, ConnOptions options = {});
  // The same with a client Connection made by the caller (a saved session).
  Error connect_through_proxy(const ProxyRoute& proxy, const std::string& host, uint16_t port,
                              Connection connection, std::shared_ptr<Handler> handler,
                              ConnOptions options = {});

  // Name resolution for connect() and proxy names, run on the resolver
  // thread: the numeric IPv4/IPv6 addresses of `host`, in the order to try
  // them, or an error (reported through on_close as it is; stage resolve
  // fits). Default: getaddrinfo (AF_UNSPEC, AI_ADDRCONFIG) in the system's
  // order (RFC 6724, /etc/gai.conf). Like Node's `lookup` option: service
  // discovery, a cache, tests. Set it before the first connect() to a name.
  using Lookup = std::function<Result<std::vector<std::string>>(const std::string& host)>;
  void set_lookup(Lookup lookup) { lookup_ = std::move(lookup); }

  // Plain file descriptors on the loop (src/adapters/epoll_watch.cpp): a
  // proxy's upstream sockets, a timerfd, a pipe. `on_ready` runs on the loop
  // thread with the epoll events (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP,
  // EPOLLERR) while the watch lasts; it may rewatch() or unwatch() any watch,
  // itself included. The Loop never reads, writes or closes a watched
  // descriptor: unwatch() before closing it. Level-triggered. Errors: the
  // epoll_ctl errno (stage internal); unknown ids are ERR_INVALID_ARG_VALUE.
  using WatchCallback = std::function<void(uint32_t events)>;
  Result<uint64_t> watch(int fd, uint32_t events, WatchCallback on_ready);
  Error rewatch(uint64_t watch_id, uint32_t events);
  void unwatch(uint64_t watch_id);

  // A snapshot of the counters. Thread-safe.
  Counters counters() const;
  Counters counters_snapshot() const { return counters(); }
  size_t connection_count() const noexcept { return conns_.size(); }
  // The Conn whose engine the calling thread's Loop is driving right now, or
  // nullptr: lets Config callbacks that carry no connection (key log, trace)
  // attribute their call to one.
  static Conn* current_conn() noexcept;
  // CLOCK_MONOTONIC, ms.
  static int64_t now_ms() noexcept;

 private:
  friend class Conn;
  struct Listener {
    int fd = -1;
    const Config* config = nullptr;
    HandlerFactory factory;
    ListenOptions options;
  };
  struct Lingering {
    int fd = -1;
    int64_t until = 0;
  };
  struct LiveCounters;
  struct Resolver;
  struct Timer {
    int64_t at;
    uint64_t id;
    uint64_t generation;
    bool operator>(const Timer& other) const noexcept { return at > other.at; }
  };

  struct Watch {
    int fd = -1;
    WatchCallback on_ready;
  };
  // epoll tags: 0 the eventfd, kListenerTag|index, kWatchTag|id, else a Conn id.
  static constexpr uint64_t kWatchTag = uint64_t{1} << 61;  // 63: listeners, 62: lingering sockets

  Loop(int epoll_fd, int event_fd) noexcept;
  void watch_ready(uint64_t watch_id, uint32_t events);
  void count_connected() noexcept;  // for epoll_proxy.cpp (the counters live in epoll.cpp)
  void count_bytes(uint64_t in, uint64_t out) noexcept;
  // Socket addresses (sockaddr bytes), in the order to try them.
  using SocketAddresses = std::vector<std::vector<uint8_t>>;
  static SocketAddresses numeric_addresses(const std::string& host, uint16_t port);
  // getaddrinfo (or lookup_) on the resolver thread; `done` runs on the
  // loop thread with the addresses, or the error (stage resolve; `label`
  // follows the name in its message).
  void resolve(const std::string& host, uint16_t port, const char* label,
               std::function<void(const Error&, SocketAddresses)> done);
  struct ProxyDial;
  void proxy_dial_next(const std::shared_ptr<ProxyDial>& dial, const Error& last_failure);
  void proxy_dial_ready(const std::shared_ptr<ProxyDial>& dial, uint32_t events);
  void proxy_dial_exchange(const std::shared_ptr<ProxyDial>& dial, uint32_t events);
  void proxy_dial_tls(const std::shared_ptr<ProxyDial>& dial);
  void proxy_dial_end(const std::shared_ptr<ProxyDial>& dial, const Error& error);
  // Through an HTTPS proxy (epoll_proxy.cpp): the carrier between the
  // socket and our engine.
  void carried_receive(Conn& conn);
  bool carried_send(Conn& conn);
  bool carrier_lift(Conn& conn);
  void close_carrier(Conn& conn);
  static bool carrier_has_output(const Conn& conn) noexcept;
  Error add_conn(int fd, Connection connection, std::shared_ptr<Handler> handler,
                 const ConnOptions& options, bool connecting = false);
  void accept_ready(Listener& listener);
  void conn_ready(Conn& conn, uint32_t events);
  void receive(Conn& conn);
  bool send_pending(Conn& conn);
  void pump(Conn& conn);
  bool deliver_events(Conn& conn);
  void mark_dirty(Conn& conn);
  void run_dirty();
  void run_timers();
  void fire_timer(Conn& conn, int64_t now);
  int64_t deadline_of(const Conn& conn) const;
  void schedule(Conn& conn);
  void update_interest(Conn& conn);
  void finish(Conn& conn, CloseReason reason, const Error& error);
  void finish_engine_error(Conn& conn);
  void run_posted();
  void count_close(CloseReason reason, const Error& error, bool secure);
  void linger(int fd, uint32_t ms);
  void linger_ready(uint64_t tag);
  void connect_next(Conn& conn, Error failure);
  Error start_connect(Conn& conn, const std::vector<uint8_t>& address);
  void resolved(uint64_t id, const Error& error, SocketAddresses addresses);
  bool accept_without_descriptors(Listener& listener);

  int epoll_fd_;
  int event_fd_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> drain_requested_{false};
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::vector<std::unique_ptr<Conn>> graveyard_;  // freed after each event batch
  std::vector<Timer> timers_;                     // min-heap on `at`
  std::vector<uint64_t> dirty_;
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
  std::vector<uint8_t> buffer_;  // one receive / one plaintext read at a time
  uint64_t next_id_ = 1;
  std::unique_ptr<LiveCounters> counters_;
  std::unordered_map<uint64_t, Lingering> lingering_;  // by tag (kLingerTag | id)
  int reserve_fd_ = -1;                 // closed to accept (and refuse) when out of descriptors
  std::shared_ptr<Resolver> resolver_;  // started by the first connect() to a name
  Lookup lookup_;
  std::unordered_map<uint64_t, std::shared_ptr<Watch>> watches_;
  uint64_t next_watch_id_ = 1;
};

// N Loops, each on its own thread, listening on the same port with
// SO_REUSEPORT: the kernel spreads connections over them, and each runs its
// connections without locks. A connection stays on the thread that accepted it.
class Workers {
 public:
  // `count` 0: one per core (std::thread::hardware_concurrency()).
  static Result<std::unique_ptr<Workers>> create(size_t count);
  ~Workers();  // stops and joins
  // Listens on every Loop (reuse_port set); port 0 picks one free port, the
  // same for all. Call before start().
  Result<uint16_t> listen(const std::string& host, uint16_t port, const Config& config,
                          HandlerFactory factory, ListenOptions options = {});
  // Runs each Loop on its own thread.
  void start();
  // Asks every Loop to return (thread- and async-signal-safe), then join().
  void stop() noexcept;
  // Loop::stop_when_drained() on every Loop.
  void stop_when_drained() noexcept;
  void join();
  // The counters of every Loop, summed. Thread-safe.
  Counters counters_snapshot() const;
  size_t size() const noexcept { return loops_.size(); }
  Loop& loop(size_t index) noexcept { return *loops_[index]; }
  // The first error a Loop's run() returned (epoll_wait failing), if any.
  Error error() const;

 private:
  Workers() = default;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;
  Error error_;
};

}  // namespace sanstls::epoll
