# The Asio adapter (issue 12): include/sanstls/adapters/asio.h, header-only,
# over the core's public API, the CONNECT client (tunnel.h) and Boost.Asio.
include(SanstlsBoost)
if(SANSTLS_BOOST_FOUND)
  add_library(sanstls_asio INTERFACE)
  add_library(sanstls::asio ALIAS sanstls_asio)
  target_link_libraries(sanstls_asio INTERFACE sanstls_core sanstls_tunnel sanstls::boost_headers)

  # Examples (examples/asio/), built so they cannot rot.
  if(PROJECT_IS_TOP_LEVEL AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/examples/asio/CMakeLists.txt)
    add_subdirectory(examples/asio)
  endif()
endif()
