// Helpers for the Asio adapter's tests: loopback socket pairs, Configs on the
// shared test PKI, and child processes (openssl s_server/s_client).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sanstls/adapters/asio.h"
#include "sanstls/platform.h"
#include "support/fixtures.h"

extern char** environ;

namespace sanstls::test::asio_support {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// Two connected loopback sockets on `io` (client first).
inline std::pair<tcp::socket, tcp::socket> socket_pair(net::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(net::ip::address_v4::loopback(), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();
  return {std::move(client), std::move(server)};
}

// Runs `io` until it has no work or `limit` passes (then the test fails).
inline bool run_bounded(net::io_context& io, std::chrono::milliseconds limit = 10s) {
  io.restart();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!io.stopped() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(20ms);
  }
  return io.stopped();
}

// Client and server Configs for one TLS version, on the system clock (so the
// engine's timers can be driven), with the test PKI.
struct Configs {
  explicit Configs(TlsVersion version = TlsVersion::tls1_3, uint32_t close_timeout_ms = 0)
      : client(build_or_fail(client_builder(sources)
                                 .versions(version, version)
                                 .clock(platform::system_clock())
                                 .close_timeout(close_timeout_ms))),
        server(build_or_fail(server_builder(sources)
                                 .versions(version, version)
                                 .clock(platform::system_clock())
                                 .close_timeout(close_timeout_ms))) {}
  Sources sources;
  Config client;
  Config server;
};

// A scratch directory under the build tree's TMPDIR (or /tmp), removed at exit.
struct TempDir {
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/sanstls-asio-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) != nullptr) path = buffer.data();
  }
  ~TempDir() {
    if (!path.empty()) std::system(("rm -rf '" + path + "'").c_str());
  }
  std::string write(const std::string& name, const std::string& content) const {
    const std::string file = path + "/" + name;
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }
  std::string path;
};

inline bool have_program(const char* name) {
  return std::system((std::string("command -v ") + name + " >/dev/null 2>&1").c_str()) == 0;
}

// A child process with stdin and stdout+stderr on pipes; its output is
// collected by a thread. Killed (SIGTERM, then SIGKILL) when destroyed.
class Child {
 public:
  explicit Child(std::vector<std::string> argv) {
    int in[2], out[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, out[1], 2);
    posix_spawn_file_actions_addclose(&actions, in[1]);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    ::fcntl(stdin_, F_SETFD, FD_CLOEXEC);
    const int out_fd = out[0];
    reader_ = std::thread([this, out_fd] {
      char buffer[4096];
      for (;;) {
        const ssize_t n = ::read(out_fd, buffer, sizeof buffer);
        if (n <= 0) break;
        std::lock_guard<std::mutex> lock(mutex_);
        output_.append(buffer, static_cast<size_t>(n));
      }
      ::close(out_fd);
    });
  }
  ~Child() {
    close_stdin();
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      for (int i = 0; i < 100 && !exited(); ++i) std::this_thread::sleep_for(10ms);
      if (!exited()) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status_, 0);
      }
    }
    if (reader_.joinable()) reader_.join();
  }
  bool started() const { return pid_ > 0; }
  void send(const std::string& text) {
    if (stdin_ >= 0) (void)!::write(stdin_, text.data(), text.size());
  }
  void close_stdin() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }
  std::string output() {
    std::lock_guard<std::mutex> lock(mutex_);
    return output_;
  }
  // Waits until the output contains `marker`; returns the text after it up
  // to the end of its line.
  std::optional<std::string> wait_for(const std::string& marker,
                                      std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string text = output();
      const size_t at = text.find(marker);
      if (at != std::string::npos) {
        const size_t from = at + marker.size();
        const size_t end = text.find_first_of("\r\n", from);
        if (end != std::string::npos || from == text.size()) {
          return text.substr(from, end == std::string::npos ? std::string::npos : end - from);
        }
      }
      std::this_thread::sleep_for(5ms);
    }
    return std::nullopt;
  }
  // Waits for the process to end (at most `limit`); its exit status or -1.
  int wait_exit(std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!exited() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
    return exited() && WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  }

 private:
  bool exited() {
    if (reaped_) return true;
    if (::waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
    return reaped_;
  }
  pid_t pid_ = -1;
  int stdin_ = -1;
  int status_ = 0;
  bool reaped_ = false;
  std::mutex mutex_;
  std::string output_;
  std::thread reader_;
};

}  // namespace sanstls::test::asio_support
