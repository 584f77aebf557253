/* bench overlay (MBEDTLS_USER_CONFIG_FILE): no fixed-point comb precomputation
 * (MBEDTLS_ECP_FIXED_POINT_OPTIM 0) */
#undef MBEDTLS_ECP_FIXED_POINT_OPTIM
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 0
