// sanstls::testing — run-time generation of X.509 test certificates and keys.
// See include/sanstls/testing/pki.h.  mbedTLS stays private to this file.
//
// mbedTLS features used: PK_C, PK_PARSE_C, PK_WRITE_C, PEM_WRITE_C,
// X509_CRT_WRITE_C, X509_CREATE_C, X509_CRT_PARSE_C, X509_CRL_PARSE_C (to check
// generated CRLs), ECP_C (+ECDSA), RSA_C, GENPRIME, HMAC_DRBG_C, MD (SHA-256;
// SHA-384 for P-384 issuers; SHA-1 only for CertificateSpec::sha1_signature),
// OID_C, ASN1 parse/write.  Deliberately not needed: FS_IO, ERROR_C, PSA APIs.

#include "sanstls/testing/pki.h"

#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/ecp.h>
#include <mbedtls/hmac_drbg.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>
#if defined(MBEDTLS_ERROR_C)
#include <mbedtls/error.h>
#endif

#include <arpa/inet.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <utility>
#include <vector>

#if defined(MBEDTLS_PK_USE_PSA_EC_DATA)
#error "sanstls testing PKI uses mbedtls_pk_ec(); build mbedTLS without MBEDTLS_USE_PSA_CRYPTO"
#endif

extern char** environ;

