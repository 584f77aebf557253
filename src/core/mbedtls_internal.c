/* The few mbedTLS 3.6 fields that only its internal library/ssl_misc.h
 * declares. That header compiles as C only, so this file is C, built with
 * mbedTLS's library/ directory on its include path; mbedtls_private.h
 * declares its functions for the C++ core. */
#include "common.h" /* first, as in mbedTLS's own sources */
#include "ssl_misc.h"

void sanstls_accept_hello_retry_cookie(mbedtls_ssl_context* ssl);

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
