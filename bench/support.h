// Shared benchmark machinery: the cases, the certificates, and one in-memory
// client/server pair driver per system (sanstls, raw mbedTLS, OpenSSL), all
// behind the same small interface so that every figure is taken the same way
// for every system: same certificates, suites, groups, signature algorithms,
// sizes and pumping pattern.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bench {

enum class System { sanstls, mbedtls, openssl };
enum class Key { ecdsa, rsa };
enum class Group { x25519, p256 };
enum class Suite { aes128gcm, chacha20 };
// full: no tickets, no session cache anywhere. The other modes: a first
// handshake (not timed) saves the session, every timed one resumes it.
enum class Resume { full, ticket, session_id };

struct Case {
  int version = 13;  // 12 or 13
  Key key = Key::ecdsa;
  Group group = Group::x25519;
  Suite suite = Suite::aes128gcm;
  Resume resume = Resume::full;
};

const char* system_name(System s);
const char* key_name(Key k);
const char* group_name(Group g);
const char* suite_name(Suite s);
const char* resume_name(Resume r);
// "tls13/ecdsa/x25519" (plus "/chacha20" when not AES-128-GCM).
std::string case_name(const Case& c);

// Certificates made once per process at run time (never stored): a CA and a
// "localhost" leaf per key type, valid from 1970-01-01 to 2099 so that raw
// mbedTLS, whose clock reads 0 outside sanstls engine calls, verifies them
// with the same VERIFY_REQUIRED mode as the engine and OpenSSL.
struct Credentials {
  std::string ca_pem;
  std::string ca_der;
  std::string leaf_pem;
  std::string leaf_der;
  std::string key_pem;
};
const Credentials& credentials(Key key);

// Which side of a pair the driver is calling into (0 client, 1 server, 2
// neither). The heap counter (heap.cpp) attributes allocations with it;
// elsewhere it is a plain store.
extern int g_side;

// One client/server pair, connected in memory.
class Pair {
 public:
  virtual ~Pair() = default;
  // Runs the handshake to completion on both sides (and delivers what the
  // server sends right after it, e.g. TLS 1.3 tickets). False on failure.
  virtual bool handshake() = 0;
  virtual bool resumed() const = 0;
  // Client writes `bytes` (server too when `both`) in writes of `chunk`
  // bytes; returns once the peer(s) read all of it. False on failure.
  virtual bool transfer(size_t bytes, size_t chunk, bool both) = 0;
  // Engine accounting (sanstls only): {client current, client peak, server
  // current, server peak}; empty for the others.
  virtual std::vector<size_t> engine_memory() const { return {}; }
};

// Everything shared by the pairs of one case: configurations, contexts, and
// the saved session for resumption.
class Context {
 public:
  virtual ~Context() = default;
  virtual std::unique_ptr<Pair> make_pair() = 0;
  // For resumption modes: run one full handshake and keep its session.
  virtual bool prime() = 0;
};

std::unique_ptr<Context> make_context(System system, const Case& c);
std::unique_ptr<Context> make_sanstls_context(const Case& c);
std::unique_ptr<Context> make_mbedtls_context(const Case& c);
std::unique_ptr<Context> make_openssl_context(const Case& c);

// The crypto floor through PSA: the public-key operations a handshake of
// this case needs (key generation x2, key agreement x2, one signature, two
// verifications for full handshakes; key generation x2 and agreement x2 for
// TLS 1.3 resumption; nothing for TLS 1.2 resumption), and the AEAD work of
// a transfer.
class CryptoFloor {
 public:
  virtual ~CryptoFloor() = default;
  virtual bool handshake() = 0;
  // Encrypt + decrypt `bytes` in records of `chunk` (twice when `both`).
  virtual bool transfer(size_t bytes, size_t chunk, bool both) = 0;
  // Individual primitives (for the per-operation table).
  virtual bool keygen() = 0;
  virtual bool agree() = 0;
  virtual bool sign() = 0;
  virtual bool verify() = 0;
  virtual bool has_handshake_work() const = 0;
};
std::unique_ptr<CryptoFloor> make_crypto_floor(const Case& c);

// psa_crypto_init() once (raw mbedTLS TLS 1.3 and the floor need it).
void ensure_psa();

}  // namespace bench
