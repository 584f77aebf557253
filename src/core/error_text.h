// Formatting an Error's message. With SANSTLS_NO_ERROR_MESSAGES (see
// sanstls/error.h) nothing is formatted and the format string compiles out;
// the arguments stay type-checked but are not evaluated.
#pragma once

#include <cstdio>

#if defined(SANSTLS_NO_ERROR_MESSAGES)
#define SANSTLS_FORMAT_ERROR_TEXT(buffer, ...) \
  ((void)sizeof(std::snprintf(buffer, sizeof buffer, __VA_ARGS__)), (void)((buffer)[0] = '\0'))
#else
#define SANSTLS_FORMAT_ERROR_TEXT(buffer, ...) \
  ((void)std::snprintf(buffer, sizeof buffer, __VA_ARGS__))
#endif

// A message literal that is stored before it reaches an Error (which the
// compiler cannot see through): "" with SANSTLS_NO_ERROR_MESSAGES.
#if defined(SANSTLS_NO_ERROR_MESSAGES)
#define SANSTLS_ERROR_TEXT(literal) ""
#else
#define SANSTLS_ERROR_TEXT(literal) literal
#endif

namespace sanstls::detail {

// An error message kept in a field until it reaches an Error (for example a
// guard's verdict). With SANSTLS_NO_ERROR_MESSAGES it holds nothing, so the
// literals assigned to it compile out without wrapping each one.
class ErrorText {
 public:
  constexpr ErrorText(const char* text = "") noexcept  // NOLINT: made from literals
#if !defined(SANSTLS_NO_ERROR_MESSAGES)
      : text_(text)
#endif
  {
    static_cast<void>(text);
  }
  constexpr operator const char*() const noexcept { return text_; }  // NOLINT

 private:
  const char* text_ = "";
};

}  // namespace sanstls::detail
