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
  return sanstls::Error(sanstls::ErrorCode::invalid_argument, sanstls::Stage::config, message.c_str());
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
  sanstls::TlsVersion min = sanstls::TlsVersion::tls1_2;
  sanstls::TlsVersion max = sanstls::TlsVersion::tls1_3;
  if (args.has("--min-version")) min = parse_version("--min-version", args.value("--min-version"));
  if (args.has("--max-version")) max = parse_version("--max-version", args.value("--max-version"));
  if (static_cast<uint16_t>(min) > static_cast<uint16_t>(max)) {
    throw UsageError("--min-version is above --max-version");
  }
  builder.versions(min, max);
  if (args.has("--ciphers")) builder.cipher_suites(args.value("--ciphers"));
  if (args.has("--groups")) builder.groups(args.value("--groups"));
  if (args.has("--alpn")) builder.alpn(split_list("--alpn", args.value("--alpn")));
}

void apply_identities(sanstls::ConfigBuilder& builder, const Args& args) {
  const auto certs = args.values("--cert");
  const auto keys = args.values("--key");
  if (certs.size() != keys.size()) {
    throw UsageError("--cert and --key come in pairs (got " + std::to_string(certs.size()) +
                     " --cert and " + std::to_string(keys.size()) + " --key)");
  }
  if (args.has("--passphrase") && certs.empty()) throw UsageError("--passphrase needs --cert/--key");
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
