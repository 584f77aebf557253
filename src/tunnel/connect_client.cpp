// The CONNECT client (include/sanstls/tunnel.h). The reply is taken one byte
// at a time into the current line (bounded by kMaxReplyBytes over the whole
// reply), and each complete line is parsed through a bounded TextCursor over
// that line: no pointer arithmetic on the proxy's bytes.
#include "sanstls/tunnel.h"

#include <cstdio>

#include "http_text.h"

namespace sanstls::tunnel {
namespace {

using namespace detail;  // NOLINT: the shared HTTP text helpers

Error bad_request(const char* message) {
  return Error(ErrorCode::invalid_argument, Stage::config, message);
}

}  // namespace

const char* connect_state_name(ConnectState state) noexcept {
  switch (state) {
    case ConnectState::sending:
      return "sending";
    case ConnectState::awaiting_reply:
      return "awaiting_reply";
    case ConnectState::established:
      return "established";
    case ConnectState::failed:
      return "failed";
  }
  return "failed";
}

Result<ConnectClient> ConnectClient::create(const ConnectRequest& request) {
  if (request.port == 0) return bad_request("CONNECT: port 0");
  std::string authority = authority_of(request.host, request.port);
  if (authority.empty()) {
    return bad_request(
        "CONNECT: the host is empty or has characters a host name or IP cannot have");
  }
  ConnectClient client;
  client.authority_ = authority;
  std::string& out = client.request_;
  out = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
  if (request.credentials) {
    const BasicCredentials& c = *request.credentials;
    if (c.user.find(':') != std::string::npos) {
      return bad_request("CONNECT: a Basic user name cannot contain ':' (RFC 7617)");
    }
    out += "Proxy-Authorization: Basic " + base64(c.user + ":" + c.password) + "\r\n";
  }
  for (const auto& [name, value] : request.headers) {
    TextCursor n(name);
    if (name.empty() || n.span(is_tchar).size() != name.size()) {
      return bad_request("CONNECT: a header name is not an HTTP token");
    }
    TextCursor v(value);
    if (v.span(is_field_char).size() != value.size()) {
      return bad_request("CONNECT: a header value has CR, LF, NUL or another control character");
    }
    out += name + ": " + value + "\r\n";
  }
  out += "\r\n";
  return client;
}

ByteView ConnectClient::pending_output() const noexcept {
  if (state_ != ConnectState::sending) return ByteView();
  return ByteView(std::string_view(request_).substr(sent_));
}

void ConnectClient::consume_output(size_t n) noexcept {
  if (state_ != ConnectState::sending) return;
  const size_t left = request_.size() - sent_;
  sent_ += n < left ? n : left;
  if (sent_ == request_.size()) state_ = ConnectState::awaiting_reply;
}

void ConnectClient::fail(ErrorCode code, const char* detail) noexcept {
  if (state_ == ConnectState::failed) return;
  state_ = ConnectState::failed;
  leftover_.clear();
  error_ = Error(code, Stage::proxy, detail);
}

size_t ConnectClient::feed(ByteView bytes) noexcept {
  if (state_ == ConnectState::established || state_ == ConnectState::failed) return 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (take_byte(bytes[i])) continue;
    if (state_ == ConnectState::established) {
      const ByteView rest = bytes.skip(i + 1);
      leftover_.assign(rest.begin(), rest.end());
      return bytes.size();
    }
    return i + 1;
  }
  return bytes.size();
}

void ConnectClient::transport_eof() noexcept {
  if (state_ != ConnectState::sending && state_ != ConnectState::awaiting_reply) return;
  char message[Error::kMessageCapacity];
  std::snprintf(message, sizeof message,
                "the proxy closed the connection before a complete reply to CONNECT %s "
                "(%zu bytes received)",
                authority_.c_str(), reply_bytes_);
  fail(ErrorCode::proxy_closed, message);
}

