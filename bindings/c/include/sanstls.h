/* sanstls.h: the C API of sanstls, a sans-I/O TLS engine (C99).
 *
 * The engine never touches a socket, a clock or a thread. A connection takes
 * ciphertext in (sanstls_connection_feed), hands ciphertext out
 * (sanstls_connection_pending_output / sanstls_connection_consume_output) and
 * takes and returns plaintext (sanstls_connection_write / _read). The contract
 * is the C++ one in <sanstls/connection.h>; this header repeats what a C user
 * needs:
 *
 *   - Handles are opaque and owned by the caller: every *_new / *_build /
 *     sanstls_connection_client/_server is paired with its *_free. A
 *     connection keeps its config alive, so a config may be freed first.
 *   - Functions returning sanstls_error_code return SANSTLS_OK (0) on
 *     success. A NULL handle or pointer that the call needs is
 *     SANSTLS_ERR_INVALID_ARG_VALUE, never a crash. Where a function takes a
 *     `sanstls_error *error`, it may be NULL; when given, it is filled in
 *     (cleared on success).
 *   - Functions returning a count (feed, read, write) return 0 for a NULL
 *     handle.
 *   - Errors on a connection are sticky: sanstls_connection_error() keeps
 *     returning the first one.
 *   - Pointers returned into a connection (pending output, info strings,
 *     certificates) stay valid until the next call on that connection.
 *   - Callbacks receive the `user_data` given with them, run on the thread
 *     making the engine call, and must not call back into the same
 *     connection. No C++ exception ever crosses this API.
 *   - Threads: a connection is used by one thread at a time; a config may be
 *     shared by connections on several threads (its callbacks then must be
 *     thread-safe).
 *
 * Link with -lsanstls (shared, or static: libsanstls.a bundles the engine and
 * its mbedTLS; add -lstdc++ -lpthread). See docs/bindings.md.
 */
#ifndef SANSTLS_H
#define SANSTLS_H

#include <stddef.h>
#include <stdint.h>

#include "sanstls/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SANSTLS_API __attribute__((visibility("default")))
#else
#define SANSTLS_API
#endif

/* ---- errors ------------------------------------------------------------ */

/* Each enum ends in a *_MAX_ENUM that only fixes its size to that of an int
 * (so any int passed in is a valid value in C and C++); it is never a valid
 * argument. */

/* Stable codes; each is SANSTLS_ followed by the engine's stable error name
 * (docs/errors.md), so SANSTLS_CERT_HAS_EXPIRED is "CERT_HAS_EXPIRED". New
 * codes are only ever added; numbers never change. */
