#include "sanstls/connection.h"

#include "engine.h"

namespace sanstls {

const char* event_kind_name(EventKind kind) noexcept {
  switch (kind) {
    case EventKind::handshake_complete: return "handshake_complete";
    case EventKind::session_ticket: return "session_ticket";
    case EventKind::peer_closed: return "peer_closed";
    case EventKind::warning_alert: return "warning_alert";
    case EventKind::server_name_requested: return "server_name_requested";
    case EventKind::early_data: return "early_data";
    case EventKind::early_data_rejected: return "early_data_rejected";
    case EventKind::renegotiated: return "renegotiated";
  }
  return "unknown";
}

Result<Connection> Connection::client(const Config& config, std::string_view server_name) {
  if (server_name.empty()) {
    return Error(ErrorCode::missing_server_name, Stage::config,
                 "a client needs the server's name for SNI and certificate checks; use "
                 "client_without_server_name() to opt out of hostname verification");
  }
  const std::string name(server_name);
  auto engine = detail::Engine::create(config, Role::client, &name);
  if (!engine) return engine.error();
  return Connection(std::move(engine).value());
}

Result<Connection> Connection::client(const Config& config, std::string_view server_name,
                                     ByteView saved_session) {
  if (server_name.empty()) {
    return Error(ErrorCode::missing_server_name, Stage::config,
                 "a client needs the server's name for SNI and certificate checks");
  }
  const std::string name(server_name);
  auto engine = detail::Engine::create(config, Role::client, &name, saved_session);
  if (!engine) return engine.error();
  return Connection(std::move(engine).value());
}

Result<Connection> Connection::client_without_server_name(const Config& config) {
  auto engine = detail::Engine::create(config, Role::client, nullptr);
  if (!engine) return engine.error();
  return Connection(std::move(engine).value());
}

Result<Connection> Connection::server(const Config& config) {
  auto engine = detail::Engine::create(config, Role::server, nullptr);
  if (!engine) return engine.error();
  return Connection(std::move(engine).value());
}

Connection::Connection(std::unique_ptr<detail::Engine> engine) noexcept
    : engine_(std::move(engine)) {}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() = default;

size_t Connection::feed(ByteView ciphertext) { return engine_->feed(ciphertext); }
ByteView Connection::pending_output() const noexcept { return engine_->pending_output(); }
void Connection::consume_output(size_t n) { engine_->consume_output(n); }
size_t Connection::read(MutableByteView out) { return engine_->read(out); }
size_t Connection::write(ByteView plaintext) { return engine_->write(plaintext); }
Readiness Connection::wants() const noexcept { return engine_->wants(); }
std::optional<Event> Connection::next_event() { return engine_->next_event(); }
void Connection::close() { engine_->close(); }
Error Connection::provide_config(const Config& config) { return engine_->provide_config(config); }
std::optional<int64_t> Connection::next_deadline_ms() const noexcept {
  return engine_->next_deadline_ms();
}
void Connection::on_timer(int64_t now_ms) { engine_->on_timer(now_ms); }
size_t Connection::write_early_data(ByteView data) { return engine_->write_early_data(data); }
bool Connection::renegotiate() { return engine_->renegotiate(); }
size_t Connection::read_early_data(MutableByteView out) { return engine_->read_early_data(out); }
bool Connection::set_max_send_fragment(size_t bytes) { return engine_->set_max_send_fragment(bytes); }
Result<std::vector<uint8_t>> Connection::export_keying_material(std::string_view label,
                                                                ByteView context,
                                                                size_t length) const {
  return engine_->export_keying_material(label, context, length);
}
void Connection::reject_server_name() { engine_->reject_server_name(); }
void Connection::transport_eof() { engine_->transport_eof(); }
const Error& Connection::error() const noexcept { return engine_->error(); }
Role Connection::role() const noexcept { return engine_->role(); }
const ConnectionInfo& Connection::info() const noexcept { return engine_->info(); }
MemoryUsage Connection::memory() const noexcept { return engine_->memory(); }
Result<std::vector<uint8_t>> Connection::save_session() const { return engine_->save_session(); }

}  // namespace sanstls
