// The server side of CONNECT (tunnel::ConnectRequestParser): requests parsed
// at any split, the status each malformed request earns, Basic credentials,
// pipelined bytes left to the caller, and the reply builder.
#include <catch2/catch_test_macros.hpp>

#include <string>

#include "sanstls/tunnel.h"

using namespace sanstls;
using namespace sanstls::tunnel;

namespace {

// Feeds `request` in pieces of `chunk` bytes (0: at once); returns what was
// not taken (bytes after the head).
std::string feed_all(ConnectRequestParser& parser, const std::string& request, size_t chunk) {
  size_t at = 0;
  while (at < request.size() && parser.state() == RequestState::reading) {
    const size_t n = chunk == 0 ? request.size() - at : std::min(chunk, request.size() - at);
    at += parser.feed(ByteView(std::string_view(request).substr(at, n)));
  }
  return request.substr(at);
}

}  // namespace

TEST_CASE("connect request: a CONNECT at every split, pipelined bytes stay with the caller",
          "[tunnel][server]") {
  const std::string head =
      "CONNECT origin.example:8443 HTTP/1.1\r\nHost: origin.example:8443\r\n\r\n";
  const std::string hello("\x16\x03\x01\x00\x05hello", 10);
  for (size_t chunk : {0, 1, 2, 7, 64}) {
    ConnectRequestParser parser;
    const std::string rest = feed_all(parser, head + hello, chunk);
    CHECK(parser.state() == RequestState::complete);
    CHECK(parser.host() == "origin.example");
    CHECK(parser.port() == 8443);
    CHECK(parser.authority() == "origin.example:8443");
    CHECK(rest == hello);
    CHECK(parser.bytes_taken() == head.size());
    CHECK_FALSE(parser.credentials());
    CHECK(parser.feed(ByteView("more")) == 0);
  }
}

TEST_CASE("connect request: IPv6 literals, bare LF, HTTP/1.0", "[tunnel][server]") {
  ConnectRequestParser v6;
  feed_all(v6, "CONNECT [::1]:443 HTTP/1.1\r\n\r\n", 0);
  CHECK(v6.state() == RequestState::complete);
  CHECK(v6.host() == "::1");
  CHECK(v6.authority() == "[::1]:443");
  ConnectRequestParser lf;
  feed_all(lf, "CONNECT 10.0.0.1:443 HTTP/1.0\nUser-Agent: x\n\n", 3);
  CHECK(lf.state() == RequestState::complete);
  CHECK(lf.host() == "10.0.0.1");
}

TEST_CASE("connect request: Basic credentials are decoded; other schemes are none",
          "[tunnel][server]") {
  ConnectRequestParser basic;
  // "alice:s3:cret" (a password may contain ':').
  feed_all(basic,
           "CONNECT a:443 HTTP/1.1\r\nproxy-authorization:  basic YWxpY2U6czM6Y3JldA==  \r\n\r\n",
           5);
  REQUIRE(basic.state() == RequestState::complete);
  REQUIRE(basic.credentials());
  CHECK(basic.credentials()->user == "alice");
  CHECK(basic.credentials()->password == "s3:cret");
  for (const char* value :
       {"Bearer abc", "Basic !!!!", "Basic YWxpY2U=", "Basic YWxpY2U6czNjcmV0="}) {
    ConnectRequestParser other;
    feed_all(other,
             std::string("CONNECT a:443 HTTP/1.1\r\nProxy-Authorization: ") + value + "\r\n\r\n",
             0);
    CHECK(other.state() == RequestState::complete);
    CHECK_FALSE(other.credentials());
  }
}

TEST_CASE("connect request: each malformed request earns its status", "[tunnel][server]") {
  const struct {
    std::string request;
    int status;
  } cases[] = {
      {"GET http://a/ HTTP/1.1\r\n\r\n", 405},
      {"connect a:443 HTTP/1.1\r\n\r\n", 405},                // methods are case-sensitive
      {std::string("\x16\x03\x01\x00\x02\x01\x00", 7), 400},  // TLS at a plain proxy
      {"CONNECT a HTTP/1.1\r\n\r\n", 400},
      {"CONNECT a:0 HTTP/1.1\r\n\r\n", 400},
      {"CONNECT a:65536 HTTP/1.1\r\n\r\n", 400},
      {"CONNECT a:443 HTTP/2\r\n\r\n", 400},
      {"CONNECT a b:443 HTTP/1.1\r\n\r\n", 400},
      {"CONNECT [a]:443 HTTP/1.1\r\n\r\n", 400},
      {"CONNECT a:443 HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400},  // obs-fold
      {"CONNECT a:443 HTTP/1.1\r\nA b\r\n\r\n", 400},
      {"CONNECT a:443 HTTP/1.1\r\nA: b\x01\r\n\r\n", 400},
      {"CONNECT a:443 HTTP/1.1\r\n" + std::string(9000, 'x'), 431},
  };
  for (const auto& c : cases) {
    ConnectRequestParser parser;
    feed_all(parser, c.request, 1);
    INFO(c.request.substr(0, 40));
    CHECK(parser.state() == RequestState::failed);
    CHECK(parser.reject_status() == c.status);
    CHECK_FALSE(parser.detail().empty());
  }
  std::string many = "CONNECT a:443 HTTP/1.1\r\n";
  for (int i = 0; i < 101; ++i) many += "A: b\r\n";
  ConnectRequestParser fields;
  feed_all(fields, many + "\r\n", 0);
  CHECK(fields.reject_status() == 431);
  ConnectRequestParser early;
  feed_all(early, "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n", 0);
  CHECK(early.state() == RequestState::reading);
  early.transport_eof();
  CHECK(early.state() == RequestState::failed);
  CHECK(early.reject_status() == 400);
}

TEST_CASE("connect request: a reply the CONNECT client accepts", "[tunnel][server]") {
  CHECK(connect_reply(200, "Connection established") ==
        "HTTP/1.1 200 Connection established\r\n\r\n");
  const std::string refused = connect_reply(407, "Proxy Authentication Required",
                                            {"Proxy-Authenticate: Basic realm=\"p\""});
  auto client = ConnectClient::create(ConnectRequest{"a", 443, std::nullopt, {}});
  REQUIRE(client);
  ConnectClient& c = client.value();
  c.consume_output(c.pending_output().size());
  c.feed(ByteView(refused));
  CHECK(c.state() == ConnectState::failed);
  CHECK(c.status() == 407);
  CHECK(c.proxy_authenticate_scheme() == "Basic");
}
