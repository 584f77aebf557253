# Tunnel suites (issue 13, label "tunnel"). The CONNECT client's tests and
# tunnel_cli are in tests/CMakeLists.txt.

# The server side of CONNECT (tunnel::ConnectRequestParser), in memory.
add_executable(sanstls_tunnel_server_tests tunnel/connect_server_test.cpp)
target_link_libraries(sanstls_tunnel_server_tests PRIVATE sanstls_tunnel Catch2::Catch2WithMain)
sanstls_strict_warnings(sanstls_tunnel_server_tests)
catch_discover_tests(sanstls_tunnel_server_tests PROPERTIES LABELS "tunnel")

# `sanstls proxy` (plain and HTTPS) with our client, curl and openssl s_client,
# every refusal, 200 concurrent tunnels; squid as a second real HTTP proxy.
if(TARGET sanstls)
  add_test(NAME tunnel_proxy
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/tunnel/proxy_test.py --sanstls $<TARGET_FILE:sanstls>)
  set_tests_properties(tunnel_proxy PROPERTIES LABELS "tunnel" TIMEOUT 300
    SKIP_RETURN_CODE 77 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
endif()

# The epoll Loop's watches and connect_through_proxy, over loopback.
add_executable(sanstls_tunnel_epoll_tests tunnel/epoll_tunnel_test.cpp)
target_link_libraries(sanstls_tunnel_epoll_tests PRIVATE sanstls_epoll sanstls_blocking
                      sanstls_test_support Catch2::Catch2WithMain)
sanstls_strict_warnings(sanstls_tunnel_epoll_tests)
catch_discover_tests(sanstls_tunnel_epoll_tests PROPERTIES LABELS "tunnel")

# The blocking adapter through an HTTPS proxy (TLS inside TLS), in-process.
add_executable(sanstls_tunnel_https_proxy_tests tunnel/https_proxy_test.cpp)
target_link_libraries(sanstls_tunnel_https_proxy_tests PRIVATE sanstls_blocking
                      sanstls_test_support Catch2::Catch2WithMain)
sanstls_strict_warnings(sanstls_tunnel_https_proxy_tests)
catch_discover_tests(sanstls_tunnel_https_proxy_tests PROPERTIES LABELS "tunnel")

# The epoll Loop through `sanstls proxy` (HTTP and HTTPS: two engines stacked)
# to `openssl s_server -rev`: a driver on the Loop, and its Python harness.
add_executable(sanstls_epoll_proxy_probe tunnel/epoll_proxy_probe.cpp)
target_link_libraries(sanstls_epoll_proxy_probe PRIVATE sanstls_epoll sanstls_platform)
sanstls_strict_warnings(sanstls_epoll_proxy_probe)
if(TARGET sanstls)
  add_test(NAME tunnel_epoll_https_proxy
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/tunnel/epoll_https_proxy_test.py
            --sanstls $<TARGET_FILE:sanstls> --probe $<TARGET_FILE:sanstls_epoll_proxy_probe>)
  set_tests_properties(tunnel_epoll_https_proxy PROPERTIES LABELS "tunnel;epoll" TIMEOUT 120
    SKIP_RETURN_CODE 77 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
endif()
