# SanstlsMbedtls.cmake - build the vendored mbedTLS 3.6 with sanstls' config.
#
# Usage (top-level CMakeLists.txt):
#   list(APPEND CMAKE_MODULE_PATH ${CMAKE_SOURCE_DIR}/cmake)
#   include(SanstlsWarnings)
#   sanstls_enable_sanitizers()        # before this module, so mbedTLS is instrumented
#   include(SanstlsMbedtls)
#   ...
#   target_link_libraries(mbedcrypto PRIVATE sanstls_mbedtls_hooks)
#   target_link_libraries(<your target> PUBLIC sanstls::mbedtls)
#
# Provides:
#   SANSTLS_MBEDTLS_SOURCE_DIR  cache path of the mbedTLS source tree
#   SANSTLS_MBEDTLS_CONFIG_FILE absolute path of our mbedTLS config header
#   SANSTLS_MBEDTLS_VERSION     version string of the tree (e.g. 3.6.6)
#   SANSTLS_DETERMINISTIC       option: PSA uses mbedtls_psa_external_get_random()
#   targets mbedcrypto, mbedx509, mbedtls (static, EXCLUDE_FROM_ALL) and the
#   INTERFACE target sanstls::mbedtls linking all three.
include_guard(GLOBAL)

set(_sanstls_root "${CMAKE_CURRENT_LIST_DIR}/..")
get_filename_component(_sanstls_root "${_sanstls_root}" ABSOLUTE)

option(SANSTLS_DETERMINISTIC
  "Fuzz/test builds only: deterministic PSA RNG via mbedtls_psa_external_get_random()" OFF)

# --- Locate the source tree -------------------------------------------------
set(SANSTLS_MBEDTLS_SOURCE_DIR "$ENV{SANSTLS_MBEDTLS_SOURCE_DIR}" CACHE PATH
  "Unpacked mbedTLS 3.6.x (>= 3.6.6) release tree; empty = run scripts/fetch-mbedtls.sh")

if(NOT SANSTLS_MBEDTLS_SOURCE_DIR)
  message(STATUS "sanstls: locating mbedTLS source via scripts/fetch-mbedtls.sh")
  execute_process(
    COMMAND bash "${_sanstls_root}/scripts/fetch-mbedtls.sh"
    OUTPUT_VARIABLE _sanstls_fetch_out
    RESULT_VARIABLE _sanstls_fetch_rc
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT _sanstls_fetch_rc EQUAL 0)
    message(FATAL_ERROR
      "sanstls: scripts/fetch-mbedtls.sh failed (${_sanstls_fetch_rc}). "
      "Run scripts/setup.sh or pass -DSANSTLS_MBEDTLS_SOURCE_DIR=<mbedtls-3.6.x tree>.")
  endif()
  string(REPLACE "\n" ";" _sanstls_fetch_lines "${_sanstls_fetch_out}")
  list(GET _sanstls_fetch_lines -1 _sanstls_fetch_dir)
  set(SANSTLS_MBEDTLS_SOURCE_DIR "${_sanstls_fetch_dir}" CACHE PATH
    "Unpacked mbedTLS 3.6.x (>= 3.6.6) release tree; empty = run scripts/fetch-mbedtls.sh" FORCE)
endif()

get_filename_component(_sanstls_mbedtls_src "${SANSTLS_MBEDTLS_SOURCE_DIR}" ABSOLUTE)
set(_sanstls_build_info "${_sanstls_mbedtls_src}/include/mbedtls/build_info.h")
if(NOT EXISTS "${_sanstls_build_info}" OR NOT EXISTS "${_sanstls_mbedtls_src}/CMakeLists.txt")
  message(FATAL_ERROR "sanstls: ${_sanstls_mbedtls_src} is not an mbedTLS source tree")
endif()
file(STRINGS "${_sanstls_build_info}" _sanstls_ver_line
  REGEX "^#define[ \t]+MBEDTLS_VERSION_STRING[ \t]+\"[0-9.]+\"")
string(REGEX REPLACE ".*\"([0-9.]+)\".*" "\\1" SANSTLS_MBEDTLS_VERSION "${_sanstls_ver_line}")
if(SANSTLS_MBEDTLS_VERSION VERSION_LESS 3.6.6 OR NOT SANSTLS_MBEDTLS_VERSION VERSION_LESS 3.7)
  message(FATAL_ERROR
    "sanstls: need mbedTLS 3.6.x >= 3.6.6, found '${SANSTLS_MBEDTLS_VERSION}' in ${_sanstls_mbedtls_src}")
endif()
if(NOT EXISTS "${_sanstls_mbedtls_src}/3rdparty/everest/CMakeLists.txt")
  message(FATAL_ERROR "sanstls: ${_sanstls_mbedtls_src} lacks 3rdparty/everest (use the pristine release archive)")
endif()
message(STATUS "sanstls: mbedTLS ${SANSTLS_MBEDTLS_VERSION} from ${_sanstls_mbedtls_src}")

