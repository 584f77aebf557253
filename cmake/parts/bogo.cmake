# BoGo (BoringSSL's TLS test runner) shim: speaks bssl_shim's flags over our
# public API and a socket. scripts/bogo.sh builds and runs it.
add_executable(sanstls_bogo_shim tests/bogo/shim.cpp tests/bogo/error_map.cpp)
target_link_libraries(sanstls_bogo_shim PRIVATE sanstls_core sanstls_platform)
sanstls_strict_warnings(sanstls_bogo_shim)
