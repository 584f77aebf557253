// Ticket keys, ticket sealing bound to the server name, and the TLS 1.2
// session-ID store, plugged into mbedTLS's ticket and cache callbacks.
#include "sanstls/sessions.h"

#include <cstring>
#include <array>
#include <deque>
#include <list>
#include <string>
#include <climits>
#include <unordered_map>
#include <unordered_set>

#include "advisory_guards.h"
#include "call_scope.h"
#include "config_state.h"
#include "cursor.h"
#include "hello_parser.h"
#include "mbedtls/gcm.h"
#include "mbedtls/platform_util.h"
#include "mbedtls_private.h"

namespace sanstls {
namespace {

constexpr size_t kNameBytes = 16;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

bool gcm(bool encrypt, const uint8_t key[32], const uint8_t* nonce, ByteView aad, ByteView in,
         uint8_t* out, uint8_t* tag) {
  mbedtls_gcm_context ctx;
  mbedtls_gcm_init(&ctx);
  int ret = mbedtls_gcm_setkey(&ctx, MBEDTLS_CIPHER_ID_AES, key, 256);
  if (ret == 0) {
    ret = encrypt
              ? mbedtls_gcm_crypt_and_tag(&ctx, MBEDTLS_GCM_ENCRYPT, in.size(), nonce, kNonceBytes,
                                          aad.data(), aad.size(), in.data(), out, kTagBytes, tag)
              : mbedtls_gcm_auth_decrypt(&ctx, in.size(), nonce, kNonceBytes, aad.data(),
                                         aad.size(), tag, kTagBytes, in.data(), out);
  }
  mbedtls_gcm_free(&ctx);
  return ret == 0;
}

}  // namespace

Result<std::shared_ptr<TicketKeys>> TicketKeys::generate(RandomSource& random) {
  auto keys = std::make_shared<TicketKeys>();
  if (!random.fill(MutableByteView(keys->current_.bytes, kKeyBytes))) {
    return Error(ErrorCode::random_failed, Stage::config,
                 "the random source failed while generating session ticket keys");
  }
  return keys;
}

Result<std::shared_ptr<TicketKeys>> TicketKeys::from_bytes(ByteView bytes) {
  if (bytes.size() != kKeyBytes && bytes.size() != 2 * kKeyBytes) {
    return Error(ErrorCode::invalid_argument, Stage::config,
                 "ticket keys are 48 bytes (one key) or 96 bytes (current and previous)");
  }
  auto keys = std::make_shared<TicketKeys>();
  std::memcpy(keys->current_.bytes, bytes.data(), kKeyBytes);
  if (bytes.size() == 2 * kKeyBytes) {
    Key previous;
    std::memcpy(previous.bytes, bytes.data() + kKeyBytes, kKeyBytes);
    keys->previous_ = previous;
    mbedtls_platform_zeroize(previous.bytes, sizeof previous.bytes);
  }
  return keys;
}

TicketKeys::~TicketKeys() {
  mbedtls_platform_zeroize(current_.bytes, sizeof current_.bytes);
  if (previous_) mbedtls_platform_zeroize(previous_->bytes, sizeof previous_->bytes);
}

std::vector<uint8_t> TicketKeys::to_bytes() const {
  LockGuard lock(mutex_);
  std::vector<uint8_t> out(current_.bytes, current_.bytes + kKeyBytes);
  if (previous_) out.insert(out.end(), previous_->bytes, previous_->bytes + kKeyBytes);
  return out;
}

bool TicketKeys::rotate(RandomSource& random) {
  Key next;
  if (!random.fill(MutableByteView(next.bytes, kKeyBytes))) return false;
  LockGuard lock(mutex_);
  previous_ = current_;
  current_ = next;
  mbedtls_platform_zeroize(next.bytes, sizeof next.bytes);
  return true;
}

bool TicketKeys::seal(ByteView plaintext, RandomSource& random,
                      std::vector<uint8_t>& ticket) const {
  Key key;
  {
    LockGuard lock(mutex_);
    key = current_;
  }
  ticket.assign(kNameBytes + kNonceBytes + plaintext.size() + kTagBytes, 0);
  std::memcpy(ticket.data(), key.bytes, kNameBytes);
  uint8_t* nonce = ticket.data() + kNameBytes;
  bool ok = random.fill(MutableByteView(nonce, kNonceBytes)) &&
            gcm(true, key.bytes + kNameBytes, nonce, ByteView(key.bytes, kNameBytes), plaintext,
                nonce + kNonceBytes, nonce + kNonceBytes + plaintext.size());
  mbedtls_platform_zeroize(key.bytes, sizeof key.bytes);
  return ok;
}

std::optional<std::vector<uint8_t>> TicketKeys::open(ByteView ticket) const {
  if (ticket.size() < kNameBytes + kNonceBytes + kTagBytes) return std::nullopt;
  Key key;
  bool found = false;
  {
    LockGuard lock(mutex_);
    if (std::memcmp(ticket.data(), current_.bytes, kNameBytes) == 0) {
      key = current_;
      found = true;
    } else if (previous_ && std::memcmp(ticket.data(), previous_->bytes, kNameBytes) == 0) {
      key = *previous_;
      found = true;
    }
  }
  if (!found) return std::nullopt;
  const uint8_t* nonce = ticket.data() + kNameBytes;
  const size_t length = ticket.size() - kNameBytes - kNonceBytes - kTagBytes;
  std::vector<uint8_t> plaintext(length);
  const bool ok = gcm(false, key.bytes + kNameBytes, nonce, ByteView(key.bytes, kNameBytes),
                      ByteView(nonce + kNonceBytes, length), plaintext.data(),
                      const_cast<uint8_t*>(nonce + kNonceBytes + length));
  mbedtls_platform_zeroize(key.bytes, sizeof key.bytes);
  if (!ok) return std::nullopt;
  return plaintext;
}

namespace {

class MemorySessionStore final : public SessionStore {
 public:
  explicit MemorySessionStore(size_t max_entries) : max_(max_entries == 0 ? 1 : max_entries) {}