namespace sanstls::testing {
namespace {

// ---------------------------------------------------------------------------
// Small utilities

std::string mbedtls_failure(const char* what, int ret) {
  char buf[200];
  int neg = ret < 0 ? -ret : ret;
  std::snprintf(buf, sizeof buf, "%s failed: %s0x%04x", what, ret < 0 ? "-" : "", neg);
  std::string out = buf;
#if defined(MBEDTLS_ERROR_C)
  char text[160];
  mbedtls_strerror(ret, text, sizeof text);
  out += " (";
  out += text;
  out += ")";
#endif
  return out;
}

std::string to_string(const unsigned char* p, size_t n) {
  return std::string(reinterpret_cast<const char*>(p), n);
}

const unsigned char* bytes(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

int key_index(KeyType t) {
  switch (t) {
    case KeyType::ecdsa_p256:
      return 0;
    case KeyType::ecdsa_p384:
      return 1;
    case KeyType::rsa2048:
      return 2;
    case KeyType::rsa1024:
      return 3;
  }
  return -1;
}

bool is_rsa(KeyType t) { return t == KeyType::rsa2048 || t == KeyType::rsa1024; }

// RAII holders ---------------------------------------------------------------

struct Pk {
  mbedtls_pk_context ctx;
  Pk() { mbedtls_pk_init(&ctx); }
  ~Pk() { mbedtls_pk_free(&ctx); }
  Pk(const Pk&) = delete;
  Pk& operator=(const Pk&) = delete;
};

struct Crt {
  mbedtls_x509_crt ctx;
  Crt() { mbedtls_x509_crt_init(&ctx); }
  ~Crt() { mbedtls_x509_crt_free(&ctx); }
  Crt(const Crt&) = delete;
  Crt& operator=(const Crt&) = delete;
};

struct CrtWriter {
  mbedtls_x509write_cert ctx;
  CrtWriter() { mbedtls_x509write_crt_init(&ctx); }
  ~CrtWriter() { mbedtls_x509write_crt_free(&ctx); }
  CrtWriter(const CrtWriter&) = delete;
  CrtWriter& operator=(const CrtWriter&) = delete;
};

// Deterministic random generator: HMAC_DRBG(SHA-256) instantiated from a
// fixed label, the Pki seed and a (purpose, a, b) tuple.  No entropy source
// is attached, so it never reseeds and its output is a pure function of the
// instantiation data.
class Drbg {
 public:
  Drbg() { mbedtls_hmac_drbg_init(&ctx_); }
  ~Drbg() { mbedtls_hmac_drbg_free(&ctx_); }
  Drbg(const Drbg&) = delete;
  Drbg& operator=(const Drbg&) = delete;

  int seed(const char* purpose, std::uint64_t seed, std::uint64_t a, std::uint64_t b) {
    std::string material = "sanstls/testing/pki/v1/";
    material += purpose;
    material.push_back('\0');
    for (std::uint64_t v : {seed, a, b}) {
      for (int i = 7; i >= 0; --i) {
        material.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
      }
    }
    const mbedtls_md_info_t* md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (md == nullptr) {
      return MBEDTLS_ERR_MD_FEATURE_UNAVAILABLE;
    }
    return mbedtls_hmac_drbg_seed_buf(&ctx_, md, bytes(material), material.size());
  }

  int fill(unsigned char* out, size_t len) { return mbedtls_hmac_drbg_random(&ctx_, out, len); }

  static int rng(void* self, unsigned char* out, size_t len) {
    return mbedtls_hmac_drbg_random(&static_cast<Drbg*>(self)->ctx_, out, len);
  }

 private:
  mbedtls_hmac_drbg_context ctx_;
};

// ---------------------------------------------------------------------------
// Keys

// Process-wide cache: (seed, key type, index) -> private key DER.
std::mutex& key_cache_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::tuple<std::uint64_t, int, std::uint64_t>, std::string>& key_cache() {
  static std::map<std::tuple<std::uint64_t, int, std::uint64_t>, std::string> cache;
  return cache;
}

// Serialises `pk` into `out` (DER + PEM).
bool export_key(mbedtls_pk_context* pk, KeyType type, KeyPair* out, std::string* err) {
  unsigned char buf[8192];
  int ret = mbedtls_pk_write_key_der(pk, buf, sizeof buf);
  if (ret < 0) {
    *err = mbedtls_failure("mbedtls_pk_write_key_der", ret);
    return false;
  }
  out->private_key_der =
      to_string(buf + sizeof buf - static_cast<size_t>(ret), static_cast<size_t>(ret));
  ret = mbedtls_pk_write_key_pem(pk, buf, sizeof buf);
  if (ret != 0) {
    *err = mbedtls_failure("mbedtls_pk_write_key_pem", ret);
    return false;
  }
  out->private_key_pem = reinterpret_cast<const char*>(buf);
  out->type = type;
  return true;
}

bool generate_fresh_key(std::uint64_t seed, KeyType type, std::uint64_t index, KeyPair* out,
                        std::string* err) {
  Drbg drbg;
  int ret = drbg.seed("key", seed, static_cast<std::uint64_t>(key_index(type)), index);
  if (ret != 0) {
    *err = mbedtls_failure("mbedtls_hmac_drbg_seed_buf", ret);
    return false;
  }
  Pk pk;
  if (is_rsa(type)) {
    ret = mbedtls_pk_setup(&pk.ctx, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
    if (ret != 0) {
      *err = mbedtls_failure("mbedtls_pk_setup(RSA)", ret);
      return false;
    }
    const unsigned int bits = type == KeyType::rsa1024 ? 1024 : 2048;
    ret = mbedtls_rsa_gen_key(mbedtls_pk_rsa(pk.ctx), &Drbg::rng, &drbg, bits, 65537);
    if (ret != 0) {
      *err = mbedtls_failure("mbedtls_rsa_gen_key", ret);
      return false;
    }
  } else {
    ret = mbedtls_pk_setup(&pk.ctx, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
    if (ret != 0) {
      *err = mbedtls_failure("mbedtls_pk_setup(ECKEY)", ret);
      return false;
    }
    mbedtls_ecp_group_id grp =
        type == KeyType::ecdsa_p384 ? MBEDTLS_ECP_DP_SECP384R1 : MBEDTLS_ECP_DP_SECP256R1;
    ret = mbedtls_ecp_gen_key(grp, mbedtls_pk_ec(pk.ctx), &Drbg::rng, &drbg);
    if (ret != 0) {
      *err = mbedtls_failure("mbedtls_ecp_gen_key", ret);
      return false;
    }
  }
  return export_key(&pk.ctx, type, out, err);
}

bool get_key(std::uint64_t seed, KeyType type, std::uint64_t index, KeyPair* out,
             std::string* err) {
  const auto cache_key = std::make_tuple(seed, key_index(type), index);
  {
    std::lock_guard<std::mutex> lock(key_cache_mutex());
    auto it = key_cache().find(cache_key);
    if (it != key_cache().end()) {
      *out = KeyPair{};
      // Re-derive the PEM from the cached DER (cheap) via a parse/write.
      Pk pk;
      Drbg drbg;
      int ret = drbg.seed("parse", seed, 0, 0);
      if (ret == 0) {
        ret = mbedtls_pk_parse_key(&pk.ctx, bytes(it->second), it->second.size(), nullptr, 0,
                                   &Drbg::rng, &drbg);
      }
      if (ret != 0) {
        *err = mbedtls_failure("mbedtls_pk_parse_key(cached key)", ret);
        return false;
      }
      return export_key(&pk.ctx, type, out, err);
    }
  }
  if (!generate_fresh_key(seed, type, index, out, err)) {
    return false;
  }
  std::lock_guard<std::mutex> lock(key_cache_mutex());
  key_cache().emplace(cache_key, out->private_key_der);
  return true;
}

bool load_key(const KeyPair& key, Pk* pk, Drbg* drbg, std::string* err) {
  if (key.private_key_der.empty()) {
    *err = "issuer private key is empty";
    return false;
  }
  int ret = mbedtls_pk_parse_key(&pk->ctx, bytes(key.private_key_der), key.private_key_der.size(),
                                 nullptr, 0, &Drbg::rng, drbg);
  if (ret != 0) {
    *err = mbedtls_failure("mbedtls_pk_parse_key", ret);
    return false;
  }
  return true;
}

// Key identifier: first 160 bits of SHA-256 over the subjectPublicKey BIT
// STRING contents (RFC 7093 section 2, method 1).  Independent of SHA-1.
bool key_identifier(mbedtls_pk_context* pk, unsigned char id[20], std::string* err) {
  unsigned char buf[2048];
  unsigned char* p = buf + sizeof buf;
  int len = mbedtls_pk_write_pubkey(&p, buf, pk);
  if (len < 0) {
    *err = mbedtls_failure("mbedtls_pk_write_pubkey", len);
    return false;
  }
  unsigned char digest[32];
  int ret =
      mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), p, static_cast<size_t>(len), digest);
  if (ret != 0) {
    *err = mbedtls_failure("mbedtls_md(SHA-256)", ret);
    return false;
  }
  std::memcpy(id, digest, 20);
  return true;
}

// ---------------------------------------------------------------------------
// Names

// Escapes an attribute value for mbedtls_x509_string_to_names().  Special
// characters are written as \XX hex pairs, which sidesteps that parser's
// "is the preceding character a backslash" separator check.
std::string escape_dn_value(const std::string& v) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    bool special = std::strchr(",=+<>#;\"\\", c) != nullptr || c < 0x20 ||
                   (c == ' ' && (i == 0 || i + 1 == v.size()));
    if (special && c != 0) {
      out.push_back('\\');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

bool subject_name_string(const CertificateSpec& spec, std::string* out, std::string* err) {
  for (const std::string* s : {&spec.common_name, &spec.organization}) {
    if (s->find('\0') != std::string::npos) {
      *err = "subject attribute contains a NUL byte";
      return false;
    }
  }
  // Written in this order, the DER RDN sequence is CN then O, and mbedTLS
  // prints it as "CN=..., O=...".
  out->clear();
  if (!spec.common_name.empty()) {
    *out += "CN=" + escape_dn_value(spec.common_name);
  }
  if (!spec.organization.empty()) {
    if (!out->empty()) {
      *out += ",";
    }
    *out += "O=" + escape_dn_value(spec.organization);
  }
  if (out->empty()) {
    *err = "certificate subject is empty: set common_name and/or organization";
    return false;
  }
  return true;
}

// Rebuilds a parsed DN as a string for mbedtls_x509write_crt_set_issuer_name()
// using "numeric-oid=#hex(DER)" for every attribute, so that the attribute
// types, string tags and bytes are reproduced exactly.
bool name_to_exact_string(const mbedtls_x509_name* name, std::string* out, std::string* err) {
  static const char hex[] = "0123456789ABCDEF";
  out->clear();
  for (const mbedtls_x509_name* n = name; n != nullptr; n = n->next) {
    if (n->oid.p == nullptr) {
      continue;
    }
    char oid[128];
    int olen = mbedtls_oid_get_numeric_string(oid, sizeof oid, &n->oid);
    if (olen < 0) {
      *err = mbedtls_failure("mbedtls_oid_get_numeric_string", olen);
      return false;
    }
    unsigned char hdr[8];
    unsigned char* p = hdr + sizeof hdr;
    int hlen = mbedtls_asn1_write_len(&p, hdr, n->val.len);
    if (hlen < 0) {
      *err = mbedtls_failure("mbedtls_asn1_write_len", hlen);
      return false;
    }
    if (!out->empty()) {
      *out += ",";
    }
    *out += std::string(oid, static_cast<size_t>(olen));
    *out += "=#";
    auto put = [&](unsigned char c) {
      out->push_back(hex[c >> 4]);
      out->push_back(hex[c & 15]);
    };
    put(static_cast<unsigned char>(n->val.tag));
    for (int i = 0; i < hlen; ++i) {
      put(p[i]);
    }
    for (size_t i = 0; i < n->val.len; ++i) {
      put(n->val.p[i]);
    }
  }
  if (out->empty()) {
    *err = "issuer certificate has an empty subject";
    return false;
  }
  return true;
}

bool valid_time(const std::string& t) {
  if (t.size() != 14) {
    return false;
  }
  for (char c : t) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

std::string der_to_pem(const std::string& der, const char* label, std::string* err) {
  std::string header = std::string("-----BEGIN ") + label + "-----\n";
  std::string footer = std::string("-----END ") + label + "-----\n";
  std::string buf(der.size() * 2 + 256, '\0');
  size_t olen = 0;
  int ret = mbedtls_pem_write_buffer(header.c_str(), footer.c_str(), bytes(der), der.size(),
                                     reinterpret_cast<unsigned char*>(&buf[0]), buf.size(), &olen);
  if (ret != 0) {
    *err = mbedtls_failure("mbedtls_pem_write_buffer", ret);
    return std::string();
  }
  // olen includes the terminating NUL.
  buf.resize(olen > 0 ? olen - 1 : 0);
  return buf;
}

// Minimal DER TLV helper for the PKCS#8 wrapper and the CRL.
std::string der_tlv(unsigned char tag, const std::string& content) {
  std::string out(1, static_cast<char>(tag));
  size_t n = content.size();
  if (n < 0x80) {
    out.push_back(static_cast<char>(n));
  } else {
    std::string len;
    while (n > 0) {
      len.insert(len.begin(), static_cast<char>(n & 0xff));
      n >>= 8;
    }
    out.push_back(static_cast<char>(0x80 | len.size()));
    out += len;
  }
  return out + content;
}

// RFC 5280 Time for a YYYYMMDDhhmmss string: UTCTime through 2049,
// GeneralizedTime from 2050.
std::string der_time(const std::string& t) {
  if (t.compare(0, 4, "2050") < 0) {
    return der_tlv(MBEDTLS_ASN1_UTC_TIME, t.substr(2) + "Z");
  }
  return der_tlv(MBEDTLS_ASN1_GENERALIZED_TIME, t + "Z");
}

}  // namespace

// ---------------------------------------------------------------------------
// Pki

Pki::Pki(std::uint64_t seed) : seed_(seed) {}

// mbedTLS has no CRL writer: the DER is assembled here.
//   CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
//   TBSCertList ::= SEQUENCE { version INTEGER (1), signature AlgorithmIdentifier, issuer Name,
//       thisUpdate Time, nextUpdate Time,
//       revokedCertificates SEQUENCE OF SEQUENCE { userCertificate INTEGER, revocationDate Time }
//       OPTIONAL }
std::optional<std::string> Pki::crl(const Identity& issuer,
                                    const std::vector<const Identity*>& revoked,
                                    const CrlSpec& spec) {
  last_error_.clear();
  std::string* err = &last_error_;
  auto fail = [&](std::string msg) -> std::optional<std::string> {
    last_error_ = std::move(msg);
    return std::nullopt;
  };
  if (!valid_time(spec.this_update) || !valid_time(spec.next_update)) {
    return fail("this_update/next_update must be YYYYMMDDhhmmss (14 digits, UTC)");
  }
  Crt issuer_crt;
  int ret = mbedtls_x509_crt_parse_der(&issuer_crt.ctx, bytes(issuer.certificate_der),
                                       issuer.certificate_der.size());
  if (ret != 0) {
    return fail(mbedtls_failure("mbedtls_x509_crt_parse_der(issuer)", ret));
  }
  Drbg drbg;
  ret = drbg.seed("crl", seed_, 0, 0);
  if (ret != 0) {
    return fail(mbedtls_failure("mbedtls_hmac_drbg_seed_buf", ret));
  }
  Pk issuer_pk;
  if (!load_key(issuer.key, &issuer_pk, &drbg, err)) {
    return std::nullopt;
  }
  const mbedtls_pk_type_t pk_alg =
      mbedtls_pk_can_do(&issuer_pk.ctx, MBEDTLS_PK_RSA) ? MBEDTLS_PK_RSA : MBEDTLS_PK_ECDSA;
  const char* oid = nullptr;
  size_t oid_len = 0;
  ret = mbedtls_oid_get_oid_by_sig_alg(pk_alg, MBEDTLS_MD_SHA256, &oid, &oid_len);
  if (ret != 0) {
    return fail(mbedtls_failure("mbedtls_oid_get_oid_by_sig_alg", ret));
  }
  // RSA signature algorithms carry NULL parameters, ECDSA ones none (RFC 5758).
  std::string algorithm = der_tlv(MBEDTLS_ASN1_OID, std::string(oid, oid_len));
  if (pk_alg == MBEDTLS_PK_RSA) {
    algorithm += std::string("\x05\x00", 2);
  }
  algorithm = der_tlv(MBEDTLS_ASN1_SEQUENCE | MBEDTLS_ASN1_CONSTRUCTED, algorithm);

  std::string entries;
  for (const Identity* id : revoked) {
    if (id == nullptr) {
      continue;
    }
    Crt crt;
    ret = mbedtls_x509_crt_parse_der(&crt.ctx, bytes(id->certificate_der),
                                     id->certificate_der.size());
    if (ret != 0) {
      return fail(mbedtls_failure("mbedtls_x509_crt_parse_der(revoked certificate)", ret));
    }
    entries +=
        der_tlv(MBEDTLS_ASN1_SEQUENCE | MBEDTLS_ASN1_CONSTRUCTED,
                der_tlv(MBEDTLS_ASN1_INTEGER, to_string(crt.ctx.serial.p, crt.ctx.serial.len)) +
                    der_time(spec.this_update));
  }
  std::string tbs = std::string("\x02\x01\x01", 3) + algorithm +
                    to_string(issuer_crt.ctx.subject_raw.p, issuer_crt.ctx.subject_raw.len) +
                    der_time(spec.this_update) + der_time(spec.next_update);
  if (!entries.empty()) {
    tbs += der_tlv(MBEDTLS_ASN1_SEQUENCE | MBEDTLS_ASN1_CONSTRUCTED, entries);
  }
  tbs = der_tlv(MBEDTLS_ASN1_SEQUENCE | MBEDTLS_ASN1_CONSTRUCTED, tbs);

  unsigned char digest[32];
  ret = mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), bytes(tbs), tbs.size(), digest);
  if (ret != 0) {
    return fail(mbedtls_failure("mbedtls_md(SHA-256)", ret));
  }
  unsigned char signature[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
  size_t signature_len = 0;
  ret = mbedtls_pk_sign(&issuer_pk.ctx, MBEDTLS_MD_SHA256, digest, sizeof digest, signature,
                        sizeof signature, &signature_len, &Drbg::rng, &drbg);
  if (ret != 0) {
    return fail(mbedtls_failure("mbedtls_pk_sign", ret));
  }
  std::string der =
      der_tlv(MBEDTLS_ASN1_SEQUENCE | MBEDTLS_ASN1_CONSTRUCTED,
              tbs + algorithm +
                  der_tlv(MBEDTLS_ASN1_BIT_STRING,
                          std::string(1, '\0') + to_string(signature, signature_len)));

  // Round-trip through the parser as a sanity check.
  mbedtls_x509_crl parsed;
  mbedtls_x509_crl_init(&parsed);
  ret = mbedtls_x509_crl_parse_der(&parsed, bytes(der), der.size());
  mbedtls_x509_crl_free(&parsed);
  if (ret != 0) {
    return fail(mbedtls_failure("mbedtls_x509_crl_parse_der(generated CRL)", ret));
  }
  std::string pem = der_to_pem(der, "X509 CRL", err);
  if (pem.empty()) {
    return std::nullopt;
  }
  return pem;
}

std::optional<KeyPair> Pki::generate_key(KeyType type) {
  last_error_.clear();
  int idx = key_index(type);
  if (idx < 0) {
    last_error_ = "unknown KeyType";
    return std::nullopt;
  }
  KeyPair kp;
  if (!get_key(seed_, type, key_counters_[idx]++, &kp, &last_error_)) {
    return std::nullopt;
  }
  return kp;
}

std::optional<Identity> Pki::self_signed(const CertificateSpec& spec) {
  return make_certificate(nullptr, spec);
}

std::optional<Identity> Pki::issue(const Identity& issuer, const CertificateSpec& spec) {
  return make_certificate(&issuer, spec);
}

std::optional<Identity> Pki::make_certificate(const Identity* issuer, const CertificateSpec& spec) {
  last_error_.clear();
  std::string* err = &last_error_;
  auto fail = [&](std::string msg) -> std::optional<Identity> {
    last_error_ = std::move(msg);
    return std::nullopt;
  };

  // --- validate the spec before consuming any counters -------------------
  if (!valid_time(spec.not_before) || !valid_time(spec.not_after)) {
    return fail("not_before/not_after must be YYYYMMDDhhmmss (14 digits, UTC)");
  }
  if (spec.path_length < -1 || spec.path_length > 127) {
    return fail("path_length must be in [-1, 127]");
  }
  std::string subject_name;
  if (!subject_name_string(spec, &subject_name, err)) {
    return std::nullopt;
  }
  std::vector<std::string> ip_bytes;
  for (const std::string& ip : spec.ip_addresses) {
    unsigned char b[16];
    if (inet_pton(AF_INET, ip.c_str(), b) == 1) {
      ip_bytes.push_back(to_string(b, 4));
    } else if (inet_pton(AF_INET6, ip.c_str(), b) == 1) {
      ip_bytes.push_back(to_string(b, 16));
    } else {
      return fail("invalid IP address in ip_addresses: '" + ip + "'");
    }
  }
  for (const std::string& dns : spec.dns_names) {
    if (dns.empty()) {
      return fail("empty entry in dns_names");
    }
  }

  // --- issuer material ----------------------------------------------------
  const std::uint64_t cert_index = cert_counter_++;
  Drbg drbg;
  int ret = drbg.seed("certificate", seed_, cert_index, 0);
  if (ret != 0) {
    return fail(mbedtls_failure("mbedtls_hmac_drbg_seed_buf", ret));
  }

  Pk issuer_pk;
  Crt issuer_crt;
  std::string issuer_name;
  KeyType issuer_type = spec.key_type;
  if (issuer != nullptr) {
    if (issuer->certificate_der.empty()) {
      return fail("issuer.certificate_der is empty");
    }
    ret = mbedtls_x509_crt_parse_der(&issuer_crt.ctx, bytes(issuer->certificate_der),
                                     issuer->certificate_der.size());
    if (ret != 0) {
      return fail(mbedtls_failure("mbedtls_x509_crt_parse_der(issuer)", ret));
    }
    if (!name_to_exact_string(&issuer_crt.ctx.subject, &issuer_name, err)) {
      return std::nullopt;
    }
    if (!load_key(issuer->key, &issuer_pk, &drbg, err)) {
      return std::nullopt;
    }
    issuer_type = issuer->key.type;
  }

  // --- subject key ----------------------------------------------------------
  std::optional<KeyPair> subject_key = generate_key(spec.key_type);
  if (!subject_key) {
    return std::nullopt;
  }
  Pk subject_pk;
  if (!load_key(*subject_key, &subject_pk, &drbg, err)) {
    return std::nullopt;
  }
  mbedtls_pk_context* signer = issuer != nullptr ? &issuer_pk.ctx : &subject_pk.ctx;
  if (issuer == nullptr) {
    issuer_name = subject_name;
  }

  // --- build the certificate ------------------------------------------------
  CrtWriter w;
  mbedtls_x509write_crt_set_version(&w.ctx, MBEDTLS_X509_CRT_VERSION_3);
  mbedtls_md_type_t md = issuer_type == KeyType::ecdsa_p384 ? MBEDTLS_MD_SHA384 : MBEDTLS_MD_SHA256;
  if (spec.sha1_signature) {
    md = MBEDTLS_MD_SHA1;
  }
  mbedtls_x509write_crt_set_md_alg(&w.ctx, md);
  mbedtls_x509write_crt_set_subject_key(&w.ctx, &subject_pk.ctx);
  mbedtls_x509write_crt_set_issuer_key(&w.ctx, signer);

  unsigned char serial[16];
  ret = drbg.fill(serial, sizeof serial);
  if (ret != 0) {
    return fail(mbedtls_failure("mbedtls_hmac_drbg_random", ret));
  }
  serial[0] = static_cast<unsigned char>((serial[0] & 0x7f) | 0x40);  // positive, no leading zero
  if ((ret = mbedtls_x509write_crt_set_serial_raw(&w.ctx, serial, sizeof serial)) != 0) {
    return fail(mbedtls_failure("mbedtls_x509write_crt_set_serial_raw", ret));
  }
  if ((ret = mbedtls_x509write_crt_set_validity(&w.ctx, spec.not_before.c_str(),
                                                spec.not_after.c_str())) != 0) {
    return fail(mbedtls_failure("mbedtls_x509write_crt_set_validity", ret));
  }
  if ((ret = mbedtls_x509write_crt_set_subject_name(&w.ctx, subject_name.c_str())) != 0) {
    return fail(mbedtls_failure("mbedtls_x509write_crt_set_subject_name", ret));
  }
  if ((ret = mbedtls_x509write_crt_set_issuer_name(&w.ctx, issuer_name.c_str())) != 0) {
    return fail(mbedtls_failure("mbedtls_x509write_crt_set_issuer_name", ret));
  }
  if ((ret = mbedtls_x509write_crt_set_basic_constraints(&w.ctx, spec.is_ca ? 1 : 0,
                                                         spec.path_length)) != 0) {
    return fail(mbedtls_failure("mbedtls_x509write_crt_set_basic_constraints", ret));
  }

  // Key identifiers (computed here so SHA-1 is not required).
  unsigned char skid[20];
  if (!key_identifier(&subject_pk.ctx, skid, err)) {
    return std::nullopt;
  }
  {
    std::string v = der_tlv(MBEDTLS_ASN1_OCTET_STRING, to_string(skid, sizeof skid));
    ret = mbedtls_x509write_crt_set_extension(&w.ctx, MBEDTLS_OID_SUBJECT_KEY_IDENTIFIER,
                                              MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_KEY_IDENTIFIER),
                                              0, bytes(v), v.size());
    if (ret != 0) {
      return fail(mbedtls_failure("set subjectKeyIdentifier", ret));
    }
  }
  {
    std::string akid;
    if (issuer != nullptr && issuer_crt.ctx.subject_key_id.p != nullptr &&
        issuer_crt.ctx.subject_key_id.len > 0) {
      akid = to_string(issuer_crt.ctx.subject_key_id.p, issuer_crt.ctx.subject_key_id.len);
    } else {
      unsigned char id[20];
      if (!key_identifier(signer, id, err)) {
        return std::nullopt;
      }
      akid = to_string(id, sizeof id);
    }
    std::string v = der_tlv(MBEDTLS_ASN1_SEQUENCE | MBEDTLS_ASN1_CONSTRUCTED,
                            der_tlv(MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0, akid));
    ret = mbedtls_x509write_crt_set_extension(
        &w.ctx, MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER,
        MBEDTLS_OID_SIZE(MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER), 0, bytes(v), v.size());
    if (ret != 0) {
      return fail(mbedtls_failure("set authorityKeyIdentifier", ret));
    }
  }

  // keyUsage.
  unsigned int key_usage = 0;
  if (spec.is_ca) {
    key_usage = MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN |
                MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
  } else if (issuer != nullptr) {
    key_usage = MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
    if (is_rsa(spec.key_type)) {
      key_usage |= MBEDTLS_X509_KU_KEY_ENCIPHERMENT;
    }
    if (spec.key_encipherment_only) key_usage = MBEDTLS_X509_KU_KEY_ENCIPHERMENT;
  }
  if (key_usage != 0 && (ret = mbedtls_x509write_crt_set_key_usage(&w.ctx, key_usage)) != 0) {
    return fail(mbedtls_failure("mbedtls_x509write_crt_set_key_usage", ret));
  }

  // extendedKeyUsage, non-critical as is customary for TLS certificates
  // (mbedtls_x509write_crt_set_ext_key_usage() would mark it critical).
  if (!spec.is_ca && (spec.server_auth || spec.client_auth)) {
    std::string oids;
    if (spec.server_auth) {
      oids += der_tlv(MBEDTLS_ASN1_OID, std::string(MBEDTLS_OID_SERVER_AUTH,
                                                    MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)));
    }
    if (spec.client_auth) {
      oids += der_tlv(MBEDTLS_ASN1_OID, std::string(MBEDTLS_OID_CLIENT_AUTH,
                                                    MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)));
    }
    std::string v = der_tlv(MBEDTLS_ASN1_SEQUENCE | MBEDTLS_ASN1_CONSTRUCTED, oids);
    ret = mbedtls_x509write_crt_set_extension(&w.ctx, MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                              MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0,
                                              bytes(v), v.size());
    if (ret != 0) {
      return fail(mbedtls_failure("set extendedKeyUsage", ret));
    }
  }

