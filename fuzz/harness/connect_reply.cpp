// fuzz_connect_reply: the CONNECT client's reply parser (sanstls/tunnel.h)
// with arbitrary proxy bytes.
//
// Input: [mode][proxy bytes]. mode & kModeChunkMask: feed size (0 = all at
// once); kModeWriteClose: the proxy's bytes arrive while the request is still
// half sent; kModeEof: transport_eof() at the end. Checked (a violation traps):
//   - feed() takes at most what it is offered, nothing once established or failed;
//   - the state only moves forward (sending, awaiting_reply, then established
//     or failed) and the first error is sticky (code and stage proxy);
//   - leftover() is non-empty only when established, and is exactly the
//     offered bytes after the reply's blank line;
//   - the same bytes fed all at once end the same way (state, error, status, leftover);
//   - a failure is one of the three proxy errors.
#include <string>
#include <vector>

#include "harness/harness.h"
#include "sanstls/tunnel.h"

namespace sanstls::fuzz {
namespace {

using tunnel::ConnectClient;
using tunnel::ConnectState;

struct Ending {
  ConnectState state;
  ErrorCode code;
  int status;
  std::vector<uint8_t> tail;  // leftover plus what was never offered after establishment
};

int rank(ConnectState state) {
  switch (state) {
    case ConnectState::sending:
      return 0;
    case ConnectState::awaiting_reply:
      return 1;
    case ConnectState::established:
    case ConnectState::failed:
      return 2;
  }
  return 3;
}

ConnectClient new_connect_client() {
  tunnel::ConnectRequest request;
  request.host = "origin.example";
  request.port = 443;
  request.credentials = tunnel::BasicCredentials{"user", "pass"};
  auto client = ConnectClient::create(request);
  check(client.ok());
  return std::move(client).value();
}

Ending run_one(ByteView reply, size_t chunk, bool early, bool eof) {
  ConnectClient client = new_connect_client();
  const size_t request_size = client.pending_output().size();
  client.consume_output(early ? request_size / 2 : request_size);
  check(client.state() == (early ? ConnectState::sending : ConnectState::awaiting_reply));
  ErrorCode first_error = ErrorCode::none;
  std::vector<uint8_t> tail;
  size_t at = 0;
  while (at < reply.size()) {
    const ByteView offered = reply.skip(at).first(chunk == 0 ? reply.size() : chunk);
    const ConnectState before = client.state();
    const size_t taken = client.feed(offered);
    const ConnectState after = client.state();
    check(taken <= offered.size());
    check(rank(after) >= rank(before));
    if (rank(before) == 2) check(taken == 0 && after == before);
    if (!client.leftover().empty()) check(after == ConnectState::established);
    if (after == ConnectState::failed) {
      check(client.error().stage() == Stage::proxy);
      if (first_error == ErrorCode::none) first_error = client.error().code();
      check(client.error().code() == first_error);
    } else {
      check(client.error().ok());
    }
    if (after == ConnectState::established && before != after) {
      // Everything offered was taken; leftover() is its end, after a blank line.
      check(taken == offered.size());
      const ByteView leftover = client.leftover();
      check(leftover.size() < offered.size());
      const size_t reply_end = at + offered.size() - leftover.size();
      check(reply_end >= 2 && reply[reply_end - 1] == '\n' &&
            (reply[reply_end - 2] == '\n' ||
             (reply_end >= 3 && reply[reply_end - 2] == '\r' && reply[reply_end - 3] == '\n')));
      const ByteView offered_tail = offered.skip(offered.size() - leftover.size());
      for (size_t i = 0; i < leftover.size(); ++i) check(leftover[i] == offered_tail[i]);
      tail.assign(leftover.begin(), leftover.end());
      const ByteView rest = reply.skip(at + offered.size());
      tail.insert(tail.end(), rest.begin(), rest.end());
      check(client.status() >= 200 && client.status() <= 299);
    }
    if (rank(after) == 2) break;
    check(taken == offered.size());  // still waiting: everything was taken
    at += offered.size();
  }
  if (eof) {
    const ConnectState before = client.state();
    client.transport_eof();
    if (rank(before) < 2) {
      check(client.error().code() == ErrorCode::proxy_closed);
    } else {
      check(client.state() == before);
    }
  }
  // Sticky: more bytes change nothing once decided.
  if (rank(client.state()) == 2) {
    const ErrorCode code = client.error().code();
    check(client.feed(ByteView("HTTP/1.1 200 OK\r\n\r\n")) == 0);
    check(client.error().code() == code);
  }
  const ErrorCode code = client.error().code();
  check(code == ErrorCode::none || code == ErrorCode::proxy_refused ||
        code == ErrorCode::proxy_closed || code == ErrorCode::proxy_bad_reply);
  if (code == ErrorCode::proxy_refused) check(client.status() >= 300);
  return {client.state(), code, client.status(), std::move(tail)};
}

}  // namespace

int run_connect_reply(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t mode = in.u8();
  const ByteView reply = in.rest();
  const bool early = (mode & kModeWriteClose) != 0;
  const bool eof = (mode & kModeEof) != 0;
  const Ending split = run_one(reply, mode & kModeChunkMask, early, eof);
  const Ending whole = run_one(reply, 0, early, eof);
  check(split.state == whole.state);
  check(split.code == whole.code);
  check(split.status == whole.status);
  check(split.tail == whole.tail);
  return 0;
}

}  // namespace sanstls::fuzz