typedef enum sanstls_error_code {
  SANSTLS_OK = 0,
  SANSTLS_ERR_INVALID_ARG_VALUE = 1,
  SANSTLS_ERR_TLS_CERT_PARSE_FAILED = 2,
  SANSTLS_ERR_TLS_KEY_PARSE_FAILED = 3,
  SANSTLS_ERR_TLS_KEY_PASSPHRASE_REQUIRED = 4,
  SANSTLS_ERR_TLS_KEY_PASSPHRASE_WRONG = 5,
  SANSTLS_ERR_OSSL_X509_KEY_VALUES_MISMATCH = 6,
  SANSTLS_ERR_TLS_CA_PARSE_FAILED = 7,
  SANSTLS_ERR_TLS_CRL_PARSE_FAILED = 8,
  SANSTLS_ERR_SSL_NO_CIPHER_MATCH = 9,
  SANSTLS_ERR_TLS_UNKNOWN_GROUP = 10,
  SANSTLS_ERR_TLS_INVALID_PROTOCOL_VERSION = 11,
  SANSTLS_ERR_TLS_PROTOCOL_VERSION_CONFLICT = 12,
  SANSTLS_ERR_TLS_NO_USABLE_CIPHER_SUITE = 13,
  SANSTLS_ERR_TLS_MISSING_CERTIFICATE = 14,
  SANSTLS_ERR_TLS_MISSING_CA = 15,
  SANSTLS_ERR_TLS_MISSING_SERVER_NAME = 16,
  SANSTLS_ERR_TLS_INVALID_ALPN_PROTOCOL = 17,
  SANSTLS_ERR_TLS_INVALID_PSK = 18,
  SANSTLS_ERR_TLS_INVALID_SESSION = 19,
  SANSTLS_ERR_TLS_SESSION_UNAVAILABLE = 20,
  SANSTLS_ERR_TLS_SESSION_NOT_TRUSTED = 21,
  SANSTLS_ERR_SSL_UNSUPPORTED_PROTOCOL = 22,
  SANSTLS_ERR_SSL_NO_SHARED_CIPHER = 23,
  SANSTLS_ERR_SSL_NO_SUITABLE_KEY_SHARE = 24,
  SANSTLS_ERR_SSL_NO_APPLICATION_PROTOCOL = 25,
  SANSTLS_ERR_SSL_HANDSHAKE_FAILURE = 26,
  SANSTLS_ERR_SSL_PEER_ALERT = 27,
  SANSTLS_ERR_SSL_HTTP_REQUEST = 28,
  SANSTLS_ERR_SSL_HTTP_RESPONSE = 29,
  SANSTLS_ERR_SSL_WRONG_VERSION_NUMBER = 30,
  SANSTLS_ERR_SSL_UNEXPECTED_MESSAGE = 31,
  SANSTLS_ERR_SSL_DECODE_ERROR = 32,
  SANSTLS_ERR_SSL_ILLEGAL_PARAMETER = 33,
  SANSTLS_ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE = 34,
  SANSTLS_ERR_SSL_PSK_IDENTITY_NOT_FOUND = 35,
  SANSTLS_ERR_SSL_NO_RENEGOTIATION = 36,
  SANSTLS_ERR_TLS_SESSION_ATTACK = 37,
  SANSTLS_ERR_SSL_UNRECOGNIZED_NAME = 38,
  SANSTLS_ERR_TLS_EXPORT_UNAVAILABLE = 39,
  SANSTLS_ERR_TLS_HANDSHAKE_TIMEOUT = 40,
  SANSTLS_ERR_SSL_UNEXPECTED_EOF_WHILE_READING = 41,
  SANSTLS_CERT_HAS_EXPIRED = 42,
  SANSTLS_CERT_NOT_YET_VALID = 43,
  SANSTLS_DEPTH_ZERO_SELF_SIGNED_CERT = 44,
  SANSTLS_SELF_SIGNED_CERT_IN_CHAIN = 45,
  SANSTLS_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 46,
  SANSTLS_UNABLE_TO_VERIFY_LEAF_SIGNATURE = 47,
  SANSTLS_ERR_TLS_CERT_ALTNAME_INVALID = 48,
  SANSTLS_ERR_TLS_PUBLIC_KEY_PIN_MISMATCH = 49,
  SANSTLS_ERR_TLS_IDENTITY_REJECTED = 50,
  SANSTLS_CERT_REVOKED = 51,
  SANSTLS_CERT_SIGNATURE_FAILURE = 52,
  SANSTLS_INVALID_PURPOSE = 53,
  SANSTLS_CERT_REJECTED = 54,
  SANSTLS_ERR_SSL_BAD_CERTIFICATE = 55,
  SANSTLS_ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC = 56,
  SANSTLS_ERR_SSL_RECORD_OVERFLOW = 57,
  SANSTLS_ERR_SSL_UNEXPECTED_RECORD = 58,
  SANSTLS_ERR_TLS_KEY_UPDATE_UNSUPPORTED = 59,
  SANSTLS_ENOTFOUND = 60,
  SANSTLS_ECONNREFUSED = 61,
  SANSTLS_ETIMEDOUT = 62,
  SANSTLS_ECONNRESET = 63,
  SANSTLS_ENETUNREACH = 64,
  SANSTLS_ERR_TRANSPORT = 65,
  SANSTLS_ERR_PROXY_REFUSED = 66,
  SANSTLS_ERR_PROXY_CLOSED = 67,
  SANSTLS_ERR_PROXY_BAD_REPLY = 68,
  SANSTLS_ERR_TLS_OUT_OF_MEMORY = 69,
  SANSTLS_ERR_TLS_RANDOM_FAILED = 70,
  SANSTLS_ERR_TLS_INTERNAL = 71,
  SANSTLS_ERR_SSL_BAD_SIGNATURE = 72,
  /* An engine error newer than this C API; its name is still exact. */
  SANSTLS_ERR_TLS_UNKNOWN = 999,
  SANSTLS_ERROR_CODE_MAX_ENUM = 0x7fffffff
} sanstls_error_code;

typedef enum sanstls_stage {
  SANSTLS_STAGE_NONE = 0,
  SANSTLS_STAGE_CONFIG,
  SANSTLS_STAGE_RESOLVE,
  SANSTLS_STAGE_CONNECT,
  SANSTLS_STAGE_TRANSPORT,
  SANSTLS_STAGE_HANDSHAKE,
  SANSTLS_STAGE_CERTIFICATE,
  SANSTLS_STAGE_RECORD,
  SANSTLS_STAGE_CLOSED,
  SANSTLS_STAGE_INTERNAL,
  SANSTLS_STAGE_PROXY,
  SANSTLS_STAGE_MAX_ENUM = 0x7fffffff
} sanstls_stage;

typedef enum sanstls_alert_direction {
  SANSTLS_ALERT_NONE = 0,
  SANSTLS_ALERT_SENT = 1,
  SANSTLS_ALERT_RECEIVED = 2,
  SANSTLS_ALERT_DIRECTION_MAX_ENUM = 0x7fffffff
} sanstls_alert_direction;

