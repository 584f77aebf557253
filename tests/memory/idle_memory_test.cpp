// What an idle connection keeps: buffers that only serve a burst of traffic
// are freed once drained and allocated again, with the data intact, by the
// next burst (issue 11: 100k idle connections within 4.5 GB).
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "call_scope.h"
#include "output_queue.h"
#include "sanstls/adapters/blocking.h"
#include "sanstls/adapters/epoll.h"
#include "support/fixtures.h"
#include "support/pair.h"

using namespace sanstls;
using namespace sanstls::test;
using sanstls::detail::MemoryAccount;
using sanstls::detail::OutputQueue;

namespace {

std::vector<uint8_t> pattern(size_t size, uint32_t seed) {
  std::mt19937 generator(seed);
  std::vector<uint8_t> bytes(size);
  for (auto& byte : bytes) byte = static_cast<uint8_t>(generator());
  return bytes;
}

std::vector<uint8_t> drain(OutputQueue& queue, size_t step) {
  std::vector<uint8_t> out;
  while (queue.size() > 0) {
    const ByteView view = queue.pending();
    const size_t n = view.size() < step ? view.size() : step;
    out.insert(out.end(), view.begin(), view.begin() + static_cast<std::ptrdiff_t>(n));
    queue.consume(n);
  }
  return out;
}

}  // namespace

TEST_CASE("OutputQueue frees its buffer once drained and refills it intact", "[memory]") {
  MemoryAccount* account = MemoryAccount::create();
  REQUIRE(account != nullptr);
  {
    OutputQueue queue(64 * 1024, account);
    CHECK(queue.capacity() == 0);
    const auto first = pattern(10000, 1);
    REQUIRE(queue.append(ByteView(first)));
    const size_t grown = queue.capacity();
    CHECK(grown >= first.size());
    CHECK(account->current() == grown);

    // Partly consumed: the rest stays, the buffer too.
    const ByteView head = queue.pending();
    CHECK(std::vector<uint8_t>(head.begin(), head.begin() + 100) ==
          std::vector<uint8_t>(first.begin(), first.begin() + 100));
    queue.consume(100);
    CHECK(queue.capacity() == grown);
    CHECK(queue.size() == first.size() - 100);

    // Drained: nothing held, nothing counted.
    const auto rest = drain(queue, 777);
    CHECK(rest == std::vector<uint8_t>(first.begin() + 100, first.end()));
    CHECK(queue.capacity() == 0);
    CHECK(queue.size() == 0);
    CHECK(queue.pending().empty());
    CHECK(account->current() == 0);

    // The next burst gets a buffer of the size the last one reached at once
    // (no regrowth per burst), and its bytes come out unchanged.
    const auto second = pattern(3000, 2);
    const auto third = pattern(5000, 3);
    REQUIRE(queue.append(ByteView(second)));
    CHECK(queue.capacity() == grown);
    REQUIRE(queue.append(ByteView(third)));
    std::vector<uint8_t> expected = second;
    expected.insert(expected.end(), third.begin(), third.end());
    CHECK(drain(queue, 4096) == expected);
    CHECK(queue.capacity() == 0);

    // A record rewritten in place (tail) is only possible while queued.
    REQUIRE(queue.append(ByteView(pattern(7, 4))));
    REQUIRE(queue.tail(7) != nullptr);
    queue.tail(7)[0] = 0x15;
    CHECK(queue.pending()[0] == 0x15);
    queue.consume(7);
    CHECK(queue.tail(7) == nullptr);
    CHECK(account->current() == 0);
  }
  CHECK(account->current() == 0);
  account->detach();
}

TEST_CASE("an idle connection holds no output buffer; traffic afterwards is intact", "[memory]") {
  Sources sources;
  const Config client_config = build_or_fail(client_builder(sources));
  const Config server_config = build_or_fail(server_builder(sources));
  Pair pair = connect(client_config, server_config);
  REQUIRE(pair.client.conn.wants().handshake_complete);
  REQUIRE(pair.server.conn.wants().handshake_complete);
  REQUIRE(pair.server.conn.pending_output().empty());
  const size_t idle = pair.server.conn.memory().current_bytes;

  // Records queued until the output queue is full: it holds them (and grows).
  const auto payload = pattern(100 * 1024, 5);
  const size_t written = pair.server.conn.write(ByteView(payload.data(), payload.size()));
  REQUIRE(written > 16384);
  REQUIRE(written < payload.size());
  const size_t busy = pair.server.conn.memory().current_bytes;
  CHECK(busy >= idle + written);
  pair.send(
      pair.server,
      std::vector<uint8_t>(payload.begin() + static_cast<std::ptrdiff_t>(written), payload.end()));

  // Delivered and drained: back to the idle figure.
  REQUIRE(pair.pump());
  CHECK(pair.client.received == payload);
  CHECK(pair.server.conn.pending_output().empty());
  CHECK(pair.server.conn.memory().current_bytes == idle);

  // And again, both ways: the buffers come back and carry the bytes unchanged.
  const auto reply = pattern(20000, 6);
  pair.send(pair.client, reply);
  pair.send(pair.server, payload);
  REQUIRE(pair.pump());
  CHECK(pair.server.received == reply);
  CHECK(std::vector<uint8_t>(
            pair.client.received.begin() + static_cast<std::ptrdiff_t>(payload.size()),
            pair.client.received.end()) == payload);
  CHECK(pair.server.conn.memory().current_bytes == idle);
}

