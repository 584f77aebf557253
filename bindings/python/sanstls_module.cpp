// The Python module `sanstls`: the engine in the sans-I/O style Python users
// know from h11 and h2 (receive_data / next_event / send_data / data_to_send),
// with names from ssl.SSLObject where they overlap. See docs/bindings.md.
#include <pybind11/eval.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdio>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "sanstls/platform.h"
#include "sanstls/sanstls.h"
#include "sanstls/version.h"

namespace py = pybind11;
using namespace sanstls;

namespace {

// Python-side classes (the exception and the events), defined once in
// Python so they behave like ordinary Python classes (repr, ==, pickling).
const char* const kPythonClasses = R"PY(
class TLSError(Exception):
    """A TLS failure: `name` is the stable name ("CERT_HAS_EXPIRED"), `stage`
    where it happened ("certificate"), `alert` the TLS alert name or None."""
    def __init__(self, message, name="ERR_TLS_INTERNAL", stage="internal", alert=None,
                 alert_sent=None):
        super().__init__(message)
        self.message = message
        self.name = name
        self.stage = stage
        self.alert = alert
        self.alert_sent = alert_sent
    def __str__(self):
        text = "%s [stage %s]: %s" % (self.name, self.stage, self.message)
        if self.alert:
            text += " (alert %s %s)" % (self.alert, "sent" if self.alert_sent else "received")
        return text

class Event:
    """Base class of what next_event() returns."""
    _fields = ()
    def __init__(self, **values):
        for field in self._fields:
            setattr(self, field, values.get(field))
    def __repr__(self):
        inner = ", ".join("%s=%r" % (f, getattr(self, f)) for f in self._fields)
        return "%s(%s)" % (type(self).__name__, inner)
    def __eq__(self, other):
        return type(self) is type(other) and all(
            getattr(self, f) == getattr(other, f) for f in self._fields)

class HandshakeComplete(Event):
    _fields = ("protocol", "cipher", "alpn_protocol", "session_reused")

class DataReceived(Event):
    _fields = ("data",)

class SessionTicket(Event):
    _fields = ()

class PeerClosed(Event):
    """The peer sent close_notify: no more data will come."""
    _fields = ()

class WarningAlert(Event):
    _fields = ("alert",)

class ServerNameRequested(Event):
    """Servers with a deferred SNI choice: answer with provide_config() or reject_server_name()."""
    _fields = ("server_name",)

class EarlyDataReceived(Event):
    _fields = ("data",)

class EarlyDataRejected(Event):
    _fields = ()

class Renegotiated(Event):
    _fields = ()

class _SniLater:
    """What an sni_callback returns to answer later (ServerNameRequested)."""
    def __repr__(self):
        return "sanstls.SNI_LATER"

SNI_LATER = _SniLater()
)PY";

// The module object (borrowed: sys.modules keeps it alive, and no reference
// is dropped after the interpreter is gone).
PyObject* g_module = nullptr;
py::module_ module_ref() { return py::reinterpret_borrow<py::module_>(g_module); }

py::object make_tls_error(const Error& error) {
  py::object alert = py::none();
  py::object alert_sent = py::none();
  if (error.has_alert()) {
    alert = py::str(alert_name(error.alert()));
    alert_sent = py::bool_(error.alert_direction() == AlertDirection::sent);
  }
  return module_ref().attr("TLSError")(py::str(error.message()), py::str(error.name()),
                                       py::str(stage_name(error.stage())), alert, alert_sent);
}

[[noreturn]] void raise_error(const Error& error) {
  py::object exception = make_tls_error(error);
  PyErr_SetObject(module_ref().attr("TLSError").ptr(), exception.ptr());
  throw py::error_already_set();
}

[[noreturn]] void raise_usage(const char* message) {
  raise_error(Error(ErrorCode::invalid_argument, Stage::config, message));
}

std::string buffer_bytes(const py::handle& value) {
  if (py::isinstance<py::bytes>(value))
    return std::string(py::reinterpret_borrow<py::bytes>(value));
  py::buffer buffer = py::reinterpret_borrow<py::buffer>(value);
  py::buffer_info info = buffer.request();
  return std::string(static_cast<const char*>(info.ptr),
                     static_cast<size_t>(info.size * info.itemsize));
}

