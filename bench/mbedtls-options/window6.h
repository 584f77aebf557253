/* bench overlay (MBEDTLS_USER_CONFIG_FILE): ECP window size 6 (default 4) */
#undef MBEDTLS_ECP_WINDOW_SIZE
#define MBEDTLS_ECP_WINDOW_SIZE 6
