// sanstls::asio::stream<NextLayer>: TLS over any Asio AsyncReadStream /
// AsyncWriteStream (tcp::socket, another sanstls::asio::stream, a user's own
// stream), shaped like boost::asio::ssl::stream so that code written for it
// (Beast HTTP and WebSocket, coroutines) works unchanged. Header-only; CMake
// target sanstls::asio. C++17; use_awaitable needs C++20.
//
//   net::ip::tcp::socket socket(io);  ... connect ...
//   sanstls::asio::stream<tcp::socket> tls(std::move(socket), client_config);
//   tls.set_server_name("example.com");
//   co_await tls.async_handshake(sanstls::asio::stream_base::client, net::use_awaitable);
//   co_await net::async_write(tls, net::buffer(request), net::use_awaitable);
//   co_await tls.async_shutdown(net::use_awaitable);  // close_notify both ways
//
// THE LOOP. Each operation is one step function over what the engine wants
// (done, flush output, read input, wait for the other direction); a sync and
// an async driver run it with next-layer I/O. One read-side operation (read,
// or handshake/shutdown, which read and write) and one write may be
// outstanding at once, on one strand (as with asio::ssl::stream). Output is
// flushed by whichever operation holds the next layer's write side; the
// other waits for it and is woken when it is done.
//
// ERRORS. Engine failures are error_codes of sanstls::asio::category(): the
// value encodes the ErrorCode, the stage and the alert (error_name(),
// error_stage(), error_alert() recover them), message() is the Error's own
// message, and `ec == sanstls::ErrorCode::hostname_mismatch` works. The peer
// ending TCP without close_notify is error::stream_truncated; reading after
// the peer's close_notify gives net::error::eof. last_error() keeps the full
// sanstls::Error of the last engine failure. Next-layer errors pass through.
//
// CANCELLATION (per-operation slots, all types): a cancelled read leaves the
// stream as it was (received bytes are kept; read again); a cancelled write
// has taken the bytes it reports and they stay queued (the next write, read or
// shutdown sends them); a cancelled handshake may be resumed with another
// handshake(); a cancelled shutdown leaves our close_notify sent. Each
// completes with net::error::operation_aborted.
#pragma once

#include <algorithm>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "sanstls/connection.h"
#include "sanstls/sources.h"
#include "sanstls/tunnel.h"

namespace sanstls::asio {

namespace net = boost::asio;
using error_code = boost::system::error_code;

// ---- errors -----------------------------------------------------------------

namespace error {
// The peer ended the transport without close_notify (what
// boost::asio::ssl::error::stream_truncated means for asio::ssl::stream).
enum stream_errors {
  stream_truncated =
      static_cast<int>(ErrorCode::unexpected_eof) | static_cast<int>(Stage::transport) << 16
};
}  // namespace error
}  // namespace sanstls::asio

namespace boost::system {
template <>
struct is_error_code_enum<sanstls::asio::error::stream_errors> : std::true_type {};
}  // namespace boost::system

namespace sanstls::asio {

namespace detail {
// value = code | stage << 16 | alert << 20 | direction << 28
inline int encode_error(const Error& e) {
  return static_cast<int>(static_cast<uint32_t>(e.code()) | static_cast<uint32_t>(e.stage()) << 16 |
                          static_cast<uint32_t>(e.alert()) << 20 |
                          static_cast<uint32_t>(e.alert_direction()) << 28);
}
inline ErrorCode decoded_code(int v) { return static_cast<ErrorCode>(v & 0xffff); }
inline Stage decoded_stage(int v) { return static_cast<Stage>((v >> 16) & 0xf); }
inline Alert decoded_alert(int v) { return static_cast<Alert>((v >> 20) & 0xff); }
inline AlertDirection decoded_direction(int v) {
  return static_cast<AlertDirection>((v >> 28) & 0x3);
}

// All sanstls categories share this id, so they compare equal: the one
// behind category() and the per-message ones that carry an Error's text.
constexpr unsigned long long kCategoryId = 0x73616e73746c7331ULL;  // "sanstls1"

inline std::string generic_message(int v) {
  std::string text =
      std::string("[") + stage_name(decoded_stage(v)) + "] " + error_code_name(decoded_code(v));
  if (decoded_direction(v) != AlertDirection::none) {
    text += decoded_direction(v) == AlertDirection::sent ? " (alert sent: " : " (alert received: ";
    text += alert_name(decoded_alert(v));
    text += ")";
  }
  return text;
}

// Boost's categories have a protected non-virtual destructor by design.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class error_category_impl : public boost::system::error_category {
 public:
  constexpr error_category_impl() noexcept : boost::system::error_category(kCategoryId) {}
  const char* name() const noexcept override { return "sanstls"; }
  std::string message(int v) const override { return generic_message(v); }
  boost::system::error_condition default_error_condition(int v) const noexcept override;
};

// Carries one Error's own message; interned (at most kMaxMessages distinct
// texts per process, then the generic text) because an error_code only holds
// a pointer to its category.
class message_category : public boost::system::error_category {
 public:
  explicit message_category(std::string text) noexcept
      : boost::system::error_category(kCategoryId), text_(std::move(text)) {}
  const char* name() const noexcept override { return "sanstls"; }
  std::string message(int v) const override { return generic_message(v) + ": " + text_; }
  boost::system::error_condition default_error_condition(int v) const noexcept override;
  const std::string& text() const noexcept { return text_; }

