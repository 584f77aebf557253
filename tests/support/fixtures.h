// Shared test fixtures: a PKI made at run time (no private key is committed),
// a fixed clock and seeded randomness, and Config helpers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sanstls/sanstls.h"
#include "sanstls/testing/pki.h"

namespace sanstls::test {

// 2026-06-01T00:00:00Z: inside every "valid" certificate below.
constexpr int64_t kNowMs = 1780272000000LL;

struct TestPki {
  testing::Identity ecdsa_root;        // trusted by default
  testing::Identity rsa_root;          // trusted by default
  testing::Identity ecdsa_inter;       // under ecdsa_root
  testing::Identity ecdsa_leaf;        // localhost, 127.0.0.1, ::1; under ecdsa_inter
  testing::Identity rsa_leaf;          // localhost, 127.0.0.1; under rsa_root
  testing::Identity expired_leaf;      // under ecdsa_root, ended 2021
  testing::Identity future_leaf;       // under ecdsa_root, starts 2090
  testing::Identity self_signed_leaf;  // localhost, self-signed
  testing::Identity other_root;        // never trusted
  testing::Identity other_leaf;        // localhost, under other_root
  testing::Identity client_leaf;       // "client.example", under ecdsa_root
};

// Built once per process (deterministic seed).
const TestPki& pki();

// PEM of the default trust anchors (ecdsa_root + rsa_root).
std::string trusted_roots_pem();
// Leaf + intermediates for the ECDSA server identity.
std::string ecdsa_chain_pem();

// Per-test sources: a fixed clock and deterministic randomness.
struct Sources {
  explicit Sources(uint64_t seed = 7) : client_random(seed), server_random(seed + 1000) {}
  ManualClock clock{kNowMs};
  SeededRandom client_random;
  SeededRandom server_random;
};

ConfigBuilder client_builder(Sources& sources);
// A server with the ECDSA chain (and RSA leaf when `with_rsa`).
ConfigBuilder server_builder(Sources& sources, bool with_rsa = false);

Config build_or_fail(const ConfigBuilder& builder);

// The "sha256/BASE64" public key pin of a certificate (DER), as curl's
// --pinnedpubkey and pin_public_key() take it.
std::string pin_of(const std::string& certificate_der);

}  // namespace sanstls::test
