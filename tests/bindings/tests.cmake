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

  # `sanstls version`, <sanstls/version.h> and project(VERSION) agree (the
  # header is checked at configure time, the CLI here).
  add_test(NAME version_agrees COMMAND sanstls version)
  set_tests_properties(version_agrees PROPERTIES LABELS "bindings"
    PASS_REGULAR_EXPRESSION "^sanstls ${sanstls_VERSION} \\(mbedTLS ${SANSTLS_MBEDTLS_VERSION}\\)")

  add_test(NAME c_symbols COMMAND ${CMAKE_CURRENT_LIST_DIR}/check_c_symbols.sh
           $<TARGET_FILE:sanstls_c_shared> libsanstls.so.${sanstls_VERSION_MAJOR})
  set_tests_properties(c_symbols PROPERTIES LABELS "bindings")
endif()

# The installed package and its consumers (Release builds only: the ASan tree
# is not meant to be installed). tests/consumer/run.sh drives each.
if(TARGET sanstls_c_shared AND NOT SANSTLS_SANITIZE AND SANSTLS_INSTALL)
  set(_consumer ${CMAKE_BINARY_DIR}/consumer)
  add_test(NAME consumer_install
    COMMAND ${SANSTLS_SOURCE_ROOT}/tests/consumer/run.sh install ${CMAKE_BINARY_DIR} ${_consumer}/prefix)
  set_tests_properties(consumer_install PROPERTIES LABELS "bindings" FIXTURES_SETUP consumer_prefix
    PASS_REGULAR_EXPRESSION "install: ok")
  add_test(NAME consumer_find_package
    COMMAND ${SANSTLS_SOURCE_ROOT}/tests/consumer/run.sh find_package ${_consumer}/prefix
            ${_consumer}/find_package)
  add_test(NAME consumer_pkg_config
    COMMAND ${SANSTLS_SOURCE_ROOT}/tests/consumer/run.sh pkg-config ${_consumer}/prefix
            ${_consumer}/pkg-config)
  set_tests_properties(consumer_find_package consumer_pkg_config PROPERTIES LABELS "bindings"
    FIXTURES_REQUIRED consumer_prefix
    ENVIRONMENT "CC=${CMAKE_C_COMPILER};CXX=${CMAKE_CXX_COMPILER}")
  # add_subdirectory: configuring checks what a parent gets (libraries, no
  # tests or tools); building compiles the engine and mbedTLS once more
  # (one to three minutes on 2 cores), so the sanitizer build only configures.
  if(SANSTLS_SANITIZE)
    set(_subdir_default OFF)
  else()
    set(_subdir_default ON)
  endif()
  option(SANSTLS_TEST_SUBDIRECTORY_BUILD "consumer_subdirectory also builds and runs" ${_subdir_default})
  if(SANSTLS_TEST_SUBDIRECTORY_BUILD)
    set(_subdir_step build)
  else()
    set(_subdir_step configure)
  endif()
  add_test(NAME consumer_subdirectory
    COMMAND ${SANSTLS_SOURCE_ROOT}/tests/consumer/run.sh subdirectory ${SANSTLS_SOURCE_ROOT}
            ${_consumer}/subdirectory ${SANSTLS_MBEDTLS_SOURCE_DIR} ${_subdir_step})
  set_tests_properties(consumer_subdirectory PROPERTIES LABELS "bindings" TIMEOUT 900)
endif()

# The Python module against Python's ssl and openssl s_server (pytest from
# Debian on the system python3). Under ASan the module needs the sanitizer
# runtimes preloaded into the (uninstrumented) interpreter.
if(TARGET sanstls_python AND TARGET sanstls)
  set(_python_env
    "PYTHONPATH=${CMAKE_BINARY_DIR}/python" "PYTHONDONTWRITEBYTECODE=1"
    "SANSTLS_PKI_DIR=${SANSTLS_BINDINGS_PKI}" "no_proxy=*")
  if(SANSTLS_SANITIZE)
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libasan.so
                    OUTPUT_VARIABLE _libasan OUTPUT_STRIP_TRAILING_WHITESPACE)
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libubsan.so
                    OUTPUT_VARIABLE _libubsan OUTPUT_STRIP_TRAILING_WHITESPACE)
    # CPython's allocations look like leaks to LeakSanitizer: leaks off.
    list(APPEND _python_env "LD_PRELOAD=${_libasan}:${_libubsan}"
         "ASAN_OPTIONS=detect_leaks=0" "PYTHONMALLOC=malloc")
  endif()
  add_test(NAME python_module
    COMMAND ${Python3_EXECUTABLE} -m pytest -q -p no:cacheprovider
            ${CMAKE_CURRENT_LIST_DIR}/python)
  set_tests_properties(python_module PROPERTIES LABELS "bindings;python" TIMEOUT 300
    FIXTURES_REQUIRED bindings_pki ENVIRONMENT "${_python_env}")
endif()