  void save(ByteView id, ByteView session) override {
    LockGuard lock(mutex_);
    const std::string key(id.as_text());
    auto found = index_.find(key);
    if (found != index_.end()) {
      order_.erase(found->second.position);
      index_.erase(found);
    }
    order_.push_front(key);
    index_[key] = Entry{std::vector<uint8_t>(session.begin(), session.end()), order_.begin()};
    while (index_.size() > max_) {
      index_.erase(order_.back());
      order_.pop_back();
    }
  }

  std::optional<std::vector<uint8_t>> load(ByteView id) override {
    LockGuard lock(mutex_);
    auto found = index_.find(std::string(id.as_text()));
    if (found == index_.end()) return std::nullopt;
    return found->second.session;
  }

  void remove(ByteView id) override {
    LockGuard lock(mutex_);
    auto found = index_.find(std::string(id.as_text()));
    if (found == index_.end()) return;
    order_.erase(found->second.position);
    index_.erase(found);
  }

 private:
  struct Entry {
    std::vector<uint8_t> session;
    std::list<std::string>::iterator position;
  };
  Mutex mutex_;
  size_t max_;
  std::list<std::string> order_;  // most recently saved first
  std::unordered_map<std::string, Entry> index_;
};

}  // namespace

std::shared_ptr<SessionStore> make_memory_session_store(size_t max_entries) {
  return std::make_shared<MemorySessionStore>(max_entries);
}

struct EarlyDataReplayStore::State {
  using Id = std::array<uint8_t, 16>;
  struct IdHash {
    size_t operator()(const Id& id) const noexcept {
      // Ticket ids are random nonces: their first bytes hash well enough.
      size_t h = 0;
      std::memcpy(&h, id.data(), sizeof h);
      return h;
    }
  };
  explicit State(size_t max_entries) : capacity(max_entries == 0 ? 1 : max_entries) {}
  mutable Mutex mutex;
  size_t capacity;
  int64_t horizon = INT64_MIN;               // tickets issued at or before this are refused
  std::deque<std::pair<Id, int64_t>> order;  // oldest first
  std::unordered_set<Id, IdHash> seen;
};

std::shared_ptr<EarlyDataReplayStore> EarlyDataReplayStore::create(size_t max_entries) {
  return std::shared_ptr<EarlyDataReplayStore>(new EarlyDataReplayStore(max_entries));
}

EarlyDataReplayStore::EarlyDataReplayStore(size_t max_entries)
    : state_(std::make_unique<State>(max_entries)) {}

EarlyDataReplayStore::~EarlyDataReplayStore() = default;

bool EarlyDataReplayStore::first_use(ByteView ticket_id, int64_t issued_seconds) {
  State::Id id{};
  std::memcpy(id.data(), ticket_id.data(),
              ticket_id.size() < id.size() ? ticket_id.size() : id.size());
  State& s = *state_;
  LockGuard lock(s.mutex);
  if (issued_seconds <= s.horizon) return false;
  if (!s.seen.insert(id).second) return false;
  s.order.emplace_back(id, issued_seconds);
  while (s.seen.size() > s.capacity) {
    if (s.order.front().second > s.horizon) s.horizon = s.order.front().second;
    s.seen.erase(s.order.front().first);
    s.order.pop_front();
  }
  return true;
}

size_t EarlyDataReplayStore::size() const {
  LockGuard lock(state_->mutex);
  return state_->seen.size();
}

size_t EarlyDataReplayStore::memory_bytes() const {
  LockGuard lock(state_->mutex);
  // A set node (id, hash, link, allocator header), a deque slot, a bucket.
  constexpr size_t kPerEntry =
      sizeof(State::Id) + 3 * sizeof(void*) + 16 + sizeof(std::pair<State::Id, int64_t>);
  return sizeof(State) + state_->seen.size() * kPerEntry +
         state_->seen.bucket_count() * sizeof(void*);
}

namespace detail {

namespace {

// Contents of a ticket, and of a stored session: the server name it was
// issued for, when, for how long, and mbedTLS's serialised session.
constexpr uint8_t kFormat = 1;

std::string current_server_name() {
  const CallContext& context = current_call_context();
  std::string name = context.server_name != nullptr ? *context.server_name : std::string();
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return name;
}

int64_t now_seconds() {
  const CallContext& context = current_call_context();
  return context.clock != nullptr ? context.clock->now_ms() / 1000 : 0;
}

std::vector<uint8_t> wrap_session(const mbedtls_ssl_session& session, uint32_t lifetime) {
  size_t needed = 0;
  mbedtls_ssl_session_save(&session, nullptr, 0, &needed);
  const std::string name = current_server_name();
  std::vector<uint8_t> out;
  out.push_back(kFormat);
  out.push_back(static_cast<uint8_t>(name.size()));
  out.insert(out.end(), name.begin(), name.end());
  // Whether the client's certificate verified: servers that require one
  // refuse tickets issued to connections they went on to reject.
  // Bits 1-2: whether a TLS 1.2 master secret is extended (RFC 7627 5.3).
  const EmsUse ems = session.MBEDTLS_PRIVATE(tls_version) == MBEDTLS_SSL_VERSION_TLS1_2
                         ? current_handshake_ems()
                         : EmsUse::unknown;
  out.push_back(static_cast<uint8_t>((session_peer_verified(session) ? 1 : 0) |
                                     (static_cast<uint8_t>(ems) << 1)));
  const uint64_t issued = static_cast<uint64_t>(now_seconds());
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(issued >> (8 * i)));
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<uint8_t>(lifetime >> (8 * i)));
  const size_t header = out.size();
  out.resize(header + needed);
  size_t written = 0;
  if (needed == 0 || name.size() > 255 ||
      mbedtls_ssl_session_save(&session, out.data() + header, needed, &written) != 0) {
    return {};
  }
  out.resize(header + written);
  return out;
}

// Returns 0, or the mbedTLS error that makes it fall back to a full handshake.
int unwrap_session(const ConfigState& config, ByteView bytes, mbedtls_ssl_session* session,
                   ByteView ticket_nonce = ByteView()) {
  Cursor c(bytes);
  const uint8_t format = c.u8();
  ByteView name = c.vector8();
  const uint8_t flags = c.u8();
  const bool peer_verified = (flags & 1) != 0;
  const auto ems = static_cast<EmsUse>((flags >> 1) & 3);
  uint64_t issued = 0;
  for (int i = 0; i < 8; ++i) issued = (issued << 8) | c.u8();
  uint32_t lifetime = 0;
  for (int i = 0; i < 4; ++i) lifetime = (lifetime << 8) | c.u8();
  ByteView rest = c.bytes(c.remaining());
  if (!c.ok() || format != kFormat) return MBEDTLS_ERR_SSL_INVALID_MAC;
  // Bound to the name it was issued for: another SNI name gets a full handshake.
  if (name.as_text() != current_server_name()) return MBEDTLS_ERR_SSL_INVALID_MAC;
  const int64_t now = now_seconds();
  if (now < static_cast<int64_t>(issued) || now >= static_cast<int64_t>(issued) + lifetime) {
    return MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED;
  }
  if (config.verification == PeerVerification::required && !peer_verified) {
    return MBEDTLS_ERR_SSL_INVALID_MAC;  // issued to a client we did not authorize
  }
  const int ret = mbedtls_ssl_session_load(session, rest.data(), rest.size());
  if (ret != 0) return ret;
  if (session->MBEDTLS_PRIVATE(tls_version) == MBEDTLS_SSL_VERSION_TLS1_2 &&
      !may_resume_tls12_session(ems)) {
    return MBEDTLS_ERR_SSL_INVALID_MAC;  // full handshake, or abort (advisory_guards.cpp)
  }
  if (config.replay_store != nullptr && !ticket_nonce.empty() &&
      session_allows_early_data(*session)) {
    // Only a ClientHello that offers 0-RTT spends the ticket's entry; one
    // used before may resume, but its 0-RTT data is refused (RFC 8446 8.1).
    const ClientHelloFacts* hello = current_call_context().client_hello;
    if (hello == nullptr || !hello->offers_early_data ||
        !config.replay_store->first_use(ticket_nonce, static_cast<int64_t>(issued))) {
      forbid_early_data(*session);
    }
  }
  return 0;
}

}  // namespace