 private:
  std::string text_;
};

class condition_category_impl : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "sanstls-code"; }
  std::string message(int v) const override { return error_code_name(static_cast<ErrorCode>(v)); }
};

#pragma GCC diagnostic pop

inline const condition_category_impl& condition_category() {
  static const condition_category_impl instance;
  return instance;
}
inline boost::system::error_condition error_category_impl::default_error_condition(
    int v) const noexcept {
  return boost::system::error_condition(v & 0xffff, condition_category());
}
inline boost::system::error_condition message_category::default_error_condition(
    int v) const noexcept {
  return boost::system::error_condition(v & 0xffff, condition_category());
}

struct message_less {
  using is_transparent = void;
  bool operator()(const std::unique_ptr<message_category>& a,
                  const std::unique_ptr<message_category>& b) const {
    return a->text() < b->text();
  }
  bool operator()(const std::unique_ptr<message_category>& a, const std::string& b) const {
    return a->text() < b;
  }
  bool operator()(const std::string& a, const std::unique_ptr<message_category>& b) const {
    return a < b->text();
  }
};
}  // namespace detail

// The category of every sanstls error_code.
inline const boost::system::error_category& category() {
  static const detail::error_category_impl instance;
  return instance;
}

namespace error {
inline error_code make_error_code(stream_errors e) { return error_code(e, category()); }
}  // namespace error

// An Error as an error_code (success when e.ok()). Truncation is always
// exactly error::stream_truncated.
inline error_code make_error_code(const Error& e) {
  if (e.ok()) return {};
  if (e.code() == ErrorCode::unexpected_eof) return error::stream_truncated;
  static std::mutex mutex;
  static std::set<std::unique_ptr<detail::message_category>, detail::message_less> messages;
  constexpr size_t kMaxMessages = 256;
  const std::string text = e.message();
  std::lock_guard<std::mutex> lock(mutex);
  auto it = messages.find(text);
  if (it == messages.end()) {
    if (messages.size() >= kMaxMessages) return error_code(detail::encode_error(e), category());
    it = messages.insert(std::make_unique<detail::message_category>(text)).first;
  }
  return error_code(detail::encode_error(e), **it);
}

inline bool is_sanstls_error(const error_code& ec) { return ec && ec.category() == category(); }
// "ERR_TLS_CERT_ALTNAME_INVALID"; "" for errors of other categories.
inline const char* error_name(const error_code& ec) {
  return is_sanstls_error(ec) ? error_code_name(detail::decoded_code(ec.value())) : "";
}
inline Stage error_stage(const error_code& ec) {
  return is_sanstls_error(ec) ? detail::decoded_stage(ec.value()) : Stage::none;
}
inline std::optional<Alert> error_alert(const error_code& ec) {
  if (!is_sanstls_error(ec) || detail::decoded_direction(ec.value()) == AlertDirection::none) {
    return std::nullopt;
  }
  return detail::decoded_alert(ec.value());
}
inline AlertDirection error_alert_direction(const error_code& ec) {
  return is_sanstls_error(ec) ? detail::decoded_direction(ec.value()) : AlertDirection::none;
}

}  // namespace sanstls::asio

// `ec == sanstls::ErrorCode::hostname_mismatch` (whatever stage or alert).
namespace sanstls {
inline boost::system::error_condition make_error_condition(ErrorCode code) {
  return boost::system::error_condition(static_cast<int>(code), asio::detail::condition_category());
}
}  // namespace sanstls
namespace boost::system {
template <>
struct is_error_condition_enum<sanstls::ErrorCode> : std::true_type {};
}  // namespace boost::system

namespace sanstls::asio {

class stream_base {
 public:
  enum handshake_type { client, server };

