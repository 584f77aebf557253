// Plaintext records and handshake messages the engine judges before mbedTLS
// reads them (BoGo found each; docs/conformance.md, engine fixes): a
// handshake type that does not exist, data after the ServerHelloDone, bytes
// after the ClientKeyExchange's point, a handshake record in the clear after
// TLS 1.3's ServerHello, and the alert for a missing required client
// certificate. The flights are our own engines', edited on the wire.
#include <catch2/catch_test_macros.hpp>
#include <string>
#include <vector>

#include "support/expect.h"
#include "support/fixtures.h"
#include "support/pair.h"
#include "support/records.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

Connection client12(Sources& sources) {
  auto made = Connection::client(
      build_or_fail(client_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2)),
      "localhost");
  REQUIRE(made);
  return std::move(made).value();
}

Connection server12(Sources& sources) {
  auto made = Connection::server(
      build_or_fail(server_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2)));
  REQUIRE(made);
  return std::move(made).value();
}

// The offset of the first handshake message of `type` in a stream of
// plaintext records (each message within one record, as our engine writes
// them), and of its record's header; npos when absent.
struct Found {
  size_t record = std::string::npos;
  size_t message = std::string::npos;
};

Found find_message(const Bytes& stream, uint8_t type) {
  for (size_t at = 0; at + 5 <= stream.size();) {
    const size_t length = (size_t{stream[at + 3]} << 8) | stream[at + 4];
    if (stream[at] == 22) {
      for (size_t m = at + 5; m + 4 <= at + 5 + length;) {
        if (stream[m] == type) return Found{at, m};
        m += 4 + ((size_t{stream[m + 1]} << 16) | (size_t{stream[m + 2]} << 8) | stream[m + 3]);
      }
    }
    at += 5 + length;
  }
  return Found{};
}

// Inserts `extra` at `where`, inside the record whose header is at `record`
// (its length grows) and, when `message` is given, inside that message.
void insert(Bytes& stream, size_t record, size_t where, const Bytes& extra,
            size_t message = std::string::npos) {
  stream.insert(stream.begin() + static_cast<std::ptrdiff_t>(where), extra.begin(), extra.end());
  const size_t record_length =
      ((size_t{stream[record + 3]} << 8) | stream[record + 4]) + extra.size();
  stream[record + 3] = static_cast<uint8_t>(record_length >> 8);
  stream[record + 4] = static_cast<uint8_t>(record_length);
  if (message == std::string::npos) return;
  const size_t length = ((size_t{stream[message + 1]} << 16) | (size_t{stream[message + 2]} << 8) |
                         stream[message + 3]) +
                        extra.size();
  stream[message + 1] = static_cast<uint8_t>(length >> 16);
  stream[message + 2] = static_cast<uint8_t>(length >> 8);
  stream[message + 3] = static_cast<uint8_t>(length);
}

}  // namespace

TEST_CASE("TLS 1.2 client: a handshake message of no known type is unexpected_message",
          "[tls12][conformance]") {
  Sources sources;
  Connection client = client12(sources);
  Connection server = server12(sources);
  feed_all(server, take_output(client));
  Bytes flight = take_output(server);
  const Found done = find_message(flight, 14);  // ServerHelloDone
  REQUIRE(done.message != std::string::npos);
  flight[done.message] = 14 + 42;  // as BoGo's WrongMessageType does
  feed_all(client, flight);
  expect_error(client.error(), "ERR_SSL_UNEXPECTED_MESSAGE", Stage::handshake);
  expect_alert(client.error(), Alert::unexpected_message, AlertDirection::sent);
}

TEST_CASE("TLS 1.2 client: data after the ServerHelloDone in its record is unexpected_message",
          "[tls12][conformance]") {
  Sources sources;
  Connection client = client12(sources);
  Connection server = server12(sources);
  feed_all(server, take_output(client));
  Bytes flight = take_output(server);
  const Found done = find_message(flight, 14);
  REQUIRE(done.message != std::string::npos);
  // The start of a Finished, packed after the ServerHelloDone.
  insert(flight, done.record, done.message + 4, Bytes{20, 0, 0, 12, 1, 2});
  feed_all(client, flight);
  expect_error(client.error(), "ERR_SSL_UNEXPECTED_MESSAGE", Stage::handshake);
  expect_alert(client.error(), Alert::unexpected_message, AlertDirection::sent);
}

