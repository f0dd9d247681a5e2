// Source parsers on recorded responses (tests/fixtures/marketdata), their failure bodies, and
// the cache and rate limiter in front of them.
#include "nautilus/marketdata/adapters.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "nautilus/marketdata/csv.hpp"

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
  EXPECT_EQ(format_timestamp(bars->back().ts_event), "2024-03-08T21:00:00Z");
}

TEST(AlphaVantage, IntradayBarsCloseOneIntervalAfterTheirStamp) {
  auto bars = parse_alphavantage(fixture("alphavantage_intraday_IBM_5min.json"), "IBM");
  ASSERT_TRUE(bars) << bars.error().message;
  ASSERT_EQ(bars->size(), 2U);
  EXPECT_EQ(bars->front().interval_s, 300U);
  EXPECT_EQ(format_timestamp(bars->front().ts_event), "2024-01-05T14:35:00Z");
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

TEST(FetchCache, ServesWithinTheTtlAndRefetchesAfter) {
  core::SimulatedClock clock(1'000'000'000);
  FetchCache cache(clock);
  int fetches = 0;
  auto fetch = [&]() -> core::Result<std::string> { return std::to_string(++fetches); };
  auto a = cache.get("av", "IBM|daily", std::chrono::seconds(60), fetch);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->hit);
  auto b = cache.get("av", "IBM|daily", std::chrono::seconds(60), fetch);
  EXPECT_TRUE(b->hit);
  EXPECT_EQ(*b->body, "1");
  clock.advance(std::chrono::seconds(61));
  auto c = cache.get("av", "IBM|daily", std::chrono::seconds(60), fetch);
  EXPECT_EQ(*c->body, "2");
  auto s = cache.stats("av");
  EXPECT_EQ(s.hits, 1U);
  EXPECT_EQ(s.misses, 2U);
  EXPECT_EQ(s.entries, 1U);
}

TEST(FetchCache, ConcurrentMissesFetchOnceAndErrorsAreNotCached) {
  core::SimulatedClock clock(1);
  FetchCache cache(clock);
  std::atomic<int> fetches{0};
  auto slow = [&]() -> core::Result<std::string> {
    ++fetches;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return std::string("body");
  };
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (auto v = cache.get("fred", "GDP", std::chrono::seconds(60), slow);
          v && *v->body == "body")
        ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(fetches.load(), 1);
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(cache.stats("fred").coalesced + cache.stats("fred").hits, 7U);

  int calls = 0;
  auto failing = [&]() -> core::Result<std::string> {
    ++calls;
    return core::fail(core::ErrorCode::kIo, "down");
  };
  EXPECT_FALSE(cache.get("edgar", "1", std::chrono::seconds(60), failing));
  EXPECT_FALSE(cache.get("edgar", "1", std::chrono::seconds(60), failing));
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(cache.stats("edgar").errors, 2U);
}

TEST(RateLimiter, RefusesBeyondTheBurstWithinTheWait) {
  RateLimiter limiter(/*per_minute=*/60, /*burst=*/2);
  EXPECT_TRUE(limiter.acquire(std::chrono::milliseconds(0)));
  EXPECT_TRUE(limiter.acquire(std::chrono::milliseconds(0)));
  EXPECT_FALSE(limiter.acquire(std::chrono::milliseconds(10)));  // the next token is ~1 s away
  EXPECT_EQ(limiter.throttled(), 1U);
}

}  // namespace
}  // namespace nautilus::marketdata