// PEM (or DER) given as str or bytes (or another bytes-like object).
std::string as_bytes(const py::handle& value, const char* what) {
  if (py::isinstance<py::bytes>(value))
    return std::string(py::reinterpret_borrow<py::bytes>(value));
  if (py::isinstance<py::str>(value)) return py::cast<std::string>(value);
  if (PyObject_CheckBuffer(value.ptr())) return buffer_bytes(value);  // bytearray, memoryview
  std::string message = std::string(what) + " must be str or bytes";
  raise_usage(message.c_str());
}

TlsVersion parse_version(const py::handle& value) {
  const std::string text = py::cast<std::string>(py::str(value));
  if (text == "TLSv1.2" || text == "1.2") return TlsVersion::tls1_2;
  if (text == "TLSv1.3" || text == "1.3") return TlsVersion::tls1_3;
  raise_error(Error(ErrorCode::invalid_version, Stage::config,
                    "versions are \"TLSv1.2\" or \"TLSv1.3\" (or \"1.2\", \"1.3\")"));
}

// A built Config and what its callbacks need kept alive.
struct ConfigHandle {
  Config config;
};

// Returned by an sni_callback to answer later (see ServerNameRequested).
PyObject* g_sni_later = nullptr;

// A Python callable held by an engine callback (std::function must be
// copyable, so it is shared). Engine calls run with the GIL held (pybind11
// does not release it), so calling needs nothing; the last reference may go
// wherever a Config dies, so dropping it takes the GIL.
struct PyCallable {
  explicit PyCallable(py::object callable) : fn(std::move(callable)) {}
  ~PyCallable() {
    if (!Py_IsInitialized()) {
      fn.release();  // the interpreter is gone: nothing left to free
      return;
    }
    py::gil_scoped_acquire gil;
    fn = py::object();
  }
  PyCallable(const PyCallable&) = delete;
  PyCallable& operator=(const PyCallable&) = delete;
  py::object fn;
};

std::shared_ptr<PyCallable> hold(const py::object& callable, const char* what) {
  if (!PyCallable_Check(callable.ptr())) {
    const std::string message = std::string(what) + " must be callable";
    raise_usage(message.c_str());
  }
  return std::make_shared<PyCallable>(callable);
}

// An exception from a callback the engine cannot stop for (key log, trace)
// is reported like one from a __del__ method, and the handshake goes on.
void report_unraisable(py::error_already_set& error, const char* where) {
  error.discard_as_unraisable(where);
}

const char* trace_kind_name(TraceEntry::Kind kind) {
  switch (kind) {
    case TraceEntry::Kind::record:
      return "record";
    case TraceEntry::Kind::handshake_message:
      return "handshake_message";
    case TraceEntry::Kind::alert:
      return "alert";
  }
  return "record";
}

