// Follows one direction of a TLS byte stream record by record, with bounded
// state: the 5-byte header, the body countdown, and the plaintext handshake
// messages reassembled up to a cap. The engine runs one per direction: the
// inbound one sees every header before mbedTLS does, so bad headers get the
// right alert (record_overflow, unexpected_message) and plain HTTP is named.
#pragma once

#include <cstdint>
#include <vector>

#include "sanstls/bytes.h"

namespace sanstls::detail {

enum ContentType : uint8_t {
  kChangeCipherSpec = 20,
  kAlert = 21,
  kHandshake = 22,
  kApplicationData = 23,
};

struct RecordHeader {
  uint8_t type = 0;
  uint16_t version = 0;
  uint16_t length = 0;
};

enum class HeaderVerdict : uint8_t {
  ok,
  http_request,            // "GET / ..." arriving at a TLS server
  http_response,           // "HTTP/1.1 ..." arriving at a TLS client
  bad_type,                // not a TLS content type
  bad_version,             // not a 3.x record version
  too_long,                // above the RFC limit for its kind
  empty_handshake,         // zero-length handshake or alert fragment
  bad_change_cipher_spec,  // a ChangeCipherSpec that is not the single byte 1,
                           // or one after the handshake (RFC 8446 5)
  plaintext_alert,         // a fatal alert in the clear where records are protected
  plaintext_handshake,     // a handshake record in the clear after TLS 1.3's ServerHello
};

// The largest record body of each kind (RFC 8446 5.2, RFC 5246 6.2.3).
constexpr size_t kMaxPlaintextRecord = 16384;
constexpr size_t kMaxCiphertextRecord = 16384 + 256;
// TLS 1.2 CBC records may carry up to 2048 bytes of padding, MAC and IV.
constexpr size_t kMaxCbcCiphertextRecord = 16384 + 2048;

// Judges a complete header. `first` is the first record of the stream,
// `encrypted` says whether record protection is on in this direction, and
// `protected_limit` is the largest protected record body allowed (TLS 1.3
// derives it from the AEAD tag: the inner plaintext, padding included, is
// at most 2^14 + 1 bytes, RFC 8446 5.2 and 5.4).
HeaderVerdict judge_header(const uint8_t header[5], bool first, bool from_client, bool encrypted,
                           size_t protected_limit = kMaxCiphertextRecord) noexcept;

class RecordObserver {
 public:
  virtual ~RecordObserver() = default;
  virtual void on_record(const RecordHeader& header) = 0;
  // A whole plaintext handshake message (body truncated to the cap).
  virtual void on_handshake_message(uint8_t type, ByteView body, bool truncated) = 0;
  // A plaintext alert (level, description).
  virtual void on_plaintext_alert(uint8_t level, uint8_t description) = 0;
  // A complete plaintext ChangeCipherSpec record whose body is `value`.
  virtual void on_change_cipher_spec(uint8_t value) { (void)value; }
};

class RecordStream {
 public:
  static constexpr size_t kMaxTrackedMessage = 8192;

  explicit RecordStream(RecordObserver& observer) noexcept : observer_(observer) {}

  bool in_header() const noexcept { return body_remaining_ == 0 && !body_active_; }
  size_t header_bytes() const noexcept { return header_len_; }
  const uint8_t* header() const noexcept { return header_; }
  size_t body_remaining() const noexcept { return body_remaining_; }
  uint64_t records_completed() const noexcept { return records_completed_; }
  // The header of the record whose body is (or was last) delivered.
  const RecordHeader& current_record() const noexcept { return current_; }
  bool change_cipher_spec_seen() const noexcept { return ccs_seen_; }
  // During on_handshake_message: how many bytes of the same record follow
  // the message (RFC 8446 5.1: messages before a key change end a record).
  size_t record_bytes_after_message() const noexcept { return after_message_; }
  // Handshake records stay plaintext after CCS only in TLS 1.3 (HRR flows);
  // in TLS 1.2 everything after CCS is encrypted.
  void set_tls13(bool tls13) noexcept { tls13_ = tls13; }
  bool encrypted(uint8_t type) const noexcept;
  // Back to the start of a stream (the bytes will be replayed).
  void reset() noexcept;
  // Stop reassembling handshake messages (after the handshake).
  void stop_tracking() noexcept;

  // Accepts header bytes one chunk at a time; returns how many were taken.
  size_t add_header_bytes(ByteView bytes) noexcept;
  // The header is complete (5 bytes); begin its body.
  void begin_body() noexcept;
  // Body bytes of the current record (at most body_remaining()).
  void add_body_bytes(ByteView bytes);

  // For the outbound direction: follow any bytes without judging them.
  void observe(ByteView bytes);

 private:
  void end_record();
  void track_handshake(ByteView bytes);

  RecordObserver& observer_;
  uint8_t header_[5] = {0};
  size_t header_len_ = 0;
  RecordHeader current_;
  bool body_active_ = false;
  size_t body_remaining_ = 0;
  uint64_t records_completed_ = 0;
  bool ccs_seen_ = false;
  bool tls13_ = false;
  bool tracking_ = true;
  uint8_t alert_bytes_[2] = {0, 0};
  uint8_t ccs_value_ = 0;
  size_t alert_len_ = 0;
  // Handshake message reassembly.
  uint8_t message_header_[4] = {0};
  size_t message_header_len_ = 0;
  size_t message_remaining_ = 0;
  std::vector<uint8_t> message_;
  size_t chunk_tail_ = 0;     // record bytes after the chunk being tracked
  size_t after_message_ = 0;  // record bytes after the message being reported
};

}  // namespace sanstls::detail
