// The sans-I/O CONNECT client (include/sanstls/tunnel.h): the request bytes,
// the reply parsed at any split, and the proxy stage's named errors.
#include <catch2/catch_test_macros.hpp>

#include <string>
#include <vector>

#include "sanstls/tunnel.h"

using namespace sanstls;
using namespace sanstls::tunnel;

namespace {

ConnectClient make(const ConnectRequest& request) {
  auto client = ConnectClient::create(request);
  REQUIRE(client);
  return std::move(client).value();
}

ConnectRequest to(std::string host, uint16_t port) {
  ConnectRequest request;
  request.host = std::move(host);
  request.port = port;
  return request;
}

std::string take_request(ConnectClient& client) {
  std::string out(client.pending_output().as_text());
  client.consume_output(out.size());
  return out;
}

struct Outcome {
  ConnectState state;
  ErrorCode code;
  int status;
  std::string reason;
  std::string leftover;
  std::string scheme;
  std::string message;
  size_t consumed;
};

// Sends the request, then feeds `reply` in pieces of `chunk` bytes (0: at once).
Outcome run(const std::string& reply, size_t chunk, bool eof = false) {
  ConnectClient client = make(to("example.com", 443));
  take_request(client);
  CHECK(client.state() == ConnectState::awaiting_reply);
  size_t consumed = 0;
  std::string leftover;
  for (size_t at = 0; at < reply.size();) {
    const size_t n = chunk == 0 ? reply.size() - at : std::min(chunk, reply.size() - at);
    const size_t taken = client.feed(ByteView(std::string_view(reply).substr(at, n)));
    REQUIRE(taken <= n);
    consumed += taken;
    at += n;
    if (client.state() == ConnectState::established) {
      // Bytes of later reads belong to the TLS layer too.
      leftover += std::string(client.leftover().as_text());
      leftover += reply.substr(at);
      break;
    }
    if (client.state() == ConnectState::failed) break;
  }
  if (eof) client.transport_eof();
  return {client.state(),
          client.error().code(),
          client.status(),
          client.reason(),
          leftover,
          client.proxy_authenticate_scheme(),
          client.error().message(),
          consumed};
}

void same_at_every_split(const std::string& reply) {
  const Outcome whole = run(reply, 0);
  for (size_t chunk : {1, 2, 3, 7, 64}) {
    const Outcome split = run(reply, chunk);
    CHECK(split.state == whole.state);
    CHECK(split.code == whole.code);
    CHECK(split.status == whole.status);
    CHECK(split.reason == whole.reason);
    CHECK(split.leftover == whole.leftover);
    CHECK(split.message == whole.message);
  }
}

}  // namespace

