// A WebSocket client (wss://) with Beast over sanstls::asio::stream.
// Usage: sanstls-asio-websocket_client host port [path] [message]
// Sends one text message, prints the reply, and closes cleanly: the
// WebSocket close handshake, then close_notify both ways (Beast's teardown
// finds sanstls::asio::async_teardown by argument-dependent lookup).
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "sanstls/adapters/asio.h"
#include "sanstls/platform.h"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

net::awaitable<void> chat(sanstls::Config config, std::string host, std::string port,
                          std::string path, std::string message) {
  auto ex = co_await net::this_coro::executor;
  tcp::resolver resolver(ex);
  websocket::stream<sanstls::asio::stream<tcp::socket>> ws(
      sanstls::asio::stream<tcp::socket>(tcp::socket(ex), config));
  ws.next_layer().set_server_name(host);
  co_await net::async_connect(beast::get_lowest_layer(ws),
                              co_await resolver.async_resolve(host, port, net::use_awaitable),
                              net::use_awaitable);
  co_await ws.next_layer().async_handshake(sanstls::asio::stream_base::client, net::use_awaitable);
  co_await ws.async_handshake(host, path, net::use_awaitable);
  co_await ws.async_write(net::buffer(message), net::use_awaitable);
  beast::flat_buffer buffer;
  co_await ws.async_read(buffer, net::use_awaitable);
  std::cout << beast::make_printable(buffer.data()) << "\n";
  co_await ws.async_close(websocket::close_code::normal, net::use_awaitable);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s host port [path] [message]\n", argv[0]);
    return 2;
  }
  auto roots = sanstls::platform::system_trust_anchors();
  if (!roots) {
    std::fprintf(stderr, "%s\n", roots.error().message());
    return 1;
  }
  auto config = sanstls::ConfigBuilder(sanstls::Role::client)
                    .trust_anchors(roots.value())
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
                chat(config.value(), argv[1], argv[2], argc > 3 ? argv[3] : "/",
                     argc > 4 ? argv[4] : "hello from sanstls"),
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
