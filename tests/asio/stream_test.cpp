// sanstls::asio::stream against itself over loopback TCP: handshake, data
// both ways and shutdown with callbacks, futures, coroutines, deferred and
// synchronous calls; truncation, timeouts, cancellation and named errors.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include "asio_support.h"

using namespace sanstls::test::asio_support;
namespace sa = sanstls::asio;
using sanstls::ErrorCode;
using sanstls::TlsVersion;
using tls_stream = sa::stream<tcp::socket>;

namespace {

std::string text_of(const std::vector<char>& bytes, size_t n) {
  return std::string(bytes.data(), n);
}

}  // namespace

TEST_CASE("asio: callbacks: handshake, data both ways, close_notify both ways", "[asio]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Configs configs(version);
  net::io_context io;
  auto [client_socket, server_socket] = socket_pair(io);
  tls_stream client(std::move(client_socket), configs.client);
  tls_stream server(std::move(server_socket), configs.server);
  client.set_server_name("localhost");

  std::string server_got, client_got;
  sa::error_code client_shutdown_ec = net::error::would_block;
  sa::error_code server_shutdown_ec = net::error::would_block;
  std::vector<char> server_buf(64), client_buf(64);
  const std::string ping = "ping from the client", pong = "pong from the server";

  server.async_handshake(tls_stream::server, [&](sa::error_code ec) {
    REQUIRE_FALSE(ec);
    net::async_read(
        server, net::buffer(server_buf, ping.size()), [&](sa::error_code ec2, size_t n) {
          REQUIRE_FALSE(ec2);
          server_got = text_of(server_buf, n);
          net::async_write(server, net::buffer(pong), [&](sa::error_code ec3, size_t) {
            REQUIRE_FALSE(ec3);
            // The client's close_notify ends our reading with eof.
            server.async_read_some(net::buffer(server_buf), [&](sa::error_code ec4, size_t) {
              CHECK(ec4 == net::error::eof);
              server.async_shutdown([&](sa::error_code ec5) { server_shutdown_ec = ec5; });
            });
          });
        });
  });
  client.async_handshake(tls_stream::client, [&](sa::error_code ec) {
    REQUIRE_FALSE(ec);
    net::async_write(client, net::buffer(ping), [&](sa::error_code ec2, size_t) {
      REQUIRE_FALSE(ec2);
      net::async_read(
          client, net::buffer(client_buf, pong.size()), [&](sa::error_code ec3, size_t n) {
            REQUIRE_FALSE(ec3);
            client_got = text_of(client_buf, n);
            client.async_shutdown([&](sa::error_code ec4) { client_shutdown_ec = ec4; });
          });
    });
  });
  REQUIRE(run_bounded(io));
  CHECK(server_got == ping);
  CHECK(client_got == pong);
  CHECK_FALSE(client_shutdown_ec);
  CHECK_FALSE(server_shutdown_ec);
  REQUIRE(client.info() != nullptr);
  CHECK(client.info()->version == version);
  CHECK(server.connection()->wants().closed);
}

