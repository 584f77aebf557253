// The CONNECT client (include/sanstls/tunnel.h). The reply is taken one byte
// at a time into the current line (bounded by kMaxReplyBytes over the whole
// reply), and each complete line is parsed through a bounded TextCursor over
// that line: no pointer arithmetic on the proxy's bytes.
#include "sanstls/tunnel.h"

#include <cstdio>

namespace sanstls::tunnel {
namespace {

// A bounded reader over one line of text; a failed read poisons it.
class TextCursor {
 public:
  explicit TextCursor(std::string_view text) noexcept : rest_(text) {}
  bool ok() const noexcept { return ok_; }
  bool at_end() const noexcept { return rest_.empty(); }
  std::string_view rest() const noexcept { return rest_; }
  char peek() const noexcept { return rest_.empty() ? '\0' : rest_.front(); }

  // Consumes `literal` or fails.
  bool expect(std::string_view literal) noexcept {
    if (!ok_ || rest_.substr(0, literal.size()) != literal) return fail();
    rest_.remove_prefix(literal.size());
    return true;
  }
  // Exactly `n` decimal digits as a number, or fails (-1).
  int digits(size_t n) noexcept {
    if (!ok_ || rest_.size() < n) return fail(), -1;
    int value = 0;
    for (size_t i = 0; i < n; ++i) {
      const char c = rest_[i];
      if (c < '0' || c > '9') return fail(), -1;
      value = value * 10 + (c - '0');
    }
    rest_.remove_prefix(n);
    return value;
  }
  // The longest prefix whose characters satisfy `accept` (may be empty).
  template <typename Accept>
  std::string_view span(Accept accept) noexcept {
    if (!ok_) return {};
    size_t n = 0;
    while (n < rest_.size() && accept(rest_[n])) ++n;
    const std::string_view out = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return out;
  }

 private:
  bool fail() noexcept {
    ok_ = false;
    rest_ = {};
    return false;
  }
  std::string_view rest_;
  bool ok_ = true;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
// RFC 9110 5.6.2 tchar.
bool is_tchar(char c) {
  return is_digit(c) || is_alpha(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) !=
                                            std::string_view::npos;
}
bool is_ows(char c) { return c == ' ' || c == '\t'; }
// Field values and reason phrases: HTAB, SP, VCHAR, obs-text.
bool is_field_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return c == '\t' || (u >= 0x20 && u != 0x7f);
}

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<uint8_t>(in[i])} << 16) |
                       (uint32_t{static_cast<uint8_t>(in[i + 1])} << 8) |
                       static_cast<uint8_t>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{static_cast<uint8_t>(in[i])} << 16;
    if (rest == 2) v |= uint32_t{static_cast<uint8_t>(in[i + 1])} << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Error bad_request(const char* message) {
  return Error(ErrorCode::invalid_argument, Stage::config, message);
}

// "host:port" or "[v6]:port"; empty when the host is not acceptable.
std::string authority_of(std::string_view host, uint16_t port) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (host.find(':') == std::string_view::npos) return {};
  }
  if (host.empty() || host.size() > 253 + 2) return {};
  const bool v6 = host.find(':') != std::string_view::npos;
  for (const char c : host) {
    const bool ok = v6 ? (is_hex(c) || c == ':' || c == '.')
                       : (is_digit(c) || is_alpha(c) || c == '-' || c == '.' || c == '_');
    if (!ok) return {};
  }
  std::string out;
  if (v6) out += '[';
  out += host;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

}  // namespace

const char* connect_state_name(ConnectState state) noexcept {
  switch (state) {
    case ConnectState::sending: return "sending";
    case ConnectState::awaiting_reply: return "awaiting_reply";
    case ConnectState::established: return "established";
    case ConnectState::failed: return "failed";
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
                  "the proxy's reply to CONNECT has more than %zu header fields",
                  kMaxHeaderFields);
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
