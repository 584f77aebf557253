// Assertions on named errors, shared by the failure tests.
#pragma once

#include <catch2/catch_test_macros.hpp>
#include <string>

#include "sanstls/sanstls.h"

namespace sanstls::test {

inline void expect_error(const Error& error, const std::string& name, Stage stage) {
  INFO("got " << error.name() << " [" << stage_name(error.stage()) << "]: " << error.message());
  CHECK(std::string(error.name()) == name);
  CHECK(error.stage() == stage);
  CHECK(std::string(error.message()).size() > 10);
}

inline void expect_alert(const Error& error, Alert alert, AlertDirection direction) {
  INFO("error " << error.name() << " alert " << alert_name(error.alert()) << " direction "
                << static_cast<int>(error.alert_direction()));
  CHECK(error.has_alert());
  CHECK(error.alert() == alert);
  CHECK(error.alert_direction() == direction);
}

}  // namespace sanstls::test
