// The server side of CONNECT (include/sanstls/tunnel.h): the request head is
// taken one byte at a time into the current line (bounded over the whole
// head), and each complete line is parsed through a bounded TextCursor, as
// the client parses replies.
#include <cstdio>

#include "http_text.h"
#include "sanstls/tunnel.h"

namespace sanstls::tunnel {
namespace {

using namespace detail;  // NOLINT: the shared HTTP text helpers

bool is_host_char(char c) { return is_digit(c) || is_alpha(c) || c == '-' || c == '.' || c == '_'; }
bool is_v6_char(char c) { return is_hex(c) || c == ':' || c == '.'; }

}  // namespace

const char* request_state_name(RequestState state) noexcept {
  switch (state) {
    case RequestState::reading:
      return "reading";
    case RequestState::complete:
      return "complete";
    case RequestState::failed:
      return "failed";
  }
  return "failed";
}

void ConnectRequestParser::fail(int status, const char* detail) noexcept {
  if (state_ != RequestState::reading) return;
  state_ = RequestState::failed;
  reject_status_ = status;
  detail_ = detail;
}

size_t ConnectRequestParser::feed(ByteView bytes) noexcept {
  if (state_ != RequestState::reading) return 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (!take_byte(bytes[i])) return i + 1;
  }
  return bytes.size();
}

void ConnectRequestParser::transport_eof() noexcept {
  fail(400, "the client closed before a complete request");
}

bool ConnectRequestParser::take_byte(uint8_t byte) noexcept {
  if (++request_bytes_ > kMaxRequestBytes) {
    fail(431, "the request head is longer than its bound");
    return false;
  }
  if (byte == '\n') return end_of_line();
  line_ += static_cast<char>(byte);
  // Fail fast on a client that speaks TLS (or anything) at a plain proxy:
  // a request line starts with a token.
  if (!in_headers_ && line_.size() == 1 && !is_tchar(line_[0])) {
    fail(400, "not an HTTP request");
    return false;
  }
  return true;
}

bool ConnectRequestParser::end_of_line() noexcept {
  std::string_view line(line_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF or bare LF
  bool more = true;
  if (!in_headers_) {
    more = request_line(line);
  } else if (line.empty()) {
    state_ = RequestState::complete;
    more = false;
  } else {
    more = header_line(line);
  }
  line_.clear();
  return more;
}

bool ConnectRequestParser::request_line(std::string_view line) noexcept {
  TextCursor c(line);
  const std::string_view method = c.span(is_tchar);
  c.expect(" ");
  if (!c.ok() || method.empty()) {
    fail(400, "malformed request line");
    return false;
  }
  if (method != "CONNECT") {
    fail(405, "only CONNECT is served");
    return false;
  }
  // authority-form (RFC 9112 3.2.3): host:port, the host a name, an IPv4
  // literal, or a bracketed IPv6 literal.
  std::string_view host;
  const bool bracketed = c.peek() == '[';
  if (bracketed) {
    c.expect("[");
    host = c.span(is_v6_char);
    c.expect("]");
  } else {
    host = c.span(is_host_char);
  }
  c.expect(":");
  const std::string_view port_text = c.span(is_digit);
  c.expect(" HTTP/1.");
  c.digits(1);
  if (!c.ok() || !c.at_end() || host.empty() || host.size() > 253 || port_text.empty() ||
      port_text.size() > 5 || (bracketed && host.find(':') == std::string_view::npos)) {
    fail(400, "malformed CONNECT request line (expected CONNECT host:port HTTP/1.x)");
    return false;
  }
  uint32_t port = 0;
  for (const char d : port_text) port = port * 10 + static_cast<uint32_t>(d - '0');
  if (port == 0 || port > 65535) {
    fail(400, "CONNECT to port 0 or above 65535");
    return false;
  }
  host_.assign(host.data(), host.size());
  port_ = static_cast<uint16_t>(port);
  authority_ = authority_of(host_, port_);
  in_headers_ = true;
  return true;
}

bool ConnectRequestParser::header_line(std::string_view line) noexcept {
  if (++header_fields_ > kMaxHeaderFields) {
    fail(431, "too many header fields");
    return false;
  }
  TextCursor c(line);
  const std::string_view name = c.span(is_tchar);  // obs-fold (leading SP) fails here
  c.expect(":");
  const std::string_view raw = c.span(is_field_char);
  if (!c.ok() || name.empty() || !c.at_end()) {
    fail(400, "malformed header field");
    return false;
  }
  if (!credentials_ && ieq(name, "Proxy-Authorization")) {
    TextCursor v(trim_ows(raw));
    const std::string_view scheme = v.span(is_tchar);
    const std::string_view token = trim_ows(v.rest());
    if (!ieq(scheme, "Basic")) return true;  // another scheme: unauthenticated
    const std::optional<std::string> decoded = base64_decode(token);
    if (!decoded) return true;
    const size_t colon = decoded->find(':');
    if (colon == std::string::npos) return true;
    credentials_ = BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
  }
  return true;
}

std::string connect_reply(int status, std::string_view reason,
                          const std::vector<std::string>& header_lines) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
  out.append(reason.data(), reason.size());
  out += "\r\n";
  for (const std::string& line : header_lines) out += line + "\r\n";
  if (status < 200 || status >= 300) out += "Content-Length: 0\r\nConnection: close\r\n";
  out += "\r\n";
  return out;
}

}  // namespace sanstls::tunnel