#define SANSTLS_ERROR_MESSAGE_CAPACITY 200

/* One failure, as a plain struct (no allocation, safe to copy). */
typedef struct sanstls_error {
  sanstls_error_code code;
  const char* name; /* "CERT_HAS_EXPIRED" (static storage) */
  sanstls_stage stage;
  const char* stage_name; /* "certificate" (static storage) */
  sanstls_alert_direction alert_direction;
  int alert;              /* TLS alert number, -1 when none */
  const char* alert_name; /* "certificate_expired", "" when none */
  int backend_code;       /* mbedTLS's (negative) code, 0 when none */
  char message[SANSTLS_ERROR_MESSAGE_CAPACITY];
} sanstls_error;

/* "ERR_TLS_CERT_PARSE_FAILED"; "ERR_TLS_UNKNOWN" for values outside the enum. */
SANSTLS_API const char* sanstls_error_code_name(sanstls_error_code code);
SANSTLS_API const char* sanstls_stage_name(sanstls_stage stage);
/* "handshake_failure"; "unknown" outside the registry. */
SANSTLS_API const char* sanstls_alert_name(int alert);

/* The library's version ("0.1.0"), which equals SANSTLS_VERSION when the
 * header and the library match; and the mbedTLS version built in. */
SANSTLS_API const char* sanstls_version(void);
SANSTLS_API const char* sanstls_mbedtls_version(void);

/* ---- configuration ----------------------------------------------------- */

typedef struct sanstls_config_builder sanstls_config_builder;
typedef struct sanstls_config sanstls_config;
typedef struct sanstls_connection sanstls_connection;

typedef enum sanstls_role {
  SANSTLS_ROLE_CLIENT = 0,
  SANSTLS_ROLE_SERVER = 1,
  SANSTLS_ROLE_MAX_ENUM = 0x7fffffff
} sanstls_role;

typedef enum sanstls_tls_version {
  SANSTLS_TLS1_2 = 0x0303,
  SANSTLS_TLS1_3 = 0x0304,
  SANSTLS_TLS_VERSION_MAX_ENUM = 0x7fffffff
} sanstls_tls_version;

/* none: clients do not verify, servers ask for no certificate; optional:
 * verify and report (servers request but accept absence); required: fail the
 * handshake on any problem (the client default). */
typedef enum sanstls_verification {
  SANSTLS_VERIFY_NONE = 0,
  SANSTLS_VERIFY_OPTIONAL = 1,
  SANSTLS_VERIFY_REQUIRED = 2,
  SANSTLS_VERIFY_MAX_ENUM = 0x7fffffff
} sanstls_verification;

typedef enum sanstls_preset {
  SANSTLS_PRESET_MODERN = 0,       /* TLS 1.3 only */
  SANSTLS_PRESET_INTERMEDIATE = 1, /* TLS 1.2-1.3, ECDHE AEAD suites */
  SANSTLS_PRESET_MAX_ENUM = 0x7fffffff
} sanstls_preset;

typedef enum sanstls_psk_mode {
  SANSTLS_PSK_WITH_ECDHE = 0,
  SANSTLS_PSK_WITHOUT_ECDHE = 1,
  SANSTLS_PSK_EITHER = 2,
  SANSTLS_PSK_MAX_ENUM = 0x7fffffff
} sanstls_psk_mode;

/* Randomness: fill `out` completely and return 1, or 0 when none is
 * available (the operation then fails with ERR_TLS_RANDOM_FAILED). */
typedef int (*sanstls_random_fn)(void* user_data, uint8_t* out, size_t length);
/* Wall-clock time, milliseconds since the Unix epoch (UTC). */
typedef int64_t (*sanstls_clock_fn)(void* user_data);
/* One NSS key log line (SSLKEYLOGFILE format, no newline, NUL-terminated). */
typedef void (*sanstls_key_log_fn)(void* user_data, const char* line);

/* One traced record, handshake message or alert (both directions). */
typedef struct sanstls_trace_entry {
  int sent;               /* 1 sent, 0 received */
  int kind;               /* 0 record, 1 handshake message, 2 alert */
  uint8_t content_type;   /* records: 20 ccs, 21 alert, 22 handshake, 23 data */
  int encrypted;          /* records: protected */
  uint8_t handshake_type; /* handshake messages: 1 ClientHello, ... */
  uint8_t alert_level;    /* alerts: 1 warning, 2 fatal */
  uint8_t alert;          /* alerts: description */
  size_t length;
} sanstls_trace_entry;
typedef void (*sanstls_trace_fn)(void* user_data, const sanstls_trace_entry* entry);

