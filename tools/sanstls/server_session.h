// One connection of `sanstls server` on the epoll Loop: the handshake (its
// timeouts are the engine's timer and the loop's limit), then --echo or
// --www, then close_notify. When it ends, one log line ("conn N from ADDR:
// ...") and the server's statistics are updated.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "sanstls/adapters/epoll.h"
#include "tls_config.h"

namespace sanstls_cli {

enum class ServeMode { echo, www };

struct ServeOptions {
  ServeMode mode = ServeMode::echo;
  uint32_t handshake_timeout_ms = 120000;  // --handshake-timeout, for the log text
  bool early_data = false;  // --early-data: log 0-RTT, serve it as the request's start
  KeyingMaterialRequest keying_material;  // --export-keying-material: log it
  bool renegotiation = false;             // --renegotiation: log renegotiations=N (TLS 1.2)
  uint64_t exit_after = 0;                // --exit-after: accept N connections, then stop
};

// What every worker thread shares: the per-connection log and the `stats:`
// line (connections as the CLI sees them: a handshake timeout is named
// ERR_TLS_HANDSHAKE_TIMEOUT whichever timer fired).
class ServerState {
 public:
  ServerState(ServeOptions options, std::function<void()> stop_all)
      : options_(std::move(options)), stop_all_(std::move(stop_all)) {}
  const ServeOptions& options() const noexcept { return options_; }

  // For the Loop's HandlerFactory: null once --exit-after connections were accepted.
  std::shared_ptr<sanstls::epoll::Handler> make_handler();
  // A connection ended: log it, count it, stop after the --exit-after'th.
  void finished(uint64_t number, const std::string& line, bool secure,
                const std::string& error_name);
  // "stats: accepted=3 secure=1 failed=2 (ERR_SSL_HTTP_REQUEST=1, ERR_SSL_PEER_ALERT=1)"
  std::string stats_line() const;

 private:
  ServeOptions options_;
  std::function<void()> stop_all_;
  std::atomic<uint64_t> accepted_{0};
  mutable std::mutex mutex_;
  uint64_t finished_ = 0;
  uint64_t secure_ = 0;
  std::map<std::string, uint64_t> failed_;  // by error name
};

// The Config's key log callback calls this for each CLIENT_RANDOM line (one
// per TLS 1.2 handshake, renegotiations included): the engine has no
// renegotiation event, so the connection the loop is driving counts it.
void note_master_secret();

// "counters: tcp_accepted=... handshakes_in_progress=... secure=... ..." (--stats).
std::string counters_line(const sanstls::epoll::Counters& counters);

// One line to stdout, flushed; whole lines from several threads.
void say(const std::string& line);

}  // namespace sanstls_cli
