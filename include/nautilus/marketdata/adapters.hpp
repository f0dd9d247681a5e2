// Parsers for the outside sources' response formats (the cache and rate limiter in front of
// them are core::TtlCache and core::RateLimiter). Parsers accept exactly the documented formats
// and turn everything else (rate-limit notes, error bodies, truncated JSON) into errors that
// say what came back.
//
//   auto bars = marketdata::parse_alphavantage(body, "IBM");   // TIME_SERIES_DAILY/INTRADAY
//   auto obs = marketdata::parse_fred_observations(body);      // "." -> missing value
//   auto facts = marketdata::parse_edgar_companyfacts(body, {"Revenues"});
//   auto conid = marketdata::ibkr_stock_conid(*marketdata::parse_ibkr_secdef_search(body), "AAPL");
//   auto klines = marketdata::parse_binance_klines(body, "BTCUSDT", "1m");
//   auto table = marketdata::parse_csv_table(csv_text);          // header + rows, RFC 4180
//   auto bls = marketdata::parse_bls_timeseries(body);           // observations and notes
//   auto curve = marketdata::parse_treasury_yield_curve_csv(csv_text);
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

// ---- Interactive Brokers Client Portal Web API (the local gateway) ----

// One record of `GET /iserver/secdef/search?symbol=`.
struct IbkrContract {
  std::string conid;  // sent as a string or a number; kept as text
  std::string symbol;
  std::string company;                 // "companyName"
  std::string exchange;                // "description": the primary exchange
  std::vector<std::string> sec_types;  // from "sections": "STK", "OPT"...
};
// An array of contracts; {"error": "..."} is kInvalidArgument, an empty array kNotFound.
[[nodiscard]] core::Result<std::vector<IbkrContract>> parse_ibkr_secdef_search(
    std::string_view body);
// The conid of `symbol`'s stock: the first contract of exactly that symbol with an STK section
// (IBKR lists the home listing first), else kNotFound.
[[nodiscard]] core::Result<std::string> ibkr_stock_conid(const std::vector<IbkrContract>& contracts,
                                                         std::string_view symbol);

// One record of `GET /iserver/marketdata/snapshot?conids=..&fields=31,84,86,85,88`.
struct IbkrSnapshot {
  std::string conid;
  std::optional<core::Price> last;         // 31; IBKR prefixes "C" (prior close), "H" (halted)
  char last_kind = 'T';                    // 'T' a trade, 'C' the prior close, 'H' halted
  std::optional<core::Price> bid, ask;     // 84, 86
  std::optional<core::Quantity> bid_size;  // 88; "1,300" and "1.2K" are read as 1300, 1200
  std::optional<core::Quantity> ask_size;  // 85
  std::string availability;                // 6509, e.g. "RpB" (real time), "DpB" (delayed)
  core::UnixNanos updated = 0;             // "_updated", epoch ms
  // The gateway's first answer for a conid carries no fields: it has only begun streaming.
  [[nodiscard]] bool ready() const noexcept { return last || bid || ask; }
};
[[nodiscard]] core::Result<std::vector<IbkrSnapshot>> parse_ibkr_snapshot(std::string_view body);

// `GET /iserver/marketdata/history?conid=..&period=..&bar=..`: {"barLength": s, "data":
// [{"o","h","l","c","v","t"}]} with `t` the bar's start in epoch ms. Bars come out oldest first,
// interval_s = barLength, stamped at t + barLength; a daily bar (barLength 86400) is stamped at
// 16:00 New York on t's New York date, its session's close. Volume is as the gateway sends it
// (US stocks: in hundreds of shares).
[[nodiscard]] core::Result<std::vector<model::Bar>> parse_ibkr_history(std::string_view body,
                                                                       std::string_view symbol);

// ---- Binance public market data (spot REST) ----

// Seconds of a kline interval ("1s", "1m".."1w"); nullopt for one Binance does not offer or
// "1M", whose length varies.
[[nodiscard]] std::optional<std::uint32_t> binance_interval_seconds(std::string_view interval);
// `GET /api/v3/klines`: arrays of the 12 documented fields. A bar is stamped at its close time
// + 1 ms (Binance's close time is the bar's last millisecond), i.e. the next bar's open.
// {"code":..,"msg":..} is kInvalidArgument (kCapacity for -1003, too many requests; kIo for
// -1000..-1007, Binance's own failures).
[[nodiscard]] core::Result<std::vector<model::Bar>> parse_binance_klines(std::string_view body,
                                                                         std::string_view symbol,
                                                                         std::string_view interval);

