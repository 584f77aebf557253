# SanstlsWarnings.cmake - warning policy and sanitizers for sanstls' own code.
#
#   sanstls_strict_warnings(<target>)  strict warnings (+ -Werror if SANSTLS_WERROR)
#   sanstls_enable_sanitizers()        global ASan+UBSan if SANSTLS_SANITIZE; call it
#                                      BEFORE include(SanstlsMbedtls) so that mbedTLS
#                                      is instrumented as well.
# Third-party code (mbedTLS) never gets these warnings or -Werror.
include_guard(GLOBAL)

if(DEFINED ENV{CI} AND NOT "$ENV{CI}" STREQUAL "" AND NOT "$ENV{CI}" MATCHES "^(0|false|FALSE|no|NO)$")
  set(_sanstls_werror_default ON)
else()
  set(_sanstls_werror_default OFF)
endif()
option(SANSTLS_WERROR "Treat warnings in sanstls' own targets as errors" ${_sanstls_werror_default})
option(SANSTLS_SANITIZE "Build everything (incl. mbedTLS) with ASan + UBSan" OFF)

function(sanstls_strict_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 $<$<BOOL:${SANSTLS_WERROR}>:/WX>)
    return()
  endif()
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow
    $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor>)
  if(SANSTLS_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

macro(sanstls_enable_sanitizers)
  if(SANSTLS_SANITIZE)
    if(MSVC)
      message(FATAL_ERROR "sanstls: SANSTLS_SANITIZE is only supported with GCC/Clang")
    endif()
    # vptr checks need RTTI, which the core deliberately builds without.
    add_compile_options(-fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer
                        -fno-sanitize-recover=undefined)
    add_link_options(-fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined)
    message(STATUS "sanstls: ASan + UBSan enabled for all targets")
  endif()
endmacro()