TEST_CASE("asio: coroutines, one read and one write outstanding at once", "[asio]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Configs configs(version);
  net::io_context io;
  auto [client_socket, server_socket] = socket_pair(io);
  tls_stream client(std::move(client_socket), configs.client);
  tls_stream server(std::move(server_socket), configs.server);
  client.set_server_name("localhost");

  // 1 MiB each way at the same time: both sides keep a read and a write
  // outstanding together, which exercises the shared output lock.
  const size_t size = 1 << 20;
  std::string client_data(size, 'c'), server_data(size, 's');
  for (size_t i = 0; i < size; i += 997) client_data[i] = static_cast<char>('a' + i % 23);
  std::string client_got(size, 0), server_got(size, 0);
  int finished = 0;

  auto side = [&](tls_stream& s, tls_stream::handshake_type type, const std::string& out,
                  std::string& in) -> net::awaitable<void> {
    co_await s.async_handshake(type, net::use_awaitable);
    using namespace net::experimental::awaitable_operators;
    co_await (net::async_write(s, net::buffer(out), net::use_awaitable) &&
              net::async_read(s, net::buffer(in), net::use_awaitable));
    ++finished;
  };
  net::co_spawn(io, side(client, tls_stream::client, client_data, client_got), net::detached);
  net::co_spawn(io, side(server, tls_stream::server, server_data, server_got), net::detached);
  REQUIRE(run_bounded(io));
  CHECK(finished == 2);
  CHECK(server_got == client_data);
  CHECK(client_got == server_data);

  // Then shutdown from both sides at once, as coroutines.
  sa::error_code a = net::error::would_block, b = net::error::would_block;
  auto closer = [](tls_stream& s, sa::error_code& out) -> net::awaitable<void> {
    auto [ec] = co_await s.async_shutdown(net::as_tuple(net::use_awaitable));
    out = ec;
  };
  net::co_spawn(io, closer(client, a), net::detached);
  net::co_spawn(io, closer(server, b), net::detached);
  REQUIRE(run_bounded(io));
  CHECK_FALSE(a);
  CHECK_FALSE(b);
}

TEST_CASE("asio: futures and deferred, io_context on its own thread", "[asio]") {
  Configs configs;
  net::io_context io;
  auto [client_socket, server_socket] = socket_pair(io);
  tls_stream client(std::move(client_socket), configs.client);
  tls_stream server(std::move(server_socket), configs.server);
  client.set_server_name("127.0.0.1");
  auto guard = net::make_work_guard(io);
  std::thread runner([&] { io.run(); });

  auto server_hs = server.async_handshake(tls_stream::server, net::use_future);
  // deferred: nothing starts until the deferred operation is given a token.
  auto deferred_hs = client.async_handshake(tls_stream::client, net::deferred);
  auto client_hs = std::move(deferred_hs)(net::use_future);
  REQUIRE(client_hs.wait_for(10s) == std::future_status::ready);
  REQUIRE(server_hs.wait_for(10s) == std::future_status::ready);
  client_hs.get();
  server_hs.get();

  const std::string message = "over futures";
  auto written = net::async_write(client, net::buffer(message), net::use_future);
  std::vector<char> buffer(message.size());
  auto read = net::async_read(server, net::buffer(buffer), net::use_future);
  REQUIRE(read.wait_for(10s) == std::future_status::ready);
  CHECK(read.get() == message.size());
  CHECK(written.get() == message.size());
  CHECK(std::string(buffer.begin(), buffer.end()) == message);

  auto client_close = client.async_shutdown(net::use_future);
  auto server_close = server.async_shutdown(net::use_future);
  REQUIRE(client_close.wait_for(10s) == std::future_status::ready);
  REQUIRE(server_close.wait_for(10s) == std::future_status::ready);
  CHECK_NOTHROW(client_close.get());
  CHECK_NOTHROW(server_close.get());
  guard.reset();
  runner.join();
}

TEST_CASE("asio: synchronous calls, throwing and error_code forms", "[asio]") {
  Configs configs(TlsVersion::tls1_2);
  net::io_context io;
  auto [client_socket, server_socket] = socket_pair(io);
  tls_stream server(std::move(server_socket), configs.server);
  std::thread client_thread([&, socket = std::move(client_socket)]() mutable {
    tls_stream client(std::move(socket), configs.client);
    client.set_server_name("localhost");
    client.handshake(tls_stream::client);
    net::write(client, net::buffer(std::string("sync hello")));
    std::vector<char> buffer(10);
    net::read(client, net::buffer(buffer));
    CHECK(std::string(buffer.begin(), buffer.end()) == "sync reply");
    sa::error_code ec;
    client.shutdown(ec);
    CHECK_FALSE(ec);
  });
  server.handshake(tls_stream::server);
  std::vector<char> buffer(10);
  net::read(server, net::buffer(buffer));
  CHECK(std::string(buffer.begin(), buffer.end()) == "sync hello");
  net::write(server, net::buffer(std::string("sync reply")));
  sa::error_code ec;
  server.read_some(net::buffer(buffer), ec);
  CHECK(ec == net::error::eof);
  server.shutdown();
  client_thread.join();
  // After shutdown, writing fails with a clear error, and the throwing form throws.
  CHECK_THROWS_AS(server.write_some(net::buffer(std::string("late"))), boost::system::system_error);
}

