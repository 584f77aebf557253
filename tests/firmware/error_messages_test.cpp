// SANSTLS_NO_ERROR_MESSAGES (firmware builds, sanstls/error.h): an Error keeps
// its code, stage, alert and backend code, and message() gives the stable
// name; SANSTLS_FORMAT_ERROR_TEXT formats nothing and evaluates no argument,
// SANSTLS_ERROR_TEXT gives "", and an ErrorText field stores nothing.
// This program compiles the core's error.cpp itself with the option (the
// host library keeps its messages); the firmware image runs the whole core
// built this way.
#include <cstring>

#include <catch2/catch_test_macros.hpp>

#include "error_text.h"
#include "sanstls/error.h"

#if !defined(SANSTLS_NO_ERROR_MESSAGES)
#error "this test is built with SANSTLS_NO_ERROR_MESSAGES"
#endif

using namespace sanstls;

TEST_CASE("without messages an Error keeps everything but the text, and names itself") {
  const Error error = Error(ErrorCode::handshake_failure, Stage::handshake, "a long explanation")
                          .with_alert(Alert::handshake_failure, AlertDirection::sent)
                          .with_backend_code(-0x7780);
  CHECK(error.code() == ErrorCode::handshake_failure);
  CHECK(error.stage() == Stage::handshake);
  CHECK(error.alert() == Alert::handshake_failure);
  CHECK(error.alert_direction() == AlertDirection::sent);
  CHECK(error.backend_code() == -0x7780);
  CHECK(std::strcmp(error.message(), "ERR_SSL_HANDSHAKE_FAILURE") == 0);
  CHECK(std::strcmp(Error().message(), "OK") == 0);
  // No message buffer: an Error (and every Result) is small.
  CHECK(sizeof(Error) < 32);
}

TEST_CASE("without messages the error text is not formatted and its arguments not evaluated") {
  char text[Error::kMessageCapacity];
  std::memset(text, 'x', sizeof text);
  int evaluated = 0;
  SANSTLS_FORMAT_ERROR_TEXT(text, "record with unknown content type %d", ++evaluated);
  CHECK(text[0] == '\0');
  CHECK(evaluated == 0);
  // Literals stored before they reach an Error (the advisory guards' verdicts).
  CHECK(std::strlen(SANSTLS_ERROR_TEXT("illegal parameter: a long explanation")) == 0);
}

TEST_CASE("without messages an ErrorText field holds no text") {
  sanstls::detail::ErrorText stored;
  stored = "decode error: a long explanation";
  const char* text = stored;
  CHECK(std::strlen(text) == 0);
  CHECK(std::strcmp(Error(ErrorCode::decode_error, Stage::handshake, stored).message(),
                    "ERR_SSL_DECODE_ERROR") == 0);
}
