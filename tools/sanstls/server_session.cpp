#include "server_session.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "describe.h"

namespace sanstls_cli {
namespace {

using sanstls::ByteView;
using sanstls::Error;
using sanstls::ErrorCode;
using sanstls::Stage;
using sanstls::epoll::CloseReason;
using sanstls::epoll::Conn;

constexpr size_t kMaxRequestHead = 16 * 1024;
constexpr size_t kWriteChunk = 16 * 1024;  // well below the Conn's high-water mark

const char kPlainHttpBody[] =
    "400 Bad Request: the plain HTTP request was sent to a TLS port.\n"
    "\n"
    "This port speaks TLS directly on the socket (there is no plain HTTP here and no\n"
    "STARTTLS). Use an https:// URL, for example: curl --cacert ca.pem https://HOST:PORT/\n";

std::mutex g_say_mutex;

// Answers a plain-HTTP client in its own language. The socket is
// non-blocking and the reply small (it fits the socket buffer); the loop
// then half-closes it and drains the client's input (ConnOptions::linger_ms)
// so the reply is not destroyed by a TCP reset.
void answer_plain_http(int fd) {
  const std::string body = kPlainHttpBody;
  const std::string response =
      "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  (void)::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
}

size_t head_end(const std::string& request) {
  const size_t crlf = request.find("\r\n\r\n");
  if (crlf != std::string::npos) return crlf + 4;
  const size_t lf = request.find("\n\n");
  return lf == std::string::npos ? std::string::npos : lf + 2;
}

class ServerHandler final : public sanstls::epoll::Handler {
 public:
  ServerHandler(ServerState* state, uint64_t number) : state_(state), number_(number) {}

  void count_master_secret() { ++master_secrets_; }

  void on_secure(Conn& conn) override {
    secure_ = true;
    const ServeOptions& options = state_->options();
    brief_ = connection_brief(conn.info());
    std::string early;
    if (options.early_data) {
      // All 0-RTT data has arrived once the handshake is complete (it precedes
      // the client's EndOfEarlyData and Finished). A real application would
      // apply a replay policy here; tickets are single-use for 0-RTT.
      uint8_t buffer[4096];
      for (size_t n; (n = conn.connection().read_early_data(
                          sanstls::MutableByteView(buffer, sizeof buffer))) > 0;) {
        early.append(reinterpret_cast<const char*>(buffer), n);
      }
      brief_ += conn.info().early_data.accepted
                    ? " early-data=accepted (" + std::to_string(early.size()) + " bytes)"
                    : std::string(" early-data=none");
    }
    if (!options.keying_material.label.empty()) {
      auto material = export_keying_material(conn.connection(), options.keying_material);
      brief_ +=
          " ekm=" + (material ? material.value() : std::string("error:") + material.error().name());
    }
    if (!early.empty()) input(conn, early.data(), early.size());
  }

  void on_data(Conn& conn, ByteView data) override {
    input(conn, reinterpret_cast<const char*>(data.data()), data.size());
  }

  void on_drain(Conn& conn) override { flush(conn); }

  void on_close(Conn& conn, CloseReason reason, const Error& error) override {
    if (!secure_) return handshake_failed(conn, error);
    std::string result;
    if (state_->options().mode == ServeMode::www && !responded_ && reason == CloseReason::clean) {
      result = "peer closed before a full request; ";
    } else if (too_large_) {
      result = "request head too large; ";
    }
    result += reason == CloseReason::clean ? "closed cleanly, " + bytes_text()
                                           : "ended: " + error_text(error) + ", " + bytes_text();
    std::string brief = brief_;
    if (state_->options().renegotiation && conn.info().version == sanstls::TlsVersion::tls1_2) {
      brief += " renegotiations=" + std::to_string(master_secrets_ > 0 ? master_secrets_ - 1 : 0);
    }
    state_->finished(number_,
                     "conn " + std::to_string(number_) + " from " + conn.peer_address() + ": " +
                         brief + ": " + result,
                     true, "");
  }

 private:
  void handshake_failed(Conn& conn, Error error) {
    if (error.code() == ErrorCode::timed_out && error.stage() == Stage::handshake) {
      // The loop's limit (a backstop a little after the engine's timer).
      char text[Error::kMessageCapacity];
      std::snprintf(text, sizeof text,
                    "no complete TLS handshake within %.3g s (--handshake-timeout)",
                    static_cast<double>(state_->options().handshake_timeout_ms) / 1000.0);
      error = Error(ErrorCode::handshake_timeout, Stage::handshake, text);
    }
    std::string description = "handshake failed " + error_text(error);
    if (error.code() == ErrorCode::http_request) {
      answer_plain_http(conn.fd());
      description += "; answered with HTTP 400";
    }
    state_->finished(
        number_,
        "conn " + std::to_string(number_) + " from " + conn.peer_address() + ": " + description,
        false, error.ok() ? "closed" : error.name());
  }

