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
  std::string line_;         // the current line, without its LF
  size_t reply_bytes_ = 0;   // over every response read
  bool in_headers_ = false;  // the status line of this response was read
  size_t header_fields_ = 0;
  int status_ = 0;
  std::string reason_;
  std::string challenge_;
  std::vector<uint8_t> leftover_;
};

// ---------------------------------------------------------------- server side

// A sans-I/O parser for the request a proxy receives (the server side of
// CONNECT): bytes in, a verdict out, no I/O. feed() takes the request head
// up to and including its blank line and no further: the bytes after it
// (a client that pipelines its ClientHello) stay with the caller and belong
// to the tunnel. Bounded: kMaxRequestBytes for the head and kMaxHeaderFields.
// A failure carries the HTTP status to answer (reject_status()) and a
// detail for the log; nothing here is an engine error.
enum class RequestState : uint8_t {
  reading,   // the head is incomplete
  complete,  // a well-formed CONNECT host:port: see host(), port()
  failed,    // answer reject_status() and close
};

const char* request_state_name(RequestState state) noexcept;

class ConnectRequestParser {
 public:
  static constexpr size_t kMaxRequestBytes = 8 * 1024;
  static constexpr size_t kMaxHeaderFields = 100;

  // Returns how many bytes were taken: all of them while reading, up to the
  // end of the head when it completes, up to the offending byte on failure.
  size_t feed(ByteView bytes) noexcept;
  // The client closed before a complete head: failed, status 400.
  void transport_eof() noexcept;

  RequestState state() const noexcept { return state_; }
  // 400 malformed, 405 a method other than CONNECT, 431 over the bounds.
  int reject_status() const noexcept { return reject_status_; }
  const std::string& detail() const noexcept { return detail_; }
  // The target: a host name or IP literal (IPv6 without brackets) and port.
  const std::string& host() const noexcept { return host_; }
  uint16_t port() const noexcept { return port_; }
  // "host:port" / "[v6]:port".
  const std::string& authority() const noexcept { return authority_; }
  // Proxy-Authorization: Basic, decoded; nullopt when absent, of another
  // scheme, or malformed (the proxy then answers 407).
  const std::optional<BasicCredentials>& credentials() const noexcept { return credentials_; }
  size_t bytes_taken() const noexcept { return request_bytes_; }

 private:
  bool take_byte(uint8_t byte) noexcept;  // false: stop (complete or failed)
  bool end_of_line() noexcept;
  bool request_line(std::string_view line) noexcept;
  bool header_line(std::string_view line) noexcept;
  void fail(int status, const char* detail) noexcept;

  RequestState state_ = RequestState::reading;
  int reject_status_ = 0;
  std::string detail_;
  std::string line_;
  size_t request_bytes_ = 0;
  bool in_headers_ = false;
  size_t header_fields_ = 0;
  std::string host_;
  uint16_t port_ = 0;
  std::string authority_;
  std::optional<BasicCredentials> credentials_;
};

// The proxy's reply head: "HTTP/1.1 <status> <reason>\r\n", then each extra
// header line (e.g. "Proxy-Authenticate: Basic realm=\"proxy\""), then a
// blank line; non-2xx replies say Content-Length: 0 and Connection: close.
std::string connect_reply(int status, std::string_view reason,
                          const std::vector<std::string>& header_lines = {});

}  // namespace sanstls::tunnel