# --- mbedTLS build options ---------------------------------------------------
# mbedTLS declares cmake_minimum_required(3.5.1), so its option()/set(CACHE)
# calls ignore normal variables (CMP0077/CMP0126 OLD): force cache entries.
set(SANSTLS_MBEDTLS_CONFIG_FILE "${_sanstls_root}/config/mbedtls/sanstls_mbedtls_config.h")
set(ENABLE_PROGRAMS OFF CACHE BOOL "mbedTLS: build programs" FORCE)
set(ENABLE_TESTING OFF CACHE BOOL "mbedTLS: build tests" FORCE)
set(GEN_FILES OFF CACHE BOOL "mbedTLS: regenerate generated sources" FORCE)
set(USE_SHARED_MBEDTLS_LIBRARY OFF CACHE BOOL "mbedTLS: shared libraries" FORCE)
set(USE_STATIC_MBEDTLS_LIBRARY ON CACHE BOOL "mbedTLS: static libraries" FORCE)
set(MBEDTLS_FATAL_WARNINGS OFF CACHE BOOL "mbedTLS: -Werror" FORCE)
set(DISABLE_PACKAGE_CONFIG_AND_INSTALL ON CACHE BOOL "mbedTLS: install rules" FORCE)
set(INSTALL_MBEDTLS_HEADERS OFF CACHE BOOL "mbedTLS: install headers" FORCE)
set(MBEDTLS_CONFIG_FILE "${SANSTLS_MBEDTLS_CONFIG_FILE}" CACHE FILEPATH "mbedTLS config file" FORCE)
set(MBEDTLS_USER_CONFIG_FILE "" CACHE FILEPATH "mbedTLS user config file" FORCE)
# Our config enables MBEDTLS_THREADING_PTHREAD: mbedcrypto links pthread.
set(LINK_WITH_PTHREAD ON CACHE BOOL "mbedTLS: link pthread" FORCE)
mark_as_advanced(ENABLE_PROGRAMS ENABLE_TESTING GEN_FILES USE_SHARED_MBEDTLS_LIBRARY
  USE_STATIC_MBEDTLS_LIBRARY MBEDTLS_FATAL_WARNINGS DISABLE_PACKAGE_CONFIG_AND_INSTALL
  INSTALL_MBEDTLS_HEADERS MBEDTLS_CONFIG_FILE MBEDTLS_USER_CONFIG_FILE)

# SYSTEM (CMake >= 3.25): consumers see mbedTLS headers as system headers, so
# our strict warnings / -Werror never fire on them.
set(_sanstls_subdir_args "${_sanstls_mbedtls_src}" "${CMAKE_BINARY_DIR}/third_party/mbedtls" EXCLUDE_FROM_ALL)
if(NOT CMAKE_VERSION VERSION_LESS 3.25)
  list(APPEND _sanstls_subdir_args SYSTEM)
endif()
add_subdirectory(${_sanstls_subdir_args})

foreach(_t mbedcrypto mbedx509 mbedtls)
  if(NOT TARGET ${_t})
    message(FATAL_ERROR "sanstls: mbedTLS did not define target ${_t}")
  endif()
endforeach()

# Always optimise mbedTLS (-O2 comes after CMAKE_C_FLAGS_<CONFIG>, so it wins),
# whatever the build type; never -Werror (our flags are target-local anyway).
foreach(_t mbedcrypto mbedx509 mbedtls everest p256m)
  if(TARGET ${_t})
    target_compile_options(${_t} PRIVATE -O2 -Wno-error)
    set_target_properties(${_t} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  endif()
endforeach()

if(SANSTLS_DETERMINISTIC)
  # PUBLIC on mbedcrypto: everything that sees the config (mbedx509, mbedtls,
  # sanstls itself) agrees on MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG.  everest/p256m
  # do not link mbedcrypto, so they get it explicitly.
  target_compile_definitions(mbedcrypto PUBLIC SANSTLS_DETERMINISTIC=1)
  foreach(_t everest p256m)
    if(TARGET ${_t})
      target_compile_definitions(${_t} PUBLIC SANSTLS_DETERMINISTIC=1)
    endif()
  endforeach()
endif()

if(NOT TARGET sanstls::mbedtls)
  add_library(sanstls_mbedtls INTERFACE)
  target_link_libraries(sanstls_mbedtls INTERFACE mbedtls mbedx509 mbedcrypto)
  target_include_directories(sanstls_mbedtls SYSTEM INTERFACE
    "${_sanstls_mbedtls_src}/include"
    "${_sanstls_root}/config/mbedtls")
  add_library(sanstls::mbedtls ALIAS sanstls_mbedtls)
endif()

# mbedTLS 3.6 passes NULL with length 0 to memcmp/memcpy in places (found by
# our fuzzer in x509_name_cmp with an empty OID): harmless, but UBSan's
# nonnull-attribute check aborts on it. Only mbedTLS gets this exemption.
foreach(_sanstls_lib mbedcrypto mbedx509 mbedtls)
  if(TARGET ${_sanstls_lib})
    target_compile_options(${_sanstls_lib} PRIVATE -fno-sanitize=nonnull-attribute)
  endif()
endforeach()
