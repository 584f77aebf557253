#include "sanstls/connection.h"

#include "engine.h"

namespace sanstls {

const char* event_kind_name(EventKind kind) noexcept {
  switch (kind) {
    case EventKind::handshake_complete:
      return "handshake_complete";
    case EventKind::session_ticket:
      return "session_ticket";
    case EventKind::peer_closed:
      return "peer_closed";
    case EventKind::warning_alert:
      return "warning_alert";
    case EventKind::server_name_requested:
      return "server_name_requested";
    case EventKind::early_data:
      return "early_data";
    case EventKind::early_data_rejected:
      return "early_data_rejected";
    case EventKind::renegotiated:
      return "renegotiated";
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

// A moved-from Connection has no engine: every call is a no-op that says so
// (error() is ERR_INVALID_ARG_VALUE, wants() is closed), never a null
// dereference, least of all in the noexcept accessors.
namespace {

const Error& moved_from_error() noexcept {
  static const Error error(ErrorCode::invalid_argument, Stage::config,
                           "this Connection was moved from; use the one it was moved to");
  return error;
}

const ConnectionInfo& empty_info() noexcept {
  static const ConnectionInfo info;
  return info;
}

Readiness moved_from_readiness() noexcept {
  Readiness r;
  r.read_closed = r.write_closed = r.closed = true;
  return r;
}

}  // namespace

size_t Connection::feed(ByteView ciphertext) { return engine_ ? engine_->feed(ciphertext) : 0; }
ByteView Connection::pending_output() const noexcept {
  return engine_ ? engine_->pending_output() : ByteView();
}
void Connection::consume_output(size_t n) {
  if (engine_) engine_->consume_output(n);
}
size_t Connection::read(MutableByteView out) { return engine_ ? engine_->read(out) : 0; }
size_t Connection::write(ByteView plaintext) { return engine_ ? engine_->write(plaintext) : 0; }
Readiness Connection::wants() const noexcept {
  return engine_ ? engine_->wants() : moved_from_readiness();
}
std::optional<Event> Connection::next_event() {
  return engine_ ? engine_->next_event() : std::nullopt;
}
void Connection::close() {
  if (engine_) engine_->close();
}
Error Connection::provide_config(const Config& config) {
  return engine_ ? engine_->provide_config(config) : moved_from_error();
}
std::optional<int64_t> Connection::next_deadline_ms() const noexcept {
  return engine_ ? engine_->next_deadline_ms() : std::nullopt;
}
void Connection::on_timer(int64_t now_ms) {
  if (engine_) engine_->on_timer(now_ms);
}
size_t Connection::write_early_data(ByteView data) {
  return engine_ ? engine_->write_early_data(data) : 0;
}
bool Connection::renegotiate() { return engine_ ? engine_->renegotiate() : false; }
size_t Connection::read_early_data(MutableByteView out) {
  return engine_ ? engine_->read_early_data(out) : 0;
}
bool Connection::set_max_send_fragment(size_t bytes) {
  return engine_ ? engine_->set_max_send_fragment(bytes) : false;
}
Result<std::vector<uint8_t>> Connection::export_keying_material(std::string_view label,
                                                                ByteView context,
                                                                size_t length) const {
  if (!engine_) return moved_from_error();
  return engine_->export_keying_material(label, context, length);
}
void Connection::reject_server_name() {
  if (engine_) engine_->reject_server_name();
}
void Connection::transport_eof() {
  if (engine_) engine_->transport_eof();
}
const Error& Connection::error() const noexcept {
  return engine_ ? engine_->error() : moved_from_error();
}
Role Connection::role() const noexcept { return engine_ ? engine_->role() : Role::client; }
const ConnectionInfo& Connection::info() const noexcept {
  return engine_ ? engine_->info() : empty_info();
}
MemoryUsage Connection::memory() const noexcept {
  return engine_ ? engine_->memory() : MemoryUsage{};
}
size_t Connection::release_buffers() noexcept { return engine_ ? engine_->release_buffers() : 0; }
Result<std::vector<uint8_t>> Connection::save_session() const {
  if (!engine_) return moved_from_error();
  return engine_->save_session();
}

const char* to_string(EarlyDataReason reason) noexcept {
  switch (reason) {
    case EarlyDataReason::unknown:
      return "unknown";
    case EarlyDataReason::disabled:
      return "disabled";
    case EarlyDataReason::accepted:
      return "accepted";
    case EarlyDataReason::protocol_version:
      return "protocol_version";
    case EarlyDataReason::peer_declined:
      return "peer_declined";
    case EarlyDataReason::no_session_offered:
      return "no_session_offered";
    case EarlyDataReason::session_not_resumed:
      return "session_not_resumed";
    case EarlyDataReason::unsupported_for_session:
      return "unsupported_for_session";
    case EarlyDataReason::hello_retry_request:
      return "hello_retry_request";
  }
  return "unknown";
}

uint32_t session_max_early_data(ByteView saved_session) noexcept {
  return detail::saved_session_max_early_data(saved_session);
}

}  // namespace sanstls
