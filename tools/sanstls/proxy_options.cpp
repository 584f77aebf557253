#include "proxy_options.h"

#include <cstdlib>

#include "options.h"

namespace sanstls_cli {
namespace {

std::string lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(const std::string& text, const std::string& source) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    const int hi = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
    const int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      throw UsageError(source + ": bad percent-encoding in the proxy's user info");
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

const char* env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && value[0] != '\0' ? value : nullptr;
}

}  // namespace

sanstls::blocking::ProxyOptions parse_proxy_url(const std::string& url, const std::string& source,
                                                std::string* display_url, bool* https) {
  std::string rest = url;
  const size_t scheme_end = rest.find("://");
  bool tls = false;
  if (scheme_end != std::string::npos) {
    const std::string scheme = lower(rest.substr(0, scheme_end));
    tls = scheme == "https";
    if (scheme != "http" && !tls) {
      throw UsageError(source + ": unsupported proxy scheme '" + scheme +
                       "://' (http:// and https:// only)");
    }
    rest = rest.substr(scheme_end + 3);
  }
  if (https != nullptr) *https = tls;
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find_first_of("/?#") != std::string::npos) {
    throw UsageError(source + ": a proxy URL has no path: '" + url + "'");
  }
  sanstls::blocking::ProxyOptions options;
  const size_t at = rest.rfind('@');
  if (at != std::string::npos) {
    const std::string userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const size_t colon = userinfo.find(':');
    sanstls::tunnel::BasicCredentials credentials;
    credentials.user = percent_decode(userinfo.substr(0, colon), source);
    if (colon != std::string::npos) {
      credentials.password = percent_decode(userinfo.substr(colon + 1), source);
    }
    options.credentials = credentials;
  }
  // host[:port] or [v6][:port]; the port defaults to 1080 as curl's.
  const bool bracketed = !rest.empty() && rest[0] == '[';
  const size_t host_end = bracketed ? rest.find(']') : rest.find(':');
  if (bracketed && host_end == std::string::npos) {
    throw UsageError(source + ": expected [IPv6] in '" + url + "'");
  }
  options.host = bracketed ? rest.substr(1, host_end - 1) : rest.substr(0, host_end);
  std::string port_text;
  const size_t colon = bracketed ? host_end + 1 : host_end;
  if (colon != std::string::npos && colon < rest.size()) {
    if (rest[colon] != ':') throw UsageError(source + ": expected [IPv6]:PORT in '" + url + "'");
    port_text = rest.substr(colon + 1);
  }
  if (options.host.empty()) throw UsageError(source + ": the proxy URL has no host: '" + url + "'");
  options.port = port_text.empty() ? (tls ? 443 : 1080) : parse_port(source, port_text);
  if (options.port == 0) throw UsageError(source + ": port 0 is not a proxy port");
  if (display_url != nullptr) {
    *display_url = (tls ? "https://" : "http://") + format_host_port(options.host, options.port);
  }
  return options;
}

bool no_proxy_matches(const std::string& no_proxy, const std::string& host) {
  const std::string name = lower(host);
  size_t start = 0;
  while (start <= no_proxy.size()) {
    size_t end = no_proxy.find(',', start);
    if (end == std::string::npos) end = no_proxy.size();
    std::string entry = no_proxy.substr(start, end - start);
    start = end + 1;
    while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t')) entry.erase(0, 1);
    while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.pop_back();
    if (entry == "*") return true;
    if (!entry.empty() && entry.front() == '[' && entry.back() == ']') {
      entry = entry.substr(1, entry.size() - 2);
    }
    if (!entry.empty() && entry.front() == '.') entry.erase(0, 1);
    entry = lower(entry);
    if (entry.empty()) continue;
    if (name == entry) return true;
    const size_t cut = name.size() > entry.size() ? name.size() - entry.size() : 0;
    if (cut > 0 && name.compare(cut, entry.size(), entry) == 0 && name[cut - 1] == '.') {
      return true;
    }
  }
  return false;
}

std::optional<ProxyChoice> choose_proxy(const std::optional<std::string>& flag,
                                        const std::string& host) {
  ProxyChoice choice;
  std::string url;
  if (flag) {
    if (flag->empty()) return std::nullopt;  // --proxy "": no proxy, as curl's
    url = *flag;
    choice.source = "--proxy";
  } else if (const char* lower_case = env("https_proxy")) {
    url = lower_case;
    choice.source = "https_proxy";
  } else if (const char* upper_case = env("HTTPS_PROXY")) {
    url = upper_case;
    choice.source = "HTTPS_PROXY";
  } else {
    return std::nullopt;
  }
  choice.options =
      parse_proxy_url(url, choice.source, &choice.url, &choice.https);  // misuse is reported anyway
  const char* no_proxy = env("no_proxy");
  if (no_proxy == nullptr) no_proxy = env("NO_PROXY");
  if (no_proxy != nullptr && no_proxy_matches(no_proxy, host)) return std::nullopt;
  return choice;
}

}  // namespace sanstls_cli
