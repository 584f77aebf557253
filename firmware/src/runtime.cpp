// The C++ runtime pieces a -fno-exceptions image needs. libstdc++'s
// prebuilt containers still call std::__throw_*() on misuse (length_error,
// bad_alloc...); linking its own versions would pull in the exception
// unwinder (tens of KB). Here they stop the board instead: with exceptions
// off there is nothing that could catch them anyway.
#include <cstdlib>

#include "board.h"

namespace {
[[noreturn]] void stop(const char* what) {
  semihost_write("{\"fatal\": \"");
  semihost_write(what);
  semihost_write("\"}\n");
  semihost_exit(1);
}
}  // namespace

namespace std {
void __throw_bad_alloc() { stop("bad_alloc"); }
void __throw_bad_array_new_length() { stop("bad_array_new_length"); }
void __throw_length_error(const char* what) { stop(what); }
void __throw_out_of_range(const char* what) { stop(what); }
void __throw_out_of_range_fmt(const char* what, ...) { stop(what); }
void __throw_logic_error(const char* what) { stop(what); }
void __throw_invalid_argument(const char* what) { stop(what); }
void __throw_bad_function_call() { stop("bad_function_call"); }
void __throw_bad_optional_access() { stop("bad_optional_access"); }
void __throw_system_error(int) { stop("system_error"); }
}  // namespace std

extern "C" void __cxa_pure_virtual() { stop("pure virtual call"); }

// Static objects register their destructors against this handle; the image
// never exits through them (semihost_exit), so nothing else is needed.
extern "C" {
void* __dso_handle = nullptr;
void _init() {}
void _fini() {}
}
