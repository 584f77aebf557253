// Servers that choose their Config from the ClientHello (SNI contexts and
// selectors, the ALPN selector, honor_cipher_order): the ClientHello is held,
// the Config chosen, and the records replayed into mbedTLS.
#include "engine.h"

#include <cstdio>
#include <cstring>

#include "algorithms.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/error.h"
#include "mbedtls_private.h"

namespace sanstls::detail {

bool Engine::collect_client_hello() {
  // Hold the ClientHello's records (bounded) until a Config is chosen.
  constexpr size_t kMaxHello = 2 * (16384 + 5);
  while (!client_hello_.parsed && error_.ok()) {
    ByteView available = feed_.skip(feed_used_);
    if (available.empty()) return false;
    if (inbound_.in_header()) {
      const size_t took = inbound_.add_header_bytes(available);
      replay_.insert(replay_.end(), available.data(), available.data() + took);
      feed_used_ += took;
      if (inbound_.header_bytes() < 5) return false;
      const uint8_t* header = inbound_.header();
      inbound_verdict_ = judge_header(header, first_inbound_record_, true, false);
      first_inbound_record_ = false;
      if (inbound_verdict_ == HeaderVerdict::ok && header[0] != kHandshake) {
        queue_plaintext_alert(Alert::unexpected_message);
        fail(Error(ErrorCode::unexpected_message, Stage::handshake,
                   "unexpected message: the first record is not a ClientHello")
                 .with_alert(Alert::unexpected_message, AlertDirection::sent));
        return false;
      }
      if (inbound_verdict_ != HeaderVerdict::ok) {
        fail_from_header(inbound_verdict_);
        return false;
      }
      inbound_.begin_body();
      continue;
    }
    size_t n = inbound_.body_remaining();
    if (n > available.size()) n = available.size();
    replay_.insert(replay_.end(), available.data(), available.data() + n);
    inbound_.add_body_bytes(available.first(n));
    feed_used_ += n;
    if (!client_hello_.parsed && (first_message_seen_ || replay_.size() > kMaxHello)) {
      const bool malformed = first_message_seen_ && first_message_type_ == kClientHello;
      const Alert alert = malformed ? Alert::decode_error : Alert::unexpected_message;
      queue_plaintext_alert(alert);
      fail(Error(malformed ? ErrorCode::decode_error : ErrorCode::unexpected_message,
                 Stage::handshake,
                 malformed ? "decode error: the ClientHello is malformed"
                           : "unexpected message: expected a ClientHello")
               .with_alert(alert, AlertDirection::sent));
      return false;
    }
  }
  if (!error_.ok()) return false;
  info_.server_name = client_hello_.server_name;
  return choose_config();
}

namespace {

bool same_host(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

bool Engine::choose_config() {
  const std::string& name = client_hello_.server_name;
  if (config_->sni_selector) {
    const SniAnswer answer = config_->sni_selector(name);
    switch (answer.kind) {
      case SniAnswer::Kind::use_default: return finish_setup(config_);
      case SniAnswer::Kind::use: return finish_setup(answer.config);
      case SniAnswer::Kind::reject: refuse_name(); return false;
      case SniAnswer::Kind::later:
        awaiting_config_ = true;
        push_event(EventKind::server_name_requested);
        return false;
    }
  }
  if (!name.empty()) {
    for (const auto& [pattern, context] : config_->sni_contexts) {
      if (same_host(pattern, name)) return finish_setup(context);
    }
    const size_t dot = name.find('.');
    if (dot != std::string::npos && dot > 0) {
      const std::string parent = name.substr(dot + 1);  // one label only
      for (const auto& [pattern, context] : config_->sni_contexts) {
        if (pattern.size() > 2 && pattern[0] == '*' && same_host(pattern.substr(2), parent)) {
          return finish_setup(context);
        }
      }
    }
    if (config_->strict_sni) {
      refuse_name();
      return false;
    }
  }
  return finish_setup(config_);
}

bool Engine::finish_setup(std::shared_ptr<const ConfigState> chosen) {
  if (chosen == nullptr || chosen->role != Role::server) {
    fail(Error(ErrorCode::invalid_argument, Stage::config,
               "the SNI selector must provide a server Config"));
    return false;
  }
  config_ = std::move(chosen);
  const mbedtls_ssl_config* conf = &config_->conf;
  if (config_->alpn_selector && !client_hello_.alpn.empty()) {
    std::optional<std::string> choice = config_->alpn_selector(client_hello_.alpn);
    if (!choice || choice->empty()) {
      queue_plaintext_alert(Alert::no_application_protocol);
      fail(Error(ErrorCode::no_application_protocol, Stage::handshake,
                 "no application protocol: the ALPN selector refused every protocol offered")
               .with_alert(Alert::no_application_protocol, AlertDirection::sent));
      return false;
    }
    // A per-connection copy of the configuration answers with the choice.
    alpn_choice_ = std::move(*choice);
    alpn_choice_list_[0] = alpn_choice_.c_str();
    alpn_choice_list_[1] = nullptr;
    conf_override_ = config_->conf;
    mbedtls_ssl_conf_alpn_protocols(&conf_override_, alpn_choice_list_);
    conf = &conf_override_;
  }
  if (config_->honor_cipher_order) {
    // mbedTLS picks by server order in TLS 1.2 and by client order in
    // TLS 1.3; a per-connection suite list makes either policy hold in both.
    const bool server_order = *config_->honor_cipher_order;
    const std::vector<uint16_t>& offered = client_hello_.cipher_suites;
    auto ours = [&](uint16_t id) {
      for (int mine : config_->suites) {
        if (mine != 0 && static_cast<uint16_t>(mine) == id) return true;
      }
      return false;
    };
    auto theirs = [&](uint16_t id) {
      for (uint16_t offer : offered) {
        if (offer == id) return true;
      }
      return false;
    };
    std::vector<uint16_t> shared;
    if (server_order) {
      for (int mine : config_->suites) {
        if (mine != 0 && theirs(static_cast<uint16_t>(mine))) shared.push_back(static_cast<uint16_t>(mine));
      }
    } else {
      for (uint16_t offer : offered) {
        if (ours(offer)) shared.push_back(offer);
      }
    }
    suites_override_.clear();
    bool have13 = false;
    for (uint16_t id : shared) {
      const CipherSuite* suite = find_cipher_suite(id);
      const bool is13 = suite != nullptr && suite->version == TlsVersion::tls1_3;
      // TLS 1.3: only the chosen one, unless a PSK is offered, whose hash
      // fixes the suite family: then mbedTLS must see them all.
      if (is13 && have13 && !client_hello_.offers_psk) continue;
      have13 = have13 || is13;
      suites_override_.push_back(id);
    }
    suites_override_.push_back(0);
    if (conf != &conf_override_) conf_override_ = config_->conf;
    mbedtls_ssl_conf_ciphersuites(&conf_override_, suites_override_.data());
    conf = &conf_override_;
  }
  deferred_setup_ = false;
  inbound_.reset();
  first_inbound_record_ = true;
  header_delivered_ = 0;
  client_hello_ = ClientHelloFacts();
  if (Error error = start(nullptr, ByteView(), conf)) {
    fail(error);
    return false;
  }
  return true;
}

Error Engine::provide_config(const Config& config) {
  if (!awaiting_config_) {
    return Error(ErrorCode::invalid_argument, Stage::config,
                 "provide_config() answers a server_name_requested event; none is pending");
  }
  awaiting_config_ = false;
  CallScope scope(account_, config.state().clock, config.state().random, &info_.server_name);
  if (finish_setup(config.state_pointer())) pump();
  return error_;
}

void Engine::reject_server_name() {
  if (!awaiting_config_) return;
  awaiting_config_ = false;
  refuse_name();
}

void Engine::refuse_name() {
  queue_plaintext_alert(Alert::unrecognized_name);
  char text[Error::kMessageCapacity];
  std::snprintf(text, sizeof text, "unrecognized name: no certificate for '%s'",
                client_hello_.server_name.c_str());
  fail(Error(ErrorCode::unrecognized_name, Stage::handshake, text)
           .with_alert(Alert::unrecognized_name, AlertDirection::sent));
}

void Engine::queue_plaintext_alert(Alert alert) {
  const uint8_t record[7] = {kAlert, 3, 3, 0, 2, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                             static_cast<uint8_t>(alert)};
  // fail() reports an alert as sent only when it really is in the output.
  if (output_.append(ByteView(record, sizeof record))) {
    plaintext_alert_sent_ = true;
    plaintext_alert_code_ = static_cast<uint8_t>(alert);
  }
}

}  // namespace sanstls::detail