namespace {

using namespace std::chrono_literals;
using sanstls::epoll::CloseReason;
using sanstls::epoll::Conn;
using sanstls::epoll::Handler;
using sanstls::epoll::Loop;

// Echoes everything; remembers its Conn for the test's posted probes.
struct Probe {
  std::mutex mutex;
  Conn* conn = nullptr;
  size_t max_write_queue = 0;
};

class EchoHandler : public Handler {
 public:
  explicit EchoHandler(Probe* probe) : probe_(probe) {}
  void on_secure(Conn& conn) override {
    std::lock_guard<std::mutex> lock(probe_->mutex);
    probe_->conn = &conn;
  }
  void on_data(Conn& conn, ByteView data) override {
    REQUIRE(conn.write(data));
    std::lock_guard<std::mutex> lock(probe_->mutex);
    if (conn.write_queue_capacity() > probe_->max_write_queue) {
      probe_->max_write_queue = conn.write_queue_capacity();
    }
  }
  void on_close(Conn&, CloseReason, const Error&) override {
    std::lock_guard<std::mutex> lock(probe_->mutex);
    probe_->conn = nullptr;
  }

 private:
  Probe* probe_;
};

struct Snapshot {
  size_t write_queue = 0;
  size_t pending_output = 0;
  size_t engine_bytes = 0;
};

}  // namespace

TEST_CASE("epoll: a drained connection frees its write queue; the echo is intact", "[memory]") {
  Sources sources(5);
  const Config server_config = build_or_fail(server_builder(sources));
  const Config client_config = build_or_fail(client_builder(sources));
  auto created = Loop::create();
  REQUIRE(created);
  std::unique_ptr<Loop> loop = std::move(created).value();
  Probe probe;
  auto port = loop->listen("127.0.0.1", 0, server_config,
                           [&probe] { return std::make_shared<EchoHandler>(&probe); });
  REQUIRE(port);
  auto running = std::async(std::launch::async, [&loop] { return loop->run(); });
  struct StopOnExit {
    Loop& loop;
    std::future<Error>& running;
    ~StopOnExit() {
      loop.stop();
      running.wait_for(20s);
    }
  } stop_on_exit{*loop, running};

  auto snapshot = [&] {
    std::promise<Snapshot> promise;
    auto result = promise.get_future();
    loop->post([&probe, &promise] {
      Snapshot s;
      std::lock_guard<std::mutex> lock(probe.mutex);
      if (probe.conn != nullptr) {
        s.write_queue = probe.conn->write_queue_capacity();
        s.pending_output = probe.conn->connection().pending_output().size();
        s.engine_bytes = probe.conn->connection().memory().current_bytes;
      }
      promise.set_value(s);
    });
    REQUIRE(result.wait_for(20s) == std::future_status::ready);
    return result.get();
  };

  auto stream = blocking::Stream::connect(client_config, "127.0.0.1", port.value(),
                                          blocking::Milliseconds(20000), "localhost");
  REQUIRE(stream);
  // One round trip: the server is past its handshake and idle afterwards.
  REQUIRE(stream->write_all("hello", blocking::Milliseconds(20000)).ok());
  uint8_t five[5];
  size_t got = 0;
  while (got < 5) {
    auto n = stream->read(MutableByteView(five + got, 5 - got), blocking::Milliseconds(20000));
    REQUIRE(n);
    REQUIRE(n.value() > 0);
    got += n.value();
  }
  const Snapshot idle = snapshot();
  CHECK(idle.write_queue == 0);
  CHECK(idle.pending_output == 0);
  REQUIRE(idle.engine_bytes > 0);
  // The loop released the engine's record buffers (2 x 16 KiB and more).
  INFO("engine bytes of the idle connection: " << idle.engine_bytes);
  CHECK(idle.engine_bytes < 2 * 16384);

  // 1 MiB echoed in 64 KiB round trips (one thread: a Connection is used by
  // one thread at a time; the socket buffers hold a round trip's echo).
  const auto payload = pattern(1 << 20, 7);
  std::vector<uint8_t> echoed;
  std::vector<uint8_t> buffer(65536);
  for (size_t at = 0; at < payload.size(); at += 65536) {
    REQUIRE(stream->write_all(ByteView(payload.data() + at, 65536), blocking::Milliseconds(20000))
                .ok());
    while (echoed.size() < at + 65536) {
      auto n = stream->read(MutableByteView(buffer.data(), buffer.size()),
                            blocking::Milliseconds(20000));
      REQUIRE(n);
      REQUIRE(n.value() > 0);
      echoed.insert(echoed.end(), buffer.begin(),
                    buffer.begin() + static_cast<std::ptrdiff_t>(n.value()));
    }
  }
  CHECK(echoed == payload);

  // Idle again: the write queue and the engine's output queue are freed.
  const Snapshot after = snapshot();
  CHECK(after.write_queue == 0);
  CHECK(after.pending_output == 0);
  CHECK(after.engine_bytes == idle.engine_bytes);
  std::lock_guard<std::mutex> lock(probe.mutex);
  INFO("largest write queue while echoing: " << probe.max_write_queue);
}