// keylog_filename (appended, like ssl.SSLContext.keylog_filename), keylog
// (a callable taking each line) and trace (a callable taking a dict per
// record, handshake message or alert).
void apply_debugging(ConfigBuilder& builder, const py::object& keylog_filename,
                     const py::object& keylog, const py::object& trace) {
  if (!keylog_filename.is_none() && !keylog.is_none())
    raise_usage("give keylog_filename or keylog, not both");
  if (!keylog_filename.is_none()) {
    const std::string path =
        py::cast<std::string>(py::module_::import("os").attr("fsdecode")(keylog_filename));
    // Opened per line: no descriptor held by the Config, and each line is on
    // disk before the handshake goes on (so a crash loses nothing).
    builder.key_log([path](std::string_view line) {
      if (FILE* file = std::fopen(path.c_str(), "a")) {
        std::fwrite(line.data(), 1, line.size(), file);
        std::fputc('\n', file);
        std::fclose(file);
      }
    });
  }
  if (!keylog.is_none()) {
    auto callable = hold(keylog, "keylog");
    builder.key_log([callable](std::string_view line) {
      try {
        callable->fn(py::str(line.data(), line.size()));
      } catch (py::error_already_set& error) {
        report_unraisable(error, "sanstls keylog callback");
      }
    });
  }
  if (!trace.is_none()) {
    auto callable = hold(trace, "trace");
    builder.trace([callable](const TraceEntry& entry) {
      try {
        py::dict out;
        out["direction"] = entry.direction == TraceEntry::Direction::sent ? "sent" : "received";
        out["kind"] = trace_kind_name(entry.kind);
        out["content_type"] = content_type_name(entry.content_type);
        out["encrypted"] = entry.encrypted;
        out["handshake_type"] = entry.kind == TraceEntry::Kind::handshake_message
                                    ? py::object(py::str(handshake_type_name(entry.handshake_type)))
                                    : py::object(py::none());
        out["alert"] = entry.kind == TraceEntry::Kind::alert
                           ? py::object(py::str(alert_name(static_cast<Alert>(entry.alert))))
                           : py::object(py::none());
        out["fatal"] = entry.kind == TraceEntry::Kind::alert && entry.alert_level == 2;
        out["length"] = entry.length;
        callable->fn(out);
      } catch (py::error_already_set& error) {
        report_unraisable(error, "sanstls trace callback");
      }
    });
  }
}

// Settings shared by client_config() and server_config().
void apply_common(ConfigBuilder& builder, const py::object& alpn, const py::object& min_version,
                  const py::object& max_version, const py::object& cipher_suites,
                  const py::object& groups) {
  builder.random(platform::os_random()).clock(platform::system_clock());
  if (!alpn.is_none()) builder.alpn(py::cast<std::vector<std::string>>(alpn));
  if (!min_version.is_none() || !max_version.is_none()) {
    builder.versions(min_version.is_none() ? TlsVersion::tls1_2 : parse_version(min_version),
                     max_version.is_none() ? TlsVersion::tls1_3 : parse_version(max_version));
  }
  if (!cipher_suites.is_none()) builder.cipher_suites(py::cast<std::string>(cipher_suites));
  if (!groups.is_none()) builder.groups(py::cast<std::string>(groups));
}

std::shared_ptr<ConfigHandle> finish(const ConfigBuilder& builder) {
  Result<Config> built = builder.build();
  if (!built.ok()) raise_error(built.error());
  return std::make_shared<ConfigHandle>(ConfigHandle{std::move(built).value()});
}

std::shared_ptr<ConfigHandle> client_config(
    const py::object& ca_pem, const py::object& cert_pem, const py::object& key_pem,
    const py::object& key_passphrase, const py::object& alpn, const py::object& min_version,
    const py::object& max_version, bool verify, const py::object& cipher_suites,
    const py::object& groups, const py::object& psk, const py::object& session_tickets,
    bool early_data, const py::object& keylog_filename, const py::object& keylog,
    const py::object& trace) {
  ConfigBuilder builder(Role::client);
  apply_common(builder, alpn, min_version, max_version, cipher_suites, groups);
  apply_debugging(builder, keylog_filename, keylog, trace);
  if (early_data) builder.early_data(1);
  if (!ca_pem.is_none()) {
    builder.trust_anchors(ByteView(as_bytes(ca_pem, "ca_pem")));
  } else if (verify && psk.is_none()) {
    // Like ssl.create_default_context(): the system's CA bundle.
    auto bundle = platform::system_trust_anchors();
    if (!bundle.ok()) raise_error(bundle.error());
    builder.trust_anchors(ByteView(bundle.value()));
  }
  builder.peer_verification(verify ? PeerVerification::required : PeerVerification::none);
  if (!cert_pem.is_none() || !key_pem.is_none()) {
    if (cert_pem.is_none() || key_pem.is_none()) raise_usage("cert_pem and key_pem go together");
    builder.certificate(
        ByteView(as_bytes(cert_pem, "cert_pem")), ByteView(as_bytes(key_pem, "key_pem")),
        key_passphrase.is_none() ? std::string() : py::cast<std::string>(key_passphrase));
  }
  if (!psk.is_none()) {
    auto pair = py::cast<py::tuple>(psk);
    if (pair.size() != 2) raise_usage("psk is (identity, key)");
    builder.psk(as_bytes(pair[0], "psk identity"), ByteView(as_bytes(pair[1], "psk key")));
  }
  if (!session_tickets.is_none()) builder.session_tickets(py::cast<uint32_t>(session_tickets));
  return finish(builder);
}

