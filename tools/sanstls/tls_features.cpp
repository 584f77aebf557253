#include "tls_features.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sanstls/platform.h"
#include "sanstls/sessions.h"
#include "tls_config.h"

namespace sanstls_cli {
namespace {

struct Psk {
  std::string identity;
  std::vector<uint8_t> key;
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "IDENTITY:HEXKEY"; the identity may itself contain ':' (the key cannot).
Psk parse_psk(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw UsageError("--psk: expected IDENTITY:HEXKEY, got '" + text + "'");
  }
  Psk psk{text.substr(0, colon), {}};
  const std::string hex = text.substr(colon + 1);
  if (hex.size() % 2 != 0) throw UsageError("--psk: the key needs an even number of hex digits");
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int high = hex_digit(hex[i]), low = hex_digit(hex[i + 1]);
    if (high < 0 || low < 0)
      throw UsageError("--psk: the key must be hex digits, got '" + hex + "'");
    psk.key.push_back(static_cast<uint8_t>(high * 16 + low));
  }
  return psk;
}

sanstls::PskMode parse_psk_mode(const std::string& text) {
  if (text == "dhe") return sanstls::PskMode::with_ecdhe;
  if (text == "ke") return sanstls::PskMode::without_ecdhe;
  if (text == "both") return sanstls::PskMode::either;
  throw UsageError("--psk-mode: expected dhe, ke or both, got '" + text + "'");
}

std::shared_ptr<sanstls::TicketKeys> keys_from(const std::vector<uint8_t>& bytes,
                                               const std::string& path) {
  auto keys = sanstls::TicketKeys::from_bytes(sanstls::ByteView(bytes));
  if (!keys) {
    throw Fatal(config_error("--ticket-keys " + path + ": expected 48 or 96 bytes, got " +
                             std::to_string(bytes.size())));
  }
  return keys.value();
}

// Reads FILE, or creates it (exclusively, mode 0600) with fresh keys. When two
// servers race to create it, the loser reads what the winner wrote.
std::shared_ptr<sanstls::TicketKeys> load_or_create_ticket_keys(const std::string& path) {
  if (::access(path.c_str(), F_OK) == 0)
    return keys_from(read_file_or_throw(path, "ticket key file"), path);
  auto fresh = sanstls::TicketKeys::generate(sanstls::platform::os_random());
  if (!fresh) throw Fatal(fresh.error());
  const std::vector<uint8_t> bytes = fresh.value()->to_bytes();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0 && errno == EEXIST)
    return keys_from(read_file_or_throw(path, "ticket key file"), path);
  if (fd < 0) throw Fatal(config_error("cannot create " + path + ": " + std::strerror(errno)));
  const bool written =
      ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  if (::close(fd) != 0 || !written) throw Fatal(config_error("cannot write " + path));
  return fresh.value();
}

}  // namespace

void apply_server_resumption(sanstls::ConfigBuilder& builder, const Args& args) {
  const uint32_t tickets =
      args.has("--tickets")
          ? static_cast<uint32_t>(parse_count("--tickets", args.value("--tickets"), 16))
          : 1;
  builder.session_tickets(tickets);
  if (args.has("--ticket-keys")) {
    if (tickets == 0) throw UsageError("--ticket-keys is pointless with --tickets 0");
    builder.ticket_keys(load_or_create_ticket_keys(args.value("--ticket-keys")));
  } else if (tickets > 0) {
    // One set of keys for the default Config and every --sni context.
    auto keys = sanstls::TicketKeys::generate(sanstls::platform::os_random());
    if (!keys) throw Fatal(keys.error());
    builder.ticket_keys(keys.value());
  }
  if (args.has("--session-cache")) {
    const uint64_t entries =
        parse_count("--session-cache", args.value("--session-cache"), 1u << 24);
    if (entries == 0) throw UsageError("--session-cache: expected at least 1 entry");
    builder.session_store(sanstls::make_memory_session_store(entries));
  }
}

void apply_server_psk(sanstls::ConfigBuilder& builder, const Args& args) {
  if (args.has("--psk-mode") && !args.has("--psk")) throw UsageError("--psk-mode needs --psk");
  if (!args.has("--psk")) return;
  auto keys = std::make_shared<std::map<std::string, std::vector<uint8_t>, std::less<>>>();
  for (const std::string& text : args.values("--psk")) {
    Psk psk = parse_psk(text);
    if (!keys->emplace(psk.identity, psk.key).second) {
      throw UsageError("--psk: identity '" + psk.identity + "' given twice");
    }
  }
  builder.psk_lookup([keys](std::string_view identity) -> std::optional<std::vector<uint8_t>> {
    auto it = keys->find(identity);
    if (it == keys->end()) return std::nullopt;
    return it->second;
  });
  if (args.has("--psk-mode")) builder.psk_mode(parse_psk_mode(args.value("--psk-mode")));
}

void apply_sni(sanstls::ConfigBuilder& main, const sanstls::ConfigBuilder& base, const Args& args) {
  if (args.has("--strict-sni") && !args.has("--sni")) throw UsageError("--strict-sni needs --sni");
  for (const std::string& text : args.values("--sni")) {
    const size_t first = text.find(':');
    const size_t second = first == std::string::npos ? first : text.find(':', first + 1);
    if (first == 0 || second == std::string::npos || second == first + 1 ||
        second + 1 == text.size()) {
      throw UsageError("--sni: expected NAME:CERTFILE:KEYFILE, got '" + text + "'");
    }
    const std::string name = text.substr(0, first);
    sanstls::ConfigBuilder context = base;
    context.certificate(
        read_file_or_throw(text.substr(first + 1, second - first - 1), "certificate"),
        read_file_or_throw(text.substr(second + 1), "private key"), args.value("--passphrase"));
    main.sni_context(name, build_or_throw(context));
  }
  if (args.has("--strict-sni")) main.strict_sni();
}

void apply_client_features(sanstls::ConfigBuilder& builder, const Args& args) {
  if (args.has("--psk-mode") && !args.has("--psk")) throw UsageError("--psk-mode needs --psk");
  if (args.has("--psk")) {
    const Psk psk = parse_psk(args.value("--psk"));
    builder.psk(psk.identity, sanstls::ByteView(psk.key));
    if (args.has("--psk-mode")) builder.psk_mode(parse_psk_mode(args.value("--psk-mode")));
  }
  for (const std::string& pin : args.values("--pin")) builder.pin_public_key(pin);
  if (args.has("--no-tickets")) builder.session_tickets(0);
}

}  // namespace sanstls_cli
