// Price and Quantity: exact decimal values as a 64-bit integer count of 1e-9 units plus the
// number of decimals the instrument quotes (its precision), so money never passes through
// binary floating point. Precision only affects parsing limits and printing; comparison and
// arithmetic use the raw integer, so 1.5 (precision 1) == 1.50 (precision 2).
//
//   auto px = Price::from_string("101.25");          // precision 2
//   auto q  = Quantity::from_string("300");          // precision 0
//   Price mid = *Price::from_raw(px->raw() + 5'000'000, 3);
//   fmt::print("{}\n", mid.to_string());             // "101.255"
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "nautilus/core/error.hpp"

namespace nautilus::core {

inline constexpr std::uint8_t kMaxPrecision = 9;
inline constexpr std::int64_t kFixedScale = 1'000'000'000;  // raw units per 1.0
// |raw| is kept below 2^62 so the sum or difference of any two valid values cannot overflow.
inline constexpr std::int64_t kMaxRaw = std::int64_t{1} << 62;
// Room for any value's decimal form: sign, 19 digits, '.', 9 decimals.
using DecimalBuffer = std::array<char, 32>;

namespace detail {
inline constexpr std::int64_t kDecimalPow10[] = {1,      10,      100,      1000,      10000,
                                                 100000, 1000000, 10000000, 100000000, 1000000000};

// The common case in one pass, no error wording: an optional '-', digits, optionally '.' and 1
// to 9 digits, short enough that nothing overflows. False for anything else, which the full
// parser below then reads or refuses with its reason. (Inline: the codec decodes every price this
// way, and the call and its Result were a fifth of a bar's decode time.)
[[gnu::always_inline]] inline bool parse_simple_decimal(std::string_view s, bool allow_negative,
                                                        std::int64_t& raw,
                                                        std::uint8_t& precision) noexcept {
  const char* p = s.data();
  std::size_t n = s.size();
  bool negative = false;
  if (n > 0 && p[0] == '-') {
    if (!allow_negative) return false;
    negative = true;
    ++p;
    --n;
  }
  if (n == 0 || n > 18) return false;  // at most 17 digits: no overflow below
  // One pass over digits and at most one '.': the value's digits as one integer.
  std::uint64_t digits = 0;
  std::size_t dot = n;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned d = static_cast<unsigned char>(p[i]) - '0';
    if (d <= 9) {
      digits = digits * 10 + d;
    } else if (p[i] == '.' && dot == n) {
      dot = i;
    } else {
      return false;
    }
  }
  const std::size_t decimals = dot == n ? 0 : n - dot - 1;
  if (dot == 0 || (dot < n && decimals == 0) || decimals > kMaxPrecision) return false;
  // The whole part must stay below kMaxRaw / kFixedScale, as in the full parser.
  const auto scale = static_cast<std::uint64_t>(kDecimalPow10[decimals]);
  if (digits / scale >= static_cast<std::uint64_t>(kMaxRaw / kFixedScale)) return false;
  const auto v = static_cast<std::int64_t>(digits) * kDecimalPow10[kMaxPrecision - decimals];
  raw = negative ? -v : v;
  precision = static_cast<std::uint8_t>(decimals);
  return true;
}

// The full parser, with a reason for every refusal; FixedPoint::from_string tries
// parse_simple_decimal first and comes here only when that declines.
[[nodiscard]] Result<std::int64_t> parse_decimal(std::string_view s, std::uint8_t& precision,
                                                 bool allow_negative, std::string_view what);
[[nodiscard]] Result<std::int64_t> raw_from_double(double v, std::uint8_t precision,
                                                   bool allow_negative, std::string_view what);
[[nodiscard]] Result<void> check_raw(std::int64_t raw, std::uint8_t precision, bool allow_negative,
                                     std::string_view what);
[[nodiscard]] std::string format_decimal(std::int64_t raw, std::uint8_t precision);
// The same text written into `buf` (no allocation; the codec's hot path).
[[nodiscard]] std::string_view format_decimal(std::int64_t raw, std::uint8_t precision,
                                              DecimalBuffer& buf) noexcept;
}  // namespace detail

template <class Tag>
class FixedPoint {
 public:
  constexpr FixedPoint() noexcept = default;

