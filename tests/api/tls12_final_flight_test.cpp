// The last flights of a TLS 1.2 handshake, edited on the wire: our own
// engines' records, opened and sealed again with keys from the key log.
// - RFC 5246 7.4.9: the Finished ends its sender's flight, so nothing may
//   follow it in its record. mbedTLS 3.6 kept such bytes and read them as
//   the next message (BoGo's TrailingDataWithFinished).
// - A client refusing the server's plaintext NewSessionTicket has already
//   sent its ChangeCipherSpec: its alert goes under its keys, or the server
//   cannot read it (BoGo's WrongMessageType-NewSessionTicket).
#include <catch2/catch_test_macros.hpp>
#include <string>
#include <vector>

#include "support/expect.h"
#include "support/fixtures.h"
#include "support/records.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

constexpr uint8_t kChangeCipherSpec = 20, kAlert = 21, kHandshake = 22;
constexpr uint8_t kFinished = 20;

// A TLS 1.2 handshake run by hand, flight by flight.
struct Handshake12 {
  Sources sources;
  std::vector<std::string> key_log;
  Connection client;
  Connection server;
  Bytes server_flight;  // ServerHello .. ServerHelloDone
  Tls12Keys keys;

  Handshake12() : client(make_client()), server(make_server()) {
    const Bytes hello = take_output(client);
    feed_all(server, hello);
    server_flight = take_output(server);
    REQUIRE(server_flight.size() > 11 + 32);
    feed_all(client, server_flight);
  }
  Connection make_client() {
    auto made =
        Connection::client(build_or_fail(client_builder(sources)
                                             .versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
                                             .cipher_suites("ECDHE-ECDSA-AES128-GCM-SHA256")),
                           "localhost");
    REQUIRE(made);
    return std::move(made).value();
  }
  Connection make_server() {
    auto made = Connection::server(
        build_or_fail(server_builder(sources)
                          .versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
                          .key_log([this](std::string_view line) { key_log.emplace_back(line); })));
    REQUIRE(made);
    return std::move(made).value();
  }
  // Once the master secret is logged (the server read the client's flight).
  void derive_keys() {
    REQUIRE(key_log.size() == 1);
    keys = tls12_keys(key_log[0], server_flight.data() + 11);  // ServerHello.random
  }
};

// `flight` with one byte added to the Finished record (the one after the
// ChangeCipherSpec), sealed again under `keys`, which sealed it first.
Bytes with_byte_after_finished(const Bytes& flight, Tls12GcmKeys keys) {
  Bytes edited;
  bool after_change_cipher_spec = false;
  bool done = false;
  for (const Bytes& record : records_of(flight)) {
    if (after_change_cipher_spec && !done && record[0] == kHandshake) {
      Tls12GcmKeys opener = keys;
      Bytes plaintext = tls12_open(opener, record);
      REQUIRE(plaintext.size() == 4 + 12);
      REQUIRE(plaintext[0] == kFinished);
      plaintext.push_back(kFinished);  // the first byte of another message
      const Bytes sealed = tls12_seal(keys, kHandshake, plaintext);
      edited.insert(edited.end(), sealed.begin(), sealed.end());
      done = true;
      continue;
    }
    after_change_cipher_spec = after_change_cipher_spec || record[0] == kChangeCipherSpec;
    edited.insert(edited.end(), record.begin(), record.end());
  }
  REQUIRE(done);
  return edited;
}

// The single alert record in `output`: its description. Opened with `keys`
// when given (the sender had sent its ChangeCipherSpec), else in the clear.
int single_alert(const Bytes& output, const Tls12GcmKeys* keys) {
  const std::vector<Bytes> records = records_of(output);
  REQUIRE(records.size() == 1);
  REQUIRE(records[0][0] == kAlert);
  Tls12GcmKeys opener;
  if (keys != nullptr) opener = *keys;
  const Bytes alert = keys != nullptr ? tls12_open(opener, records[0])
                                      : Bytes(records[0].begin() + 5, records[0].end());
  REQUIRE(alert.size() == 2);
  CHECK(alert[0] == 2);  // fatal
  return alert[1];
}

}  // namespace

