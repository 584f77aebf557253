// Result<T>: a value or an Error, for APIs that build something.
#pragma once

#include <optional>
#include <utility>

#include "sanstls/error.h"

namespace sanstls {

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) noexcept : value_(std::move(value)) {}  // NOLINT
  Result(const Error& error) noexcept : error_(error) {}  // NOLINT

  bool ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  const Error& error() const noexcept { return error_; }

  // Precondition: ok().
  T& value() & noexcept { return *value_; }
  const T& value() const& noexcept { return *value_; }
  T&& value() && noexcept { return std::move(*value_); }
  T* operator->() noexcept { return &*value_; }
  const T* operator->() const noexcept { return &*value_; }

 private:
  std::optional<T> value_;
  Error error_;
};

}  // namespace sanstls