  // subjectAltName.
  if (!spec.dns_names.empty() || !ip_bytes.empty()) {
    std::vector<mbedtls_x509_san_list> sans(spec.dns_names.size() + ip_bytes.size());
    size_t i = 0;
    auto add = [&](int type, const std::string& value) {
      std::memset(&sans[i], 0, sizeof sans[i]);
      sans[i].node.type = type;
      sans[i].node.san.unstructured_name.p =
          reinterpret_cast<unsigned char*>(const_cast<char*>(value.data()));
      sans[i].node.san.unstructured_name.len = value.size();
      // mbedTLS encodes the list back to front, so link it in reverse to
      // get the spec's order (DNS names first) in the certificate.
      sans[i].next = i > 0 ? &sans[i - 1] : nullptr;
      ++i;
    };
    for (const std::string& dns : spec.dns_names) {
      add(MBEDTLS_X509_SAN_DNS_NAME, dns);
    }
    for (const std::string& ip : ip_bytes) {
      add(MBEDTLS_X509_SAN_IP_ADDRESS, ip);
    }
    if ((ret = mbedtls_x509write_crt_set_subject_alternative_name(&w.ctx, &sans.back())) != 0) {
      return fail(mbedtls_failure("mbedtls_x509write_crt_set_subject_alternative_name", ret));
    }
  }

