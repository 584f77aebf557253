// Beast over sanstls::asio::stream: an HTTP client fetching from
// `openssl s_server -www`, an HTTP server answering curl, a WebSocket client
// and server talking to each other with a clean close on both sides; and
// TLS inside TLS through an HTTPS CONNECT proxy (async_proxy_connect).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <catch2/catch_test_macros.hpp>

#include "asio_support.h"
#include "support/skip.h"

using namespace sanstls::test::asio_support;
namespace sa = sanstls::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using sanstls::ErrorCode;
using tls_stream = sa::stream<tcp::socket>;

namespace {
void rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}
}  // namespace

TEST_CASE("asio+beast: HTTP client fetching from openssl s_server -www", "[asio][beast]") {
  if (!have_program("openssl")) SANSTLS_SKIP("openssl is not installed");
  Configs configs;
  TempDir dir;
  const auto& pki = sanstls::test::pki();
  const std::string cert = dir.write("leaf.pem", pki.ecdsa_leaf.certificate_pem);
  const std::string chain = dir.write("chain.pem", pki.ecdsa_inter.certificate_pem);
  const std::string key = dir.write("key.pem", pki.ecdsa_leaf.key.private_key_pem);
  Child server({"openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-cert", cert,
                "-cert_chain", chain, "-key", key, "-www"});
  REQUIRE(server.started());
  auto port = server.wait_for("ACCEPT 127.0.0.1:");
  REQUIRE(port);

  net::io_context io;
  http::response<http::string_body> response;
  auto fetch = [&]() -> net::awaitable<void> {
    tls_stream s(tcp::socket(io), configs.client);
    s.set_server_name("localhost");
    co_await s.next_layer().async_connect(
        tcp::endpoint(net::ip::address_v4::loopback(), static_cast<uint16_t>(std::stoi(*port))),
        net::use_awaitable);
    co_await s.async_handshake(tls_stream::client, net::use_awaitable);
    http::request<http::empty_body> request(http::verb::get, "/", 11);
    request.set(http::field::host, "localhost");
    co_await http::async_write(s, request, net::use_awaitable);
    beast::flat_buffer buffer;
    // s_server -www answers HTTP/1.0 and ends with close_notify.
    co_await http::async_read(s, buffer, response, net::use_awaitable);
    auto [ec] = co_await s.async_shutdown(net::as_tuple(net::use_awaitable));
    CHECK((!ec || ec == sa::error::stream_truncated));
  };
  net::co_spawn(io, fetch(), rethrow);
  REQUIRE(run_bounded(io, 20s));
  CHECK(response.result_int() == 200);
  CHECK(response.body().find("TLSv1.3") != std::string::npos);
}

TEST_CASE("asio+beast: HTTP server on our stream answering curl", "[asio][beast]") {
  if (!have_program("curl")) SANSTLS_SKIP("curl is not installed");
  Configs configs;
  TempDir dir;
  const std::string roots = dir.write("roots.pem", sanstls::test::trusted_roots_pem());
  net::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(net::ip::address_v4::loopback(), 0));
  const std::string port = std::to_string(acceptor.local_endpoint().port());
  std::string target;
  auto serve = [&]() -> net::awaitable<void> {
    tls_stream s(co_await acceptor.async_accept(net::use_awaitable), configs.server);
    co_await s.async_handshake(tls_stream::server, net::use_awaitable);
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    co_await http::async_read(s, buffer, request, net::use_awaitable);
    target = std::string(request.target());
    http::response<http::string_body> response(http::status::ok, request.version());
    response.set(http::field::content_type, "text/plain");
    response.keep_alive(false);
    response.body() = "hello from beast over sanstls\n";
    response.prepare_payload();
    co_await http::async_write(s, response, net::use_awaitable);
    auto [ec] = co_await s.async_shutdown(net::as_tuple(net::use_awaitable));
    (void)ec;  // curl may close TCP right after our close_notify
  };
  net::co_spawn(io, serve(), rethrow);
  Child curl({"curl", "-sS", "--max-time", "15", "--noproxy", "*", "--cacert", roots,
              "https://localhost:" + port + "/hello?x=1"});
  REQUIRE(run_bounded(io, 20s));
  CHECK(curl.wait_exit() == 0);
  CHECK(curl.output() == "hello from beast over sanstls\n");
  CHECK(target == "/hello?x=1");
}

