/* bench overlay (MBEDTLS_USER_CONFIG_FILE): AES-NI/PCLMUL off (what the fast path is worth) */
#undef MBEDTLS_AESNI_C
