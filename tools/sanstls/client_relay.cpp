#include "client_relay.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>

#include "describe.h"

namespace sanstls_cli {
namespace {

using sanstls::ByteView;
using sanstls::Error;
using sanstls::epoll::CloseReason;
using sanstls::epoll::Conn;

constexpr size_t kChunk = 16384;
constexpr uint32_t kGraceMs = 500;  // after a timeout: our close_notify's last chance

// Writes to stdout what it takes without blocking (PIPE_BUF at a time, each
// after poll() says there is room); returns the bytes written, or `size`
// when stdout is gone (the data is dropped, as a closed pipe would).
size_t write_stdout_some(const uint8_t* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    pollfd p{STDOUT_FILENO, POLLOUT, 0};
    if (::poll(&p, 1, 0) <= 0) break;
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) return size;
    const ssize_t n = ::write(STDOUT_FILENO, data + done, std::min<size_t>(PIPE_BUF, size - done));
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno != EINTR && errno != EAGAIN) {
      return size;
    }
  }
  return done;
}

}  // namespace

bool ClientSink::deliver(const uint8_t* data, size_t size) {
  bytes += size;
  if (capture) {
    const size_t room = kMaxReceivedInJson - std::min(kMaxReceivedInJson, captured.size());
    captured.append(reinterpret_cast<const char*>(data), std::min(room, size));
    return true;
  }
  if (!stdout_pollable) {  // a file or a terminal: plain blocking writes
    std::fwrite(data, 1, size, stdout);
    std::fflush(stdout);
    return true;
  }
  if (!pending.empty()) {
    pending.insert(pending.end(), data, data + size);
    return false;
  }
  const size_t written = write_stdout_some(data, size);
  pending.assign(data + written, data + size);
  return pending.empty();
}

bool ClientSink::flush_some() {
  const size_t written = write_stdout_some(pending.data(), pending.size());
  pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(written));
  return pending.empty();
}

void ClientSink::flush_all() {
  size_t done = 0;
  while (done < pending.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, pending.data() + done, pending.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (!(n < 0 && errno == EINTR)) {
      break;
    }
  }
  pending.clear();
}

ClientSession::ClientSession(sanstls::epoll::Loop& loop, DataPhase phase, ClientSink& sink)
    : loop_(loop), phase_(std::move(phase)), sink_(sink) {
  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer_fd_ >= 0) {
    auto watched = loop_.watch(timer_fd_, EPOLLIN, [this](uint32_t) { timer_fired(); });
    if (watched) timer_watch_ = watched.value();
  }
}

ClientSession::~ClientSession() {
  if (timer_fd_ >= 0) ::close(timer_fd_);
}

void ClientSession::detach() {
  if (timer_watch_ != 0) loop_.unwatch(timer_watch_);
  if (stdin_watch_ != 0) loop_.unwatch(stdin_watch_);
  if (stdout_watch_ != 0) loop_.unwatch(stdout_watch_);
  timer_watch_ = stdin_watch_ = stdout_watch_ = 0;
  stdin_open_ = false;
}

void ClientSession::arm(uint32_t ms) {
  if (timer_fd_ < 0) return;
  itimerspec at{};
  at.it_value.tv_sec = ms / 1000;
  at.it_value.tv_nsec = static_cast<long>(ms % 1000) * 1000000L + (ms == 0 ? 1 : 0);
  ::timerfd_settime(timer_fd_, 0, &at, nullptr);
}

void ClientSession::on_secure(Conn& conn) {
  conn_ = &conn;
  secure_ = true;
  outcome_.peer_address = conn.peer_address();
  outcome_.info = conn.info();
  if (on_connected) {
    if (Error error = on_connected(conn)) {
      outcome_.error = error;
      return conn.abort();
    }
  }
  if (!phase_.early_rest.empty()) (void)conn.write(ByteView(phase_.early_rest));
  if (phase_.send && !phase_.send->empty()) {
    const ByteView data(*phase_.send);
    // Into the engine now, so that a renegotiation starts after it.
    const size_t taken = phase_.early_rest.empty() ? conn.connection().write(data) : 0;
    if (taken < data.size()) (void)conn.write(data.skip(taken));
  }
  if (phase_.renegotiate) {
    if (conn.info().version != sanstls::TlsVersion::tls1_2) {
      std::fputs(
          "sanstls: not renegotiating: TLS 1.3 has no renegotiation (use --max-version 1.2)\n",
          stderr);
    } else if (!conn.connection().renegotiate()) {
      std::fputs("sanstls: cannot start a renegotiation now\n", stderr);
    } else {
      step_ = Step::renegotiating;
      arm(phase_.timeout_ms);
      return;
    }
  }
  begin_exchange();
}

void ClientSession::on_event(Conn&, const sanstls::Event& event) {
  if (event.kind != sanstls::EventKind::renegotiated) return;
  outcome_.renegotiated = true;
  if (step_ == Step::renegotiating) begin_exchange();
}

