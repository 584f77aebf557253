// The OS-facing defaults kept out of the core: getrandom(2), CLOCK_REALTIME
// and file reading.
#include "sanstls/platform.h"

#include <sys/random.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sanstls::platform {
namespace {

class OsRandom final : public RandomSource {
 public:
  bool fill(MutableByteView out) noexcept override {
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      done += static_cast<size_t>(n);
    }
    return true;
  }
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() noexcept override {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
  }
};

}  // namespace

RandomSource& os_random() noexcept {
  static OsRandom instance;
  return instance;
}

Clock& system_clock() noexcept {
  static SystemClock instance;
  return instance;
}

Result<std::vector<uint8_t>> read_file(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    char text[Error::kMessageCapacity];
    std::snprintf(text, sizeof text, "cannot open %s: %s", path.c_str(), std::strerror(errno));
    return Error(ErrorCode::invalid_argument, Stage::config, text);
  }
  std::vector<uint8_t> bytes;
  uint8_t chunk[65536];
  size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof chunk, file)) > 0)
    bytes.insert(bytes.end(), chunk, chunk + n);
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) {
    char text[Error::kMessageCapacity];
    std::snprintf(text, sizeof text, "cannot read %s", path.c_str());
    return Error(ErrorCode::invalid_argument, Stage::config, text);
  }
  return bytes;
}

Result<std::vector<uint8_t>> system_trust_anchors() {
  const char* env = std::getenv("SSL_CERT_FILE");
  const std::string path = env != nullptr && *env ? env : "/etc/ssl/certs/ca-certificates.crt";
  return read_file(path);
}

}  // namespace sanstls::platform