 protected:
  ~stream_base() = default;
};

namespace detail {

template <class T, class = void>
struct lowest_layer_of {
  using type = T;
};
template <class T>
struct lowest_layer_of<T, std::void_t<typename T::lowest_layer_type>> {
  using type = typename T::lowest_layer_type;
};

// What an operation's step asks the driver to do next.
enum class want { done, output, input, wait_other };
struct step_result {
  want what;
  error_code ec{};
  size_t bytes = 0;
};
inline step_result finished(error_code ec = {}, size_t bytes = 0) {
  return {want::done, ec, bytes};
}

// Which side of the stream an operation counts as (concurrency and cancellation).
enum class side { reading = 0, writing = 1 };

// Received ciphertext the engine has not taken yet (plus bytes handed to
// handshake() or left over after a proxy's CONNECT reply).
constexpr size_t kReceiveChunk = 16384 + 256 + 5;

template <class NextLayer>
struct core {
  template <class Arg>
  core(Arg&& arg, Config cfg)
      : next(std::forward<Arg>(arg)),
        config(std::move(cfg)),
        deadline(next.get_executor()),
        wake{net::steady_timer(next.get_executor()), net::steady_timer(next.get_executor())} {
    wake[0].expires_at(net::steady_timer::time_point::max());
    wake[1].expires_at(net::steady_timer::time_point::max());
  }

  NextLayer next;
  Config config;
  std::string server_name;
  std::vector<uint8_t> saved_session;
  std::optional<Connection> conn;
  Error last_error;
  Clock* timer_clock = nullptr;
  std::chrono::milliseconds shutdown_timeout{5000};

  std::vector<uint8_t> rx;     // the buffer the next layer reads into
  std::vector<uint8_t> inbox;  // [inbox_start, size) not fed yet
  size_t inbox_start = 0;
  std::vector<uint8_t> readahead;  // plaintext a write had to take (renegotiation)
  size_t readahead_start = 0;

  bool reading = false;  // an operation is reading the next layer
  bool writing = false;  // an operation is writing to the next layer
  bool transport_eof = false;
  bool peer_close_notify = false;
  bool handshake_done = false;
  bool close_sent = false;
  error_code transport_error;  // a next-layer failure; every later operation reports it

  // Per side: the signal inner operations are bound to, whether the user's
  // slot fired, and the "other side is done" wake-up timer.
  net::cancellation_signal signal[2];
  bool cancelled[2] = {false, false};
  net::steady_timer deadline;  // engine timers and the shutdown bound, while reading
  uint64_t deadline_generation = 0;
  bool deadline_fired = false;  // the engine's timer changed its state
  bool shutdown_timed_out = false;
  std::optional<std::chrono::steady_clock::time_point> shutdown_deadline;
  net::steady_timer wake[2];

  std::weak_ptr<core> self_weak;

  ByteView unfed() const {
    return ByteView(inbox.data() + inbox_start, inbox.size() - inbox_start);
  }
  void compact_inbox() {
    if (inbox_start == inbox.size()) {
      inbox.clear();
      inbox_start = 0;
    }
  }
  // One receive at a time lands in `rx`; what the engine does not take at
  // once waits in the inbox.
  net::mutable_buffer receive_space() {
    rx.resize(kReceiveChunk);
    return net::buffer(rx);
  }
  void received(size_t n) {
    compact_inbox();
    const auto end = rx.begin() + static_cast<std::ptrdiff_t>(std::min(n, rx.size()));
    inbox.insert(inbox.end(), rx.begin(), end);
  }
  void receive_failed() {}

  void prepend_input(const uint8_t* data, size_t n) {
    inbox.insert(inbox.begin() + static_cast<std::ptrdiff_t>(inbox_start), data, data + n);
  }

  // Feeds what the engine takes, then notes its events.
  void feed_inbox() {
    if (!conn) return;
    if (inbox_start < inbox.size()) inbox_start += conn->feed(unfed());
    compact_inbox();
    poll_events();
  }
  void poll_events() {
    while (auto event = conn->next_event()) {
      if (event->kind == EventKind::handshake_complete) handshake_done = true;
      if (event->kind == EventKind::peer_closed) peer_close_notify = true;
    }
  }
  void on_transport_eof() {
    transport_eof = true;
    if (conn) conn->transport_eof();
  }

  error_code engine_error() {
    const Error& e = conn->error();
    last_error = e;
    return make_error_code(e);
  }
  error_code fail_with(const Error& e) {
    last_error = e;
    return make_error_code(e);
  }
  void wake_other(side s) { wake[static_cast<int>(s) ^ 1].cancel(); }

