// Error: what library code returns instead of throwing, used as std::expected<T, Error>.
//
//   Result<Price> p = Price::from_string("101.25");
//   if (!p) { log(p.error().message); }
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace nautilus::core {

enum class ErrorCode : std::uint8_t {
  kInvalidArgument,
  kParse,
  kOutOfRange,
  kNotFound,
  kAlreadyExists,
  kTimeout,
  kCapacity,
  kDecode,
  kUnsupportedVersion,
  kClosed,
  kIo,  // a socket, file or remote service failed
  kInternal,
};

[[nodiscard]] std::string_view to_string(ErrorCode code) noexcept;

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  [[nodiscard]] std::string to_string() const;
};

template <class T>
using Result = std::expected<T, Error>;

// Shorthand for the error branch: `return fail(ErrorCode::kParse, "bad digit");`
[[nodiscard]] inline std::unexpected<Error> fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace nautilus::core