/* Servers: the key for a PSK identity. Copy at most `capacity` bytes into
 * `key` and return its length, or return 0 when the identity is unknown. */
typedef size_t (*sanstls_psk_lookup_fn)(void* user_data, const uint8_t* identity,
                                        size_t identity_length, uint8_t* key, size_t capacity);

/* Servers: what the SNI selector decides for one connection. */
typedef enum sanstls_sni_answer {
  SANSTLS_SNI_USE_DEFAULT = 0, /* this config */
  SANSTLS_SNI_USE = 1,         /* *use (set by the selector; not taken over) */
  SANSTLS_SNI_REJECT = 2,      /* unrecognized_name */
  SANSTLS_SNI_LATER = 3,       /* pause; answer with sanstls_connection_provide_config()
                                  or sanstls_connection_reject_server_name() */
  SANSTLS_SNI_MAX_ENUM = 0x7fffffff
} sanstls_sni_answer;
/* Called with the name the client asked for ("" when none). */
typedef sanstls_sni_answer (*sanstls_sni_fn)(void* user_data, const char* server_name,
                                             const sanstls_config** use);

/* Servers: choose one of the client's ALPN protocols: return its index in
 * offered[0..count), or -1 to refuse them all (no_application_protocol). */
typedef int (*sanstls_alpn_select_fn)(void* user_data, const char* const* offered, size_t count);

typedef struct sanstls_certificate sanstls_certificate;
/* Clients: an extra check of the verified leaf (Node's checkServerIdentity).
 * Return 1 to accept; 0 to reject, after writing the reason (NUL-terminated,
 * at most reason_capacity bytes) into `reason`: the handshake then fails
 * with ERR_TLS_IDENTITY_REJECTED carrying that reason. */
typedef int (*sanstls_identity_check_fn)(void* user_data, const char* server_name,
                                         const sanstls_certificate* leaf, char* reason,
                                         size_t reason_capacity);

/* Session ticket keys, to share between servers (a fleet, or a reload) so
 * any of them resumes any ticket. They can decrypt past sessions'
 * resumptions: protect them like private keys. */
typedef struct sanstls_ticket_keys sanstls_ticket_keys;
/* Fresh keys from the OS's randomness. */
SANSTLS_API sanstls_error_code sanstls_ticket_keys_generate(sanstls_ticket_keys** out,
                                                            sanstls_error* error);
/* From sanstls_ticket_keys_to_bytes(): 48 bytes (one key) or 96 (current and
 * previous). */
SANSTLS_API sanstls_error_code sanstls_ticket_keys_from_bytes(const uint8_t* bytes, size_t length,
                                                              sanstls_ticket_keys** out,
                                                              sanstls_error* error);
/* Call with out == NULL to learn *length (48 or 96). */
SANSTLS_API sanstls_error_code sanstls_ticket_keys_to_bytes(const sanstls_ticket_keys* keys,
                                                            uint8_t* out, size_t* length);
/* A new current key; the old one still opens the tickets it sealed. */
SANSTLS_API sanstls_error_code sanstls_ticket_keys_rotate(sanstls_ticket_keys* keys);
SANSTLS_API void sanstls_ticket_keys_free(sanstls_ticket_keys* keys);

/* A builder collects settings; sanstls_config_build() validates them. Setters
 * only fail on NULL arguments: bad values surface in build, with a named
 * error of stage config. Randomness and time default to the OS's. */
SANSTLS_API sanstls_error_code sanstls_config_builder_new(sanstls_role role,
                                                          sanstls_config_builder** out);
SANSTLS_API void sanstls_config_builder_free(sanstls_config_builder* builder);

SANSTLS_API sanstls_error_code sanstls_config_builder_preset(sanstls_config_builder* b,
                                                             sanstls_preset preset);
SANSTLS_API sanstls_error_code sanstls_config_builder_versions(sanstls_config_builder* b,
                                                               sanstls_tls_version min,
                                                               sanstls_tls_version max);
/* Colon- or comma-separated lists, IANA or OpenSSL names. */
SANSTLS_API sanstls_error_code sanstls_config_builder_cipher_suites(sanstls_config_builder* b,
                                                                    const char* list);
SANSTLS_API sanstls_error_code sanstls_config_builder_groups(sanstls_config_builder* b,
                                                             const char* list);
SANSTLS_API sanstls_error_code
sanstls_config_builder_signature_algorithms(sanstls_config_builder* b, const char* list);
/* A certificate chain (PEM bundle or one DER certificate, leaf first) and its
 * private key (PEM or DER); `passphrase` may be NULL. */
SANSTLS_API sanstls_error_code sanstls_config_builder_certificate(
    sanstls_config_builder* b, const uint8_t* chain, size_t chain_length, const uint8_t* key,
    size_t key_length, const char* passphrase);