std::shared_ptr<ConfigHandle> server_config(
    const py::object& cert_pem, const py::object& key_pem, const py::object& key_passphrase,
    const py::object& ca_pem, const py::object& verify_client, const py::object& alpn,
    const py::object& min_version, const py::object& max_version, const py::object& cipher_suites,
    const py::object& groups, const py::object& session_tickets, const py::object& sni,
    bool strict_sni, const py::object& sni_callback, const py::object& psk_lookup,
    uint32_t early_data, const py::object& keylog_filename, const py::object& keylog,
    const py::object& trace) {
  ConfigBuilder builder(Role::server);
  apply_common(builder, alpn, min_version, max_version, cipher_suites, groups);
  apply_debugging(builder, keylog_filename, keylog, trace);
  builder.early_data(early_data);
  if (!sni_callback.is_none()) {
    // sni_callback(server_name) -> None (this config), a server Config,
    // False (refuse: unrecognized_name) or sanstls.SNI_LATER (pause; answer
    // with provide_config() / reject_server_name()). An exception refuses.
    auto callable = hold(sni_callback, "sni_callback");
    builder.sni_selector([callable](std::string_view name) -> SniAnswer {
      try {
        py::object answer = callable->fn(
            name.empty() ? py::object(py::none()) : py::object(py::str(name.data(), name.size())));
        if (answer.is_none()) return SniAnswer::use_default();
        if (answer.ptr() == g_sni_later) return SniAnswer::later();
        if (py::isinstance<ConfigHandle>(answer)) {
          const auto context = py::cast<std::shared_ptr<ConfigHandle>>(answer);
          if (context->config.role() == Role::server) return SniAnswer::use(context->config);
        }
        return SniAnswer::reject();  // False, or anything that is not a server Config
      } catch (py::error_already_set& error) {
        report_unraisable(error, "sanstls sni_callback");
        return SniAnswer::reject();
      }
    });
  }
  if (!psk_lookup.is_none()) {
    // psk_lookup(identity: str) -> bytes, or None / b"" for an unknown
    // identity (ssl.SSLContext.set_psk_server_callback's shape, Python 3.13).
    auto callable = hold(psk_lookup, "psk_lookup");
    builder.psk_lookup(
        [callable](std::string_view identity) -> std::optional<std::vector<uint8_t>> {
          try {
            py::object key = callable->fn(py::reinterpret_steal<py::object>(PyUnicode_DecodeUTF8(
                identity.data(), static_cast<Py_ssize_t>(identity.size()), "surrogateescape")));
            if (key.is_none()) return std::nullopt;
            const std::string bytes = buffer_bytes(key);
            if (bytes.empty()) return std::nullopt;
            return std::vector<uint8_t>(bytes.begin(), bytes.end());
          } catch (py::error_already_set& error) {
            report_unraisable(error, "sanstls psk_lookup");
            return std::nullopt;
          }
        });
  }
  if (!cert_pem.is_none() || !key_pem.is_none()) {
    if (cert_pem.is_none() || key_pem.is_none()) raise_usage("cert_pem and key_pem go together");
    builder.certificate(
        ByteView(as_bytes(cert_pem, "cert_pem")), ByteView(as_bytes(key_pem, "key_pem")),
        key_passphrase.is_none() ? std::string() : py::cast<std::string>(key_passphrase));
  }
  if (!ca_pem.is_none()) builder.trust_anchors(ByteView(as_bytes(ca_pem, "ca_pem")));
  if (!verify_client.is_none()) {
    const std::string mode = py::cast<std::string>(py::str(verify_client));
    if (mode == "required" || mode == "True") {
      builder.peer_verification(PeerVerification::required);
    } else if (mode == "optional") {
      builder.peer_verification(PeerVerification::optional);
    } else if (mode != "none" && mode != "False") {
      raise_usage("verify_client is None, False, \"optional\" or \"required\"");
    }
  }
  if (!session_tickets.is_none()) builder.session_tickets(py::cast<uint32_t>(session_tickets));
  if (!sni.is_none()) {
    for (const auto& item : py::cast<py::dict>(sni)) {
      auto context = py::cast<std::shared_ptr<ConfigHandle>>(item.second);
      if (!context || context->config.role() != Role::server)
        raise_usage("sni maps host names to server configs");
      builder.sni_context(py::cast<std::string>(item.first), context->config);
    }
  }
  builder.strict_sni(strict_sni);
  return finish(builder);
}