bool ConnectClient::take_byte(uint8_t byte) noexcept {
  if (++reply_bytes_ > kMaxReplyBytes) {
    char message[Error::kMessageCapacity];
    std::snprintf(message, sizeof message,
                  "the proxy's reply to CONNECT is longer than %zu bytes without its end",
                  kMaxReplyBytes);
    fail(ErrorCode::proxy_bad_reply, message);
    return false;
  }
  if (byte == '\n') return end_of_line();
  line_ += static_cast<char>(byte);
  // Fail fast on a reply that is not HTTP/1.x (a TLS server, say).
  if (!in_headers_ && line_.size() <= 7 &&
      std::string_view("HTTP/1.").substr(0, line_.size()) != line_) {
    fail(ErrorCode::proxy_bad_reply, "the proxy's reply to CONNECT is not HTTP/1.x");
    return false;
  }
  return true;
}

bool ConnectClient::end_of_line() noexcept {
  std::string_view line(line_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF or bare LF
  bool more = true;
  if (!in_headers_) {
    more = status_line(line);
  } else if (line.empty()) {
    more = end_of_response();
  } else {
    more = header_line(line);
  }
  line_.clear();
  return more;
}

bool ConnectClient::status_line(std::string_view line) noexcept {
  TextCursor c(line);
  c.expect("HTTP/1.");
  c.digits(1);
  c.expect(" ");
  const int status = c.digits(3);
  std::string_view reason;
  if (c.ok() && !c.at_end()) {
    c.expect(" ");
    reason = c.span(is_field_char);
  }
  if (!c.ok() || !c.at_end() || status < 100) {  // not at the end: a control character
    fail(ErrorCode::proxy_bad_reply, "the proxy's status line to CONNECT is malformed");
    return false;
  }
  status_ = status;
  reason_.assign(reason.data(), reason.size());
  in_headers_ = true;
  header_fields_ = 0;
  challenge_.clear();
  return true;
}

bool ConnectClient::header_line(std::string_view line) noexcept {
  if (++header_fields_ > kMaxHeaderFields) {
    char message[Error::kMessageCapacity];
    std::snprintf(message, sizeof message,
                  "the proxy's reply to CONNECT has more than %zu header fields", kMaxHeaderFields);
    fail(ErrorCode::proxy_bad_reply, message);
    return false;
  }
  TextCursor c(line);
  const std::string_view name = c.span(is_tchar);  // obs-fold (leading SP) fails here
  c.expect(":");
  const std::string_view raw = c.span(is_field_char);
  if (!c.ok() || name.empty() || !c.at_end()) {
    fail(ErrorCode::proxy_bad_reply, "the proxy's reply to CONNECT has a malformed header field");
    return false;
  }
  // Content-Length / Transfer-Encoding are ignored: a 2xx to CONNECT has no
  // body (RFC 9110 9.3.6), and after a refusal the connection is dropped.
  if (status_ == 407 && challenge_.empty() && ieq(name, "Proxy-Authenticate")) {
    const std::string_view value = trim_ows(raw);
    challenge_.assign(value.data(), value.size());
  }
  return true;
}

bool ConnectClient::end_of_response() noexcept {
  if (status_ < 200) {  // interim (1xx): the final response follows
    in_headers_ = false;
    return true;
  }
  char message[Error::kMessageCapacity];
  if (status_ < 300) {
    if (sent_ < request_.size()) {
      fail(ErrorCode::proxy_bad_reply, "the proxy accepted CONNECT before it was sent whole");
      return false;
    }
    state_ = ConnectState::established;
    return false;
  }
  const std::string scheme = proxy_authenticate_scheme();
  std::snprintf(message, sizeof message, "the proxy refused CONNECT %s: %d %s%s%s%s",
                authority_.c_str(), status_, reason_.c_str(),
                scheme.empty() ? "" : " (Proxy-Authenticate: ", scheme.c_str(),
                scheme.empty() ? "" : ")");
  fail(ErrorCode::proxy_refused, message);
  return false;
}

std::string ConnectClient::proxy_authenticate_scheme() const {
  TextCursor c(challenge_);
  const std::string_view scheme = c.span(is_tchar);
  return std::string(scheme);
}

}  // namespace sanstls::tunnel