// ---- Data.gov catalogue (CKAN action API) ----

struct CkanResource {
  std::string id, name, format, url;
};
struct CkanDataset {
  std::string name;  // the slug: package_show?id=<name>
  std::string title;
  std::string organization;  // its title; empty when the dataset has none
  std::vector<CkanResource> resources;
};
struct CkanSearch {
  std::uint64_t count = 0;  // matching datasets in all, beyond the rows returned
  std::vector<CkanDataset> datasets;
};
// {"success": true, "result": {...}}; "success": false is kInvalidArgument with the error's
// messages, kNotFound for CKAN's "Not Found Error".
[[nodiscard]] core::Result<CkanSearch> parse_ckan_package_search(std::string_view body);
[[nodiscard]] core::Result<CkanDataset> parse_ckan_package_show(std::string_view body);

struct CsvLimits {
  std::size_t max_bytes = std::size_t{32} * 1024 * 1024;
  std::size_t max_rows = 1'000'000;
  std::size_t max_columns = 1'000;
};
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each as wide as the header
};
// RFC 4180: comma-separated, fields optionally in double quotes ("" is a quote inside them,
// quoted fields may span lines), CRLF or LF. A UTF-8 byte order mark and empty lines are
// skipped. Errors (kParse, with the line) for an unterminated quote, text after a closing
// quote, a quote inside an unquoted field, a row of another width than the header; kCapacity
// past a limit.
[[nodiscard]] core::Result<CsvTable> parse_csv_table(std::string_view body,
                                                     const CsvLimits& limits = {});

// ---- BLS public data API v2 ----

struct BlsObservation {
  std::string year;             // "2024"
  std::string period;           // "M01".."M13" (M13: annual average), "Q01".., "S01".., "A01"
  std::string period_name;      // "January"
  std::optional<double> value;  // BLS writes "-" where there is none
  bool latest = false;
  std::vector<std::string> footnotes;  // their texts ("Preliminary.")
};
struct BlsSeries {
  std::string id;
  std::vector<BlsObservation> observations;  // oldest first
};
struct BlsResponse {
  std::vector<BlsSeries> series;
  std::vector<std::string> notes;  // "message": e.g. "No Data Available for Series X Year: 2013"
};
// "status" must be REQUEST_SUCCEEDED; REQUEST_NOT_PROCESSED for a daily threshold is kCapacity,
// any other status kInvalidArgument, both with BLS's messages.
[[nodiscard]] core::Result<BlsResponse> parse_bls_timeseries(std::string_view body);

// ---- U.S. Treasury ----

// FiscalData `v2/accounting/od/avg_interest_rates` (one page).
struct AvgInterestRate {
  std::string record_date;     // YYYY-MM-DD, the month's last day
  std::string security_type;   // "Marketable", "Non-marketable", "Interest-bearing Debt"
  std::string security;        // "Treasury Bills"...
  std::optional<double> rate;  // percent; FiscalData writes "null"
};
struct FiscalDataPage {
  std::vector<AvgInterestRate> records;
  std::uint64_t total_count = 0;
  std::uint64_t total_pages = 0;
  std::uint64_t page = 1;  // this page's number, from links.self
};
// {"error": .., "message": ..} is kInvalidArgument.
[[nodiscard]] core::Result<FiscalDataPage> parse_fiscaldata_avg_interest_rates(
    std::string_view body);

// home.treasury.gov's daily par yield curve CSV (`daily-treasury-rates.csv/<year>/all?type=
// daily_treasury_yield_curve`): Date (MM/DD/YYYY) then one column per tenor ("1 Mo", "1.5 Month",
// .. "30 Yr", as the header names them), newest first; an empty cell is a tenor not quoted.
struct YieldCurveDay {
  std::string date;                          // YYYY-MM-DD
  std::vector<std::optional<double>> rates;  // percent, one per tenor
};
struct YieldCurve {
  std::vector<std::string> tenors;
  std::vector<YieldCurveDay> days;  // oldest first
};
[[nodiscard]] core::Result<YieldCurve> parse_treasury_yield_curve_csv(std::string_view body);

}  // namespace nautilus::marketdata
