// The blocking adapter through an HTTPS proxy (ProxyOptions::tls): TLS to
// the proxy, CONNECT inside it, the origin's TLS inside that (two engines
// stacked on the client, the carrier Stream). The proxy is a thread: a
// blocking TLS server Stream that reads CONNECT, answers, and on a 2xx runs
// the origin's server Connection itself over the Stream's plaintext.
#include <catch2/catch_test_macros.hpp>

#include <string>
#include <thread>

#include "sanstls/adapters/blocking.h"
#include "support/fixtures.h"

using namespace sanstls;
using namespace sanstls::test;
using sanstls::blocking::Milliseconds;
using sanstls::blocking::Stream;

namespace {

constexpr Milliseconds kOp{20000};  // bounds a broken test only

struct ProxyRecord {
  Error outer_handshake;
  std::string request;
  std::string echoed;
};

// The origin's TLS server over the proxy's plaintext: echoes one message.
void serve_origin(Stream& outer, const Config& origin, ProxyRecord& record) {
  auto made = Connection::server(origin);
  if (!made) return;
  Connection inner = std::move(made).value();
  uint8_t buffer[16384];
  for (int round = 0; round < 1000 && inner.error().ok(); ++round) {
    const ByteView out = inner.pending_output();
    if (!out.empty()) {
      if (outer.write_all(out, kOp)) return;
      inner.consume_output(out.size());
      continue;
    }
    if (inner.wants().closed) break;
    const size_t n = inner.read(MutableByteView(buffer, sizeof buffer));
    if (n > 0) {
      record.echoed.append(reinterpret_cast<const char*>(buffer), n);
      inner.write(ByteView(buffer, n));
      inner.close();
      continue;
    }
    if (inner.wants().read_closed) break;
    auto got = outer.read(MutableByteView(buffer, sizeof buffer), kOp);
    if (!got || got.value() == 0) break;
    ByteView rest(buffer, got.value());
    while (!rest.empty()) {
      const size_t taken = inner.feed(rest);
      if (taken == 0) break;
      rest = rest.skip(taken);
    }
  }
  (void)outer.shutdown(Milliseconds(500));
}

void run_proxy(blocking::Listener& listener, const Config& proxy_tls, const std::string& reply,
               const Config* origin, ProxyRecord& record) {
  auto accepted = listener.accept(proxy_tls, kOp);
  if (!accepted) return;
  Stream outer = std::move(accepted).value();
  if ((record.outer_handshake = outer.handshake(kOp))) return;
  uint8_t c = 0;
  while (record.request.size() < 4096 && record.request.find("\r\n\r\n") == std::string::npos) {
    auto n = outer.read(MutableByteView(&c, 1), kOp);
    if (!n || n.value() == 0) return;
    record.request += static_cast<char>(c);
  }
  if (outer.write_all(ByteView(reply), kOp)) return;
  if (origin != nullptr)
    serve_origin(outer, *origin, record);
  else
    (void)outer.shutdown(Milliseconds(500));
}

blocking::ConnectOptions through(uint16_t port, const Config& proxy_client) {
  blocking::ConnectOptions options;
  options.timeout = kOp;
  options.proxy = blocking::ProxyOptions{};
  options.proxy->host = "127.0.0.1";
  options.proxy->port = port;
  options.proxy->credentials = tunnel::BasicCredentials{"alice", "s3cret"};
  options.proxy->tls = &proxy_client;
  options.proxy->tls_server_name = "localhost";
  return options;
}

}  // namespace