TEST_CASE("TLS 1.2 server: bytes after the ClientKeyExchange's point are decode_error",
          "[tls12][conformance]") {
  Sources sources;
  Connection client = client12(sources);
  Connection server = server12(sources);
  feed_all(server, take_output(client));
  feed_all(client, take_output(server));
  Bytes second = take_output(client);  // ClientKeyExchange, ChangeCipherSpec, Finished
  const Found key_exchange = find_message(second, 16);
  REQUIRE(key_exchange.message != std::string::npos);
  const size_t point_end = key_exchange.message + 4 + 1 + second[key_exchange.message + 4];
  insert(second, key_exchange.record, point_end, Bytes{0, 0}, key_exchange.message);
  feed_all(server, second);
  expect_error(server.error(), "ERR_SSL_DECODE_ERROR", Stage::handshake);
  expect_alert(server.error(), Alert::decode_error, AlertDirection::sent);
}

TEST_CASE(
    "a missing required client certificate: handshake_failure in TLS 1.2, "
    "certificate_required in TLS 1.3",
    "[tls12][mtls]") {
  Sources sources;
  for (TlsVersion version : {TlsVersion::tls1_2, TlsVersion::tls1_3}) {
    INFO("version " << static_cast<int>(version));
    const Config client_config = build_or_fail(client_builder(sources).versions(version, version));
    const Config server_config = build_or_fail(server_builder(sources)
                                                   .versions(version, version)
                                                   .peer_verification(PeerVerification::required)
                                                   .trust_anchors(trusted_roots_pem()));
    Pair pair = connect(client_config, server_config, "localhost");
    expect_error(pair.server.conn.error(), "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE",
                 Stage::certificate);
    const Alert expected =
        version == TlsVersion::tls1_2 ? Alert::handshake_failure : Alert::certificate_required;
    expect_alert(pair.server.conn.error(), expected, AlertDirection::sent);
    expect_alert(pair.client.conn.error(), expected, AlertDirection::received);
  }
}

TEST_CASE(
    "TLS 1.3 client: a handshake record in the clear after the ServerHello is "
    "unexpected_message",
    "[tls13][conformance]") {
  Sources sources;
  auto made_client = Connection::client(
      build_or_fail(client_builder(sources).versions(TlsVersion::tls1_3, TlsVersion::tls1_3)),
      "localhost");
  auto made_server = Connection::server(
      build_or_fail(server_builder(sources).versions(TlsVersion::tls1_3, TlsVersion::tls1_3)));
  REQUIRE(made_client);
  REQUIRE(made_server);
  Connection client = std::move(made_client).value();
  Connection server = std::move(made_server).value();
  feed_all(server, take_output(client));
  Bytes flight = take_output(server);
  // The first protected record (after the ServerHello and the compatibility
  // ChangeCipherSpec) with the outer type handshake, as BoGo's
  // TLS13-WrongOuterRecord sends it.
  size_t at = 0;
  while (at + 5 <= flight.size() && flight[at] != 23) {
    at += 5 + ((size_t{flight[at + 3]} << 8) | flight[at + 4]);
  }
  REQUIRE(at + 5 <= flight.size());
  flight[at] = 22;
  feed_all(client, flight);
  expect_error(client.error(), "ERR_SSL_UNEXPECTED_MESSAGE", Stage::handshake);
  expect_alert(client.error(), Alert::unexpected_message, AlertDirection::sent);
}

