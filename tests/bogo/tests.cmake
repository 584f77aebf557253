# Defects BoGo found in the engine, each with a test of its own (run without
# the runner; the runner itself is scripts/bogo.sh, run by scripts/ci.d/bogo.sh).
add_executable(sanstls_bogo_findings_tests api/bogo_findings_test.cpp)
target_link_libraries(sanstls_bogo_findings_tests PRIVATE sanstls_test_support
                      Catch2::Catch2WithMain sanstls::mbedtls)
# The raw-mbedTLS peer runs inside the core's CallScope (src/core).
target_include_directories(sanstls_bogo_findings_tests PRIVATE ${CMAKE_SOURCE_DIR}/src/core)
sanstls_strict_warnings(sanstls_bogo_findings_tests)
catch_discover_tests(sanstls_bogo_findings_tests PROPERTIES LABELS "unit")

# The same defect against a real peer: openssl s_server -tls1_2 with an RSA key.
if(TARGET sanstls)
  add_test(NAME bogo_rsa_tls12_openssl
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/rsa_tls12_openssl_test.py
            --sanstls $<TARGET_FILE:sanstls>)
  set_tests_properties(bogo_rsa_tls12_openssl PROPERTIES LABELS "interop" TIMEOUT 120
    SKIP_RETURN_CODE 77 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
endif()

# ConnectionInfo's handshake facts the shim maps (peer signature scheme, HRR).
add_executable(sanstls_handshake_facts_tests api/handshake_facts_test.cpp)
target_link_libraries(sanstls_handshake_facts_tests PRIVATE sanstls_test_support
                      Catch2::Catch2WithMain)
sanstls_strict_warnings(sanstls_handshake_facts_tests)
catch_discover_tests(sanstls_handshake_facts_tests PROPERTIES LABELS "unit")

# ConnectionInfo::extended_master_secret and ::session_id (the shim's
# -expect-extended-master-secret, -expect-session-id, -expect-no-session-id).
add_executable(sanstls_session_facts_tests api/session_facts_test.cpp)
target_link_libraries(sanstls_session_facts_tests PRIVATE sanstls_test_support
                      Catch2::Catch2WithMain sanstls::mbedtls)
# The raw-mbedTLS peer runs inside the core's CallScope (src/core).
target_include_directories(sanstls_session_facts_tests PRIVATE ${CMAKE_SOURCE_DIR}/src/core)
sanstls_strict_warnings(sanstls_session_facts_tests)
catch_discover_tests(sanstls_session_facts_tests PROPERTIES LABELS "unit")

# ConfigBuilder::certificate_verifier (the shim's -verify-fail, -expect-verify-result).
add_executable(sanstls_certificate_verifier_tests api/certificate_verifier_test.cpp)
target_link_libraries(sanstls_certificate_verifier_tests PRIVATE sanstls_test_support
                      Catch2::Catch2WithMain)
sanstls_strict_warnings(sanstls_certificate_verifier_tests)
catch_discover_tests(sanstls_certificate_verifier_tests PROPERTIES LABELS "unit")

# Plaintext records and handshake messages the engine judges first (BoGo findings).
add_executable(sanstls_plaintext_messages_tests api/plaintext_messages_test.cpp)
target_link_libraries(sanstls_plaintext_messages_tests PRIVATE sanstls_test_support
                      Catch2::Catch2WithMain)
sanstls_strict_warnings(sanstls_plaintext_messages_tests)
catch_discover_tests(sanstls_plaintext_messages_tests PROPERTIES LABELS "unit")
