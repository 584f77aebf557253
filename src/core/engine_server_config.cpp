// Servers that choose their Config from the ClientHello (SNI contexts and
// selectors, the ALPN selector, honor_cipher_order): the ClientHello is held,
// the Config chosen, and the records replayed into mbedTLS.
#include <cstdio>
#include <algorithm>
#include <cstring>

#include "algorithms.h"
#include "cursor.h"
#include "engine.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/error.h"
#include "mbedtls_private.h"
#include "psa/crypto.h"

namespace sanstls::detail {

bool Engine::collect_client_hello() {
  // Every server reads the ClientHello before mbedTLS does: to choose a
  // Config, to refuse what mbedTLS would only notice after its ServerHello,
  // and so that the server name is known before any extension is parsed.
  // The records are held (bounded). When the whole ClientHello arrives in
  // one feed() it is not copied: the input is rewound and replayed from
  // feed_; only a ClientHello split across feed() calls (or one that must
  // be rewritten, or wait for the application) is copied into replay_.
  constexpr size_t kMaxHello = 2 * (16384 + 5);
  const size_t start = feed_used_;
  auto hold_this_feed = [&] {
    const ByteView taken = feed_.skip(start).first(feed_used_ - start);
    replay_.insert(replay_.end(), taken.begin(), taken.end());
  };
  while (!client_hello_.parsed && error_.ok()) {
    ByteView available = feed_.skip(feed_used_);
    if (available.empty()) {
      hold_this_feed();
      return false;
    }
    if (inbound_.in_header()) {
      const size_t took = inbound_.add_header_bytes(available);
      feed_used_ += took;
      hello_bytes_ += took;
      if (inbound_.header_bytes() < 5) {
        hold_this_feed();
        return false;
      }
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
    inbound_.add_body_bytes(available.first(n));
    feed_used_ += n;
    hello_bytes_ += n;
    if (!client_hello_.parsed && (first_message_seen_ || hello_bytes_ > kMaxHello)) {
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
  const bool rewrite = needs_rewrite(client_hello_);
  if (rewrite || config_->sni_selector || !replay_.empty()) {
    // Rewritten in place, kept until provide_config(), or the rest of a
    // ClientHello whose start an earlier feed() already held.
    hold_this_feed();
  } else {
    replay_feed_end_ = feed_used_;
    feed_used_ = start;
  }
  if (rewrite) rewrite_client_hello();
  const size_t end = replay_feed_end_;
  const bool started = config_->decides_on_client_hello() ? choose_config() : finish_setup(config_);
  if (!error_.ok() && feed_used_ < end) feed_used_ = end;  // refused: the bytes were read
  return started;
}

// TLS 1.2 ClientHellos mbedTLS 3.6 refuses although RFC 5246 E.1 and
// RFC 8446 D.2 say to negotiate TLS 1.2: a legacy_version above 0x0303
// without supported_versions, and (when TLS 1.3 is enabled) no extensions
// block at all. mbedTLS sees them as 0x0303 with an empty extensions block,
// and its transcript is restored to the bytes as received once it has
// parsed the message (restore_hello_transcript()).
bool Engine::needs_rewrite(const ClientHelloFacts& hello) {
  return hello.parsed && hello.complete && !hello.has_supported_versions &&
         (hello.legacy_version > 0x0303 || !hello.has_extensions);
}

void Engine::rewrite_client_hello() {
  // replay_ holds the records from the first one: [header 5][type 1][length
  // 3][version 2]...
  Cursor c{ByteView(replay_.data(), replay_.size())};
  c.bytes(3);
  const size_t record_length = c.u16();
  const uint8_t type = c.u8();
  const size_t message_length = c.u24();
  if (!c.ok() || type != kClientHello || record_length < 4 + 2) return;
  const bool one_record = record_length == 4 + message_length;
  if (!client_hello_.has_extensions && !one_record) return;  // not worth handling
  const size_t message_end = 5 + 4 + message_length;
  if (one_record && replay_.size() < message_end) return;
  if (one_record) {
    original_hello_.assign(replay_.begin() + 5,
                           replay_.begin() + static_cast<std::ptrdiff_t>(message_end));
  } else {
    // Reassemble the message from its records for the transcript.
    original_hello_.clear();
    Cursor records{ByteView(replay_.data(), replay_.size())};
    while (records.ok() && !records.at_end() && original_hello_.size() < 4 + message_length) {
      records.bytes(3);
      ByteView body = records.vector16();
      original_hello_.insert(original_hello_.end(), body.begin(), body.end());
    }
    if (!records.ok() || original_hello_.size() < 4 + message_length) {
      original_hello_.clear();
      return;
    }
    original_hello_.resize(4 + message_length);
  }
  replay_[9] = 3;  // legacy_version 0x0303
  replay_[10] = 3;
  if (!client_hello_.has_extensions) {
    const size_t grown = message_length + 2;
    const uint8_t empty_extensions[2] = {0, 0};
    replay_.insert(replay_.begin() + static_cast<std::ptrdiff_t>(message_end), empty_extensions,
                   empty_extensions + 2);
    replay_[3] = static_cast<uint8_t>((grown + 4) >> 8);
    replay_[4] = static_cast<uint8_t>(grown + 4);
    replay_[6] = static_cast<uint8_t>(grown >> 16);
    replay_[7] = static_cast<uint8_t>(grown >> 8);
    replay_[8] = static_cast<uint8_t>(grown);
  }
}

void Engine::restore_hello_transcript() {
  // mbedTLS's TLS 1.2 server has parsed the (rewritten) ClientHello and
  // hashed it; nothing else is in the transcript yet.
  if (original_hello_.size() < 4 || handshake_state(ssl_) < MBEDTLS_SSL_SERVER_HELLO ||
      mbedtls_ssl_get_version_number(&ssl_) != MBEDTLS_SSL_VERSION_TLS1_2) {
    return;
  }
  const ByteView message(original_hello_.data(), original_hello_.size());
  if (!restart_transcript(ssl_, message.skip(4), kClientHello)) {
    fail(Error(ErrorCode::internal_error, Stage::internal,
               "cannot restore the handshake transcript"));
  }
  original_hello_.clear();
  original_hello_.shrink_to_fit();
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
      case SniAnswer::Kind::use_default:
        return finish_setup(config_);
      case SniAnswer::Kind::use:
        return finish_setup(answer.config);
      case SniAnswer::Kind::reject:
        refuse_name();
        return false;
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

// RFC 8446 4.2.8.2: the key_exchange of the share the server will use.
// X25519/X448: the length (the all-zero result is mbedTLS's check);
// NIST curves: an uncompressed point on the curve.
bool valid_key_share(uint16_t group, ByteView key) {
  size_t bits = 0;
  switch (group) {
    case 0x001D:
      return key.size() == 32;  // X25519
    case 0x001E:
      return key.size() == 56;  // X448
    case 0x0017:
      bits = 256;
      break;
    case 0x0018:
      bits = 384;
      break;
    case 0x0019:
      bits = 521;
      break;
    default:
      return true;  // not ours to judge
  }
  if (key.size() != 1 + 2 * ((bits + 7) / 8) || key[0] != 0x04) return false;
  psa_key_attributes_t attributes = PSA_KEY_ATTRIBUTES_INIT;
  psa_set_key_type(&attributes, PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1));
  psa_set_key_bits(&attributes, bits);
  mbedtls_svc_key_id_t id = MBEDTLS_SVC_KEY_ID_INIT;
  const psa_status_t status = psa_import_key(&attributes, key.data(), key.size(), &id);
  if (status == PSA_SUCCESS) psa_destroy_key(id);
  // Only a refused point is the peer's fault; other failures are left to
  // mbedTLS.
  return status != PSA_ERROR_INVALID_ARGUMENT;
}

// mbedTLS 3.6's TLS 1.3 rule (mbedtls_ssl_tls13_check_sig_alg_cert_key_match),
// RFC 8446 4.2.3: ECDSA keys sign with the scheme of their curve, RSA keys
// with RSA-PSS (rsae).
bool tls13_scheme_fits_key(uint16_t scheme, const mbedtls_pk_context& key) {
  const mbedtls_pk_type_t type = mbedtls_pk_get_type(&key);
  const size_t bits = mbedtls_pk_get_bitlen(&key);
  if (type == MBEDTLS_PK_ECKEY || type == MBEDTLS_PK_ECDSA) {
    return (bits == 256 && scheme == 0x0403) || (bits == 384 && scheme == 0x0503) ||
           (bits == 521 && scheme == 0x0603);
  }
  if (type == MBEDTLS_PK_RSA) return scheme == 0x0804 || scheme == 0x0805 || scheme == 0x0806;
  return true;  // another kind of key (opaque): let mbedTLS judge
}

namespace {

bool contains(const std::vector<uint16_t>& list, uint16_t value) {
  for (uint16_t item : list) {
    if (item == value) return true;
  }
  return false;
}

}  // namespace

// What mbedTLS 3.6 accepts but a conforming server refuses, or notices only
// after its ServerHello: checked with the chosen Config, before mbedTLS runs.
bool Engine::check_client_hello() {
  const ClientHelloFacts& hello = client_hello_;
  if (!hello.parsed || !hello.complete) return true;  // too large to inspect: mbedTLS judges
  auto refuse = [&](Alert alert, ErrorCode code, const char* text) {
    queue_plaintext_alert(alert);
    fail(Error(code, Stage::handshake, text).with_alert(alert, AlertDirection::sent));
    return false;
  };
  // RFC 5246 7.4.1.2 / RFC 8446 4.1.2: null compression must be offered
  // (BoringSSL: illegal_parameter; TLS 1.3 requires that alert).
  if (!hello.null_compression) {
    return refuse(Alert::illegal_parameter, ErrorCode::illegal_parameter,
                  "illegal parameter: the ClientHello does not offer null compression");
  }
  // RFC 7301 3.1: no empty protocol name, no empty list (mbedTLS 3.6:
  // illegal_parameter; the message is malformed).
  if (hello.alpn_malformed) {
    return refuse(Alert::decode_error, ErrorCode::decode_error,
                  "decode error: the ClientHello's ALPN list is empty or has an empty name");
  }
  // RFC 8446 4.2.9, 9.2: pre_shared_key without psk_key_exchange_modes is a
  // missing extension (mbedTLS 3.6: illegal_parameter). A TLS 1.2 server
  // ignores both.
  const bool offers_tls13 = std::find(hello.versions.begin(), hello.versions.end(),
                                      uint16_t{0x0304}) != hello.versions.end();
  if (offers_tls13 && config_->max_version == TlsVersion::tls1_3 && hello.offers_psk &&
      !hello.has_psk_key_exchange_modes) {
    return refuse(Alert::missing_extension, ErrorCode::illegal_parameter,
                  "missing extension: the ClientHello offers a pre-shared key without "
                  "psk_key_exchange_modes");
  }  // RFC 8446 4.2.11: one binder per identity (mbedTLS 3.6: decode_error;
  // BoringSSL: illegal_parameter).
  if (offers_tls13 && config_->max_version == TlsVersion::tls1_3 && hello.offers_psk &&
      hello.psk_identity_count > 0 && hello.psk_binder_count > 0 &&  // else malformed: mbedTLS
      hello.psk_identity_count != hello.psk_binder_count) {
    return refuse(Alert::illegal_parameter, ErrorCode::illegal_parameter,
                  "illegal parameter: the ClientHello's pre_shared_key has not one binder per "
                  "identity");
  }

  // RFC 8446 4.2.3 / RFC 5246 7.4.1.4.1:
  // supported_signature_algorithms<2..2^16-2>.
  if (hello.has_signature_algorithms && hello.signature_algorithms.empty()) {
    return refuse(Alert::decode_error, ErrorCode::decode_error,
                  "decode error: the ClientHello's signature_algorithms list is empty");
  }
  const bool tls13 = hello.has_supported_versions && contains(hello.versions, 0x0304) &&
                     config_->max_version == TlsVersion::tls1_3;
  // RFC 8446 9.2, 4.2.3: a TLS 1.3 ClientHello without pre_shared_key has
  // supported_groups and signature_algorithms, and a key_share comes with
  // supported_groups; else missing_extension. mbedTLS 3.6 sends that alert
  // under a generic error. (The converse, supported_groups without key_share,
  // is left alone: mbedTLS's own psk_ke-only client sends it for its TLS 1.2
  // ECDHE-PSK suites.)
  if (tls13 && hello.has_key_share && !hello.has_supported_groups) {
    return refuse(Alert::missing_extension, ErrorCode::illegal_parameter,
                  "missing extension: the TLS 1.3 ClientHello has a key_share but no "
                  "supported_groups (RFC 8446 9.2)");
  }
  if (tls13 && !hello.offers_psk && !hello.has_supported_groups) {
    return refuse(Alert::missing_extension, ErrorCode::illegal_parameter,
                  "missing extension: the TLS 1.3 ClientHello offers no pre-shared key and no "
                  "supported_groups (RFC 8446 9.2)");
  }
  if (tls13 && !hello.offers_psk && !hello.has_signature_algorithms) {
    return refuse(Alert::missing_extension, ErrorCode::illegal_parameter,
                  "missing extension: the TLS 1.3 ClientHello offers no pre-shared key and no "
                  "signature_algorithms (RFC 8446 9.2, 4.2.3)");
  }
  // TLS 1.2: mbedTLS refuses suites it cannot serve before its ServerHello,
  // bar one case: it keeps an ECDHE suite when the client's supported_groups
  // holds a curve it knows but we do not enable, and fails only at its
  // ServerKeyExchange, after ServerHello and Certificate went out (found by
  // testssl.sh). RFC 8422 5.1: such a server MUST NOT negotiate an ECC suite;
  // when every suite we share is ECDHE, the handshake fails here instead.
  // A resumption offer is left alone: an abbreviated handshake needs no group.
  if (!tls13) {
    if (!hello.has_supported_groups || hello.offers_tls12_resumption) return true;
    for (uint16_t group : hello.groups) {
      for (uint16_t mine : config_->groups) {
        if (mine != 0 && mine == group) return true;
      }
    }
    bool shared_suite = false;
    for (uint16_t offer : hello.cipher_suites) {
      for (int mine : config_->suites) {
        if (mine == 0 || static_cast<uint16_t>(mine) != offer) continue;
        if ((offer >> 8) == 0x13) continue;               // a TLS 1.3 suite (0x13xx)
        if (!tls12_suite_uses_ecdhe(offer)) return true;  // a suite without ECDHE may do
        shared_suite = true;
      }
    }
    if (!shared_suite) return true;  // no suite in common: mbedTLS says so
    return refuse(Alert::handshake_failure, ErrorCode::no_shared_group,
                  "no shared group: the client offered no key exchange group we enabled "
                  "for its ECDHE cipher suites");
  }
  if (hello.has_key_share && !hello.key_share_malformed) {
    for (size_t i = 0; i < hello.key_shares.size(); ++i) {
      const uint16_t group = hello.key_shares[i].group;
      // RFC 8446 4.2.8: shares only for offered groups, at most one per group.
      if (hello.has_supported_groups && !contains(hello.groups, group)) {
        return refuse(Alert::illegal_parameter, ErrorCode::illegal_parameter,
                      "illegal parameter: a key_share is for a group not in "
                      "supported_groups");
      }
      for (size_t j = 0; j < i; ++j) {
        if (hello.key_shares[j].group == group) {
          return refuse(Alert::illegal_parameter, ErrorCode::illegal_parameter,
                        "illegal parameter: two key_share entries for the same group");
        }
      }
    }
    // mbedTLS uses the client's first share for a group the server enables.
    for (const KeyShareEntry& share : hello.key_shares) {
      bool ours = false;
      for (uint16_t mine : config_->groups) ours = ours || (mine != 0 && mine == share.group);
      if (!ours) continue;
      if (!valid_key_share(share.group, ByteView(share.key))) {
        return refuse(Alert::illegal_parameter, ErrorCode::illegal_parameter,
                      "illegal parameter: the client's key_share is not a "
                      "valid public key for "
                      "its group");
      }
      break;
    }
  }
#if defined(MBEDTLS_X509_CRT_PARSE_C)  // (never an identity without X.509)
  // A certificate handshake needs a signature scheme our key can make; a
  // resumption or external PSK may not, so offers of a PSK are left to mbedTLS.
  if (hello.has_signature_algorithms && !hello.offers_psk && !config_->identities.empty()) {
    bool usable = false;
    for (uint16_t scheme : hello.signature_algorithms) {
      if (!config_->sig_algs.empty() && !contains(config_->sig_algs, scheme)) continue;
      for (const auto& identity : config_->identities) {
        usable = usable || tls13_scheme_fits_key(scheme, identity->key);
      }
      if (usable) break;
    }
    if (!usable) {
      return refuse(Alert::handshake_failure, ErrorCode::handshake_failure,
                    "handshake failure: none of the client's signature "
                    "algorithms can be used "
                    "with the server's certificate");
    }
  }
#endif
  return true;
}

bool Engine::finish_setup(std::shared_ptr<const ConfigState> chosen) {
  if (chosen == nullptr || chosen->role != Role::server) {
    fail(Error(ErrorCode::invalid_argument, Stage::config,
               "the SNI selector must provide a server Config"));
    return false;
  }
  config_ = std::move(chosen);
  if (!check_client_hello()) return false;
  const mbedtls_ssl_config* conf = &config_->conf;
  if (config_->alpn_selector && !client_hello_.alpn.empty()) {
    std::optional<std::string> choice = config_->alpn_selector(client_hello_.alpn);
    if (choice && choice->empty()) {
      // Declined: the handshake goes on without ALPN (OpenSSL's
      // SSL_TLSEXT_ERR_NOACK); mbedTLS answers nothing without a list.
      conf_override_ = config_->conf;
      clear_alpn_protocols(conf_override_);
      conf = &conf_override_;
    } else if (!choice) {
      queue_plaintext_alert(Alert::no_application_protocol);
      fail(Error(ErrorCode::no_application_protocol, Stage::handshake,
                 "no application protocol: the ALPN selector refused every protocol offered")
               .with_alert(Alert::no_application_protocol, AlertDirection::sent));
      return false;
    } else {
      // RFC 7301 3.2: the answer is one of the protocols the client offered.
      bool offered = false;
      for (const std::string& protocol : client_hello_.alpn) {
        offered = offered || protocol == *choice;
      }
      if (!offered) {
        queue_plaintext_alert(Alert::internal_error);
        fail(Error(ErrorCode::invalid_argument, Stage::config,
                   "the ALPN selector chose a protocol the client did not offer")
                 .with_alert(Alert::internal_error, AlertDirection::sent));
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
        if (mine != 0 && theirs(static_cast<uint16_t>(mine)))
          shared.push_back(static_cast<uint16_t>(mine));
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
  // The facts stay (failures are named from them); the replayed
  // ClientHello is not parsed a second time.
  hello_preparsed_ = true;
  client_hello_.key_shares.clear();
  client_hello_.key_shares.shrink_to_fit();
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
  const uint8_t record[7] = {
      kAlert, 3, 3, 0, 2, MBEDTLS_SSL_ALERT_LEVEL_FATAL, static_cast<uint8_t>(alert)};
  // fail() reports an alert as sent only when it really is in the output.
  if (output_.append(ByteView(record, sizeof record))) {
    plaintext_alert_sent_ = true;
    plaintext_alert_code_ = static_cast<uint8_t>(alert);
  }
}

}  // namespace sanstls::detail