  // The moment the reading operation must stop waiting for input, if any.
  std::optional<std::chrono::steady_clock::time_point> input_deadline() const {
    std::optional<std::chrono::steady_clock::time_point> at = shutdown_deadline;
    if (timer_clock != nullptr && conn) {
      if (auto engine_ms = conn->next_deadline_ms()) {
        const int64_t delay = std::max<int64_t>(0, *engine_ms - timer_clock->now_ms());
        const auto engine_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay);
        if (!at || engine_at < *at) at = engine_at;
      }
    }
    return at;
  }
};

// ---- the operations: one step function each ----------------------------------

template <class Core>
struct handshake_step {
  stream_base::handshake_type type;
  std::vector<uint8_t> initial;  // bytes already read (buffered handshake)
  size_t initial_size = 0;
  bool started = false;
  static constexpr side kind = side::reading;

  step_result operator()(Core& c) {
    if (!started) {
      started = true;
      if (c.transport_error) return finished(c.transport_error);
      if (!c.conn) {
        Result<Connection> made =
            type == stream_base::server ? Connection::server(c.config)
            : !c.saved_session.empty()
                ? Connection::client(c.config, c.server_name, ByteView(c.saved_session))
                : Connection::client(c.config, c.server_name);
        if (!made) return finished(c.fail_with(made.error()));
        c.conn.emplace(std::move(made).value());
      } else if ((c.conn->role() == Role::server) != (type == stream_base::server)) {
        return finished(c.fail_with(Error(ErrorCode::invalid_argument, Stage::handshake,
                                          "handshake() called again with the other role")));
      }
      c.prepend_input(initial.data(), initial.size());
      initial_size = initial.size();
      initial.clear();
    }
    c.feed_inbox();
    const Readiness r = c.conn->wants();
    if (r.has_output) return {want::output};
    if (c.conn->error()) return finished(c.engine_error());
    if (r.handshake_complete || c.handshake_done) {
      c.handshake_done = true;
      return finished({}, initial_size);
    }
    if (r.awaiting_config) {
      return finished(c.fail_with(Error(
          ErrorCode::invalid_argument, Stage::handshake,
          "the SNI selector deferred (SniAnswer::later), which the Asio stream does not support: "
          "answer in the selector")));
    }
    if (r.closed) {
      return finished(c.fail_with(
          Error(ErrorCode::invalid_argument, Stage::closed, "handshake on a closed stream")));
    }
    if (c.transport_eof) return finished(error::stream_truncated);
    return {want::input};
  }
};

template <class Core>
inline error_code not_ready_error(Core& c, const char* what) {
  if (c.transport_error) return c.transport_error;
  return c.fail_with(Error(ErrorCode::invalid_argument, Stage::closed, what));
}

template <class Core, class MutableBuffers>
struct read_step {
  MutableBuffers buffers;
  static constexpr side kind = side::reading;

  step_result operator()(Core& c) {
    if (!c.conn || !c.handshake_done) {
      return finished(not_ready_error(c, "read before the handshake completed"));
    }
    if (net::buffer_size(buffers) == 0) return finished();
    if (c.readahead_start < c.readahead.size()) {
      const size_t n =
          net::buffer_copy(buffers, net::buffer(c.readahead.data() + c.readahead_start,
                                                c.readahead.size() - c.readahead_start));
      c.readahead_start += n;
      if (c.readahead_start == c.readahead.size()) {
        c.readahead.clear();
        c.readahead_start = 0;
      }
      return finished({}, n);
    }
    c.feed_inbox();
    size_t total = 0;
    for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers);
         ++it) {
      net::mutable_buffer b = *it;
      if (b.size() == 0) continue;
      const size_t n = c.conn->read(MutableByteView(b.data(), b.size()));
      total += n;
      if (n < b.size()) break;
    }
    if (total > 0) {
      c.feed_inbox();  // room freed: take more of what was received
      return finished({}, total);
    }
    const Readiness r = c.conn->wants();
    if (r.has_output && !c.writing) return {want::output};
    if (c.conn->error()) return finished(c.engine_error());
    if (c.transport_error) return finished(c.transport_error);
    if (r.read_closed || c.peer_close_notify) return finished(net::error::eof);
    if (c.transport_eof) return finished(net::error::eof);  // after our own close
    if (r.wants_input || r.closed) return {want::input};
    if (r.has_output) return {want::wait_other};
    return finished(c.fail_with(Error(ErrorCode::internal_error, Stage::internal,
                                      "the engine neither has data nor wants input")));
  }
};

template <class Core, class ConstBuffers>
struct write_step {
  ConstBuffers buffers;
  size_t accepted = 0;
  bool took = false;
  static constexpr side kind = side::writing;