SANSTLS_API sanstls_error_code sanstls_config_builder_trust_anchors(sanstls_config_builder* b,
                                                                    const uint8_t* pem_or_der,
                                                                    size_t length);
/* The system's CA bundle (honours SSL_CERT_FILE). */
SANSTLS_API sanstls_error_code
sanstls_config_builder_system_trust_anchors(sanstls_config_builder* b, sanstls_error* error);
SANSTLS_API sanstls_error_code sanstls_config_builder_crl(sanstls_config_builder* b,
                                                          const uint8_t* pem_or_der, size_t length);
SANSTLS_API sanstls_error_code sanstls_config_builder_peer_verification(sanstls_config_builder* b,
                                                                        sanstls_verification mode);
/* Accept only servers whose leaf key has this SHA-256 (base64). Repeatable. */
SANSTLS_API sanstls_error_code sanstls_config_builder_pin_public_key(sanstls_config_builder* b,
                                                                     const char* sha256_base64);
/* ALPN protocols in preference order. */
SANSTLS_API sanstls_error_code sanstls_config_builder_alpn(sanstls_config_builder* b,
                                                           const char* const* protocols,
                                                           size_t count);
SANSTLS_API sanstls_error_code sanstls_config_builder_alpn_selector(sanstls_config_builder* b,
                                                                    sanstls_alpn_select_fn select,
                                                                    void* user_data);
SANSTLS_API sanstls_error_code sanstls_config_builder_check_server_identity(
    sanstls_config_builder* b, sanstls_identity_check_fn check, void* user_data);
/* Servers: seal tickets with these keys (shared: the builder keeps a reference). */
SANSTLS_API sanstls_error_code sanstls_config_builder_ticket_keys(sanstls_config_builder* b,
                                                                  const sanstls_ticket_keys* keys);
SANSTLS_API sanstls_error_code sanstls_config_builder_honor_cipher_order(sanstls_config_builder* b,
                                                                         int server_order);
/* Servers, SNI: serve `context` (a server config) to clients asking for
 * `name` (exact or "*.example.com"). The builder keeps what it needs. */
SANSTLS_API sanstls_error_code sanstls_config_builder_sni_context(sanstls_config_builder* b,
                                                                  const char* name,
                                                                  const sanstls_config* context);
SANSTLS_API sanstls_error_code sanstls_config_builder_strict_sni(sanstls_config_builder* b,
                                                                 int strict);
SANSTLS_API sanstls_error_code sanstls_config_builder_sni_selector(sanstls_config_builder* b,
                                                                   sanstls_sni_fn selector,
                                                                   void* user_data);
SANSTLS_API sanstls_error_code sanstls_config_builder_random(sanstls_config_builder* b,
                                                             sanstls_random_fn random,
                                                             void* user_data);
SANSTLS_API sanstls_error_code sanstls_config_builder_clock(sanstls_config_builder* b,
                                                            sanstls_clock_fn clock,
                                                            void* user_data);
/* Deterministic randomness (ChaCha20 keyed by `seed`): tests only. */
SANSTLS_API sanstls_error_code sanstls_config_builder_seeded_random(sanstls_config_builder* b,
                                                                    uint64_t seed);
/* Clients: an external PSK. Servers: a lookup. */
SANSTLS_API sanstls_error_code sanstls_config_builder_psk(sanstls_config_builder* b,
                                                          const char* identity, const uint8_t* key,
                                                          size_t key_length);
SANSTLS_API sanstls_error_code sanstls_config_builder_psk_lookup(sanstls_config_builder* b,
                                                                 sanstls_psk_lookup_fn lookup,
                                                                 void* user_data);
SANSTLS_API sanstls_error_code sanstls_config_builder_psk_mode(sanstls_config_builder* b,
                                                               sanstls_psk_mode mode);
/* Tickets (servers: count per handshake, 0 = off; clients: 0 = do not ask). */
SANSTLS_API sanstls_error_code sanstls_config_builder_session_tickets(sanstls_config_builder* b,
                                                                      uint32_t count,
                                                                      uint32_t lifetime_seconds);
/* Servers: keep TLS 1.2 sessions by ID in memory (at most max_entries). */
SANSTLS_API sanstls_error_code sanstls_config_builder_session_cache(sanstls_config_builder* b,
                                                                    size_t max_entries);
SANSTLS_API sanstls_error_code sanstls_config_builder_renegotiation(sanstls_config_builder* b,
                                                                    int enabled);
/* TLS 1.3 0-RTT (servers: bytes accepted, 0 = off; clients: offer it). */
SANSTLS_API sanstls_error_code sanstls_config_builder_early_data(sanstls_config_builder* b,
                                                                 uint32_t max_bytes);
SANSTLS_API sanstls_error_code sanstls_config_builder_handshake_timeout(sanstls_config_builder* b,
                                                                        uint32_t milliseconds);
