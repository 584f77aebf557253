// Command-line parsing for the sanstls tool: one CommandSpec per command,
// `--flag VALUE` or `--flag=VALUE`, repeatable flags, positional arguments,
// and a --help text generated from the same table. Misuse throws UsageError,
// which main() turns into a message and exit status 2.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "sanstls/config.h"

namespace sanstls_cli {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct FlagSpec {
  const char* name;        // "--alpn"
  const char* value_name;  // "LIST"; nullptr for a switch
  const char* help;
  bool repeatable = false;
};

struct CommandSpec {
  const char* name;      // "client"
  const char* synopsis;  // "HOST:PORT [options]"
  const char* summary;   // one paragraph
  std::vector<FlagSpec> flags;
  size_t min_positional = 0;
  size_t max_positional = 0;
};

class Args {
 public:
  bool help = false;
  std::vector<std::string> positional;

  bool has(const std::string& flag) const { return values_.count(flag) != 0; }
  // The flag's (last) value, or `fallback` when absent.
  std::string value(const std::string& flag, const std::string& fallback = {}) const;
  // Every value of a repeatable flag, in order.
  std::vector<std::string> values(const std::string& flag) const;

  void add(const std::string& flag, const std::string& value) { values_[flag].push_back(value); }

 private:
  std::map<std::string, std::vector<std::string>> values_;
};

// Parses argv[first..argc) against `spec`. Throws UsageError.
Args parse_args(const CommandSpec& spec, int argc, char** argv, int first);
std::string usage_text(const CommandSpec& spec);

// Value parsers; each names the flag in its UsageError.
sanstls::TlsVersion parse_version(const std::string& flag, const std::string& text);
double parse_seconds(const std::string& flag, const std::string& text);
uint64_t parse_count(const std::string& flag, const std::string& text, uint64_t max);
uint16_t parse_port(const std::string& flag, const std::string& text);
// "a,b,c" -> {"a","b","c"}; empty items are a usage error.
std::vector<std::string> split_list(const std::string& flag, const std::string& text);

struct HostPort {
  std::string host;  // without brackets
  uint16_t port = 0;
};
// "example.com:443", "127.0.0.1:443", "[::1]:443".
HostPort parse_host_port(const std::string& text);
// "[::1]:443" for IPv6 literals, "host:443" otherwise.
std::string format_host_port(const std::string& host, uint16_t port);

}  // namespace sanstls_cli
