// An in-memory client/server pair: two Connections and the two directions of
// a "wire" between them, moved in chunks chosen by a Chunker. It records the
// transcript of each direction, so tests can inspect records and replay.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sanstls/sanstls.h"

namespace sanstls::test {

// How many bytes the wire delivers per feed() call.
class Chunker {
 public:
  static Chunker all() { return Chunker(0, 0); }
  static Chunker bytes(size_t n) { return Chunker(n, 0); }
  static Chunker random(uint64_t seed, size_t max) { return Chunker(max, seed | 1); }
  size_t next(size_t available);

 private:
  Chunker(size_t size, uint64_t seed) : size_(size), state_(seed) {}
  size_t size_;
  uint64_t state_;
};

struct Endpoint {
  Connection conn;
  std::vector<uint8_t> received;  // plaintext read so far
  std::vector<Event> events;      // events drained so far
  bool read_plaintext = true;     // false: leave plaintext unread (back-pressure)
  bool has_event(EventKind kind) const;
};

class Pair {
 public:
  Pair(Connection client, Connection server, Chunker chunker = Chunker::all());

  Endpoint client;
  Endpoint server;
  std::vector<uint8_t> client_to_server;  // every byte the client sent
  std::vector<uint8_t> server_to_client;

  // Moves bytes and plaintext until nothing changes (or `max_steps`).
  // Returns false if it stopped because of the step limit.
  bool pump(int max_steps = 1000000);
  bool handshake();  // pump(), then true when both completed without error

  // Appends `data` to what `from` still has to write; pump() writes it as
  // the connection accepts it.
  void send(Endpoint& from, const std::vector<uint8_t>& data);
  size_t unsent(const Endpoint& from) const;

  // Drops the wire's undelivered bytes toward `to` and lets tests tamper.
  std::vector<uint8_t>& wire_to(Endpoint& to);

 private:
  bool step(Endpoint& from, Endpoint& to, std::vector<uint8_t>& wire,
            std::vector<uint8_t>& transcript, std::vector<uint8_t>& unsent);
  Chunker chunker_;
  std::vector<uint8_t> wire_to_server_;
  std::vector<uint8_t> wire_to_client_;
  std::vector<uint8_t> client_unsent_;
  std::vector<uint8_t> server_unsent_;
};

// A client (for `server_name`) and a server from these Configs, already
// pumped until nothing moves: handshake done, or failed.
Pair connect(const Config& client_config, const Config& server_config,
             const std::string& server_name = "localhost");

// Splits a byte stream into TLS records: (content type, length) pairs.
struct RecordSummary {
  uint8_t type;
  size_t length;
};
std::vector<RecordSummary> split_records(const std::vector<uint8_t>& stream);

}  // namespace sanstls::test
