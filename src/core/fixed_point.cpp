#include "nautilus/core/fixed_point.hpp"

#include <cmath>
#include <string>

namespace nautilus::core::detail {
namespace {

constexpr std::int64_t kPow10[] = {1,      10,      100,      1000,      10000,
                                   100000, 1000000, 10000000, 100000000, 1000000000};

std::unexpected<Error> bad(std::string_view what, std::string_view s, std::string_view why) {
  return fail(ErrorCode::kParse,
              std::string(what) + " '" + std::string(s) + "': " + std::string(why));
}

}  // namespace

Result<std::int64_t> parse_decimal(std::string_view s, std::uint8_t& precision, bool allow_negative,
                                   std::string_view what) {
  const std::string_view input = s;
  if (s.empty()) return bad(what, input, "empty");
  bool negative = false;
  if (s.front() == '-' || s.front() == '+') {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (negative && !allow_negative) return bad(what, input, "must not be negative");
  std::int64_t whole = 0;
  std::size_t i = 0;
  std::size_t int_digits = 0;
  for (; i < s.size() && s[i] != '.'; ++i) {
    if (s[i] < '0' || s[i] > '9') return bad(what, input, "not a decimal number");
    whole = whole * 10 + (s[i] - '0');
    if (whole >= kMaxRaw / kFixedScale) return bad(what, input, "out of range");
    ++int_digits;
  }
  std::int64_t frac = 0;
  std::uint8_t decimals = 0;
  if (i < s.size()) {  // s[i] == '.'
    ++i;
    if (i == s.size()) return bad(what, input, "no digits after '.'");
    for (; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') return bad(what, input, "not a decimal number");
      if (decimals == kMaxPrecision) return bad(what, input, "more than 9 decimals");
      frac = frac * 10 + (s[i] - '0');
      ++decimals;
    }
  }
  if (int_digits == 0 && decimals == 0) return bad(what, input, "no digits");
  precision = decimals;
  const std::int64_t raw = whole * kFixedScale + frac * kPow10[kMaxPrecision - decimals];
  return negative ? -raw : raw;
}

Result<std::int64_t> raw_from_double(double v, std::uint8_t precision, bool allow_negative,
                                     std::string_view what) {
  if (precision > kMaxPrecision) {
    return fail(ErrorCode::kInvalidArgument, std::string(what) + " precision above 9");
  }
  if (!std::isfinite(v))
    return fail(ErrorCode::kInvalidArgument, std::string(what) + " not finite");
  if (v < 0 && !allow_negative) {
    return fail(ErrorCode::kInvalidArgument, std::string(what) + " must not be negative");
  }
  // Round in units of the precision first, so e.g. 0.1 + binary noise lands on exactly 0.1.
  const double units = std::round(v * static_cast<double>(kPow10[precision]));
  // Whole units of the precision that stay below kMaxRaw; the integer floor is intended.
  const std::int64_t max_units = kMaxRaw / kPow10[kMaxPrecision - precision];
  const auto limit = static_cast<double>(max_units);
  if (std::fabs(units) >= limit) {
    return fail(ErrorCode::kOutOfRange, std::string(what) + " out of range");
  }
  return static_cast<std::int64_t>(units) * kPow10[kMaxPrecision - precision];
}

Result<void> check_raw(std::int64_t raw, std::uint8_t precision, bool allow_negative,
                       std::string_view what) {
  if (precision > kMaxPrecision) {
    return fail(ErrorCode::kInvalidArgument, std::string(what) + " precision above 9");
  }
  if (raw <= -kMaxRaw || raw >= kMaxRaw) {
    return fail(ErrorCode::kOutOfRange, std::string(what) + " out of range");
  }
  if (raw < 0 && !allow_negative) {
    return fail(ErrorCode::kInvalidArgument, std::string(what) + " must not be negative");
  }
  if (raw % kPow10[kMaxPrecision - precision] != 0) {
    return fail(
        ErrorCode::kInvalidArgument,
        std::string(what) + " has more decimals than its precision " + std::to_string(precision));
  }
  return {};
}

std::string_view format_decimal(std::int64_t raw, std::uint8_t precision,
                                DecimalBuffer& buf) noexcept {
  const bool negative = raw < 0;
  std::uint64_t mag =
      negative ? static_cast<std::uint64_t>(-(raw + 1)) + 1 : static_cast<std::uint64_t>(raw);
  if (precision > kMaxPrecision) precision = kMaxPrecision;
  // Written backwards from the end: the kept decimals, the point, the whole part, the sign.
  char* const end = buf.data() + buf.size();
  char* p = end;
  std::uint64_t frac = mag % static_cast<std::uint64_t>(kFixedScale);
  mag /= static_cast<std::uint64_t>(kFixedScale);
  if (precision > 0) {
    for (int k = kMaxPrecision; k > precision; --k) frac /= 10;  // drop the unquoted decimals
    for (int k = 0; k < precision; ++k) {
      *--p = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    *--p = '.';
  }
  do {
    *--p = static_cast<char>('0' + mag % 10);
    mag /= 10;
  } while (mag != 0);
  if (negative) *--p = '-';
  return {p, static_cast<std::size_t>(end - p)};
}

std::string format_decimal(std::int64_t raw, std::uint8_t precision) {
  DecimalBuffer buf;
  return std::string(format_decimal(raw, precision, buf));
}

}  // namespace nautilus::core::detail
