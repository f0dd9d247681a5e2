// The TTL cache on a simulated clock: expiry, errors never cached, and concurrent misses of
// one key sharing one fetch (its value or its error).
#include "nautilus/core/ttl_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace nautilus::core {
namespace {

using std::chrono::seconds;

TEST(TtlCache, ServesWithinTheTtlAndRefetchesAfter) {
  SimulatedClock clock(1'000'000'000);
  TtlCache<std::string> cache(clock);
  int fetches = 0;
  auto fetch = [&]() -> Result<std::string> { return std::to_string(++fetches); };
  auto a = cache.get("IBM|daily", seconds(60), fetch);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->hit);
  EXPECT_EQ(*a->value, "1");
  clock.advance(seconds(59));
  auto b = cache.get("IBM|daily", seconds(60), fetch);
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->hit);
  EXPECT_EQ(*b->value, "1");
  clock.advance(seconds(1));  // exactly the TTL: stale
  auto c = cache.get("IBM|daily", seconds(60), fetch);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->hit);
  EXPECT_EQ(*c->value, "2");
  const auto s = cache.stats();
  EXPECT_EQ(s.hits, 1U);
  EXPECT_EQ(s.misses, 2U);
  EXPECT_EQ(s.entries, 1U);
  clock.advance(seconds(60));
  EXPECT_EQ(cache.stats().entries, 0U);  // only fresh entries count
}

TEST(TtlCache, KeysAreApartAndALongTtlDoesNotOverflow) {
  SimulatedClock clock(1);
  TtlCache<int> cache(clock);
  ASSERT_TRUE(cache.get("a", std::chrono::nanoseconds::max(), [] { return Result<int>(1); }));
  ASSERT_TRUE(cache.get("b", seconds(1), [] { return Result<int>(2); }));
  clock.advance(std::chrono::hours(24 * 365 * 100));
  auto a = cache.get("a", seconds(1), [] { return Result<int>(-1); });
  EXPECT_TRUE(a->hit);
  EXPECT_EQ(*a->value, 1);
  EXPECT_EQ(*cache.get("b", seconds(1), [] { return Result<int>(3); })->value, 3);
}

TEST(TtlCache, ErrorsAreReturnedAsTheyAreAndNeverCached) {
  SimulatedClock clock(1);
  TtlCache<std::string> cache(clock);
  int calls = 0;
  auto failing = [&]() -> Result<std::string> {
    ++calls;
    return fail(ErrorCode::kCapacity, "upstream rate limit");
  };
  for (int i = 0; i < 2; ++i) {
    auto r = cache.get("GDP", seconds(60), failing);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kCapacity);
    EXPECT_EQ(r.error().message, "upstream rate limit");
  }
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(cache.stats().errors, 2U);
  EXPECT_EQ(cache.stats().entries, 0U);
  // A stale value is dropped, not served, when its refetch fails.
  ASSERT_TRUE(cache.get("GDP", seconds(1), [] { return Result<std::string>("old"); }));
  clock.advance(seconds(2));
  EXPECT_FALSE(cache.get("GDP", seconds(1), failing));
  EXPECT_EQ(*cache.get("GDP", seconds(1), [] { return Result<std::string>("new"); })->value, "new");
}

// Runs `fetch` as the shared fetch of 8 concurrent gets of one key. The fetch returns only
// once the 7 others are waiting for it (or after 10 s, when de-duplication is broken), so
// the test does not depend on thread timing.
template <class Fetch>
std::vector<Result<TtlCache<std::string>::Value>> eight_gets(TtlCache<std::string>& cache,
                                                             std::atomic<int>& fetches,
                                                             Fetch fetch) {
  auto gated = [&]() -> Result<std::string> {
    ++fetches;
    const auto give_up = std::chrono::steady_clock::now() + seconds(10);
    while (cache.stats().waiting < 7 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::yield();
    }
    return fetch();
  };
  std::vector<Result<TtlCache<std::string>::Value>> out(8, fail(ErrorCode::kInternal, "unset"));
  std::vector<std::thread> threads;
  threads.reserve(out.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    threads.emplace_back([&, i] { out[i] = cache.get("GDP", seconds(60), gated); });
  }
  for (auto& t : threads) t.join();
  return out;
}

TEST(TtlCache, ConcurrentMissesShareOneFetch) {
  SimulatedClock clock(1);
  TtlCache<std::string> cache(clock);
  std::atomic<int> fetches{0};
  const auto results =
      eight_gets(cache, fetches, []() -> Result<std::string> { return std::string("body"); });
  EXPECT_EQ(fetches.load(), 1);
  int own = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r->value, "body");
    own += r->hit ? 0 : 1;
  }
  EXPECT_EQ(own, 1);
  const auto s = cache.stats();
  EXPECT_EQ(s.misses, 1U);
  EXPECT_EQ(s.coalesced, 7U);
  EXPECT_EQ(s.waiting, 0U);
}

TEST(TtlCache, WaitersGetTheSharedFetchsError) {
  SimulatedClock clock(1);
  TtlCache<std::string> cache(clock);
  std::atomic<int> fetches{0};
  const auto results = eight_gets(cache, fetches, []() -> Result<std::string> {
    return fail(ErrorCode::kTimeout, "source timed out");
  });
  EXPECT_EQ(fetches.load(), 1);
  for (const auto& r : results) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  }
  EXPECT_EQ(cache.stats().errors, 1U);
  EXPECT_EQ(cache.stats().coalesced, 7U);
}

TEST(TtlCache, AFetchThatThrowsLeavesTheKeyUsable) {
  SimulatedClock clock(1);
  TtlCache<std::string> cache(clock);
  EXPECT_THROW((void)cache.get("k", seconds(60),
                               []() -> Result<std::string> { throw std::runtime_error("boom"); }),
               std::runtime_error);
  auto r = cache.get("k", seconds(60), [] { return Result<std::string>("ok"); });
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->hit);
  EXPECT_EQ(cache.stats().errors, 1U);
}

}  // namespace
}  // namespace nautilus::core
