// Error: what library code returns instead of throwing, used as std::expected<T, Error>.
//
//   Result<Price> p = Price::from_string("101.25");
//   if (!p) { log(p.error().message); }
//
//   Result<Bar> parse_bar(std::string_view s) {
//     NAUTILUS_TRY(open, Price::from_string(s));  // `open` is a Price, or the error is returned
//     ...
//   }
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

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

// Unwraps a Result into a new local `var` (moved out, so move-only values such as a Publisher
// work), or returns its error from the enclosing function (which returns some Result<U>). It
// declares `var##_r` beside `var`. Not for Result<void>, which has no value to unwrap. (`var`
// is a name being declared, so it cannot be parenthesised.)
// NOLINTBEGIN(bugprone-macro-parentheses)
#define NAUTILUS_TRY(var, expr)                          \
  auto var##_r = (expr);                                 \
  if (!var##_r) return std::unexpected(var##_r.error()); \
  auto var = std::move(*var##_r)
// NOLINTEND(bugprone-macro-parentheses)
