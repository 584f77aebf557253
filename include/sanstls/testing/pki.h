// sanstls::testing — run-time generation of X.509 test certificates and keys.
//
// Intended for tests, demos and users' own test suites (in the spirit of
// rcgen for rustls).  Nothing here is suitable for production PKI: keys are
// derived deterministically from a small integer seed so that test fixtures
// are reproducible, which also means they are trivially guessable.
//
// Determinism: for a given seed and the same sequence of calls, a Pki object
// produces byte-identical keys and certificates (with the same mbedTLS
// version).  The n-th key of a given KeyType depends only on (seed, type, n),
// not on how many keys of other types were generated before it, and the n-th
// certificate's serial number depends only on (seed, n).
//
// Generated keys are cached per process keyed by (seed, type, n), so
// re-creating the same fixtures with a new Pki object is cheap even for
// RSA-2048 (first generation: ~0.02-0.25 s, median ~0.1 s, on the dev VM).
//
// A Pki object is not thread-safe (use one per thread); the key cache and the
// free functions are.  No function in this header throws; failures are reported through empty
// optionals together with a human-readable message.
#ifndef SANSTLS_TESTING_PKI_H
#define SANSTLS_TESTING_PKI_H

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

namespace sanstls::testing {

enum class KeyType {
  ecdsa_p256,  // signs with ecdsa-with-SHA256
  ecdsa_p384,  // signs with ecdsa-with-SHA384
  rsa2048,     // e = 65537, signs with sha256WithRSAEncryption (PKCS#1 v1.5)
  rsa1024,     // as rsa2048 but too weak for mbedTLS's default certificate profile
};

// A private key.  private_key_der is binary DER held in a std::string.
// The encodings are the "traditional" ones mbedTLS writes:
//   EC : RFC 5915 ECPrivateKey   ("-----BEGIN EC PRIVATE KEY-----")
//   RSA: PKCS#1 RSAPrivateKey    ("-----BEGIN RSA PRIVATE KEY-----")
// Use pkcs8_private_key_pem()/_der() for the PKCS#8 ("BEGIN PRIVATE KEY")
// form, and encrypt_private_key_pem_with_openssl() for an encrypted PKCS#8.
struct KeyPair {
  std::string private_key_pem;
  std::string private_key_der;
  KeyType type = KeyType::ecdsa_p256;
};

struct CertificateSpec {
  std::string common_name;                    // subject CN (omitted if empty)
  std::string organization = "sanstls test";  // subject O (omitted if empty)
  std::vector<std::string> dns_names;         // subjectAltName dNSName
  std::vector<std::string> ip_addresses;      // subjectAltName iPAddress, textual v4 or v6
  std::string not_before = "20200101000000";  // YYYYMMDDhhmmss, UTC
  std::string not_after = "20991231235959";   // YYYYMMDDhhmmss, UTC
  bool is_ca = false;
  int path_length = -1;                    // CA only; -1 = no pathLenConstraint
  KeyType key_type = KeyType::ecdsa_p256;  // type of the new subject key
  bool server_auth = true;                 // extendedKeyUsage (non-CA only;
  bool client_auth = true;                 //  omitted if both are false)
  // Signs with SHA-1 (ecdsa-with-SHA1 / sha1WithRSAEncryption) instead of
  // the issuer key's default hash, which the default profile refuses.
  bool sha1_signature = false;
  // An issued leaf's keyUsage: keyEncipherment only, without
  // digitalSignature (a key that may not sign handshakes).
  bool key_encipherment_only = false;
};

// A certificate revocation list (Pki::crl).
struct CrlSpec {
  std::string this_update = "20200101000000";  // YYYYMMDDhhmmss, UTC
  std::string next_update = "20991231235959";  // YYYYMMDDhhmmss, UTC
};

// Profile of the generated certificates (X.509 v3):
//   * basicConstraints (critical): CA:TRUE[, pathlen] or CA:FALSE
//   * keyUsage: CA -> keyCertSign|cRLSign|digitalSignature;
//               issued leaf -> digitalSignature (+keyEncipherment for RSA);
//               self-signed leaf -> omitted (so that OpenSSL, mbedTLS etc.
//               accept it as its own trust anchor)
//   * extendedKeyUsage per server_auth/client_auth (non-CA only)
//   * subjectAltName if dns_names/ip_addresses are non-empty
//   * subjectKeyIdentifier = first 160 bits of SHA-256(subjectPublicKey)
//     (RFC 7093 method 1), authorityKeyIdentifier = issuer's SKI
//   * positive 128-bit serial number from the deterministic generator
struct Identity {
  std::string certificate_pem;
  std::string certificate_der;  // binary DER
  KeyPair key;
  // Subject DN in one-line form as printed by mbedTLS, e.g.
  // "CN=example.com, O=sanstls test".
  std::string subject;
};

class Pki {
 public:
  explicit Pki(std::uint64_t seed = 1);