class PyConnection {
 public:
  PyConnection(Connection connection, std::shared_ptr<ConfigHandle> config)
      : connection_(std::move(connection)), config_(std::move(config)) {}

  static std::unique_ptr<PyConnection> client(std::shared_ptr<ConfigHandle> config,
                                              const py::object& server_name,
                                              const py::object& session) {
    if (!config) raise_usage("config must not be None");
    Result<Connection> made =
        server_name.is_none() ? Connection::client_without_server_name(config->config)
        : session.is_none() ? Connection::client(config->config, py::cast<std::string>(server_name))
                            : Connection::client(config->config, py::cast<std::string>(server_name),
                                                 ByteView(buffer_bytes(session)));
    if (!made.ok()) raise_error(made.error());
    return std::make_unique<PyConnection>(std::move(made).value(), std::move(config));
  }

  static std::unique_ptr<PyConnection> server(std::shared_ptr<ConfigHandle> config) {
    if (!config) raise_usage("config must not be None");
    Result<Connection> made = Connection::server(config->config);
    if (!made.ok()) raise_error(made.error());
    return std::make_unique<PyConnection>(std::move(made).value(), std::move(config));
  }

  // Takes all of `data` (what the engine cannot hold yet waits here and is
  // fed as the application reads). b"" tells the engine the transport ended.
  size_t receive_data(const py::handle& data) {
    const std::string bytes = buffer_bytes(data);
    if (bytes.empty()) eof_received_ = true;
    inbox_.append(bytes);
    feed_inbox();
    raise_if_failed_now();
    return bytes.size();
  }

  // The ciphertext to send, taken out of the engine.
  py::bytes data_to_send() {
    const ByteView pending = connection_.pending_output();
    py::bytes out(reinterpret_cast<const char*>(pending.data()), pending.size());
    connection_.consume_output(pending.size());
    return out;
  }

  size_t send_data(const py::handle& data) {
    raise_if_failed();
    const std::string bytes = buffer_bytes(data);
    if (!connection_.wants().handshake_complete)
      raise_error(Error(ErrorCode::invalid_argument, Stage::handshake,
                        "send_data before the handshake completed"));
    if (connection_.wants().write_closed)
      raise_error(Error(ErrorCode::invalid_argument, Stage::closed, "send_data after close()"));
    // The engine accepts less while its output is full: the rest is refused
    // until data_to_send() has been drained (back-pressure, like a socket).
    size_t total = 0;
    while (total < bytes.size()) {
      const size_t taken = connection_.write(ByteView(bytes.data() + total, bytes.size() - total));
      if (taken == 0) break;
      total += taken;
    }
    return total;
  }

  py::bytes read(size_t max) {
    std::string out(max, '\0');
    size_t total = 0;
    while (total < max) {
      const size_t n = connection_.read(MutableByteView(out.data() + total, max - total));
      if (n == 0 && !feed_inbox()) break;
      total += n;
    }
    out.resize(total);
    if (total == 0) raise_if_failed();
    return py::bytes(out);
  }

