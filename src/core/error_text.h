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