TEST_CASE("asio+beast: WebSocket client and server, clean close on both sides", "[asio][beast]") {
  Configs configs;
  net::io_context io;
  auto [client_socket, server_socket] = socket_pair(io);
  websocket::stream<tls_stream> client(tls_stream(std::move(client_socket), configs.client));
  websocket::stream<tls_stream> server(tls_stream(std::move(server_socket), configs.server));
  client.next_layer().set_server_name("localhost");
  std::string server_got, client_got;
  websocket::close_reason server_saw;
  sa::error_code server_end;

  auto server_side = [&]() -> net::awaitable<void> {
    co_await server.next_layer().async_handshake(tls_stream::server, net::use_awaitable);
    co_await server.async_accept(net::use_awaitable);
    beast::flat_buffer buffer;
    co_await server.async_read(buffer, net::use_awaitable);
    server_got = beast::buffers_to_string(buffer.data());
    co_await server.async_write(net::buffer("echo: " + server_got), net::use_awaitable);
    buffer.clear();
    auto [ec, n] = co_await server.async_read(buffer, net::as_tuple(net::use_awaitable));
    server_end = ec;  // websocket::error::closed after the client's close
    server_saw = server.reason();
  };
  auto client_side = [&]() -> net::awaitable<void> {
    co_await client.next_layer().async_handshake(tls_stream::client, net::use_awaitable);
    co_await client.async_handshake("localhost", "/chat", net::use_awaitable);
    co_await client.async_write(net::buffer(std::string("hello websocket")), net::use_awaitable);
    beast::flat_buffer buffer;
    co_await client.async_read(buffer, net::use_awaitable);
    client_got = beast::buffers_to_string(buffer.data());
    co_await client.async_close(websocket::close_code::normal, net::use_awaitable);
  };
  net::co_spawn(io, server_side(), rethrow);
  net::co_spawn(io, client_side(), rethrow);
  REQUIRE(run_bounded(io));
  CHECK(server_got == "hello websocket");
  CHECK(client_got == "echo: hello websocket");
  CHECK(server_end == websocket::error::closed);
  CHECK(server_saw.code == websocket::close_code::normal);
  // Both TLS layers ended with close_notify both ways (teardown by ADL).
  CHECK(client.next_layer().connection()->wants().closed);
  CHECK(server.next_layer().connection()->wants().closed);
  CHECK(server.next_layer().connection()->wants().read_closed);
  CHECK(client.next_layer().connection()->wants().read_closed);
}

namespace {

// A CONNECT proxy speaking TLS (an HTTPS proxy): reads the request, connects
// to the origin over TCP, answers 200 (or `refusal`) and relays both ways.
net::awaitable<void> https_proxy(tcp::acceptor& acceptor, const sanstls::Config& config,
                                 std::string& request_seen, std::string refusal = {}) {
  auto ex = co_await net::this_coro::executor;
  tls_stream client(co_await acceptor.async_accept(net::use_awaitable), config);
  co_await client.async_handshake(tls_stream::server, net::use_awaitable);
  std::string head;
  co_await net::async_read_until(client, net::dynamic_buffer(head), "\r\n\r\n", net::use_awaitable);
  request_seen = head;
  if (!refusal.empty()) {
    co_await net::async_write(client, net::buffer(refusal), net::use_awaitable);
    co_await client.async_shutdown(net::as_tuple(net::use_awaitable));
    co_return;
  }
  // "CONNECT localhost:PORT HTTP/1.1"
  const size_t colon = head.find(':');
  const uint16_t port = static_cast<uint16_t>(std::stoi(head.substr(colon + 1)));
  tcp::socket origin(ex);
  co_await origin.async_connect(tcp::endpoint(net::ip::address_v4::loopback(), port),
                                net::use_awaitable);
  co_await net::async_write(client,
                            net::buffer(std::string("HTTP/1.1 200 Connection established\r\n\r\n")),
                            net::use_awaitable);
  auto pump = [](auto& from, auto& to) -> net::awaitable<void> {
    std::vector<char> buffer(16384);
    for (;;) {
      auto [ec, n] =
          co_await from.async_read_some(net::buffer(buffer), net::as_tuple(net::use_awaitable));
      if (ec) break;
      auto [ec2, m] =
          co_await net::async_write(to, net::buffer(buffer, n), net::as_tuple(net::use_awaitable));
      if (ec2) break;
    }
  };
  // Relay both ways (one read and one write on each stream at a time) until
  // both ends are done, then answer the client's close_notify.
  using namespace net::experimental::awaitable_operators;
  co_await (pump(client, origin) && pump(origin, client));
  co_await client.async_shutdown(net::as_tuple(net::use_awaitable));
}

}  // namespace

