# ---- tunnel (issue 13): the server side of CONNECT joins the sans-I/O tunnel
# library; the epoll adapter gains plain-descriptor watches (Loop::watch) in a
# file of their own.
target_sources(sanstls_tunnel PRIVATE ${CMAKE_SOURCE_DIR}/src/tunnel/connect_server.cpp)
target_sources(sanstls_epoll PRIVATE ${CMAKE_SOURCE_DIR}/src/adapters/epoll_watch.cpp)
target_sources(sanstls_epoll PRIVATE ${CMAKE_SOURCE_DIR}/src/adapters/epoll_proxy.cpp)
target_link_libraries(sanstls_epoll PUBLIC sanstls_tunnel)
