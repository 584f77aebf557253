// fuzz_ticketkeys: the ticket key loader (TicketKeys::from_bytes, which the
// CLI's --ticket-keys FILE feeds with the file's bytes) and ticket opening.
//
// Input: [key bytes length u16][key bytes][ticket = the rest]. Checked:
//   - from_bytes accepts exactly 48 or 96 bytes, and to_bytes() gives them back;
//   - open() of arbitrary bytes never crashes (and a ticket it opens must
//     have been sealed with these keys: arbitrary bytes almost never do);
//   - seal() then open() gives the plaintext back, also after rotate() (the
//     previous key still opens), and not after two rotations.
#include <cstring>
#include <optional>
#include <vector>

#include "harness/harness.h"

namespace sanstls::fuzz {
namespace {

constexpr size_t kTicketKeyNameBytes = 16;  // TicketKeys: 16-byte name + 32-byte key

bool same(const std::optional<std::vector<uint8_t>>& opened, ByteView expected) {
  return opened.has_value() && opened->size() == expected.size() &&
         (expected.empty() || std::memcmp(opened->data(), expected.data(), expected.size()) == 0);
}

}  // namespace

int run_ticketkeys(const uint8_t* data, size_t size) {
  Input in(data, size);
  const ByteView key_bytes = in.take(in.u16());
  const ByteView ticket = in.rest();
  auto loaded = TicketKeys::from_bytes(key_bytes);
  const bool valid_size =
      key_bytes.size() == TicketKeys::kKeyBytes || key_bytes.size() == 2 * TicketKeys::kKeyBytes;
  check(loaded.ok() == valid_size);
  if (!loaded) {
    check(loaded.error().code() == ErrorCode::invalid_argument);
    return 0;
  }
  const std::shared_ptr<TicketKeys> keys = loaded.value();
  const std::vector<uint8_t> round_trip = keys->to_bytes();
  check(round_trip.size() == key_bytes.size());
  check(std::memcmp(round_trip.data(), key_bytes.data(), key_bytes.size()) == 0);

  (void)keys->open(ticket);  // arbitrary bytes: must not crash

  SeededRandom random(size);
  std::vector<uint8_t> sealed;
  if (!keys->seal(ticket, random, sealed)) return 0;
  auto opened = keys->open(ByteView(sealed));
  check(same(opened, ticket));
  // A flipped byte is refused (AES-GCM tag or key name).
  if (!sealed.empty()) {
    std::vector<uint8_t> flipped = sealed;
    flipped[ticket.size() % flipped.size()] ^= 0x01;
    check(!keys->open(ByteView(flipped)).has_value());
  }
  // Rotation. open() picks the key by its 16-byte name, so the checks below
  // assume the new random keys' names differ from the original one (the
  // fuzzer can copy a rotated key's name into its input through the memcmp
  // hooks; with random names a collision is 2^-128).
  const std::vector<uint8_t> original = keys->to_bytes();
  auto same_name = [](const std::vector<uint8_t>& a, size_t i, const std::vector<uint8_t>& b) {
    return std::memcmp(a.data() + i, b.data(), kTicketKeyNameBytes) == 0;
  };
  check(keys->rotate(random));
  const std::vector<uint8_t> once = keys->to_bytes();
  check(once.size() == 2 * TicketKeys::kKeyBytes);
  check(std::memcmp(once.data() + TicketKeys::kKeyBytes, original.data(), TicketKeys::kKeyBytes) ==
        0);
  if (same_name(once, 0, original)) return 0;
  opened = keys->open(ByteView(sealed));
  check(same(opened, ticket));  // the previous key still opens it
  check(keys->rotate(random));
  const std::vector<uint8_t> twice = keys->to_bytes();
  if (same_name(twice, 0, original)) return 0;
  check(!keys->open(ByteView(sealed)).has_value());  // two rotations later: gone
  return 0;
}

}  // namespace sanstls::fuzz