SANSTLS_API sanstls_error_code sanstls_config_builder_close_timeout(sanstls_config_builder* b,
                                                                    uint32_t milliseconds);
SANSTLS_API sanstls_error_code sanstls_config_builder_max_send_fragment(sanstls_config_builder* b,
                                                                        size_t bytes);
SANSTLS_API sanstls_error_code sanstls_config_builder_max_pending_output(sanstls_config_builder* b,
                                                                         size_t bytes);
SANSTLS_API sanstls_error_code
sanstls_config_builder_max_connection_memory(sanstls_config_builder* b, size_t bytes);
SANSTLS_API sanstls_error_code sanstls_config_builder_key_log(sanstls_config_builder* b,
                                                              sanstls_key_log_fn callback,
                                                              void* user_data);
SANSTLS_API sanstls_error_code sanstls_config_builder_trace(sanstls_config_builder* b,
                                                            sanstls_trace_fn callback,
                                                            void* user_data);

/* Validates everything; on failure *out is NULL and `error` says why. The
 * builder may be reused or freed afterwards. */
SANSTLS_API sanstls_error_code sanstls_config_build(const sanstls_config_builder* b,
                                                    sanstls_config** out, sanstls_error* error);
SANSTLS_API void sanstls_config_free(sanstls_config* config);
SANSTLS_API sanstls_role sanstls_config_role(const sanstls_config* config);
/* Heap held by the config; 0 for NULL. */
SANSTLS_API size_t sanstls_config_memory_bytes(const sanstls_config* config);

/* ---- connections ------------------------------------------------------- */

/* A client for `server_name` (SNI and hostname verification; an IP literal
 * is verified but not sent). NULL: no name and no hostname check (explicit
 * opt-out); "" is refused (ERR_TLS_MISSING_SERVER_NAME). `saved_session`
 * (from sanstls_connection_save_session) may be NULL. */
SANSTLS_API sanstls_error_code sanstls_connection_client(
    const sanstls_config* config, const char* server_name, const uint8_t* saved_session,
    size_t saved_session_length, sanstls_connection** out, sanstls_error* error);
SANSTLS_API sanstls_error_code sanstls_connection_server(const sanstls_config* config,
                                                         sanstls_connection** out,
                                                         sanstls_error* error);
SANSTLS_API void sanstls_connection_free(sanstls_connection* conn);

/* Ciphertext from the transport: returns the bytes taken (the caller keeps
 * and offers the rest later). */
SANSTLS_API size_t sanstls_connection_feed(sanstls_connection* conn, const uint8_t* data,
                                           size_t length);
/* Ciphertext to send: valid until the next call on `conn`. */
SANSTLS_API const uint8_t* sanstls_connection_pending_output(sanstls_connection* conn,
                                                             size_t* length);
SANSTLS_API void sanstls_connection_consume_output(sanstls_connection* conn, size_t n);
/* Decrypted application data; 0 when none. */
SANSTLS_API size_t sanstls_connection_read(sanstls_connection* conn, uint8_t* out, size_t capacity);
/* Application data to encrypt: bytes accepted (0 before the handshake
 * completes, once closed, or while output is full). */
SANSTLS_API size_t sanstls_connection_write(sanstls_connection* conn, const uint8_t* data,
                                            size_t length);

/* Readiness flags (level-triggered), see <sanstls/connection.h>. */
enum {
  SANSTLS_WANTS_INPUT = 1u << 0,
  SANSTLS_HAS_OUTPUT = 1u << 1,
  SANSTLS_HAS_PLAINTEXT = 1u << 2,
  SANSTLS_CAN_WRITE = 1u << 3,
  SANSTLS_HANDSHAKE_COMPLETE = 1u << 4,
  SANSTLS_READ_CLOSED = 1u << 5,
  SANSTLS_WRITE_CLOSED = 1u << 6,
  SANSTLS_CLOSED = 1u << 7,
  SANSTLS_AWAITING_CONFIG = 1u << 8
};
/* An OR of the flags above; NULL is SANSTLS_CLOSED. */
SANSTLS_API uint32_t sanstls_connection_wants(const sanstls_connection* conn);

typedef enum sanstls_event_kind {
  SANSTLS_EVENT_HANDSHAKE_COMPLETE = 0,
  SANSTLS_EVENT_SESSION_TICKET = 1,
  SANSTLS_EVENT_PEER_CLOSED = 2,
  SANSTLS_EVENT_WARNING_ALERT = 3,
  SANSTLS_EVENT_SERVER_NAME_REQUESTED = 4,
  SANSTLS_EVENT_EARLY_DATA = 5,
  SANSTLS_EVENT_EARLY_DATA_REJECTED = 6,
  SANSTLS_EVENT_RENEGOTIATED = 7,
  SANSTLS_EVENT_MAX_ENUM = 0x7fffffff
} sanstls_event_kind;