  // Precision is the number of decimals written (at most 9).
  [[nodiscard]] static Result<FixedPoint> from_string(std::string_view s) {
    std::uint8_t precision = 0;
    if (std::int64_t raw = 0; detail::parse_simple_decimal(s, Tag::kSigned, raw, precision)) {
      return FixedPoint(raw, precision);
    }
    auto raw = detail::parse_decimal(s, precision, Tag::kSigned, Tag::kWhat);
    if (!raw) return std::unexpected(raw.error());
    return FixedPoint(*raw, precision);
  }
  // Rounds half away from zero to `precision` decimals; rejects NaN, inf and out-of-range.
  [[nodiscard]] static Result<FixedPoint> from_double(double v, std::uint8_t precision) {
    auto raw = detail::raw_from_double(v, precision, Tag::kSigned, Tag::kWhat);
    if (!raw) return std::unexpected(raw.error());
    return FixedPoint(*raw, precision);
  }
  // `raw` must already be a multiple of 10^(9-precision).
  [[nodiscard]] static Result<FixedPoint> from_raw(std::int64_t raw, std::uint8_t precision) {
    if (auto ok = detail::check_raw(raw, precision, Tag::kSigned, Tag::kWhat); !ok) {
      return std::unexpected(ok.error());
    }
    return FixedPoint(raw, precision);
  }
  [[nodiscard]] static constexpr FixedPoint from_units(std::int64_t whole) noexcept {
    return FixedPoint(whole * kFixedScale, 0);
  }

  [[nodiscard]] constexpr std::int64_t raw() const noexcept { return raw_; }
  [[nodiscard]] constexpr std::uint8_t precision() const noexcept { return precision_; }
  // For statistics and display only, never for accounting.
  [[nodiscard]] constexpr double as_double() const noexcept {
    return static_cast<double>(raw_) / static_cast<double>(kFixedScale);
  }
  [[nodiscard]] std::string to_string() const { return detail::format_decimal(raw_, precision_); }
  // to_string() without allocating: the view points into `buf`.
  [[nodiscard]] std::string_view to_chars(DecimalBuffer& buf) const noexcept {
    return detail::format_decimal(raw_, precision_, buf);
  }

  // The result keeps the larger precision. Callers keep operands in range (|x| < 2^62 raw).
  friend constexpr FixedPoint operator+(FixedPoint a, FixedPoint b) noexcept {
    return FixedPoint(a.raw_ + b.raw_, a.precision_ > b.precision_ ? a.precision_ : b.precision_);
  }
  friend constexpr FixedPoint operator-(FixedPoint a, FixedPoint b) noexcept {
    return FixedPoint(a.raw_ - b.raw_, a.precision_ > b.precision_ ? a.precision_ : b.precision_);
  }
  // Checked forms for values that came from outside.
  [[nodiscard]] Result<FixedPoint> checked_add(FixedPoint o) const {
    return from_raw(raw_ + o.raw_, precision_ > o.precision_ ? precision_ : o.precision_);
  }
  [[nodiscard]] Result<FixedPoint> checked_sub(FixedPoint o) const {
    return from_raw(raw_ - o.raw_, precision_ > o.precision_ ? precision_ : o.precision_);
  }

  friend constexpr bool operator==(FixedPoint a, FixedPoint b) noexcept { return a.raw_ == b.raw_; }
  friend constexpr std::strong_ordering operator<=>(FixedPoint a, FixedPoint b) noexcept {
    return a.raw_ <=> b.raw_;
  }

 private:
  constexpr FixedPoint(std::int64_t raw, std::uint8_t precision) noexcept
      : raw_(raw), precision_(precision) {}

  std::int64_t raw_ = 0;
  std::uint8_t precision_ = 0;
};

struct PriceTag {
  static constexpr bool kSigned = true;  // spreads and some futures trade below zero
  static constexpr std::string_view kWhat = "price";
};
struct QuantityTag {
  static constexpr bool kSigned = false;
  static constexpr std::string_view kWhat = "quantity";
};

using Price = FixedPoint<PriceTag>;
using Quantity = FixedPoint<QuantityTag>;

}  // namespace nautilus::core
