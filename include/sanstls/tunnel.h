// A sans-I/O HTTP/1.1 CONNECT client (RFC 9110 9.3.6), for opening TLS
// through an HTTP proxy. Like the TLS engine it does no I/O and reads no
// clock: the caller sends pending_output() to the proxy, feeds the proxy's
// reply to feed(), and once state() is established hands leftover() (bytes
// the proxy sent after its reply: the first TLS bytes) to the TLS
// Connection's feed() before anything else it reads. See docs/tunnels.md.
//
// The reply is parsed as it arrives with a hard bound on its size. Failures
// are errors of Stage::proxy, never TLS errors: ERR_PROXY_REFUSED (a non-2xx
// status; status() and proxy_authenticate_scheme() tell more),
// ERR_PROXY_CLOSED (end of stream before a complete reply) and
// ERR_PROXY_BAD_REPLY (not HTTP/1.x, malformed, or over the bounds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sanstls/bytes.h"
#include "sanstls/error.h"
#include "sanstls/result.h"

namespace sanstls::tunnel {

// RFC 7617 Basic credentials; the user may not contain ':'.
struct BasicCredentials {
  std::string user;
  std::string password;
};

struct ConnectRequest {
  std::string host;  // a name, an IPv4 literal, or an IPv6 literal (bracketed or not)
  uint16_t port = 0;
  std::optional<BasicCredentials> credentials;  // sent as Proxy-Authorization: Basic
  // Sent after Host (and Proxy-Authorization), in order. Names are tokens;
  // values carry no CR, LF or NUL.
  std::vector<std::pair<std::string, std::string>> headers;
};

enum class ConnectState : uint8_t {
  sending,         // the request is not fully consumed yet
  awaiting_reply,  // request sent, the reply is incomplete
  established,     // a 2xx reply: the tunnel is open (hand leftover() to TLS)
  failed,          // see error()
};

const char* connect_state_name(ConnectState state) noexcept;

class ConnectClient {
 public:
  // Bounds on the proxy's reply: status lines and header fields together
  // (interim 1xx responses included), and header fields per response.
  static constexpr size_t kMaxReplyBytes = 16 * 1024;
  static constexpr size_t kMaxHeaderFields = 100;

  // Validates the request (ERR_INVALID_ARG_VALUE, stage config: an empty
  // host or one with characters a host cannot have, port 0, a user with ':',
  // a header name that is not a token or a value with CR/LF/NUL) and queues it.
  static Result<ConnectClient> create(const ConnectRequest& request);

  // The request bytes still to send, and acknowledging n of them sent.
  ByteView pending_output() const noexcept;
  void consume_output(size_t n) noexcept;

  // The proxy's bytes. Returns how many were taken (never more than
  // offered; 0 once established or failed). The call that completes a 2xx
  // reply takes all of `bytes` and keeps those after the reply in leftover().
  size_t feed(ByteView bytes) noexcept;
  // The proxy closed its side: before a complete reply that is ERR_PROXY_CLOSED.
  void transport_eof() noexcept;

  ConnectState state() const noexcept { return state_; }
  const Error& error() const noexcept { return error_; }
  // Bytes after the reply's blank line (empty unless established).
  ByteView leftover() const noexcept { return ByteView(leftover_); }
  // The final reply's status code (0 until one was read) and reason phrase.
  int status() const noexcept { return status_; }
  const std::string& reason() const noexcept { return reason_; }
  // The first Proxy-Authenticate field of a 407, whole and its scheme
  // ("Basic"); empty otherwise.
  const std::string& proxy_authenticate() const noexcept { return challenge_; }
  std::string proxy_authenticate_scheme() const;
  // The request target, "host:port" or "[v6]:port".
  const std::string& authority() const noexcept { return authority_; }

 private:
  ConnectClient() = default;
  void fail(ErrorCode code, const char* detail) noexcept;
  bool take_byte(uint8_t byte) noexcept;  // false: stop (reply complete or failed)
  bool end_of_line() noexcept;
  bool status_line(std::string_view line) noexcept;
  bool header_line(std::string_view line) noexcept;
  bool end_of_response() noexcept;

  std::string request_;
  size_t sent_ = 0;
  std::string authority_;
  ConnectState state_ = ConnectState::sending;
  Error error_;
  std::string line_;        // the current line, without its LF
  size_t reply_bytes_ = 0;  // over every response read
  bool in_headers_ = false;  // the status line of this response was read
  size_t header_fields_ = 0;
  int status_ = 0;
  std::string reason_;
  std::string challenge_;
  std::vector<uint8_t> leftover_;
};

}  // namespace sanstls::tunnel
