// The crypto floor: the public-key operations of one handshake through
// mbedTLS's PSA API, and the AEAD work of a transfer through its cipher layer
// (same build and config).
//
// Full handshake (both versions, ECDHE): two key-share generations, two key
// agreements, one signature (CertificateVerify / ServerKeyExchange) and two
// verifications (that signature, and the leaf certificate's signature, done
// with a key of the same type and size and the certificate's algorithm).
// TLS 1.3 resumption (psk_dhe_ke): generations and agreements only. TLS 1.2
// resumption: no public-key work at all (no floor reported).
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "mbedtls/cipher.h"
#include "mbedtls/pk.h"
#include "psa/crypto.h"
#include "support.h"

namespace bench {
namespace {

uint8_t g_in[65536];
uint8_t g_out[65536 + 64];
uint8_t g_back[65536];

void check(psa_status_t s, const char* what) {
  if (s != PSA_SUCCESS) {
    std::fprintf(stderr, "bench: crypto floor %s: %d\n", what, static_cast<int>(s));
    std::abort();
  }
}

psa_key_id_t import_private(const std::string& pem, psa_algorithm_t alg) {
  mbedtls_pk_context pk;
  mbedtls_pk_init(&pk);
  if (mbedtls_pk_parse_key(
          &pk, reinterpret_cast<const unsigned char*>(pem.c_str()), pem.size() + 1, nullptr, 0,
          [](void*, unsigned char* o, size_t n) {
            std::memset(o, 0x5a, n);
            return 0;
          },
          nullptr) != 0) {
    std::fprintf(stderr, "bench: crypto floor: key parse\n");
    std::abort();
  }
  psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
  check(
      static_cast<psa_status_t>(mbedtls_pk_get_psa_attributes(&pk, PSA_KEY_USAGE_SIGN_HASH, &attr)),
      "attributes");
  psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_VERIFY_HASH);
  psa_set_key_algorithm(&attr, alg);
  psa_key_id_t id = 0;
  check(static_cast<psa_status_t>(mbedtls_pk_import_into_psa(&pk, &attr, &id)), "import private");
  mbedtls_pk_free(&pk);
  return id;
}

psa_key_id_t public_of(psa_key_id_t priv) {
  psa_key_attributes_t priv_attr = PSA_KEY_ATTRIBUTES_INIT;
  check(psa_get_key_attributes(priv, &priv_attr), "get attributes");
  uint8_t pub[1024];
  size_t len = 0;
  check(psa_export_public_key(priv, pub, sizeof pub, &len), "export public");
  psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;  // fresh: no key id
  psa_set_key_type(&attr, PSA_KEY_TYPE_PUBLIC_KEY_OF_KEY_PAIR(psa_get_key_type(&priv_attr)));
  psa_set_key_bits(&attr, psa_get_key_bits(&priv_attr));
  psa_set_key_algorithm(&attr, psa_get_key_algorithm(&priv_attr));
  psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_VERIFY_HASH);
  psa_reset_key_attributes(&priv_attr);
  psa_key_id_t id = 0;
  check(psa_import_key(&attr, pub, len, &id), "import public");
  return id;
}

class PsaFloor final : public CryptoFloor {
 public:
  explicit PsaFloor(const Case& c) : case_(c) {
    ensure_psa();
    const Credentials& creds = credentials(c.key);
    if (c.key == Key::ecdsa) {
      cv_alg_ = PSA_ALG_DETERMINISTIC_ECDSA(PSA_ALG_SHA_256);
      cert_alg_ = PSA_ALG_DETERMINISTIC_ECDSA(PSA_ALG_SHA_256);
    } else {
      cv_alg_ = c.version == 13 ? PSA_ALG_RSA_PSS(PSA_ALG_SHA_256)
                                : PSA_ALG_RSA_PKCS1V15_SIGN(PSA_ALG_SHA_256);
      cert_alg_ = PSA_ALG_RSA_PKCS1V15_SIGN(PSA_ALG_SHA_256);
    }
    sign_key_ = import_private(creds.key_pem, cv_alg_);
    cert_key_ = import_private(creds.key_pem, cert_alg_);
    verify_key_ = public_of(sign_key_);
    cert_verify_key_ = public_of(cert_key_);
    std::memset(hash_, 0x42, sizeof hash_);
    check(psa_sign_hash(cert_key_, cert_alg_, hash_, sizeof hash_, cert_sig_, sizeof cert_sig_,
                        &cert_sig_len_),
          "cert signature");
    check(psa_sign_hash(sign_key_, cv_alg_, hash_, sizeof hash_, cv_sig_, sizeof cv_sig_,
                        &cv_sig_len_),
          "signature");

    psa_set_key_usage_flags(&ecdh_attr_, PSA_KEY_USAGE_DERIVE);
    psa_set_key_algorithm(&ecdh_attr_, PSA_ALG_ECDH);
    if (c.group == Group::x25519) {
      psa_set_key_type(&ecdh_attr_, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_MONTGOMERY));
      psa_set_key_bits(&ecdh_attr_, 255);
    } else {
      psa_set_key_type(&ecdh_attr_, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
      psa_set_key_bits(&ecdh_attr_, 256);
    }
    // A standing peer for agree().
    check(psa_generate_key(&ecdh_attr_, &peer_), "generate peer");
    check(psa_export_public_key(peer_, peer_pub_, sizeof peer_pub_, &peer_pub_len_), "export peer");

    // AEAD through the cipher layer with the key schedule set up once, as
    // the TLS record layer of mbedTLS 3.6 does (PSA's one-shot AEAD would
    // redo the key schedule for every record).
    uint8_t key_bytes[32];
    std::memset(key_bytes, 7, sizeof key_bytes);
    const mbedtls_cipher_type_t type =
        c.suite == Suite::aes128gcm ? MBEDTLS_CIPHER_AES_128_GCM : MBEDTLS_CIPHER_CHACHA20_POLY1305;
    for (mbedtls_cipher_context_t* ctx : {&enc_, &dec_}) {
      mbedtls_cipher_init(ctx);
      if (mbedtls_cipher_setup(ctx, mbedtls_cipher_info_from_type(type)) != 0 ||
          mbedtls_cipher_setkey(ctx, key_bytes, c.suite == Suite::aes128gcm ? 128 : 256,
                                ctx == &enc_ ? MBEDTLS_ENCRYPT : MBEDTLS_DECRYPT) != 0) {
        std::fprintf(stderr, "bench: crypto floor: cipher setup\n");
        std::abort();
      }
    }
  }
  ~PsaFloor() override {
    for (psa_key_id_t k : {sign_key_, cert_key_, verify_key_, cert_verify_key_, peer_})
      psa_destroy_key(k);
    mbedtls_cipher_free(&enc_);
    mbedtls_cipher_free(&dec_);
  }