  // --- sign once, derive PEM from the same DER ---------------------------------
  std::vector<unsigned char> out(16384);
  ret = mbedtls_x509write_crt_der(&w.ctx, out.data(), out.size(), &Drbg::rng, &drbg);
  if (ret < 0) {
    return fail(mbedtls_failure("mbedtls_x509write_crt_der", ret));
  }
  Identity id;
  id.certificate_der =
      to_string(out.data() + out.size() - static_cast<size_t>(ret), static_cast<size_t>(ret));
  id.certificate_pem = der_to_pem(id.certificate_der, "CERTIFICATE", err);
  if (id.certificate_pem.empty()) {
    return std::nullopt;
  }
  id.key = std::move(*subject_key);

  // Round-trip through the parser: sanity check and the printable subject.
  Crt parsed;
  ret =
      mbedtls_x509_crt_parse_der(&parsed.ctx, bytes(id.certificate_der), id.certificate_der.size());
  if (ret != 0) {
    return fail(mbedtls_failure("mbedtls_x509_crt_parse_der(generated certificate)", ret));
  }
  char dn[1024];
  ret = mbedtls_x509_dn_gets(dn, sizeof dn, &parsed.ctx.subject);
  if (ret < 0) {
    return fail(mbedtls_failure("mbedtls_x509_dn_gets", ret));
  }
  id.subject = dn;
  return id;
}

