#include "record_stream.h"

#include <cstring>

namespace sanstls::detail {
namespace {

bool starts_with(const uint8_t header[5], const char* text, size_t n) {
  return std::memcmp(header, text, n) == 0;
}

}  // namespace

HeaderVerdict judge_header(const uint8_t header[5], bool first, bool from_client, bool encrypted,
                           size_t protected_limit) noexcept {
  if (first) {
    static const char* const kMethods[] = {"GET /", "POST ", "HEAD ", "PUT /", "DELET",
                                           "OPTIO", "CONNE", "PATCH", "TRACE", "PRI *"};
    if (from_client) {
      for (const char* method : kMethods) {
        if (starts_with(header, method, 5)) return HeaderVerdict::http_request;
      }
    } else if (starts_with(header, "HTTP/", 5)) {
      return HeaderVerdict::http_response;
    }
  }
  const uint8_t type = header[0];
  if (type < kChangeCipherSpec || type > kApplicationData) return HeaderVerdict::bad_type;
  if (header[1] != 3) return HeaderVerdict::bad_version;
  const size_t length = (size_t{header[3]} << 8) | header[4];
  const size_t limit =
      (encrypted || type == kApplicationData) ? protected_limit : kMaxPlaintextRecord;
  if (length > limit) return HeaderVerdict::too_long;
  // A plaintext ChangeCipherSpec is exactly one byte (RFC 8446 5, RFC
  // 5246 7.1).
  if (type == kChangeCipherSpec && !encrypted && length != 1) {
    return HeaderVerdict::bad_change_cipher_spec;
  }
  if (length == 0 && !encrypted && (type == kHandshake || type == kAlert)) {
    return HeaderVerdict::empty_handshake;
  }
  return HeaderVerdict::ok;
}

bool RecordStream::encrypted(uint8_t type) const noexcept {
  if (type == kApplicationData) return true;
  return ccs_seen_ && !tls13_;
}

void RecordStream::reset() noexcept {
  header_len_ = 0;
  body_active_ = false;
  body_remaining_ = 0;
  ccs_seen_ = false;
  tls13_ = false;
  tracking_ = true;
  alert_len_ = 0;
  message_header_len_ = 0;
  message_remaining_ = 0;
  message_.clear();
}

void RecordStream::stop_tracking() noexcept {
  tracking_ = false;
  message_.clear();
  message_.shrink_to_fit();
}

size_t RecordStream::add_header_bytes(ByteView bytes) noexcept {
  size_t n = 5 - header_len_;
  if (n > bytes.size()) n = bytes.size();
  if (n == 0) return 0;
  std::memcpy(header_ + header_len_, bytes.data(), n);
  header_len_ += n;
  return n;
}

void RecordStream::begin_body() noexcept {
  current_.type = header_[0];
  current_.version = static_cast<uint16_t>((header_[1] << 8) | header_[2]);
  current_.length = static_cast<uint16_t>((header_[3] << 8) | header_[4]);
  header_len_ = 0;
  body_remaining_ = current_.length;
  body_active_ = true;
  alert_len_ = 0;
  observer_.on_record(current_);
  if (body_remaining_ == 0) end_record();
}

void RecordStream::add_body_bytes(ByteView bytes) {
  if (bytes.size() > body_remaining_) bytes = bytes.first(body_remaining_);
  const bool plaintext = !encrypted(current_.type) || current_.type == kAlert;
  chunk_tail_ = body_remaining_ - bytes.size();
  if (current_.type == kHandshake && plaintext && tracking_) track_handshake(bytes);
  if (current_.type == kChangeCipherSpec && plaintext && !bytes.empty()) ccs_value_ = bytes[0];
  if (current_.type == kAlert && current_.length == 2) {
    // A 2-byte alert record is plaintext whatever the phase: protected ones are longer.
    for (size_t i = 0; i < bytes.size() && alert_len_ < 2; ++i)
      alert_bytes_[alert_len_++] = bytes[i];
  }
  body_remaining_ -= bytes.size();
  if (body_remaining_ == 0) end_record();
}

void RecordStream::end_record() {
  body_active_ = false;
  ++records_completed_;
  if (current_.type == kChangeCipherSpec) {
    // Judged before ccs_seen_ switches TLS 1.2 to protected records.
    if (!encrypted(kChangeCipherSpec) && current_.length == 1) {
      observer_.on_change_cipher_spec(ccs_value_);
    }
    ccs_seen_ = true;
  }
  if (current_.type == kAlert && alert_len_ == 2) {
    observer_.on_plaintext_alert(alert_bytes_[0], alert_bytes_[1]);
  }
}

void RecordStream::observe(ByteView bytes) {
  while (!bytes.empty()) {
    if (!body_active_) {
      bytes = bytes.skip(add_header_bytes(bytes));
      if (header_len_ < 5) return;
      begin_body();
      continue;
    }
    const size_t n = bytes.size() < body_remaining_ ? bytes.size() : body_remaining_;
    add_body_bytes(bytes.first(n));
    bytes = bytes.skip(n);
  }
}

void RecordStream::track_handshake(ByteView bytes) {
  while (!bytes.empty()) {
    if (message_header_len_ < 4) {
      size_t n = 4 - message_header_len_;
      if (n > bytes.size()) n = bytes.size();
      std::memcpy(message_header_ + message_header_len_, bytes.data(), n);
      message_header_len_ += n;
      bytes = bytes.skip(n);
      if (message_header_len_ < 4) return;
      message_remaining_ = (size_t{message_header_[1]} << 16) | (size_t{message_header_[2]} << 8) |
                           message_header_[3];
      message_.clear();
    }
    size_t n = bytes.size() < message_remaining_ ? bytes.size() : message_remaining_;
    const size_t room = kMaxTrackedMessage - message_.size();
    const size_t keep = n < room ? n : room;
    message_.insert(message_.end(), bytes.data(), bytes.data() + keep);
    message_remaining_ -= n;
    bytes = bytes.skip(n);
    if (message_remaining_ == 0) {
      const size_t declared = (size_t{message_header_[1]} << 16) |
                              (size_t{message_header_[2]} << 8) | message_header_[3];
      after_message_ = chunk_tail_ + bytes.size();
      observer_.on_handshake_message(message_header_[0], ByteView(message_.data(), message_.size()),
                                     message_.size() < declared);
      message_header_len_ = 0;
      message_.clear();
    }
  }
}

}  // namespace sanstls::detail
