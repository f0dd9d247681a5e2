#include "nautilus/core/error.hpp"

namespace nautilus::core {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kParse:
      return "parse";
    case ErrorCode::kOutOfRange:
      return "out_of_range";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kAlreadyExists:
      return "already_exists";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kCapacity:
      return "capacity";
    case ErrorCode::kDecode:
      return "decode";
    case ErrorCode::kUnsupportedVersion:
      return "unsupported_version";
    case ErrorCode::kClosed:
      return "closed";
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "unknown";
}

std::string Error::to_string() const {
  std::string out(core::to_string(code));
  out += ": ";
  out += message;
  return out;
}

}  // namespace nautilus::core
