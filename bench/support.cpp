#include "support.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "psa/crypto.h"
#include "sanstls/testing/pki.h"

namespace bench {

int g_side = 2;

const char* system_name(System s) {
  switch (s) {
    case System::sanstls:
      return "sanstls";
    case System::mbedtls:
      return "mbedtls";
    case System::openssl:
      return "openssl";
  }
  return "?";
}
const char* key_name(Key k) { return k == Key::ecdsa ? "ecdsa" : "rsa"; }
const char* group_name(Group g) { return g == Group::x25519 ? "x25519" : "p256"; }
const char* suite_name(Suite s) { return s == Suite::aes128gcm ? "aes128gcm" : "chacha20"; }
const char* resume_name(Resume r) {
  switch (r) {
    case Resume::full:
      return "full";
    case Resume::ticket:
      return "ticket";
    case Resume::session_id:
      return "session_id";
  }
  return "?";
}

std::string case_name(const Case& c) {
  std::string name = c.version == 13 ? "tls13/" : "tls12/";
  name += key_name(c.key);
  name += "/";
  name += group_name(c.group);
  if (c.suite != Suite::aes128gcm) name += std::string("/") + suite_name(c.suite);
  return name;
}

namespace {

Credentials make_credentials(Key key) {
  using namespace sanstls::testing;
  const KeyType type = key == Key::ecdsa ? KeyType::ecdsa_p256 : KeyType::rsa2048;
  Pki pki(key == Key::ecdsa ? 7001 : 7002);
  CertificateSpec ca_spec;
  ca_spec.common_name = "sanstls bench CA";
  ca_spec.is_ca = true;
  ca_spec.key_type = type;
  ca_spec.not_before = "19700101000000";
  auto ca = pki.self_signed(ca_spec);
  if (!ca) {
    std::fprintf(stderr, "bench: CA: %s\n", pki.last_error().c_str());
    std::abort();
  }
  CertificateSpec leaf_spec;
  leaf_spec.common_name = "localhost";
  leaf_spec.dns_names = {"localhost"};
  leaf_spec.key_type = type;
  leaf_spec.not_before = "19700101000000";
  auto leaf = pki.issue(*ca, leaf_spec);
  if (!leaf) {
    std::fprintf(stderr, "bench: leaf: %s\n", pki.last_error().c_str());
    std::abort();
  }
  return Credentials{ca->certificate_pem, ca->certificate_der, leaf->certificate_pem,
                     leaf->certificate_der, leaf->key.private_key_pem};
}

}  // namespace

const Credentials& credentials(Key key) {
  static std::once_flag once[2];
  static Credentials creds[2];
  const int i = key == Key::ecdsa ? 0 : 1;
  std::call_once(once[i], [&] { creds[i] = make_credentials(key); });
  return creds[i];
}

void ensure_psa() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (psa_crypto_init() != PSA_SUCCESS) {
      std::fprintf(stderr, "bench: psa_crypto_init failed\n");
      std::abort();
    }
  });
}

std::unique_ptr<Context> make_context(System system, const Case& c) {
  switch (system) {
    case System::sanstls:
      return make_sanstls_context(c);
    case System::mbedtls:
      return make_mbedtls_context(c);
    case System::openssl:
      return make_openssl_context(c);
  }
  return nullptr;
}

}  // namespace bench
