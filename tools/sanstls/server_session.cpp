#include "server_session.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "describe.h"

namespace sanstls_cli {
namespace {

using sanstls::Error;
using sanstls::ErrorCode;
using sanstls::Stage;
using sanstls::blocking::Milliseconds;
using sanstls::blocking::Stream;

constexpr Milliseconds kSlice{250};  // how often long waits look at the stop flag
constexpr size_t kMaxRequestHead = 16 * 1024;

const char kPlainHttpBody[] =
    "400 Bad Request: the plain HTTP request was sent to a TLS port.\n"
    "\n"
    "This port speaks TLS directly on the socket (there is no plain HTTP here and no\n"
    "STARTTLS). Use an https:// URL, for example: curl --cacert ca.pem https://HOST:PORT/\n";

struct Counters {
  uint64_t in = 0;
  uint64_t out = 0;
  std::string bytes_text() const {
    return std::to_string(in) + " bytes in, " + std::to_string(out) + " bytes out";
  }
};

// Half-closes and drains what the peer still sends (bounded, ~1 s) before
// the descriptor is closed: closing with unread input makes the kernel send
// a TCP reset, which can destroy our last words (an alert, an HTTP reply)
// before the peer reads them.
void linger_close(int fd) {
  ::shutdown(fd, SHUT_WR);
  char sink[4096];
  for (int rounds = 0; rounds < 20; ++rounds) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    if (::recv(fd, sink, sizeof sink, 0) <= 0) break;
  }
}

// Answers a plain-HTTP client in its own language, then closes gently
// (half-close and drain, so the reply is not destroyed by a TCP reset).
void answer_plain_http(int fd) {
  const std::string body = kPlainHttpBody;
  const std::string response = "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                               "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  size_t sent = 0;
  for (int attempts = 0; sent < response.size() && attempts < 100; ++attempts) {
    const ssize_t n = ::send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 100) < 0) break;
  }
  linger_close(fd);
}

bool stopping(const ServeOptions& options) { return options.stop != nullptr && *options.stop != 0; }

// Reads with short slices so the stop flag and the idle timeout are honoured.
// Returns bytes read, 0 when the peer closed, or an error.
sanstls::Result<size_t> read_some(Stream& stream, sanstls::MutableByteView buffer,
                                  const ServeOptions& options) {
  Milliseconds idle{0};
  for (;;) {
    auto n = stream.read(buffer, kSlice);
    while (stream.connection().next_event()) {
    }
    if (n || n.error().code() != ErrorCode::timed_out) return n;
    idle += kSlice;
    if (stopping(options)) return Error(ErrorCode::timed_out, Stage::transport, "server stopping");
    if (idle >= options.idle_timeout) {
      return Error(ErrorCode::timed_out, Stage::transport, "idle timeout (--idle-timeout)");
    }
  }
}

// close_notify and a bounded wait for the peer's.
std::string close_text(Stream& stream, const Counters& counters) {
  const Error error = stream.shutdown(Milliseconds(2000));
  if (!error) return "closed cleanly, " + counters.bytes_text();
  return "closed (" + error_text(error) + "), " + counters.bytes_text();
}

std::string ended_text(const Error& error, const Counters& counters) {
  return "ended: " + error_text(error) + ", " + counters.bytes_text();
}

// After the engine failed (e.g. ERR_TLS_KEY_UPDATE_UNSUPPORTED), the fatal
// alert it queued still has to reach the peer: Stream::read() returns the
// error without sending it.
std::string failed_text(Stream& stream, const Error& error, const Counters& counters) {
  if (!stream.connection().error().ok() && !stream.connection().pending_output().empty()) {
    (void)stream.shutdown(Milliseconds(500));  // flushes the alert
    linger_close(stream.fd());
  }
  return ended_text(error, counters);
}

std::string echo(Stream& stream, const ServeOptions& options, const std::string& early) {
  Counters counters;
  if (!early.empty()) {
    counters.in += early.size();
    if (Error error = stream.write_all(early, options.idle_timeout)) return ended_text(error, counters);
    counters.out += early.size();
  }
  uint8_t buffer[16384];
  for (;;) {
    auto n = read_some(stream, sanstls::MutableByteView(buffer, sizeof buffer), options);
    if (!n) return failed_text(stream, n.error(), counters);
    if (n.value() == 0) return close_text(stream, counters);
    counters.in += n.value();
    if (Error error = stream.write_all(sanstls::ByteView(buffer, n.value()), options.idle_timeout)) {
      return ended_text(error, counters);
    }
    counters.out += n.value();
  }
}

