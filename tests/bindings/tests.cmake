# Bindings (issue 14): the C API, the Python module and the installed package.
# Label "bindings". Included by tests/CMakeLists.txt.
if(TARGET sanstls_c_shared AND TARGET sanstls)
  set(SANSTLS_BINDINGS_PKI ${CMAKE_BINARY_DIR}/bindings/pki)
  # A throwaway test PKI (ca.pem, server.pem/.key, ...) for the tests below.
  add_test(NAME bindings_pki COMMAND sanstls pki --out ${SANSTLS_BINDINGS_PKI})
  set_tests_properties(bindings_pki PROPERTIES LABELS "bindings" FIXTURES_SETUP bindings_pki)

  # The C API test, plain C99 with -pedantic-errors, linked shared and static.
  foreach(_kind shared static)
    add_executable(sanstls_c_api_${_kind}_test ${CMAKE_CURRENT_LIST_DIR}/c_api_test.c)
    set_target_properties(sanstls_c_api_${_kind}_test PROPERTIES
      C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
    target_compile_options(sanstls_c_api_${_kind}_test PRIVATE -pedantic-errors)
    target_compile_definitions(sanstls_c_api_${_kind}_test PRIVATE
      SANSTLS_PROJECT_VERSION="${sanstls_VERSION}")
    sanstls_strict_warnings(sanstls_c_api_${_kind}_test)
    add_test(NAME c_api_${_kind} COMMAND sanstls_c_api_${_kind}_test ${SANSTLS_BINDINGS_PKI})
    set_tests_properties(c_api_${_kind} PROPERTIES LABELS "bindings"
      FIXTURES_REQUIRED bindings_pki PASS_REGULAR_EXPRESSION "[0-9]+ passed, 0 failed")
  endforeach()
  target_link_libraries(sanstls_c_api_shared_test PRIVATE sanstls_c_shared)
  # The bundled archive alone (plus the C++ runtime), as a C user links it.
  find_package(Threads REQUIRED)
  add_dependencies(sanstls_c_api_static_test sanstls_c_static)
  target_include_directories(sanstls_c_api_static_test PRIVATE
    ${SANSTLS_BINDINGS_DIR}/c/include ${SANSTLS_SOURCE_ROOT}/include)
  target_link_libraries(sanstls_c_api_static_test PRIVATE ${SANSTLS_C_STATIC_ARCHIVE} stdc++
                        Threads::Threads)

  add_test(NAME c_example COMMAND sanstls-c-example ${SANSTLS_BINDINGS_PKI}/ca.pem
           ${SANSTLS_BINDINGS_PKI}/server.pem ${SANSTLS_BINDINGS_PKI}/server.key)
  set_tests_properties(c_example PROPERTIES LABELS "bindings" FIXTURES_REQUIRED bindings_pki
    PASS_REGULAR_EXPRESSION "closed cleanly: yes")

  add_executable(sanstls_c_error_mapping_test ${CMAKE_CURRENT_LIST_DIR}/error_mapping_test.cpp
                 $<TARGET_OBJECTS:sanstls_c_objects>)
  target_link_libraries(sanstls_c_error_mapping_test PRIVATE sanstls_c_objects sanstls::mbedtls)
  sanstls_strict_warnings(sanstls_c_error_mapping_test)
  add_test(NAME c_error_mapping COMMAND sanstls_c_error_mapping_test)
  set_tests_properties(c_error_mapping PROPERTIES LABELS "bindings")

  add_test(NAME c_symbols COMMAND ${CMAKE_CURRENT_LIST_DIR}/check_c_symbols.sh
           $<TARGET_FILE:sanstls_c_shared> libsanstls.so.${sanstls_VERSION_MAJOR})
  set_tests_properties(c_symbols PROPERTIES LABELS "bindings")
endif()
