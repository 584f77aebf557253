# Firmware (issue 15): both profiles cross-compiled for a Cortex-M4 and run in
# QEMU against openssl s_server (scripts/firmware.sh writes
# build/firmware/report.json); then docs/firmware.md's table must agree
# with the report. About 30 s cold (ccache), 10 s warm.
add_test(NAME firmware_qemu COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/firmware.sh)
set_tests_properties(firmware_qemu PROPERTIES LABELS "firmware" TIMEOUT 600
  FIXTURES_SETUP firmware_report RUN_SERIAL TRUE)
add_test(NAME firmware_doc_matches_report
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/firmware/host/check_report.py
    --doc ${CMAKE_SOURCE_DIR}/docs/firmware.md
    --report ${CMAKE_SOURCE_DIR}/build/firmware/report.json)
set_tests_properties(firmware_doc_matches_report PROPERTIES LABELS "firmware"
  FIXTURES_REQUIRED firmware_report)

# sanstls/sync.h on the host (the bare-metal side runs in the image above).
add_executable(sanstls_sync_tests firmware/sync_test.cpp)
target_link_libraries(sanstls_sync_tests PRIVATE sanstls_core Catch2::Catch2WithMain)
sanstls_strict_warnings(sanstls_sync_tests)
catch_discover_tests(sanstls_sync_tests PROPERTIES LABELS "unit")

# SANSTLS_NO_ERROR_MESSAGES, the firmware's size option, on the host: the
# core's error.cpp compiled with it into a program of its own.
add_executable(sanstls_error_messages_tests firmware/error_messages_test.cpp
  ${CMAKE_SOURCE_DIR}/src/core/error.cpp)
target_compile_definitions(sanstls_error_messages_tests PRIVATE SANSTLS_NO_ERROR_MESSAGES)
target_include_directories(sanstls_error_messages_tests PRIVATE
  ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src/core)
target_link_libraries(sanstls_error_messages_tests PRIVATE Catch2::Catch2WithMain)
sanstls_strict_warnings(sanstls_error_messages_tests)
catch_discover_tests(sanstls_error_messages_tests PROPERTIES LABELS "unit")
