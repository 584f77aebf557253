// HTTPS GET with Beast over sanstls::asio::stream (callbacks-free: C++20
// coroutines). Usage: sanstls-asio-https_get host [port] [target]
// Verifies the server against the system's CA bundle (SSL_CERT_FILE too).
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "sanstls/adapters/asio.h"
#include "sanstls/platform.h"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

net::awaitable<void> get(sanstls::Config config, std::string host, std::string port,
                         std::string target) {
  auto ex = co_await net::this_coro::executor;
  tcp::resolver resolver(ex);
  sanstls::asio::stream<tcp::socket> tls(tcp::socket(ex), config);
  tls.set_server_name(host);  // SNI and certificate check
  co_await net::async_connect(tls.next_layer(),
                              co_await resolver.async_resolve(host, port, net::use_awaitable),
                              net::use_awaitable);
  co_await tls.async_handshake(sanstls::asio::stream_base::client, net::use_awaitable);
  std::fprintf(stderr, "connected: %s %s\n", tls.info()->protocol,
               tls.info()->cipher.standard_name);

  http::request<http::empty_body> request(http::verb::get, target, 11);
  request.set(http::field::host, host);
  request.set(http::field::user_agent, "sanstls-asio-example");
  co_await http::async_write(tls, request, net::use_awaitable);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  co_await http::async_read(tls, buffer, response, net::use_awaitable);
  std::cout << response.base() << response.body();

  // close_notify both ways; many servers just close TCP (stream_truncated).
  auto [ec] = co_await tls.async_shutdown(net::as_tuple(net::use_awaitable));
  if (ec && ec != sanstls::asio::error::stream_truncated) {
    std::fprintf(stderr, "shutdown: %s\n", ec.message().c_str());
  }
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s host [port] [target]\n", argv[0]);
    return 2;
  }
  auto roots = sanstls::platform::system_trust_anchors();
  if (!roots) {
    std::fprintf(stderr, "%s\n", roots.error().message());
    return 1;
  }
  auto config = sanstls::ConfigBuilder(sanstls::Role::client)
                    .trust_anchors(roots.value())
                    .alpn({"http/1.1"})
                    .random(sanstls::platform::os_random())
                    .clock(sanstls::platform::system_clock())
                    .build();
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message());
    return 1;
  }
  net::io_context io;
  int status = 0;
  net::co_spawn(io,
                get(config.value(), argv[1], argc > 2 ? argv[2] : "443", argc > 3 ? argv[3] : "/"),
                [&](std::exception_ptr e) {
                  if (!e) return;
                  try {
                    std::rethrow_exception(e);
                  } catch (const std::exception& error) {
                    std::fprintf(stderr, "error: %s\n", error.what());
                    status = 1;
                  }
                });
  io.run();
  return status;
}
