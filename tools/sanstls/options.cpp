#include "options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace sanstls_cli {
namespace {

const FlagSpec* find_flag(const CommandSpec& spec, const std::string& name) {
  for (const FlagSpec& flag : spec.flags) {
    if (name == flag.name) return &flag;
  }
  return nullptr;
}

}  // namespace

std::string Args::value(const std::string& flag, const std::string& fallback) const {
  auto it = values_.find(flag);
  return it == values_.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> Args::values(const std::string& flag) const {
  auto it = values_.find(flag);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

Args parse_args(const CommandSpec& spec, int argc, char** argv, int first) {
  Args args;
  bool only_positional = false;
  for (int i = first; i < argc; ++i) {
    std::string word = argv[i];
    if (only_positional || word.size() < 2 || word[0] != '-') {
      args.positional.push_back(word);
      continue;
    }
    if (word == "--") {
      only_positional = true;
      continue;
    }
    if (word == "--help" || word == "-h") {
      args.help = true;
      continue;
    }
    std::string name = word;
    std::optional<std::string> inline_value;
    if (size_t eq = word.find('='); eq != std::string::npos) {
      name = word.substr(0, eq);
      inline_value = word.substr(eq + 1);
    }
    const FlagSpec* flag = find_flag(spec, name);
    if (flag == nullptr) throw UsageError("unknown option " + name);
    if (!flag->repeatable && args.has(name)) throw UsageError(name + " given more than once");
    if (flag->value_name == nullptr) {
      if (inline_value) throw UsageError(name + " takes no value");
      args.add(name, "");
      continue;
    }
    if (inline_value) {
      args.add(name, *inline_value);
    } else if (i + 1 < argc) {
      args.add(name, argv[++i]);
    } else {
      throw UsageError(name + " needs a value (" + flag->value_name + ")");
    }
  }
  if (args.help) return args;
  if (args.positional.size() < spec.min_positional) {
    throw UsageError(std::string("missing argument: ") + spec.synopsis);
  }
  if (args.positional.size() > spec.max_positional) {
    throw UsageError("unexpected argument '" + args.positional[spec.max_positional] + "'");
  }
  return args;
}

std::string usage_text(const CommandSpec& spec) {
  std::string text = std::string("usage: sanstls ") + spec.name + " " + spec.synopsis + "\n\n" +
                     spec.summary + "\n\noptions:\n";
  for (const FlagSpec& flag : spec.flags) {
    std::string left = std::string("  ") + flag.name;
    if (flag.value_name != nullptr) left += std::string(" ") + flag.value_name;
    if (left.size() < 28)
      left.resize(28, ' ');
    else
      left += "\n" + std::string(28, ' ');
    text += left + flag.help + (flag.repeatable ? " (repeatable)" : "") + "\n";
  }
  text += std::string("  --help") + std::string(20, ' ') + "this text\n";
  return text;
}

sanstls::TlsVersion parse_version(const std::string& flag, const std::string& text) {
  if (text == "1.2" || text == "TLSv1.2" || text == "tls1.2") return sanstls::TlsVersion::tls1_2;
  if (text == "1.3" || text == "TLSv1.3" || text == "tls1.3") return sanstls::TlsVersion::tls1_3;
  throw UsageError(flag + ": expected 1.2 or 1.3 (or TLSv1.2/TLSv1.3), got '" + text + "'");
}

double parse_seconds(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const double seconds = std::strtod(text.c_str(), &end);
  if (text.empty() || end == nullptr || *end != '\0' || errno != 0 || !std::isfinite(seconds) ||
      seconds <= 0 || seconds > 86400.0 * 365) {
    throw UsageError(flag + ": expected a positive number of seconds, got '" + text + "'");
  }
  return seconds;
}

uint64_t parse_count(const std::string& flag, const std::string& text, uint64_t max) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long n = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || text[0] == '-' || *end != '\0' || errno != 0 || n > max) {
    throw UsageError(flag + ": expected a whole number up to " + std::to_string(max) + ", got '" +
                     text + "'");
  }
  return n;
}

uint16_t parse_port(const std::string& flag, const std::string& text) {
  return static_cast<uint16_t>(parse_count(flag, text, 65535));
}

std::vector<std::string> split_list(const std::string& flag, const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty()) throw UsageError(flag + ": empty item in list '" + text + "'");
    items.push_back(item);
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

HostPort parse_host_port(const std::string& text) {
  HostPort result;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw UsageError("expected [IPv6]:PORT, got '" + text + "'");
    }
    result.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
      throw UsageError("expected HOST:PORT (IPv6 as [::1]:PORT), got '" + text + "'");
    }
    result.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (result.host.empty()) throw UsageError("missing host in '" + text + "'");
  result.port = parse_port("port", port);
  if (result.port == 0) throw UsageError("port 0 is not a port to connect to");
  return result;
}

std::string format_host_port(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

}  // namespace sanstls_cli
