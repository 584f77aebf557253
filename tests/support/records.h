// Records on the wire, for tests that edit what one engine sends before the
// other reads it: moving bytes between connections, splitting a stream into
// records, and TLS 1.2 AES-128-GCM record protection (RFC 5288) with keys
// derived from the key log, so a test can change a protected message and
// seal it again exactly as a correct peer would.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sanstls/connection.h"

namespace sanstls::test {

using Bytes = std::vector<uint8_t>;

Bytes from_hex(const std::string& hex);
// Everything the connection has to send, taken out of it.
Bytes take_output(Connection& conn);
// Feeds `bytes` until they are used or the connection takes no more.
void feed_all(Connection& conn, const Bytes& bytes);
// A stream cut into records (header included); a short tail is kept as is.
std::vector<Bytes> records_of(const Bytes& stream);

// One direction's TLS 1.2 AES-128-GCM keys and its sequence number.
struct Tls12GcmKeys {
  uint8_t key[16] = {0};
  uint8_t salt[4] = {0};  // the implicit part of the nonce
  uint64_t seq = 0;
};

struct Tls12Keys {
  Tls12GcmKeys client;  // client_write
  Tls12GcmKeys server;  // server_write
};

// RFC 5246 6.3: the key block of a connection with an AES-128-GCM SHA-256
// suite, from its key log line ("CLIENT_RANDOM <client random> <master
// secret>") and the ServerHello's random.
Tls12Keys tls12_keys(const std::string& key_log_line, const uint8_t server_random[32]);
// The plaintext of one protected record (header included in `record`);
// empty when it does not authenticate. Advances the sequence number.
Bytes tls12_open(Tls12GcmKeys& keys, const Bytes& record);
// A protected record of `type` holding `plaintext`. Advances the sequence number.
Bytes tls12_seal(Tls12GcmKeys& keys, uint8_t type, const Bytes& plaintext);

}  // namespace sanstls::test
