// fuzz_connect_request: the proxy side's CONNECT request parser
// (sanstls/tunnel.h, ConnectRequestParser) with arbitrary client bytes.
//
// Input: [mode][client bytes]. mode & kModeChunkMask: feed size (0 = all at
// once); kModeEof: transport_eof() at the end. Checked (a violation traps):
//   - feed() takes at most what it is offered, all of it while reading, and
//     nothing once complete or failed; the state only moves forward;
//   - complete: the head taken ends with a blank line, the port is not 0,
//     the host is non-empty and the authority names both;
//   - failed: the status is 400, 405 or 431 and a detail is given;
//   - the head is never longer than kMaxRequestBytes;
//   - the same bytes fed all at once end the same way (state, status,
//     target, credentials, bytes taken).
#include <string>

#include "harness/harness.h"
#include "sanstls/tunnel.h"

namespace sanstls::fuzz {
namespace {

using tunnel::ConnectRequestParser;
using tunnel::RequestState;

struct Ending {
  RequestState state;
  int status;
  std::string authority;
  std::string credentials;
  size_t taken;
};

Ending run_one(ByteView request, size_t chunk, bool eof) {
  ConnectRequestParser parser;
  size_t at = 0;
  while (at < request.size()) {
    const ByteView offered = request.skip(at).first(chunk == 0 ? request.size() : chunk);
    const RequestState before = parser.state();
    const size_t taken = parser.feed(offered);
    check(taken <= offered.size());
    if (before != RequestState::reading) check(taken == 0 && parser.state() == before);
    at += taken;
    if (parser.state() != RequestState::reading) break;
    check(taken == offered.size());
  }
  check(at == parser.bytes_taken() || parser.state() == RequestState::failed);
  check(parser.bytes_taken() <= ConnectRequestParser::kMaxRequestBytes + 1);
  if (eof) {
    const RequestState before = parser.state();
    parser.transport_eof();
    if (before == RequestState::reading) check(parser.reject_status() == 400);
    if (before != RequestState::reading) check(parser.state() == before);
  }
  Ending ending{parser.state(), parser.reject_status(), parser.authority(), {}, at};
  if (parser.state() == RequestState::complete) {
    check(at >= 2 && request[at - 1] == '\n');
    check(parser.port() != 0 && !parser.host().empty());
    check(parser.authority().find(parser.host()) != std::string::npos);
    check(parser.reject_status() == 0);
    check(parser.feed(ByteView("CONNECT a:1 HTTP/1.1\r\n\r\n")) == 0);
  }
  if (parser.state() == RequestState::failed) {
    const int s = parser.reject_status();
    check(s == 400 || s == 405 || s == 431);
    check(!parser.detail().empty());
  }
  if (parser.credentials()) {
    check(parser.credentials()->user.find(':') == std::string::npos);
    ending.credentials = parser.credentials()->user + ":" + parser.credentials()->password;
  }
  return ending;
}

}  // namespace

int run_connect_request(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t mode = in.u8();
  const ByteView request = in.rest();
  const bool eof = (mode & kModeEof) != 0;
  const Ending split = run_one(request, mode & kModeChunkMask, eof);
  const Ending whole = run_one(request, 0, eof);
  check(split.state == whole.state);
  check(split.status == whole.status);
  check(split.authority == whole.authority);
  check(split.credentials == whole.credentials);
  check(split.taken == whole.taken);
  return 0;
}

}  // namespace sanstls::fuzz
