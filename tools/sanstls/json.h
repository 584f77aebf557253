// A tiny streaming JSON writer: objects, arrays, strings, numbers, booleans
// and null, with commas placed for you. Strings are escaped per RFC 8259;
// bytes that are not valid UTF-8 become U+FFFD so the output always parses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sanstls_cli {

class Json {
 public:
  Json& begin_object();
  Json& end_object();
  Json& begin_array();
  Json& end_array();
  // Inside an object: the next value's name.
  Json& key(std::string_view name);

  Json& value(std::string_view text);
  Json& value(const char* text) { return value(std::string_view(text)); }
  Json& value(const std::string& text) { return value(std::string_view(text)); }
  Json& value(bool b);
  Json& value(int64_t n);
  Json& value(uint64_t n);
  Json& value(int n) { return value(static_cast<int64_t>(n)); }
  Json& null();
  // A string, or null when `text` is empty.
  Json& string_or_null(std::string_view text);

  const std::string& str() const { return out_; }

 private:
  void before_value();
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written yet
  bool after_key_ = false;
};

// `text` as a quoted JSON string.
std::string json_quote(std::string_view text);

}  // namespace sanstls_cli