TEST_CASE("asio: the peer closing TCP without close_notify is stream_truncated", "[asio]") {
  Configs configs;
  net::io_context io;
  auto [client_socket, server_socket] = socket_pair(io);
  tls_stream client(std::move(client_socket), configs.client);
  tls_stream server(std::move(server_socket), configs.server);
  client.set_server_name("localhost");
  sa::error_code read_ec;
  std::vector<char> buffer(16);
  server.async_handshake(tls_stream::server, [&](sa::error_code ec) {
    REQUIRE_FALSE(ec);
    server.next_layer().close();  // vanish: no close_notify
  });
  client.async_handshake(tls_stream::client, [&](sa::error_code ec) {
    REQUIRE_FALSE(ec);
    client.async_read_some(net::buffer(buffer), [&](sa::error_code ec2, size_t) { read_ec = ec2; });
  });
  REQUIRE(run_bounded(io));
  CHECK(read_ec == sa::error::stream_truncated);
  CHECK(read_ec == ErrorCode::unexpected_eof);
  CHECK(std::string(sa::error_name(read_ec)) == "ERR_SSL_UNEXPECTED_EOF_WHILE_READING");
  // A shutdown afterwards says so too (the peer's close_notify never came).
  sa::error_code shutdown_ec;
  client.async_shutdown([&](sa::error_code ec) { shutdown_ec = ec; });
  REQUIRE(run_bounded(io));
  CHECK(shutdown_ec == sa::error::stream_truncated);
}

TEST_CASE("asio: the peer vanishing mid-handshake", "[asio]") {
  Configs configs;
  net::io_context io;
  auto [client_socket, server_socket] = socket_pair(io);
  tls_stream client(std::move(client_socket), configs.client);
  client.set_server_name("localhost");
  sa::error_code ec = net::error::would_block;
  client.async_handshake(tls_stream::client, [&](sa::error_code e) { ec = e; });
  // The server reads the ClientHello and closes without a word.
  std::vector<char> hello(512);
  server_socket.async_read_some(net::buffer(hello),
                                [&](sa::error_code, size_t) { server_socket.close(); });
  REQUIRE(run_bounded(io));
  CHECK(ec == sa::error::stream_truncated);
}

TEST_CASE("asio: shutdown waits for the peer's close_notify, bounded by a timeout", "[asio]") {
  Configs configs;
  net::io_context io;
  auto [client_socket, server_socket] = socket_pair(io);
  tls_stream client(std::move(client_socket), configs.client);
  tls_stream server(std::move(server_socket), configs.server);
  client.set_server_name("localhost");
  client.set_shutdown_timeout(200ms);
  sa::error_code shutdown_ec;
  std::chrono::steady_clock::duration took{};
  server.async_handshake(tls_stream::server, [&](sa::error_code ec) { REQUIRE_FALSE(ec); });
  client.async_handshake(tls_stream::client, [&](sa::error_code ec) {
    REQUIRE_FALSE(ec);
    // The server never reads again, so it never answers.
    const auto start = std::chrono::steady_clock::now();
    client.async_shutdown([&, start](sa::error_code ec2) {
      shutdown_ec = ec2;
      took = std::chrono::steady_clock::now() - start;
    });
  });
  REQUIRE(run_bounded(io));
  CHECK(shutdown_ec == net::error::timed_out);
  CHECK(took >= 190ms);
  CHECK(took < 5s);
}