size_t head_end(const std::string& request) {
  const size_t crlf = request.find("\r\n\r\n");
  if (crlf != std::string::npos) return crlf + 4;
  const size_t lf = request.find("\n\n");
  return lf == std::string::npos ? std::string::npos : lf + 2;
}

std::string www(Stream& stream, const ServeOptions& options, const std::string& early) {
  Counters counters;
  std::string request = early;
  counters.in += early.size();
  uint8_t buffer[4096];
  while (head_end(request) == std::string::npos) {
    if (request.size() > kMaxRequestHead) {
      const std::string reply = "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\n\r\n"
                                "request head larger than 16 KiB\n";
      if (!stream.write_all(reply, options.idle_timeout)) counters.out += reply.size();
      return "request head too large; " + close_text(stream, counters);
    }
    auto n = read_some(stream, sanstls::MutableByteView(buffer, sizeof buffer), options);
    if (!n) return failed_text(stream, n.error(), counters);
    if (n.value() == 0) return "peer closed before a full request; " + close_text(stream, counters);
    counters.in += n.value();
    request.append(reinterpret_cast<const char*>(buffer), n.value());
  }
  request.resize(head_end(request));
  const std::string body = www_page(stream.connection().info(), stream.peer_address(), request);
  const std::string response = "HTTP/1.0 200 ok\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                               "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  if (Error error = stream.write_all(response, options.idle_timeout)) return ended_text(error, counters);
  counters.out += response.size();
  return close_text(stream, counters);
}

}  // namespace

ServeOutcome serve_connection(Stream& stream, const ServeOptions& options) {
  ServeOutcome outcome;
  const uint64_t secrets_before = options.master_secrets ? options.master_secrets->load() : 0;
  // The engine's timer fires first; the adapter's deadline is a backstop.
  Error error = stream.handshake(options.handshake_timeout + Milliseconds(2000));
  if (error.code() == ErrorCode::timed_out && error.stage() == Stage::handshake) {
    char text[Error::kMessageCapacity];
    std::snprintf(text, sizeof text, "no complete TLS handshake within %.3g s (--handshake-timeout)",
                  static_cast<double>(options.handshake_timeout.count()) / 1000.0);
    error = Error(ErrorCode::handshake_timeout, Stage::handshake, text);
  }
  if (error) {
    outcome.handshake_error = error;
    outcome.description = "handshake failed " + error_text(error);
    if (error.code() == ErrorCode::http_request) {
      answer_plain_http(stream.fd());
      outcome.description += "; answered with HTTP 400";
    } else if (error.code() != ErrorCode::handshake_timeout) {
      linger_close(stream.fd());  // let the peer read our alert
    }
    return outcome;
  }
  outcome.secure = true;
  std::string brief = connection_brief(stream.connection().info());
  std::string early;
  if (options.early_data) {
    // All 0-RTT data has arrived once the handshake is complete (it precedes
    // the client's EndOfEarlyData and Finished). A real application would
    // apply a replay policy here; tickets are single-use for 0-RTT.
    uint8_t buffer[4096];
    for (size_t n; (n = stream.connection().read_early_data(sanstls::MutableByteView(buffer, sizeof buffer))) > 0;) {
      early.append(reinterpret_cast<const char*>(buffer), n);
    }
    brief += stream.connection().info().early_data.accepted
                 ? " early-data=accepted (" + std::to_string(early.size()) + " bytes)"
                 : std::string(" early-data=none");
  }
  if (!options.keying_material.label.empty()) {
    auto material = export_keying_material(stream.connection(), options.keying_material);
    brief += " ekm=" + (material ? material.value() : std::string("error:") + material.error().name());
  }
  const std::string result =
      options.mode == ServeMode::www ? www(stream, options, early) : echo(stream, options, early);
  if (options.master_secrets != nullptr &&
      stream.connection().info().version == sanstls::TlsVersion::tls1_2) {
    const uint64_t secrets = options.master_secrets->load() - secrets_before;
    brief += " renegotiations=" + std::to_string(secrets > 0 ? secrets - 1 : 0);
  }
  outcome.description = brief + ": " + result;
  return outcome;
}

}  // namespace sanstls_cli