TEST_CASE("TLS 1.2 server: bytes after the client's Finished are unexpected_message",
          "[conformance][finished]") {
  Handshake12 h;
  const Bytes client_flight = take_output(h.client);  // ClientKeyExchange, CCS, Finished
  // The server logs the master secret once it has the ClientKeyExchange:
  // feed it alone (first record) to learn the keys.
  const std::vector<Bytes> records = records_of(client_flight);
  REQUIRE(records.size() == 3);
  feed_all(h.server, records[0]);
  h.derive_keys();
  Bytes rest = records[1];
  rest.insert(rest.end(), records[2].begin(), records[2].end());
  feed_all(h.server, with_byte_after_finished(rest, h.keys.client));

  const Error& error = h.server.error();
  INFO(error.name() << ": " << error.message());
  expect_error(error, "ERR_SSL_UNEXPECTED_MESSAGE", Stage::handshake);
  expect_alert(error, Alert::unexpected_message, AlertDirection::sent);
  // Its ChangeCipherSpec comes after the client's Finished: a plaintext alert.
  CHECK(single_alert(take_output(h.server), nullptr) == 10);
}

TEST_CASE("TLS 1.2 client: bytes after the server's Finished are unexpected_message",
          "[conformance][finished]") {
  Handshake12 h;
  feed_all(h.server, take_output(h.client));
  h.derive_keys();
  const Bytes last_flight = take_output(h.server);  // [NewSessionTicket,] CCS, Finished
  REQUIRE(h.server.wants().handshake_complete);
  Tls12GcmKeys client_keys = h.keys.client;
  client_keys.seq = 1;  // the client's Finished was record 0 under its keys
  feed_all(h.client, with_byte_after_finished(last_flight, h.keys.server));

  const Error& error = h.client.error();
  INFO(error.name() << ": " << error.message());
  expect_error(error, "ERR_SSL_UNEXPECTED_MESSAGE", Stage::handshake);
  expect_alert(error, Alert::unexpected_message, AlertDirection::sent);
  CHECK(single_alert(take_output(h.client), &client_keys) == 10);
}

TEST_CASE("TLS 1.2: an unedited Finished record still completes the handshake",
          "[conformance][finished]") {
  // The editing above changes only the byte: resealing alone breaks nothing.
  Handshake12 h;
  feed_all(h.server, take_output(h.client));
  h.derive_keys();
  const Bytes last_flight = take_output(h.server);
  Bytes resealed;
  bool after_change_cipher_spec = false;
  Tls12GcmKeys keys = h.keys.server;
  for (const Bytes& record : records_of(last_flight)) {
    if (after_change_cipher_spec && record[0] == kHandshake) {
      Tls12GcmKeys opener = keys;
      const Bytes sealed = tls12_seal(keys, kHandshake, tls12_open(opener, record));
      resealed.insert(resealed.end(), sealed.begin(), sealed.end());
      continue;
    }
    after_change_cipher_spec = after_change_cipher_spec || record[0] == kChangeCipherSpec;
    resealed.insert(resealed.end(), record.begin(), record.end());
  }
  feed_all(h.client, resealed);
  INFO(h.client.error().name() << ": " << h.client.error().message());
  CHECK(h.client.error().ok());
  CHECK(h.client.wants().handshake_complete);
}

TEST_CASE("TLS 1.2 client: a refused NewSessionTicket's alert is under the client's keys",
          "[conformance][finished]") {
  Handshake12 h;
  feed_all(h.server, take_output(h.client));
  h.derive_keys();
  Bytes last_flight = take_output(h.server);  // NewSessionTicket, CCS, Finished
  REQUIRE(last_flight.size() > 6);
  REQUIRE(last_flight[0] == kHandshake);
  REQUIRE(last_flight[5] == 4);  // NewSessionTicket, in the clear
  last_flight[5] = 4 + 42;       // a type that does not exist, as BoGo's WrongMessageType
  feed_all(h.client, last_flight);

  const Error& error = h.client.error();
  INFO(error.name() << ": " << error.message());
  expect_error(error, "ERR_SSL_UNEXPECTED_MESSAGE", Stage::handshake);
  expect_alert(error, Alert::unexpected_message, AlertDirection::sent);
  Tls12GcmKeys client_keys = h.keys.client;
  client_keys.seq = 1;  // after the client's Finished
  CHECK(single_alert(take_output(h.client), &client_keys) == 10);
}
