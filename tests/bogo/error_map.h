// Our stable error names -> the reason strings BoringSSL prints (":NAME:"),
// which BoGo's tests expect on the shim's stderr.
#pragma once

#include <string>

#include "sanstls/error.h"

namespace sanstls::bogo {

// ":DECODE_ERROR:" and the like; for a fatal alert the peer sent, BoringSSL's
// ":TLSV1_ALERT_<ALERT>:" / ":SSLV3_ALERT_<ALERT>:" form. Empty when our
// error has no BoringSSL counterpart (the runner then reports a mismatch).
std::string boringssl_reason(const Error& error);

}  // namespace sanstls::bogo
