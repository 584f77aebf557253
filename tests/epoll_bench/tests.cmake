# The epoll benchmarks still run end to end (sanstls, nginx, Node): tiny
# counts, a few seconds; the results stay under the build tree.
if(TARGET sanstls_bench_loadgen AND TARGET sanstls_bench_epoll_server)
  add_test(NAME bench_epoll_smoke
    COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/bench-epoll.sh --smoke
            --bin $<TARGET_FILE_DIR:sanstls_bench_loadgen> --out ${CMAKE_BINARY_DIR}/bench-epoll-smoke)
  set_tests_properties(bench_epoll_smoke PROPERTIES LABELS "bench" TIMEOUT 120
    ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
endif()
