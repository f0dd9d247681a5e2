// Parsers for the outside sources' response formats, and the cache and rate limiter the hub
// puts in front of them. Parsers accept exactly the documented formats and turn everything
// else (rate-limit notes, error bodies, truncated JSON) into errors that say what came back.
//
//   auto bars = marketdata::parse_alphavantage(body, "IBM");   // TIME_SERIES_DAILY/INTRADAY
//   auto obs = marketdata::parse_fred_observations(body);      // "." -> missing value
//   auto facts = marketdata::parse_edgar_companyfacts(body, {"Revenues"});
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nautilus/core/clock.hpp"
#include "nautilus/core/error.hpp"
#include "nautilus/model/market_data.hpp"

namespace nautilus::marketdata {

// Alpha Vantage TIME_SERIES_DAILY / TIME_SERIES_INTRADAY. Bars come out oldest first, stamped
// at the bar's close in UTC (the response's "Time Zone", US/Eastern, is converted).
// Error kinds: kUnavailable-like rate limits ("Note"/"Information") are kCapacity,
// "Error Message" is kInvalidArgument, anything malformed is kParse.
[[nodiscard]] core::Result<std::vector<model::Bar>> parse_alphavantage(std::string_view body,
                                                                       std::string_view symbol);

struct Observation {
  std::string date;             // YYYY-MM-DD
  std::optional<double> value;  // FRED writes "." for a missing value
};
[[nodiscard]] core::Result<std::vector<Observation>> parse_fred_observations(std::string_view body);

struct Fact {
  std::string taxonomy;      // "us-gaap", "dei"
  std::string concept_name;  // "Revenues"
  std::string unit;          // "USD", "shares"
  std::string end;           // period end date
  std::string form;          // "10-K", "10-Q"
  std::string filed;
  std::string fp;  // fiscal period: "FY", "Q1"...
  std::int64_t fy = 0;
  double value = 0;
};
struct CompanyFacts {
  std::uint64_t cik = 0;
  std::string entity;
  std::size_t concepts = 0;  // in the whole response
  std::vector<Fact> facts;   // of the requested concepts only
};
[[nodiscard]] core::Result<CompanyFacts> parse_edgar_companyfacts(
    std::string_view body, const std::vector<std::string>& concepts);

// TTL cache of response bodies keyed by (source, symbol, interval), with in-flight
// de-duplication: concurrent gets of a missing key run the fetch once. Errors are not cached.
class FetchCache {
 public:
  using Fetch = std::function<core::Result<std::string>()>;
  struct Stats {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;     // fetches started
    std::uint64_t coalesced = 0;  // gets that waited for another caller's fetch
    std::uint64_t errors = 0;     // fetches that failed
    std::size_t entries = 0;
  };
  struct Value {
    std::shared_ptr<const std::string> body;
    bool hit = false;  // served from the cache or from another caller's fetch
  };

  explicit FetchCache(const core::Clock& clock) : clock_(&clock) {}
  [[nodiscard]] core::Result<Value> get(const std::string& source, const std::string& key,
                                        std::chrono::seconds ttl, const Fetch& fetch);
  [[nodiscard]] Stats stats(const std::string& source) const;

 private:
  struct Entry {
    std::shared_ptr<const std::string> body;
    core::UnixNanos expires = 0;
    bool in_flight = false;
  };
  const core::Clock* clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, Stats> stats_;
};

// Token bucket: `per_minute` requests a minute, bursts up to `burst`.
class RateLimiter {
 public:
  RateLimiter(double per_minute, double burst);
  // Takes a token, waiting up to `max_wait`; false when none came in time.
  bool acquire(std::chrono::milliseconds max_wait);
  [[nodiscard]] std::uint64_t throttled() const;

 private:
  mutable std::mutex mu_;
  double rate_per_s_;
  double burst_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
  std::uint64_t throttled_ = 0;
};

}  // namespace nautilus::marketdata