  // Events in order; application data as DataReceived before the peer's
  // close_notify; None when nothing is left. A failed connection raises its
  // TLSError once the events and data before the failure are taken.
  py::object next_event() {
    pull_events();
    const py::module_ m = module_ref();
    while (!events_.empty() && events_.front().kind != EventKind::peer_closed) {
      const Event event = events_.front();
      events_.pop_front();
      return to_python(event);
    }
    py::bytes data = read(65536);
    if (py::len(data) > 0) return m.attr("DataReceived")(py::arg("data") = data);
    if (!events_.empty()) {
      const Event event = events_.front();
      events_.pop_front();
      return to_python(event);
    }
    raise_if_failed();
    return py::none();
  }

  void close() { connection_.close(); }

  // Servers, after ServerNameRequested: go on with `config`, or refuse.
  void provide_config(const std::shared_ptr<ConfigHandle>& config) {
    if (!config) raise_usage("config must not be None");
    const Error error = connection_.provide_config(config->config);
    if (!error.ok()) raise_error(error);
    provided_.push_back(config);
    feed_inbox();
  }

  void reject_server_name() { connection_.reject_server_name(); }

  // Clients: 0-RTT data before the handshake completes, on a resumed
  // session that allows it; returns the bytes taken (0 when 0-RTT is not
  // possible). Whether the server took it: early_data_accepted.
  size_t send_early_data(const py::handle& data) {
    raise_if_failed();
    const std::string bytes = buffer_bytes(data);
    return connection_.write_early_data(ByteView(bytes));
  }

  py::object error() const {
    if (connection_.error().ok()) return py::none();
    return make_tls_error(connection_.error());
  }

  py::object protocol() const {
    if (!connection_.wants().handshake_complete) return py::none();
    return py::str(connection_.info().protocol);
  }

  py::object cipher() const {
    if (!connection_.wants().handshake_complete) return py::none();
    return py::str(connection_.info().cipher.name);
  }

  py::object alpn_protocol() const {
    const std::string& alpn = connection_.info().alpn_protocol;
    if (alpn.empty()) return py::none();
    return py::str(alpn);
  }

  py::object peer_certificate() const {
    const auto& chain = connection_.info().peer_certificates;
    if (chain.empty()) return py::none();
    return py::bytes(reinterpret_cast<const char*>(chain[0].der.data()), chain[0].der.size());
  }

  py::object authorization_error() const {
    const Error& error = connection_.info().authorization_error;
    if (error.ok()) return py::none();
    return make_tls_error(error);
  }

  py::bytes save_session() const {
    auto saved = connection_.save_session();
    if (!saved.ok()) raise_error(saved.error());
    return py::bytes(reinterpret_cast<const char*>(saved.value().data()), saved.value().size());
  }

  py::bytes export_keying_material(const std::string& label, size_t length,
                                   const py::object& context) const {
    std::string context_bytes;
    ByteView context_view;
    if (!context.is_none()) {
      context_bytes = buffer_bytes(context);
      static const uint8_t kEmpty[1] = {0};
      context_view = context_bytes.empty() ? ByteView(kEmpty, 0) : ByteView(context_bytes);
    }
    auto keying = connection_.export_keying_material(label, context_view, length);
    if (!keying.ok()) raise_error(keying.error());
    return py::bytes(reinterpret_cast<const char*>(keying.value().data()), keying.value().size());
  }

  const Connection& connection() const { return connection_; }

 private:
  // Feeds buffered input; true when the engine took something.
  bool feed_inbox() {
    size_t taken_total = 0;
    while (!inbox_.empty()) {
      const size_t taken = connection_.feed(ByteView(inbox_));
      if (taken == 0) break;
      inbox_.erase(0, taken);
      taken_total += taken;
    }
    if (inbox_.empty() && eof_received_ && !eof_delivered_) {
      eof_delivered_ = true;
      connection_.transport_eof();
    }
    if (!connection_.error().ok()) inbox_.clear();  // nothing more will be taken
    return taken_total > 0;
  }

  void pull_events() {
    while (auto event = connection_.next_event()) events_.push_back(*event);
  }

