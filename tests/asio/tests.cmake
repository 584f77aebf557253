# The Asio adapter (include/sanstls/adapters/asio.h), CTest label "asio".
if(TARGET sanstls_asio)
  add_executable(sanstls_asio_tests asio/stream_test.cpp asio/openssl_test.cpp
                 asio/beast_test.cpp)
  target_link_libraries(sanstls_asio_tests PRIVATE sanstls::asio sanstls_test_support sanstls_platform
                        Catch2::Catch2WithMain)
  # C++20 for the coroutine tests (the header itself is C++17).
  target_compile_features(sanstls_asio_tests PRIVATE cxx_std_20)
  sanstls_strict_warnings(sanstls_asio_tests)
  # GCC 12 at -O1 with ASan reports false "may be used uninitialized" inside
  # Boost's use_future and std::function (not in our code).
  if(SANSTLS_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(sanstls_asio_tests PRIVATE -Wno-maybe-uninitialized -Wno-mismatched-new-delete)
  endif()
  catch_discover_tests(sanstls_asio_tests PROPERTIES LABELS "asio" TIMEOUT 120)
else()
  # Boost 1.83 headers missing: a test that says so (a skip, which CI fails).
  add_test(NAME asio_adapter_unavailable
    COMMAND sh -c "echo 'Boost >= 1.83 headers not found: run scripts/setup.sh'; exit 77")
  set_tests_properties(asio_adapter_unavailable PROPERTIES LABELS "asio" SKIP_RETURN_CODE 77)
endif()

# The coroutine echo server example's self-test (examples/asio/echo_server.cpp).
if(TARGET sanstls-asio-echo_server)
  add_test(NAME asio_example_echo_server COMMAND sanstls-asio-echo_server --self-test)
  set_tests_properties(asio_example_echo_server PROPERTIES LABELS "asio" TIMEOUT 60
    PASS_REGULAR_EXPRESSION "self-test passed")
endif()
