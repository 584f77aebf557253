#include "pair.h"

#include <catch2/catch_test_macros.hpp>

namespace sanstls::test {

size_t Chunker::next(size_t available) {
  if (size_ == 0) return available;
  size_t n = size_;
  if (state_ != 0) {  // xorshift64*
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    n = 1 + static_cast<size_t>((state_ * 2685821657736338717ULL) % size_);
  }
  return n < available ? n : available;
}

bool Endpoint::has_event(EventKind kind) const {
  for (const Event& event : events) {
    if (event.kind == kind) return true;
  }
  return false;
}

Pair::Pair(Connection c, Connection s, Chunker chunker)
    : client{std::move(c), {}, {}, true}, server{std::move(s), {}, {}, true}, chunker_(chunker) {}

bool Pair::step(Endpoint& from, Endpoint& to, std::vector<uint8_t>& wire,
                std::vector<uint8_t>& transcript, std::vector<uint8_t>& unsent) {
  bool changed = false;
  // Application writes.
  if (!unsent.empty()) {
    size_t n = from.conn.write(ByteView(unsent.data(), unsent.size()));
    if (n > 0) {
      unsent.erase(unsent.begin(), unsent.begin() + static_cast<std::ptrdiff_t>(n));
      changed = true;
    }
  }
  // Transport send: everything pending goes on the wire.
  ByteView out = from.conn.pending_output();
  if (!out.empty()) {
    wire.insert(wire.end(), out.begin(), out.end());
    transcript.insert(transcript.end(), out.begin(), out.end());
    from.conn.consume_output(out.size());
    changed = true;
  }
  // Transport receive: one chunk per step.
  if (!wire.empty()) {
    size_t n = chunker_.next(wire.size());
    size_t taken = to.conn.feed(ByteView(wire.data(), n));
    if (taken > 0) {
      wire.erase(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(taken));
      changed = true;
    }
  }
  // Application reads and events.
  if (to.read_plaintext) {
    uint8_t buffer[4096];
    size_t n;
    while ((n = to.conn.read(MutableByteView(buffer, sizeof buffer))) > 0) {
      to.received.insert(to.received.end(), buffer, buffer + n);
      changed = true;
    }
  }
  while (auto event = to.conn.next_event()) {
    to.events.push_back(*event);
    changed = true;
  }
  while (auto event = from.conn.next_event()) {
    from.events.push_back(*event);
    changed = true;
  }
  return changed;
}

bool Pair::pump(int max_steps) {
  for (int i = 0; i < max_steps; ++i) {
    bool a = step(client, server, wire_to_server_, client_to_server, client_unsent_);
    bool b = step(server, client, wire_to_client_, server_to_client, server_unsent_);
    if (!a && !b) return true;
  }
  return false;
}

bool Pair::handshake() {
  pump();
  return client.conn.wants().handshake_complete && server.conn.wants().handshake_complete &&
         client.conn.error().ok() && server.conn.error().ok();
}

void Pair::send(Endpoint& from, const std::vector<uint8_t>& data) {
  auto& unsent = &from == &client ? client_unsent_ : server_unsent_;
  unsent.insert(unsent.end(), data.begin(), data.end());
}

size_t Pair::unsent(const Endpoint& from) const {
  return &from == &client ? client_unsent_.size() : server_unsent_.size();
}

std::vector<uint8_t>& Pair::wire_to(Endpoint& to) {
  return &to == &server ? wire_to_server_ : wire_to_client_;
}

Pair connect(const Config& client_config, const Config& server_config,
             const std::string& server_name) {
  auto client = Connection::client(client_config, server_name);
  auto server = Connection::server(server_config);
  if (!client || !server) {
    FAIL("cannot create the pair: " << (client ? server.error() : client.error()).name());
  }
  Pair pair(std::move(client).value(), std::move(server).value());
  pair.pump();
  return pair;
}

std::vector<RecordSummary> split_records(const std::vector<uint8_t>& stream) {
  std::vector<RecordSummary> records;
  size_t at = 0;
  while (at + 5 <= stream.size()) {
    size_t length = (size_t{stream[at + 3]} << 8) | stream[at + 4];
    records.push_back({stream[at], length});
    at += 5 + length;
  }
  return records;
}

}  // namespace sanstls::test
