// Parsers for the outside sources' response formats (the cache and rate limiter in front of
// them are core::TtlCache and core::RateLimiter). Parsers accept exactly the documented formats
// and turn everything else (rate-limit notes, error bodies, truncated JSON) into errors that
// say what came back.
//
//   auto bars = marketdata::parse_alphavantage(body, "IBM");   // TIME_SERIES_DAILY/INTRADAY
//   auto obs = marketdata::parse_fred_observations(body);      // "." -> missing value
//   auto facts = marketdata::parse_edgar_companyfacts(body, {"Revenues"});
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

}  // namespace nautilus::marketdata
