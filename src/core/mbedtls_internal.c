/* The few mbedTLS 3.6 fields that only its internal library/ssl_misc.h
 * declares. That header compiles as C only, so this file is C, built with
 * mbedTLS's library/ directory on its include path; mbedtls_private.h
 * declares its functions for the C++ core. */
#include "common.h" /* first, as in mbedTLS's own sources */
#include "ssl_misc.h"

void sanstls_accept_hello_retry_cookie(mbedtls_ssl_context* ssl);
void sanstls_retry_without_other_hash_ticket(mbedtls_ssl_context* ssl, uint16_t suite);

/* mbedTLS 3.6 checks each extension of a HelloRetryRequest against those
 * the first ClientHello sent, and no first ClientHello sends a cookie
 * (RFC 8446 4.2.2), so it refused every cookie with unsupported_extension
 * (mbedTLS issue #9543) although it would echo it. Marking the cookie as
 * sent lets it through; the second ClientHello resets the mask, so a
 * ServerHello with a cookie is still refused. */
void sanstls_accept_hello_retry_cookie(mbedtls_ssl_context* ssl) {
#if defined(MBEDTLS_SSL_PROTO_TLS1_3) && defined(MBEDTLS_SSL_CLI_C)
  if (ssl->handshake != NULL) {
    ssl->handshake->sent_extensions |= (uint32_t)MBEDTLS_SSL_EXT_MASK(COOKIE);
  }
#else
  (void)ssl;
#endif
}

/* RFC 8446 4.1.4: the second ClientHello SHOULD NOT offer a PSK of another
 * hash than the HelloRetryRequest's suite, which the server cannot select;
 * mbedTLS 3.6 offered its ticket anyway. Without the ticket's key exchange
 * flags mbedTLS writes no ticket into the second ClientHello (which stays
 * otherwise the same: `resume` also decides its versions and suites), and
 * a ServerHello selecting it is refused. */
void sanstls_retry_without_other_hash_ticket(mbedtls_ssl_context* ssl, uint16_t suite) {
#if defined(MBEDTLS_SSL_PROTO_TLS1_3) && defined(MBEDTLS_SSL_CLI_C) && \
    defined(MBEDTLS_SSL_SESSION_TICKETS)
  mbedtls_ssl_session* session = ssl->session_negotiate;
  if (ssl->handshake == NULL || !ssl->handshake->resume || session == NULL ||
      session->tls_version != MBEDTLS_SSL_VERSION_TLS1_3) {
    return;
  }
  const mbedtls_ssl_ciphersuite_t* retry = mbedtls_ssl_ciphersuite_from_id(suite);
  const mbedtls_ssl_ciphersuite_t* ticket = mbedtls_ssl_ciphersuite_from_id(session->ciphersuite);
  if (retry != NULL && ticket != NULL && retry->mac != ticket->mac) {
    mbedtls_ssl_tls13_session_clear_ticket_flags(
        session, MBEDTLS_SSL_TLS1_3_TICKET_ALLOW_PSK_RESUMPTION |
                     MBEDTLS_SSL_TLS1_3_TICKET_ALLOW_PSK_EPHEMERAL_RESUMPTION);
  }
#else
  (void)ssl;
  (void)suite;
#endif
}