  py::object to_python(const Event& event) {
    const py::module_ m = module_ref();
    switch (event.kind) {
      case EventKind::handshake_complete: {
        const ConnectionInfo& info = connection_.info();
        return m.attr("HandshakeComplete")(
            py::arg("protocol") = info.protocol, py::arg("cipher") = info.cipher.name,
            py::arg("alpn_protocol") = info.alpn_protocol.empty()
                                           ? py::object(py::none())
                                           : py::object(py::str(info.alpn_protocol)),
            py::arg("session_reused") = info.session_reused);
      }
      case EventKind::session_ticket:
        return m.attr("SessionTicket")();
      case EventKind::peer_closed:
        return m.attr("PeerClosed")();
      case EventKind::warning_alert:
        return m.attr("WarningAlert")(py::arg("alert") = alert_name(event.alert));
      case EventKind::server_name_requested:
        return m.attr("ServerNameRequested")(py::arg("server_name") =
                                                 connection_.info().server_name);
      case EventKind::early_data: {
        std::string data(65536, '\0');
        const size_t n = connection_.read_early_data(MutableByteView(data.data(), data.size()));
        data.resize(n);
        return m.attr("EarlyDataReceived")(py::arg("data") = py::bytes(data));
      }
      case EventKind::early_data_rejected:
        return m.attr("EarlyDataRejected")();
      case EventKind::renegotiated:
        return m.attr("Renegotiated")();
    }
    return py::none();
  }

  void raise_if_failed() const {
    if (!connection_.error().ok()) raise_error(connection_.error());
  }

  // Raises when this call made the connection fail (once per failure).
  void raise_if_failed_now() {
    if (!connection_.error().ok() && !failure_raised_) {
      failure_raised_ = true;
      raise_error(connection_.error());
    }
  }

  Connection connection_;
  std::shared_ptr<ConfigHandle> config_;
  std::vector<std::shared_ptr<ConfigHandle>> provided_;
  std::string inbox_;
  std::deque<Event> events_;
  bool eof_received_ = false;
  bool eof_delivered_ = false;
  bool failure_raised_ = false;
};

}  // namespace

