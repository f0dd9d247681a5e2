// Timestamps as text, on values worked out by hand (days since 1970-01-01 times 86,400 s).
#include "nautilus/core/time.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <ctime>
#include <string>

namespace nautilus::core {
namespace {

constexpr UnixNanos kSecond = 1'000'000'000;

TEST(ParseTimestamp, EpochInEveryForm) {
  EXPECT_EQ(*parse_timestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*parse_timestamp("1970-01-01"), 0);
  EXPECT_EQ(*parse_timestamp("0"), 0);
  EXPECT_EQ(*parse_timestamp("42"), 42);  // integers are nanoseconds, not seconds
}

TEST(ParseTimestamp, LeapDays) {
  // 2024-01-01 is day 54 * 365 + 13 leap days = 19723; Feb 29 is 59 days later: 19782.
  EXPECT_EQ(*parse_timestamp("2024-02-29"), 19'782 * 86'400 * kSecond);
  EXPECT_EQ(*parse_timestamp("2024-02-29T23:59:59.123456789Z"), 1'709'251'199'123'456'789);
  EXPECT_EQ(*parse_timestamp("2024-03-01") - *parse_timestamp("2024-02-29"), 86'400 * kSecond);
  // 2000 is a leap year although a century: 10957 + 59 = 11016 days.
  EXPECT_EQ(*parse_timestamp("2000-02-29"), 11'016 * 86'400 * kSecond);
}

TEST(ParseTimestamp, FractionalSecondsAreRightPadded) {
  const UnixNanos base = *parse_timestamp("2024-03-08T14:30:00Z");
  EXPECT_EQ(*parse_timestamp("2024-03-08T14:30:00.5Z") - base, 500'000'000);
  EXPECT_EQ(*parse_timestamp("2024-03-08T14:30:00.123Z") - base, 123'000'000);
  EXPECT_EQ(*parse_timestamp("2024-03-08T14:30:00.000001Z") - base, 1'000);
  EXPECT_EQ(*parse_timestamp("2024-03-08T14:30:00.000000001Z") - base, 1);
}

TEST(ParseTimestamp, AcceptedForms) {
  // 2024-03-08 is day 19790; 14:30 adds 52,200 s.
  const UnixNanos t = (19'790LL * 86'400 + 52'200) * kSecond;
  EXPECT_EQ(*parse_timestamp("2024-03-08T14:30:00Z"), t);
  EXPECT_EQ(*parse_timestamp("2024-03-08 14:30:00Z"), t);  // space for T
  EXPECT_EQ(*parse_timestamp("2024-03-08T14:30:00"), t);   // no zone: UTC
  EXPECT_EQ(*parse_timestamp("2024-03-08T14:30:00+00:00"), t);
  EXPECT_EQ(*parse_timestamp("2024-03-08T14:30Z"), t);  // no seconds
  EXPECT_EQ(*parse_timestamp("2024-03-08T14:30"), t);
  EXPECT_EQ(*parse_timestamp("1709908200000000000"), t);
}

TEST(ParseTimestamp, RejectsMalformedInputNamingIt) {
  for (const char* bad :
       {"", "x", "2024/03/08", "2024-3-8", "2024-03-08T25:00:00Z", "2024-13-01", "2024-00-10",
        "2024-03-32", "2024-03-08T10:60", "2024-03-08T10:00:00+02:00", "2024-03-08T10:00:00.Z",
        "2024-03-08T10:00:00.1234567890Z", "2024-03-08T10:00:00ZZ", "2024-03-08X10:00", "-5", "1.5",
        // Dates that do not exist (not rolled into the next month), and signed fields.
        "2026-02-29", "2024-02-30", "2026-04-31", "2026-01-05T-1:30", "2026-01-05T10:-5",
        "2026-01-+5"}) {
    auto r = parse_timestamp(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << bad;
    EXPECT_EQ(r.error().message,
              "bad timestamp '" + std::string(bad) + "' (want ISO-8601 UTC or epoch nanoseconds)");
  }
  auto overflow = parse_timestamp("99999999999999999999");
  ASSERT_FALSE(overflow);
  EXPECT_EQ(overflow.error().code, ErrorCode::kParse);
  EXPECT_EQ(overflow.error().message, "bad timestamp '99999999999999999999'");
}

TEST(ParseTimestamp, YearsOutsideWhatInt64NanosecondsHoldAreOutOfRange) {
  for (const char* far : {"1969-12-31T23:59:59Z", "2262-01-01"}) {
    auto r = parse_timestamp(far);
    ASSERT_FALSE(r) << far;
    EXPECT_EQ(r.error().code, ErrorCode::kOutOfRange);
    EXPECT_EQ(r.error().message, "timestamp '" + std::string(far) + "' is outside 1970-2261");
  }
  EXPECT_TRUE(parse_timestamp("2261-12-31T23:59:59.999999999Z"));
}

TEST(FormatTimestamp, ShortestExactFractionAndRoundTrip) {
  EXPECT_EQ(format_timestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_timestamp(1'709'251'199'123'456'789), "2024-02-29T23:59:59.123456789Z");
  const UnixNanos t = 1'767'623'460'250'000'000;
  EXPECT_EQ(format_timestamp(t), "2026-01-05T14:31:00.250Z");
  EXPECT_EQ(format_timestamp(t + 1'000), "2026-01-05T14:31:00.250001Z");
  EXPECT_EQ(format_timestamp(t + 1), "2026-01-05T14:31:00.250000001Z");
  EXPECT_EQ(format_timestamp(t - 250'000'000), "2026-01-05T14:31:00Z");
  // The last instant an int64 holds.
  EXPECT_EQ(format_timestamp(INT64_MAX), "2262-04-11T23:47:16.854775807Z");
  for (UnixNanos v : {UnixNanos{0}, t, t + 1'000, t + 1, t - 250'000'000}) {
    EXPECT_EQ(*parse_timestamp(format_timestamp(v)), v);
  }
}

// The reference: the C library's gmtime_r, every day from 1970 to 2262 at a varying time of day
// (the date arithmetic's era, century and leap-year edges among them).
TEST(FormatTimestamp, AgreesWithGmtimeOnEveryDayFrom1970To2262) {
  for (std::int64_t day = 0; day < 106'751; ++day) {
    const std::int64_t sod = (day * 7'919) % 86'400;
    const auto secs = static_cast<std::time_t>(day * 86'400 + sod);
    std::tm tm{};
    ASSERT_NE(gmtime_r(&secs, &tm), nullptr);
    char want[32];
    ASSERT_GT(std::strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm), 0U);
    ASSERT_EQ(format_timestamp(static_cast<UnixNanos>(secs) * kSecond), want) << day;
  }
}

}  // namespace
}  // namespace nautilus::core
