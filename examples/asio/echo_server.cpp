// A TLS echo server on C++20 coroutines over sanstls::asio::stream.
//
//   sanstls-asio-echo_server --cert chain.pem --key key.pem [--port 8443]
//   sanstls-asio-echo_server --self-test
//
// Each connection is one coroutine: handshake, echo until the client's
// close_notify (eof), then answer it with ours. --self-test makes a throw-away
// certificate, serves on a free loopback port and runs a client against it
// (exit 0 when every echo came back and both sides closed cleanly).
#include <boost/asio.hpp>
#include <cstdio>
#include <cstring>
#include <string>

#include "sanstls/adapters/asio.h"
#include "sanstls/platform.h"
#include "sanstls/testing/pki.h"

namespace net = boost::asio;
using tcp = net::ip::tcp;
using tls_stream = sanstls::asio::stream<tcp::socket>;

net::awaitable<void> echo(tls_stream tls) {
  try {
    co_await tls.async_handshake(tls_stream::server, net::use_awaitable);
    char data[4096];
    for (;;) {
      auto [ec, n] =
          co_await tls.async_read_some(net::buffer(data), net::as_tuple(net::use_awaitable));
      if (ec == net::error::eof) break;  // the client's close_notify
      if (ec) throw boost::system::system_error(ec);
      co_await net::async_write(tls, net::buffer(data, n), net::use_awaitable);
    }
    co_await tls.async_shutdown(net::use_awaitable);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "connection: %s\n", error.what());
  }
}

net::awaitable<void> listen(tcp::acceptor& acceptor, sanstls::Config config) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(net::use_awaitable);
    net::co_spawn(acceptor.get_executor(), echo(tls_stream(std::move(socket), config)),
                  net::detached);
  }
}

// The self-test's client: three lines echoed, then close_notify both ways.
net::awaitable<int> client(sanstls::Config config, tcp::endpoint server) {
  tls_stream tls(tcp::socket(co_await net::this_coro::executor), config);
  tls.set_server_name("localhost");
  co_await tls.next_layer().async_connect(server, net::use_awaitable);
  co_await tls.async_handshake(tls_stream::client, net::use_awaitable);
  std::printf("client: %s, %s\n", tls.info()->protocol, tls.info()->cipher.standard_name);
  int failures = 0;
  for (const std::string& line :
       {std::string("one\n"), std::string("two\n"), std::string(100000, 'x') + "\n"}) {
    co_await net::async_write(tls, net::buffer(line), net::use_awaitable);
    std::string back;
    co_await net::async_read_until(tls, net::dynamic_buffer(back), '\n', net::use_awaitable);
    if (back != line) ++failures;
  }
  co_await tls.async_shutdown(net::use_awaitable);
  std::printf("client: %d echoes wrong, closed cleanly\n", failures);
  co_return failures;
}

sanstls::Result<sanstls::Config> server_config(const std::string& cert, const std::string& key) {
  auto chain = sanstls::platform::read_file(cert);
  if (!chain) return chain.error();
  auto private_key = sanstls::platform::read_file(key);
  if (!private_key) return private_key.error();
  return sanstls::ConfigBuilder(sanstls::Role::server)
      .certificate(chain.value(), private_key.value())
      .random(sanstls::platform::os_random())
      .clock(sanstls::platform::system_clock())
      .build();
}

int self_test() {
  sanstls::testing::Pki pki;
  sanstls::testing::CertificateSpec spec;
  spec.common_name = "localhost";
  spec.dns_names = {"localhost"};
  auto identity = pki.self_signed(spec);
  if (!identity) return 1;
  auto server = sanstls::ConfigBuilder(sanstls::Role::server)
                    .certificate(identity->certificate_pem, identity->key.private_key_pem)
                    .random(sanstls::platform::os_random())
                    .clock(sanstls::platform::system_clock())
                    .build();
  auto client_config = sanstls::ConfigBuilder(sanstls::Role::client)
                           .trust_anchors(identity->certificate_pem)
                           .random(sanstls::platform::os_random())
                           .clock(sanstls::platform::system_clock())
                           .build();
  if (!server || !client_config) return 1;
  net::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(net::ip::address_v4::loopback(), 0));
  net::co_spawn(io, listen(acceptor, server.value()), net::detached);
  int status = 1;
  net::co_spawn(io, client(client_config.value(), acceptor.local_endpoint()),
                [&](std::exception_ptr e, int failures) {
                  if (e) {
                    try {
                      std::rethrow_exception(e);
                    } catch (const std::exception& error) {
                      std::fprintf(stderr, "client: %s\n", error.what());
                    }
                  } else {
                    status = failures == 0 ? 0 : 1;
                  }
                  io.stop();
                });
  io.run_for(std::chrono::seconds(20));
  std::printf("self-test %s\n", status == 0 ? "passed" : "FAILED");
  return status;
}

int main(int argc, char** argv) {
  std::string cert, key;
  unsigned short port = 8443;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--self-test") == 0) return self_test();
    if (std::strcmp(argv[i], "--cert") == 0 && i + 1 < argc)
      cert = argv[++i];
    else if (std::strcmp(argv[i], "--key") == 0 && i + 1 < argc)
      key = argv[++i];
    else if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc)
      port = static_cast<unsigned short>(std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: %s --cert chain.pem --key key.pem [--port N] | --self-test\n",
                   argv[0]);
      return 2;
    }
  }
  if (cert.empty() || key.empty()) {
    std::fprintf(stderr, "usage: %s --cert chain.pem --key key.pem [--port N] | --self-test\n",
                 argv[0]);
    return 2;
  }
  auto config = server_config(cert, key);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message());
    return 1;
  }
  net::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(tcp::v6(), port));
  std::printf("echo server on port %u\n", acceptor.local_endpoint().port());
  net::co_spawn(io, listen(acceptor, config.value()), net::detached);
  io.run();
  return 0;
}
