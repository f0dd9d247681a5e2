#include "nautilus/core/fixed_point.hpp"

#include <gtest/gtest.h>

namespace nautilus::core {
namespace {

TEST(FixedPoint, ParsesDecimalStringsExactly) {
  auto p = Price::from_string("101.25");
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(p->raw(), 101'250'000'000);
  EXPECT_EQ(p->precision(), 2);
  EXPECT_EQ(p->to_string(), "101.25");

  EXPECT_EQ(Price::from_string("-0.5")->raw(), -500'000'000);
  EXPECT_EQ(Price::from_string("-0.5")->to_string(), "-0.5");
  EXPECT_EQ(Price::from_string("+7")->to_string(), "7");
  EXPECT_EQ(Price::from_string(".25")->to_string(), "0.25");
  EXPECT_EQ(Price::from_string("0.000000001")->raw(), 1);
  EXPECT_EQ(Quantity::from_string("300")->to_string(), "300");
}

TEST(FixedPoint, RejectsMalformedInputWithReason) {
  for (const char* bad : {"", "-", "abc", "1.2.3", "1.", "1e5", " 1", "0.1234567891", "--1"}) {
    auto p = Price::from_string(bad);
    EXPECT_FALSE(p) << "accepted '" << bad << "'";
    if (!p) {
      EXPECT_EQ(p.error().code, ErrorCode::kParse);
    }
  }
  auto neg = Quantity::from_string("-1");
  ASSERT_FALSE(neg);
  EXPECT_NE(neg.error().message.find("negative"), std::string::npos);
  EXPECT_FALSE(Price::from_string("5000000000"));  // above 2^62 raw units
}

TEST(FixedPoint, PrecisionAffectsPrintingNotValue) {
  auto a = *Price::from_string("1.5");
  auto b = *Price::from_string("1.50");
  EXPECT_EQ(a, b);
  EXPECT_EQ(b.to_string(), "1.50");
  EXPECT_LT(*Price::from_string("1.49"), a);
  auto sum = a + *Price::from_string("0.001");
  EXPECT_EQ(sum.precision(), 3);
  EXPECT_EQ(sum.to_string(), "1.501");
  EXPECT_EQ((a - b).to_string(), "0.00");
}

TEST(FixedPoint, FromDoubleRoundsToPrecisionWithoutBinaryNoise) {
  auto p = Price::from_double(0.1 + 0.2, 2);  // 0.30000000000000004
  ASSERT_TRUE(p);
  EXPECT_EQ(p->raw(), 300'000'000);
  EXPECT_EQ(Price::from_double(2.675, 2)->to_string(), "2.68");  // half away from zero
  EXPECT_EQ(Price::from_double(-2.5, 0)->to_string(), "-3");
  EXPECT_FALSE(Price::from_double(std::numeric_limits<double>::quiet_NaN(), 2));
  EXPECT_FALSE(Price::from_double(1e300, 2));
  EXPECT_FALSE(Quantity::from_double(-1.0, 0));
  EXPECT_FALSE(Price::from_double(1.0, 10));
}

TEST(FixedPoint, FromRawChecksRangeAndPrecision) {
  EXPECT_TRUE(Price::from_raw(1'250'000'000, 2));
  auto bad = Price::from_raw(1'234'567'891, 2);  // more decimals than precision 2
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(Price::from_raw(kMaxRaw, 0));
  auto big = *Price::from_raw(kMaxRaw - kFixedScale, 9);
  auto overflow = big.checked_add(big);
  ASSERT_FALSE(overflow);
  EXPECT_EQ(overflow.error().code, ErrorCode::kOutOfRange);
}

TEST(FixedPoint, RoundTripsGeneratedValuesThroughText) {
  // Every raw value that is a multiple of the precision's unit must survive to_string/parse.
  std::uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;  // xorshift64
    const auto precision = static_cast<std::uint8_t>(x % 10);
    std::int64_t unit = 1;
    for (int k = 0; k < 9 - precision; ++k) unit *= 10;
    const std::int64_t raw =
        static_cast<std::int64_t>((x >> 8) % (kMaxRaw / unit)) * unit * ((x & 1) ? -1 : 1);
    auto p = Price::from_raw(raw, precision);
    ASSERT_TRUE(p) << raw;
    auto back = Price::from_string(p->to_string());
    ASSERT_TRUE(back) << p->to_string();
    EXPECT_EQ(back->raw(), raw);
    EXPECT_EQ(back->precision(), precision);
  }
}

TEST(FixedPoint, FormatsExtremesWithoutAllocating) {
  DecimalBuffer buf;
  EXPECT_EQ(Price::from_raw(kMaxRaw - 1, 9)->to_chars(buf), "4611686018.427387903");
  EXPECT_EQ(Price::from_raw(-(kMaxRaw - 1), 9)->to_chars(buf), "-4611686018.427387903");
  EXPECT_EQ(Price::from_raw(0, 9)->to_chars(buf), "0.000000000");
  EXPECT_EQ(Price::from_raw(-1'000'000, 3)->to_chars(buf), "-0.001");
  EXPECT_EQ(Quantity::from_units(0).to_chars(buf), "0");
  // Decimals below the precision are never printed (values from_raw would refuse, but the
  // arithmetic operators can make them).
  EXPECT_EQ(detail::format_decimal(1'234'567'891, 2, buf), "1.23");
}

}  // namespace
}  // namespace nautilus::core
