// HTTP/1.1 text helpers the CONNECT client and the request parser share
// (internal to sanstls::tunnel): a bounded cursor over one line, the RFC 9110
// character classes, Base64 for Basic credentials, and request targets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sanstls::tunnel::detail {

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

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// RFC 9110 5.6.2 tchar.
inline bool is_tchar(char c) {
  return is_digit(c) || is_alpha(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
inline bool is_ows(char c) { return c == ' ' || c == '\t'; }
// Field values and reason phrases: HTAB, SP, VCHAR, obs-text.
inline bool is_field_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return c == '\t' || (u >= 0x20 && u != 0x7f);
}

inline bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

inline std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

inline std::string base64(std::string_view in) {
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

// RFC 4648 Base64 (with padding) back to bytes; nullopt when malformed.
inline std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    const int pad = last ? (in[i + 3] == '=') + (in[i + 2] == '=' && in[i + 3] == '=') : 0;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      const int d = k >= 4 - static_cast<size_t>(pad) ? 0 : value(in[i + k]);
      if (d < 0) return std::nullopt;
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out += static_cast<char>((v >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((v >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(v & 0xff);
  }
  return out;
}

// "host:port" or "[v6]:port"; empty when the host is not acceptable.
inline std::string authority_of(std::string_view host, uint16_t port) {
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

}  // namespace sanstls::tunnel::detail
