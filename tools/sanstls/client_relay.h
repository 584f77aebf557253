// The client's connection on the epoll loop (include/sanstls/adapters/epoll.h):
// after the handshake, either send one string and read the answer (--send),
// or relay standard input to the connection (a Loop::watch on stdin) and the
// connection to standard output (reading paused while stdout is full).
// Received data goes to stdout, or is captured for the --json report.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sanstls/adapters/epoll.h"

namespace sanstls_cli {

struct ClientSink {
  bool capture = false;  // --json: keep (up to 64 KiB) instead of printing
  std::string captured;
  uint64_t bytes = 0;
  // Captures (--json) or writes to stdout; false when stdout cannot take
  // more without blocking (`data` is then queued in `pending`).
  bool deliver(const uint8_t* data, size_t size);
  // Writes what stdout takes now; true once nothing is pending.
  bool flush_some();
  // Writes everything pending, blocking (at exit).
  void flush_all();
  std::vector<uint8_t> pending;  // for stdout
  bool stdout_pollable = false;  // a pipe or a socket: writes are bounded by poll()
};

struct DataPhase {
  uint32_t timeout_ms = 30000;
  bool half_close = true;  // send close_notify once our side has nothing more to say
  bool renegotiate = false;
  std::optional<std::string> send;  // --send; otherwise stdin is relayed
  std::vector<uint8_t> early_rest;  // --early-data not taken as 0-RTT: sent after the handshake
};

// What happened, for the report.
struct ClientOutcome {
  sanstls::Error error;
  std::optional<sanstls::ConnectionInfo> info;  // once secure (copied at the end)
  std::string peer_address;
  std::optional<sanstls::epoll::ProxyInfo> proxy;
  bool renegotiated = false;
};

// The connection's Handler. It stops its Loop when the connection ends (or
// the data phase times out: not an error, as the blocking client had it).
class ClientSession : public sanstls::epoll::Handler {
 public:
  ClientSession(sanstls::epoll::Loop& loop, DataPhase phase, ClientSink& sink);
  ~ClientSession() override;
  // Called once secure, before any data: report, export... An error ends
  // the connection and becomes the outcome's.
  std::function<sanstls::Error(sanstls::epoll::Conn&)> on_connected;
  // Called as the connection ends, after a completed handshake (save the session).
  std::function<void(sanstls::epoll::Conn&)> on_ending;
  const ClientOutcome& outcome() const noexcept { return outcome_; }
  // Drops the session's watches (call once run() has returned, before the
  // Loop goes; on_close does it too).
  void detach();

  void on_secure(sanstls::epoll::Conn& conn) override;
  void on_event(sanstls::epoll::Conn& conn, const sanstls::Event& event) override;
  void on_data(sanstls::epoll::Conn& conn, sanstls::ByteView data) override;
  void on_drain(sanstls::epoll::Conn& conn) override;
  void on_close(sanstls::epoll::Conn& conn, sanstls::epoll::CloseReason reason,
                const sanstls::Error& error) override;

 private:
  enum class Step : uint8_t { handshake, renegotiating, exchanging, grace, done };
  void begin_exchange();
  void arm(uint32_t ms);
  void timer_fired();
  void read_stdin();
  void stdin_ended();
  void end_quietly();  // the data phase timed out: stop, without an error

  sanstls::epoll::Loop& loop_;
  DataPhase phase_;
  ClientSink& sink_;
  ClientOutcome outcome_;
  sanstls::epoll::Conn* conn_ = nullptr;  // until on_close
  bool secure_ = false;
  Step step_ = Step::handshake;
  int timer_fd_ = -1;
  uint64_t timer_watch_ = 0;
  int64_t renegotiation_deadline_ = 0;
  bool stdin_open_ = false;
  bool stdin_pollable_ = false;
  uint64_t stdin_watch_ = 0;
  bool stdin_waiting_ = false;  // a chunk the connection refused is held
  std::vector<uint8_t> held_;
  uint64_t stdout_watch_ = 0;
  bool timed_out_ = false;
};

}  // namespace sanstls_cli