TEST_CASE(
    "TLS 1.3 server: a pre_shared_key with an identity but no binder for it is "
    "illegal_parameter",
    "[tls13][conformance][psk]") {
  Sources sources;
  const Config client_config =
      build_or_fail(client_builder(sources).versions(TlsVersion::tls1_3, TlsVersion::tls1_3));
  const Config server_config = build_or_fail(server_builder(sources));
  Pair first = connect(client_config, server_config, "localhost");
  REQUIRE(first.client.conn.wants().handshake_complete);
  auto saved = first.client.conn.save_session();
  REQUIRE(saved);
  auto made = Connection::client(client_config, "localhost", ByteView(saved.value()));
  REQUIRE(made);
  Connection client = std::move(made).value();
  Bytes hello = take_output(client);  // one record holding the ClientHello
  REQUIRE(hello.size() > 9);
  REQUIRE(hello[5] == 1);
  // Walk to the extensions; pre_shared_key (41) is the last one.
  size_t at = 9 + 2 + 32;
  at += 1 + hello[at];                                   // legacy_session_id
  at += 2 + ((size_t{hello[at]} << 8) | hello[at + 1]);  // cipher_suites
  at += 1 + hello[at];                                   // compression_methods
  const size_t extensions_length_at = at;
  at += 2;
  size_t psk_at = std::string::npos;
  while (at + 4 <= hello.size()) {
    if (hello[at] == 0 && hello[at + 1] == 41) psk_at = at;
    at += 4 + ((size_t{hello[at + 2]} << 8) | hello[at + 3]);
  }
  REQUIRE(psk_at != std::string::npos);
  // A second copy of the first identity, with no binder of its own.
  const size_t identities_at = psk_at + 4;
  const size_t first_identity = identities_at + 2;
  const size_t identity_length = (size_t{hello[first_identity]} << 8) | hello[first_identity + 1];
  const Bytes copy(
      hello.begin() + static_cast<std::ptrdiff_t>(first_identity),
      hello.begin() + static_cast<std::ptrdiff_t>(first_identity + 2 + identity_length + 4));
  hello.insert(hello.begin() + static_cast<std::ptrdiff_t>(first_identity), copy.begin(),
               copy.end());
  auto grow16 = [&hello](size_t where, size_t by) {
    const size_t value = ((size_t{hello[where]} << 8) | hello[where + 1]) + by;
    hello[where] = static_cast<uint8_t>(value >> 8);
    hello[where + 1] = static_cast<uint8_t>(value);
  };
  grow16(identities_at, copy.size());
  grow16(psk_at + 2, copy.size());
  grow16(extensions_length_at, copy.size());
  grow16(3, copy.size());  // the record
  const size_t message =
      ((size_t{hello[6]} << 16) | (size_t{hello[7]} << 8) | hello[8]) + copy.size();
  hello[6] = static_cast<uint8_t>(message >> 16);
  hello[7] = static_cast<uint8_t>(message >> 8);
  hello[8] = static_cast<uint8_t>(message);

  auto made_server = Connection::server(server_config);
  REQUIRE(made_server);
  Connection server = std::move(made_server).value();
  feed_all(server, hello);
  expect_error(server.error(), "ERR_SSL_ILLEGAL_PARAMETER", Stage::handshake);
  expect_alert(server.error(), Alert::illegal_parameter, AlertDirection::sent);
}

TEST_CASE("a TLS 1.3-only client answers a TLS 1.2 ServerHello with protocol_version",
          "[tls13][conformance]") {
  Sources sources;
  auto made = Connection::client(
      build_or_fail(client_builder(sources).versions(TlsVersion::tls1_3, TlsVersion::tls1_3)),
      "localhost");
  REQUIRE(made);
  Connection client = std::move(made).value();
  take_output(client);  // its ClientHello, offering TLS 1.3 only
  // A TLS 1.2 server's flight (made for a TLS 1.2 client): the version is
  // judged on the ServerHello before anything else in it.
  Connection client_tls12 = client12(sources);
  Connection server = server12(sources);
  feed_all(server, take_output(client_tls12));
  feed_all(client, take_output(server));
  expect_error(client.error(), "ERR_SSL_UNSUPPORTED_PROTOCOL", Stage::handshake);
  expect_alert(client.error(), Alert::protocol_version, AlertDirection::sent);
}