TEST_CASE("blocking: TLS inside TLS through an HTTPS proxy", "[tunnel][https-proxy]") {
  Sources sources;
  const Config proxy_tls = build_or_fail(server_builder(sources));
  const Config origin = build_or_fail(server_builder(sources));
  const Config client = build_or_fail(client_builder(sources));
  auto listener = blocking::Listener::bind("127.0.0.1", 0);
  REQUIRE(listener);
  ProxyRecord record;
  std::thread proxy([&] {
    run_proxy(listener.value(), proxy_tls, "HTTP/1.1 200 Connection established\r\n\r\n", &origin,
              record);
  });
  blocking::ProxyReply reply;
  blocking::ConnectOptions options = through(listener->port(), client);
  options.proxy->reply = &reply;
  options.server_name = "localhost";
  auto stream = Stream::connect(client, "origin.example", 443, options);
  if (stream) {
    CHECK(stream->carrier() != nullptr);
    CHECK(stream->carrier()->connection().info().authorized);
    CHECK(stream->connection().info().authorized);
    CHECK(stream->peer_address() == "127.0.0.1:" + std::to_string(listener->port()));
    CHECK_FALSE(stream->write_all(ByteView("ping"), kOp));
    uint8_t buffer[16];
    auto n = stream->read(MutableByteView(buffer, sizeof buffer), kOp);
    REQUIRE(n);
    CHECK(std::string(reinterpret_cast<const char*>(buffer), n.value()) == "ping");
    CHECK_FALSE(stream->shutdown(kOp));
  }
  proxy.join();
  REQUIRE(stream);
  CHECK(reply.status == 200);
  CHECK(record.request.rfind("CONNECT origin.example:443 HTTP/1.1\r\n", 0) == 0);
  CHECK(record.request.find("Proxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n") !=
        std::string::npos);
  CHECK(record.echoed == "ping");
}

TEST_CASE("blocking: an HTTPS proxy's failures are named by their layer", "[tunnel][https-proxy]") {
  const TestPki& p = pki();
  Sources sources;
  const Config client = build_or_fail(client_builder(sources));
  SECTION("a proxy certificate from an unknown CA: stage certificate, naming the proxy") {
    ConfigBuilder untrusted(Role::server);
    untrusted.random(sources.server_random)
        .clock(sources.clock)
        .certificate(p.other_leaf.certificate_pem, p.other_leaf.key.private_key_pem);
    const Config proxy_tls = build_or_fail(untrusted);
    auto listener = blocking::Listener::bind("127.0.0.1", 0);
    REQUIRE(listener);
    ProxyRecord record;
    std::thread proxy([&] { run_proxy(listener.value(), proxy_tls, "", nullptr, record); });
    auto stream = Stream::connect(client, "origin.example", 443, through(listener->port(), client));
    proxy.join();
    REQUIRE_FALSE(stream);
    CHECK(stream.error().stage() == Stage::certificate);
    CHECK(std::string(stream.error().name()) == "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    CHECK(std::string(stream.error().message()).rfind("proxy 127.0.0.1:", 0) == 0);
    CHECK(record.request.empty());  // CONNECT never left the client
  }
  SECTION("a 407 inside the proxy's TLS: stage proxy") {
    const Config proxy_tls = build_or_fail(server_builder(sources));
    auto listener = blocking::Listener::bind("127.0.0.1", 0);
    REQUIRE(listener);
    ProxyRecord record;
    std::thread proxy([&] {
      run_proxy(listener.value(), proxy_tls,
                "HTTP/1.1 407 Proxy Authentication Required\r\n"
                "Proxy-Authenticate: Basic realm=\"p\"\r\n\r\n",
                nullptr, record);
    });
    blocking::ProxyReply reply;
    blocking::ConnectOptions options = through(listener->port(), client);
    options.proxy->reply = &reply;
    auto stream = Stream::connect(client, "origin.example", 443, options);
    proxy.join();
    REQUIRE_FALSE(stream);
    CHECK(stream.error().code() == ErrorCode::proxy_refused);
    CHECK(stream.error().stage() == Stage::proxy);
    CHECK(reply.status == 407);
    CHECK(reply.proxy_authenticate == "Basic realm=\"p\"");
  }
  SECTION("the proxy closes its TLS without a reply: ERR_PROXY_CLOSED") {
    const Config proxy_tls = build_or_fail(server_builder(sources));
    auto listener = blocking::Listener::bind("127.0.0.1", 0);
    REQUIRE(listener);
    ProxyRecord record;
    std::thread proxy([&] { run_proxy(listener.value(), proxy_tls, "", nullptr, record); });
    auto stream = Stream::connect(client, "origin.example", 443, through(listener->port(), client));
    proxy.join();
    REQUIRE_FALSE(stream);
    CHECK(stream.error().code() == ErrorCode::proxy_closed);
    CHECK(stream.error().stage() == Stage::proxy);
  }
}
