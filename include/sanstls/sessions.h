// Server-side session resumption state: ticket keys (TLS 1.2 and 1.3
// tickets) and the TLS 1.2 session-ID store. Both hold secrets that can
// decrypt past sessions' resumptions: protect them like private keys.
#pragma once

#include <cstdint>
#include <memory>
#include "sanstls/sync.h"
#include <optional>
#include <vector>

#include "sanstls/bytes.h"
#include "sanstls/result.h"
#include "sanstls/sources.h"

namespace sanstls {

// The keys that seal session tickets: a current key, which seals new
// tickets, and the previous one, which still opens tickets it sealed (the
// rotation overlap). Share one TicketKeys between servers (a fleet) so any
// of them resumes any ticket. Thread-safe.
class TicketKeys {
 public:
  static constexpr size_t kKeyBytes = 48;  // 16-byte name + 32-byte AES-256-GCM key

  // Fresh random keys.
  static Result<std::shared_ptr<TicketKeys>> generate(RandomSource& random);
  // From to_bytes(): 48 bytes (one key, as Node's setTicketKeys) or 96
  // (current + previous).
  static Result<std::shared_ptr<TicketKeys>> from_bytes(ByteView bytes);
  // The current key followed by the previous one (96 bytes), or just the
  // current key (48) when there is no previous one.
  std::vector<uint8_t> to_bytes() const;
  // A new current key; the old current key becomes the previous one.
  bool rotate(RandomSource& random);

  // Used by the engine: seal/open ticket contents (name | nonce | ct | tag).
  bool seal(ByteView plaintext, RandomSource& random, std::vector<uint8_t>& ticket) const;
  std::optional<std::vector<uint8_t>> open(ByteView ticket) const;

  TicketKeys() = default;
  ~TicketKeys();  // wipes the keys
  TicketKeys(const TicketKeys&) = delete;
  TicketKeys& operator=(const TicketKeys&) = delete;

 private:
  struct Key {
    uint8_t bytes[kKeyBytes];
  };
  mutable Mutex mutex_;
  Key current_{};
  std::optional<Key> previous_;
};

// Server-side store of TLS 1.2 sessions by session ID, like Node's
// newSession/resumeSession events. Implement it to share sessions across
// processes; calls happen during engine calls, possibly on several threads.
class SessionStore {
 public:
  virtual ~SessionStore() = default;
  virtual void save(ByteView session_id, ByteView session) = 0;
  virtual std::optional<std::vector<uint8_t>> load(ByteView session_id) = 0;
  virtual void remove(ByteView session_id) = 0;
};

// A bounded in-memory SessionStore: least recently saved entries are
// evicted beyond `max_entries`. Thread-safe.
std::shared_ptr<SessionStore> make_memory_session_store(size_t max_entries);

// Servers with 0-RTT: the tickets whose early data was already accepted, so
// each ticket's early data is accepted once (RFC 8446 8.1). A ticket used
// again still resumes, with its 0-RTT refused. Only a ClientHello that
// offers early data on a ticket that allows it spends an entry. Bounded:
// when full the oldest entries go, and tickets issued before the newest
// evicted one are refused 0-RTT, so an eviction never reopens a replay
// window. Share one store between the Configs of a server (a reload keeps
// it, like its ticket keys); servers sharing ticket keys across processes
// each keep their own. Thread-safe.
class EarlyDataReplayStore {
 public:
  static constexpr size_t kDefaultEntries = 65536;
  static std::shared_ptr<EarlyDataReplayStore> create(size_t max_entries = kDefaultEntries);
  ~EarlyDataReplayStore();
  EarlyDataReplayStore(const EarlyDataReplayStore&) = delete;
  EarlyDataReplayStore& operator=(const EarlyDataReplayStore&) = delete;

  // Used by the engine: true the first time `ticket_id` is presented for
  // 0-RTT, false after (or when issued before the eviction horizon).
  bool first_use(ByteView ticket_id, int64_t issued_seconds);
  size_t size() const;
  // Heap held by the entries (counted in Config::memory_bytes()).
  size_t memory_bytes() const;

 private:
  explicit EarlyDataReplayStore(size_t max_entries);
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace sanstls
