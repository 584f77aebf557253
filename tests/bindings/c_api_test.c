/* The C API (bindings/c/include/sanstls.h) from plain C99, built with
 * -std=c99 -pedantic -Werror and linked once against libsanstls.so and once
 * against the bundled libsanstls.a.
 *
 *   c_api_test PKI_DIR      (PKI_DIR written by `sanstls pki --out PKI_DIR`)
 *
 * Every check is counted; the last line says how many passed and failed. */
#include <sanstls.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks_passed = 0;
static int checks_failed = 0;
static const char* pki_dir = ".";

#define CHECK(condition)                                                            \
  do {                                                                              \
    if (condition) {                                                                \
      ++checks_passed;                                                              \
    } else {                                                                        \
      ++checks_failed;                                                              \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
    }                                                                               \
  } while (0)

#define CHECK_STR(actual, expected)                                                          \
  do {                                                                                       \
    const char* a_ = (actual);                                                               \
    const char* e_ = (expected);                                                             \
    if (a_ && strcmp(a_, e_) == 0) {                                                         \
      ++checks_passed;                                                                       \
    } else {                                                                                 \
      ++checks_failed;                                                                       \
      fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #actual, \
              a_ ? a_ : "(null)", e_);                                                       \
    }                                                                                        \
  } while (0)

/* ---- fixtures ------------------------------------------------------------ */

typedef struct blob {
  uint8_t* data;
  size_t length;
} blob;

static blob pki_file(const char* name) {
  char path[1024];
  blob out = {NULL, 0};
  FILE* file;
  long size;
  snprintf(path, sizeof path, "%s/%s", pki_dir, name);
  file = fopen(path, "rb");
  if (!file) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(2);
  }
  fseek(file, 0, SEEK_END);
  size = ftell(file);
  fseek(file, 0, SEEK_SET);
  out.data = malloc((size_t)size + 1);
  if (!out.data || fread(out.data, 1, (size_t)size, file) != (size_t)size) exit(2);
  out.data[size] = 0;
  out.length = (size_t)size;
  fclose(file);
  return out;
}

static blob ca_pem, server_pem, server_key, client_pem, client_key, expired_pem, expired_key,
    other_pem, other_key, revoked_pem, revoked_key, revoked_crl, rsa_ca_pem, rsa_server_pem,
    rsa_server_key;

static void load_pki(void) {
  ca_pem = pki_file("ca.pem");
  server_pem = pki_file("server.pem");
  server_key = pki_file("server.key");
  client_pem = pki_file("client.pem");
  client_key = pki_file("client.key");
  expired_pem = pki_file("expired.pem");
  expired_key = pki_file("expired.key");
  other_pem = pki_file("other.pem");
  other_key = pki_file("other.key");
  revoked_pem = pki_file("revoked.pem");
  revoked_key = pki_file("revoked.key");
  revoked_crl = pki_file("revoked.crl");
  rsa_ca_pem = pki_file("ca-rsa.pem");
  rsa_server_pem = pki_file("server-rsa.pem");
  rsa_server_key = pki_file("server-rsa.key");
}

static void free_pki(void) {
  blob* all[] = {&ca_pem,      &server_pem,  &server_key, &client_pem,     &client_key,
                 &expired_pem, &expired_key, &other_pem,  &other_key,      &revoked_pem,
                 &revoked_key, &revoked_crl, &rsa_ca_pem, &rsa_server_pem, &rsa_server_key};
  size_t i;
  for (i = 0; i < sizeof all / sizeof all[0]; ++i) free(all[i]->data);
}

/* A controllable clock (for timers): starts at the real time of 2026. */
static int64_t fake_now_ms = 1780000000000LL;
static int64_t fake_clock(void* user_data) {
  (void)user_data;
  return fake_now_ms;
}

static int random_calls = 0;
static int failing_random(void* user_data, uint8_t* out, size_t length) {
  (void)user_data;
  (void)out;
  (void)length;
  ++random_calls;
  return 0;
}

static sanstls_config_builder* server_builder(blob chain, blob key) {
  sanstls_config_builder* b = NULL;
  CHECK(sanstls_config_builder_new(SANSTLS_ROLE_SERVER, &b) == SANSTLS_OK);
  CHECK(sanstls_config_builder_certificate(b, chain.data, chain.length, key.data, key.length,
                                           NULL) == SANSTLS_OK);
  return b;
}

static sanstls_config_builder* client_builder(void) {
  sanstls_config_builder* b = NULL;
  CHECK(sanstls_config_builder_new(SANSTLS_ROLE_CLIENT, &b) == SANSTLS_OK);
  CHECK(sanstls_config_builder_trust_anchors(b, ca_pem.data, ca_pem.length) == SANSTLS_OK);
  return b;
}

/* Builds and frees the builder; NULL (and a failed check) when build fails. */
static sanstls_config* build(sanstls_config_builder* b) {
  sanstls_config* config = NULL;
  sanstls_error error;
  if (sanstls_config_build(b, &config, &error) != SANSTLS_OK)
    fprintf(stderr, "build: %s %s\n", error.name, error.message);
  CHECK(config != NULL);
  CHECK(error.code == SANSTLS_OK);
  sanstls_config_builder_free(b);
  return config;
}

/* Expects build to fail with `name` at stage config. */
static void expect_build_error(sanstls_config_builder* b, sanstls_error_code code,
                               const char* name) {
  sanstls_config* config = (sanstls_config*)&config; /* must be reset to NULL */
  sanstls_error error;
  CHECK(sanstls_config_build(b, &config, &error) == code);
  CHECK(config == NULL);
  CHECK(error.code == code);
  CHECK_STR(error.name, name);
  CHECK(error.stage == SANSTLS_STAGE_CONFIG);
  CHECK_STR(error.stage_name, "config");
  CHECK(strlen(error.message) > 0);
  sanstls_config_builder_free(b);
}

/* Hands one side's pending ciphertext to the other. */
static size_t transfer(sanstls_connection* from, sanstls_connection* to) {
  size_t length = 0;
  const uint8_t* bytes = sanstls_connection_pending_output(from, &length);
  size_t taken = length ? sanstls_connection_feed(to, bytes, length) : 0;
  sanstls_connection_consume_output(from, taken);
  return taken;
}

/* Both ways until nothing moves (bounded). */
static void pump(sanstls_connection* a, sanstls_connection* b) {
  int rounds;
  for (rounds = 0; rounds < 100; ++rounds) {
    size_t moved = transfer(a, b);
    moved += transfer(b, a);
    if (moved == 0) return;
  }
  CHECK(!"pump did not settle in 100 rounds");
}

typedef struct pair {
  sanstls_connection* client;
  sanstls_connection* server;
} pair;

static pair connect_pair(const sanstls_config* client_config, const sanstls_config* server_config,
                         const char* name) {
  pair p = {NULL, NULL};
  CHECK(sanstls_connection_client(client_config, name, NULL, 0, &p.client, NULL) == SANSTLS_OK);
  CHECK(sanstls_connection_server(server_config, &p.server, NULL) == SANSTLS_OK);
  pump(p.client, p.server);
  return p;
}

static void free_pair(pair p) {
  sanstls_connection_free(p.client);
  sanstls_connection_free(p.server);
}

static int has_event(sanstls_connection* conn, sanstls_event_kind kind) {
  sanstls_event event;
  int found = 0;
  while (sanstls_connection_next_event(conn, &event)) {
    if (event.kind == kind) found = 1;
  }
  return found;
}

static void expect_connection_error(const sanstls_connection* conn, sanstls_error_code code,
                                    const char* name, sanstls_stage stage) {
  sanstls_error error;
  CHECK(sanstls_connection_error(conn, &error) == code);
  CHECK_STR(error.name, name);
  CHECK_STR(error.stage_name, sanstls_stage_name(stage));
  CHECK(strlen(error.message) > 0);
  CHECK((sanstls_connection_wants(conn) & SANSTLS_CLOSED) != 0);
}

/* ---- the version, names --------------------------------------------------- */

static void test_version_and_names(void) {
  CHECK_STR(sanstls_version(), SANSTLS_VERSION);
  CHECK_STR(sanstls_version(), SANSTLS_PROJECT_VERSION);
  CHECK(strncmp(sanstls_mbedtls_version(), "3.6.", 4) == 0);
  CHECK(SANSTLS_VERSION_NUMBER ==
        ((SANSTLS_VERSION_MAJOR << 16) | (SANSTLS_VERSION_MINOR << 8) | SANSTLS_VERSION_PATCH));
  CHECK_STR(sanstls_error_code_name(SANSTLS_OK), "OK");
  CHECK_STR(sanstls_error_code_name(SANSTLS_CERT_HAS_EXPIRED), "CERT_HAS_EXPIRED");
  CHECK_STR(sanstls_error_code_name(SANSTLS_ERR_INVALID_ARG_VALUE), "ERR_INVALID_ARG_VALUE");
  CHECK_STR(sanstls_error_code_name(SANSTLS_ENOTFOUND), "ENOTFOUND");
  CHECK_STR(sanstls_error_code_name(SANSTLS_ERR_TLS_INTERNAL), "ERR_TLS_INTERNAL");
  CHECK_STR(sanstls_error_code_name(SANSTLS_ERR_TLS_UNKNOWN), "ERR_TLS_UNKNOWN");
  CHECK_STR(sanstls_error_code_name((sanstls_error_code)12345), "ERR_TLS_UNKNOWN");
  CHECK_STR(sanstls_stage_name(SANSTLS_STAGE_CERTIFICATE), "certificate");
  CHECK_STR(sanstls_stage_name(SANSTLS_STAGE_PROXY), "proxy");
  CHECK_STR(sanstls_stage_name((sanstls_stage)99), "unknown");
  CHECK_STR(sanstls_alert_name(40), "handshake_failure");
  CHECK_STR(sanstls_alert_name(0), "close_notify");
  CHECK_STR(sanstls_alert_name(-1), "unknown");
  CHECK_STR(sanstls_alert_name(300), "unknown");
}