  step_result operator()(Core& c) {
    if (!c.conn || !c.handshake_done) {
      return finished(not_ready_error(c, "write before the handshake completed"));
    }
    if (!took) {
      if (net::buffer_size(buffers) == 0) return finished();
      if (c.conn->error()) return finished(c.engine_error());
      if (c.transport_error) return finished(c.transport_error);
      if (c.conn->wants().write_closed) return finished(net::error::shut_down);
      for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers);
           ++it) {
        net::const_buffer b = *it;
        if (b.size() == 0) continue;
        const size_t n = c.conn->write(ByteView(b.data(), b.size()));
        accepted += n;
        if (n < b.size()) break;
      }
      took = accepted > 0;
    }
    const Readiness r = c.conn->wants();
    if (r.has_output) return c.writing ? step_result{want::wait_other} : step_result{want::output};
    if (took) return finished({}, accepted);
    if (c.conn->error()) return finished(c.engine_error());
    // Nothing taken and nothing to send: a TLS 1.2 renegotiation holds
    // writes until the peer's records arrive. A read in progress brings
    // them; otherwise read them here and keep their plaintext for read().
    if (c.reading) return {want::wait_other};
    if (c.transport_eof) return finished(error::stream_truncated);
    c.feed_inbox();
    stash_plaintext(c);
    return {want::input};
  }

  static void stash_plaintext(Core& c) {
    uint8_t chunk[4096];
    while (size_t n = c.conn->read(MutableByteView(chunk, sizeof chunk))) {
      c.readahead.insert(c.readahead.end(), chunk, chunk + n);
    }
  }
};

template <class Core>
struct shutdown_step {
  bool started = false;
  static constexpr side kind = side::reading;

  step_result operator()(Core& c) {
    if (!c.conn) return finished(not_ready_error(c, "shutdown before a handshake"));
    if (!started) {
      started = true;
      if (!c.close_sent) {
        c.close_sent = true;
        c.conn->close();
      }
      if (c.shutdown_timeout.count() > 0) {
        c.shutdown_deadline = std::chrono::steady_clock::now() + c.shutdown_timeout;
      }
    }
    // Data the peer still sends is dropped, as SSL_shutdown does.
    for (;;) {
      c.feed_inbox();
      uint8_t scratch[4096];
      bool any = false;
      while (c.conn->read(MutableByteView(scratch, sizeof scratch)) > 0) any = true;
      if (!any) break;
    }
    const Readiness r = c.conn->wants();
    if (r.has_output) return {want::output};
    if (c.peer_close_notify) return done(c, {});
    if (c.conn->error()) return done(c, c.engine_error());
    if (c.transport_error) return done(c, c.transport_error);
    if (c.transport_eof) return done(c, error::stream_truncated);
    if (!c.handshake_done && r.closed)
      return done(c, {});  // abandoned handshake: nothing to wait for
    if (c.inbox_start < c.inbox.size()) {
      // The engine takes no more input yet is not done: nothing can arrive.
      return done(c, {});
    }
    return {want::input};
  }

  static step_result done(Core& c, error_code ec) {
    c.shutdown_deadline.reset();
    return finished(ec);
  }
};

// ---- the synchronous driver ------------------------------------------------------

template <class Core, class Step>
size_t run_sync(Core& c, Step step, error_code& ec) {
  for (;;) {
    step_result r = step(c);
    switch (r.what) {
      case want::done:
        ec = r.ec;
        return r.bytes;
      case want::output: {
        ByteView out = c.conn->pending_output();
        error_code wec;
        const size_t n = net::write(c.next, net::buffer(out.data(), out.size()), wec);
        c.conn->consume_output(n);
        if (wec) {
          c.transport_error = wec;
          ec = c.conn->error() ? c.engine_error() : wec;
          return 0;
        }
        break;
      }
      case want::input: {
        error_code rec;
        const size_t n = c.next.read_some(c.receive_space(), rec);
        if (rec == net::error::eof) {
          c.receive_failed();
          c.on_transport_eof();
        } else if (rec) {
          c.receive_failed();
          c.transport_error = rec;
        } else {
          c.received(n);
        }
        break;
      }
      case want::wait_other:
        ec = c.fail_with(Error(ErrorCode::invalid_argument, Stage::closed,
                               "a synchronous operation would wait for another one in progress"));
        return 0;
    }
  }
}

// ---- the asynchronous driver -----------------------------------------------------

template <class Core, class Step, bool Sized>
struct io_op {
  std::shared_ptr<Core> core;
  Step step;
  enum class phase {
    start,
    running,
    write_done,
    read_done,
    wake_done,
    completing
  } at = phase::start;
  error_code final_ec{};
  size_t final_bytes = 0;

  static constexpr int k = static_cast<int>(Step::kind);