void ClientSession::begin_exchange() {
  step_ = Step::exchanging;
  if (phase_.send) {
    // Said all we had: close_notify (the Conn reads on: ConnOptions::half_close),
    // then read until the server closes; each read waits up to the timeout.
    if (phase_.half_close) conn_->close();
    arm(phase_.timeout_ms);
    return;
  }
  stdin_open_ = true;
  auto watched = loop_.watch(STDIN_FILENO, EPOLLIN, [this](uint32_t) { read_stdin(); });
  if (watched) {
    stdin_pollable_ = true;
    stdin_watch_ = watched.value();
  } else {
    // A regular file or /dev/null (epoll refuses them): always readable.
    stdin_pollable_ = false;
    loop_.post([this] { read_stdin(); });
  }
}

void ClientSession::read_stdin() {
  if (!stdin_open_ || stdin_waiting_ || conn_ == nullptr) return;
  uint8_t buffer[kChunk];
  for (int round = 0; round < (stdin_pollable_ ? 1 : 16); ++round) {
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;  // level-triggered: again
    if (n <= 0) return stdin_ended();
    if (!conn_->write(ByteView(buffer, static_cast<size_t>(n)))) {
      // The queue is at its high-water mark: hold the chunk, stop reading
      // stdin until on_drain.
      held_.assign(buffer, buffer + n);
      stdin_waiting_ = true;
      if (stdin_watch_ != 0) (void)loop_.rewatch(stdin_watch_, 0);
      return;
    }
  }
  if (!stdin_pollable_) loop_.post([this] { read_stdin(); });
}

void ClientSession::stdin_ended() {
  stdin_open_ = false;
  if (stdin_watch_ != 0) loop_.unwatch(stdin_watch_);
  stdin_watch_ = 0;
  // End of standard input: say so with close_notify, keep reading until the
  // server closes, at most the timeout.
  if (phase_.half_close) conn_->close();
  arm(phase_.timeout_ms);
}

void ClientSession::on_drain(Conn& conn) {
  if (!stdin_waiting_) return;
  if (!conn.write(ByteView(held_))) return;
  held_.clear();
  stdin_waiting_ = false;
  if (stdin_watch_ != 0) {
    (void)loop_.rewatch(stdin_watch_, EPOLLIN);
  } else {
    loop_.post([this] { read_stdin(); });
  }
}

void ClientSession::on_data(Conn& conn, ByteView data) {
  if (!sink_.deliver(data.data(), data.size())) {
    // stdout is full: stop reading the connection until it drains.
    conn.pause_reading();
    if (stdout_watch_ == 0) {
      auto watched = loop_.watch(STDOUT_FILENO, EPOLLOUT, [this](uint32_t) {
        if (!sink_.flush_some()) return;
        loop_.unwatch(stdout_watch_);
        stdout_watch_ = 0;
        if (conn_ != nullptr) conn_->resume_reading();
      });
      if (watched) {
        stdout_watch_ = watched.value();
      } else {
        sink_.flush_all();  // cannot be watched: block instead
        conn.resume_reading();
      }
    }
  }
  if (step_ == Step::exchanging && phase_.send) arm(phase_.timeout_ms);  // per read
}

void ClientSession::timer_fired() {
  uint64_t expirations = 0;
  ssize_t ignored = ::read(timer_fd_, &expirations, sizeof expirations);
  (void)ignored;
  switch (step_) {
    case Step::renegotiating:
      std::fputs("sanstls: the renegotiation did not complete within --timeout\n", stderr);
      return begin_exchange();
    case Step::exchanging:
      std::fprintf(stderr, "sanstls: stopped after %.3g s without the peer closing (--timeout)\n",
                   static_cast<double>(phase_.timeout_ms) / 1000.0);
      return end_quietly();
    case Step::grace:
      step_ = Step::done;
      detach();
      return loop_.stop();
    case Step::handshake:
    case Step::done:
      return;
  }
}

void ClientSession::end_quietly() {
  timed_out_ = true;
  if (phase_.send && conn_ != nullptr) {
    // As a blocking shutdown with a short timeout: our close_notify, a last
    // chance for the server's.
    conn_->close();
    step_ = Step::grace;
    return arm(kGraceMs);
  }
  step_ = Step::done;
  detach();
  loop_.stop();
}

void ClientSession::on_close(Conn& conn, CloseReason, const Error& error) {
  if (!timed_out_ && error && outcome_.error.ok()) outcome_.error = error;
  if (conn.proxy() != nullptr) outcome_.proxy = *conn.proxy();
  if (outcome_.peer_address.empty()) outcome_.peer_address = conn.peer_address();
  if (secure_) {
    outcome_.info = conn.info();  // tickets and 0-RTT acceptance arrive after on_secure
    if (on_ending) on_ending(conn);
  }
  conn_ = nullptr;
  step_ = Step::done;
  detach();
  loop_.stop();
}

}  // namespace sanstls_cli
