// Requests to the MarketData hub over the bus, and its answers. An engine never calls a source
// itself: it sends a request to one of the hub's endpoints and gets one typed reply, or a
// RequestFailed saying why, or a timeout from the bus.
//
//   | endpoint                  | request            | reply                           |
//   |---------------------------|--------------------|---------------------------------|
//   | `marketdata.history`      | HistoryRequest     | BarHistory                      |
//   | `marketdata.reference`    | ReferenceRequest   | ReferenceData                   |
//   | `marketdata.filings`      | FilingsRequest     | ReferenceHistory                |
//   | `marketdata.universe`     | UniverseRequest    | UniverseMembers                 |
//   | `marketdata.subscribe`    | StreamRequest      | StreamStatus                    |
//   | `marketdata.unsubscribe`  | StreamRequest      | StreamStatus                    |
//
//   auto ep = *bus.endpoint("marketdata.history");
//   pub.request(ep, HistoryRequest{.symbol = sym, .interval_s = 86'400, .start = t0, .end = t1},
//               std::chrono::seconds(2), [](core::Result<bus::Envelope> r) {
//                 if (!r) return;                                  // timed out
//                 if (const auto* h = r->get<BarHistory>()) { ... }  // h->close[i] at h->ts[i]
//                 if (const auto* f = r->get<RequestFailed>()) { ... f->detail ... }
//               });
//
// BarHistory is columnar (one array per field) and carries at most kMaxHistoryBars bars; when
// a range holds more, `more` is set and `next_start` says where the next request starts.
#pragma once

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>
#include <cstdint>
#include <string_view>
#include <vector>

#include "nautilus/core/clock.hpp"
#include "nautilus/core/fixed_point.hpp"
#include "nautilus/core/fixed_string.hpp"
#include "nautilus/core/identifiers.hpp"
#include "nautilus/model/signals.hpp"