  template <class Self>
  void operator()(Self& self, error_code ec = {}, size_t n = 0) {
    Core& c = *core;
    switch (at) {
      case phase::start: {
        c.cancelled[k] = false;
        self.reset_cancellation_state(net::enable_total_cancellation());
        at = phase::running;
        step_result first = step(c);
        if (first.what == want::done) {
          // Never complete inside the initiating call.
          final_ec = first.ec;
          final_bytes = first.bytes;
          at = phase::completing;
          net::post(c.next.get_executor(), std::move(self));
          return;
        }
        return act(self, first);
      }
      case phase::completing:
        return complete(self, final_ec, final_bytes);
      case phase::write_done:
        c.writing = false;
        c.conn->consume_output(n);
        c.wake_other(Step::kind);
        if (ec) {
          if (ec == net::error::operation_aborted && c.cancelled[k]) {
            return finish(self, net::error::operation_aborted);
          }
          c.transport_error = ec;
          return finish(self, c.conn->error() ? c.engine_error() : ec);
        }
        break;
      case phase::read_done: {
        c.reading = false;
        ++c.deadline_generation;
        c.deadline.cancel();
        c.wake_other(Step::kind);
        if (ec == net::error::eof) {
          c.receive_failed();
          c.on_transport_eof();
        } else if (ec) {
          c.receive_failed();
          if (ec == net::error::operation_aborted) {
            if (c.cancelled[k]) return finish(self, net::error::operation_aborted);
            if (c.shutdown_timed_out) {
              c.shutdown_timed_out = false;
              c.shutdown_deadline.reset();
              return finish(self, net::error::timed_out);
            }
            if (c.deadline_fired) {
              c.deadline_fired = false;  // the step sees the engine's new state
              break;
            }
          }
          c.transport_error = ec;
          return finish(self, ec);
        } else {
          c.received(n);
        }
        break;
      }
      case phase::wake_done:
        if (c.cancelled[k]) return finish(self, net::error::operation_aborted);
        break;
      case phase::running:
        break;
    }
    return act(self, step(c));
  }

  template <class Self>
  void finish(Self& self, error_code ec) {
    complete(self, ec, 0);
  }
  template <class Self>
  void complete(Self& self, error_code ec, size_t n) {
    if constexpr (std::is_same_v<Step, shutdown_step<Core>>) core->shutdown_deadline.reset();
    if constexpr (Sized) {
      self.complete(ec, n);
    } else {
      self.complete(ec);
    }
  }

  template <class Self>
  void act(Self& self, step_result r) {
    Core& c = *core;
    if (r.what != want::done) forward_cancellation(self, c);
    switch (r.what) {
      case want::done:
        return complete(self, r.ec, r.bytes);
      case want::output: {
        c.writing = true;
        at = phase::write_done;
        ByteView out = c.conn->pending_output();
        return net::async_write(c.next, net::buffer(out.data(), out.size()),
                                net::bind_cancellation_slot(c.signal[k].slot(), std::move(self)));
      }
      case want::input: {
        c.reading = true;
        at = phase::read_done;
        arm_deadline(c);
        return c.next.async_read_some(
            c.receive_space(), net::bind_cancellation_slot(c.signal[k].slot(), std::move(self)));
      }
      case want::wait_other: {
        if (!c.reading && !c.writing) {
          return complete(self,
                          c.fail_with(Error(ErrorCode::internal_error, Stage::internal,
                                            "waiting for an operation that is not running")),
                          0);
        }
        at = phase::wake_done;
        c.wake[k].expires_at(net::steady_timer::time_point::max());
        return c.wake[k].async_wait(
            net::bind_cancellation_slot(c.signal[k].slot(), std::move(self)));
      }
    }
  }

  // The user's slot fires our per-side signal, which the inner operation is
  // bound to (so the deadline timer can fire it too). The composed operation
  // clears its slot's handler on every invocation: assign it again each time.
  template <class Self>
  static void forward_cancellation(Self& self, Core& c) {
    auto slot = self.get_cancellation_state().slot();
    if (!slot.is_connected()) return;
    slot.assign([signal = &c.signal[k], flag = &c.cancelled[k]](net::cancellation_type t) {
      *flag = true;
      signal->emit(t);
    });
  }

  // While waiting for input: stop at the engine's next deadline (timers
  // driven by drive_timers) or at the shutdown bound.
  void arm_deadline(Core& c) {
    auto at_time = c.input_deadline();
    if (!at_time) return;
    const uint64_t generation = ++c.deadline_generation;
    c.deadline.expires_at(*at_time);
    std::weak_ptr<Core> weak = core;
    c.deadline.async_wait([weak, generation](error_code ec) {
      auto locked = weak.lock();
      if (!locked || ec || locked->deadline_generation != generation) return;
      on_deadline(*locked);
    });
  }

