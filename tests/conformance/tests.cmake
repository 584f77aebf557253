# Outside conformance check (tests/conformance): Debian's testssl.sh scans
# `sanstls server --www` with an RSA and an ECDSA P-256 certificate on loopback
# (protocols, suites per protocol, server defaults, forward secrecy and every
# -U vulnerability check) and the JSON verdicts are asserted. About a minute on
# 2 cores. Release build only: the scan exercises the server's TLS paths that
# the other suites run under ASan already, and testssl.sh (bash + openssl) is
# most of the time, so an ASan run would double the cost for little.
if(TARGET sanstls AND NOT SANSTLS_SANITIZE)
  add_test(NAME testssl
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/testssl_test.py
            --sanstls $<TARGET_FILE:sanstls> --out ${CMAKE_BINARY_DIR}/testssl)
  set_tests_properties(testssl PROPERTIES LABELS "conformance" TIMEOUT 300
    SKIP_RETURN_CODE 77 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
endif()

# What testssl.sh found, reproduced in memory (both builds). A program of its
# own so that tests/CMakeLists.txt's API list stays as it is.
add_executable(sanstls_testssl_findings_tests ${CMAKE_CURRENT_LIST_DIR}/../api/testssl_findings_test.cpp)
target_link_libraries(sanstls_testssl_findings_tests PRIVATE sanstls_test_support
                      Catch2::Catch2WithMain)
sanstls_strict_warnings(sanstls_testssl_findings_tests)
catch_discover_tests(sanstls_testssl_findings_tests PROPERTIES LABELS "unit")
