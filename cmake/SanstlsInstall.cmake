# SanstlsInstall.cmake - `cmake --install build --prefix P` (issue 14).
#
# Installs the public headers (C++ <sanstls/...> and C <sanstls.h>), the
# static libraries under names of their own (libsanstls-core.a, ...; the
# mbedTLS build as libsanstls-mbed*.a, so it never clashes with a system
# mbedTLS), libsanstls.so.0 and the bundled libsanstls.a, a CMake package
# (find_package(sanstls CONFIG)) and pkg-config files (sanstls.pc for the C
# API, sanstls-cpp.pc for the C++ libraries). Included by cmake/parts/bindings.cmake.
include_guard(GLOBAL)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

option(SANSTLS_INSTALL "Install rules for sanstls (default: when it is the top-level project)"
       ${PROJECT_IS_TOP_LEVEL})
if(NOT SANSTLS_INSTALL)
  return()
endif()

install(DIRECTORY ${SANSTLS_SOURCE_ROOT}/include/sanstls DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${SANSTLS_BINDINGS_DIR}/c/include/sanstls.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# target -> installed base name (lib<name>.a). The package's imported targets
# (cmake/install/sanstlsConfig.cmake.in) use the same names.
set(_sanstls_installed_archives
  sanstls_core:sanstls-core
  sanstls_tunnel:sanstls-tunnel
  sanstls_platform:sanstls-platform
  sanstls_blocking:sanstls-blocking
  sanstls_epoll:sanstls-epoll
  sanstls_testing:sanstls-testing
  sanstls_mbedtls_hooks:sanstls-mbedhooks
  mbedtls:sanstls-mbedtls
  mbedx509:sanstls-mbedx509
  mbedcrypto:sanstls-mbedcrypto
  everest:sanstls-everest
  p256m:sanstls-p256m)
set(SANSTLS_HAVE_EVEREST 0)
set(SANSTLS_HAVE_P256M 0)
foreach(_pair IN LISTS _sanstls_installed_archives)
  string(REPLACE ":" ";" _pair "${_pair}")
  list(GET _pair 0 _target)
  list(GET _pair 1 _name)
  if(TARGET ${_target})
    install(FILES $<TARGET_FILE:${_target}> DESTINATION ${CMAKE_INSTALL_LIBDIR}
            RENAME lib${_name}.a)
    if(_target STREQUAL "everest")
      set(SANSTLS_HAVE_EVEREST 1)
    elseif(_target STREQUAL "p256m")
      set(SANSTLS_HAVE_P256M 1)
    endif()
  endif()
endforeach()

install(TARGETS sanstls_c_shared LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${SANSTLS_C_STATIC_ARCHIVE} DESTINATION ${CMAKE_INSTALL_LIBDIR})

set(_sanstls_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/sanstls)
configure_package_config_file(${SANSTLS_SOURCE_ROOT}/cmake/install/sanstlsConfig.cmake.in
  ${CMAKE_BINARY_DIR}/install/sanstlsConfig.cmake
  INSTALL_DESTINATION ${_sanstls_cmake_dir}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
# 0.x: a new minor version may break the API.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/install/sanstlsConfigVersion.cmake
  VERSION ${sanstls_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/install/sanstlsConfig.cmake
              ${CMAKE_BINARY_DIR}/install/sanstlsConfigVersion.cmake
        DESTINATION ${_sanstls_cmake_dir})

set(SANSTLS_PC_EXTRA_LIBS "")
if(SANSTLS_HAVE_EVEREST)
  string(APPEND SANSTLS_PC_EXTRA_LIBS " -lsanstls-everest")
endif()
if(SANSTLS_HAVE_P256M)
  string(APPEND SANSTLS_PC_EXTRA_LIBS " -lsanstls-p256m")
endif()
foreach(_pc sanstls sanstls-cpp)
  configure_file(${SANSTLS_SOURCE_ROOT}/cmake/install/${_pc}.pc.in
                 ${CMAKE_BINARY_DIR}/install/${_pc}.pc @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/install/${_pc}.pc
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()

if(TARGET sanstls_python)
  install(TARGETS sanstls_python LIBRARY DESTINATION ${SANSTLS_PYTHON_INSTALL_DIR})
endif()

install(FILES ${SANSTLS_SOURCE_ROOT}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/sanstls)