typedef struct sanstls_event {
  sanstls_event_kind kind;
  const char* name; /* "handshake_complete" */
  int alert;        /* warning_alert: the alert number */
  uint32_t count;   /* repeats coalesced */
} sanstls_event;
/* 1 and fills *event when there is one, 0 when none. */
SANSTLS_API int sanstls_connection_next_event(sanstls_connection* conn, sanstls_event* event);

/* Servers after SERVER_NAME_REQUESTED: go on with `config`, or refuse. */
SANSTLS_API sanstls_error_code sanstls_connection_provide_config(sanstls_connection* conn,
                                                                 const sanstls_config* config,
                                                                 sanstls_error* error);
SANSTLS_API sanstls_error_code sanstls_connection_reject_server_name(sanstls_connection* conn);

/* TLS 1.3 0-RTT: clients send before the handshake completes on a resumed
 * session that allows it; servers read it after EARLY_DATA. */
SANSTLS_API size_t sanstls_connection_write_early_data(sanstls_connection* conn,
                                                       const uint8_t* data, size_t length);
SANSTLS_API size_t sanstls_connection_read_early_data(sanstls_connection* conn, uint8_t* out,
                                                      size_t capacity);
/* TLS 1.2 with renegotiation on: 1 when started. */
SANSTLS_API int sanstls_connection_renegotiate(sanstls_connection* conn);

/* Timers: 1 and *deadline_ms when the engine wants sanstls_connection_on_timer
 * called at that time (on the config's clock), 0 when no timer runs. */
SANSTLS_API int sanstls_connection_next_deadline(const sanstls_connection* conn,
                                                 int64_t* deadline_ms);
SANSTLS_API void sanstls_connection_on_timer(sanstls_connection* conn, int64_t now_ms);
/* 512..16384; SANSTLS_ERR_INVALID_ARG_VALUE outside. */
SANSTLS_API sanstls_error_code sanstls_connection_set_max_send_fragment(sanstls_connection* conn,
                                                                        size_t bytes);

/* Queue close_notify (see "Closing" in <sanstls/connection.h>). */
SANSTLS_API void sanstls_connection_close(sanstls_connection* conn);
/* The transport ended: clean after close_notify, otherwise truncation
 * (ERR_SSL_UNEXPECTED_EOF_WHILE_READING). */
SANSTLS_API void sanstls_connection_transport_eof(sanstls_connection* conn);

/* RFC 5705 / 8446 keying material into out[0..length). `context` NULL means
 * no context (distinct from an empty one in TLS 1.2). */
SANSTLS_API sanstls_error_code sanstls_connection_export_keying_material(
    const sanstls_connection* conn, const char* label, const uint8_t* context,
    size_t context_length, uint8_t* out, size_t length, sanstls_error* error);

/* Clients: the session to resume later (an opaque blob holding secrets).
 * Call with out == NULL to learn *length; then with a buffer of that size. */
SANSTLS_API sanstls_error_code sanstls_connection_save_session(const sanstls_connection* conn,
                                                               uint8_t* out, size_t* length,
                                                               sanstls_error* error);

/* The sticky error: SANSTLS_OK when none. */
SANSTLS_API sanstls_error_code sanstls_connection_error(const sanstls_connection* conn,
                                                        sanstls_error* error);

/* What was negotiated (meaningful once the handshake completed). Strings
 * point into the connection; valid until the next call on it. */
typedef struct sanstls_info {
  sanstls_tls_version version;
  const char* protocol; /* "TLSv1.3" */
  uint16_t cipher_id;
  const char* cipher_standard_name; /* "TLS_AES_128_GCM_SHA256" */
  const char* cipher_name;          /* OpenSSL's name */
  const char* group;                /* "X25519"; "" when none */
  const char* alpn_protocol;        /* "" when none */
  const char* server_name;
  const char* psk_identity; /* "" when none */
  int session_reused;
  int ticket_received;
  size_t early_data_sent;
  int early_data_accepted;
  size_t peer_certificate_count;
  int authorized;
  sanstls_error authorization_error; /* why not authorized */
} sanstls_info;
SANSTLS_API sanstls_error_code sanstls_connection_info(const sanstls_connection* conn,
                                                       sanstls_info* info);

/* The peer's certificate chain, leaf (index 0) first. */
struct sanstls_certificate {
  const uint8_t* der;
  size_t der_length;
  const char* subject; /* "CN=example.com, O=Example" */
  const char* issuer;
  const char* valid_from; /* "Jan  1 00:00:00 2020 GMT" */
  const char* valid_to;
  const char* subjectaltname; /* "DNS:example.com, IP Address:127.0.0.1" */
  const char* fingerprint256; /* "AB:CD:..." */
  const char* serial_number;  /* upper-case hex */
};
SANSTLS_API sanstls_error_code sanstls_connection_peer_certificate(const sanstls_connection* conn,
                                                                   size_t index,
                                                                   sanstls_certificate* out);

