// sanstls::asio::stream against OpenSSL's command-line peers over loopback:
// our client to `openssl s_server`, `openssl s_client` to our server, for
// TLS 1.3 and 1.2, with futures (the io_context on its own thread) and with
// coroutines.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include "asio_support.h"
#include "support/skip.h"

using namespace sanstls::test::asio_support;
namespace sa = sanstls::asio;
using sanstls::TlsVersion;
using tls_stream = sa::stream<tcp::socket>;

namespace {

const char* version_flag(TlsVersion v) { return v == TlsVersion::tls1_3 ? "-tls1_3" : "-tls1_2"; }

struct Runner {
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> guard = net::make_work_guard(io);
  std::thread thread{[this] { io.run(); }};
  ~Runner() {
    guard.reset();
    io.stop();
    thread.join();
  }
};

template <class Future>
bool ready(Future& f, std::chrono::milliseconds limit = 10s) {
  return f.wait_for(limit) == std::future_status::ready;
}

}  // namespace

TEST_CASE("asio: our client against openssl s_server (futures)", "[asio][openssl]") {
  if (!have_program("openssl")) SANSTLS_SKIP("openssl is not installed");
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Configs configs(version);
  TempDir dir;
  const auto& pki = sanstls::test::pki();
  const std::string cert = dir.write("leaf.pem", pki.ecdsa_leaf.certificate_pem);
  const std::string chain = dir.write("chain.pem", pki.ecdsa_inter.certificate_pem);
  const std::string key = dir.write("key.pem", pki.ecdsa_leaf.key.private_key_pem);
  Child server({"openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-cert", cert,
                "-cert_chain", chain, "-key", key, version_flag(version)});
  REQUIRE(server.started());
  auto port = server.wait_for("ACCEPT 127.0.0.1:");
  REQUIRE(port);

  Runner runner;
  tls_stream client(tcp::socket(runner.io), configs.client);
  client.set_server_name("localhost");
  client.next_layer().connect(
      tcp::endpoint(net::ip::address_v4::loopback(), static_cast<uint16_t>(std::stoi(*port))));
  auto handshake = client.async_handshake(tls_stream::client, net::use_future);
  REQUIRE(ready(handshake));
  handshake.get();
  CHECK(client.info()->version == version);
  CHECK(client.info()->authorized);

  auto written =
      net::async_write(client, net::buffer(std::string("hello from sanstls\n")), net::use_future);
  REQUIRE(ready(written));
  CHECK(server.wait_for("hello from sanstls"));

  server.send("hello from openssl\n");
  std::string line;
  auto read = net::async_read_until(client, net::dynamic_buffer(line), '\n', net::use_future);
  REQUIRE(ready(read));
  CHECK(line == "hello from openssl\n");

  // s_server answers our close_notify with its own.
  auto closed = client.async_shutdown(net::use_future);
  REQUIRE(ready(closed));
  CHECK_NOTHROW(closed.get());
}

TEST_CASE("asio: openssl s_client against our server (coroutines)", "[asio][openssl]") {
  if (!have_program("openssl")) SANSTLS_SKIP("openssl is not installed");
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Configs configs(version);
  TempDir dir;
  const std::string roots = dir.write("roots.pem", sanstls::test::trusted_roots_pem());

  net::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(net::ip::address_v4::loopback(), 0));
  const std::string port = std::to_string(acceptor.local_endpoint().port());
  Child client({"openssl", "s_client", "-connect", "127.0.0.1:" + port, "-servername", "localhost",
                "-CAfile", roots, "-verify_return_error", version_flag(version)});
  REQUIRE(client.started());

  std::string got;
  sa::error_code read_end, shutdown_ec = net::error::would_block;
  std::optional<sanstls::ConnectionInfo> info;
  auto serve = [&]() -> net::awaitable<void> {
    tcp::socket socket = co_await acceptor.async_accept(net::use_awaitable);
    tls_stream server(std::move(socket), configs.server);
    co_await server.async_handshake(tls_stream::server, net::use_awaitable);
    info = *server.info();
    client.send("hello from s_client\n");
    co_await net::async_read_until(server, net::dynamic_buffer(got), '\n', net::use_awaitable);
    co_await net::async_write(server, net::buffer(std::string("hello from sanstls\n")),
                              net::use_awaitable);
    // s_client sends close_notify when its stdin ends.
    for (int i = 0; i < 2000 && client.output().find("hello from sanstls") == std::string::npos;
         ++i) {
      net::steady_timer pause(co_await net::this_coro::executor, 5ms);
      co_await pause.async_wait(net::use_awaitable);
    }
    client.close_stdin();
    std::vector<char> rest(64);
    auto [ec, n] =
        co_await server.async_read_some(net::buffer(rest), net::as_tuple(net::use_awaitable));
    read_end = ec;
    auto [ec2] = co_await server.async_shutdown(net::as_tuple(net::use_awaitable));
    shutdown_ec = ec2;
  };
  net::co_spawn(io, serve(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  REQUIRE(run_bounded(io, 20s));
  CHECK(got == "hello from s_client\n");
  REQUIRE(info);
  CHECK(info->version == version);
  CHECK(read_end == net::error::eof);
  // Our close_notify answers the client's; s_client may already be gone
  // (its TCP end after its close_notify is not truncation then).
  CHECK((!shutdown_ec || shutdown_ec == net::error::broken_pipe ||
         shutdown_ec == net::error::connection_reset));
  CHECK(client.wait_exit() == 0);
  CHECK(client.output().find("Verify return code: 0 (ok)") != std::string::npos);
}
