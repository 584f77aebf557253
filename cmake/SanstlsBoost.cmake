# SanstlsBoost.cmake - Boost 1.83 headers (Asio, Beast) for the Asio adapter.
#
# scripts/fetch-boost.sh unpacks libboost1.83-dev into the cache
# (~/.cache/sanstls/boost-1.83; bookworm's own libboost1.74-dev is too old for
# the completion-token and cancellation features the adapter uses). Sets
# SANSTLS_BOOST_FOUND and SANSTLS_BOOST_INCLUDE_DIR, and defines the INTERFACE
# target sanstls::boost_headers (as SYSTEM includes: Boost's own warnings are
# not ours).
include_guard(GLOBAL)

set(_sanstls_boost_hint "$ENV{HOME}/.cache/sanstls/boost-1.83/usr/include")
if(DEFINED ENV{SANSTLS_CACHE})
  list(PREPEND _sanstls_boost_hint "$ENV{SANSTLS_CACHE}/boost-1.83/usr/include")
endif()
set(SANSTLS_BOOST_INCLUDE_DIR "" CACHE PATH "Directory holding boost/version.hpp of Boost >= 1.83")

set(SANSTLS_BOOST_FOUND OFF)
foreach(dir IN LISTS SANSTLS_BOOST_INCLUDE_DIR _sanstls_boost_hint)
  if(dir AND EXISTS "${dir}/boost/version.hpp" AND EXISTS "${dir}/boost/beast.hpp")
    file(STRINGS "${dir}/boost/version.hpp" _v REGEX "^#define BOOST_VERSION [0-9]+")
    string(REGEX REPLACE ".* ([0-9]+)$" "\\1" _v "${_v}")
    if(_v GREATER_EQUAL 108300)
      set(SANSTLS_BOOST_FOUND ON)
      set(SANSTLS_BOOST_INCLUDE_DIR "${dir}" CACHE PATH "Directory holding boost/version.hpp of Boost >= 1.83" FORCE)
      break()
    endif()
  endif()
endforeach()

if(SANSTLS_BOOST_FOUND)
  message(STATUS "sanstls: Boost headers ${SANSTLS_BOOST_INCLUDE_DIR}")
  if(NOT TARGET sanstls_boost_headers)
    add_library(sanstls_boost_headers INTERFACE)
    add_library(sanstls::boost_headers ALIAS sanstls_boost_headers)
    target_include_directories(sanstls_boost_headers SYSTEM INTERFACE "${SANSTLS_BOOST_INCLUDE_DIR}")
    find_package(Threads REQUIRED)
    # Header-only Asio; no Boost library to link, no auto-linking.
    target_compile_definitions(sanstls_boost_headers INTERFACE BOOST_ASIO_NO_DEPRECATED)
    target_link_libraries(sanstls_boost_headers INTERFACE Threads::Threads)
  endif()
else()
  message(STATUS "sanstls: Boost >= 1.83 headers not found (run scripts/setup.sh, "
                 "or set SANSTLS_BOOST_INCLUDE_DIR): the Asio adapter is not built")
endif()