PYBIND11_MODULE(sanstls, m) {
  g_module = m.ptr();
  m.doc() = "sanstls: a sans-I/O TLS engine (mbedTLS 3.6) in the style of h11";
  m.attr("__version__") = SANSTLS_VERSION;
  py::exec(kPythonClasses, m.attr("__dict__"));
  g_sni_later = m.attr("SNI_LATER").ptr();  // owned by the module for its lifetime
  for (const char* name : {"TLSError", "Event", "HandshakeComplete", "DataReceived",
                           "SessionTicket", "PeerClosed", "WarningAlert", "ServerNameRequested",
                           "EarlyDataReceived", "EarlyDataRejected", "Renegotiated"}) {
    m.attr(name).attr("__module__") = "sanstls";
  }

  py::class_<ConfigHandle, std::shared_ptr<ConfigHandle>>(
      m, "Config", "An immutable TLS configuration (client_config() / server_config()).")
      .def_property_readonly("role", [](const ConfigHandle& c) {
        return c.config.role() == Role::client ? "client" : "server";
      });

  m.def("client_config", &client_config, py::kw_only(), py::arg("ca_pem") = py::none(),
        py::arg("cert_pem") = py::none(), py::arg("key_pem") = py::none(),
        py::arg("key_passphrase") = py::none(), py::arg("alpn") = py::none(),
        py::arg("min_version") = py::none(), py::arg("max_version") = py::none(),
        py::arg("verify") = true, py::arg("cipher_suites") = py::none(),
        py::arg("groups") = py::none(), py::arg("psk") = py::none(),
        py::arg("session_tickets") = py::none(), py::arg("early_data") = false,
        py::arg("keylog_filename") = py::none(), py::arg("keylog") = py::none(),
        py::arg("trace") = py::none(),
        "A client Config. ca_pem (str or bytes) defaults to the system's CA bundle when verify. "
        "early_data offers 0-RTT on resumed sessions (Connection.send_early_data).");
  m.def("server_config", &server_config, py::arg("cert_pem") = py::none(),
        py::arg("key_pem") = py::none(), py::kw_only(), py::arg("key_passphrase") = py::none(),
        py::arg("ca_pem") = py::none(), py::arg("verify_client") = py::none(),
        py::arg("alpn") = py::none(), py::arg("min_version") = py::none(),
        py::arg("max_version") = py::none(), py::arg("cipher_suites") = py::none(),
        py::arg("groups") = py::none(), py::arg("session_tickets") = py::none(),
        py::arg("sni") = py::none(), py::arg("strict_sni") = false,
        py::arg("sni_callback") = py::none(), py::arg("psk_lookup") = py::none(),
        py::arg("early_data") = 0, py::arg("keylog_filename") = py::none(),
        py::arg("keylog") = py::none(), py::arg("trace") = py::none(),
        "A server Config with its certificate chain and key (PEM, str or bytes). sni maps host "
        "names (or \"*.example.com\") to other server Configs; strict_sni refuses other names. "
        "sni_callback(server_name) returns None, a server Config, False or sanstls.SNI_LATER; "
        "psk_lookup(identity) returns the key (bytes) or None; early_data is the 0-RTT bytes "
        "accepted (0: off).");

  py::class_<PyConnection>(m, "Connection", "One TLS connection as a state machine: no I/O.")
      .def_static("client", &PyConnection::client, py::arg("config"),
                  py::arg("server_name") = py::none(), py::kw_only(),
                  py::arg("session") = py::none())
      .def_static("server", &PyConnection::server, py::arg("config"))
      .def("receive_data", &PyConnection::receive_data, py::arg("data"),
           "Ciphertext from the transport (b'' when it ended); returns len(data).")
      .def("data_to_send", &PyConnection::data_to_send, "Ciphertext to send (taken out).")
      .def("send_data", &PyConnection::send_data, py::arg("data"),
           "Application data to encrypt; returns bytes accepted.")
      .def("send", &PyConnection::send_data, py::arg("data"), "Same as send_data().")
      .def("read", &PyConnection::read, py::arg("max") = 65536, "Decrypted application data.")
      .def("next_event", &PyConnection::next_event, "The next event, or None.")
      .def("close", &PyConnection::close, "Queue close_notify.")
      .def("provide_config", &PyConnection::provide_config, py::arg("config"),
           "After ServerNameRequested: continue the handshake with this server Config.")
      .def("reject_server_name", &PyConnection::reject_server_name,
           "After ServerNameRequested: refuse the name (unrecognized_name).")
      .def("send_early_data", &PyConnection::send_early_data, py::arg("data"),
           "Clients: 0-RTT data before the handshake completes; returns bytes taken.")
      .def_property_readonly(
          "early_data_accepted",
          [](const PyConnection& c) { return c.connection().info().early_data.accepted; })
      .def_property_readonly(
          "awaiting_config",
          [](const PyConnection& c) { return c.connection().wants().awaiting_config; })
      .def("save_session", &PyConnection::save_session)
      .def("export_keying_material", &PyConnection::export_keying_material, py::arg("label"),
           py::arg("length"), py::arg("context") = py::none())
      .def_property_readonly("error", &PyConnection::error)
      .def_property_readonly(
          "handshake_complete",
          [](const PyConnection& c) { return c.connection().wants().handshake_complete; })
      .def_property_readonly("closed",
                             [](const PyConnection& c) { return c.connection().wants().closed; })
      .def_property_readonly(
          "wants_input", [](const PyConnection& c) { return c.connection().wants().wants_input; })
      .def_property_readonly("protocol", &PyConnection::protocol)
      .def_property_readonly("cipher", &PyConnection::cipher)
      .def_property_readonly("alpn_protocol", &PyConnection::alpn_protocol)
      .def_property_readonly(
          "session_reused",
          [](const PyConnection& c) { return c.connection().info().session_reused; })
      .def_property_readonly(
          "server_name", [](const PyConnection& c) { return c.connection().info().server_name; })
      .def_property_readonly("peer_certificate", &PyConnection::peer_certificate)
      .def_property_readonly("authorized",
                             [](const PyConnection& c) { return c.connection().info().authorized; })
      .def_property_readonly("authorization_error", &PyConnection::authorization_error);
}