  void input(Conn& conn, const char* data, size_t size) {
    in_ += size;
    if (state_->options().mode == ServeMode::echo) {
      held_.insert(held_.end(), data, data + size);
      return flush(conn);
    }
    if (responded_) return;  // the rest of the request (a body) is not read
    request_.append(data, size);
    const size_t end = head_end(request_);
    if (end == std::string::npos) {
      if (request_.size() <= kMaxRequestHead) return;
      too_large_ = true;
      respond(conn,
              "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\n\r\n"
              "request head larger than 16 KiB\n");
      return;
    }
    request_.resize(end);
    const std::string body = www_page(conn.info(), conn.peer_address(), request_);
    respond(conn,
            "HTTP/1.0 200 ok\r\nContent-Type: text/plain\r\nConnection: close\r\n"
            "Content-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
  }

  void respond(Conn& conn, const std::string& response) {
    responded_ = true;
    close_when_flushed_ = true;
    held_.insert(held_.end(), response.begin(), response.end());
    flush(conn);
  }

  // Hands held bytes to the Conn's bounded queue; when it refuses, stops
  // reading until on_drain (back-pressure: the peer's input waits in the
  // kernel, not here).
  void flush(Conn& conn) {
    while (held_head_ < held_.size()) {
      const size_t n = std::min(kWriteChunk, held_.size() - held_head_);
      if (!conn.write(ByteView(reinterpret_cast<const uint8_t*>(held_.data()) + held_head_, n))) {
        conn.pause_reading();
        return;
      }
      held_head_ += n;
      out_ += n;
    }
    held_.clear();
    held_head_ = 0;
    if (close_when_flushed_) return conn.close();
    if (conn.reading_paused()) conn.resume_reading();
  }

  std::string bytes_text() const {
    return std::to_string(in_) + " bytes in, " + std::to_string(out_) + " bytes out";
  }

  ServerState* state_;
  uint64_t number_;
  bool secure_ = false;
  bool responded_ = false;
  bool too_large_ = false;
  bool close_when_flushed_ = false;
  std::string brief_;
  std::string request_;
  std::vector<char> held_;  // echo or reply bytes the Conn's queue has not taken yet
  size_t held_head_ = 0;
  uint64_t in_ = 0;
  uint64_t out_ = 0;
  uint64_t master_secrets_ = 0;
};

}  // namespace

void say(const std::string& line) {
  std::lock_guard<std::mutex> lock(g_say_mutex);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

void note_master_secret() {
  // Every Conn of the server's loops has a ServerHandler.
  if (Conn* conn = sanstls::epoll::Loop::current_conn()) {
    static_cast<ServerHandler&>(conn->handler()).count_master_secret();
  }
}

std::shared_ptr<sanstls::epoll::Handler> ServerState::make_handler() {
  uint64_t number = accepted_.load();
  do {
    if (options_.exit_after != 0 && number >= options_.exit_after) return nullptr;
  } while (!accepted_.compare_exchange_weak(number, number + 1));
  return std::make_shared<ServerHandler>(this, number + 1);
}

void ServerState::finished(uint64_t number, const std::string& line, bool secure,
                           const std::string& error_name) {
  (void)number;
  bool stop = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (secure)
      ++secure_;
    else
      ++failed_[error_name];
    ++finished_;
    say(line);
    stop = options_.exit_after != 0 && finished_ >= options_.exit_after;
  }
  if (stop) stop_all_();
}

std::string ServerState::stats_line() const {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t total = 0;
  std::string reasons;
  for (const auto& [name, count] : failed_) {
    total += count;
    reasons += (reasons.empty() ? "" : ", ") + name + "=" + std::to_string(count);
  }
  std::string text = "stats: accepted=" + std::to_string(accepted_.load()) +
                     " secure=" + std::to_string(secure_) + " failed=" + std::to_string(total);
  return reasons.empty() ? text : text + " (" + reasons + ")";
}

std::string counters_line(const sanstls::epoll::Counters& c) {
  std::string errors;
  for (const auto& [name, count] : c.handshake_errors_by_name) {
    errors += (errors.empty() ? "" : ", ") + name + "=" + std::to_string(count);
  }
  std::string text = "counters: tcp_accepted=" + std::to_string(c.accepted) +
                     " handshakes_in_progress=" + std::to_string(c.handshakes_in_progress) +
                     " secure=" + std::to_string(c.secure) +
                     " tls_client_errors=" + std::to_string(c.tls_client_errors());
  if (!errors.empty()) text += " (" + errors + ")";
  return text + " open=" + std::to_string(c.open) +
         " closed_clean=" + std::to_string(c.closed_clean) +
         " closed_truncated=" + std::to_string(c.closed_truncated) +
         " closed_reset=" + std::to_string(c.closed_reset) +
         " closed_timed_out=" + std::to_string(c.closed_timed_out) +
         " closed_error=" + std::to_string(c.closed_error) +
         " bytes_in=" + std::to_string(c.bytes_in) + " bytes_out=" + std::to_string(c.bytes_out) +
         " refused_no_descriptors=" + std::to_string(c.refused_no_descriptors);
}

}  // namespace sanstls_cli
