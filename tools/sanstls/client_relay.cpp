#include "client_relay.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

#include "describe.h"

namespace sanstls_cli {
namespace {

using sanstls::Error;
using sanstls::ErrorCode;
using sanstls::blocking::Milliseconds;
using sanstls::blocking::Stream;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kChunk = 16384;

// Events carry nothing the report needs (info() tracks tickets); drain them.
void drain_events(Stream& stream) {
  while (stream.connection().next_event()) {
  }
}

bool is_timeout(const Error& error) { return error.code() == ErrorCode::timed_out; }

void note_timeout(const DataPhase& phase) {
  std::fprintf(stderr, "sanstls: stopped after %.3g s without the peer closing (--timeout)\n",
               static_cast<double>(phase.timeout.count()) / 1000.0);
}

// After the peer's close_notify: answer with ours if not already sent.
Error finish_after_peer_close(Stream& stream) {
  if (stream.connection().wants().write_closed) {
    uint8_t sink[64];
    (void)stream.read(sanstls::MutableByteView(sink, sizeof sink), Milliseconds(0));  // flushes
    return Error();
  }
  return stream.shutdown(Milliseconds(2000));
}

// Reads whatever is available now without waiting. Returns true when the
// peer has closed; errors other than "nothing yet" go to *error.
bool read_available(Stream& stream, ClientSink& sink, Error* error) {
  uint8_t buffer[kChunk];
  for (;;) {
    auto n = stream.read(sanstls::MutableByteView(buffer, sizeof buffer), Milliseconds(0));
    drain_events(stream);
    if (!n) {
      if (!is_timeout(n.error())) *error = n.error();
      return false;
    }
    if (n.value() == 0) return true;
    sink.deliver(buffer, n.value());
  }
}

// One renegotiation, driven to completion: reads (delivering any data) in
// short slices until a new master secret was derived and the peer's
// Finished has been read (the line is quiet again), or an error, or the
// timeout. The engine has no "renegotiated" event, hence the key log count.
Error renegotiate_once(Stream& stream, const DataPhase& phase, ClientSink& sink) {
  if (phase.master_secrets == nullptr) return Error();
  *phase.renegotiated = false;
  if (stream.connection().info().version != sanstls::TlsVersion::tls1_2) {
    std::fputs("sanstls: not renegotiating: TLS 1.3 has no renegotiation (use --max-version 1.2)\n",
               stderr);
    return Error();
  }
  const uint64_t before = phase.master_secrets->load();
  if (!stream.connection().renegotiate()) {
    std::fputs("sanstls: cannot start a renegotiation now\n", stderr);
    return Error();
  }
  const auto deadline = SteadyClock::now() + phase.timeout;
  uint8_t buffer[kChunk];
  while (SteadyClock::now() < deadline) {
    auto n = stream.read(sanstls::MutableByteView(buffer, sizeof buffer), Milliseconds(100));
    drain_events(stream);
    if (n && n.value() > 0) {
      sink.deliver(buffer, n.value());
      continue;
    }
    if (n) return Error();  // the peer closed (its close_notify) mid-way
    if (!is_timeout(n.error())) return n.error();
    if (phase.master_secrets->load() != before) {
      *phase.renegotiated = true;
      return Error();
    }
  }
  std::fputs("sanstls: the renegotiation did not complete within --timeout\n", stderr);
  return Error();
}

}  // namespace

void ClientSink::deliver(const uint8_t* data, size_t size) {
  bytes += size;
  if (capture) {
    const size_t room = kMaxReceivedInJson - std::min(kMaxReceivedInJson, captured.size());
    captured.append(reinterpret_cast<const char*>(data), std::min(room, size));
    return;
  }
  std::fwrite(data, 1, size, stdout);
  std::fflush(stdout);
}

Error send_then_receive(Stream& stream, const std::string& data, const DataPhase& phase,
                        ClientSink& sink) {
  if (!data.empty()) {
    if (Error error = stream.write_all(data, phase.timeout)) return error;
  }
  if (Error error = renegotiate_once(stream, phase, sink)) return error;
  if (phase.half_close) stream.connection().close();
  uint8_t buffer[kChunk];
  for (;;) {
    auto n = stream.read(sanstls::MutableByteView(buffer, sizeof buffer), phase.timeout);
    drain_events(stream);
    if (!n) {
      if (!is_timeout(n.error())) return n.error();
      note_timeout(phase);
      (void)stream.shutdown(Milliseconds(500));
      return Error();
    }
    if (n.value() == 0) return finish_after_peer_close(stream);
    sink.deliver(buffer, n.value());
  }
}

Error relay_stdio(Stream& stream, const DataPhase& phase, ClientSink& sink) {
  if (Error error = renegotiate_once(stream, phase, sink)) return error;
  bool stdin_open = true;
  SteadyClock::time_point deadline{};
  uint8_t buffer[kChunk];
  for (;;) {
    Error error;
    if (read_available(stream, sink, &error)) return finish_after_peer_close(stream);
    if (error) return error;
    int wait_ms = -1;
    if (!stdin_open) {
      const auto left = std::chrono::duration_cast<Milliseconds>(deadline - SteadyClock::now());
      if (left.count() <= 0) {
        note_timeout(phase);
        return Error();
      }
      wait_ms = static_cast<int>(left.count());
    }
    pollfd fds[2] = {{stream.fd(), POLLIN, 0}, {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
    const int ready = ::poll(fds, 2, wait_ms);
    if (ready < 0 && errno != EINTR) {
      return Error(ErrorCode::transport_failed, sanstls::Stage::transport, "poll failed");
    }
    if (ready <= 0 || fds[1].revents == 0) continue;
    const ssize_t got = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got > 0) {
      if (Error e = stream.write_all(sanstls::ByteView(buffer, static_cast<size_t>(got)),
                                     phase.timeout)) {
        return e;
      }
      continue;
    }
    // End of standard input: say so with close_notify, keep reading.
    stdin_open = false;
    deadline = SteadyClock::now() + phase.timeout;
    if (phase.half_close) stream.connection().close();
  }
}

}  // namespace sanstls_cli
