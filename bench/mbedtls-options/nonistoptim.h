/* bench overlay (MBEDTLS_USER_CONFIG_FILE): no NIST fast reduction (MBEDTLS_ECP_NIST_OPTIM off) */
#undef MBEDTLS_ECP_NIST_OPTIM