  bool has_handshake_work() const override {
    return !(case_.version == 12 && case_.resume != Resume::full);
  }

  bool handshake() override {
    if (!has_handshake_work()) return true;
    psa_key_id_t a = 0, b = 0;
    uint8_t pa[160], pb[160], secret[64];
    size_t la = 0, lb = 0, ls = 0;
    bool ok =
        psa_generate_key(&ecdh_attr_, &a) == PSA_SUCCESS &&
        psa_generate_key(&ecdh_attr_, &b) == PSA_SUCCESS &&
        psa_export_public_key(a, pa, sizeof pa, &la) == PSA_SUCCESS &&
        psa_export_public_key(b, pb, sizeof pb, &lb) == PSA_SUCCESS &&
        psa_raw_key_agreement(PSA_ALG_ECDH, a, pb, lb, secret, sizeof secret, &ls) == PSA_SUCCESS &&
        psa_raw_key_agreement(PSA_ALG_ECDH, b, pa, la, secret, sizeof secret, &ls) == PSA_SUCCESS;
    psa_destroy_key(a);
    psa_destroy_key(b);
    if (!ok || case_.resume != Resume::full) return ok;
    return sign() && verify() &&
           psa_verify_hash(cert_verify_key_, cert_alg_, hash_, sizeof hash_, cert_sig_,
                           cert_sig_len_) == PSA_SUCCESS;
  }

  bool keygen() override {
    psa_key_id_t a = 0;
    uint8_t pa[160];
    size_t la = 0;
    bool ok = psa_generate_key(&ecdh_attr_, &a) == PSA_SUCCESS &&
              psa_export_public_key(a, pa, sizeof pa, &la) == PSA_SUCCESS;
    psa_destroy_key(a);
    return ok;
  }
  bool agree() override {
    uint8_t secret[64];
    size_t ls = 0;
    return psa_raw_key_agreement(PSA_ALG_ECDH, peer_, peer_pub_, peer_pub_len_, secret,
                                 sizeof secret, &ls) == PSA_SUCCESS;
  }
  bool sign() override {
    uint8_t sig[512];
    size_t len = 0;
    return psa_sign_hash(sign_key_, cv_alg_, hash_, sizeof hash_, sig, sizeof sig, &len) ==
           PSA_SUCCESS;
  }
  bool verify() override {
    return psa_verify_hash(verify_key_, cv_alg_, hash_, sizeof hash_, cv_sig_, cv_sig_len_) ==
           PSA_SUCCESS;
  }

  bool transfer(size_t bytes, size_t chunk, bool both) override {
    const int passes = both ? 2 : 1;
    uint8_t nonce[12] = {0};
    uint8_t ad[5] = {23, 3, 3, 0, 0};
    for (int p = 0; p < passes; ++p) {
      for (size_t done = 0; done < bytes; done += chunk) {
        const size_t n = chunk < bytes - done ? chunk : bytes - done;
        size_t ct = 0, pt = 0;
        nonce[11]++;
        if (mbedtls_cipher_auth_encrypt_ext(&enc_, nonce, sizeof nonce, ad, sizeof ad, g_in, n,
                                            g_out, sizeof g_out, &ct, 16) != 0 ||
            mbedtls_cipher_auth_decrypt_ext(&dec_, nonce, sizeof nonce, ad, sizeof ad, g_out, ct,
                                            g_back, sizeof g_back, &pt, 16) != 0)
          return false;
      }
    }
    return true;
  }

 private:
  Case case_;
  psa_algorithm_t cv_alg_ = 0, cert_alg_ = 0;
  mbedtls_cipher_context_t enc_, dec_;
  psa_key_id_t sign_key_ = 0, cert_key_ = 0, verify_key_ = 0, cert_verify_key_ = 0;
  psa_key_id_t peer_ = 0;
  psa_key_attributes_t ecdh_attr_ = PSA_KEY_ATTRIBUTES_INIT;
  uint8_t hash_[32];
  uint8_t cert_sig_[512], cv_sig_[512];
  size_t cert_sig_len_ = 0, cv_sig_len_ = 0;
  uint8_t peer_pub_[160];
  size_t peer_pub_len_ = 0;
};

}  // namespace

std::unique_ptr<CryptoFloor> make_crypto_floor(const Case& c) {
  return std::make_unique<PsaFloor>(c);
}

}  // namespace bench