// ---------------------------------------------------------------------------
// Free functions

std::string chain_pem(std::initializer_list<const Identity*> identities) {
  std::string out;
  for (const Identity* id : identities) {
    if (id != nullptr) {
      out += id->certificate_pem;
    }
  }
  return out;
}

std::optional<std::string> pkcs8_private_key_der(const KeyPair& key) {
  if (key.private_key_der.empty()) {
    return std::nullopt;
  }
  std::string algorithm;
  switch (key.type) {
    case KeyType::rsa2048:
    case KeyType::rsa1024:
      // rsaEncryption, NULL
      algorithm = std::string("\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00", 13);
      break;
    case KeyType::ecdsa_p256:
      // id-ecPublicKey, prime256v1
      algorithm = std::string(
          "\x06\x07\x2a\x86\x48\xce\x3d\x02\x01"
          "\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07",
          19);
      break;
    case KeyType::ecdsa_p384:
      // id-ecPublicKey, secp384r1
      algorithm = std::string(
          "\x06\x07\x2a\x86\x48\xce\x3d\x02\x01"
          "\x06\x05\x2b\x81\x04\x00\x22",
          16);
      break;
  }
  if (algorithm.empty()) {
    return std::nullopt;
  }
  std::string body = std::string("\x02\x01\x00", 3) +
                     der_tlv(MBEDTLS_ASN1_SEQUENCE | MBEDTLS_ASN1_CONSTRUCTED, algorithm) +
                     der_tlv(MBEDTLS_ASN1_OCTET_STRING, key.private_key_der);
  return der_tlv(MBEDTLS_ASN1_SEQUENCE | MBEDTLS_ASN1_CONSTRUCTED, body);
}