TEST_CASE("asio: cancellation through a slot leaves a defined state", "[asio]") {
  Configs configs;
  net::io_context io;
  auto [client_socket, server_socket] = socket_pair(io);
  tls_stream client(std::move(client_socket), configs.client);
  tls_stream server(std::move(server_socket), configs.server);
  client.set_server_name("localhost");
  net::cancellation_signal cancel_read, cancel_shutdown;
  net::steady_timer timer(io);
  sa::error_code first_read_ec, second_read_ec, shutdown_ec;
  std::string second_read;
  std::vector<char> buffer(32);

  server.async_handshake(tls_stream::server, [&](sa::error_code ec) { REQUIRE_FALSE(ec); });
  client.async_handshake(tls_stream::client, [&](sa::error_code ec) {
    REQUIRE_FALSE(ec);
    // A read cancelled mid-wait completes with operation_aborted...
    client.async_read_some(
        net::buffer(buffer),
        net::bind_cancellation_slot(cancel_read.slot(), [&](sa::error_code e, size_t) {
          first_read_ec = e;
          // ...and the stream reads normally afterwards.
          net::async_write(server, net::buffer(std::string("after cancel")),
                           [](sa::error_code e2, size_t) { REQUIRE_FALSE(e2); });
          client.async_read_some(net::buffer(buffer), [&](sa::error_code e3, size_t n) {
            second_read_ec = e3;
            second_read.assign(buffer.data(), n);
            // A shutdown cancelled while it waits for the peer.
            client.async_shutdown(net::bind_cancellation_slot(
                cancel_shutdown.slot(), [&](sa::error_code e4) { shutdown_ec = e4; }));
            net::post(io, [&] { cancel_shutdown.emit(net::cancellation_type::terminal); });
          });
        }));
    timer.expires_after(50ms);
    timer.async_wait([&](sa::error_code) { cancel_read.emit(net::cancellation_type::total); });
  });
  REQUIRE(run_bounded(io));
  CHECK(first_read_ec == net::error::operation_aborted);
  CHECK_FALSE(second_read_ec);
  CHECK(second_read == "after cancel");
  CHECK(shutdown_ec == net::error::operation_aborted);
}

TEST_CASE("asio: cancelling a handshake, and the engine's handshake timer", "[asio]") {
  Configs configs;
  net::io_context io;
  SECTION("cancelled mid-handshake through its slot") {
    auto [client_socket, server_socket] = socket_pair(io);
    tls_stream server(std::move(server_socket), configs.server);
    net::cancellation_signal cancel;
    sa::error_code ec;
    server.async_handshake(
        tls_stream::server,
        net::bind_cancellation_slot(cancel.slot(), [&](sa::error_code e) { ec = e; }));
    net::steady_timer timer(io, 30ms);
    timer.async_wait([&](sa::error_code) { cancel.emit(net::cancellation_type::terminal); });
    REQUIRE(run_bounded(io));
    CHECK(ec == net::error::operation_aborted);
  }
  SECTION("the engine's handshake_timeout, driven by the stream's timer") {
    auto server_config = sanstls::test::build_or_fail(sanstls::test::server_builder(configs.sources)
                                                          .clock(sanstls::platform::system_clock())
                                                          .handshake_timeout(150));
    auto [client_socket, server_socket] = socket_pair(io);
    tls_stream server(std::move(server_socket), server_config);
    server.drive_timers(sanstls::platform::system_clock());
    sa::error_code ec;
    const auto start = std::chrono::steady_clock::now();
    server.async_handshake(tls_stream::server, [&](sa::error_code e) { ec = e; });
    REQUIRE(run_bounded(io));  // the client socket stays silent
    CHECK(ec == ErrorCode::handshake_timeout);
    CHECK(sa::error_stage(ec) == sanstls::Stage::handshake);
    CHECK(std::chrono::steady_clock::now() - start >= 140ms);
    CHECK(server.last_error().code() == ErrorCode::handshake_timeout);
  }
}

