# ---- tunnel (issue 13): the server side of CONNECT joins the sans-I/O tunnel
# library; the epoll adapter gains plain-descriptor watches (Loop::watch) in a
# file of their own.
target_sources(sanstls_tunnel PRIVATE ${CMAKE_SOURCE_DIR}/src/tunnel/connect_server.cpp)