std::optional<std::string> pkcs8_private_key_pem(const KeyPair& key) {
  std::optional<std::string> der = pkcs8_private_key_der(key);
  if (!der) {
    return std::nullopt;
  }
  std::string err;
  std::string pem = der_to_pem(*der, "PRIVATE KEY", &err);
  if (pem.empty()) {
    return std::nullopt;
  }
  return pem;
}

namespace {

bool write_file(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return false;
  }
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      ::close(fd);
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return ::close(fd) == 0;
}

bool read_file(const std::string& path, std::string* out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return false;
  }
  out->clear();
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    out->append(buf, n);
  }
  bool ok = std::ferror(f) == 0;
  std::fclose(f);
  return ok;
}

}  // namespace

std::optional<std::string> encrypt_private_key_pem_with_openssl(const std::string& key_pem,
                                                                const std::string& passphrase,
                                                                std::string* error) {
  std::string local_error;
  std::string& err = error != nullptr ? *error : local_error;
  err.clear();
  if (passphrase.empty() ||
      passphrase.find_first_of(std::string("\0\r\n", 3)) != std::string::npos) {
    err = "passphrase must be non-empty and must not contain NUL, CR or LF";
    return std::nullopt;
  }
  if (key_pem.find("-----BEGIN") == std::string::npos) {
    err = "key_pem does not look like a PEM private key";
    return std::nullopt;
  }

  const char* tmp = std::getenv("TMPDIR");
  std::string dir_template =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/sanstls-pki-XXXXXX";
  std::vector<char> dir_buf(dir_template.begin(), dir_template.end());
  dir_buf.push_back('\0');
  if (::mkdtemp(dir_buf.data()) == nullptr) {
    err = std::string("mkdtemp failed: ") + std::strerror(errno);
    return std::nullopt;
  }
  const std::string dir = dir_buf.data();
  const std::string in_path = dir + "/key.pem";
  const std::string pass_path = dir + "/pass.txt";
  const std::string out_path = dir + "/encrypted.pem";
  const std::string log_path = dir + "/openssl.log";

  auto cleanup = [&]() {
    for (const std::string* p : {&in_path, &pass_path, &out_path, &log_path}) {
      ::unlink(p->c_str());
    }
    ::rmdir(dir.c_str());
  };

  if (!write_file(in_path, key_pem) || !write_file(pass_path, passphrase + "\n")) {
    err = std::string("cannot write temporary files: ") + std::strerror(errno);
    cleanup();
    return std::nullopt;
  }

  const char* openssl_env = std::getenv("OPENSSL");
  std::string openssl = openssl_env != nullptr && *openssl_env != '\0' ? openssl_env : "openssl";
  std::string passout = "file:" + pass_path;
  std::vector<std::string> args = {openssl, "pkcs8", "-topk8", "-v2",      "aes-256-cbc", "-in",
                                   in_path, "-out",  out_path, "-passout", passout};
  std::vector<char*> argv;
  for (std::string& a : args) {
    argv.push_back(&a[0]);
  }
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, openssl.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    err = "cannot run '" + openssl + "': " + std::strerror(rc);
    cleanup();
    return std::nullopt;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      err = std::string("waitpid failed: ") + std::strerror(errno);
      cleanup();
      return std::nullopt;
    }
  }
  std::string log;
  read_file(log_path, &log);
  while (!log.empty() && (log.back() == '\n' || log.back() == '\r' || log.back() == ' ')) {
    log.pop_back();
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    err = "'" + openssl + " pkcs8 -topk8' failed";
    if (WIFEXITED(status)) {
      err += " with exit status " + std::to_string(WEXITSTATUS(status));
    }
    if (!log.empty()) {
      err += ": " + log;
    }
    cleanup();
    return std::nullopt;
  }
  std::string result;
  bool ok = read_file(out_path, &result);
  cleanup();
  if (!ok || result.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") == std::string::npos) {
    err = "openssl produced no encrypted PEM key" + (log.empty() ? std::string() : ": " + log);
    return std::nullopt;
  }
  return result;
}

}  // namespace sanstls::testing