  static void on_deadline(Core& c) {
    if (c.shutdown_deadline && std::chrono::steady_clock::now() >= *c.shutdown_deadline) {
      c.shutdown_timed_out = true;
      c.signal[k].emit(net::cancellation_type::terminal);
      return;
    }
    if (c.timer_clock != nullptr && c.conn) {
      const Readiness before = c.conn->wants();
      c.conn->on_timer(c.timer_clock->now_ms());
      const Readiness after = c.conn->wants();
      if (c.conn->error() || after.closed != before.closed || after.has_output) {
        c.deadline_fired = true;
        c.signal[k].emit(net::cancellation_type::terminal);
        return;
      }
    }
    // Not due yet (clock skew between the two clocks): wait again.
    auto at_time = c.input_deadline();
    if (!at_time) return;
    const uint64_t generation = ++c.deadline_generation;
    c.deadline.expires_at(
        std::max(*at_time, std::chrono::steady_clock::now() + std::chrono::milliseconds(1)));
    std::weak_ptr<Core> weak = c.self_weak;
    c.deadline.async_wait([weak, generation](error_code ec) {
      auto locked = weak.lock();
      if (!locked || ec || locked->deadline_generation != generation) return;
      on_deadline(*locked);
    });
  }
};

template <class Core, class Step, class Token>
auto async_run(const std::shared_ptr<Core>& core, Step step, Token&& token) {
  return net::async_compose<Token, void(error_code, size_t)>(
      io_op<Core, Step, true>{core, std::move(step)}, token, core->next);
}
// For operations whose completion has no size (handshake, shutdown).
template <class Core, class Step, class Token>
auto async_run_unsized(const std::shared_ptr<Core>& core, Step step, Token&& token) {
  return net::async_compose<Token, void(error_code)>(
      io_op<Core, Step, false>{core, std::move(step)}, token, core->next);
}

// ---- CONNECT through an HTTP proxy ------------------------------------------------

struct proxy_op_state {
  tunnel::ConnectClient client;
  std::vector<uint8_t> buffer = std::vector<uint8_t>(4096);
};

}  // namespace detail

// What the proxy answered to CONNECT (status 0: no complete status line).
struct proxy_reply {
  int status = 0;
  std::string reason;
  std::string proxy_authenticate;
};

template <class NextLayer>
class stream : public stream_base {
  using core_type = detail::core<NextLayer>;

 public:
  using next_layer_type = NextLayer;
  using lowest_layer_type = typename detail::lowest_layer_of<NextLayer>::type;
  using executor_type = typename NextLayer::executor_type;

  // `arg` constructs the next layer (a socket moved in, an io_context or
  // executor, another stream...); `config` decides the role-independent
  // settings (a client or server Config: it must match the handshake type).
  template <class Arg>
  stream(Arg&& arg, Config config)
      : core_(std::make_shared<core_type>(std::forward<Arg>(arg), std::move(config))) {
    core_->self_weak = core_;
  }

  stream(stream&&) noexcept = default;
  stream& operator=(stream&&) noexcept = default;

  executor_type get_executor() noexcept { return core_->next.get_executor(); }
  next_layer_type& next_layer() noexcept { return core_->next; }
  const next_layer_type& next_layer() const noexcept { return core_->next; }
  decltype(auto) lowest_layer() noexcept {
    if constexpr (std::is_same_v<lowest_layer_type, NextLayer>) {
      return (core_->next);
    } else {
      return core_->next.lowest_layer();
    }
  }

  // ---- settings, before the handshake (asio: SSL_set_tlsext_host_name) ----
  // Clients: the name for SNI and certificate checks (an IP literal is
  // verified but not sent). Required unless the Config verifies nothing.
  void set_server_name(std::string name) { core_->server_name = std::move(name); }
  // Clients: a session saved with Connection::save_session() to resume.
  void set_session(std::vector<uint8_t> saved) { core_->saved_session = std::move(saved); }
  // Drive the engine's timers (handshake_timeout, close_timeout) with a
  // steady_timer while waiting for input; `clock` must be the Config's clock
  // and outlive the stream. Off by default (as in the blocking adapter).
  void drive_timers(Clock& clock) noexcept { core_->timer_clock = &clock; }
  // async_shutdown's bound on waiting for the peer's close_notify (default
  // 5 s; 0: no bound). Expiry completes it with net::error::timed_out.
  void set_shutdown_timeout(std::chrono::milliseconds timeout) noexcept {
    core_->shutdown_timeout = timeout;
  }

