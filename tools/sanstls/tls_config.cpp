#include "tls_config.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

#include "sanstls/platform.h"

namespace sanstls_cli {
namespace {

// One open key log file, shared by every connection of the Config.
class KeyLogFile {
 public:
  explicit KeyLogFile(std::FILE* file) : file_(file) {}
  ~KeyLogFile() { std::fclose(file_); }
  KeyLogFile(const KeyLogFile&) = delete;
  KeyLogFile& operator=(const KeyLogFile&) = delete;

  void write(std::string_view line) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fputc('\n', file_);
    std::fflush(file_);
  }

 private:
  std::mutex mutex_;
  std::FILE* file_;
};

}  // namespace

sanstls::Error config_error(const std::string& message) {
  return sanstls::Error(sanstls::ErrorCode::invalid_argument, sanstls::Stage::config,
                        message.c_str());
}

std::vector<uint8_t> read_file_or_throw(const std::string& path, const char* what) {
  auto bytes = sanstls::platform::read_file(path);
  if (!bytes) {
    throw Fatal(config_error(std::string("cannot read ") + what + " " + path + ": " +
                             bytes.error().message()));
  }
  return std::move(bytes).value();
}

void apply_policy(sanstls::ConfigBuilder& builder, const Args& args) {
  // A preset first; the other flags refine it.
  sanstls::TlsVersion min = sanstls::TlsVersion::tls1_2;
  if (args.has("--preset")) {
    const std::string preset = args.value("--preset");
    if (preset == "modern") {
      builder.preset(sanstls::Preset::modern);
      min = sanstls::TlsVersion::tls1_3;
    } else if (preset == "intermediate") {
      builder.preset(sanstls::Preset::intermediate);
    } else {
      throw UsageError("--preset: expected modern or intermediate, got '" + preset + "'");
    }
  }
  sanstls::TlsVersion max = sanstls::TlsVersion::tls1_3;
  if (args.has("--min-version")) min = parse_version("--min-version", args.value("--min-version"));
  if (args.has("--max-version")) max = parse_version("--max-version", args.value("--max-version"));
  if (static_cast<uint16_t>(min) > static_cast<uint16_t>(max)) {
    throw UsageError(args.has("--min-version") ? "--min-version is above --max-version"
                                               : "--max-version is below the --preset's minimum");
  }
  if (!args.has("--preset") || args.has("--min-version") || args.has("--max-version")) {
    builder.versions(min, max);
  }
  if (args.has("--ciphers")) builder.cipher_suites(args.value("--ciphers"));
  if (args.has("--groups")) builder.groups(args.value("--groups"));
  if (args.has("--sigalgs")) builder.signature_algorithms(args.value("--sigalgs"));
  if (args.has("--alpn")) builder.alpn(split_list("--alpn", args.value("--alpn")));
  if (args.has("--max-send-fragment")) {
    builder.max_send_fragment(static_cast<size_t>(
        parse_count("--max-send-fragment", args.value("--max-send-fragment"), 16384)));
  }
  if (args.has("--trace")) builder.trace(print_trace);
}

void print_trace(const sanstls::TraceEntry& entry) {
  const char* arrow = entry.direction == sanstls::TraceEntry::Direction::sent ? ">>" : "<<";
  switch (entry.kind) {
    case sanstls::TraceEntry::Kind::record:
      std::fprintf(stderr, "%s record %s %zu bytes%s\n", arrow,
                   sanstls::content_type_name(entry.content_type), entry.length,
                   entry.encrypted ? " (encrypted)" : "");
      break;
    case sanstls::TraceEntry::Kind::handshake_message:
      std::fprintf(stderr, "%s handshake %s %zu\n", arrow,
                   sanstls::handshake_type_name(entry.handshake_type), entry.length);
      break;
    case sanstls::TraceEntry::Kind::alert:
      std::fprintf(stderr, "%s alert %s %s\n", arrow,
                   entry.alert_level == 1   ? "warning"
                   : entry.alert_level == 2 ? "fatal"
                                            : "level?",
                   sanstls::alert_name(static_cast<sanstls::Alert>(entry.alert)));
      break;
  }
}

std::string hex(const std::vector<uint8_t>& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string text;
  for (uint8_t b : bytes) {
    text += digits[b >> 4];
    text += digits[b & 15];
  }
  return text;
}

KeyingMaterialRequest parse_keying_material(const Args& args) {
  KeyingMaterialRequest request;
  if (!args.has("--export-keying-material")) return request;
  const std::string text = args.value("--export-keying-material");
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw UsageError("--export-keying-material: expected LABEL:LENGTH, got '" + text + "'");
  }
  request.label = text.substr(0, colon);
  request.length =
      static_cast<size_t>(parse_count("--export-keying-material", text.substr(colon + 1), 1024));
  if (request.length == 0) throw UsageError("--export-keying-material: LENGTH must be at least 1");
  return request;
}

sanstls::Result<std::string> export_keying_material(const sanstls::Connection& connection,
                                                    const KeyingMaterialRequest& request) {
  auto bytes =
      connection.export_keying_material(request.label, sanstls::ByteView(), request.length);
  if (!bytes) return bytes.error();
  return hex(bytes.value());
}

void apply_identities(sanstls::ConfigBuilder& builder, const Args& args) {
  const auto certs = args.values("--cert");
  const auto keys = args.values("--key");
  if (certs.size() != keys.size()) {
    throw UsageError("--cert and --key come in pairs (got " + std::to_string(certs.size()) +
                     " --cert and " + std::to_string(keys.size()) + " --key)");
  }
  if (args.has("--passphrase") && certs.empty())
    throw UsageError("--passphrase needs --cert/--key");
  const std::string passphrase = args.value("--passphrase");
  for (size_t i = 0; i < certs.size(); ++i) {
    builder.certificate(read_file_or_throw(certs[i], "certificate"),
                        read_file_or_throw(keys[i], "private key"), passphrase);
  }
}

void apply_key_log(sanstls::ConfigBuilder& builder, const Args& args) {
  if (!args.has("--keylog")) return;
  const std::string path = args.value("--keylog");
  // 0600 when created: whoever reads these lines can decrypt the traffic.
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0600);
  std::FILE* file = fd < 0 ? nullptr : ::fdopen(fd, "a");
  if (file == nullptr) {
    if (fd >= 0) ::close(fd);
    throw Fatal(config_error("cannot open key log file " + path + ": " + std::strerror(errno)));
  }
  auto log = std::make_shared<KeyLogFile>(file);
  builder.key_log([log](std::string_view line) { log->write(line); });
}

sanstls::Config build_or_throw(const sanstls::ConfigBuilder& builder) {
  auto config = builder.build();
  if (!config) throw Fatal(config.error());
  return std::move(config).value();
}

}  // namespace sanstls_cli