TEST_CASE("asio: TLS inside TLS through an HTTPS CONNECT proxy", "[asio][proxy]") {
  Configs configs;
  net::io_context io;
  tcp::acceptor proxy_acceptor(io, tcp::endpoint(net::ip::address_v4::loopback(), 0));
  tcp::acceptor origin_acceptor(io, tcp::endpoint(net::ip::address_v4::loopback(), 0));
  const uint16_t origin_port = origin_acceptor.local_endpoint().port();
  std::string request_seen, origin_got, client_got;
  sa::error_code inner_close = net::error::would_block;

  auto origin = [&]() -> net::awaitable<void> {
    tls_stream s(co_await origin_acceptor.async_accept(net::use_awaitable), configs.server);
    co_await s.async_handshake(tls_stream::server, net::use_awaitable);
    co_await net::async_read_until(s, net::dynamic_buffer(origin_got), '\n', net::use_awaitable);
    co_await net::async_write(s, net::buffer(std::string("inner reply\n")), net::use_awaitable);
    std::vector<char> rest(16);
    co_await s.async_read_some(net::buffer(rest), net::as_tuple(net::use_awaitable));  // eof
    co_await s.async_shutdown(net::as_tuple(net::use_awaitable));
    s.next_layer().close();
  };
  auto client = [&]() -> net::awaitable<void> {
    tls_stream outer(tcp::socket(io), configs.client);
    outer.set_server_name("localhost");  // the proxy's name
    co_await outer.next_layer().async_connect(proxy_acceptor.local_endpoint(), net::use_awaitable);
    co_await outer.async_handshake(tls_stream::client, net::use_awaitable);
    sa::stream<tls_stream> inner(std::move(outer), configs.client);
    inner.set_server_name("127.0.0.1");  // the origin's name, checked inside the tunnel
    sanstls::tunnel::ConnectRequest request;
    request.host = "localhost";
    request.port = origin_port;
    co_await inner.async_proxy_connect(request, net::use_awaitable);
    CHECK(inner.last_proxy_reply().status == 200);
    co_await inner.async_handshake(tls_stream::client, net::use_awaitable);
    CHECK(inner.info()->authorized);
    co_await net::async_write(inner, net::buffer(std::string("inner hello\n")), net::use_awaitable);
    co_await net::async_read_until(inner, net::dynamic_buffer(client_got), '\n',
                                   net::use_awaitable);
    auto [ec] = co_await inner.async_shutdown(net::as_tuple(net::use_awaitable));
    inner_close = ec;
    co_await inner.next_layer().async_shutdown(net::as_tuple(net::use_awaitable));
  };
  net::co_spawn(io, https_proxy(proxy_acceptor, configs.server, request_seen), rethrow);
  net::co_spawn(io, origin(), rethrow);
  net::co_spawn(io, client(), rethrow);
  REQUIRE(run_bounded(io));
  CHECK(request_seen.rfind("CONNECT localhost:" + std::to_string(origin_port) + " HTTP/1.1\r\n",
                           0) == 0);
  CHECK(origin_got == "inner hello\n");
  CHECK(client_got == "inner reply\n");
  CHECK_FALSE(inner_close);
}

TEST_CASE("asio: a proxy refusing CONNECT is a named error of stage proxy", "[asio][proxy]") {
  Configs configs;
  net::io_context io;
  tcp::acceptor proxy_acceptor(io, tcp::endpoint(net::ip::address_v4::loopback(), 0));
  std::string request_seen;
  sa::error_code ec;
  auto client = [&]() -> net::awaitable<void> {
    tls_stream outer(tcp::socket(io), configs.client);
    outer.set_server_name("localhost");
    co_await outer.next_layer().async_connect(proxy_acceptor.local_endpoint(), net::use_awaitable);
    co_await outer.async_handshake(tls_stream::client, net::use_awaitable);
    sa::stream<tls_stream> inner(std::move(outer), configs.client);
    sanstls::tunnel::ConnectRequest request;
    request.host = "example.com";
    request.port = 443;
    std::tie(ec) = co_await inner.async_proxy_connect(request, net::as_tuple(net::use_awaitable));
    CHECK(inner.last_proxy_reply().status == 403);
    // An invalid request never reaches the wire.
    request.host = "bad host\r\n";
    auto [bad] = co_await inner.async_proxy_connect(request, net::as_tuple(net::use_awaitable));
    CHECK(bad == ErrorCode::invalid_argument);
    CHECK(sa::error_stage(bad) == sanstls::Stage::config);
  };
  net::co_spawn(io,
                https_proxy(proxy_acceptor, configs.server, request_seen,
                            "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
                rethrow);
  net::co_spawn(io, client(), rethrow);
  REQUIRE(run_bounded(io));
  CHECK(ec == ErrorCode::proxy_refused);
  CHECK(sa::error_stage(ec) == sanstls::Stage::proxy);
  CHECK(std::string(sa::error_name(ec)) == "ERR_PROXY_REFUSED");
  CHECK(ec.message().find("403") != std::string::npos);
}
