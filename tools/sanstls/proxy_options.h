// `sanstls client --proxy URL` and the environment curl reads: the HTTP
// proxy to go through, if any. Misuse throws UsageError.
#pragma once

#include <optional>
#include <string>

#include "sanstls/adapters/blocking.h"

namespace sanstls_cli {

struct ProxyChoice {
  sanstls::blocking::ProxyOptions options;
  std::string url;     // without credentials, for reports: "http://127.0.0.1:3128"
  bool https = false;  // an https:// proxy: TLS to the proxy (options.tls set by the caller)
  std::string source;  // "--proxy", "https_proxy" or "HTTPS_PROXY"
};

// "http[s]://[user:pass@]host[:port]" (no scheme means http://; the port
// defaults to 1080 for http and 443 for https, as curl's; user and password
// are percent-decoded). Other schemes are refused. `source` names the flag
// or variable in the UsageError. *https tells an https:// proxy (the caller
// then sets options.tls).
sanstls::blocking::ProxyOptions parse_proxy_url(const std::string& url, const std::string& source,
                                                std::string* display_url, bool* https = nullptr);

// Whether `no_proxy` (a comma-separated list, curl's rules: "*" matches every
// host, "example.com" and ".example.com" match it and its subdomains, IP
// literals match exactly, case-insensitive) excludes `host`.
bool no_proxy_matches(const std::string& no_proxy, const std::string& host);

// The proxy for `host`: --proxy when given (an empty value: none), else
// https_proxy, else HTTPS_PROXY; none when no_proxy / NO_PROXY excludes the host.
std::optional<ProxyChoice> choose_proxy(const std::optional<std::string>& flag,
                                        const std::string& host);

}  // namespace sanstls_cli
