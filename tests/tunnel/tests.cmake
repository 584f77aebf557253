# Tunnel suites (issue 13, label "tunnel"). The CONNECT client's tests and
# tunnel_cli are in tests/CMakeLists.txt.

# The server side of CONNECT (tunnel::ConnectRequestParser), in memory.
add_executable(sanstls_tunnel_server_tests tunnel/connect_server_test.cpp)
target_link_libraries(sanstls_tunnel_server_tests PRIVATE sanstls_tunnel Catch2::Catch2WithMain)
sanstls_strict_warnings(sanstls_tunnel_server_tests)
catch_discover_tests(sanstls_tunnel_server_tests PROPERTIES LABELS "tunnel")
