// Source parsers on recorded responses (tests/fixtures/marketdata) and their failure bodies.
// (The cache and rate limiter in front of them are tested in tests/unit/core.)
#include "nautilus/marketdata/adapters.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "nautilus/core/time.hpp"

namespace nautilus::marketdata {
namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(NAUTILUS_SOURCE_DIR) + "/tests/fixtures/marketdata/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(AlphaVantage, DailySeriesOldestFirstStampedAtTheNewYorkClose) {
  auto bars = parse_alphavantage(fixture("alphavantage_daily_IBM.json"), "IBM");
  ASSERT_TRUE(bars) << bars.error().message;
  ASSERT_EQ(bars->size(), 3U);
  EXPECT_EQ(bars->front().close.to_string(), "196.1600");  // the source's precision is kept
  EXPECT_EQ(bars->back().open.to_string(), "195.0900");
  EXPECT_EQ(bars->back().volume.to_string(), "3760896");
  EXPECT_EQ(bars->back().interval_s, 86'400U);
  // 2024-03-08 16:00 EST (UTC-5; DST starts 2024-03-10) = 21:00 UTC.
  EXPECT_EQ(core::format_timestamp(bars->back().ts_event), "2024-03-08T21:00:00Z");
}

TEST(AlphaVantage, IntradayBarsCloseOneIntervalAfterTheirStamp) {
  auto bars = parse_alphavantage(fixture("alphavantage_intraday_IBM_5min.json"), "IBM");
  ASSERT_TRUE(bars) << bars.error().message;
  ASSERT_EQ(bars->size(), 2U);
  EXPECT_EQ(bars->front().interval_s, 300U);
  EXPECT_EQ(core::format_timestamp(bars->front().ts_event), "2024-01-05T14:35:00Z");
}

TEST(AlphaVantage, NotesErrorsAndTruncationAreErrors) {
  auto note = parse_alphavantage(fixture("alphavantage_note.json"), "IBM");
  ASSERT_FALSE(note);
  EXPECT_EQ(note.error().code, core::ErrorCode::kCapacity);
  EXPECT_NE(note.error().message.find("5 calls per minute"), std::string::npos);
  auto err = parse_alphavantage(fixture("alphavantage_error.json"), "IBM");
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().code, core::ErrorCode::kInvalidArgument);
  const std::string daily = fixture("alphavantage_daily_IBM.json");
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, daily.size() / 3, daily.size() - 3}) {
    auto r = parse_alphavantage(daily.substr(0, cut), "IBM");
    ASSERT_FALSE(r) << cut;
    EXPECT_EQ(r.error().code, core::ErrorCode::kParse);
  }
  EXPECT_FALSE(
      parse_alphavantage(R"J({"Time Series (Daily)":{"2024-01-02":{"1. open":"x"}}})J", "IBM"));
  EXPECT_FALSE(parse_alphavantage(R"([1,2])", "IBM"));
}

TEST(Fred, MissingValuesAreDotsAndErrorsAreErrors) {
  auto obs = parse_fred_observations(fixture("fred_GDP.json"));
  ASSERT_TRUE(obs) << obs.error().message;
  ASSERT_EQ(obs->size(), 4U);
  EXPECT_DOUBLE_EQ(*(*obs)[0].value, 26813.601);
  EXPECT_FALSE((*obs)[2].value.has_value());
  EXPECT_EQ((*obs)[2].date, "2023-07-01");
  auto err = parse_fred_observations(fixture("fred_error.json"));
  ASSERT_FALSE(err);
  EXPECT_NE(err.error().message.find("does not exist"), std::string::npos);
  EXPECT_FALSE(
      parse_fred_observations(R"({"observations":[{"date":"2023-01-01","value":"1,5"}]})"));
  EXPECT_FALSE(parse_fred_observations(fixture("fred_GDP.json").substr(0, 200)));
}

TEST(Edgar, CompanyFactsKeepsOnlyTheRequestedConcepts) {
  auto f =
      parse_edgar_companyfacts(fixture("edgar_companyfacts_CIK0000320193.json"), {"NetIncomeLoss"});
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->cik, 320193U);
  EXPECT_EQ(f->entity, "Apple Inc.");
  EXPECT_EQ(f->concepts, 3U);
  ASSERT_EQ(f->facts.size(), 2U);
  EXPECT_EQ(f->facts[0].unit, "USD");
  EXPECT_DOUBLE_EQ(f->facts[0].value, 96995000000.0);
  EXPECT_EQ(f->facts[0].form, "10-K");
  EXPECT_FALSE(parse_edgar_companyfacts(R"({"cik":1})", {}));
  EXPECT_FALSE(parse_edgar_companyfacts("<html>Request Rate Threshold Exceeded</html>", {}));
}

}  // namespace
}  // namespace nautilus::marketdata
