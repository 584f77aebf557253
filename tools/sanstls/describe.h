// Turning a connection's state into words: the client's --json object, the
// human summary, the staged error line, the server's per-connection log
// fields and the --www page. Formatting only; no I/O.
#pragma once

#include <optional>
#include <string>

#include "json.h"
#include "sanstls/adapters/blocking.h"
#include "sanstls/connection.h"

namespace sanstls_cli {

// "[certificate] ERR_TLS_CERT_ALTNAME_INVALID: message (alert bad_certificate sent)"
std::string error_text(const sanstls::Error& error);

// {stage, code, alert, alertDirection, message}
void write_error(Json& json, const sanstls::Error& error);
// {subject, issuer, valid_from, valid_to, subjectaltname, fingerprint256, serialNumber}
void write_certificate(Json& json, const sanstls::CertificateInfo& cert);

// Everything the client reports. `info` is null when no handshake completed.
struct ClientReport {
  const sanstls::ConnectionInfo* info = nullptr;
  std::string servername;  // what was asked for
  std::string received;    // at most kMaxReceivedInJson bytes
  uint64_t bytes_received = 0;
  sanstls::Error error;              // ok() on success
  std::string keying_material;       // hex, when --export-keying-material was given
  std::optional<bool> renegotiated;  // --renegotiate: whether a renegotiation completed
  // Through an HTTP proxy: its URL (no credentials) and its answer to CONNECT.
  std::string proxy_url;
  const sanstls::blocking::ProxyReply* proxy_reply = nullptr;
};
inline constexpr size_t kMaxReceivedInJson = 64 * 1024;
std::string client_json(const ClientReport& report);

// The few lines `openssl s_client` prints after a handshake.
std::string handshake_summary(const sanstls::ConnectionInfo& info, bool verification_enforced);

// "TLSv1.3 TLS_AES_128_GCM_SHA256 X25519 sni=localhost alpn=h2 resumed=no [psk="id"]
// client-cert=none"
std::string connection_brief(const sanstls::ConnectionInfo& info);

// The text/plain body of `sanstls server --www`.
std::string www_page(const sanstls::ConnectionInfo& info, const std::string& peer_address,
                     const std::string& request_head);

}  // namespace sanstls_cli
