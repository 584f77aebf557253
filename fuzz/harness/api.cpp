// fuzz_api: random interleavings of the public API on a client/server pair,
// with the engine contract (include/sanstls/connection.h) checked by
// __builtin_trap(): every call goes through the shared ContractCheck
// (fuzz/harness/harness.h: memory bounded, readiness and events consistent,
// sticky errors, no output after a fatal error), and here also:
//   - no data lost or duplicated: what one side reads is exactly a prefix of
//     what the other side's write() accepted, and once the pair is pumped to
//     quiescence without errors, corruption or EOF, all of it;
//   - readiness matches the calls: !can_write => write() == 0; can_write and
//     a non-empty write => accepted > 0 or an error; has_plaintext => read()
//     > 0; has_output == !pending_output().empty(); feed() takes at most what
//     it was offered;
//   - errors are sticky: once error() is set its code never changes, and
//     feed()/write() return 0.
//
// Input: [pair selector][op...], ops listed in ApiOp.
#include <cstring>
#include <vector>

#include "harness/harness.h"

namespace sanstls::fuzz {
namespace {

enum ApiOp : uint8_t {
  kMoveOut = 0,    // side u8, count u8 (0 = all): pending_output -> wire, consume_output
  kFeed = 1,       // side u8, count u8 (0 = all): wire -> feed()
  kWrite = 2,      // side u8, length u16
  kRead = 3,       // side u8, buffer size u8 + 1
  kClose = 4,      // side u8
  kEof = 5,        // side u8
  kEvent = 6,      // side u8
  kCorrupt = 7,    // side u8, offset u16, xor u8: flip a byte on the wire
  kClockStep = 8,  // u16 ms forward
  kPump = 9,       // move everything both ways a few times
  kOpCount = 10,
};

// The byte at stream position `i`: not periodic, so a duplicated or skipped
// run cannot compare equal by accident.
uint8_t stream_byte(size_t i) {
  uint64_t x = i * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
  x ^= x >> 29;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 32;
  return static_cast<uint8_t>(x);
}

struct Side {
  Connection conn;
  ContractCheck contract;
  std::vector<uint8_t> wire_in;  // bytes sent to this side, not yet fed
  size_t written = 0;            // bytes write() accepted (stream_byte(0..written))
  size_t received = 0;           // bytes read() returned
  bool eof = false;
  bool closed = false;

  explicit Side(Connection c) : conn(std::move(c)) {}

  void check_invariants() { contract.observe(conn); }
};

struct World {
  Side client;
  Side server;
  bool corrupted = false;

  Side& side(uint8_t which) { return (which & 1) != 0 ? server : client; }
  Side& other(Side& s) { return &s == &client ? server : client; }

  void move_out(Side& from, size_t count) {
    const ByteView out = from.conn.pending_output();
    const size_t n = count == 0 || count > out.size() ? out.size() : count;
    Side& to = other(from);
    to.wire_in.insert(to.wire_in.end(), out.begin(), out.begin() + n);
    from.contract.consume_output(from.conn, n);
  }

  void feed(Side& to, size_t count) {
    if (to.wire_in.empty()) return;
    const size_t offer = count == 0 || count > to.wire_in.size() ? to.wire_in.size() : count;
    const size_t taken = to.contract.feed(to.conn, ByteView(to.wire_in.data(), offer));
    to.wire_in.erase(to.wire_in.begin(), to.wire_in.begin() + static_cast<std::ptrdiff_t>(taken));
  }

  void write(Side& from, size_t length) {
    std::vector<uint8_t> data(length);
    for (size_t i = 0; i < length; ++i) data[i] = stream_byte(from.written + i);
    from.written += from.contract.write(from.conn, ByteView(data));
  }

  void read(Side& to, size_t size) {
    std::vector<uint8_t> buffer(size);
    const size_t n = to.contract.read(to.conn, MutableByteView(buffer.data(), buffer.size()));
    const Side& from = other(to);
    check(to.received + n <= from.written);
    for (size_t i = 0; i < n; ++i) check(buffer[i] == stream_byte(to.received + i));
    to.received += n;
  }

  void event(Side& s) { (void)s.contract.next_event(s.conn); }

  // Everything both ways until nothing moves; reads everything.
  void pump(int rounds) {
    for (int i = 0; i < rounds; ++i) {
      bool moved = false;
      for (Side* s : {&client, &server}) {
        if (!s->conn.pending_output().empty()) {
          move_out(*s, 0);
          moved = true;
        }
      }
      for (Side* s : {&client, &server}) {
        const size_t before = s->wire_in.size();
        feed(*s, 0);
        moved = moved || s->wire_in.size() != before;
        for (int guard = 0; guard < 64 && s->conn.wants().has_plaintext; ++guard) {
          const size_t received = s->received;
          read(*s, 4096);
          if (s->received == received) break;
          moved = true;
        }
        while (s->contract.next_event(s->conn)) moved = true;
      }
      client.check_invariants();
      server.check_invariants();
      if (!moved) return;
    }
  }
};

const uint8_t kPairs[][2] = {{0, 0}, {1, 1}, {2, 2}, {3, 3}, {4, 5}, {7, 7}};

}  // namespace

int run_api(const uint8_t* data, size_t size) {
  Input in(data, size);
  const auto& pair = kPairs[in.u8() % (sizeof kPairs / sizeof kPairs[0])];
  World w{Side(new_client(pair[0])), Side(new_server(pair[1]))};
  for (int ops = 0; ops < 512 && !in.empty(); ++ops) {
    const uint8_t op = in.u8() % kOpCount;
    Side& s = w.side(in.u8());
    switch (op) {
      case kMoveOut:
        w.move_out(s, in.u8());
        break;
      case kFeed:
        w.feed(s, in.u8());
        break;
      case kWrite:
        w.write(s, in.u16() % 40000);
        break;
      case kRead:
        w.read(s, size_t{in.u8()} + 1);
        break;
      case kClose:
        s.closed = true;
        s.contract.close(s.conn);
        break;
      case kEof:
        s.eof = true;
        s.contract.transport_eof(s.conn);
        break;
      case kEvent:
        w.event(s);
        break;
      case kCorrupt: {
        const uint16_t offset = in.u16();
        const uint8_t bits = in.u8();
        if (!s.wire_in.empty() && bits != 0) {
          s.wire_in[offset % s.wire_in.size()] ^= bits;
          w.corrupted = true;
        }
        break;
      }
      case kClockStep:
        advance_clocks(in.u16());
        break;
      default:
        w.pump(4);
        break;
    }
    w.client.check_invariants();
    w.server.check_invariants();
  }
  // Quiescence: without errors, corruption or EOF, every accepted byte arrives.
  w.pump(1000);
  const bool clean = !w.corrupted && !w.client.eof && !w.server.eof && w.client.conn.error().ok() &&
                     w.server.conn.error().ok();
  if (clean) {
    if (!w.client.closed && !w.server.closed) {
      check(w.client.conn.wants().handshake_complete && w.server.conn.wants().handshake_complete);
    }
    // A side that called close() before its handshake completed ends both
    // directions (connection.h), so only an open receiver owes every byte.
    if (!w.server.closed || w.server.conn.wants().handshake_complete) {
      check(w.server.received == w.client.written);
    }
    if (!w.client.closed || w.client.conn.wants().handshake_complete) {
      check(w.client.received == w.server.written);
    }
  }
  return 0;
}

}  // namespace sanstls::fuzz