  // A self-signed certificate: a root CA when spec.is_ca, otherwise a
  // self-signed end-entity certificate.
  std::optional<Identity> self_signed(const CertificateSpec& spec);

  // A certificate for a fresh key of spec.key_type, signed by `issuer`
  // (issuer.certificate_der and issuer.key must be set).  The issuer is not
  // required to be a CA, so that invalid chains can be built on purpose.
  std::optional<Identity> issue(const Identity& issuer, const CertificateSpec& spec);

  // A v2 CRL ("-----BEGIN X509 CRL-----" PEM) issued by `issuer` (its
  // subject as the CRL issuer, signed with its key over SHA-256) that lists
  // the serial numbers of the `revoked` certificates (null entries are
  // skipped; an empty list makes a CRL that revokes nothing). Each revocation
  // date is this_update. The revoked certificates need not be issued by
  // `issuer`, so that mismatched CRLs can be made on purpose.
  std::optional<std::string> crl(const Identity& issuer,
                                 const std::vector<const Identity*>& revoked,
                                 const CrlSpec& spec = CrlSpec());

  // Next key of the given type from this Pki's deterministic sequence.
  std::optional<KeyPair> generate_key(KeyType type);

  // Message describing the most recent failure ("" after a success).
  const std::string& last_error() const { return last_error_; }

  std::uint64_t seed() const { return seed_; }

 private:
  std::optional<Identity> make_certificate(const Identity* issuer, const CertificateSpec& spec);

  std::uint64_t seed_;
  std::uint64_t key_counters_[4] = {0, 0, 0, 0};  // per KeyType
  std::uint64_t cert_counter_ = 0;
  std::string last_error_;
};

// Concatenation of the certificate PEMs in the given order (null entries
// are skipped), e.g. chain_pem({&leaf, &intermediate}).
std::string chain_pem(std::initializer_list<const Identity*> identities);

// PKCS#8 PrivateKeyInfo ("-----BEGIN PRIVATE KEY-----") form of `key`.
// Empty optional if `key` cannot be parsed.
std::optional<std::string> pkcs8_private_key_der(const KeyPair& key);
std::optional<std::string> pkcs8_private_key_pem(const KeyPair& key);

// Encrypts a PEM private key into an encrypted PKCS#8 PEM
// ("-----BEGIN ENCRYPTED PRIVATE KEY-----", PBES2/PBKDF2-HMAC-SHA256,
// AES-256-CBC) by running `openssl pkcs8 -topk8 -v2 aes-256-cbc` from PATH
// (the environment variable OPENSSL overrides the binary).  Temporary files
// live in a private mkdtemp() directory that is removed afterwards; the
// passphrase is passed through a file, never on the command line.  The
// passphrase must be non-empty and contain no NUL/CR/LF.  POSIX only.  On
// failure returns an empty optional and, if `error` is non-null, stores a
// message there.
std::optional<std::string> encrypt_private_key_pem_with_openssl(const std::string& key_pem,
                                                                const std::string& passphrase,
                                                                std::string* error = nullptr);

}  // namespace sanstls::testing

#endif  // SANSTLS_TESTING_PKI_H
