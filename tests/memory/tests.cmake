# Memory held per idle connection (issue 11): buffers freed once drained, in
# the core (OutputQueue) and in the epoll adapter, with the data intact.
add_executable(sanstls_memory_tests memory/idle_memory_test.cpp)
target_link_libraries(sanstls_memory_tests PRIVATE sanstls_epoll sanstls_blocking
                      sanstls_test_support Catch2::Catch2WithMain)
# OutputQueue is internal (src/core).
target_include_directories(sanstls_memory_tests PRIVATE ${CMAKE_SOURCE_DIR}/src/core)
sanstls_strict_warnings(sanstls_memory_tests)
catch_discover_tests(sanstls_memory_tests PROPERTIES LABELS "unit;memory")