TEST_CASE("the CONNECT request for host:port is exact", "[tunnel]") {
  ConnectClient client = make(to("example.com", 443));
  CHECK(client.state() == ConnectState::sending);
  CHECK(client.authority() == "example.com:443");
  const std::string request(client.pending_output().as_text());
  CHECK(request == "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  // Sent in two parts: the state follows the bytes acknowledged.
  client.consume_output(10);
  CHECK(client.state() == ConnectState::sending);
  CHECK(std::string(client.pending_output().as_text()) == request.substr(10));
  client.consume_output(1000);  // clamped
  CHECK(client.state() == ConnectState::awaiting_reply);
  CHECK(client.pending_output().empty());
}

TEST_CASE("IPv6 literals are bracketed in the request target and Host", "[tunnel]") {
  for (const char* host : {"::1", "[::1]"}) {
    ConnectClient client = make(to(host, 8443));
    CHECK(take_request(client) == "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n");
  }
  ConnectClient v4 = make(to("127.0.0.1", 1));
  CHECK(take_request(v4) == "CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n");
}

TEST_CASE("Basic credentials and extra headers are sent in order", "[tunnel]") {
  ConnectRequest request = to("example.com", 443);
  // RFC 7617 2's example: Aladdin / open sesame.
  request.credentials = BasicCredentials{"Aladdin", "open sesame"};
  request.headers = {{"User-Agent", "sanstls/0.1"}, {"X-Trace", "a b\tc"}};
  ConnectClient client = make(request);
  CHECK(take_request(client) ==
        "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
        "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"
        "User-Agent: sanstls/0.1\r\nX-Trace: a b\tc\r\n\r\n");
  // Padding of one and two '=' and none.
  for (const auto& [user, b64] : std::vector<std::pair<std::string, std::string>>{
           {"a", "YTo="}, {"ab", "YWI6"}, {"abc", "YWJjOg=="}}) {
    ConnectRequest r = to("h", 1);
    r.credentials = BasicCredentials{user, ""};
    ConnectClient c = make(r);
    CHECK(take_request(c).find("Proxy-Authorization: Basic " + b64 + "\r\n") != std::string::npos);
  }
}

TEST_CASE("header injection and bad arguments are refused before any byte", "[tunnel]") {
  const auto refused = [](const ConnectRequest& request) {
    auto client = ConnectClient::create(request);
    REQUIRE_FALSE(client);
    CHECK(client.error().code() == ErrorCode::invalid_argument);
    CHECK(client.error().stage() == Stage::config);
  };
  refused(to("example.com\r\nX-Evil: 1", 443));
  refused(to("example.com\n", 443));
  refused(to("exa mple.com", 443));
  refused(to("example.com:443", 443));  // not an IPv6 literal: ':' with letters
  refused(to("", 443));
  refused(to("[]", 443));
  refused(to("[example.com]", 443));
  refused(to("user@example.com", 443));
  refused(to("example.com", 0));
  ConnectRequest header = to("example.com", 443);
  header.headers = {{"X-A", "ok\r\nX-Evil: 1"}};
  refused(header);
  header.headers = {{"X A", "v"}};
  refused(header);
  header.headers = {{"", "v"}};
  refused(header);
  ConnectRequest user = to("example.com", 443);
  user.credentials = BasicCredentials{"a:b", "c"};
  refused(user);
}

TEST_CASE("a 200 establishes the tunnel and keeps the TLS bytes after it", "[tunnel]") {
  const std::string tls("\x16\x03\x03\x00\x02\x01\x00", 7);
  const std::string reply = "HTTP/1.1 200 Connection established\r\nVia: 1.1 proxy\r\n\r\n" + tls;
  for (size_t chunk : {0, 1, 5}) {
    const Outcome out = run(reply, chunk);
    CHECK(out.state == ConnectState::established);
    CHECK(out.code == ErrorCode::none);
    CHECK(out.status == 200);
    CHECK(out.reason == "Connection established");
    CHECK(out.leftover == tls);
  }
  // At once: feed() took everything, the TLS bytes in leftover().
  CHECK(run(reply, 0).consumed == reply.size());
  same_at_every_split(reply);
}

TEST_CASE("reply variants curl accepts: bare LF, no reason, HTTP/1.0, 1xx first", "[tunnel]") {
  for (const char* reply :
       {"HTTP/1.0 200 OK\n\nX", "HTTP/1.1 200\r\n\r\nX", "HTTP/1.1 204 \r\n\r\nX",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nX"}) {
    INFO(reply);
    const Outcome out = run(reply, 0);
    CHECK(out.state == ConnectState::established);
    CHECK(out.leftover == "X");
    same_at_every_split(reply);
  }
}

TEST_CASE("Content-Length and Transfer-Encoding on a 2xx are ignored", "[tunnel]") {
  // RFC 9110 9.3.6: a 2xx to CONNECT has no content; what follows is tunnel data.
  const std::string reply =
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nTLS..";
  const Outcome out = run(reply, 0);
  CHECK(out.state == ConnectState::established);
  CHECK(out.leftover == "TLS..");
}

TEST_CASE("refusals: 403, 407 with its challenge, 502", "[tunnel]") {
  struct Case {
    std::string reply;
    int status;
    std::string reason;
    std::string scheme;
  };
  for (const Case& c : std::vector<Case>{
           {"HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\nno!", 403, "Forbidden", ""},
           {"HTTP/1.1 407 Proxy Authentication Required\r\n"
            "Proxy-Authenticate: Basic realm=\"corp\"\r\n"
            "proxy-authenticate: Negotiate\r\n\r\n",
            407, "Proxy Authentication Required", "Basic"},
           {"HTTP/1.0 502 Bad Gateway\n\n", 502, "Bad Gateway", ""}}) {
    INFO(c.reply);
    const Outcome out = run(c.reply, 0);
    CHECK(out.state == ConnectState::failed);
    CHECK(out.code == ErrorCode::proxy_refused);
    CHECK(out.status == c.status);
    CHECK(out.reason == c.reason);
    CHECK(out.scheme == c.scheme);
    CHECK(out.leftover.empty());
    CHECK(out.message.find(std::to_string(c.status) + " " + c.reason) != std::string::npos);
    CHECK(out.message.find("example.com:443") != std::string::npos);
    if (!c.scheme.empty()) {
      CHECK(out.message.find("Proxy-Authenticate: " + c.scheme) != std::string::npos);
    }
    same_at_every_split(c.reply);
  }
  ConnectClient client = make(to("example.com", 443));
  take_request(client);
  client.feed(ByteView("HTTP/1.1 407 x\r\nProxy-Authenticate:  Basic realm=\"r\"  \r\n\r\n"));
  CHECK(client.proxy_authenticate() == "Basic realm=\"r\"");
  CHECK(client.error().stage() == Stage::proxy);
  CHECK(std::string(client.error().name()) == "ERR_PROXY_REFUSED");
  // Sticky: more bytes and the end of stream change nothing.
  CHECK(client.feed(ByteView("HTTP/1.1 200 OK\r\n\r\n")) == 0);
  client.transport_eof();
  CHECK(client.error().code() == ErrorCode::proxy_refused);
}

TEST_CASE("the proxy closing before a complete reply is ERR_PROXY_CLOSED", "[tunnel]") {
  for (const char* partial : {"", "HTTP/1.1 200 OK\r\n", "HTTP/1.1 200 OK\r\nVia: x\r\n\r"}) {
    INFO(partial);
    const Outcome out = run(partial, 0, /*eof=*/true);
    CHECK(out.state == ConnectState::failed);
    CHECK(out.code == ErrorCode::proxy_closed);
    CHECK(out.leftover.empty());
  }
  // While still sending, too.
  ConnectClient client = make(to("example.com", 443));
  client.transport_eof();
  CHECK(client.error().code() == ErrorCode::proxy_closed);
  CHECK(client.error().stage() == Stage::proxy);
  CHECK(client.pending_output().empty());
  // After the tunnel is up, the end of stream is the TLS layer's business.
  ConnectClient up = make(to("example.com", 443));
  take_request(up);
  up.feed(ByteView("HTTP/1.1 200 OK\r\n\r\n"));
  up.transport_eof();
  CHECK(up.state() == ConnectState::established);
  CHECK(up.error().ok());
}

TEST_CASE("not HTTP, malformed or over-long replies are ERR_PROXY_BAD_REPLY", "[tunnel]") {
  const std::string tls_alert("\x15\x03\x03\x00\x02\x02\x28", 7);
  for (const std::string& reply :
       {tls_alert, std::string("SSH-2.0-OpenSSH_9.2\r\n"), std::string("HTTP/2 200\r\n\r\n"),
        std::string("HTTP/1.1 20 OK\r\n\r\n"), std::string("HTTP/1.1 2000 OK\r\n\r\n"),
        std::string("HTTP/1.1  200 OK\r\n\r\n"), std::string("HTTP/1.1 200 O\rK\r\n\r\n"),
        std::string("\r\nHTTP/1.1 200 OK\r\n\r\n"),
        std::string("HTTP/1.1 200 OK\r\nNo colon\r\n\r\n"),
        std::string("HTTP/1.1 200 OK\r\nVia : x\r\n\r\n"),
        std::string("HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n"),
        std::string("HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n", 27)}) {
    INFO(reply);
    const Outcome out = run(reply, 0);
    CHECK(out.state == ConnectState::failed);
    CHECK(out.code == ErrorCode::proxy_bad_reply);
    CHECK(out.leftover.empty());
    same_at_every_split(reply);
  }
  // Not HTTP is known from the first byte, not after 16 KiB.
  ConnectClient client = make(to("example.com", 443));
  take_request(client);
  CHECK(client.feed(ByteView(tls_alert)) == 1);
  CHECK(client.error().code() == ErrorCode::proxy_bad_reply);
}

TEST_CASE("the reply's size and header count are bounded", "[tunnel]") {
  // One header field that never ends.
  std::string endless = "HTTP/1.1 200 OK\r\nX-Pad: " + std::string(20000, 'a');
  Outcome out = run(endless, 0);
  CHECK(out.code == ErrorCode::proxy_bad_reply);
  CHECK(out.consumed == ConnectClient::kMaxReplyBytes + 1);
  // Exactly at the bound is fine.
  const std::string head = "HTTP/1.1 200 OK\r\nX-Pad: ";
  std::string fits =
      head + std::string(ConnectClient::kMaxReplyBytes - head.size() - 4, 'a') + "\r\n\r\nTLS";
  CHECK(run(fits, 0).state == ConnectState::established);
  // Many small fields.
  std::string many = "HTTP/1.1 200 OK\r\n";
  for (size_t i = 0; i <= ConnectClient::kMaxHeaderFields; ++i) many += "A: b\r\n";
  many += "\r\n";
  out = run(many, 0);
  CHECK(out.code == ErrorCode::proxy_bad_reply);
  CHECK(out.message.find("header fields") != std::string::npos);
  // Endless 1xx responses count against the same bound.
  std::string interim;
  while (interim.size() <= ConnectClient::kMaxReplyBytes) {
    interim += "HTTP/1.1 100 Continue\r\n\r\n";
  }
  CHECK(run(interim, 0).code == ErrorCode::proxy_bad_reply);
}

TEST_CASE("a 2xx before the request was sent whole is a bad reply", "[tunnel]") {
  ConnectClient client = make(to("example.com", 443));
  client.consume_output(3);
  client.feed(ByteView("HTTP/1.1 200 OK\r\n\r\n"));
  CHECK(client.error().code() == ErrorCode::proxy_bad_reply);
  // An early refusal is a refusal.
  ConnectClient early = make(to("example.com", 443));
  early.feed(ByteView("HTTP/1.1 403 Forbidden\r\n\r\n"));
  CHECK(early.error().code() == ErrorCode::proxy_refused);
  CHECK(early.pending_output().empty());
}
