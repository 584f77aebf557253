#include "support/records.h"

#include <catch2/catch_test_macros.hpp>
#include <cstring>

#include "call_scope.h"
#include "mbedtls/gcm.h"
#include "mbedtls/ssl.h"  // mbedtls_ssl_tls_prf

namespace sanstls::test {

Bytes from_hex(const std::string& hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

Bytes take_output(Connection& conn) {
  const ByteView out = conn.pending_output();
  Bytes bytes(out.data(), out.data() + out.size());
  conn.consume_output(bytes.size());
  return bytes;
}

void feed_all(Connection& conn, const Bytes& bytes) {
  size_t used = 0;
  while (used < bytes.size()) {
    const size_t n = conn.feed(ByteView(bytes.data() + used, bytes.size() - used));
    if (n == 0) break;
    used += n;
  }
}

std::vector<Bytes> records_of(const Bytes& stream) {
  std::vector<Bytes> out;
  size_t at = 0;
  while (at + 5 <= stream.size()) {
    const size_t length = (size_t{stream[at + 3]} << 8) | stream[at + 4];
    const size_t end = at + 5 + length < stream.size() ? at + 5 + length : stream.size();
    out.emplace_back(stream.begin() + static_cast<std::ptrdiff_t>(at),
                     stream.begin() + static_cast<std::ptrdiff_t>(end));
    at = end;
  }
  return out;
}

Tls12Keys tls12_keys(const std::string& key_log_line, const uint8_t server_random[32]) {
  const std::string prefix = "CLIENT_RANDOM ";
  REQUIRE(key_log_line.size() == prefix.size() + 64 + 1 + 96);
  const Bytes client_random = from_hex(key_log_line.substr(prefix.size(), 64));
  const Bytes master = from_hex(key_log_line.substr(prefix.size() + 65));
  Bytes seed(server_random, server_random + 32);
  seed.insert(seed.end(), client_random.begin(), client_random.end());
  // GCM suites have no MAC keys: client key, server key, client salt, server salt.
  uint8_t block[16 + 16 + 4 + 4];
  detail::CallScope scope(nullptr, nullptr, nullptr);
  REQUIRE(mbedtls_ssl_tls_prf(MBEDTLS_SSL_TLS_PRF_SHA256, master.data(), master.size(),
                              "key expansion", seed.data(), seed.size(), block, sizeof block) == 0);
  Tls12Keys keys;
  std::memcpy(keys.client.key, block, 16);
  std::memcpy(keys.server.key, block + 16, 16);
  std::memcpy(keys.client.salt, block + 32, 4);
  std::memcpy(keys.server.salt, block + 36, 4);
  return keys;
}

namespace {

// RFC 5246 6.2.3.3: seq_num, type, version, length of the plaintext.
void additional_data(uint64_t seq, uint8_t type, size_t length, uint8_t out[13]) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(seq >> (56 - 8 * i));
  out[8] = type;
  out[9] = 3;
  out[10] = 3;
  out[11] = static_cast<uint8_t>(length >> 8);
  out[12] = static_cast<uint8_t>(length);
}

}  // namespace

Bytes tls12_open(Tls12GcmKeys& keys, const Bytes& record) {
  if (record.size() < 5 + 8 + 16) return {};
  const size_t n = record.size() - 5 - 8 - 16;
  uint8_t nonce[12];
  std::memcpy(nonce, keys.salt, 4);
  std::memcpy(nonce + 4, record.data() + 5, 8);  // explicit nonce
  uint8_t aad[13];
  additional_data(keys.seq++, record[0], n, aad);
  Bytes plaintext(n);
  detail::CallScope scope(nullptr, nullptr, nullptr);
  mbedtls_gcm_context gcm;
  mbedtls_gcm_init(&gcm);
  REQUIRE(mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, keys.key, 128) == 0);
  const int ret = mbedtls_gcm_auth_decrypt(&gcm, n, nonce, 12, aad, 13, record.data() + 5 + 8 + n,
                                           16, record.data() + 5 + 8, plaintext.data());
  mbedtls_gcm_free(&gcm);
  if (ret != 0) return {};
  return plaintext;
}

Bytes tls12_seal(Tls12GcmKeys& keys, uint8_t type, const Bytes& plaintext) {
  const uint64_t seq = keys.seq++;
  const size_t n = plaintext.size();
  Bytes record(5 + 8 + n + 16);
  record[0] = type;
  record[1] = 3;
  record[2] = 3;
  record[3] = static_cast<uint8_t>((8 + n + 16) >> 8);
  record[4] = static_cast<uint8_t>(8 + n + 16);
  for (int i = 0; i < 8; ++i) record[5 + i] = static_cast<uint8_t>(seq >> (56 - 8 * i));
  uint8_t nonce[12];
  std::memcpy(nonce, keys.salt, 4);
  std::memcpy(nonce + 4, record.data() + 5, 8);
  uint8_t aad[13];
  additional_data(seq, type, n, aad);
  detail::CallScope scope(nullptr, nullptr, nullptr);
  mbedtls_gcm_context gcm;
  mbedtls_gcm_init(&gcm);
  REQUIRE(mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, keys.key, 128) == 0);
  REQUIRE(mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, n, nonce, 12, aad, 13,
                                    plaintext.data(), record.data() + 5 + 8, 16,
                                    record.data() + 5 + 8 + n) == 0);
  mbedtls_gcm_free(&gcm);
  return record;
}

}  // namespace sanstls::test
