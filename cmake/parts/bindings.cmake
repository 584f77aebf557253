# Bindings (issue 14): the C API (bindings/c) as libsanstls.so / libsanstls.a,
# the Python module (bindings/python) and install rules (SanstlsInstall.cmake).
# Included by the top-level CMakeLists.txt after the core libraries.
get_filename_component(SANSTLS_SOURCE_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
set(SANSTLS_BINDINGS_DIR ${SANSTLS_SOURCE_ROOT}/bindings)

# The version in <sanstls/version.h> is the project's: refuse to configure otherwise.
file(STRINGS ${SANSTLS_SOURCE_ROOT}/include/sanstls/version.h _sanstls_version_line
     REGEX "^#define SANSTLS_VERSION \"")
string(REGEX REPLACE ".*\"([^\"]*)\".*" "\\1" _sanstls_header_version "${_sanstls_version_line}")
if(NOT _sanstls_header_version STREQUAL sanstls_VERSION)
  message(FATAL_ERROR "sanstls: include/sanstls/version.h says ${_sanstls_header_version}, "
                      "project() says ${sanstls_VERSION}: update the header")
endif()

# A shared library and Python module are made of these static libraries.
foreach(_t sanstls_core sanstls_mbedtls_hooks sanstls_platform sanstls_tunnel sanstls_blocking
           sanstls_epoll sanstls_testing)
  set_target_properties(${_t} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endforeach()

# ---- C API: one object library, linked shared and bundled static.
add_library(sanstls_c_objects OBJECT ${SANSTLS_BINDINGS_DIR}/c/src/sanstls_c.cpp)
target_include_directories(sanstls_c_objects PUBLIC ${SANSTLS_BINDINGS_DIR}/c/include)
target_link_libraries(sanstls_c_objects PUBLIC sanstls_core sanstls_platform)
target_compile_definitions(sanstls_c_objects PRIVATE
  SANSTLS_MBEDTLS_VERSION_TEXT="${SANSTLS_MBEDTLS_VERSION}")
set_target_properties(sanstls_c_objects PROPERTIES POSITION_INDEPENDENT_CODE ON
  CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
sanstls_strict_warnings(sanstls_c_objects)

# libsanstls.so.0: only sanstls_* symbols leave it (version script).
add_library(sanstls_c_shared SHARED $<TARGET_OBJECTS:sanstls_c_objects>)
add_library(sanstls::c ALIAS sanstls_c_shared)
target_include_directories(sanstls_c_shared PUBLIC
  ${SANSTLS_BINDINGS_DIR}/c/include ${SANSTLS_SOURCE_ROOT}/include)
target_link_libraries(sanstls_c_shared PRIVATE sanstls_core sanstls_platform sanstls::mbedtls)
set_target_properties(sanstls_c_shared PROPERTIES
  OUTPUT_NAME sanstls VERSION ${sanstls_VERSION} SOVERSION ${sanstls_VERSION_MAJOR}
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bindings/c
  LINK_DEPENDS ${SANSTLS_BINDINGS_DIR}/c/sanstls.map)
target_link_options(sanstls_c_shared PRIVATE
  -Wl,--version-script=${SANSTLS_BINDINGS_DIR}/c/sanstls.map)
if(NOT SANSTLS_SANITIZE)
  target_link_options(sanstls_c_shared PRIVATE -Wl,--no-undefined)
endif()

# libsanstls.a: the C API with everything it needs (engine, platform,
# mbedTLS) in one archive, so C users link -lsanstls -lstdc++ -lpthread.
add_library(sanstls_c_api STATIC $<TARGET_OBJECTS:sanstls_c_objects>)
set(_sanstls_bundle sanstls_c_api sanstls_core sanstls_mbedtls_hooks sanstls_platform
    mbedtls mbedx509 mbedcrypto)
foreach(_t everest p256m)
  if(TARGET ${_t})
    list(APPEND _sanstls_bundle ${_t})
  endif()
endforeach()
set(SANSTLS_C_STATIC_ARCHIVE ${CMAKE_BINARY_DIR}/bindings/c/libsanstls.a)
set(_sanstls_mri "create ${SANSTLS_C_STATIC_ARCHIVE}\n")
foreach(_t IN LISTS _sanstls_bundle)
  string(APPEND _sanstls_mri "addlib $<TARGET_FILE:${_t}>\n")
endforeach()
string(APPEND _sanstls_mri "save\nend\n")
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/bindings/c/libsanstls.mri CONTENT "${_sanstls_mri}")
add_custom_command(OUTPUT ${SANSTLS_C_STATIC_ARCHIVE}
  COMMAND ${CMAKE_COMMAND} -DAR=${CMAKE_AR} -DMRI=${CMAKE_BINARY_DIR}/bindings/c/libsanstls.mri
          -DOUT=${SANSTLS_C_STATIC_ARCHIVE} -P ${SANSTLS_BINDINGS_DIR}/c/bundle_archive.cmake
  DEPENDS ${_sanstls_bundle} ${CMAKE_BINARY_DIR}/bindings/c/libsanstls.mri
          ${SANSTLS_BINDINGS_DIR}/c/bundle_archive.cmake
  COMMENT "Bundling libsanstls.a (C API, engine and mbedTLS)")
add_custom_target(sanstls_c_static ALL DEPENDS ${SANSTLS_C_STATIC_ARCHIVE})

# The C example (examples/c_example.c), built against the shared library.
add_executable(sanstls-c-example ${SANSTLS_SOURCE_ROOT}/examples/c_example.c)
target_link_libraries(sanstls-c-example PRIVATE sanstls_c_shared)
set_target_properties(sanstls-c-example PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON
  C_EXTENSIONS OFF)
sanstls_strict_warnings(sanstls-c-example)


# ---- Python: the extension module `sanstls` (pybind11 from Debian, the
# system python3) in build/python, so PYTHONPATH=build/python finds it.
# The system's python3 (Debian's pytest runs on it), not whatever is first on PATH.
if(NOT DEFINED Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
  set(Python3_EXECUTABLE /usr/bin/python3)
endif()
find_package(Python3 COMPONENTS Interpreter Development.Module)
if(Python3_FOUND)
  find_package(pybind11 CONFIG QUIET)
endif()
if(Python3_FOUND AND pybind11_FOUND)
  pybind11_add_module(sanstls_python MODULE NO_EXTRAS ${SANSTLS_BINDINGS_DIR}/python/sanstls_module.cpp)
  target_link_libraries(sanstls_python PRIVATE sanstls_core sanstls_platform)
  set_target_properties(sanstls_python PROPERTIES OUTPUT_NAME sanstls
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/python
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  sanstls_strict_warnings(sanstls_python)
  set(SANSTLS_PYTHON_INSTALL_DIR
      "lib/python${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR}/site-packages" CACHE STRING
      "Where `cmake --install` puts the Python module (relative to the prefix)")
else()
  message(STATUS "sanstls: no pybind11 or Python 3 headers: the Python module is not built "
                 "(scripts/setup.sh installs pybind11-dev and python3-dev)")
endif()

# Install rules (after every target they name).
include(${SANSTLS_SOURCE_ROOT}/cmake/SanstlsInstall.cmake OPTIONAL)