namespace nautilus::model {

inline constexpr std::uint32_t kMaxHistoryBars = 4096;  // the wire's array limit

// Bars of one symbol and interval, in [start, end] by bar close time (0: unbounded).
// `source` picks where they come from: "" or "store" (the bar files the hub loaded; it never
// goes to the network unless asked), "alphavantage", "binance", "ibkr" (that source, through
// the hub's cache and rate limits).
struct HistoryRequest {
  static constexpr std::string_view kTypeName = "history_request";
  Symbol symbol;
  std::uint32_t interval_s = 60;
  UnixNanos start = 0;
  UnixNanos end = 0;
  std::uint32_t limit = 1000;  // at most kMaxHistoryBars
  Name source;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(HistoryRequest, (), (symbol, interval_s, start, end, limit, source, ts_event))

struct BarHistory {
  static constexpr std::string_view kTypeName = "bar_history";
  Symbol symbol;
  std::uint32_t interval_s = 60;
  Name source;          // where the bars came from
  bool cached = false;  // answered from the hub's cache
  bool more = false;    // the range holds more bars than were sent
  UnixNanos next_start = 0;
  std::vector<std::int64_t> ts;  // close times, ascending
  std::vector<Price> open;
  std::vector<Price> high;
  std::vector<Price> low;
  std::vector<Price> close;
  std::vector<Quantity> volume;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(BarHistory, (),
                      (symbol, interval_s, source, cached, more, next_start, ts, open, high, low,
                       close, volume, ts_event))

// Reference data of a symbol as known at `as_of` (0: the latest): point in time, so a backtest
// asking at its simulated time sees only what had been published by then.
struct ReferenceRequest {
  static constexpr std::string_view kTypeName = "reference_request";
  Symbol symbol;
  UnixNanos as_of = 0;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(ReferenceRequest, (), (symbol, as_of, ts_event))

using LongName = core::FixedString<47>;  // sectors, industries

struct ReferenceData {
  static constexpr std::string_view kTypeName = "reference_data";
  Symbol symbol;
  LongName sector;
  LongName industry;
  double shares_outstanding = 0;
  double book_value = 0;
  double sales = 0;
  double operating_cash_flow = 0;
  UnixNanos as_of = 0;  // when this record became known (its filing date)
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(ReferenceData, (),
                      (symbol, sector, industry, shares_outstanding, book_value, sales,
                       operating_cash_flow, as_of, ts_event))

// Every reference record of a symbol with as_of in [start, end] (0: unbounded; end capped at
// where the hub's data is up to), oldest first: what a model that rebuilds years of history
// needs, in one request instead of one per filing.
struct FilingsRequest {
  static constexpr std::string_view kTypeName = "filings_request";
  Symbol symbol;
  UnixNanos start = 0;
  UnixNanos end = 0;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(FilingsRequest, (), (symbol, start, end, ts_event))

// Columnar: record i is as_of[i], shares_outstanding[i], ...; sector and industry are the
// latest record's. At most kMaxHistoryBars records (the oldest are dropped, `more` set).
struct ReferenceHistory {
  static constexpr std::string_view kTypeName = "reference_history";
  Symbol symbol;
  LongName sector;
  LongName industry;
  bool more = false;
  std::vector<std::int64_t> as_of;
  std::vector<double> shares_outstanding;
  std::vector<double> book_value;
  std::vector<double> sales;
  std::vector<double> operating_cash_flow;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(ReferenceHistory, (),
                      (symbol, sector, industry, more, as_of, shares_outstanding, book_value, sales,
                       operating_cash_flow, ts_event))

// The symbols the hub has reference data for as of `as_of` (0: where its data is up to), in
// name order, after `after` (empty: from the first), at most `limit` (and kMaxHistoryBars).
struct UniverseRequest {
  static constexpr std::string_view kTypeName = "universe_request";
  UnixNanos as_of = 0;
  core::FixedString<64> after;  // a symbol, or empty (a Symbol cannot be empty)
  std::uint32_t limit = kMaxHistoryBars;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(UniverseRequest, (), (as_of, after, limit, ts_event))

// symbols[i] is in sectors[i] (its record as of the request's as_of); `more`: ask again with
// `after` = the last symbol.
struct UniverseMembers {
  static constexpr std::string_view kTypeName = "universe_members";
  UnixNanos as_of = 0;
  bool more = false;
  std::vector<Symbol> symbols;
  std::vector<LongName> sectors;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(UniverseMembers, (), (as_of, more, symbols, sectors, ts_event))

// Start (marketdata.subscribe) or stop (marketdata.unsubscribe) streaming a symbol from a
// live source ("binance", "ibkr"; "" the hub's default live source).
struct StreamRequest {
  static constexpr std::string_view kTypeName = "stream_request";
  Symbol symbol;
  Name source;
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(StreamRequest, (), (symbol, source, ts_event))

struct StreamStatus {
  static constexpr std::string_view kTypeName = "stream_status";
  Symbol symbol;
  Name source;
  bool active = false;            // the symbol is subscribed on that source
  bool connected = false;         // the source's connection is up right now
  std::uint32_t subscribers = 0;  // requests holding the symbol (it stops at zero)
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(StreamStatus, (), (symbol, source, active, connected, subscribers, ts_event))

enum class RequestError : std::uint8_t {
  kInvalidArgument,  // the request is wrong (unknown source, bad range, bad symbol)
  kNotFound,         // nothing known for it
  kUnavailable,      // the source is not configured or cannot be reached
  kRateLimited,      // the local or the source's rate limit
  kTimeout,          // the source did not answer in time
  kInternal,
};
BOOST_DESCRIBE_ENUM(RequestError, kInvalidArgument, kNotFound, kUnavailable, kRateLimited, kTimeout,
                    kInternal)

// The reply to any request the hub could not answer.
struct RequestFailed {
  static constexpr std::string_view kTypeName = "request_failed";
  core::FixedString<31> endpoint;
  RequestError error = RequestError::kInternal;
  core::FixedString<159> detail;  // what was wrong, for people (cut at 159 bytes)
  UnixNanos ts_event = 0;
};
BOOST_DESCRIBE_STRUCT(RequestFailed, (), (endpoint, error, detail, ts_event))

}  // namespace nautilus::model