TEST_CASE("asio: errors carry the name, stage, alert and message", "[asio]") {
  Configs configs;
  net::io_context io;
  auto [client_socket, server_socket] = socket_pair(io);
  tls_stream client(std::move(client_socket), configs.client);
  tls_stream server(std::move(server_socket), configs.server);
  client.set_server_name("wrong.example");
  sa::error_code client_ec, server_ec;
  client.async_handshake(tls_stream::client, [&](sa::error_code e) { client_ec = e; });
  server.async_handshake(tls_stream::server, [&](sa::error_code e) { server_ec = e; });
  REQUIRE(run_bounded(io));
  REQUIRE(client_ec);
  CHECK(client_ec.category() == sa::category());
  CHECK(client_ec == ErrorCode::hostname_mismatch);
  CHECK(std::string(sa::error_name(client_ec)) == "ERR_TLS_CERT_ALTNAME_INVALID");
  CHECK(sa::error_stage(client_ec) == sanstls::Stage::certificate);
  CHECK(client_ec.message().find("ERR_TLS_CERT_ALTNAME_INVALID") != std::string::npos);
  CHECK(client_ec.message().find(client.last_error().message()) != std::string::npos);
  REQUIRE(server_ec);
  CHECK(sa::error_alert(server_ec).has_value());
  CHECK(sa::error_alert_direction(server_ec) == sanstls::AlertDirection::received);
  // Reading or writing before a handshake is a clear error, not a hang.
  tls_stream fresh(tcp::socket(io), configs.client);
  sa::error_code ec;
  std::vector<char> buffer(4);
  fresh.read_some(net::buffer(buffer), ec);
  CHECK(ec.category() == sa::category());
  CHECK(sa::error_stage(ec) == sanstls::Stage::closed);
}

TEST_CASE("asio: a server given bytes already read (buffered handshake)", "[asio]") {
  Configs configs;
  net::io_context io;
  auto [client_socket, server_socket] = socket_pair(io);
  tls_stream client(std::move(client_socket), configs.client);
  client.set_server_name("localhost");
  sa::error_code client_ec = net::error::would_block, server_ec = net::error::would_block;
  std::vector<uint8_t> peeked(5);  // a server that reads the record header itself
  std::optional<tls_stream> server;
  client.async_handshake(tls_stream::client, [&](sa::error_code e) { client_ec = e; });
  net::async_read(server_socket, net::buffer(peeked), [&](sa::error_code e, size_t) {
    REQUIRE_FALSE(e);
    CHECK(peeked[0] == 22);  // a handshake record
    server.emplace(std::move(server_socket), configs.server);
    server->async_handshake(tls_stream::server, net::buffer(peeked),
                            [&](sa::error_code e2, size_t used) {
                              server_ec = e2;
                              CHECK(used == peeked.size());
                            });
  });
  REQUIRE(run_bounded(io));
  CHECK_FALSE(client_ec);
  CHECK_FALSE(server_ec);
}

TEST_CASE("asio: the stream is movable", "[asio]") {
  static_assert(std::is_nothrow_move_constructible_v<tls_stream>);
  Configs configs;
  net::io_context io;
  auto [client_socket, server_socket] = socket_pair(io);
  tls_stream client(std::move(client_socket), configs.client);
  tls_stream server_first(std::move(server_socket), configs.server);
  tls_stream server = std::move(server_first);
  client.set_server_name("localhost");
  sa::error_code a = net::error::would_block, b = net::error::would_block;
  client.async_handshake(tls_stream::client, [&](sa::error_code e) { a = e; });
  server.async_handshake(tls_stream::server, [&](sa::error_code e) { b = e; });
  REQUIRE(run_bounded(io));
  CHECK_FALSE(a);
  CHECK_FALSE(b);
}