int ticket_write(void* state, const mbedtls_ssl_session* session, unsigned char* start,
                 const unsigned char* end, size_t* length, uint32_t* lifetime) {
  // mbedTLS 3.6.6 sends both values even when we fail (CVE-2026-50586).
  *length = 0;
  *lifetime = 0;
  const auto* config = static_cast<const ConfigState*>(state);
  std::vector<uint8_t> plaintext = wrap_session(*session, config->ticket_lifetime);
  std::vector<uint8_t> ticket;
  const bool sealed =
      !plaintext.empty() && config->ticket_keys->seal(ByteView(plaintext), *config->random, ticket);
  mbedtls_platform_zeroize(plaintext.data(), plaintext.size());
  if (!sealed) return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
  if (ticket.size() > static_cast<size_t>(end - start)) return MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL;
  std::memcpy(start, ticket.data(), ticket.size());
  *length = ticket.size();
  *lifetime = config->ticket_lifetime;
  return 0;
}

namespace {

// Whether a loaded TLS 1.3 ticket can resume with a key exchange mode that the
// ticket allows, this configuration enables and the ClientHello offers, decided
// as ssl_tls13_server.c decides it. mbedTLS 3.6.6 skips a ticket without one but
// never frees what it loaded (ssl_tls13_parse_pre_shared_key_ext, "No suitable
// PSK key exchange mode"): refusing it here has the same outcome (the identity
// does not match) and mbedTLS frees the session on our error.
bool ticket_has_usable_mode(const ConfigState& config, const mbedtls_ssl_session& session) {
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
  const ClientHelloFacts* hello = current_call_context().client_hello;
  if (hello == nullptr || !hello->complete || !session_is_tls13(session)) return true;
  const int allowed = session_ticket_kex_modes(session) & config_kex_modes(config.conf);
  const bool psk_exts = hello->offers_psk && hello->has_psk_key_exchange_modes;
  const bool ephemeral = (allowed & MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL) != 0 &&
                         hello->offers_psk_dhe_ke && psk_exts && hello->has_supported_groups &&
                         hello->has_key_share;
  const bool pure =
      (allowed & MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK) != 0 && hello->offers_psk_ke && psk_exts;
  return ephemeral || pure;
#else
  (void)config, (void)session;
  return true;
#endif
}

}  // namespace