namespace {

Pair connected_pair(Sources& sources, TlsVersion version) {
  ConfigBuilder client = client_builder(sources);
  ConfigBuilder server = server_builder(sources);
  client.versions(version, version);
  server.versions(version, version);
  return connect(build_or_fail(client), build_or_fail(server));
}

}  // namespace

TEST_CASE("release_buffers frees the idle record buffers; traffic and close stay intact",
          "[memory]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  CAPTURE(version_name(version));
  Sources sources;
  Pair pair = connected_pair(sources, version);
  REQUIRE(pair.client.conn.wants().handshake_complete);
  REQUIRE(pair.server.conn.wants().handshake_complete);

  const size_t server_full = pair.server.conn.memory().current_bytes;
  const size_t client_full = pair.client.conn.memory().current_bytes;
  const size_t server_freed = pair.server.conn.release_buffers();
  const size_t client_freed = pair.client.conn.release_buffers();
  // mbedTLS's two record buffers: 16 KiB of payload each, plus overhead.
  CHECK(server_freed > 2 * 16384);
  CHECK(client_freed > 2 * 16384);
  CHECK(pair.server.conn.memory().current_bytes == server_full - server_freed);
  CHECK(pair.client.conn.memory().current_bytes == client_full - client_freed);
  CHECK(pair.server.conn.release_buffers() == 0);  // already released

  // Many records each way (sequence numbers must carry over), released
  // again between bursts.
  for (int burst = 0; burst < 3; ++burst) {
    const auto up = pattern(50000 + static_cast<size_t>(burst) * 1000, 10 + burst);
    const auto down = pattern(70000, 20 + burst);
    const size_t server_before = pair.server.received.size();
    const size_t client_before = pair.client.received.size();
    pair.send(pair.client, up);
    pair.send(pair.server, down);
    REQUIRE(pair.pump());
    REQUIRE(pair.server.conn.error().ok());
    REQUIRE(pair.client.conn.error().ok());
    CHECK(std::vector<uint8_t>(
              pair.server.received.begin() + static_cast<std::ptrdiff_t>(server_before),
              pair.server.received.end()) == up);
    CHECK(std::vector<uint8_t>(
              pair.client.received.begin() + static_cast<std::ptrdiff_t>(client_before),
              pair.client.received.end()) == down);
    CHECK(pair.server.conn.memory().current_bytes == server_full);
    CHECK(pair.server.conn.release_buffers() == server_freed);
    CHECK(pair.client.conn.release_buffers() == client_freed);
  }

  // A close from a released connection reaches the peer as close_notify.
  pair.server.conn.close();
  REQUIRE(pair.pump());
  CHECK(pair.client.has_event(EventKind::peer_closed));
  CHECK(pair.client.conn.error().ok());
  CHECK(pair.server.conn.error().ok());
}

TEST_CASE("release_buffers frees nothing while the connection is not idle", "[memory]") {
  Sources sources;
  // Before the handshake completes.
  {
    const Config client_config = build_or_fail(client_builder(sources));
    auto client = Connection::client(client_config, "localhost");
    REQUIRE(client);
    CHECK(client.value().release_buffers() == 0);
  }
  Pair pair = connected_pair(sources, TlsVersion::tls1_3);
  // Plaintext received but not read: it lives in mbedTLS's input buffer.
  pair.server.read_plaintext = false;
  const auto data = pattern(3000, 30);
  pair.send(pair.client, data);
  REQUIRE(pair.pump());
  REQUIRE(pair.server.conn.wants().has_plaintext);
  CHECK(pair.server.conn.release_buffers() == 0);
  pair.server.read_plaintext = true;
  REQUIRE(pair.pump());
  CHECK(pair.server.received == data);
  CHECK(pair.server.conn.release_buffers() > 2 * 16384);
  // A moved-from Connection has nothing to free.
  Connection moved = std::move(pair.client.conn);
  CHECK(pair.client.conn.release_buffers() == 0);
  CHECK(moved.release_buffers() > 0);
}
