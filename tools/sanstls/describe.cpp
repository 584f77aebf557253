#include "describe.h"

namespace sanstls_cli {
namespace {

using sanstls::AlertDirection;
using sanstls::ConnectionInfo;

const char* direction_name(AlertDirection direction) {
  switch (direction) {
    case AlertDirection::sent:
      return "sent";
    case AlertDirection::received:
      return "received";
    case AlertDirection::none:
      break;
  }
  return nullptr;
}

std::string or_none(const std::string& text) { return text.empty() ? "(none)" : text; }

std::string client_certificate_text(const ConnectionInfo& info) {
  if (info.peer_certificates.empty()) return "none";
  std::string text = info.peer_certificates.front().subject;
  text += info.authorized ? " (verified)"
                          : std::string(" (NOT verified: ") + info.authorization_error.name() + ")";
  return text;
}

}  // namespace

std::string error_text(const sanstls::Error& error) {
  std::string text = std::string("[") + sanstls::stage_name(error.stage()) + "] " + error.name() +
                     ": " + error.message();
  if (error.has_alert()) {
    text += std::string(" (alert ") + sanstls::alert_name(error.alert()) + " " +
            direction_name(error.alert_direction()) + ")";
  }
  return text;
}

void write_error(Json& json, const sanstls::Error& error) {
  json.begin_object();
  json.key("stage").value(sanstls::stage_name(error.stage()));
  json.key("code").value(error.name());
  json.key("alert");
  if (error.has_alert())
    json.value(sanstls::alert_name(error.alert()));
  else
    json.null();
  json.key("alertDirection");
  if (error.has_alert())
    json.value(direction_name(error.alert_direction()));
  else
    json.null();
  json.key("message").value(error.message());
  json.end_object();
}

void write_certificate(Json& json, const sanstls::CertificateInfo& cert) {
  json.begin_object();
  json.key("subject").value(cert.subject);
  json.key("issuer").value(cert.issuer);
  json.key("valid_from").value(cert.valid_from);
  json.key("valid_to").value(cert.valid_to);
  json.key("subjectaltname").value(cert.subjectaltname);
  json.key("fingerprint256").value(cert.fingerprint256);
  json.key("serialNumber").value(cert.serial_number);
  json.end_object();
}

std::string client_json(const ClientReport& report) {
  Json json;
  json.begin_object();
  const ConnectionInfo* info = report.info;
  json.key("protocol");
  if (info)
    json.value(info->protocol);
  else
    json.null();
  json.key("cipher");
  if (info) {
    json.begin_object();
    json.key("name").value(info->cipher.name);
    json.key("standardName").value(info->cipher.standard_name);
    json.end_object();
  } else {
    json.null();
  }
  json.key("group");
  if (info)
    json.string_or_null(info->group);
  else
    json.null();
  json.key("alpnProtocol");  // false when none, as Node reports it
  if (info && !info->alpn_protocol.empty())
    json.value(info->alpn_protocol);
  else
    json.value(false);
  json.key("servername").string_or_null(info ? info->server_name : report.servername);
  json.key("authorized").value(info != nullptr && info->authorized);
  json.key("authorizationError");
  if (info && !info->authorized)
    json.value(info->authorization_error.name());
  else if (!info && report.error.stage() == sanstls::Stage::certificate)
    json.value(report.error.name());
  else
    json.null();
  json.key("sessionReused").value(info != nullptr && info->session_reused);
  json.key("ticketReceived").value(info != nullptr && info->ticket_received);
  json.key("pskIdentity");
  if (info)
    json.string_or_null(info->psk_identity);
  else
    json.null();
  json.key("earlyData");
  if (info) {
    json.begin_object();
    json.key("sent").value(static_cast<uint64_t>(info->early_data.sent));
    json.key("accepted").value(info->early_data.accepted);
    json.end_object();
  } else {
    json.null();
  }
  json.key("exportedKeyingMaterial").string_or_null(report.keying_material);
  if (report.renegotiated) json.key("renegotiated").value(*report.renegotiated);
  json.key("peerCertificate");
  if (info && !info->peer_certificates.empty())
    write_certificate(json, info->peer_certificates.front());
  else
    json.null();
  json.key("peerCertificateChain").begin_array();
  if (info) {
    for (const auto& cert : info->peer_certificates) write_certificate(json, cert);
  }
  json.end_array();
  // {url, status, reason, proxyAuthenticate} when a proxy was used; status
  // null when the proxy never sent a complete status line.
  json.key("proxy");
  if (report.proxy_reply != nullptr) {
    const sanstls::blocking::ProxyReply& reply = *report.proxy_reply;
    json.begin_object();
    json.key("url").value(report.proxy_url);
    json.key("status");
    if (reply.status != 0)
      json.value(static_cast<int64_t>(reply.status));
    else
      json.null();
    json.key("reason").string_or_null(reply.reason);
    json.key("proxyAuthenticate").string_or_null(reply.proxy_authenticate);
    json.end_object();
  } else {
    json.null();
  }
  json.key("bytesReceived").value(report.bytes_received);
  json.key("received").value(report.received);
  json.key("error");
  if (report.error)
    write_error(json, report.error);
  else
    json.null();
  json.end_object();
  return json.str();
}

std::string handshake_summary(const ConnectionInfo& info, bool verification_enforced) {
  std::string text = "---\n";
  text += std::string("protocol:     ") + info.protocol + "\n";
  text += std::string("cipher:       ") + info.cipher.standard_name +
          " (OpenSSL: " + info.cipher.name + ")\n";
  text += "group:        " + or_none(info.group) + "\n";
  text += "ALPN:         " + or_none(info.alpn_protocol) + "\n";
  text += "servername:   " + or_none(info.server_name) + "\n";
  text += std::string("resumed:      ") + (info.session_reused ? "yes" : "no") + "\n";
  if (!info.psk_identity.empty()) text += "PSK identity: " + info.psk_identity + "\n";
  if (!info.peer_certificates.empty()) {
    const auto& leaf = info.peer_certificates.front();
    text += "certificate:  " + leaf.subject + "\n";
    text += "  issuer:     " + leaf.issuer + "\n";
    text += "  valid:      " + leaf.valid_from + " .. " + leaf.valid_to + "\n";
    text += "  alt names:  " + or_none(leaf.subjectaltname) + "\n";
    text += "  sha256:     " + leaf.fingerprint256 + "\n";
    for (size_t i = 1; i < info.peer_certificates.size(); ++i) {
      text += "  chain[" + std::to_string(i) + "]:   " + info.peer_certificates[i].subject + "\n";
    }
  }
  if (info.peer_certificates.empty() && !info.psk_identity.empty()) {
    text += "verification: none needed: authenticated by the pre-shared key\n";
  } else if (info.authorized) {
    text += "verification: OK (authorized)\n";
  } else {
    text += std::string("verification: FAILED: ") + info.authorization_error.name() + ": " +
            info.authorization_error.message() +
            (verification_enforced ? "\n" : " (not enforced: --insecure)\n");
  }
  return text + "---\n";
}

std::string connection_brief(const ConnectionInfo& info) {
  std::string text = std::string(info.protocol) + " " + info.cipher.standard_name + " " +
                     (*info.group ? info.group : "-");
  text += " sni=" + (info.server_name.empty() ? std::string("-") : info.server_name);
  text += " alpn=" + (info.alpn_protocol.empty() ? std::string("-") : info.alpn_protocol);
  text += std::string(" resumed=") + (info.session_reused ? "yes" : "no");
  if (!info.psk_identity.empty()) text += " psk=" + json_quote(info.psk_identity);
  if (info.peer_certificates.empty()) {
    text += " client-cert=none";
  } else {
    text += " client-cert=" + json_quote(info.peer_certificates.front().subject);
    text += info.authorized
                ? " (verified)"
                : std::string(" (not verified: ") + info.authorization_error.name() + ")";
  }
  return text;
}

std::string www_page(const ConnectionInfo& info, const std::string& peer_address,
                     const std::string& request_head) {
  std::string page = "sanstls server: this connection\n\n";
  page += "Client:             " + peer_address + "\n";
  page += std::string("Protocol:           ") + info.protocol + "\n";
  page += std::string("Cipher:             ") + info.cipher.standard_name + "\n";
  page += std::string("Cipher (OpenSSL):   ") + info.cipher.name + "\n";
  page += "Group:              " + or_none(info.group) + "\n";
  page += "SNI:                " + or_none(info.server_name) + "\n";
  page += "ALPN:               " + or_none(info.alpn_protocol) + "\n";
  page += std::string("Resumed:            ") + (info.session_reused ? "yes" : "no") + "\n";
  page += "PSK identity:       " + or_none(info.psk_identity) + "\n";
  page += "Client certificate: " + client_certificate_text(info) + "\n";
  page += "\nYour request:\n" + request_head;
  return page;
}

}  // namespace sanstls_cli