/* Heap held by the connection now and at most. */
SANSTLS_API sanstls_error_code sanstls_connection_memory(const sanstls_connection* conn,
                                                         size_t* current_bytes, size_t* peak_bytes);

/* ---- appended later (everything above keeps its ABI) ---------------------- */

/* Clients: choose the certificate when a server asks for one (after its
 * CertificateRequest, TLS 1.3 and 1.2), instead of always presenting the
 * builder's. Called with the server name ("" when none). Set *use to a client
 * config whose certificate (and key) to present and return 1, or return 0 to
 * present none. Only the certificate of *use is taken, at once: the caller may
 * free that config afterwards. */
typedef int (*sanstls_client_certificate_fn)(void* user_data, const char* server_name,
                                             const sanstls_config** use);
SANSTLS_API sanstls_error_code sanstls_config_builder_client_certificate_selector(
    sanstls_config_builder* b, sanstls_client_certificate_fn select, void* user_data);

/* Servers: keep TLS 1.2 sessions by session ID in the caller's own store
 * (shared between processes, say), like Node's newSession/resumeSession.
 * The callbacks run during engine calls, possibly on several threads.
 *   save:   keep `session` (opaque, holds secrets) under `id`.
 *   load:   the session saved under `id`: return its length and, when it fits
 *           in `capacity`, copy it into `out`; when it does not fit, copy
 *           nothing: load is called again with a buffer of that length.
 *           Return 0 when there is none.
 *   remove: forget `id` (may be NULL: then nothing is removed).
 * Replaces sanstls_config_builder_session_cache(). */
typedef void (*sanstls_session_save_fn)(void* user_data, const uint8_t* id, size_t id_length,
                                        const uint8_t* session, size_t session_length);
typedef size_t (*sanstls_session_load_fn)(void* user_data, const uint8_t* id, size_t id_length,
                                          uint8_t* out, size_t capacity);
typedef void (*sanstls_session_remove_fn)(void* user_data, const uint8_t* id, size_t id_length);
SANSTLS_API sanstls_error_code sanstls_config_builder_session_store(
    sanstls_config_builder* b, sanstls_session_save_fn save, sanstls_session_load_fn load,
    sanstls_session_remove_fn remove, void* user_data);

/* Servers with 0-RTT: the tickets whose early data was already accepted, so
 * each ticket's early data is accepted once (RFC 8446 8.1). Share one store
 * between the configs of a server (a reload; servers sharing ticket keys in
 * one process) so no config accepts a ClientHello another one already took.
 * Bounded (max_entries, 0 = the default 65536); thread-safe. */
typedef struct sanstls_replay_store sanstls_replay_store;
SANSTLS_API sanstls_error_code sanstls_replay_store_new(size_t max_entries,
                                                        sanstls_replay_store** out);
/* Tickets remembered now; 0 for NULL. */
SANSTLS_API size_t sanstls_replay_store_size(const sanstls_replay_store* store);
SANSTLS_API void sanstls_replay_store_free(sanstls_replay_store* store);
/* Use this store (the builder keeps a reference). Default: a fresh store per config. */
SANSTLS_API sanstls_error_code sanstls_config_builder_early_data_replay_store(
    sanstls_config_builder* b, const sanstls_replay_store* store);
/* The store a config uses, as a new handle (to give the next config on a
 * reload); SANSTLS_ERR_INVALID_ARG_VALUE when the config has no 0-RTT. */
SANSTLS_API sanstls_error_code sanstls_config_replay_store(const sanstls_config* config,
                                                           sanstls_replay_store** out);

/* A config that can be replaced while connections are made from it (the C
 * form of the C++ ConfigSlot, like Node's server.setSecureContext()): new
 * connections take the current one, connections already made keep theirs.
 * Thread-safe: a reload in one thread, accepts in others. */
typedef struct sanstls_config_slot sanstls_config_slot;
/* The slot keeps its own reference: `initial` may be freed afterwards. */
SANSTLS_API sanstls_error_code sanstls_config_slot_new(const sanstls_config* initial,
                                                       sanstls_config_slot** out);
SANSTLS_API sanstls_error_code sanstls_config_slot_store(sanstls_config_slot* slot,
                                                         const sanstls_config* next);
/* The current config, as a new handle the caller frees. */
SANSTLS_API sanstls_error_code sanstls_config_slot_load(const sanstls_config_slot* slot,
                                                        sanstls_config** out);
SANSTLS_API void sanstls_config_slot_free(sanstls_config_slot* slot);

#ifdef __cplusplus
}
#endif

#endif /* SANSTLS_H */