  // ---- state ----
  // The engine (asio: native_handle()); null before the handshake starts.
  Connection* connection() noexcept { return core_->conn ? &*core_->conn : nullptr; }
  const Connection* connection() const noexcept { return core_->conn ? &*core_->conn : nullptr; }
  // Negotiated parameters (valid after the handshake).
  const ConnectionInfo* info() const noexcept {
    return core_->conn ? &core_->conn->info() : nullptr;
  }
  // The full Error of the last engine failure (its message has the details).
  const Error& last_error() const noexcept { return core_->last_error; }

  // ---- handshake ----
  void handshake(handshake_type type) {
    error_code ec;
    handshake(type, ec);
    throw_if(ec, "handshake");
  }
  void handshake(handshake_type type, error_code& ec) {
    detail::run_sync(*core_, detail::handshake_step<core_type>{type, {}}, ec);
  }
  // With bytes already read from the next layer (a server that peeked at the
  // first bytes); returns how many of them were used (all of them).
  template <class ConstBuffers>
  size_t handshake(handshake_type type, const ConstBuffers& buffers) {
    error_code ec;
    size_t n = handshake(type, buffers, ec);
    throw_if(ec, "handshake");
    return n;
  }
  template <class ConstBuffers>
  size_t handshake(handshake_type type, const ConstBuffers& buffers, error_code& ec) {
    return detail::run_sync(*core_, detail::handshake_step<core_type>{type, to_bytes(buffers)}, ec);
  }
  template <class Token>
  auto async_handshake(handshake_type type, Token&& token) {
    return detail::async_run_unsized(core_, detail::handshake_step<core_type>{type, {}},
                                     std::forward<Token>(token));
  }
  template <class ConstBuffers, class Token>
  auto async_handshake(handshake_type type, const ConstBuffers& buffers, Token&& token) {
    return detail::async_run(core_, detail::handshake_step<core_type>{type, to_bytes(buffers)},
                             std::forward<Token>(token));
  }

  // ---- data ----
  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers) {
    error_code ec;
    size_t n = read_some(buffers, ec);
    throw_if(ec, "read_some");
    return n;
  }
  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers, error_code& ec) {
    return detail::run_sync(*core_, detail::read_step<core_type, MutableBuffers>{buffers}, ec);
  }
  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return detail::async_run(core_, detail::read_step<core_type, MutableBuffers>{buffers},
                             std::forward<Token>(token));
  }
  template <class ConstBuffers>
  size_t write_some(const ConstBuffers& buffers) {
    error_code ec;
    size_t n = write_some(buffers, ec);
    throw_if(ec, "write_some");
    return n;
  }
  template <class ConstBuffers>
  size_t write_some(const ConstBuffers& buffers, error_code& ec) {
    return detail::run_sync(*core_, detail::write_step<core_type, ConstBuffers>{buffers}, ec);
  }
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return detail::async_run(core_, detail::write_step<core_type, ConstBuffers>{buffers},
                             std::forward<Token>(token));
  }

  // ---- shutdown: close_notify both ways ----
  // Sends close_notify and waits for the peer's. Success: the peer's
  // close_notify arrived. error::stream_truncated: the transport ended
  // without it. net::error::timed_out: set_shutdown_timeout() passed (async
  // only; the synchronous form waits without a bound, as asio::ssl does).
  void shutdown() {
    error_code ec;
    shutdown(ec);
    throw_if(ec, "shutdown");
  }
  void shutdown(error_code& ec) {
    detail::run_sync(*core_, detail::shutdown_step<core_type>{}, ec);
    core_->shutdown_deadline.reset();
  }
  template <class Token>
  auto async_shutdown(Token&& token) {
    return detail::async_run_unsized(core_, detail::shutdown_step<core_type>{},
                                     std::forward<Token>(token));
  }

 private:
  template <class ConstBuffers>
  static std::vector<uint8_t> to_bytes(const ConstBuffers& buffers) {
    std::vector<uint8_t> bytes(net::buffer_size(buffers));
    net::buffer_copy(net::buffer(bytes), buffers);
    return bytes;
  }
  static void throw_if(const error_code& ec, const char* what) {
    if (ec) throw boost::system::system_error(ec, what);
  }

  std::shared_ptr<core_type> core_;
};

// ---- Beast: websocket::stream<sanstls::asio::stream<...>> closes with
// close_notify both ways (found by argument-dependent lookup).
template <class NextLayer>
void teardown(boost::beast::role_type, stream<NextLayer>& s, error_code& ec) {
  s.shutdown(ec);
}
template <class NextLayer, class TeardownHandler>
void async_teardown(boost::beast::role_type, stream<NextLayer>& s, TeardownHandler&& handler) {
  s.async_shutdown(std::forward<TeardownHandler>(handler));
}

}  // namespace sanstls::asio
