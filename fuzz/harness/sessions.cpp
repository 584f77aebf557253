// fuzz_sessions: the saved-session parser. Connection::client(config, name,
// blob) with an arbitrary blob; when the blob is accepted, the resuming
// client's handshake runs on under the shared ContractCheck with the server
// bytes that follow, like fuzz_client.
//
// Input: [config selector][blob length u16][blob][mode][server bytes...]
// (mode as in fuzz_client: kMode* in harness.h).
#include <cstdio>
#include <cstdlib>

#include "harness/harness.h"

namespace sanstls::fuzz {

int run_sessions(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t selector = in.u8();
  const ByteView blob = in.take(in.u16());
  const uint8_t mode = in.u8();
  auto made = new_client_with_session(selector, blob);
  if (!made) {
    // A refused blob is a config-stage error (or, when its chain fails this
    // Config's verification, ERR_TLS_SESSION_NOT_TRUSTED), never a crash.
    check(made.error().stage() == Stage::config ||
          made.error().code() == ErrorCode::session_not_trusted);
    check(made.error().code() != ErrorCode::none);
    return 0;
  }
  Connection conn = std::move(made).value();
  if (!conn.error().ok() && std::getenv("SANSTLS_FUZZ_DEBUG") != nullptr) {
    std::fprintf(stderr, "sessions: made with error %s: %s\n", conn.error().name(),
                 conn.error().message());
  }
  check(conn.error().ok());
  run_handshake(conn, in, mode);
  return 0;
}

}  // namespace sanstls::fuzz
