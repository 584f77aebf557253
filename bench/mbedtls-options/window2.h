/* bench overlay (MBEDTLS_USER_CONFIG_FILE): ECP window size 2 (default 4) */
#undef MBEDTLS_ECP_WINDOW_SIZE
#define MBEDTLS_ECP_WINDOW_SIZE 2
