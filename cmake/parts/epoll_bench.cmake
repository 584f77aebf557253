# The epoll benchmarks (issue 11): a load generator on the core and a minimal
# echo server on sanstls::epoll, driven by scripts/bench-epoll.sh against
# nginx and Node. Meaningless in sanitizer/deterministic builds: skipped there.
if(SANSTLS_DETERMINISTIC OR SANSTLS_SANITIZE)
  return()
endif()

find_package(Threads REQUIRED)
add_executable(sanstls_bench_loadgen bench/loadgen.cpp)
target_link_libraries(sanstls_bench_loadgen PRIVATE sanstls_core sanstls_platform)
sanstls_strict_warnings(sanstls_bench_loadgen)

add_executable(sanstls_bench_epoll_server bench/epoll_server.cpp)
target_link_libraries(sanstls_bench_epoll_server PRIVATE sanstls_epoll sanstls_platform Threads::Threads)
sanstls_strict_warnings(sanstls_bench_epoll_server)
