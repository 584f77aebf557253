# `sanstls server` on the epoll loop at scale (tests/epoll_server): 1,000
# concurrent TLS 1.3/1.2 echo clients, 500 slowloris clients, close reasons,
# idle timer, out-of-descriptors. Python asyncio + ssl clients, loopback only.
# The sanitizer build runs a fifth of the clients to stay within CI's budget.
if(TARGET sanstls)
  if(SANSTLS_SANITIZE)
    set(SANSTLS_EPOLL_SERVER_SCALE 0.2)
  else()
    set(SANSTLS_EPOLL_SERVER_SCALE 1.0)
  endif()
  add_test(NAME epoll_server
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/epoll_server_test.py
            --sanstls $<TARGET_FILE:sanstls> --scale ${SANSTLS_EPOLL_SERVER_SCALE})
  set_tests_properties(epoll_server PROPERTIES LABELS "epoll" TIMEOUT 300
    ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
endif()