int ticket_parse(void* state, mbedtls_ssl_session* session, unsigned char* buffer, size_t length) {
  const auto* config = static_cast<const ConfigState*>(state);
  std::optional<std::vector<uint8_t>> plaintext =
      config->ticket_keys->open(ByteView(buffer, length));
  if (!plaintext) return MBEDTLS_ERR_SSL_INVALID_MAC;  // unknown key or forged: full handshake
  // The ticket's random nonce identifies it for the replay cache.
  const ByteView nonce = ByteView(buffer, length).skip(16).first(12);
  int ret = unwrap_session(*config, ByteView(*plaintext), session, nonce);
  mbedtls_platform_zeroize(plaintext->data(), plaintext->size());
  if (ret == 0 && !ticket_has_usable_mode(*config, *session)) ret = MBEDTLS_ERR_SSL_INVALID_MAC;
  return ret;
}

int cache_get(void* state, const unsigned char* id, size_t id_length,
              mbedtls_ssl_session* session) {
  const auto* config = static_cast<const ConfigState*>(state);
  std::optional<std::vector<uint8_t>> stored = config->session_store->load(ByteView(id, id_length));
  if (!stored) return MBEDTLS_ERR_SSL_CACHE_ENTRY_NOT_FOUND;
  const int ret = unwrap_session(*config, ByteView(*stored), session);
  if (ret != 0) config->session_store->remove(ByteView(id, id_length));
  return ret != 0 ? MBEDTLS_ERR_SSL_CACHE_ENTRY_NOT_FOUND : 0;
}

int cache_set(void* state, const unsigned char* id, size_t id_length,
              const mbedtls_ssl_session* session) {
  const auto* config = static_cast<const ConfigState*>(state);
  std::vector<uint8_t> stored = wrap_session(*session, config->ticket_lifetime);
  if (stored.empty()) return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
  config->session_store->save(ByteView(id, id_length), ByteView(stored));
  mbedtls_platform_zeroize(stored.data(), stored.size());
  return 0;
}

}  // namespace detail
}  // namespace sanstls