/* ---- misuse: NULL handles and pointers are named errors --------------------- */

static void test_null_arguments(void) {
  sanstls_config_builder* b = NULL;
  sanstls_config* config = NULL;
  sanstls_connection* conn = NULL;
  sanstls_error error;
  sanstls_info info;
  sanstls_event event;
  sanstls_certificate cert;
  const char* protocols[] = {"h2", NULL};
  uint8_t byte = 0;
  size_t length = 0;
  int64_t deadline = 0;

  CHECK(sanstls_config_builder_new(SANSTLS_ROLE_CLIENT, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_new((sanstls_role)7, &b) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(b == NULL);

  /* Every setter refuses a NULL builder. */
  CHECK(sanstls_config_builder_preset(NULL, SANSTLS_PRESET_MODERN) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_versions(NULL, SANSTLS_TLS1_2, SANSTLS_TLS1_3) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_cipher_suites(NULL, "x") == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_groups(NULL, "x") == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_signature_algorithms(NULL, "x") == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_certificate(NULL, &byte, 1, &byte, 1, NULL) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_trust_anchors(NULL, &byte, 1) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_system_trust_anchors(NULL, &error) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK_STR(error.name, "ERR_INVALID_ARG_VALUE");
  CHECK(strstr(error.message, "builder") != NULL);
  CHECK(sanstls_config_builder_crl(NULL, &byte, 1) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_peer_verification(NULL, SANSTLS_VERIFY_NONE) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_pin_public_key(NULL, "x") == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_alpn(NULL, protocols, 1) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_honor_cipher_order(NULL, 1) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_sni_context(NULL, "x", NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_strict_sni(NULL, 1) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_sni_selector(NULL, NULL, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_random(NULL, failing_random, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_clock(NULL, fake_clock, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_seeded_random(NULL, 1) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_psk(NULL, "id", &byte, 1) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_psk_lookup(NULL, NULL, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_psk_mode(NULL, SANSTLS_PSK_EITHER) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_session_tickets(NULL, 1, 60) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_session_cache(NULL, 10) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_renegotiation(NULL, 1) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_early_data(NULL, 1) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_handshake_timeout(NULL, 1) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_close_timeout(NULL, 1) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_max_send_fragment(NULL, 1) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_max_pending_output(NULL, 1) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_max_connection_memory(NULL, 1) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_key_log(NULL, NULL, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_trace(NULL, NULL, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);

  /* NULL pointer arguments on a real builder. */
  CHECK(sanstls_config_builder_new(SANSTLS_ROLE_SERVER, &b) == SANSTLS_OK);
  CHECK(b != NULL);
  CHECK(sanstls_config_builder_cipher_suites(b, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_groups(b, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_signature_algorithms(b, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_certificate(b, NULL, 1, &byte, 1, NULL) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_certificate(b, &byte, 1, NULL, 1, NULL) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_trust_anchors(b, NULL, 1) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_crl(b, NULL, 1) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_peer_verification(b, (sanstls_verification)9) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_pin_public_key(b, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_alpn(b, NULL, 2) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_alpn(b, protocols, 2) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_sni_context(b, NULL, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_sni_context(b, "x", NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_sni_selector(b, NULL, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_random(b, NULL, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_clock(b, NULL, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_psk(b, NULL, &byte, 1) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_psk(b, "id", NULL, 1) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_psk_lookup(b, NULL, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_psk_mode(b, (sanstls_psk_mode)9) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_key_log(b, NULL, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_trace(b, NULL, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_build(b, NULL, &error) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK_STR(error.name, "ERR_INVALID_ARG_VALUE");
  CHECK(sanstls_config_build(NULL, &config, &error) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(config == NULL);
  CHECK(error.stage == SANSTLS_STAGE_CONFIG);
  CHECK(error.alert == -1);
  CHECK(error.alert_direction == SANSTLS_ALERT_NONE);
  sanstls_config_builder_free(b);
  sanstls_config_builder_free(NULL); /* harmless */
  sanstls_config_free(NULL);
  CHECK(sanstls_config_memory_bytes(NULL) == 0);

  /* Connections. */
  CHECK(sanstls_connection_client(NULL, "x", NULL, 0, &conn, &error) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(conn == NULL);
  CHECK(strstr(error.message, "config") != NULL);
  CHECK(sanstls_connection_server(NULL, &conn, &error) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_connection_server(NULL, NULL, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_connection_feed(NULL, &byte, 1) == 0);
  CHECK(sanstls_connection_pending_output(NULL, &length) == NULL);
  CHECK(length == 0);
  sanstls_connection_consume_output(NULL, 1);
  CHECK(sanstls_connection_read(NULL, &byte, 1) == 0);
  CHECK(sanstls_connection_write(NULL, &byte, 1) == 0);
  CHECK(sanstls_connection_wants(NULL) == SANSTLS_CLOSED);
  CHECK(sanstls_connection_next_event(NULL, &event) == 0);
  CHECK(sanstls_connection_provide_config(NULL, NULL, &error) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_connection_reject_server_name(NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_connection_write_early_data(NULL, &byte, 1) == 0);
  CHECK(sanstls_connection_read_early_data(NULL, &byte, 1) == 0);
  CHECK(sanstls_connection_renegotiate(NULL) == 0);
  CHECK(sanstls_connection_next_deadline(NULL, &deadline) == 0);
  sanstls_connection_on_timer(NULL, 0);
  CHECK(sanstls_connection_set_max_send_fragment(NULL, 1024) == SANSTLS_ERR_INVALID_ARG_VALUE);
  sanstls_connection_close(NULL);
  sanstls_connection_transport_eof(NULL);
  CHECK(sanstls_connection_export_keying_material(NULL, "l", NULL, 0, &byte, 1, &error) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_connection_save_session(NULL, NULL, &length, &error) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_connection_error(NULL, &error) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_connection_info(NULL, &info) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_connection_peer_certificate(NULL, 0, &cert) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_connection_memory(NULL, &length, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  sanstls_connection_free(NULL);
}

/* ---- configuration errors ---------------------------------------------------- */

static void test_config_errors(void) {
  const uint8_t junk[] = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  const char* empty_alpn[] = {""};
  sanstls_config_builder* b;
  sanstls_config* client_config;
  sanstls_connection* conn = NULL;
  sanstls_error error;
  const uint8_t not_a_session[] = {1, 2, 3, 4};

  /* Unparsable certificate, key, CA, CRL. */
  b = NULL;
  sanstls_config_builder_new(SANSTLS_ROLE_SERVER, &b);
  sanstls_config_builder_certificate(b, junk, sizeof junk - 1, server_key.data, server_key.length,
                                     NULL);
  expect_build_error(b, SANSTLS_ERR_TLS_CERT_PARSE_FAILED, "ERR_TLS_CERT_PARSE_FAILED");
  sanstls_config_builder_new(SANSTLS_ROLE_SERVER, &b);
  sanstls_config_builder_certificate(b, server_pem.data, server_pem.length, junk, sizeof junk - 1,
                                     NULL);
  expect_build_error(b, SANSTLS_ERR_TLS_KEY_PARSE_FAILED, "ERR_TLS_KEY_PARSE_FAILED");
  b = server_builder(server_pem, client_key);
  expect_build_error(b, SANSTLS_ERR_OSSL_X509_KEY_VALUES_MISMATCH,
                     "ERR_OSSL_X509_KEY_VALUES_MISMATCH");
  b = client_builder();
  sanstls_config_builder_trust_anchors(b, junk, sizeof junk - 1);
  expect_build_error(b, SANSTLS_ERR_TLS_CA_PARSE_FAILED, "ERR_TLS_CA_PARSE_FAILED");
  b = client_builder();
  sanstls_config_builder_crl(b, junk, sizeof junk - 1);
  expect_build_error(b, SANSTLS_ERR_TLS_CRL_PARSE_FAILED, "ERR_TLS_CRL_PARSE_FAILED");

  /* Algorithms and versions. */
  b = client_builder();
  sanstls_config_builder_cipher_suites(b, "TLS_NOT_A_SUITE");
  expect_build_error(b, SANSTLS_ERR_SSL_NO_CIPHER_MATCH, "ERR_SSL_NO_CIPHER_MATCH");
  b = client_builder();
  sanstls_config_builder_groups(b, "P-999");
  expect_build_error(b, SANSTLS_ERR_TLS_UNKNOWN_GROUP, "ERR_TLS_UNKNOWN_GROUP");
  b = client_builder();
  sanstls_config_builder_versions(b, (sanstls_tls_version)0x0301, SANSTLS_TLS1_3);
  expect_build_error(b, SANSTLS_ERR_TLS_INVALID_PROTOCOL_VERSION,
                     "ERR_TLS_INVALID_PROTOCOL_VERSION");
  b = client_builder();
  sanstls_config_builder_versions(b, SANSTLS_TLS1_3, SANSTLS_TLS1_2);
  expect_build_error(b, SANSTLS_ERR_TLS_PROTOCOL_VERSION_CONFLICT,
                     "ERR_TLS_PROTOCOL_VERSION_CONFLICT");
  b = client_builder();
  sanstls_config_builder_versions(b, SANSTLS_TLS1_3, SANSTLS_TLS1_3);
  sanstls_config_builder_cipher_suites(b, "ECDHE-ECDSA-AES128-GCM-SHA256");
  expect_build_error(b, SANSTLS_ERR_TLS_NO_USABLE_CIPHER_SUITE, "ERR_TLS_NO_USABLE_CIPHER_SUITE");

  /* Missing pieces and bad values. */
  sanstls_config_builder_new(SANSTLS_ROLE_SERVER, &b);
  expect_build_error(b, SANSTLS_ERR_TLS_MISSING_CERTIFICATE, "ERR_TLS_MISSING_CERTIFICATE");
  sanstls_config_builder_new(SANSTLS_ROLE_CLIENT, &b);
  expect_build_error(b, SANSTLS_ERR_TLS_MISSING_CA, "ERR_TLS_MISSING_CA");
  b = client_builder();
  sanstls_config_builder_alpn(b, empty_alpn, 1);
  expect_build_error(b, SANSTLS_ERR_TLS_INVALID_ALPN_PROTOCOL, "ERR_TLS_INVALID_ALPN_PROTOCOL");
  sanstls_config_builder_new(SANSTLS_ROLE_CLIENT, &b);
  sanstls_config_builder_psk(b, "", (const uint8_t*)"0123456789abcdef", 16);
  expect_build_error(b, SANSTLS_ERR_TLS_INVALID_PSK, "ERR_TLS_INVALID_PSK");
  b = client_builder();
  sanstls_config_builder_random(b, failing_random, NULL);
  sanstls_config_builder_preset(b, SANSTLS_PRESET_MODERN);
  random_calls = 0;
  {
    /* Randomness failing: named at build or at the handshake, never a crash. */
    sanstls_config* config = NULL;
    sanstls_error_code code = sanstls_config_build(b, &config, &error);
    if (code == SANSTLS_OK) {
      sanstls_connection* client = NULL;
      code = sanstls_connection_client(config, "localhost", NULL, 0, &client, &error);
      if (code == SANSTLS_OK) {
        size_t length = 0;
        sanstls_connection_pending_output(client, &length);
        code = sanstls_connection_error(client, &error);
      }
      sanstls_connection_free(client);
    }
    CHECK(code == SANSTLS_ERR_TLS_RANDOM_FAILED);
    CHECK_STR(error.name, "ERR_TLS_RANDOM_FAILED");
    CHECK(random_calls > 0);
    sanstls_config_free(config);
  }
  sanstls_config_builder_free(b);

  /* Connection arguments. */
  client_config = build(client_builder());
  CHECK(sanstls_connection_client(client_config, "", NULL, 0, &conn, &error) ==
        SANSTLS_ERR_TLS_MISSING_SERVER_NAME);
  CHECK(conn == NULL);
  CHECK_STR(error.name, "ERR_TLS_MISSING_SERVER_NAME");
  CHECK(sanstls_connection_client(client_config, "localhost", not_a_session, sizeof not_a_session,
                                  &conn, &error) == SANSTLS_ERR_TLS_INVALID_SESSION);
  CHECK_STR(error.name, "ERR_TLS_INVALID_SESSION");
  CHECK(sanstls_connection_client(client_config, NULL, not_a_session, sizeof not_a_session, &conn,
                                  &error) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_connection_server(client_config, &conn, &error) != SANSTLS_OK);
  CHECK(conn == NULL);
  CHECK(sanstls_config_role(client_config) == SANSTLS_ROLE_CLIENT);
  CHECK(sanstls_config_memory_bytes(client_config) > 0);
  sanstls_config_free(client_config);
}

/* ---- handshakes, data, close ------------------------------------------------- */

static int key_log_lines = 0;
static void count_key_log(void* user_data, const char* line) {
  (void)user_data;
  if (strncmp(line, "CLIENT_", 7) == 0 || strncmp(line, "SERVER_", 7) == 0 ||
      strncmp(line, "EXPORTER_", 9) == 0)
    ++key_log_lines;
}

static int traced_hellos = 0;
static void count_trace(void* user_data, const sanstls_trace_entry* entry) {
  (void)user_data;
  if (entry->kind == 1 && entry->handshake_type == 1 && entry->sent) ++traced_hellos;
}

static void handshake_version(sanstls_tls_version version, const char* protocol) {
  const char* alpn[] = {"h2", "http/1.1"};
  const char* server_alpn[] = {"http/1.1"};
  sanstls_config_builder *cb = client_builder(), *sb = server_builder(server_pem, server_key);
  sanstls_config *client_config, *server_config;
  sanstls_info info;
  sanstls_certificate cert;
  sanstls_error error;
  uint8_t buffer[64], client_secret[32], server_secret[32];
  size_t current = 0, peak = 0, n;
  pair p;

  sanstls_config_builder_versions(cb, version, version);
  sanstls_config_builder_alpn(cb, alpn, 2);
  sanstls_config_builder_alpn(sb, server_alpn, 1);
  key_log_lines = 0;
  traced_hellos = 0;
  CHECK(sanstls_config_builder_key_log(cb, count_key_log, NULL) == SANSTLS_OK);
  CHECK(sanstls_config_builder_trace(cb, count_trace, NULL) == SANSTLS_OK);
  client_config = build(cb);
  server_config = build(sb);
  p = connect_pair(client_config, server_config, "localhost");

  CHECK(sanstls_connection_error(p.client, &error) == SANSTLS_OK);
  CHECK_STR(error.name, "OK");
  CHECK(sanstls_connection_error(p.server, NULL) == SANSTLS_OK);
  CHECK((sanstls_connection_wants(p.client) & SANSTLS_HANDSHAKE_COMPLETE) != 0);
  CHECK((sanstls_connection_wants(p.server) & SANSTLS_HANDSHAKE_COMPLETE) != 0);
  CHECK((sanstls_connection_wants(p.client) & SANSTLS_CAN_WRITE) != 0);
  CHECK(has_event(p.client, SANSTLS_EVENT_HANDSHAKE_COMPLETE));
  CHECK(has_event(p.server, SANSTLS_EVENT_HANDSHAKE_COMPLETE));
  CHECK(key_log_lines >= (version == SANSTLS_TLS1_3 ? 4 : 1));
  CHECK(traced_hellos == 1);

  CHECK(sanstls_connection_info(p.client, &info) == SANSTLS_OK);
  CHECK(info.version == version);
  CHECK_STR(info.protocol, protocol);
  CHECK(info.cipher_id != 0);
  CHECK(strncmp(info.cipher_standard_name, "TLS_", 4) == 0);
  CHECK(strlen(info.cipher_name) > 0);
  CHECK(strlen(info.group) > 0);
  CHECK_STR(info.alpn_protocol, "http/1.1");
  CHECK_STR(info.server_name, "localhost");
  CHECK(info.authorized == 1);
  CHECK(info.authorization_error.code == SANSTLS_OK);
  CHECK(info.session_reused == 0);
  CHECK(info.peer_certificate_count == 2); /* leaf and intermediate */
  CHECK(sanstls_connection_peer_certificate(p.client, 0, &cert) == SANSTLS_OK);
  CHECK(cert.der_length > 100 && cert.der[0] == 0x30);
  CHECK(strstr(cert.subjectaltname, "DNS:localhost") != NULL);
  CHECK(strlen(cert.fingerprint256) == 95);
  CHECK(strlen(cert.subject) > 0 && strlen(cert.issuer) > 0);
  CHECK(strstr(cert.valid_to, "GMT") != NULL);
  CHECK(strlen(cert.serial_number) > 0);
  CHECK(sanstls_connection_peer_certificate(p.client, 2, &cert) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_connection_info(p.server, &info) == SANSTLS_OK);
  CHECK_STR(info.protocol, protocol);
  CHECK_STR(info.server_name, "localhost");
  CHECK(info.peer_certificate_count == 0);

  /* Data both ways. */
  CHECK(sanstls_connection_write(p.client, (const uint8_t*)"ping", 4) == 4);
  pump(p.client, p.server);
  CHECK((sanstls_connection_wants(p.server) & SANSTLS_HAS_PLAINTEXT) != 0);
  n = sanstls_connection_read(p.server, buffer, sizeof buffer);
  CHECK(n == 4 && memcmp(buffer, "ping", 4) == 0);
  CHECK(sanstls_connection_read(p.server, buffer, sizeof buffer) == 0);
  CHECK(sanstls_connection_write(p.server, (const uint8_t*)"pong!", 5) == 5);
  pump(p.client, p.server);
  n = sanstls_connection_read(p.client, buffer, sizeof buffer);
  CHECK(n == 5 && memcmp(buffer, "pong!", 5) == 0);

  /* The same keying material on both sides; other labels differ. */
  CHECK(sanstls_connection_export_keying_material(p.client, "EXPERIMENTAL test", NULL, 0,
                                                  client_secret, 32, &error) == SANSTLS_OK);
  CHECK(sanstls_connection_export_keying_material(p.server, "EXPERIMENTAL test", NULL, 0,
                                                  server_secret, 32, NULL) == SANSTLS_OK);
  CHECK(memcmp(client_secret, server_secret, 32) == 0);
  CHECK(sanstls_connection_export_keying_material(p.server, "EXPERIMENTAL other",
                                                  (const uint8_t*)"ctx", 3, server_secret, 32,
                                                  NULL) == SANSTLS_OK);
  CHECK(memcmp(client_secret, server_secret, 32) != 0);
  CHECK(sanstls_connection_export_keying_material(p.server, NULL, NULL, 0, server_secret, 32,
                                                  &error) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_connection_export_keying_material(p.server, "x", NULL, 0, NULL, 32, &error) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);

  CHECK(sanstls_connection_memory(p.client, &current, &peak) == SANSTLS_OK);
  CHECK(current > 0 && peak >= current);
  CHECK(sanstls_connection_set_max_send_fragment(p.client, 100) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_connection_set_max_send_fragment(p.client, 1024) == SANSTLS_OK);

  /* A clean close: close_notify, then the transport's end is no error. */
  sanstls_connection_close(p.client);
  CHECK((sanstls_connection_wants(p.client) & SANSTLS_WRITE_CLOSED) != 0);
  CHECK(sanstls_connection_write(p.client, (const uint8_t*)"late", 4) == 0);
  pump(p.client, p.server);
  CHECK(has_event(p.server, SANSTLS_EVENT_PEER_CLOSED));
  CHECK((sanstls_connection_wants(p.server) & SANSTLS_READ_CLOSED) != 0);
  CHECK(sanstls_connection_read(p.server, buffer, sizeof buffer) == 0);
  sanstls_connection_close(p.server);
  pump(p.client, p.server);
  sanstls_connection_transport_eof(p.server);
  sanstls_connection_transport_eof(p.client);
  CHECK(sanstls_connection_error(p.server, NULL) == SANSTLS_OK);
  CHECK(sanstls_connection_error(p.client, NULL) == SANSTLS_OK);
  CHECK((sanstls_connection_wants(p.server) & SANSTLS_CLOSED) != 0);
  CHECK((sanstls_connection_wants(p.client) & SANSTLS_CLOSED) != 0);
  free_pair(p);

  /* Truncation: the transport ends without close_notify. */
  p = connect_pair(client_config, server_config, "localhost");
  sanstls_connection_write(p.server, (const uint8_t*)"partial", 7);
  pump(p.client, p.server);
  sanstls_connection_transport_eof(p.client);
  expect_connection_error(p.client, SANSTLS_ERR_SSL_UNEXPECTED_EOF_WHILE_READING,
                          "ERR_SSL_UNEXPECTED_EOF_WHILE_READING", SANSTLS_STAGE_TRANSPORT);
  /* Data decrypted before the error can still be read. */
  n = sanstls_connection_read(p.client, buffer, sizeof buffer);
  CHECK(n == 7 && memcmp(buffer, "partial", 7) == 0);
  /* Sticky: the error stays, calls do nothing. */
  CHECK(sanstls_connection_write(p.client, (const uint8_t*)"x", 1) == 0);
  CHECK(sanstls_connection_error(p.client, NULL) == SANSTLS_ERR_SSL_UNEXPECTED_EOF_WHILE_READING);
  free_pair(p);

  /* The config may be freed while its connections live. */
  CHECK(sanstls_connection_client(client_config, "localhost", NULL, 0, &p.client, NULL) ==
        SANSTLS_OK);
  CHECK(sanstls_connection_server(server_config, &p.server, NULL) == SANSTLS_OK);
  sanstls_config_free(client_config);
  sanstls_config_free(server_config);
  pump(p.client, p.server);
  CHECK((sanstls_connection_wants(p.client) & SANSTLS_HANDSHAKE_COMPLETE) != 0);
  free_pair(p);
}

static void test_handshakes(void) {
  handshake_version(SANSTLS_TLS1_3, "TLSv1.3");
  handshake_version(SANSTLS_TLS1_2, "TLSv1.2");
}

static void test_rsa_and_suites(void) {
  sanstls_config_builder *cb, *sb = server_builder(rsa_server_pem, rsa_server_key);
  sanstls_config *client_config, *server_config;
  sanstls_info info;
  pair p;
  CHECK(sanstls_config_builder_new(SANSTLS_ROLE_CLIENT, &cb) == SANSTLS_OK);
  sanstls_config_builder_trust_anchors(cb, rsa_ca_pem.data, rsa_ca_pem.length);
  sanstls_config_builder_versions(cb, SANSTLS_TLS1_2, SANSTLS_TLS1_2);
  sanstls_config_builder_cipher_suites(cb, "ECDHE-RSA-AES256-GCM-SHA384");
  sanstls_config_builder_groups(cb, "P-256");
  sanstls_config_builder_signature_algorithms(cb, "rsa_pss_rsae_sha256:rsa_pkcs1_sha256");
  client_config = build(cb);
  server_config = build(sb);
  p = connect_pair(client_config, server_config, "localhost");
  CHECK(sanstls_connection_info(p.client, &info) == SANSTLS_OK);
  CHECK_STR(info.cipher_name, "ECDHE-RSA-AES256-GCM-SHA384");
  CHECK_STR(info.cipher_standard_name, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
  CHECK_STR(info.group, "P-256");
  CHECK(info.authorized == 1);
  free_pair(p);
  sanstls_config_free(client_config);
  sanstls_config_free(server_config);
}

/* ---- failures on the wire ------------------------------------------------------ */

static void expect_certificate_failure(blob chain, blob key, const char* name,
                                       sanstls_error_code code) {
  sanstls_config* client_config = build(client_builder());
  sanstls_config* server_config = build(server_builder(chain, key));
  sanstls_error error;
  pair p = connect_pair(client_config, server_config, "localhost");
  expect_connection_error(p.client, code, name, SANSTLS_STAGE_CERTIFICATE);
  CHECK(sanstls_connection_error(p.client, &error) == code);
  CHECK(error.alert_direction == SANSTLS_ALERT_SENT);
  CHECK(error.alert > 0);
  CHECK(strlen(error.alert_name) > 0);
  /* The server hears the alert. */
  CHECK(sanstls_connection_error(p.server, &error) != SANSTLS_OK);
  CHECK(error.alert_direction == SANSTLS_ALERT_RECEIVED);
  free_pair(p);
  sanstls_config_free(client_config);
  sanstls_config_free(server_config);
}

static void test_certificate_failures(void) {
  sanstls_config_builder* cb;
  sanstls_config *client_config, *server_config;
  sanstls_info info;
  pair p;

  expect_certificate_failure(expired_pem, expired_key, "CERT_HAS_EXPIRED",
                             SANSTLS_CERT_HAS_EXPIRED);
  expect_certificate_failure(other_pem, other_key, "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
                             SANSTLS_UNABLE_TO_VERIFY_LEAF_SIGNATURE);

  /* Wrong host name. */
  client_config = build(client_builder());
  server_config = build(server_builder(server_pem, server_key));
  p = connect_pair(client_config, server_config, "wrong.example");
  expect_connection_error(p.client, SANSTLS_ERR_TLS_CERT_ALTNAME_INVALID,
                          "ERR_TLS_CERT_ALTNAME_INVALID", SANSTLS_STAGE_CERTIFICATE);
  free_pair(p);
  /* No server name at all: the explicit opt-out skips the host check. */
  CHECK(sanstls_connection_client(client_config, NULL, NULL, 0, &p.client, NULL) == SANSTLS_OK);
  CHECK(sanstls_connection_server(server_config, &p.server, NULL) == SANSTLS_OK);
  pump(p.client, p.server);
  CHECK(sanstls_connection_error(p.client, NULL) == SANSTLS_OK);
  free_pair(p);
  sanstls_config_free(client_config);

  /* Revoked by a CRL. */
  cb = client_builder();
  sanstls_config_builder_crl(cb, revoked_crl.data, revoked_crl.length);
  client_config = build(cb);
  sanstls_config_free(server_config);
  server_config = build(server_builder(revoked_pem, revoked_key));
  p = connect_pair(client_config, server_config, "localhost");
  expect_connection_error(p.client, SANSTLS_CERT_REVOKED, "CERT_REVOKED",
                          SANSTLS_STAGE_CERTIFICATE);
  free_pair(p);
  sanstls_config_free(client_config);
  sanstls_config_free(server_config);

  /* Optional verification: the handshake completes and says why it is not authorized. */
  cb = client_builder();
  sanstls_config_builder_peer_verification(cb, SANSTLS_VERIFY_OPTIONAL);
  client_config = build(cb);
  server_config = build(server_builder(expired_pem, expired_key));
  p = connect_pair(client_config, server_config, "localhost");
  CHECK(sanstls_connection_error(p.client, NULL) == SANSTLS_OK);
  CHECK(sanstls_connection_info(p.client, &info) == SANSTLS_OK);
  CHECK(info.authorized == 0);
  CHECK(info.authorization_error.code == SANSTLS_CERT_HAS_EXPIRED);
  CHECK_STR(info.authorization_error.name, "CERT_HAS_EXPIRED");
  CHECK(info.authorization_error.stage == SANSTLS_STAGE_CERTIFICATE);
  free_pair(p);
  sanstls_config_free(client_config);
  sanstls_config_free(server_config);

  /* A pin that does not match fails whatever the verification mode. */
  cb = client_builder();
  sanstls_config_builder_pin_public_key(cb, "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  client_config = build(cb);
  server_config = build(server_builder(server_pem, server_key));
  p = connect_pair(client_config, server_config, "localhost");
  expect_connection_error(p.client, SANSTLS_ERR_TLS_PUBLIC_KEY_PIN_MISMATCH,
                          "ERR_TLS_PUBLIC_KEY_PIN_MISMATCH", SANSTLS_STAGE_CERTIFICATE);
  free_pair(p);
  sanstls_config_free(client_config);
  sanstls_config_free(server_config);
}

static void test_client_certificates(void) {
  sanstls_config_builder *cb = client_builder(), *sb = server_builder(server_pem, server_key);
  sanstls_config *with_cert, *without_cert, *server_config;
  sanstls_info info;
  pair p;
  sanstls_config_builder_certificate(cb, client_pem.data, client_pem.length, client_key.data,
                                     client_key.length, NULL);
  with_cert = build(cb);
  without_cert = build(client_builder());
  sanstls_config_builder_peer_verification(sb, SANSTLS_VERIFY_REQUIRED);
  sanstls_config_builder_trust_anchors(sb, ca_pem.data, ca_pem.length);
  server_config = build(sb);

  p = connect_pair(with_cert, server_config, "localhost");
  CHECK(sanstls_connection_error(p.server, NULL) == SANSTLS_OK);
  CHECK(sanstls_connection_info(p.server, &info) == SANSTLS_OK);
  CHECK(info.authorized == 1);
  CHECK(info.peer_certificate_count >= 1);
  free_pair(p);

  p = connect_pair(without_cert, server_config, "localhost");
  expect_connection_error(p.server, SANSTLS_ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE,
                          "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE", SANSTLS_STAGE_CERTIFICATE);
  free_pair(p);
  sanstls_config_free(with_cert);
  sanstls_config_free(without_cert);
  sanstls_config_free(server_config);
}

static void test_negotiation_failures(void) {
  const char* client_alpn[] = {"h2"};
  const char* server_alpn[] = {"http/1.1"};
  sanstls_config_builder *cb = client_builder(), *sb = server_builder(server_pem, server_key);
  sanstls_config *client_config, *server_config;
  pair p;

  /* Versions that do not meet. */
  sanstls_config_builder_versions(cb, SANSTLS_TLS1_3, SANSTLS_TLS1_3);
  sanstls_config_builder_versions(sb, SANSTLS_TLS1_2, SANSTLS_TLS1_2);
  client_config = build(cb);
  server_config = build(sb);
  p = connect_pair(client_config, server_config, "localhost");
  CHECK(sanstls_connection_error(p.client, NULL) != SANSTLS_OK);
  expect_connection_error(p.server, SANSTLS_ERR_SSL_UNSUPPORTED_PROTOCOL,
                          "ERR_SSL_UNSUPPORTED_PROTOCOL", SANSTLS_STAGE_HANDSHAKE);
  free_pair(p);
  sanstls_config_free(client_config);
  sanstls_config_free(server_config);

  /* ALPN without a common protocol. */
  cb = client_builder();
  sb = server_builder(server_pem, server_key);
  sanstls_config_builder_alpn(cb, client_alpn, 1);
  sanstls_config_builder_alpn(sb, server_alpn, 1);
  client_config = build(cb);
  server_config = build(sb);
  p = connect_pair(client_config, server_config, "localhost");
  expect_connection_error(p.server, SANSTLS_ERR_SSL_NO_APPLICATION_PROTOCOL,
                          "ERR_SSL_NO_APPLICATION_PROTOCOL", SANSTLS_STAGE_HANDSHAKE);
  free_pair(p);
  sanstls_config_free(client_config);

  /* Plain HTTP at a TLS server. */
  {
    const char* request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    sanstls_connection* server = NULL;
    CHECK(sanstls_connection_server(server_config, &server, NULL) == SANSTLS_OK);
    sanstls_connection_feed(server, (const uint8_t*)request, strlen(request));
    expect_connection_error(server, SANSTLS_ERR_SSL_HTTP_REQUEST, "ERR_SSL_HTTP_REQUEST",
                            SANSTLS_STAGE_HANDSHAKE);
    sanstls_connection_free(server);
  }
  sanstls_config_free(server_config);
}

/* ---- resumption, PSK, SNI, timers, 0-RTT ----------------------------------------- */

static void test_resumption(sanstls_tls_version version) {
  sanstls_config_builder *cb = client_builder(), *sb = server_builder(server_pem, server_key);
  sanstls_config *client_config, *server_config;
  sanstls_connection* before = NULL;
  sanstls_error error;
  sanstls_info info;
  uint8_t *session, small[4];
  size_t length = 0, too_small = sizeof small;
  pair p;

  sanstls_config_builder_versions(cb, version, version);
  sanstls_config_builder_session_cache(sb, 16);
  client_config = build(cb);
  server_config = build(sb);

  CHECK(sanstls_connection_client(client_config, "localhost", NULL, 0, &before, NULL) ==
        SANSTLS_OK);
  CHECK(sanstls_connection_save_session(before, NULL, &length, &error) ==
        SANSTLS_ERR_TLS_SESSION_UNAVAILABLE);
  CHECK_STR(error.name, "ERR_TLS_SESSION_UNAVAILABLE");
  CHECK(sanstls_connection_save_session(before, NULL, NULL, &error) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);
  sanstls_connection_free(before);

  p = connect_pair(client_config, server_config, "localhost");
  if (version == SANSTLS_TLS1_3) CHECK(has_event(p.client, SANSTLS_EVENT_SESSION_TICKET));
  CHECK(sanstls_connection_save_session(p.client, NULL, &length, &error) == SANSTLS_OK);
  CHECK(length > 32);
  CHECK(sanstls_connection_save_session(p.client, small, &too_small, &error) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(too_small == length);
  session = malloc(length);
  CHECK(sanstls_connection_save_session(p.client, session, &length, &error) == SANSTLS_OK);
  free_pair(p);

  CHECK(sanstls_connection_client(client_config, "localhost", session, length, &p.client, &error) ==
        SANSTLS_OK);
  CHECK(sanstls_connection_server(server_config, &p.server, NULL) == SANSTLS_OK);
  pump(p.client, p.server);
  CHECK(sanstls_connection_info(p.client, &info) == SANSTLS_OK);
  CHECK(info.session_reused == 1);
  CHECK(sanstls_connection_info(p.server, &info) == SANSTLS_OK);
  CHECK(info.session_reused == 1);
  free_pair(p);

  /* Saved for another name: refused. */
  CHECK(sanstls_connection_client(client_config, "other.example", session, length, &p.client,
                                  &error) == SANSTLS_ERR_TLS_INVALID_SESSION);
  free(session);
  sanstls_config_free(client_config);
  sanstls_config_free(server_config);
}

static size_t lookup_psk(void* user_data, const uint8_t* identity, size_t identity_length,
                         uint8_t* key, size_t capacity) {
  (void)user_data;
  if (identity_length != 6 || memcmp(identity, "device", 6) != 0 || capacity < 32) return 0;
  memset(key, 0x42, 32);
  return 32;
}

static void test_psk(void) {
  uint8_t key[32];
  sanstls_config_builder *cb, *sb;
  sanstls_config *client_config, *server_config, *stranger_config;
  sanstls_info info;
  pair p;
  memset(key, 0x42, sizeof key);
  CHECK(sanstls_config_builder_new(SANSTLS_ROLE_CLIENT, &cb) == SANSTLS_OK);
  CHECK(sanstls_config_builder_psk(cb, "device", key, sizeof key) == SANSTLS_OK);
  CHECK(sanstls_config_builder_psk_mode(cb, SANSTLS_PSK_EITHER) == SANSTLS_OK);
  client_config = build(cb);
  CHECK(sanstls_config_builder_new(SANSTLS_ROLE_SERVER, &sb) == SANSTLS_OK);
  CHECK(sanstls_config_builder_psk_lookup(sb, lookup_psk, NULL) == SANSTLS_OK);
  CHECK(sanstls_config_builder_psk_mode(sb, SANSTLS_PSK_EITHER) == SANSTLS_OK);
  server_config = build(sb);
  p = connect_pair(client_config, server_config, "device.local");
  CHECK(sanstls_connection_error(p.client, NULL) == SANSTLS_OK);
  CHECK(sanstls_connection_error(p.server, NULL) == SANSTLS_OK);
  CHECK(sanstls_connection_info(p.server, &info) == SANSTLS_OK);
  CHECK_STR(info.psk_identity, "device");
  free_pair(p);

  CHECK(sanstls_config_builder_new(SANSTLS_ROLE_CLIENT, &cb) == SANSTLS_OK);
  sanstls_config_builder_psk(cb, "stranger", key, sizeof key);
  stranger_config = build(cb);
  p = connect_pair(stranger_config, server_config, "device.local");
  CHECK(sanstls_connection_error(p.server, NULL) != SANSTLS_OK);
  CHECK(sanstls_connection_error(p.client, NULL) != SANSTLS_OK);
  free_pair(p);
  sanstls_config_free(client_config);
  sanstls_config_free(stranger_config);
  sanstls_config_free(server_config);
}

static char sni_seen[64];
static sanstls_sni_answer sni_later(void* user_data, const char* server_name,
                                    const sanstls_config** use) {
  (void)use;
  snprintf(sni_seen, sizeof sni_seen, "%s", server_name);
  return *(const sanstls_sni_answer*)user_data;
}

static void test_sni(void) {
  sanstls_sni_answer answer = SANSTLS_SNI_LATER;
  sanstls_config_builder* sb = server_builder(server_pem, server_key);
  sanstls_config *client_config = build(client_builder()), *server_config, *chosen;
  sanstls_event event;
  sanstls_info info;
  int saw_request = 0;
  pair p;

  CHECK(sanstls_config_builder_sni_selector(sb, sni_later, &answer) == SANSTLS_OK);
  server_config = build(sb);
  chosen = build(server_builder(server_pem, server_key));

  /* Deferred: the handshake waits for provide_config. */
  p = connect_pair(client_config, server_config, "localhost");
  CHECK_STR(sni_seen, "localhost");
  while (sanstls_connection_next_event(p.server, &event)) {
    if (event.kind == SANSTLS_EVENT_SERVER_NAME_REQUESTED) saw_request = 1;
  }
  CHECK(saw_request);
  CHECK((sanstls_connection_wants(p.server) & SANSTLS_AWAITING_CONFIG) != 0);
  CHECK((sanstls_connection_wants(p.client) & SANSTLS_HANDSHAKE_COMPLETE) == 0);
  CHECK(sanstls_connection_provide_config(p.server, NULL, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_connection_provide_config(p.server, chosen, NULL) == SANSTLS_OK);
  pump(p.client, p.server);
  CHECK((sanstls_connection_wants(p.client) & SANSTLS_HANDSHAKE_COMPLETE) != 0);
  CHECK(sanstls_connection_info(p.server, &info) == SANSTLS_OK);
  CHECK_STR(info.server_name, "localhost");
  free_pair(p);

  /* Deferred, then refused. */
  p = connect_pair(client_config, server_config, "localhost");
  CHECK(sanstls_connection_reject_server_name(p.server) == SANSTLS_OK);
  pump(p.client, p.server);
  expect_connection_error(p.server, SANSTLS_ERR_SSL_UNRECOGNIZED_NAME, "ERR_SSL_UNRECOGNIZED_NAME",
                          SANSTLS_STAGE_HANDSHAKE);
  free_pair(p);

  /* Refused at once. */
  answer = SANSTLS_SNI_REJECT;
  p = connect_pair(client_config, server_config, "localhost");
  CHECK(sanstls_connection_error(p.server, NULL) == SANSTLS_ERR_SSL_UNRECOGNIZED_NAME);
  free_pair(p);

  /* A static SNI map with strict names. */
  sanstls_config_free(server_config);
  sb = server_builder(server_pem, server_key);
  CHECK(sanstls_config_builder_sni_context(sb, "*.example.org", chosen) == SANSTLS_OK);
  CHECK(sanstls_config_builder_strict_sni(sb, 1) == SANSTLS_OK);
  server_config = build(sb);
  sanstls_config_free(chosen); /* the built config keeps what it needs */
  p = connect_pair(client_config, server_config, "localhost");
  CHECK(sanstls_connection_error(p.server, NULL) == SANSTLS_ERR_SSL_UNRECOGNIZED_NAME);
  free_pair(p);
  sanstls_config_free(client_config);
  sanstls_config_free(server_config);
}

static void test_timers(void) {
  sanstls_config_builder* sb = server_builder(server_pem, server_key);
  sanstls_config *client_config = build(client_builder()), *server_config;
  sanstls_connection *client = NULL, *server = NULL;
  int64_t deadline = 0;
  CHECK(sanstls_config_builder_clock(sb, fake_clock, NULL) == SANSTLS_OK);
  CHECK(sanstls_config_builder_handshake_timeout(sb, 5000) == SANSTLS_OK);
  server_config = build(sb);
  CHECK(sanstls_connection_client(client_config, "localhost", NULL, 0, &client, NULL) ==
        SANSTLS_OK);
  CHECK(sanstls_connection_server(server_config, &server, NULL) == SANSTLS_OK);
  transfer(client, server); /* ClientHello only: the server now waits */
  CHECK(sanstls_connection_next_deadline(server, &deadline) == 1);
  CHECK(deadline == fake_now_ms + 5000);
  sanstls_connection_on_timer(server, deadline - 1);
  CHECK(sanstls_connection_error(server, NULL) == SANSTLS_OK);
  sanstls_connection_on_timer(server, deadline);
  expect_connection_error(server, SANSTLS_ERR_TLS_HANDSHAKE_TIMEOUT, "ERR_TLS_HANDSHAKE_TIMEOUT",
                          SANSTLS_STAGE_HANDSHAKE);
  CHECK(sanstls_connection_next_deadline(client, &deadline) == 0); /* clients: no default */
  sanstls_connection_free(client);
  sanstls_connection_free(server);
  sanstls_config_free(client_config);
  sanstls_config_free(server_config);
}

static void test_early_data(void) {
  sanstls_config_builder *cb = client_builder(), *sb = server_builder(server_pem, server_key);
  sanstls_config *client_config, *server_config;
  sanstls_info info;
  uint8_t buffer[64], *session;
  size_t length = 0, n;
  pair p;
  sanstls_config_builder_early_data(cb, 1);
  sanstls_config_builder_early_data(sb, 1024);
  sanstls_config_builder_session_tickets(sb, 1, 600);
  client_config = build(cb);
  server_config = build(sb);
  p = connect_pair(client_config, server_config, "localhost");
  CHECK(has_event(p.client, SANSTLS_EVENT_SESSION_TICKET));
  CHECK(sanstls_connection_save_session(p.client, NULL, &length, NULL) == SANSTLS_OK);
  session = malloc(length);
  CHECK(sanstls_connection_save_session(p.client, session, &length, NULL) == SANSTLS_OK);
  free_pair(p);

  CHECK(sanstls_connection_client(client_config, "localhost", session, length, &p.client, NULL) ==
        SANSTLS_OK);
  CHECK(sanstls_connection_server(server_config, &p.server, NULL) == SANSTLS_OK);
  CHECK(sanstls_connection_write_early_data(p.client, (const uint8_t*)"early", 5) == 5);
  pump(p.client, p.server);
  CHECK(has_event(p.server, SANSTLS_EVENT_EARLY_DATA));
  n = sanstls_connection_read_early_data(p.server, buffer, sizeof buffer);
  CHECK(n == 5 && memcmp(buffer, "early", 5) == 0);
  pump(p.client, p.server);
  CHECK(sanstls_connection_info(p.client, &info) == SANSTLS_OK);
  CHECK(info.early_data_sent == 5);
  CHECK(info.early_data_accepted == 1);
  free_pair(p);
  free(session);
  sanstls_config_free(client_config);
  sanstls_config_free(server_config);
}

static int pick_last(void* user_data, const char* const* offered, size_t count) {
  *(size_t*)user_data = count;
  return count > 0 && strcmp(offered[count - 1], "refuse-me") != 0 ? (int)(count - 1) : -1;
}

static int identity_calls = 0;
static int check_identity(void* user_data, const char* server_name, const sanstls_certificate* leaf,
                          char* reason, size_t reason_capacity) {
  const int accept = *(const int*)user_data;
  ++identity_calls;
  CHECK_STR(server_name, "localhost");
  CHECK(leaf->der_length > 100);
  CHECK(strstr(leaf->subjectaltname, "DNS:localhost") != NULL);
  if (!accept) snprintf(reason, reason_capacity, "not the server we pinned by hand");
  return accept;
}

static void test_selectors_and_ticket_keys(void) {
  const char* offered[] = {"h2", "spdy/3", "http/1.1"};
  const char* refused[] = {"h2", "refuse-me"};
  size_t seen = 0, length = 0;
  int accept = 1;
  uint8_t bytes[96], *session;
  sanstls_config_builder *cb = client_builder(), *sb = server_builder(server_pem, server_key);
  sanstls_config *client_config, *server_config, *server_a, *server_b;
  sanstls_ticket_keys *keys = NULL, *copy = NULL;
  sanstls_error error;
  sanstls_info info;
  pair p;

  /* The server's ALPN selector sees every offer and picks one. */
  CHECK(sanstls_config_builder_alpn_selector(NULL, pick_last, NULL) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_alpn_selector(sb, NULL, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_alpn_selector(sb, pick_last, &seen) == SANSTLS_OK);
  CHECK(sanstls_config_builder_alpn(cb, offered, 3) == SANSTLS_OK);
  CHECK(sanstls_config_builder_check_server_identity(cb, check_identity, &accept) == SANSTLS_OK);
  CHECK(sanstls_config_builder_check_server_identity(cb, NULL, NULL) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);
  client_config = build(cb);
  server_config = build(sb);
  identity_calls = 0;
  p = connect_pair(client_config, server_config, "localhost");
  CHECK(seen == 3);
  CHECK(identity_calls == 1);
  CHECK(sanstls_connection_info(p.client, &info) == SANSTLS_OK);
  CHECK_STR(info.alpn_protocol, "http/1.1");
  free_pair(p);

  /* The identity check says no: a named certificate-stage failure with its reason. */
  accept = 0;
  p = connect_pair(client_config, server_config, "localhost");
  expect_connection_error(p.client, SANSTLS_ERR_TLS_IDENTITY_REJECTED, "ERR_TLS_IDENTITY_REJECTED",
                          SANSTLS_STAGE_CERTIFICATE);
  CHECK(sanstls_connection_error(p.client, &error) == SANSTLS_ERR_TLS_IDENTITY_REJECTED);
  CHECK(strstr(error.message, "pinned by hand") != NULL);
  free_pair(p);
  sanstls_config_free(client_config);

  /* The selector refuses everything: no_application_protocol. */
  cb = client_builder();
  sanstls_config_builder_alpn(cb, refused, 2);
  client_config = build(cb);
  p = connect_pair(client_config, server_config, "localhost");
  CHECK(sanstls_connection_error(p.server, NULL) == SANSTLS_ERR_SSL_NO_APPLICATION_PROTOCOL);
  free_pair(p);
  sanstls_config_free(client_config);
  sanstls_config_free(server_config);

  /* Ticket keys: exported, imported, shared by two servers. */
  CHECK(sanstls_ticket_keys_generate(NULL, &error) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_ticket_keys_generate(&keys, &error) == SANSTLS_OK);
  CHECK(sanstls_ticket_keys_to_bytes(keys, NULL, &length) == SANSTLS_OK);
  CHECK(length == 48);
  length = 10;
  CHECK(sanstls_ticket_keys_to_bytes(keys, bytes, &length) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(length == 48);
  CHECK(sanstls_ticket_keys_to_bytes(keys, bytes, &length) == SANSTLS_OK);
  CHECK(sanstls_ticket_keys_from_bytes(bytes, 47, &copy, &error) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(copy == NULL);
  CHECK_STR(error.name, "ERR_INVALID_ARG_VALUE");
  CHECK(sanstls_ticket_keys_from_bytes(bytes, 48, &copy, &error) == SANSTLS_OK);
  CHECK(sanstls_ticket_keys_rotate(NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_ticket_keys_to_bytes(NULL, NULL, &length) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_ticket_keys(NULL, keys) == SANSTLS_ERR_INVALID_ARG_VALUE);
  sb = server_builder(server_pem, server_key);
  CHECK(sanstls_config_builder_ticket_keys(sb, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_ticket_keys(sb, keys) == SANSTLS_OK);
  server_a = build(sb);
  sb = server_builder(server_pem, server_key);
  CHECK(sanstls_config_builder_ticket_keys(sb, copy) == SANSTLS_OK);
  server_b = build(sb);
  sanstls_ticket_keys_free(copy); /* the config keeps its reference */
  client_config = build(client_builder());
  p = connect_pair(client_config, server_a, "localhost");
  CHECK(has_event(p.client, SANSTLS_EVENT_SESSION_TICKET));
  CHECK(sanstls_connection_save_session(p.client, NULL, &length, NULL) == SANSTLS_OK);
  session = malloc(length);
  CHECK(sanstls_connection_save_session(p.client, session, &length, NULL) == SANSTLS_OK);
  free_pair(p);
  CHECK(sanstls_connection_client(client_config, "localhost", session, length, &p.client, NULL) ==
        SANSTLS_OK);
  CHECK(sanstls_connection_server(server_b, &p.server, NULL) == SANSTLS_OK);
  pump(p.client, p.server);
  CHECK(sanstls_connection_info(p.server, &info) == SANSTLS_OK);
  CHECK(info.session_reused == 1);
  free_pair(p);
  /* After a rotation the previous key still opens the ticket. */
  CHECK(sanstls_ticket_keys_rotate(keys) == SANSTLS_OK);
  CHECK(sanstls_ticket_keys_to_bytes(keys, NULL, &length) == SANSTLS_OK);
  CHECK(length == 96);
  free(session);
  sanstls_ticket_keys_free(keys);
  sanstls_ticket_keys_free(NULL);
  sanstls_config_free(client_config);
  sanstls_config_free(server_a);
  sanstls_config_free(server_b);
}

static void test_before_handshake(void) {
  sanstls_config* client_config = build(client_builder());
  sanstls_connection* client = NULL;
  sanstls_error error;
  sanstls_event event;
  uint8_t out[16];
  size_t length = 0;
  CHECK(sanstls_connection_client(client_config, "localhost", NULL, 0, &client, &error) ==
        SANSTLS_OK);
  CHECK(error.code == SANSTLS_OK);
  CHECK((sanstls_connection_wants(client) & SANSTLS_HAS_OUTPUT) != 0);
  CHECK(sanstls_connection_pending_output(client, &length) != NULL);
  CHECK(length > 50); /* the ClientHello */
  CHECK(sanstls_connection_write(client, (const uint8_t*)"x", 1) == 0);
  CHECK(sanstls_connection_next_event(client, &event) == 0);
  CHECK(sanstls_connection_export_keying_material(client, "x", NULL, 0, out, sizeof out, &error) ==
        SANSTLS_ERR_TLS_EXPORT_UNAVAILABLE);
  CHECK_STR(error.name, "ERR_TLS_EXPORT_UNAVAILABLE");
  CHECK(sanstls_connection_renegotiate(client) == 0);
  /* Garbage instead of a ServerHello. */
  sanstls_connection_feed(client, (const uint8_t*)"\x16\x03\x03\x00\x02\x00\x00", 7);
  CHECK(sanstls_connection_error(client, &error) != SANSTLS_OK);
  CHECK(error.stage == SANSTLS_STAGE_HANDSHAKE);
  CHECK(strcmp(error.name, "ERR_TLS_UNKNOWN") != 0);
  sanstls_connection_free(client);
  sanstls_config_free(client_config);
}

/* ---- appended API: certificate selector, session store, replay store, slot */

typedef struct selector_state {
  const sanstls_config* offer; /* NULL: decline */
  int calls;
  char server_name[64];
} selector_state;

static int select_client_certificate(void* user_data, const char* server_name,
                                     const sanstls_config** use) {
  selector_state* state = (selector_state*)user_data;
  ++state->calls;
  snprintf(state->server_name, sizeof state->server_name, "%s", server_name);
  if (!state->offer) return 0;
  *use = state->offer;
  return 1;
}

static void test_client_certificate_selector(void) {
  sanstls_config_builder *cb = client_builder(), *identity = client_builder(),
                         *sb = server_builder(server_pem, server_key);
  sanstls_config *client_config, *identity_config, *server_config;
  selector_state state = {NULL, 0, ""};
  sanstls_certificate leaf;
  sanstls_info info;
  pair p;

  CHECK(sanstls_config_builder_client_certificate_selector(
            NULL, select_client_certificate, &state) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_client_certificate_selector(cb, NULL, &state) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_client_certificate_selector(cb, select_client_certificate, &state) ==
        SANSTLS_OK);
  client_config = build(cb);
  sanstls_config_builder_certificate(identity, client_pem.data, client_pem.length, client_key.data,
                                     client_key.length, NULL);
  identity_config = build(identity);
  sanstls_config_builder_peer_verification(sb, SANSTLS_VERIFY_REQUIRED);
  sanstls_config_builder_trust_anchors(sb, ca_pem.data, ca_pem.length);
  server_config = build(sb);

  /* Chosen by the callback, verified by the server (mTLS), in both versions. */
  state.offer = identity_config;
  p = connect_pair(client_config, server_config, "localhost");
  CHECK(state.calls == 1);
  CHECK_STR(state.server_name, "localhost");
  CHECK(sanstls_connection_error(p.server, NULL) == SANSTLS_OK);
  CHECK(sanstls_connection_info(p.server, &info) == SANSTLS_OK);
  CHECK(info.authorized == 1);
  CHECK(info.peer_certificate_count >= 1);
  CHECK(sanstls_connection_peer_certificate(p.server, 0, &leaf) == SANSTLS_OK);
  CHECK(strstr(leaf.subject, "client") != NULL);
  free_pair(p);

  /* Declined: no certificate, which this server refuses. */
  state.offer = NULL;
  state.calls = 0;
  p = connect_pair(client_config, server_config, "localhost");
  CHECK(state.calls == 1);
  expect_connection_error(p.server, SANSTLS_ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE,
                          "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE", SANSTLS_STAGE_CERTIFICATE);
  free_pair(p);

  /* A server that asks for nothing: the selector is not called. */
  sanstls_config_free(server_config);
  server_config = build(server_builder(server_pem, server_key));
  state.offer = identity_config;
  state.calls = 0;
  p = connect_pair(client_config, server_config, "localhost");
  CHECK(state.calls == 0);
  CHECK(sanstls_connection_wants(p.client) & SANSTLS_HANDSHAKE_COMPLETE);
  free_pair(p);

  sanstls_config_free(client_config);
  sanstls_config_free(identity_config);
  sanstls_config_free(server_config);
}

/* A tiny session store: a few (id, session) entries in caller memory. */
typedef struct stored_session {
  uint8_t id[32];
  size_t id_length;
  uint8_t* session;
  size_t session_length;
} stored_session;
typedef struct session_store {
  stored_session entries[4];
  size_t count;
  int saves, loads, hits, removes;
} session_store;

static void store_save(void* user_data, const uint8_t* id, size_t id_length, const uint8_t* session,
                       size_t session_length) {
  session_store* store = (session_store*)user_data;
  stored_session* entry;
  ++store->saves;
  if (store->count == 4 || id_length > sizeof entry->id) return;
  entry = &store->entries[store->count++];
  memcpy(entry->id, id, id_length);
  entry->id_length = id_length;
  entry->session = malloc(session_length);
  if (!entry->session) exit(2);
  memcpy(entry->session, session, session_length);
  entry->session_length = session_length;
}

static size_t store_load(void* user_data, const uint8_t* id, size_t id_length, uint8_t* out,
                         size_t capacity) {
  session_store* store = (session_store*)user_data;
  size_t i;
  ++store->loads;
  for (i = 0; i < store->count; ++i) {
    const stored_session* entry = &store->entries[i];
    if (entry->id_length != id_length || memcmp(entry->id, id, id_length) != 0) continue;
    ++store->hits;
    if (entry->session_length <= capacity) memcpy(out, entry->session, entry->session_length);
    return entry->session_length;
  }
  return 0;
}

static void store_remove(void* user_data, const uint8_t* id, size_t id_length) {
  session_store* store = (session_store*)user_data;
  (void)id;
  (void)id_length;
  ++store->removes;
}

static void store_clear(session_store* store) {
  size_t i;
  for (i = 0; i < store->count; ++i) free(store->entries[i].session);
  store->count = 0;
}

/* Connects with `session` (may be NULL) and returns whether it resumed. */
static int resumed_with(const sanstls_config* client_config, const sanstls_config* server_config,
                        const uint8_t* session, size_t length) {
  sanstls_info info;
  pair p;
  int reused;
  CHECK(sanstls_connection_client(client_config, "localhost", session, length, &p.client, NULL) ==
        SANSTLS_OK);
  CHECK(sanstls_connection_server(server_config, &p.server, NULL) == SANSTLS_OK);
  pump(p.client, p.server);
  CHECK(sanstls_connection_wants(p.client) & SANSTLS_HANDSHAKE_COMPLETE);
  CHECK(sanstls_connection_info(p.server, &info) == SANSTLS_OK);
  reused = info.session_reused;
  free_pair(p);
  return reused;
}

static void test_session_store(void) {
  sanstls_config_builder *cb = client_builder(), *sb = server_builder(server_pem, server_key);
  sanstls_config *client_config, *server_config;
  session_store store;
  uint8_t* session;
  size_t length = 0;
  pair p;
  memset(&store, 0, sizeof store);

  CHECK(sanstls_config_builder_session_store(NULL, store_save, store_load, store_remove, &store) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_session_store(sb, NULL, store_load, store_remove, &store) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_session_store(sb, store_save, NULL, store_remove, &store) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_session_store(sb, store_save, store_load, store_remove, &store) ==
        SANSTLS_OK);
  sanstls_config_builder_session_tickets(sb, 0, 7200); /* session IDs, not tickets */
  sanstls_config_builder_versions(cb, SANSTLS_TLS1_2, SANSTLS_TLS1_2);
  client_config = build(cb);
  server_config = build(sb);

  p = connect_pair(client_config, server_config, "localhost");
  CHECK(sanstls_connection_wants(p.client) & SANSTLS_HANDSHAKE_COMPLETE);
  CHECK(store.saves == 1);
  CHECK(store.count == 1);
  CHECK(sanstls_connection_save_session(p.client, NULL, &length, NULL) == SANSTLS_OK);
  session = malloc(length);
  CHECK(sanstls_connection_save_session(p.client, session, &length, NULL) == SANSTLS_OK);
  free_pair(p);

  /* Found through the C callbacks: resumed. */
  CHECK(resumed_with(client_config, server_config, session, length) == 1);
  CHECK(store.hits == 1);

  /* Gone from the store: a miss, so a full handshake (saved again). */
  store_clear(&store);
  store.loads = 0;
  CHECK(resumed_with(client_config, server_config, session, length) == 0);
  CHECK(store.loads == 1);
  CHECK(store.hits == 1);
  CHECK(store.saves == 2);

  store_clear(&store);
  free(session);
  sanstls_config_free(client_config);
  sanstls_config_free(server_config);
}

/* A 0-RTT server config with shared ticket keys and the given replay store. */
static sanstls_config* early_data_server(const sanstls_ticket_keys* keys,
                                         const sanstls_replay_store* store) {
  sanstls_config_builder* sb = server_builder(server_pem, server_key);
  sanstls_config_builder_early_data(sb, 1024);
  sanstls_config_builder_session_tickets(sb, 1, 600);
  sanstls_config_builder_ticket_keys(sb, keys);
  if (store) CHECK(sanstls_config_builder_early_data_replay_store(sb, store) == SANSTLS_OK);
  return build(sb);
}

/* Feeds a recorded ClientHello (with its early data) to a fresh server. */
static int early_data_accepted_by(const sanstls_config* server_config, const uint8_t* flight,
                                  size_t length) {
  sanstls_connection* server = NULL;
  uint8_t buffer[64];
  int accepted;
  CHECK(sanstls_connection_server(server_config, &server, NULL) == SANSTLS_OK);
  CHECK(sanstls_connection_feed(server, flight, length) == length);
  accepted = has_event(server, SANSTLS_EVENT_EARLY_DATA) &&
             sanstls_connection_read_early_data(server, buffer, sizeof buffer) == 5;
  sanstls_connection_free(server);
  return accepted;
}

static void test_replay_store(void) {
  sanstls_config_builder* cb = client_builder();
  sanstls_config *client_config, *first, *second, *unshared;
  sanstls_replay_store *store = NULL, *from_config = NULL;
  sanstls_ticket_keys* keys = NULL;
  sanstls_connection* client = NULL;
  uint8_t *session, *flight;
  const uint8_t* pending;
  size_t length = 0, flight_length = 0;
  pair p;

  CHECK(sanstls_replay_store_new(0, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_replay_store_new(0, &store) == SANSTLS_OK);
  CHECK(sanstls_replay_store_size(store) == 0);
  CHECK(sanstls_replay_store_size(NULL) == 0);
  CHECK(sanstls_config_builder_early_data_replay_store(NULL, store) ==
        SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_builder_early_data_replay_store(cb, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_ticket_keys_generate(&keys, NULL) == SANSTLS_OK);
  sanstls_config_builder_early_data(cb, 1);
  client_config = build(cb);
  first = early_data_server(keys, store);
  second = early_data_server(keys, store);
  unshared = early_data_server(keys, NULL);
  sanstls_replay_store_free(store); /* the configs keep it */

  /* The config hands out the store it uses; a config without 0-RTT has none. */
  CHECK(sanstls_config_replay_store(first, &from_config) == SANSTLS_OK);
  CHECK(sanstls_config_replay_store(client_config, &store) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(store == NULL);
  CHECK(sanstls_config_replay_store(NULL, &store) == SANSTLS_ERR_INVALID_ARG_VALUE);

  p = connect_pair(client_config, first, "localhost");
  CHECK(has_event(p.client, SANSTLS_EVENT_SESSION_TICKET));
  CHECK(sanstls_connection_save_session(p.client, NULL, &length, NULL) == SANSTLS_OK);
  session = malloc(length);
  CHECK(sanstls_connection_save_session(p.client, session, &length, NULL) == SANSTLS_OK);
  free_pair(p);

  /* Record the ClientHello with its early data, as an attacker would. */
  CHECK(sanstls_connection_client(client_config, "localhost", session, length, &client, NULL) ==
        SANSTLS_OK);
  CHECK(sanstls_connection_write_early_data(client, (const uint8_t*)"early", 5) == 5);
  pending = sanstls_connection_pending_output(client, &flight_length);
  CHECK(flight_length > 0);
  flight = malloc(flight_length);
  memcpy(flight, pending, flight_length);
  sanstls_connection_free(client);

  CHECK(early_data_accepted_by(first, flight, flight_length) == 1);
  CHECK(sanstls_replay_store_size(from_config) == 1);
  /* Replayed at the other config sharing the store: refused. */
  CHECK(early_data_accepted_by(second, flight, flight_length) == 0);
  CHECK(early_data_accepted_by(first, flight, flight_length) == 0);
  /* A config with its own store (same ticket keys) would take it: what
   * sharing the store prevents. */
  CHECK(early_data_accepted_by(unshared, flight, flight_length) == 1);

  free(flight);
  free(session);
  sanstls_replay_store_free(from_config);
  sanstls_replay_store_free(NULL);
  sanstls_ticket_keys_free(keys);
  sanstls_config_free(client_config);
  sanstls_config_free(first);
  sanstls_config_free(second);
  sanstls_config_free(unshared);
}

/* A server config choosing `protocol` from the client's ALPN list. */
static sanstls_config* alpn_server(const char* protocol) {
  sanstls_config_builder* sb = server_builder(server_pem, server_key);
  sanstls_config_builder_alpn(sb, &protocol, 1);
  return build(sb);
}

static const char* negotiated_alpn(sanstls_connection* client, sanstls_connection* server,
                                   char* out, size_t capacity) {
  sanstls_info info;
  pump(client, server);
  CHECK(sanstls_connection_info(client, &info) == SANSTLS_OK);
  snprintf(out, capacity, "%s", info.alpn_protocol);
  return out;
}

static void test_config_slot(void) {
  const char* offered[] = {"old", "new"};
  sanstls_config_builder* cb = client_builder();
  sanstls_config *client_config, *old_config = alpn_server("old"), *new_config = alpn_server("new"),
                                 *loaded = NULL;
  sanstls_config_slot* slot = NULL;
  sanstls_connection *early_client = NULL, *early_server = NULL;
  char alpn[32];
  pair p;

  sanstls_config_builder_alpn(cb, offered, 2);
  client_config = build(cb);
  CHECK(sanstls_config_slot_new(NULL, &slot) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_slot_new(old_config, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_slot_new(old_config, &slot) == SANSTLS_OK);
  sanstls_config_free(old_config); /* the slot keeps it */
  CHECK(sanstls_config_slot_store(NULL, new_config) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_slot_store(slot, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_slot_load(NULL, &loaded) == SANSTLS_ERR_INVALID_ARG_VALUE);
  CHECK(sanstls_config_slot_load(slot, NULL) == SANSTLS_ERR_INVALID_ARG_VALUE);

  /* A connection accepted before the swap, handshaking after it. */
  CHECK(sanstls_config_slot_load(slot, &loaded) == SANSTLS_OK);
  CHECK(sanstls_connection_server(loaded, &early_server, NULL) == SANSTLS_OK);
  sanstls_config_free(loaded);
  CHECK(sanstls_connection_client(client_config, "localhost", NULL, 0, &early_client, NULL) ==
        SANSTLS_OK);

  CHECK(sanstls_config_slot_store(slot, new_config) == SANSTLS_OK);
  sanstls_config_free(new_config);

  CHECK_STR(negotiated_alpn(early_client, early_server, alpn, sizeof alpn), "old");
  sanstls_connection_free(early_client);
  sanstls_connection_free(early_server);

  CHECK(sanstls_config_slot_load(slot, &loaded) == SANSTLS_OK);
  CHECK(sanstls_connection_client(client_config, "localhost", NULL, 0, &p.client, NULL) ==
        SANSTLS_OK);
  CHECK(sanstls_connection_server(loaded, &p.server, NULL) == SANSTLS_OK);
  sanstls_config_free(loaded);
  CHECK_STR(negotiated_alpn(p.client, p.server, alpn, sizeof alpn), "new");
  free_pair(p);

  sanstls_config_slot_free(slot);
  sanstls_config_slot_free(NULL);
  sanstls_config_free(client_config);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PKI_DIR\n", argv[0]);
    return 2;
  }
  pki_dir = argv[1];
  load_pki();
  test_version_and_names();
  test_null_arguments();
  test_config_errors();
  test_handshakes();
  test_rsa_and_suites();
  test_certificate_failures();
  test_client_certificates();
  test_negotiation_failures();
  test_resumption(SANSTLS_TLS1_3);
  test_resumption(SANSTLS_TLS1_2);
  test_psk();
  test_sni();
  test_timers();
  test_early_data();
  test_selectors_and_ticket_keys();
  test_before_handshake();
  test_client_certificate_selector();
  test_session_store();
  test_replay_store();
  test_config_slot();
  free_pki();
  printf("c_api: %d passed, %d failed\n", checks_passed, checks_failed);
  return checks_failed == 0 ? 0 : 1;
}
